"""Since when each grant exists in Git, and by which commit: one `git log` pass.

A grant is one entry of a group: (the group's Git name, OWNER|MANAGER|MEMBER, the entry).
The log walks the checked-out branch's own line (first parents, oldest first), each commit
compared with its first parent: a merge commit is one step with everything its pull request
brought, a squash commit one step, a rebase merge one step per replayed commit. For every
entry file a step changed, its new content is read (one `git cat-file --batch` process for
the whole walk) and its grants replace the file's previous ones. A grant's "since" is the
step after which some file of the directory held it, all along since then: a grant moved
between files, or a file renamed or split, keeps its since; a grant removed and added again
starts over. That is what "since when the line that grants it exists in Git" means here,
without a `git blame` per line.

A member entry naming a group by its email is the same grant as one naming it by its Git
name. A dated entry (`{email, until}`) is the same grant as the plain one, and a new `until`
does not start it over, unless the old one had passed when the commit landed: access that
had ended and is given again is a new grant. A group whose Git name changes starts its
grants over (its email may change freely). A file that stops being YAML the reader
understands keeps its previous grants until it is readable again (the state did not load
meanwhile).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from reconciler.git_objects import BlobReader, GitObjectsError
from reconciler.problems import ReconcilerError, one_line
from reconciler.review.scan import ChunkCache, Emails, FileGrants, Grants, merge

GrantKey = tuple[str, str, str]  # (group's Git name, role, entry)
ROLE_KEYS = (("OWNER", "owners"), ("MANAGER", "managers"), ("MEMBER", "members"))
# The trailers that name who approved a change (Gerrit, Linux kernel, merge bots).
APPROVAL_TRAILERS = ("Reviewed-by", "Approved-by")
_TRAILERS = ",".join(f"key={k}" for k in APPROVAL_TRAILERS)
_FORMAT = (
    f"--format=%x1e%H%x1f%cI%x1f%an <%ae>%x1f%(trailers:{_TRAILERS},valueonly,separator=%x1d)%x1f%s"
)
# GitHub's subject lines: "Merge pull request #12 from org/branch" and "Subject (#12)".
_PR = re.compile(r"^Merge pull request #(\d+) from |\(#(\d+)\)\s*$")
_NO_BLOB = "0" * 40
GIT_TIMEOUT_S = 600


class HistoryError(ReconcilerError):
    """The history could not be read."""


@dataclass(frozen=True)
class Commit:
    sha: str
    date: str  # committer date, ISO 8601: when the change reached the branch
    author: str
    subject: str
    pull_request: int | None
    approvers: tuple[str, ...]
    boundary: bool = False  # a shallow clone's oldest commit: what it "adds" may be older
    order: int = 0  # its place on the branch's line, oldest first


@dataclass
class History:
    """Each grant held at the tip, with the commit since which it is held."""

    since: dict[GrantKey, Commit] = field(default_factory=dict)
    commits: int = 0  # steps of the walk
    files_read: int = 0
    shallow: bool = False
    unreadable: list[str] = field(default_factory=list)  # path at commit: why
    names: dict[str, str] = field(default_factory=dict)  # groups' emails -> Git names

    def since_of(self, key: GrantKey, names: dict[str, str]) -> Commit | None:
        """The commit since which a grant is held (`names`: today's groups' emails)."""
        return self.since.get(canonical(canonical(key, names), self.names))


def key_of(group: str, role: str, ref: str) -> GrantKey:
    """A grant's key: addresses compare without case, group names as written."""
    ref = ref.strip()
    return (group, role, ref.lower() if "@" in ref else ref)


def pull_request(subject: str) -> int | None:
    """The PR number GitHub writes in a merge or squash commit's subject line, if any."""
    match = _PR.search(subject)
    return int(match.group(1) or match.group(2)) if match else None


