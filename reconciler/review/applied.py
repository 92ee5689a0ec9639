"""When Google got each membership: the apply records (git notes `refs/notes/reconciler`,
read in one pass, and any --audit-log files), by group and member."""

from __future__ import annotations

import datetime as dt
import subprocess
from dataclasses import dataclass
from pathlib import Path

from reconciler.commands.audit_trail import (
    NOTES_REF,
    outcomes,
    records_from_logs,
    records_in_note,
)
from reconciler.git_objects import BlobReader, GitObjectsError

# The records that give a member its access or its role in Google.
GRANTING = frozenset({"add_member", "update_member"})


@dataclass(frozen=True)
class Applied:
    time: dt.datetime
    actor: str | None
    commit: str | None


def applied_memberships(
    top: Path, logs: list[Path], cut: list[str]
) -> dict[tuple[str, str], list[Applied]]:
    """(group email, member) -> the applied records that added the member or set its role,
    oldest first. Records cut short by a killed apply are named in `cut`."""
    records = [r for rs in records_from_logs(logs, cut).values() for r in rs]
    records += _noted(top)
    found: dict[tuple[str, str], list[Applied]] = {}
    for record in outcomes(records):
        if record.get("kind") != "membership" or record.get("action") not in GRANTING:
            continue
        if record.get("result") != "applied":
            continue
        group, member, when = record.get("group"), record.get("member"), _time(record)
        if not isinstance(group, str) or not isinstance(member, str) or when is None:
            continue
        actor = record.get("actor")
        applied = Applied(when, actor if isinstance(actor, str) else None, record.get("git_commit"))
        found.setdefault((group.lower(), member.lower()), []).append(applied)
    for applied in found.values():
        applied.sort(key=lambda a: a.time)
    return found


def first_after(
    applied: list[Applied], since: dt.datetime | None, until: dt.datetime | None
) -> Applied | None:
    """The first record at or after `since` (the commit that granted the access; None: any)
    and not after `until` (the end of the day reviewed; None: no end)."""
    for record in applied:
        if since is not None and record.time < since:
            continue
        if until is not None and record.time > until:
            return None
        return record
    return None


def parse_time(text: str) -> dt.datetime | None:
    """An ISO 8601 time as an aware datetime (UTC when it names no offset)."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _time(record: dict) -> dt.datetime | None:
    value = record.get("time")
    return parse_time(value) if isinstance(value, str) else None


def _noted(top: Path) -> list[dict]:
    """Every record of every `refs/notes/reconciler` note: the list, then one cat-file."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(top), "notes", f"--ref={NOTES_REF}", "list"],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    notes = [line.split()[0] for line in listed.stdout.splitlines() if len(line.split()) == 2]
    records: list[dict] = []
    if not notes:
        return records
    with BlobReader(top) as blobs:
        for note in notes:
            try:
                text = blobs.read(note).decode("utf-8", "replace")
            except GitObjectsError:
                continue
            records += records_in_note(text)
    return records
