"""`reconciler audit`: an access-change report for a period, from git history and apply records.

For every commit that touched the state directory in the period: who made it, when, the
pull request it merged (from the commit message), which accounts, groups and bindings it
changed (compared entry by entry with its parent), and what apply did with it (the records
in the git note `refs/notes/reconciler` and any --audit-log files given).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler.desired.yamlread import parse_yaml
from reconciler.problems import InvalidInput, ReconcilerError

NOTES_REF = "reconciler"
_PR = re.compile(r"(?:Merge pull request #(\d+)|\(#(\d+)\)\s*$)", re.MULTILINE)
_KEYS = {"users": "email", "groups": "name", "org_units": "path"}


class AuditError(ReconcilerError):
    """The audit could not read the repository."""


@dataclass
class EntryChange:
    kind: str  # user, group, org_unit, binding
    key: str
    change: str  # added, removed, changed
    fields: list[str] = field(default_factory=list)


@dataclass
class CommitAudit:
    commit: str
    date: str
    author: str
    subject: str
    pull_request: int | None
    changes: list[EntryChange] = field(default_factory=list)
    applied: list[dict[str, Any]] = field(default_factory=list)

    def result_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.applied:
            counts[record.get("result", "?")] = counts.get(record.get("result", "?"), 0) + 1
        return counts


def _git(root: Path, *args: str, check: bool = True) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise AuditError(f"git is needed for the audit: {exc.strerror}") from None
    if check and done.returncode != 0:
        raise AuditError(f"git {' '.join(args[:2])}: {done.stderr.strip() or 'failed'}")
    return done.stdout if done.returncode == 0 else ""


def audit(
    directory: Path, since: str | None, until: str | None, logs: list[Path]
) -> list[CommitAudit]:
    """Commits touching `directory` in the period, newest first, with their apply records."""
    directory = directory.resolve()
    top = Path(_git(directory, "rev-parse", "--show-toplevel").strip())
    rel = directory.relative_to(top).as_posix() if directory != top else "."
    args = ["log", "--format=%H%x1f%aI%x1f%an <%ae>%x1f%B%x1e"]
    if since:
        args.append(f"--since={since}")
    if until:
        args.append(f"--until={until}")
    out = _git(top, *args, "--", rel)
    records = _records_from_logs(logs)
    skip = _not_desired_state(directory)
    commits = []
    for chunk in out.split("\x1e"):
        if not chunk.strip():
            continue
        sha, date, author, body = chunk.strip("\n").split("\x1f", 3)
        match = _PR.search(body)
        pr = int(match.group(1) or match.group(2)) if match else None
        entry = CommitAudit(sha, date, author, body.strip().splitlines()[0], pr)
        entry.changes = _entry_changes(top, sha, rel, skip)
        entry.applied = _note_records(top, sha) + records.get(sha, [])
        commits.append(entry)
    return commits


def _records_from_logs(paths: list[Path]) -> dict[str, list[dict[str, Any]]]:
    by_commit: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise AuditError(f"{path}:{number}: not a JSON audit record") from None
            if record.get("git_commit"):
                by_commit.setdefault(record["git_commit"], []).append(record)
    return by_commit


def _note_records(top: Path, sha: str) -> list[dict[str, Any]]:
    text = _git(top, "notes", f"--ref={NOTES_REF}", "show", sha, check=False)
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a note may hold other text too
    return records


def _not_desired_state(directory: Path) -> set[str]:
    """Paths (relative to the directory) that are not entry files: the emulator seed."""
    try:
        from reconciler.desired.load import load_tree

        workspace = load_tree(directory).workspace
    except InvalidInput:
        return {"tenant.yaml"}
    return {workspace.provider.seed} if workspace.provider.seed else set()


def _entry_changes(top: Path, sha: str, rel: str, skip: set[str]) -> list[EntryChange]:
    names = _git(top, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", sha, "--", rel)
    changes: list[EntryChange] = []
    for name in names.splitlines():
        inside = PurePosixPath(name).relative_to(rel) if rel != "." else PurePosixPath(name)
        hidden = any(part.startswith(".") for part in inside.parts)
        if not name.endswith((".yaml", ".yml")) or hidden or inside.as_posix() in skip:
            continue
        if inside.as_posix() == "workspace.yaml":
            changes += _settings_changes(top, sha, name)
            continue
        before = _entries(top, f"{sha}^", name)
        after = _entries(top, sha, name)
        for key in sorted(set(before) | set(after)):
            kind, ident = key
            old, new = before.get(key), after.get(key)
            if old is None:
                changes.append(EntryChange(kind, ident, "added"))
            elif new is None:
                changes.append(EntryChange(kind, ident, "removed"))
            elif old != new:
                fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                changes.append(EntryChange(kind, ident, "changed", fields))
    return changes


def _settings_changes(top: Path, sha: str, name: str) -> list[EntryChange]:
    """workspace.yaml: which settings changed (protected accounts and limits matter here)."""
    docs = []
    for rev in (f"{sha}^", sha):
        text = _git(top, "show", f"{rev}:{name}", check=False)
        try:
            doc = parse_yaml(text, PurePosixPath(name)) if text else {}  # type: ignore[arg-type]
        except InvalidInput:
            doc = {}
        docs.append(doc if isinstance(doc, dict) else {})
    old, new = docs
    if not old:
        return [EntryChange("settings", "workspace.yaml", "added")]
    fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return [EntryChange("settings", "workspace.yaml", "changed", fields)] if fields else []


def _entries(top: Path, rev: str, name: str) -> dict[tuple[str, str], dict[str, Any]]:
    text = _git(top, "show", f"{rev}:{name}", check=False)
    if not text:
        return {}
    try:
        doc = parse_yaml(text, PurePosixPath(name))  # type: ignore[arg-type]
    except InvalidInput:
        return {}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    if not isinstance(doc, dict):
        return found
    for key, items in doc.items():
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            if key == "bindings":
                target = item.get("user") or item.get("group")
                if isinstance(target, str):
                    found[("binding", target.lower())] = dict(item)
            elif key in _KEYS and isinstance(item.get(_KEYS[key]), str):
                ident = item[_KEYS[key]]
                ident = ident.lower() if key == "users" else ident
                found[(key[:-1].replace("_", " ") if key != "org_units" else "org_unit", ident)] = {
                    k: _plain(v) for k, v in item.items()
                }
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return sorted(str(v).lower() for v in value)
    return value


def render_audit(commits: list[CommitAudit], fmt: str) -> str:
    if fmt == "json":
        data = [{**asdict(c), "result_counts": c.result_counts()} for c in commits]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    md = fmt == "markdown"
    lines = ["## Access changes" if md else "Access changes", ""]
    if not commits:
        lines.append("No changes to the directory in this period.")
    for c in commits:
        pr = f", PR #{c.pull_request}" if c.pull_request else ""
        head = f"{c.date} {c.commit[:12]} by {c.author}{pr}: {c.subject}"
        lines.append(f"### {head}" if md else head)
        for ch in c.changes:
            detail = f" ({', '.join(ch.fields)})" if ch.fields else ""
            lines.append(f"  - {ch.change} {ch.kind} {ch.key}{detail}")
        if c.applied:
            counts = ", ".join(f"{n} {r}" for r, n in sorted(c.result_counts().items()))
            times = sorted(r.get("time", "") for r in c.applied if r.get("time"))
            when = f" at {times[0]}" if times else ""
            actors = sorted({r["actor"] for r in c.applied if r.get("actor")})
            by = f" by {', '.join(actors)}" if actors else ""
            lines.append(f"  applied{when}{by}: {counts}")
            for r in c.applied:
                if r.get("result") != "applied":
                    lines.append(
                        f"    {r.get('result')}: {r.get('action')} {r.get('kind')} "
                        f"{r.get('key')}: {r.get('error')}"
                    )
        else:
            lines.append("  not applied (no apply records)")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
