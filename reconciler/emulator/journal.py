"""Crash-safe persistence: a snapshot file plus an append-only journal of mutations.

`STATE` holds the whole tenant in the seed format plus `journalSeq`, the number of the
last write it contains. `STATE.journal` holds one JSON line per API call that changed
something, `{"seq": N, "ops": [...]}`, flushed before the call answers. Loading reads the
snapshot, then replays the journal lines with a seq above the snapshot's.

Why a crash never leaves a half-written state: a snapshot is written to a temporary file,
fsynced, and renamed over the old one (atomic); only then is the journal emptied, and a
crash between the two is harmless because lines already in the snapshot are skipped by
their seq. A journal line is appended in one write, so a crash can only tear the last
line, which loading ignores (and cuts off). One line per call makes each call atomic. A
failed append (a full disk) cuts the file back to its last whole line before reporting the
error, so what is on disk is always exactly the calls that were answered as done.

`STATE.lock` is held (flock, exclusive) by the one process that has the tenant open: two
processes on one state file would each keep their own copy and overwrite each other's
writes. The lock file holds the holder's pid, so a second opener can say who has it.

`STATE.base` is the snapshot of a tenant started from its seed, written in the background
while the first calls are answered; the first write renames it to `STATE` (so the first
write does not have to serialize a whole tenant), and a run that writes nothing removes it
(a run that only reads leaves no state behind, and the next one reads the seed again).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, no protection
    fcntl = None  # type: ignore[assignment]

from reconciler.files import O_NOFOLLOW, RefusedFile, create_exclusive, not_regular, read_regular
from reconciler.problems import ReconcilerError


class StateError(ReconcilerError):
    """A state file or journal that cannot be read (not a torn last line: real damage)."""


class StateInUse(StateError):
    """Another process (or another store in this one) has the tenant open."""


class WriteCancelled(Exception):
    """A background snapshot was no longer needed."""


class StateFiles:
    """The snapshot at `path`, its journal at `path` + `.journal`, its lock at `.lock`."""

    def __init__(self, path: Path, *, fsync: bool = False):
        self.path = path
        self.journal_path = path.with_name(path.name + ".journal")
        self.lock_path = path.with_name(path.name + ".lock")
        self.base_path = path.with_name(path.name + ".base")
        self.tmp_path = path.with_name(path.name + ".tmp")
        self.fsync = fsync
        self.journal_lines = 0
        self._journal: int | None = None  # file descriptor, O_APPEND
        self._journal_size = 0  # bytes of whole lines in the journal
        self._lock: int | None = None

    def lock(self) -> None:
        """Take the exclusive lock on the tenant; StateInUse naming the holder if taken.
        StateError when one of the files is a symbolic link or not a regular file."""
        if self._lock is not None:
            return
        self.check_files()
        if fcntl is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise StateError(f"{self.lock_path}: cannot open the lock: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            who = f"process {holder}" if holder else "another process"
            raise StateInUse(
                f"the emulated tenant at {self.path} is in use by {who}; "
                "stop it first (one process at a time per state file)"
            ) from None
        except OSError:  # a file system without locks: go on unprotected, as before
            os.close(fd)
            return
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # the lock holds without the pid; a second opener just cannot name us
        self._lock = fd

    def check_files(self) -> None:
        """Refuse a snapshot, journal, lock or temporary file that is a symbolic link or not a
        regular file: writing it would write over (or empty) whatever it leads to, and
        reading it could hang (a FIFO) or never end (/dev/zero). Every file is also opened
        without following a link, so one planted later fails instead of being followed."""
        for path in (self.path, self.journal_path, self.lock_path, self.base_path, self.tmp_path):
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StateError(f"{path}: {exc.strerror}") from None
            if not stat.S_ISREG(mode):
                why = not_regular(path, mode).strerror
                raise StateError(f"{path}: {why}; remove it")

    def exists(self) -> bool:
        """Whether a snapshot was ever saved."""
        return self.path.exists()

    def read_snapshot(self) -> dict[str, Any]:
        """The saved tenant document."""
        try:
            doc = json.loads(read_regular(self.path))
        except RefusedFile as exc:
            raise StateError(f"{self.path}: {exc.strerror}") from None
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path}: cannot read the emulator state: {exc}") from None
        if not isinstance(doc, dict):
            raise StateError(f"{self.path}: not an emulator state file")
        return doc

    def read_journal(self) -> list[tuple[int, list[Any]]]:
        """Every complete journal entry as (seq, ops); a torn last line is dropped."""
        try:
            data = read_regular(self.journal_path)
        except FileNotFoundError:
            return []
        except RefusedFile as exc:
            raise StateError(f"{self.journal_path}: {exc.strerror}") from None
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
            fd = os.open(self.journal_path, os.O_WRONLY | O_NOFOLLOW)
            try:
                os.ftruncate(fd, pos)
            finally:
                os.close(fd)
        self.journal_lines = len(entries)
        return entries

    def append(self, seq: int, ops: list[str]) -> None:
        """Add one entry (ops already serialized), written to the OS before returning.

        On failure (OSError: a full disk, an I/O error) the journal is cut back to its
        last whole line, so the failed entry is not on disk, and the error is raised."""
        if self._journal is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | O_NOFOLLOW
            fd = os.open(self.journal_path, flags, 0o644)
            self._journal = fd
            self._journal_size = os.fstat(fd).st_size
        fd = self._journal
        data = memoryview(f'{{"seq":{seq},"ops":[{",".join(ops)}]}}\n'.encode())
        try:
            while data:
                written = os.write(fd, data)
                data = data[written:]
            if self.fsync:
                os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._journal_size)
            self._close_journal()
            raise
        self._journal_size = os.fstat(fd).st_size
        self.journal_lines += 1

    def write_snapshot(self, doc: dict[str, Any]) -> None:
        """Replace the snapshot atomically, then empty the journal it now contains."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp_path
        data = json.dumps(doc, separators=(",", ":")).encode()
        with _new_file(tmp) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self._empty_journal()

    def write_base(self, doc: Mapping[str, Any], stop: threading.Event) -> None:
        """Write `doc` to the base file, record by record (other threads run meanwhile),
        and fsync it; WriteCancelled if `stop` is set before it is done."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _new_file(self.base_path) as f:
            for chunk in _chunks(doc):
                if stop.is_set():
                    raise WriteCancelled
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())

    def promote_base(self) -> None:
        """Make the (complete) base file the snapshot, with an empty journal."""
        self._empty_journal()  # a journal left from an older tenant must not be replayed
        os.replace(self.base_path, self.path)
        _fsync_dir(self.path.parent)

    def remove_base(self) -> None:
        with contextlib.suppress(OSError):
            self.base_path.unlink()

    def close(self) -> None:
        """Close the journal and release the lock."""
        self._close_journal()
        if self._lock is not None:
            fd, self._lock = self._lock, None
            if fcntl is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _close_journal(self) -> None:
        """Close the journal (it reopens on the next append)."""
        if self._journal is not None:
            fd, self._journal = self._journal, None
            with contextlib.suppress(OSError):
                os.close(fd)

    def _empty_journal(self) -> None:
        self._close_journal()
        fd = os.open(self.journal_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | O_NOFOLLOW, 0o644)
        os.close(fd)
        self.journal_lines = 0


def _chunks(doc: Mapping[str, Any]) -> Iterator[bytes]:
    """`doc` as compact JSON, one list item at a time: json.dumps of a whole big tenant
    would hold the interpreter (every request thread) for seconds."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    yield b"{"
    for n, (key, value) in enumerate(doc.items()):
        yield (("," if n else "") + dumps(key) + ":").encode()
        if isinstance(value, list):
            yield b"["
            for i, item in enumerate(value):
                yield (("," if i else "") + dumps(item)).encode()
            yield b"]"
        else:
            yield dumps(value).encode()
    yield b"}"


def _new_file(path: Path):
    """A new, empty file at `path` for writing: whatever was there (a file left by a crash)
    is removed first, a link included, so nothing is written through one."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return os.fdopen(create_exclusive(path, 0o666, exact=False), "wb")


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return text if text.isdigit() else ""


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
