"""Renames an apply began and may not have finished, kept in the state directory.

Google refuses to rename an account (or a group) to one of its own aliases, so apply removes
the alias first and renames second. Between the two, the alias was the only thing linking
the account to Git when Git does not list its old address in `previous_emails`: a run killed
there would leave the next plan unable to find the account, and it would create a second one.
So before removing such an alias, apply writes `.reconciler/pending-renames.json`
({"users": {new: old}, "groups": {new: old}}); the plan matches an account by it when nothing
else finds it; the entry goes once the rename is done (or the account is found by its new
address). The file is local: a run on another checkout does not see it (docs/emulator.md,
"Renames to an own alias").
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from reconciler.desired.load import LOCAL_STATE_DIR

FILE = "pending-renames.json"
KINDS = ("users", "groups")
IGNORE_ALL = "# Local state of reconciler; never commit it.\n*\n"

Pending = dict[str, dict[str, str]]


def pending_path(root: Path) -> Path:
    return Path(root) / LOCAL_STATE_DIR / FILE


def load_pending(root: Path) -> Pending:
    """The unfinished renames recorded under `root` ({} when there are none, or the file is
    unreadable: it is a safety net, never a reason to stop)."""
    try:
        data = json.loads(pending_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    out: Pending = {}
    for kind in KINDS:
        entries = data.get(kind)
        if isinstance(entries, dict):
            out[kind] = {
                str(new).lower(): str(old).lower()
                for new, old in entries.items()
                if isinstance(old, str)
            }
    return out


class PendingRenames:
    """The record apply keeps: `add` before an alias is removed for a rename, `done` after."""

    def __init__(self, root: Path):
        self.path = pending_path(root)
        self.entries: Pending = load_pending(root)

    def add(self, kind: str, new: str, old: str) -> None:
        self.entries.setdefault(kind + "s", {})[new] = old
        self._save()

    def done(self, kind: str, new: str) -> None:
        if self.entries.get(kind + "s", {}).pop(new, None) is not None:
            self._save()

    def prune(self, found: dict[str, set[str]]) -> None:
        """Forget the renames whose new address Google now holds as a primary (`found`:
        kind -> primaries)."""
        changed = False
        for kind in KINDS:
            for new in [n for n in self.entries.get(kind, {}) if n in found.get(kind, set())]:
                del self.entries[kind][new]
                changed = True
        if changed:
            self._save()

    def _save(self) -> None:
        entries = {kind: dict(sorted(e.items())) for kind, e in self.entries.items() if e}
        if not entries and not self.path.exists():
            return
        if not entries:
            self.path.unlink()
            return
        write_local_state(self.path, entries)


def write_local_state(path: Path, data: object, sync: bool = True) -> None:
    """Replace the JSON file `path` in `.reconciler/` whole (written aside, then renamed),
    the folder git-ignored; `sync`: on disk before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text(IGNORE_ALL, encoding="utf-8")
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(data, out, indent=2, sort_keys=True)
        out.write("\n")
        out.flush()
        if sync:
            os.fsync(out.fileno())
    os.replace(tmp, path)