def read_history(
    top: Path, relative: str, tip: str, skip: set[str], exclude: list[str] | None = None
) -> History:
    """The history of the grants of the state directory `relative` (to the repository's
    `top`) up to the commit `tip`. `skip`: files of the directory that hold no desired state
    (the emulators' seeds); `exclude`: workspace.yaml's exclude patterns."""
    history = History(shallow=_is_shallow(top))
    boundaries = _shallow_boundaries(top) if history.shallow else set()
    spec = [] if relative in ("", ".") else ["--", relative]
    out = _git(
        top,
        "log",
        "--first-parent",
        "--reverse",
        "--diff-merges=first-parent",
        "--raw",
        "--no-renames",
        "--no-abbrev",
        "-z",
        _FORMAT,
        tip,
        *spec,
    )
    walk = _Walk(history)
    yaml = YAML(typ="safe", pure=False)
    chunks = ChunkCache(key_of)
    with BlobReader(top) as blobs:
        for record in out.split(b"\x1e"):
            if not record.strip(b"\0\n"):
                continue
            commit, changes = _parse_record(record, boundaries, history.commits)
            history.commits += 1
            versions: list[tuple[str, list[tuple[str, FileGrants]]]] = []
            for path, blob in changes:
                if not _is_entry_file(path, relative, skip, exclude or []):
                    continue
                if blob == _NO_BLOB:
                    versions.append((path, []))
                    continue
                history.files_read += 1
                pieces = _pieces(yaml, chunks, blobs, blob)
                if isinstance(pieces, str):
                    history.unreadable.append(f"{path} at {commit.sha[:12]}: {pieces}")
                    continue
                versions.append((path, pieces))
            if versions:
                walk.step(commit, versions)
    history.names = walk.names
    return history


def canonical(key: GrantKey, names: dict[str, str]) -> GrantKey:
    """A grant's key with a group named by its email named by its Git name instead."""
    group, role, ref = key
    name = names.get(ref) if "@" in ref else None
    return (group, role, name) if name is not None else key


class _Walk:
    """What the files hold as the walk goes: each file as pieces (a group's text, scan.py),
    each piece's grants under their canonical keys as they were when it was added (so a
    removal takes away exactly what the addition gave), and per grant how many pieces hold
    it and the untils of those that date it."""

    def __init__(self, history: History):
        self.history = history
        self.held: dict[str, dict[str, Grants]] = {}  # path -> piece -> its grants
        self.count: dict[GrantKey, int] = {}
        self.dated: dict[GrantKey, Counter[str]] = {}
        self.names: dict[str, str] = {}  # groups' emails -> Git names, as last seen
        self._version = 0  # bumped when `names` changes
        self._canon: dict[str, tuple[int, Grants]] = {}  # piece -> its canonical grants

    def learn(self, emails: dict[str, str]) -> None:
        for email, name in emails.items():
            if self.names.get(email) != name:
                self.names[email] = name
                self._version += 1

    def canonical(self, piece: str, grants: Grants) -> Grants:
        known = self._canon.get(piece)
        if known is not None and known[0] == self._version:
            return known[1]
        names = self.names
        if any(k[2] in names for k in grants):
            grants = {canonical(k, names): u for k, u in grants.items()}
        self._canon[piece] = (self._version, grants)
        return grants

    def step(self, commit: Commit, versions: list[tuple[str, list[tuple[str, FileGrants]]]]):
        """One commit: the new versions of the files it changed replace the old ones. A
        grant is since this commit when no file held it before, or when it had ended (its
        until passed) by the commit's day and runs again after it."""
        moves: list[tuple[list[Grants], list[Grants]]] = []
        touched: set[GrantKey] = set()
        for path, pieces in versions:  # the groups' emails first: keys are made with them
            old = self.held.get(path, {})
            for piece, (_, emails) in pieces:
                if emails and piece not in old:
                    self.learn(emails)
        for path, pieces in versions:
            old = self.held.get(path, {})
            new = {
                piece: old[piece] if piece in old else self.canonical(piece, grants)
                for piece, (grants, _) in pieces
            }
            removed = [g for piece, g in old.items() if piece not in new]
            added = [g for piece, g in new.items() if piece not in old]
            for grants in (*removed, *added):
                touched.update(grants)
            moves.append((removed, added))
            if new:
                self.held[path] = new
            else:
                self.held.pop(path, None)
        before = {key: self.state(key) for key in touched}
        count, dated = self.count, self.dated
        for removed, added in moves:
            for grants in added:
                for key, until in grants.items():
                    count[key] = count.get(key, 0) + 1
                    if until is not None:
                        dated.setdefault(key, Counter())[until] += 1
            for grants in removed:
                for key, until in grants.items():
                    count[key] -= 1
                    if until is not None:
                        dated[key][until] -= 1
        day = _day_of(commit.date)
        since = self.history.since
        for key in touched:
            if not count.get(key):
                count.pop(key, None)
                dated.pop(key, None)
                since.pop(key, None)
                continue
            was_held, was_until = before[key]
            _, until = self.state(key)
            if not was_held or (_ended(was_until, day) and not _ended(until, day)):
                since[key] = commit

    def state(self, key: GrantKey) -> tuple[bool, str | None]:
        """Whether some piece holds a grant, and its last day (None: one lists it plainly)."""
        held = self.count.get(key, 0)
        if not held:
            return False, None
        days = self.dated.get(key)
        if not days:
            return True, None
        running = +days  # the untils still held
        return True, (max(running) if sum(running.values()) == held else None)


