"""Reading Git's objects in bulk: a folder's files at a commit, and blobs one after another,
each through one `git cat-file --batch` process rather than a `git show` per file."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from reconciler.problems import ReconcilerError

# Runs git in a folder: (top, *args, stdin=bytes) -> the finished process (bytes output).
GitRunner = Callable[..., subprocess.CompletedProcess]


class GitObjectsError(ReconcilerError):
    """Git did not give the objects asked for."""


def export_tree(git: GitRunner, top: Path, commit: str, relative: str, into: Path) -> bool:
    """Write the files under `relative` at `commit` into `into` (same relative paths);
    False when there are none."""
    spec = [] if relative in ("", ".") else ["--", relative]
    listing = git(top, "--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", commit, *spec)
    if listing.returncode != 0:
        said = listing.stderr.decode("utf-8", "replace").strip()
        raise GitObjectsError(f"git ls-tree {commit[:12]}: {said}")
    entries = list(tree_entries(listing.stdout))
    if not entries:
        return False
    blobs = [(mode, oid, path) for mode, kind, oid, path in entries if kind == "blob"]
    batch = git(top, "cat-file", "--batch", stdin="".join(f"{o}\n" for _, o, _ in blobs).encode())
    if batch.returncode != 0:
        said = batch.stderr.decode("utf-8", "replace").strip()
        raise GitObjectsError(f"git cat-file: {said}")
    contents = batch_contents(batch.stdout)
    for (mode, _oid, path), data in zip(blobs, contents, strict=True):
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":  # a link: made as one, so the loader refuses it as it would
            os.symlink(data.decode("utf-8", "surrogateescape"), target)
        else:
            target.write_bytes(data)
    # Folders exist even when only sub-folders hold files.
    (into / relative).mkdir(parents=True, exist_ok=True)
    return True


def tree_entries(listing: bytes) -> Iterator[tuple[str, str, str, str]]:
    """(mode, type, object id, path) of each record of `git ls-tree -z`."""
    for record in listing.split(b"\0"):
        if not record:
            continue
        head, _, path = record.partition(b"\t")
        mode, kind, oid = head.decode().split(" ")
        yield mode, kind, oid, path.decode("utf-8", "surrogateescape")


def batch_contents(output: bytes) -> list[bytes]:
    """The objects of `git cat-file --batch`, in order: `<oid> <type> <size>` then data."""
    found: list[bytes] = []
    at = 0
    while at < len(output):
        end = output.index(b"\n", at)
        header = output[at:end].decode().split(" ")
        if len(header) != 3:
            raise GitObjectsError(f"git cat-file: unexpected answer {output[at:end][:80]!r}")
        size = int(header[2])
        found.append(output[end + 1 : end + 1 + size])
        at = end + 1 + size + 1
    return found


class BlobReader:
    """Blobs by object id, asked one at a time of one `git cat-file --batch` process (for a
    reader that needs each answer before it knows the next question). Use as a context
    manager: the process is always ended and reaped."""

    def __init__(self, top: Path):
        try:
            self._process = subprocess.Popen(
                ["git", "-C", str(top), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
            )
        except FileNotFoundError:
            raise GitObjectsError("git is needed here, and git is not installed") from None

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def read(self, oid: str) -> bytes:
        """The blob `oid`; GitObjectsError when the repository lacks it."""
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(f"{oid}\n".encode())
        stdin.flush()
        header = stdout.readline().decode("utf-8", "replace").split()
        if len(header) != 3 or header[1] != "blob":
            raise GitObjectsError(f"git cat-file: no blob {oid[:12]} ({' '.join(header[1:])})")
        data = stdout.read(int(header[2]))
        stdout.read(1)  # the newline after each object
        return data

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            assert process.stdin is not None
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
