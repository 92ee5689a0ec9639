"""Generated passwords go to one place only: the file the operator names (mode 0600).

A line is written (and synced to disk) before the account's creation is sent, so a run
killed with the create on its way has not lost the password of an account Google made. An
address can therefore have a line although its creation failed, or have several lines (a
later run created it afresh): the last line for an address is its password. Apply names
the creations that failed, and the next apply the ones a stopped run never saw answered.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO


class PasswordFile:
    """Appends `email,password` lines to a file only its owner can read."""

    def __init__(self, path: Path | None):
        self.path = path
        self.count = 0
        self._file: TextIO | None = None

    def add(self, email: str, password: str) -> None:
        self.count += 1
        if self.path is None:
            return  # nobody asked: the password is dropped; an admin resets it when needed
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.chmod(self.path, 0o600)  # an existing file keeps its mode otherwise
            self._file = os.fdopen(fd, "a", encoding="utf-8")
        self._file.write(f"{email},{password}\n")
        self._file.flush()

    def sync(self) -> None:
        """On disk before the creates these lines are for are sent."""
        if self._file is not None:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