def _ended(until: str | None, day: str) -> bool:
    return until is not None and until < day


def _day_of(date: str) -> str:
    """A commit's date as its UTC day, YYYY-MM-DD."""
    when = dt.datetime.fromisoformat(date)
    return when.astimezone(dt.UTC).date().isoformat()


def _parse_record(
    record: bytes, boundaries: set[str], order: int
) -> tuple[Commit, list[tuple[str, str]]]:
    """One commit of the log: its header, then `:modes old new status` / path pairs."""
    end = record.index(b"\0") if b"\0" in record else len(record)
    header = record[:end].decode("utf-8", "replace")
    sha, date, author, trailers, subject = header.split("\x1f", 4)
    approvers = tuple(t.strip() for t in trailers.split("\x1d") if t.strip())
    commit = Commit(sha, date, author, subject, pull_request(subject), approvers, sha in boundaries)
    fields = record[end + 1 :].lstrip(b"\n").split(b"\0")
    changes = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        parts = meta.decode().split()
        if len(parts) < 5 or not meta.startswith(b":"):
            continue
        changes.append((path.decode("utf-8", "surrogateescape"), parts[3]))
    return commit, changes


def _is_entry_file(path: str, relative: str, skip: set[str], exclude: list[str]) -> bool:
    inside = PurePosixPath(path)
    if relative not in ("", "."):
        try:
            inside = inside.relative_to(relative)
        except ValueError:
            return False
    name = inside.as_posix()
    if not name.endswith((".yaml", ".yml")) or name == "workspace.yaml" or name in skip:
        return False
    if any(part.startswith(".") for part in inside.parts):
        return False
    return not any(fnmatch.fnmatch(name, p) for p in exclude)


def _pieces(
    yaml: YAML, chunks: ChunkCache, blobs: BlobReader, blob: str
) -> list[tuple[str, FileGrants]] | str:
    """One version of an entry file as pieces with their grants (and group emails), or why
    it cannot be read: scanned group by group (scan.py), or, where the file is outside the
    scanner's shape, parsed whole (one piece)."""
    try:
        data = blobs.read(blob)
    except GitObjectsError as exc:
        return str(exc)
    try:
        scanned = chunks.pieces(data.decode("utf-8"))
    except UnicodeDecodeError:
        scanned = None
    if scanned is not None:
        return scanned
    try:
        doc = yaml.load(data)
    except (YAMLError, ValueError, RecursionError) as exc:
        return f"not YAML ({one_line(str(exc))[:120]})"
    return [(f"\0parsed {blob}", parsed_grants(doc))]


def parsed_grants(doc: Any) -> FileGrants:
    """What a parsed entry file grants: as scan.py reads it from the text."""
    grants: Grants = {}
    emails: Emails = {}
    groups = doc.get("groups") if isinstance(doc, dict) else None
    for group in groups if isinstance(groups, list) else ():
        name = group.get("name") if isinstance(group, dict) else None
        if not isinstance(name, str):
            continue
        if isinstance(group.get("email"), str):
            emails[group["email"].lower()] = name
        for role, attr in ROLE_KEYS:
            items = group.get(attr)
            for item in items if isinstance(items, list) else ():
                ref = _ref(item)
                if ref:
                    until = item.get("until") if isinstance(item, dict) else None
                    merge(grants, key_of(name, role, ref), None if until is None else str(until))
    return grants, emails


def _ref(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("email"), str):
        return item["email"]
    return None


def _is_shallow(top: Path) -> bool:
    return _git(top, "rev-parse", "--is-shallow-repository").strip() == b"true"


def _shallow_boundaries(top: Path) -> set[str]:
    path = _git(top, "rev-parse", "--git-path", "shallow").decode().strip()
    try:
        return set((top / path).read_text().split())
    except OSError:
        return set()


def _git(top: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(top), *args],
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise HistoryError(
            "the access review reads Git's history, and git is not installed"
        ) from None
    except subprocess.TimeoutExpired:
        raise HistoryError(f"git {args[0]} took over {GIT_TIMEOUT_S} s; giving up") from None
    if done.returncode != 0:
        said = one_line(done.stderr.decode("utf-8", "replace").strip())
        raise HistoryError(f"git {args[0]}: {said or 'failed'}")
    return done.stdout
