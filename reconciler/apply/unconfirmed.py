"""Accounts apply generated a password for and sent to Google, without seeing the answer yet.

A run killed (or interrupted) while an account's creation is on its way cannot know whether
Google made the account. Before the create is sent, apply writes the address (never the
password) to `.reconciler/unconfirmed-creations.json` in the state directory, with the time,
the plan's checksum and the password file the password went to (or none); the entry goes
once Google answers (created, or refused). The next apply reads what is left, says for each
address whether Google holds the account (then someone must hand out the password kept in
the password file, or reset it when none was kept) and forgets the entries once it runs.
The file is local, like pending-renames.json: on a CI runner that does not keep the state
directory, the audit log's `started` records without an outcome say the same.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.apply.pending import IGNORE_ALL, write_local_state
from reconciler.desired.load import LOCAL_STATE_DIR

FILE = "unconfirmed-creations.json"


@dataclass
class Unconfirmed:
    """An account whose creation an earlier run sent and never saw answered."""

    email: str
    started: str | None
    password_file: str | None
    exists: bool = False

    def message(self) -> str:
        where = f" (started {self.started})" if self.started else ""
        if not self.exists:
            kept = (
                f" The password written for it to {self.password_file} was never used."
                if self.password_file
                else ""
            )
            return (
                f"Note: an earlier apply stopped before Google answered the creation of "
                f"{self.email}{where}; Google does not hold it.{kept}"
            )
        if self.password_file:
            return (
                f"Warning: {self.email} was created by an earlier apply that stopped before "
                f"Google confirmed it{where}: its one-time password is the last line for it "
                f"in {self.password_file}; hand it out from there, or reset the password in "
                "the Admin console."
            )
        return (
            f"Warning: {self.email} was created by an earlier apply that stopped before "
            f"Google confirmed it{where}, with a random password nobody saw (no "
            "--password-file): reset its password in the Admin console."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "email": self.email,
            "started": self.started,
            "exists": self.exists,
            "password_kept": self.password_file is not None,
        }


class UnconfirmedCreations:
    """The record: `begin` before creates are sent, `settle` once each is answered."""

    def __init__(self, root: Path, password_file: Path | None):
        self.path = Path(root) / LOCAL_STATE_DIR / FILE
        self.password_file = str(password_file) if password_file is not None else None
        self.entries: dict[str, dict[str, Any]] = self._load()

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        users = data.get("users") if isinstance(data, dict) else None
        if not isinstance(users, dict):
            return {}
        return {str(k).lower(): v if isinstance(v, dict) else {} for k, v in users.items()}

    def earlier(self, existing: set[str]) -> list[Unconfirmed]:
        """What earlier runs left, each saying whether Google holds it (`existing`)."""
        return [
            Unconfirmed(
                email,
                entry.get("started") if isinstance(entry.get("started"), str) else None,
                entry.get("password_file") if isinstance(entry.get("password_file"), str) else None,
                email in existing,
            )
            for email, entry in sorted(self.entries.items())
        ]

    def forget(self, emails: list[str]) -> None:
        gone = [self.entries.pop(e.lower(), None) for e in emails]
        if any(g is not None for g in gone):
            self._save()

    def begin(self, emails: list[str], checksum: str) -> None:
        """Record `emails` as sent, before they are (written and synced to disk)."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        for email in emails:
            self.entries[email.lower()] = {
                "started": now,
                "plan_checksum": checksum,
                "password_file": self.password_file,
            }
        self._save(sync=True)

    def settle(self, email: str) -> None:
        """Google answered the creation of `email` (made or refused): forget it."""
        if self.entries.pop(email.lower(), None) is not None:
            self._save()

    def _save(self, sync: bool = False) -> None:
        if not self.entries:
            if self.path.exists():
                os.unlink(self.path)
                _drop_if_empty(self.path.parent)
            return
        write_local_state(self.path, {"users": dict(sorted(self.entries.items()))}, sync=sync)


def _drop_if_empty(folder: Path) -> None:
    """Remove `.reconciler/` again when it holds nothing but the .gitignore made for it."""
    ignore = folder / ".gitignore"
    try:
        if [p.name for p in folder.iterdir()] == [".gitignore"] and (
            ignore.read_text(encoding="utf-8") == IGNORE_ALL
        ):
            ignore.unlink()
            folder.rmdir()
    except OSError:
        pass
