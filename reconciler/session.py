"""Opening the provider a state directory names: the embedded emulator or Google."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import replace

from reconciler import clock
from reconciler.apply.pending import load_pending
from reconciler.desired import Desired
from reconciler.google.client import ENDPOINT_ENV, GoogleClient
from reconciler.google.fetch import Actual
from reconciler.plan.diff import make_plan
from reconciler.plan.plan import Plan
from reconciler.plan.safety import UnmatchedProtected
from reconciler.problems import InvalidInput, Problem
from reconciler.registry import TARGETS
from reconciler.scope import git_bases, restrict, safety_bases
from reconciler.settings import GoogleProvider


@contextmanager
def google_session(
    desired: Desired, *, read_only: bool, offboarding: bool = False
) -> Iterator[GoogleClient]:
    """A client for the directory's provider. With `provider.kind: emulator` and no
    RECONCILER_GOOGLE_ENDPOINT, an in-process emulator serves the directory's tenant. Every
    target then opens what it needs beyond it, in the registry's order (with an `entra:`
    block, a Microsoft Graph connection: `client.graph`), closed in the reverse order.
    `offboarding`: with offboarding's scopes even when nothing configures it (report)."""
    with (
        _google(desired, read_only=read_only, offboarding=offboarding) as client,
        ExitStack() as opened,
    ):
        for target in TARGETS:
            opened.enter_context(target.connect(desired, client))
        yield client


def scope_flags(desired: Desired, offboarding: bool = False) -> dict[str, bool]:
    """The scopes the targets ask of Google's credentials (GoogleClient.connect's and
    credentials.scopes' flags); `offboarding`: offboarding's reads whatever is configured
    (report --credentials)."""
    flags = {name: on for target in TARGETS for name, on in target.scopes(desired).items()}
    if offboarding:
        flags["offboarding"] = True
    return flags


@contextmanager
def google_provider(desired: Desired) -> Iterator[tuple[GoogleProvider, str | None]]:
    """The provider settings Google's credentials are made from, and the endpoint to reach
    (None: Google, or RECONCILER_GOOGLE_ENDPOINT, which GoogleClient.connect reads). With
    `provider.kind: emulator` and no RECONCILER_GOOGLE_ENDPOINT, an in-process emulator
    serves the directory's tenant while the context lasts."""
    ws, root = desired.workspace, desired.tree.root
    if ws.provider.kind != "emulator":
        yield ws.provider, None
        return
    provider = ws.provider.as_google()  # reached over loopback, as if it were Google
    if os.environ.get(ENDPOINT_ENV):
        yield provider, None
        return
    from reconciler.emulator.embedded import open_embedded

    with open_embedded(root, ws) as server:
        url = server.start()
        # Delegation acts as the tenant's first super admin, as it would in Google (an
        # emulator provider names no admin_subject: that is a Google setting); a tenant
        # without one is called by the service account itself.
        admin = server.first_super_admin()
        if admin is not None:
            provider = provider.model_copy(update={"admin_subject": admin})
        yield provider, url


@contextmanager
def _google(desired: Desired, *, read_only: bool, offboarding: bool) -> Iterator[GoogleClient]:
    scopes = scope_flags(desired, offboarding)
    with google_provider(desired) as (provider, endpoint):
        at = {"endpoint": endpoint} if endpoint else {}  # None: GoogleClient.connect's own
        yield GoogleClient.connect(provider, desired.tree.root, read_only=read_only, **at, **scopes)


def read_actual(desired: Desired, client: GoogleClient, everything: bool = False) -> Actual:
    """The tenant as the targets hold it, each reading its part in turn; with `everything`,
    what Git does not manage too (import). For a targeted plan (`desired.scope`), the scope
    only; the safety limits' percentages are then of what Git holds (`git_bases`)."""
    desired_full = desired
    actual: Actual | None = None
    for target in TARGETS:
        actual = target.read(desired, client, actual, everything=everything)
        if desired.scope is not None and not everything:
            # The Directory read widened the scope: the targets after it read for it only.
            desired = restricted(desired)
    assert actual is not None  # TARGETS is never empty (registry.py)
    if desired.scope is not None and not everything:
        now = git_bases(desired_full.state)
        actual.state.bases = safety_bases(now, desired.scope.bases_then)
        desired.scope.calls = actual.calls
    return actual


def restricted(desired: Desired) -> Desired:
    """`desired` with its State restricted to its scope (a targeted plan's Git side)."""
    return replace(desired, state=restrict(desired.state, desired.scope))


def plan_for(desired: Desired, client: GoogleClient) -> tuple[Plan, Actual]:
    """Read the tenant and compute the plan: plan, report, apply DIR and apply PLAN.json
    all come here, so none can act on a domain the tenant lacks or on a partial read.

    Each target checks first what it must before the read (the Directory: its domains),
    then all read, the plan is made, and each target verifies it (the Directory: every
    planned create looked up by key). A target that finds the read was behind makes the
    read and the plan again (`again`), and every target verifies that plan in turn."""
    for target in TARGETS:
        target.check(desired, client)
    made: list[tuple[Plan, Actual]] = []

    def again() -> Plan:
        actual = read_actual(desired, client)
        made.append((_diff(desired, actual), actual))
        return made[-1][0]

    again()
    # A target's verify returns once the newest plan passed it; a newer plan (another
    # target's `again`) is verified by the others anew.
    verified: dict[str, int] = {}
    while any(verified.get(target.name) != len(made) for target in TARGETS):
        for target in TARGETS:
            if verified.get(target.name) != len(made):
                target.verify(desired, client, made[-1][0], again)
                verified[target.name] = len(made)
    plan, actual = made[-1]
    if desired.scope is not None:
        plan.scope = desired.scope.summary()
    if not actual.marker_schema:
        plan.notes.append(
            "the ownership schema does not exist yet: apply creates it before marking accounts"
        )
    return plan, actual


def _diff(desired: Desired, actual: Actual) -> Plan:
    if desired.scope is not None:
        desired = restricted(desired)
    pending = load_pending(desired.tree.root)
    try:
        return make_plan(desired.state, actual.state, desired.workspace, pending, clock.now())
    except UnmatchedProtected as exc:
        ws = desired.tree.workspace_source
        raise InvalidInput(
            Problem(ws.path, ws.line_of("protected", u.index), u.message) for u in exc.unmatched
        ) from None
