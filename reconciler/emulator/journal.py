"""Crash-safe persistence: a snapshot file plus an append-only journal of mutations.

`STATE` holds the whole tenant in the seed format plus `journalSeq`, the number of the
last write it contains. `STATE.journal` holds one JSON line per API call that changed
something, `{"seq": N, "ops": [...]}`, flushed before the call answers. Loading reads the
snapshot, then replays the journal lines with a seq above the snapshot's.

Why a crash never leaves a half-written state: a snapshot is written to a temporary file,
fsynced, and renamed over the old one (atomic); only then is the journal emptied, and a
crash between the two is harmless because lines already in the snapshot are skipped by
their seq. A journal line is appended in one write, so a crash can only tear the last
line, which loading ignores (and cuts off). One line per call makes each call atomic.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from reconciler.problems import ReconcilerError


class StateError(ReconcilerError):
    """A state file or journal that cannot be read (not a torn last line: real damage)."""


class StateFiles:
    """The snapshot at `path` and its journal at `path` + `.journal`."""

    def __init__(self, path: Path, *, fsync: bool = False):
        self.path = path
        self.journal_path = path.with_name(path.name + ".journal")
        self.fsync = fsync
        self.journal_lines = 0
        self._journal: IO[bytes] | None = None

    def exists(self) -> bool:
        """Whether a snapshot was ever saved."""
        return self.path.exists()

    def read_snapshot(self) -> dict[str, Any]:
        """The saved tenant document."""
        try:
            doc = json.loads(self.path.read_bytes())
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path}: cannot read the emulator state: {exc}") from None
        if not isinstance(doc, dict):
            raise StateError(f"{self.path}: not an emulator state file")
        return doc

    def read_journal(self) -> list[tuple[int, list[Any]]]:
        """Every complete journal entry as (seq, ops); a torn last line is dropped."""
        try:
            data = self.journal_path.read_bytes()
        except FileNotFoundError:
            return []
        entries: list[tuple[int, list[Any]]] = []
        pos = 0
        number = 0
        while pos < len(data):
            end = data.find(b"\n", pos)
            if end == -1:
                break  # the write of the last line never finished
            number += 1
            try:
                entry = json.loads(data[pos:end])
                entries.append((int(entry["seq"]), list(entry["ops"])))
            except (ValueError, KeyError, TypeError):
                if data[end + 1 :].strip():
                    raise StateError(
                        f"{self.journal_path}: line {number} is damaged and is not the last"
                    ) from None
                break
            pos = end + 1
        if pos < len(data):
            # Cut the torn tail, or the next append would be glued to it.
            with open(self.journal_path, "r+b") as f:
                f.truncate(pos)
        self.journal_lines = len(entries)
        return entries

    def append(self, seq: int, ops: list[str]) -> None:
        """Add one entry (ops already serialized), flushed to the OS before returning."""
        if self._journal is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._journal = open(self.journal_path, "ab")  # noqa: SIM115 - kept open
        line = f'{{"seq":{seq},"ops":[{",".join(ops)}]}}\n'
        self._journal.write(line.encode())
        self._journal.flush()
        if self.fsync:
            os.fsync(self._journal.fileno())
        self.journal_lines += 1

    def write_snapshot(self, doc: dict[str, Any]) -> None:
        """Replace the snapshot atomically, then empty the journal it now contains."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps(doc, separators=(",", ":")).encode()
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self.close()
        with open(self.journal_path, "wb"):
            pass
        self.journal_lines = 0

    def close(self) -> None:
        """Close the journal (it reopens on the next append)."""
        if self._journal is not None:
            self._journal.close()
            self._journal = None


def _fsync_dir(directory: Path) -> None:
    # The rename is durable only once the directory entry is; not possible on Windows.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
