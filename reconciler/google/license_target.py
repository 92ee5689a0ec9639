"""The Licensing API (Enterprise License Manager) as a target: the licenses of
`licenses.product` (README, "Licenses").

Without a `licenses:` block it reads nothing and asks for no scope. With one, it reads every
assignment of the product (google/licensing.py, listForProduct page by page: a chain of pages
that does not end cleanly is refused, never planned from) after the Directory is read, and
applies the plan's license changes a batch at a time through the Licensing API's own batch
endpoint. Nothing needs checking before the read or verifying after the diff: the
assignments are read whole, and a write Google finds already done counts as done.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial
from typing import TYPE_CHECKING

from reconciler.apply.context import Context
from reconciler.google.call_runner import OneCallRunner
from reconciler.google.client import Call, GoogleClient
from reconciler.google.fetch import Actual
from reconciler.google.licensing import (
    assign_call,
    customer_id,
    list_assignments,
    reassign_call,
    revoke_call,
)
from reconciler.plan.change import Change
from reconciler.plan.kinds import LicenseChange
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError
from reconciler.target import Run

if TYPE_CHECKING:
    from reconciler.desired import Desired


class LicensingTarget:
    name = "licensing"
    change_types: tuple[type[Change], ...] = (LicenseChange,)

    def scopes(self, desired: Desired) -> dict[str, bool]:
        """The Licensing API's scope, only with a `licenses:` block."""
        return {"licenses": desired.workspace.licenses is not None}

    def connect(self, desired: Desired, client: GoogleClient) -> AbstractContextManager[None]:
        return nullcontext()

    def check(self, desired: Desired, client: GoogleClient) -> None:
        """Nothing to refuse before the read: the loader validated every SKU."""

    def read(
        self, desired: Desired, client: GoogleClient, actual: Actual | None, *, everything: bool
    ) -> Actual:
        """The product's assignments, on the Directory's read; none without a block."""
        if actual is None:
            raise AssertionError("the Directory target reads before the Licensing target")
        licenses = desired.workspace.licenses
        if licenses is not None:
            customer = customer_id(client, desired.workspace.directory.customer, actual)
            actual.state.licenses = list_assignments(client, licenses.product, customer)
        return actual

    def verify(
        self, desired: Desired, client: GoogleClient, plan: Plan, again: Callable[[], Plan]
    ) -> None:
        """Nothing beyond the listing: an assignment found done on apply counts as done."""

    def runner(self, plan: Plan, ctx: Context, run: Run) -> OneCallRunner:
        """License changes, a batch at a time, through the Licensing API's client."""
        return OneCallRunner(ctx, run, ctx.client.licenses, partial(license_call, ctx.client))


def license_call(client: GoogleClient, change: Change) -> Call:
    """The Licensing API call that makes one license change (an action it does not know is
    an error, never taken for a revocation)."""
    assert isinstance(change, LicenseChange)
    sku = change.fields["sku"]
    match change.action:
        case "assign_license":
            return assign_call(client, change.product, sku.new, change.key)
        case "change_license":
            return reassign_call(client, change.product, sku.old, sku.new, change.key)
        case "revoke_license":
            return revoke_call(client, change.product, sku.old, change.key)
        case action:
            raise ReconcilerError(f"license of {change.key}: no Licensing call for {action!r}")
