"""Planned Entra creates (and renames), looked up by name before the plan is used.

Graph's group listing may lag behind a recent create ("recently created, updated or deleted
groups may show replication delay", https://learn.microsoft.com/en-us/graph/api/group-list).
A plan made from a listing that misses a group would create a second group of that name, the
very thing the export refuses to do. So each group the plan creates is looked up with
`$filter=displayName eq '…'` (one request each, in `$batch`es); one found means the listing
was behind: the tenant is read and planned again, after a wait, until a plan's creates are
all absent or the tries run out (then nothing is planned)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from reconciler.entra.client import GraphClient
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError

# Waits (seconds) before each new read when a planned create turned out to exist.
REREAD_WAITS_S: tuple[float, ...] = (1, 2, 4, 8)


def verify_creates(graph: GraphClient, plan: Plan, again: Callable[[], Plan]) -> None:
    """Return once the names the newest plan gives Entra groups (its creates, its renames)
    are all absent from Entra ID."""
    for attempt in range(len(REREAD_WAITS_S) + 1):
        names = sorted(_new_names(plan))
        found = existing(graph, names)
        if not found:
            return
        if attempt == len(REREAD_WAITS_S):
            break
        graph.retry.sleep(REREAD_WAITS_S[attempt])
        plan = again()
    listed = ", ".join(f'"{n}"' for n in found)
    raise ReconcilerError(
        f"Entra ID has groups named {listed}, which its group listing still does not show; "
        "nothing was planned. Try again in a few minutes."
    )


def _new_names(plan: Plan) -> set[str]:
    """The names the plan gives groups: its creates' and its renames' (an update of
    `display_name`): neither may be a name some group has already."""
    names = set()
    for change in plan.changes:
        if change.kind != "entra_group":
            continue
        if change.action == "create" or "display_name" in change.fields:
            names.add(change.key)
    return names


def existing(graph: GraphClient, names: list[str]) -> list[str]:
    """The names among `names` some Entra group has, exactly."""
    if not names:
        return []
    requests = [
        {
            "method": "GET",
            "url": "/groups?$select=id,displayName&$filter="
            + quote(f"displayName eq '{_odata_string(name)}'", safe=""),
        }
        for name in names
    ]
    found: list[str] = []
    for name, answer in zip(names, graph.batch(requests), strict=True):
        if answer.get("status") != 200:
            raise ReconcilerError(
                f'Entra ID did not answer the lookup of group "{name}" '
                f"(HTTP {answer.get('status')}); nothing was planned"
            )
        body = answer.get("body") or {}
        # The filter may match without regard to case; the export matches exactly.
        if any(g.get("displayName") == name for g in body.get("value", [])):
            found.append(name)
    return found


def _odata_string(text: str) -> str:
    """A string inside an OData literal: single quotes doubled."""
    return text.replace("'", "''")
