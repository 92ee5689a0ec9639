"""`reconciler audit`: an access-change report for a period, from git history and apply records.

The report follows the checked-out branch's own line of history (first parents only): one entry
per commit on it in the period that touched the state directory or that apply records name.
Each entry has its author and date, the pull request (read from the subject line only), which
accounts, groups, bindings, org units and settings it changed (compared entry by entry with its
first parent) and what apply did with it (the records in the git note `refs/notes/reconciler`
and in any --audit-log files). Every way GitHub merges a pull request maps onto that line:

- a merge commit ("Merge pull request #12 from ...") is one entry for PR #12. Its changes are
  what the PR changed on main (compared with the first parent), and the commits it merged
  (reachable from it, not from its first parent) that touched the directory or carry apply
  records are listed under it, never as entries of their own: no change is reported twice;
- a squash commit ("Subject (#12)") is one entry for PR #12;
- a rebase merge replays the PR's commits one by one with their own messages: one entry each,
  with "no PR recorded" since their messages name none.

Apply records stay with the commit they name, whether an entry or a merged commit; records
naming a commit outside this history are not shown. An entry without records of its own names
the nearest later commit on the line that has some (after a rebase merge, the last replayed
commit): that apply covered its state.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from reconciler.desired.yamlread import parse_yaml
from reconciler.problems import InvalidInput, ReconcilerError, one_line

NOTES_REF = "reconciler"
# GitHub's subject lines: "Merge pull request #12 from org/branch" and "Subject (#12)".
_PR = re.compile(r"^Merge pull request #(\d+) from |\(#(\d+)\)\s*$")
_LOG_FORMAT = "--format=%H%x1f%P%x1f%aI%x1f%an <%ae>%x1f%B%x1e"
_KEYS = {"users": "email", "groups": "name", "org_units": "path"}

Record = dict[str, Any]


class AuditError(ReconcilerError):
    """The audit could not read the repository."""


@dataclass
class EntryChange:
    kind: str  # user, group, org_unit, binding
    key: str
    change: str  # added, removed, changed
    fields: list[str] = field(default_factory=list)


@dataclass
class MergedCommit:
    """A commit a merge brought onto the line, with the apply records that name it."""

    commit: str
    date: str
    author: str
    subject: str
    applied: list[Record] = field(default_factory=list)


@dataclass
class CommitAudit:
    commit: str
    date: str
    author: str
    subject: str
    pull_request: int | None
    changes: list[EntryChange] = field(default_factory=list)
    applied: list[Record] = field(default_factory=list)
    merged: list[MergedCommit] = field(default_factory=list)
    # No records of its own: the nearest later commit on the line whose apply covered it.
    applied_with: str | None = None
    # Files of this commit that could not be read (file:line: why): their changes are unknown.
    unreadable: list[str] = field(default_factory=list)

    def result_counts(self) -> dict[str, int]:
        return _result_counts(self.applied)


@dataclass
class _Commit:
    """One commit as git log gives it."""

    sha: str
    parents: list[str]
    date: str
    author: str
    subject: str


@dataclass
class _Records:
    """Apply records by the commit they name: git notes (read when asked) and log files."""

    top: Path
    noted: set[str]
    logged: dict[str, list[Record]]

    def commits(self) -> set[str]:
        return self.noted | set(self.logged)

    def of(self, sha: str) -> list[Record]:
        notes = _note_records(self.top, sha) if sha in self.noted else []
        return outcomes(notes + self.logged.get(sha, []))


def outcomes(records: list[Record]) -> list[Record]:
    """The records without the `started` ones apply writes before each change's write, but
    for a change that never got its outcome (the run was killed): that one stays, `started`,
    and says the change may or may not have been made."""
    answered = {_change_id(r) for r in records if r.get("result") != "started"}
    return [r for r in records if r.get("result") != "started" or _change_id(r) not in answered]


def _change_id(record: Record) -> tuple[Any, ...]:
    return tuple(record.get(k) for k in ("plan_checksum", "kind", "action", "key"))


def _result_counts(records: list[Record]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        result = str(record.get("result", "?"))
        counts[result] = counts.get(result, 0) + 1
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
    directory: Path,
    since: str | None,
    until: str | None,
    logs: list[Path],
    cut: list[str] | None = None,
) -> list[CommitAudit]:
    """Commits on the first-parent line touching `directory` in the period, newest first.
    Records in `logs` cut short by a killed apply are skipped and named in `cut`."""
    directory = directory.resolve()
    top = Path(_git(directory, "rev-parse", "--show-toplevel").strip())
    rel = directory.relative_to(top).as_posix() if directory != top else "."
    period = [f"--since={since}"] if since else []
    period += [f"--until={until}"] if until else []
    logged = records_from_logs(logs, [] if cut is None else cut)
    records = _Records(top, _noted_commits(top), logged)
    applied = records.commits()
    touching = set(_git(top, "log", "--first-parent", "--format=%H", *period, "--", rel).split())
    later = _next_applied(top, applied)
    skip = not_desired_state(directory)
    return [
        _commit_audit(top, commit, rel, skip, records, later.get(commit.sha))
        for commit in _log(top, "--first-parent", *period)
        if commit.sha in touching or commit.sha in applied
    ]


def _log(top: Path, *args: str) -> list[_Commit]:
    out = _git(top, "log", _LOG_FORMAT, *args)
    commits = []
    for chunk in out.split("\x1e"):
        if not chunk.strip():
            continue
        sha, parents, date, author, body = chunk.strip("\n").split("\x1f", 4)
        subject = next(iter(body.strip().splitlines()), "")
        commits.append(_Commit(sha, parents.split(), date, author, subject))
    return commits


def _commit_audit(
    top: Path, commit: _Commit, rel: str, skip: set[str], records: _Records, later: str | None
) -> CommitAudit:
    """One entry: its PR, its changes against its first parent, what it merged, its records."""
    base = commit.parents[0] if commit.parents else None
    entry = CommitAudit(
        commit.sha, commit.date, commit.author, commit.subject, _pull_request(commit.subject)
    )
    entry.changes = _entry_changes(top, base, commit.sha, rel, skip, entry.unreadable)
    entry.applied = records.of(commit.sha)
    if len(commit.parents) > 1:
        entry.merged = _merged_commits(top, commit, rel, records)
    entry.applied_with = None if entry.applied else later
    return entry


def _pull_request(subject: str) -> int | None:
    """The PR number GitHub writes in a merge or squash commit's subject line, if any."""
    match = _PR.search(subject)
    return int(match.group(1) or match.group(2)) if match else None


