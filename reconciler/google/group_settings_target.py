"""The Groups Settings API as a target: the settings of the groups this repository manages
(README, "Group settings").

Only with settings declared (workspace.yaml's `group_settings:` or a group's `settings:`)
and group management on: then it reads, after the Directory, the settings of each existing
group Git declares settings for (found as the groups' differ finds it: by email, alias,
previous email or an unfinished rename; another repository's groups are left out), one
`groups.get` each, batched at the API's own batch endpoint. A read that fails stops the
plan: nothing is planned from settings not read. It applies the plan's settings changes a
batch at a time, only the fields Git declares (PATCH).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from reconciler.apply.context import Context
from reconciler.apply.pending import load_pending
from reconciler.google.call_runner import OneCallRunner
from reconciler.google.client import Call, GoogleClient
from reconciler.google.fetch import Actual
from reconciler.google.group_settings import read_settings, update_call
from reconciler.group_settings_fields import BY_API, BY_KEY
from reconciler.plan.change import Change
from reconciler.plan.kinds import GroupSettingsChange
from reconciler.plan.plan import Plan
from reconciler.plan.renames import find_by_address
from reconciler.target import Run

if TYPE_CHECKING:
    from reconciler.desired import Desired


def declared(desired: Desired) -> bool:
    """Whether Git declares any group setting (then settings are read, and their scope asked
    for)."""
    ws = desired.workspace
    return ws.directory.group_management and (
        ws.group_settings is not None or any(g.settings for g in desired.state.groups.values())
    )


class GroupSettingsTarget:
    name = "group settings"
    change_types: tuple[type[Change], ...] = (GroupSettingsChange,)

    def scopes(self, desired: Desired) -> dict[str, bool]:
        """The Groups Settings API's scope, only when Git declares settings."""
        return {"group_settings": declared(desired)}

    def connect(self, desired: Desired, client: GoogleClient) -> AbstractContextManager[None]:
        return nullcontext()

    def check(self, desired: Desired, client: GoogleClient) -> None:
        """Nothing to refuse before the read: the loader validated every setting."""

    def read(
        self, desired: Desired, client: GoogleClient, actual: Actual | None, *, everything: bool
    ) -> Actual:
        """The settings of the existing groups Git declares settings for (with `everything`,
        for import: of every group not another repository's)."""
        if actual is None:
            raise AssertionError("the Directory target reads before the Groups Settings target")
        if not declared(desired):
            return actual
        groups, ours = actual.state.groups, desired.workspace.ownership.id
        pending = load_pending(desired.tree.root).get("groups", {})
        wanted: set[str] = set()
        if everything:
            # Import: every group it may take, so new entries get their settings too.
            wanted = {e for e, g in groups.items() if g.owner in (None, ours)}
        for group in desired.state.groups.values():
            if not group.settings:
                continue
            primary, _ = find_by_address(
                group.email, group.previous_emails, actual.group_addresses, pending, groups
            )
            if primary is not None and groups[primary].owner in (None, ours):
                wanted.add(primary)
        for email, raw in read_settings(client, sorted(wanted)).items():
            held = {BY_API[k].key: BY_API[k].from_api(v) for k, v in raw.items() if k in BY_API}
            groups[email] = replace(groups[email], settings=held)
        return actual

    def verify(
        self, desired: Desired, client: GoogleClient, plan: Plan, again: Callable[[], Plan]
    ) -> None:
        """Nothing beyond the reads: a setting is a value, written whole."""

    def runner(self, plan: Plan, ctx: Context, run: Run) -> OneCallRunner:
        """Settings changes, a batch at a time, through the Groups Settings API's client."""
        fresh = {
            c.key for c in plan.changes if c.kind == "group" and c.action in ("create", "rename")
        }
        call = partial(settings_call, ctx.client, fresh)
        return OneCallRunner(ctx, run, ctx.client.settings, call)


def settings_call(client: GoogleClient, fresh: set[str], change: Change) -> Call:
    """The PATCH of the settings one change sets (`fresh`: the groups the plan creates or
    renames, which Google may not find yet)."""
    values = {BY_KEY[k].api: BY_KEY[k].check(fc.new) for k, fc in change.fields.items()}
    return update_call(client, change.key, values, change.key in fresh)
