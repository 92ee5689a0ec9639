"""Generated passwords go to one place only: the file the operator names (mode 0600).

The file is always a new one, created by this run (O_CREAT|O_EXCL|O_NOFOLLOW): a file that
exists already may be open in another process that would read the passwords, and a symbolic
link would send them (and the chmod) wherever it points. So an existing path is refused
before anything is applied, and the file is created before the first change is made.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from reconciler.files import create_exclusive
from reconciler.problems import ReconcilerError


class PasswordFileExists(ReconcilerError):
    """The --password-file path is taken; nothing was applied."""


class PasswordFile:
    """Writes `email,password` lines to a new file only its owner can read."""

    def __init__(self, path: Path | None):
        self.path = path
        self.count = 0
        self._file: TextIO | None = None

    def check(self) -> None:
        """PasswordFileExists when something is at the path already (a dangling link too)."""
        if self.path is not None and os.path.lexists(self.path):
            raise PasswordFileExists(self._exists_message())

    def open(self) -> None:
        """Create the file, empty, mode 0600; PasswordFileExists if the path is taken."""
        if self.path is None or self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = create_exclusive(self.path, 0o600)
        except FileExistsError:
            raise PasswordFileExists(self._exists_message()) from None
        self._file = os.fdopen(fd, "w", encoding="utf-8")

    def add(self, email: str, password: str) -> None:
        self.count += 1
        if self.path is None:
            return  # nobody asked: the password is dropped; an admin resets it when needed
        self.open()
        assert self._file is not None
        self._file.write(f"{email},{password}\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def _exists_message(self) -> str:
        what = "a symbolic link" if self.path is not None and self.path.is_symlink() else "a file"
        return (
            f"--password-file {self.path} exists already ({what}): passwords go only to a new "
            "file that this run creates, readable by you only; choose a new name, or delete "
            "it first"
        )
