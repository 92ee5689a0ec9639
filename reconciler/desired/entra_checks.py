"""The rules of the Entra export (`entra: true` on groups, workspace.yaml's `entra:`), run
by checks.py under the rule name `entra`.

The export matches an Entra group by display name (Graph's `displayName eq '...'`), so each
exported group needs a name of its own that such a filter finds."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.desired.index import Index
from reconciler.desired.load import Located
from reconciler.desired.models import GroupEntry
from reconciler.entra.state import MAX_DISPLAY_NAME
from reconciler.problems import Problem, display_path, excerpt


def entra_name(entry: GroupEntry) -> str:
    """The display name a group is exported to Entra under: its display_name, else its name."""
    return entry.display_name if entry.display_name is not None else entry.name


def _name_field(entry: GroupEntry) -> str:
    return "display_name" if entry.display_name is not None else "name"


def check_entra(index: Index) -> Iterator[Problem]:
    tree = index.tree
    if not tree.has_setting("entra"):
        return  # workspace.yaml's entra: is invalid, and reported: whether it is there is unknown
    exported = [g for g in tree.groups if g.entry.entra]
    if tree.workspace.entra is None:
        for g in exported:
            yield g.source.problem(
                f"group {g.entry.name}: entra: true, but workspace.yaml has no `entra:` block: "
                "add one (tenant_id, client_id and provider; see docs/yaml-reference.md), or "
                "remove `entra: true`",
                "entra",
            )
        return
    if not exported and tree.entries_complete:
        yield tree.workspace_source.problem(
            "entra: no group is marked `entra: true`, so nothing is exported to Entra ID; mark "
            "the groups to export, or remove the block",
            "entra",
            warning=True,
        )
    yield from _name_problems(exported)
    yield from _same_names(exported)


def _name_problems(exported: list[Located[GroupEntry]]) -> Iterator[Problem]:
    """Names Graph's displayName filter cannot find the group by. Leading and trailing
    whitespace (a final newline included) is refused for every group by the `names` rule."""
    for g in exported:
        name, field = entra_name(g.entry), _name_field(g.entry)
        why = None
        if len(name) > MAX_DISPLAY_NAME:
            why = f"is {len(name)} characters; Entra allows {MAX_DISPLAY_NAME}"
        elif name == name.strip() and ("\n" in name or "\r" in name):
            why = "holds a line break"
        if why:
            yield g.source.problem(
                f"group {g.entry.name}: {field} {why}, so the export could not find its Entra "
                "group by name",
                field,
            )


def _same_names(exported: list[Located[GroupEntry]]) -> Iterator[Problem]:
    """Two exported groups under one display name would fight over one Entra group."""
    by_name: dict[str, list[Located[GroupEntry]]] = {}
    for g in exported:
        by_name.setdefault(entra_name(g.entry), []).append(g)
    for name, groups in by_name.items():
        if len(groups) < 2:
            continue
        for g in groups:
            others = ", ".join(
                f"group {o.entry.name} ({display_path(o.source.path)}:{o.source.line})"
                for o in groups
                if o is not g
            )
            yield g.source.problem(
                f"group {g.entry.name}: its Entra display name '{excerpt(name)}' is also that of "
                f"{others}; the export matches Entra groups by display name, so both would "
                "write one Entra group: give each a display_name of its own",
                _name_field(g.entry),
            )
