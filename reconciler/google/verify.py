"""Verify a plan's creates against Google, key by key, before anyone sees or applies it.

Listings carry no totals: a users, groups or org units listing that ends early looks
exactly like a complete one, and the diff then plans to create what exists (a 409 at
apply, or worse, a second account next to the unlisted one found by a previous email).
So every planned CREATE is looked up by the keys the diff matched on:

- a user: `users.get` for its email and each previous email (users.get resolves aliases,
  as the diff's matching does);
- a group: `groups.get` for its email and each previous email (the same);
- an org unit: `orgunits.get` for its path.

A found resource means the listing was short: ShortReadError names what exists and
nothing is planned. 404 means truly absent. Any other answer aborts with its error.

Calls: one per key above, so one per planned create when no previous emails are written,
and zero when the plan creates nothing; sent through `GoogleClient.execute_all`, so they
are batched (`provider.batch_size` per round trip) and paced like every other call.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.google.client import Call, GoogleApiError, GoogleClient, Outcome
from reconciler.google.fetch import ShortReadError
from reconciler.plan.changes import Plan
from reconciler.state import Group, State, User

# Only what tells a hit from a miss: the answers are never used otherwise.
_FIELDS = {"user": "primaryEmail", "group": "email", "org_unit": "orgUnitPath"}
# Names of found resources shown in the error, at most.
SHOWN = 5
# About this many lookups are built and sent before the next ones: a first apply of a whole
# company creates every account, and all its requests at once would be held for nothing.
LOOKUPS_AT_ONCE = 1000


@dataclass(frozen=True)
class Lookup:
    """One key of one planned create."""

    kind: str  # user, group or org_unit
    created: str  # the key the plan creates
    key: str  # what is looked up: the created key itself or a previous email


def lookups(plan: Plan, desired: State) -> list[Lookup]:
    """Every key the plan's creates must be absent under, in plan order."""
    found: list[Lookup] = []
    for change in plan.changes:
        if change.action != "create":
            continue
        found.append(Lookup(change.kind, change.key, change.key))
        entry: User | Group | None = None
        if change.kind == "user":
            entry = desired.users.get(change.key)
        elif change.kind == "group":
            entry = desired.groups.get(change.key)
        # The diff also matches by previous emails: an unlisted account found by one would
        # otherwise get a second account next to it.
        for old in entry.previous_emails if entry is not None else ():
            found.append(Lookup(change.kind, change.key, old))
    return found


def verify_creates(client: GoogleClient, plan: Plan, desired: State, customer: str) -> int:
    """Look up every key of the plan's creates; ShortReadError if any exists, GoogleApiError
    if a lookup fails. Returns the number of lookups (calls) made."""
    wanted = lookups(plan, desired)
    existing: list[str] = []
    # Whole batches at a time, so slicing costs no extra round trip.
    at_once = max(1, LOOKUPS_AT_ONCE // client.batch_limit) * client.batch_limit
    for start in range(0, len(wanted), at_once):
        part = wanted[start : start + at_once]
        outcomes = client.execute_all([_call(client, w, customer) for w in part])
        for lookup, outcome in zip(part, outcomes, strict=True):
            if outcome.ok:
                existing.append(_describe(lookup, outcome))
            elif outcome.status != 404:
                raise GoogleApiError(
                    f"{outcome.call.label}: {outcome.error}; could not check that the planned "
                    f"create of {lookup.created} is new, so nothing is planned (run again)"
                )
    if existing:
        shown = "; ".join(existing[:SHOWN])
        more = f" (and {len(existing) - SHOWN} more)" if len(existing) > SHOWN else ""
        raise ShortReadError(
            f"the listings look incomplete: the plan would create what Google already has: "
            f"{shown}{more}; refusing to plan from a partial read (run again; if it "
            "persists, check the customer id and the admin's rights)"
        )
    return len(wanted)


def _call(client: GoogleClient, lookup: Lookup, customer: str) -> Call:
    fields = _FIELDS[lookup.kind]
    service = client.service
    if lookup.kind == "user":
        request = service.users().get(userKey=lookup.key, fields=fields)
    elif lookup.kind == "group":
        request = service.groups().get(groupKey=lookup.key, fields=fields)
    else:
        request = service.orgunits().get(
            customerId=customer, orgUnitPath=lookup.key.lstrip("/"), fields=fields
        )
    verb = {"user": "users", "group": "groups", "org_unit": "orgunits"}[lookup.kind]
    return Call(request, f"{verb}.get {lookup.key}")


def _describe(lookup: Lookup, outcome: Outcome) -> str:
    kind = lookup.kind.replace("_", " ")
    found = (outcome.body or {}).get(_FIELDS[lookup.kind]) or lookup.key
    text = f"{kind} {lookup.created} exists"
    if lookup.key != lookup.created:
        text += f" under its previous email {lookup.key}"
    if found.lower() != lookup.key.lower():
        text += f" (as {found})"
    return text + " but was not listed"
