"""Opening the provider a state directory names: the embedded emulator or Google."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.apply.pending import load_pending
from reconciler.desired import Desired
from reconciler.google.client import ENDPOINT_ENV, GoogleClient
from reconciler.google.domains import check_domains, read_domains
from reconciler.google.fetch import Actual, fetch_actual
from reconciler.google.verify import Found, find_existing, settle_found
from reconciler.plan.changes import Plan
from reconciler.plan.diff import make_plan
from reconciler.plan.safety import UnmatchedProtected
from reconciler.problems import InvalidInput, Problem
from reconciler.state import Group


@contextmanager
def google_session(desired: Desired, *, read_only: bool) -> Iterator[GoogleClient]:
    """A client for the directory's provider. With `provider.kind: emulator` and no
    RECONCILER_GOOGLE_ENDPOINT, an in-process emulator serves the directory's tenant."""
    ws, root = desired.workspace, desired.tree.root
    if ws.provider.kind == "emulator":
        provider = ws.provider.as_google()  # reached over loopback, as if it were Google
        if not os.environ.get(ENDPOINT_ENV):
            from reconciler.emulator.embedded import open_embedded

            with open_embedded(root, ws) as server:
                url = server.start()
                # Delegation acts as the tenant's first super admin, as it would in Google
                # (an emulator provider names no admin_subject: that is a Google setting); a
                # tenant without one is called by the service account itself.
                admin = server.first_super_admin()
                if admin is not None:
                    provider = provider.model_copy(update={"admin_subject": admin})
                yield GoogleClient.connect(provider, root, read_only=read_only, endpoint=url)
            return
    else:
        provider = ws.provider
    yield GoogleClient.connect(provider, root, read_only=read_only)


def read_actual(desired: Desired, client: GoogleClient, all_groups: bool = False) -> Actual:
    """The tenant as Google holds it, members read only for the groups Git manages (or for
    every group, with `all_groups`)."""
    ws = desired.workspace
    addresses: set[str] = set()
    for group in desired.state.groups.values():
        addresses.add(group.email)
        addresses.update(group.aliases or ())
        addresses.update(group.previous_emails)
    # A group whose rename an earlier apply began is still at its old address.
    addresses.update(load_pending(desired.tree.root).get("groups", {}).values())

    def managed(group: Group) -> bool:
        if all_groups:
            return True
        if group.owner not in (None, ws.ownership.id):
            return False  # another repository's: left alone, its members not needed
        return group.email in addresses or any(a in addresses for a in group.aliases or ())

    reads_groups = ws.directory.group_management or all_groups
    return fetch_actual(
        client,
        customer=ws.directory.customer,
        domains=ws.directory.domains,
        managed_groups=managed if reads_groups else None,
    )


def plan_for(desired: Desired, client: GoogleClient) -> tuple[Plan, Actual]:
    """Read the tenant and compute the plan: plan, report, apply DIR and apply PLAN.json
    all come here, so none can act on a domain the tenant lacks or on a partial read.

    Calls beyond the read (fetch.py): one `domains.list` first (cheap, and a missing
    domain is refused before the big read), then one lookup per key of each planned
    create (verify.py; none when nothing is created). A create that a lookup finds is
    waited for, as listings lag writes: its listings are read again until they show it,
    then the whole read, diff and lookups are made again (verify.settle_found)."""
    customer = desired.workspace.directory.customer
    check_domains(desired, read_domains(client, customer))
    made: list[tuple[Plan, Actual]] = []

    def again() -> list[Found]:
        actual = read_actual(desired, client)
        plan = _diff(desired, actual)
        made.append((plan, actual))
        return find_existing(client, plan, desired.state, customer)[0]

    settle_found(client, customer, again(), again)
    plan, actual = made[-1]
    if not actual.marker_schema:
        plan.notes.append(
            "the ownership schema does not exist yet: apply creates it before marking accounts"
        )
    return plan, actual


def _diff(desired: Desired, actual: Actual) -> Plan:
    pending = load_pending(desired.tree.root)
    try:
        return make_plan(desired.state, actual.state, desired.workspace, pending)
    except UnmatchedProtected as exc:
        ws = desired.tree.workspace_source
        raise InvalidInput(
            Problem(ws.path, ws.line_of("protected", u.index), u.message) for u in exc.unmatched
        ) from None