def _merged_commits(top: Path, merge: _Commit, rel: str, records: _Records) -> list[MergedCommit]:
    """Commits reachable from a merge but not from its first parent, newest first: those
    touching the directory or named by apply records."""
    span = [f"^{merge.parents[0]}", merge.sha]
    touching = set(_git(top, "log", "--full-history", "--format=%H", *span, "--", rel).split())
    applied = records.commits()
    return [
        MergedCommit(c.sha, c.date, c.author, c.subject, records.of(c.sha))
        for c in _log(top, *span)
        if c.sha != merge.sha and (c.sha in touching or c.sha in applied)
    ]


def _next_applied(top: Path, applied: set[str]) -> dict[str, str]:
    """For each commit on HEAD's first-parent line, the nearest later one with apply records."""
    if not applied:
        return {}
    found: dict[str, str] = {}
    nearest = None
    for sha in _git(top, "rev-list", "--first-parent", "HEAD").split():
        if nearest:
            found[sha] = nearest
        if sha in applied:
            nearest = sha
    return found


# How every record apply writes begins: a line that starts so and does not parse is a
# record a killed run was cutting off (see AuditLog), not a damaged log.
RECORD_START = '{"time": "'


def records_from_logs(paths: list[Path], cut: list[str]) -> dict[str, list[Record]]:
    """Apply records from --audit-log files. A line that is not a JSON object (an array,
    binary, text) is refused with its file and line rather than skipped: the log is the
    evidence of what was applied, and an audit quietly missing part of it would mislead.
    The one exception is a record cut short by a killed apply: it is skipped and named in
    `cut` (file:line), to be shown."""
    by_commit: dict[str, list[Record]] = {}
    for path in paths:
        shown = one_line(str(path))
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AuditError(f"{shown}: cannot read the audit log ({exc.strerror})") from None
        for number, raw in enumerate(data.split(b"\n"), 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                if raw.startswith(RECORD_START.encode()):
                    cut.append(f"{shown}:{number}")  # cut inside a character
                    continue
                raise AuditError(
                    f"{shown}:{number}: not a JSON audit record (binary, not UTF-8 text)"
                ) from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                if line.startswith(RECORD_START):
                    cut.append(f"{shown}:{number}")
                    continue
                raise AuditError(f"{shown}:{number}: not a JSON audit record") from None
            if not isinstance(record, dict):
                kind = "an array" if isinstance(record, list) else "not an object"
                raise AuditError(
                    f"{shown}:{number}: not a JSON audit record ({kind}; each line of an "
                    "audit log is one JSON object)"
                )
            if not isinstance(record.get("git_commit"), (str, type(None))):
                raise AuditError(f"{shown}:{number}: git_commit is not text")
            if record.get("git_commit"):
                by_commit.setdefault(record["git_commit"], []).append(record)
    return by_commit


def _noted_commits(top: Path) -> set[str]:
    """The commits that carry a `refs/notes/reconciler` note."""
    listed = _git(top, "notes", f"--ref={NOTES_REF}", "list", check=False)
    return {line.split()[1] for line in listed.splitlines() if len(line.split()) == 2}


def _note_records(top: Path, sha: str) -> list[Record]:
    return records_in_note(_git(top, "notes", f"--ref={NOTES_REF}", "show", sha, check=False))


def records_in_note(text: str) -> list[Record]:
    """The apply records of one `refs/notes/reconciler` note: its lines that are JSON
    objects (a note may hold other text too)."""
    records = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def not_desired_state(directory: Path) -> set[str]:
    """Paths (relative to the directory) that are not entry files: the emulators' seeds."""
    try:
        from reconciler.desired.load import emulator_seeds, load_tree

        workspace = load_tree(directory).workspace
    except InvalidInput:
        return {"tenant.yaml"}
    # As the loader compares them: `./tenant.yaml` is tenant.yaml.
    return {PurePosixPath(seed).as_posix() for seed, _ in emulator_seeds(workspace)}


def _entry_changes(
    top: Path, base: str | None, sha: str, rel: str, skip: set[str], unreadable: list[str]
) -> list[EntryChange]:
    """Entries `sha` changed against `base` (its first parent; None for a root commit)."""
    span = [base, sha] if base else ["--root", sha]
    names = _git(top, "diff-tree", "--no-commit-id", "--name-only", "-r", *span, "--", rel)
    changes: list[EntryChange] = []
    for name in names.splitlines():
        inside = PurePosixPath(name).relative_to(rel) if rel != "." else PurePosixPath(name)
        hidden = any(part.startswith(".") for part in inside.parts)
        if not name.endswith((".yaml", ".yml")) or hidden or inside.as_posix() in skip:
            continue
        if inside.as_posix() == "workspace.yaml":
            changes += _settings_changes(top, base, sha, name, unreadable)
            continue
        before = _entries(top, base, name, []) if base else {}
        after = _entries(top, sha, name, unreadable)
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


def _settings_changes(
    top: Path, base: str | None, sha: str, name: str, unreadable: list[str]
) -> list[EntryChange]:
    """workspace.yaml: which settings changed (protected accounts and limits matter here)."""
    docs = []
    for rev in (base, sha):
        text = _git(top, "show", f"{rev}:{name}", check=False) if rev else ""
        try:
            doc = parse_yaml(text, PurePosixPath(name)) if text else {}  # type: ignore[arg-type]
        except InvalidInput as exc:
            if rev == sha:
                unreadable += [p.render() for p in exc.problems]
            doc = {}
        docs.append(doc if isinstance(doc, dict) else {})
    old, new = docs
    if not old:
        return [EntryChange("settings", "workspace.yaml", "added")]
    fields = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return [EntryChange("settings", "workspace.yaml", "changed", fields)] if fields else []


def _entries(
    top: Path, rev: str, name: str, unreadable: list[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The entries of one file at `rev`; a file that cannot be read (YAML the loader refuses,
    such as nesting deep enough to crash the parser) has none, and is added to `unreadable`."""
    text = _git(top, "show", f"{rev}:{name}", check=False)
    if not text:
        return {}
    try:
        doc = parse_yaml(text, PurePosixPath(name))  # type: ignore[arg-type]
    except InvalidInput as exc:
        unreadable += [p.render() for p in exc.problems]
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
        return sorted(_item(v).lower() for v in value)
    return value


def _item(value: Any) -> str:
    """A list item as the audit shows it: a dated member entry as `who (until DAY)`."""
    if isinstance(value, dict) and isinstance(value.get("email"), str):
        until = value.get("until")
        return f"{value['email']} (until {until})" if until is not None else value["email"]
    return str(value)


def render_audit(commits: list[CommitAudit], fmt: str) -> str:
    if fmt == "json":
        data = [{**asdict(c), "result_counts": c.result_counts()} for c in commits]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    md = fmt == "markdown"
    lines = ["## Access changes" if md else "Access changes", ""]
    if not commits:
        lines.append("No changes to the directory in this period.")
    for c in commits:
        lines += _render_commit(c, md)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _render_commit(c: CommitAudit, md: bool) -> list[str]:
    """A commit's heading, its changes, its apply records, then the commits it merged."""
    pr = f"PR #{c.pull_request}" if c.pull_request else "no PR recorded"
    head = f"{c.date} {c.commit[:12]} by {c.author}, {pr}: {c.subject}"
    lines = [f"### {head}" if md else head]
    for ch in c.changes:
        detail = f" ({', '.join(ch.fields)})" if ch.fields else ""
        lines.append(f"  - {ch.change} {ch.kind} {ch.key}{detail}")
    for problem in c.unreadable:
        lines.append(f"  could not read {problem}")
    if not c.changes and not c.unreadable:
        lines.append("  no changes to the directory")
    if c.applied:
        lines += _render_records(c.applied, "  ")
    elif c.applied_with:
        lines.append(
            f"  no apply records of its own; covered by the apply of {c.applied_with[:12]}"
        )
    else:
        lines.append("  not applied (no apply records)")
    if c.merged:
        lines.append(f"  commits merged ({len(c.merged)}):")
    for m in c.merged:
        lines.append(f"    {m.commit[:12]} {m.date} by {m.author}: {m.subject}")
        lines += _render_records(m.applied, "      ")
    return lines


def _render_records(records: list[Record], indent: str) -> list[str]:
    """One summary line for a commit's apply records, then every record that did not apply."""
    if not records:
        return []
    counts = ", ".join(f"{n} {r}" for r, n in sorted(_result_counts(records).items()))
    times = sorted(str(r["time"]) for r in records if r.get("time"))
    when = f" at {times[0]}" if times else ""
    actors = sorted({str(r["actor"]) for r in records if r.get("actor")})
    by = f" by {', '.join(actors)}" if actors else ""
    lines = [f"{indent}applied{when}{by}: {counts}"]
    for r in records:
        if r.get("result") != "applied":
            error = r.get("error")
            if r.get("result") == "started" and error is None:
                error = "sent, no outcome recorded (the run stopped)"
            lines.append(
                f"{indent}  {r.get('result')}: {r.get('action')} {r.get('kind')} "
                f"{r.get('key')}: {error}"
            )
    return lines
