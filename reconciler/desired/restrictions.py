"""The rule `restrictions` (workspace.yaml's `restrictions:` and `restrictions_default:`),
run by checks.py: a file a restriction governs may define only the groups whose every address
its `groups` patterns allow, and users only when `users` is true. The paths' glob is in
reconciler/restriction_settings.py.

The last restriction whose path matches a file governs it, as the last matching line of
CODEOWNERS owns a file, so the generated CODEOWNERS and validation agree. A file no
restriction matches is unrestricted, unless `restrictions_default: deny` (then it may define
no groups, no users and no bindings). Bindings are allowed unless `bindings: false`; org
units are never restricted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from reconciler.desired.entra_checks import entra_name
from reconciler.desired.index import Index
from reconciler.desired.load import WORKSPACE_FILE, DesiredTree, Located
from reconciler.desired.models import GroupEntry
from reconciler.problems import Problem, display_path
from reconciler.restriction_settings import Restriction, glob_matches, has_wildcard

DENY_ALL = Restriction(path="**", groups=[], users=False, bindings=False)


@dataclass(frozen=True)
class Governing:
    """The restriction that governs a file, and how to name it in a message."""

    restriction: Restriction
    named: str  # e.g. "restriction 1, path groups/sales/**, workspace.yaml:14"


def last_match(restrictions: list[Restriction], relative: str) -> int | None:
    """The index of the last restriction whose path matches `relative`, or None."""
    for i in range(len(restrictions) - 1, -1, -1):
        if glob_matches(restrictions[i].path, relative):
            return i
    return None


def relative_path(tree: DesiredTree, path: Path) -> str:
    """A file's path relative to the state directory, posix style."""
    try:
        return path.relative_to(tree.root).as_posix()
    except ValueError:
        return path.resolve().relative_to(tree.root.resolve()).as_posix()


def governing(tree: DesiredTree, path: Path) -> Governing | None:
    """What governs the file at `path`: a restriction, the default deny, or nothing."""
    ws = tree.workspace
    where = display_path(tree.workspace_source.path)
    i = last_match(ws.restrictions, relative_path(tree, path))
    if i is not None:
        line = tree.workspace_source.line_of("restrictions", i)
        named = f"restriction {i + 1}, path {ws.restrictions[i].path}, {where}:{line}"
        return Governing(ws.restrictions[i], named)
    if ws.restrictions_default == "deny":
        line = tree.workspace_source.line_of("restrictions_default")
        named = f"restrictions_default: deny, {where}:{line}; no restriction's path matches"
        return Governing(DENY_ALL, named)
    return None


def check_restrictions(index: Index) -> Iterator[Problem]:
    tree = index.tree
    if not (tree.has_setting("restrictions") and tree.has_setting("restrictions_default")):
        return  # invalid, and reported: which files they govern is unknown
    ws = tree.workspace
    if not ws.restrictions and ws.restrictions_default == "allow":
        return
    by_file: dict[Path, Governing | None] = {}

    def of(path: Path) -> Governing | None:
        if path not in by_file:
            by_file[path] = governing(tree, path)
        return by_file[path]

    for g in tree.groups:
        rule = of(g.source.path)
        if rule is not None:
            yield from _group_problems(g, rule)
    for u in tree.users:
        rule = of(u.source.path)
        if rule is not None and not rule.restriction.users:
            yield u.source.problem(
                f"user {u.entry.email}: this file may define no users ({rule.named})", "email"
            )
    for b in tree.bindings:
        rule = of(b.source.path)
        if rule is not None and not rule.restriction.bindings:
            what = f"user {b.entry.user}" if b.entry.user else f"group {b.entry.group}"
            yield b.source.problem(
                f"binding of {what}: this file may hold no bindings ({rule.named})"
            )
    if tree.entries_complete:
        yield from _unused(tree)


def _addresses(entry: GroupEntry) -> Iterator[tuple[str, str, tuple[str | int, ...]]]:
    """What a group is known by, each as (label, value, field): the label is empty for the
    group's own key (its email, else its name)."""
    if entry.email:
        yield "", entry.email, ("email",)
    else:
        yield "", entry.name, ("name",)
    for i, a in enumerate(entry.aliases or ()):
        yield f"alias {a}", a, ("aliases", i)
    for i, a in enumerate(entry.previous_emails):
        yield f"previous email {a} (it would take that group over)", a, ("previous_emails", i)
    if entry.entra:
        name = entra_name(entry)
        field = "display_name" if entry.display_name is not None else "name"
        if entry.email or field != "name":
            yield f"Entra display name '{name}'", name, (field,)


def _group_problems(g: Located[GroupEntry], rule: Governing) -> Iterator[Problem]:
    restriction = rule.restriction
    ident = g.entry.email or g.entry.name
    if restriction.groups:
        allowed = "only groups matching " + " or ".join(restriction.groups)
    else:
        allowed = "no groups"
    for label, value, loc in _addresses(g.entry):
        if restriction.allows(value):
            continue
        said = f"{label}: " if label else ""
        yield g.source.problem(
            f"group {ident}: {said}this file may define {allowed} ({rule.named})", *loc
        )


def _unused(tree: DesiredTree) -> Iterator[Problem]:
    """A restriction whose path matches no file (nor workspace.yaml, for its reviewers) is
    most likely a mistyped path: said, as a warning."""
    files = [relative_path(tree, f) for f in tree.files] + [WORKSPACE_FILE]
    for i, r in enumerate(tree.workspace.restrictions):
        if any(glob_matches(r.path, f) for f in files):
            continue
        body = r.path.removeprefix("/")
        hint = ""
        if not has_wildcard(body) and (tree.root / body).is_dir():
            hint = f": it names a folder, so write {body}/** for the files in it"
        yield tree.workspace_source.problem(
            f"restrictions: restriction {i + 1}, path {r.path}, matches no file of the state "
            f"directory{hint}",
            "restrictions",
            i,
            "path",
            warning=True,
        )
