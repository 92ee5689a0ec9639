"""Files on the operator's disk: only regular files are read, and nothing is read or written
through a symbolic link.

A state directory comes from a pull request. A `users.yaml` that links to a file elsewhere
(another user's secrets, `/dev/zero`, a FIFO) must not be read, echoed, waited on or
rewritten, and a link planted where local state goes (`.reconciler/`) must not send a write
anywhere else. So every file is opened without following a link (O_NOFOLLOW), checked to be a
regular file before a byte is read (O_NONBLOCK: opening a FIFO does not wait for a writer),
read up to a limit, and written by creating a new file exclusively, never by opening an
existing path for writing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation

LINK_REFUSED = (
    "a symbolic link: refused (files are read and written only inside the state directory, "
    "never through a link)"
)


class RefusedFile(OSError):
    """A path that is a link or not a regular file; `strerror` says why, for the user."""


class FileTooLarge(RefusedFile):
    """A file over the size limit it was read with."""

    def __init__(self, path: Path, size: int):
        super().__init__(errno.EFBIG, f"file is {size} bytes, over the limit", str(path))
        self.size = size


def kind_of(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def not_regular(path: Path, mode: int) -> RefusedFile:
    if stat.S_ISLNK(mode):
        return RefusedFile(errno.ELOOP, LINK_REFUSED, str(path))
    return RefusedFile(errno.EINVAL, f"not a regular file ({kind_of(mode)}): refused", str(path))


def open_regular(path: Path, *, follow: bool = False) -> int:
    """A read-only descriptor of the regular file at `path`, never through a final link
    unless `follow`; a FIFO or device is refused without waiting on it or reading from it."""
    nofollow = 0 if follow else O_NOFOLLOW
    if not follow and not O_NOFOLLOW and os.path.islink(path):  # Windows: look first
        raise RefusedFile(errno.ELOOP, LINK_REFUSED, str(path))
    try:
        fd = os.open(path, os.O_RDONLY | nofollow | O_NONBLOCK | O_CLOEXEC | O_BINARY)
    except OSError as exc:
        if not follow and exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise RefusedFile(errno.ELOOP, LINK_REFUSED, str(path)) from None
        raise
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise not_regular(path, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular(path: Path, limit: int | None = None, *, follow: bool = False) -> bytes:
    """The bytes of the regular file at `path` (see open_regular); FileTooLarge past `limit`
    bytes."""
    fd = open_regular(path, follow=follow)
    with os.fdopen(fd, "rb", buffering=0) as f:
        size = os.fstat(fd).st_size
        if limit is not None and size > limit:
            raise FileTooLarge(path, size)
        data = f.read()  # sized by fstat: one allocation
    if limit is not None and len(data) > limit:  # it grew meanwhile
        raise FileTooLarge(path, len(data))
    return data


def outside_problem(setting: str) -> str | None:
    """Why a path setting does not name a place inside the state directory, or None: it must
    be relative and must not climb out with '..'."""
    if not setting.strip():
        return "must not be empty"
    posix = PurePosixPath(setting.replace("\\", "/"))
    if posix.is_absolute() or PureWindowsPath(setting).anchor or setting.startswith("~"):
        return "must be a path relative to the state directory, not an absolute one"
    if ".." in posix.parts:
        return "must stay inside the state directory (no '..')"
    return None


def first_link(root: Path, relative: str | Path) -> Path | None:
    """The first path from root down to root/relative that is a symbolic link (root itself
    is the operator's choice and not judged); None when there is none, or once a part does
    not exist."""
    current = Path(root)
    for part in PurePosixPath(str(relative).replace("\\", "/")).parts:
        if part in ("", "."):
            continue
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return current
    return None


def create_exclusive(path: Path, mode: int = 0o600, *, exact: bool = True) -> int:
    """A write descriptor of a new file at `path`, created by this call: FileExistsError if
    anything is there already, a dangling link included. `exact`: with exactly `mode`,
    whatever the umask; else `mode` less the umask, as open() does."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_BINARY
    fd = os.open(path, flags, mode)
    try:
        if exact and hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def replace_regular(path: Path, data: bytes) -> None:
    """Replace the regular file at `path` with `data`, atomically, keeping its mode. The new
    content goes to a new file beside it that is renamed over it: a link at `path` is
    refused, and one that appears there meanwhile is replaced, never written through."""
    mode = os.lstat(path).st_mode
    if not stat.S_ISREG(mode):
        raise not_regular(path, mode)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = create_exclusive(tmp, stat.S_IMODE(mode))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
