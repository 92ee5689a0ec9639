"""Verify a plan's creates against Google, key by key, before anyone sees or applies it.

Listings carry no totals: a users, groups or org units listing that ends early looks
exactly like a complete one, and the diff then plans to create what exists (a 409 at
apply, or worse, a second account next to the unlisted one found by a previous email).
So every planned CREATE is looked up by the keys the diff matched on:

- a user: `users.get` for its email and each previous email (users.get resolves aliases,
  as the diff's matching does);
- a group: `groups.get` for its email and each previous email (the same);
- an org unit: `orgunits.get` for its path.

A found resource means the listing was short, or behind: Google's listings lag its writes
by seconds (docs/emulator.md, "Eventual consistency beyond creates"), so right after an
apply, a unit or an account in no group Git manages is found by a get yet not listed, with
nothing else in the read to disagree. Before refusing, the plan waits and reads again
(session.plan_for, `settle_found`): the listings of what was found, after 0.25 s, 0.5 s,
1 s ... (RetryPolicy.settle_delays, 30 s in all by default), and once they list it, the
whole read again, diffed and verified anew. What is still found when the time is spent is
refused: ShortReadError names what exists and nothing is planned. 404 means truly absent.
Any other answer aborts with its error.

Calls: one per key above, so one per planned create when no previous emails are written,
and zero when the plan creates nothing; sent through `GoogleClient.execute_all`, so they
are batched (`provider.batch_size` per round trip) and paced like every other call. Only
when something is found: the listings of its kinds once per wait, and the read again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from reconciler.google.client import Call, GoogleApiError, GoogleClient, Outcome
from reconciler.google.fetch import GROUPS_PAGE, USERS_PAGE, ShortReadError, list_pages
from reconciler.plan.plan import Plan
from reconciler.progress import Progress
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
        # The Directory's creates: another target verifies its own (Entra ID's groups).
        if change.action != "create" or change.kind not in _FIELDS:
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


@dataclass(frozen=True)
class Found:
    """A key of a planned create that Google has."""

    lookup: Lookup
    name: str  # how Google names what it found: primary email, group email, unit path

    def describe(self) -> str:
        kind = self.lookup.kind.replace("_", " ")
        text = f"{kind} {self.lookup.created} exists"
        if self.lookup.key != self.lookup.created:
            text += f" under its previous email {self.lookup.key}"
        if self.name.lower() != self.lookup.key.lower():
            text += f" (as {self.name})"
        return text + " but was not listed"


def verify_creates(client: GoogleClient, plan: Plan, desired: State, customer: str) -> int:
    """Look up every key of the plan's creates; ShortReadError if any exists, GoogleApiError
    if a lookup fails. Returns the number of lookups (calls) made."""
    found, asked = find_existing(client, plan, desired, customer)
    if found:
        raise refusal(found)
    return asked


def find_existing(
    client: GoogleClient, plan: Plan, desired: State, customer: str
) -> tuple[list[Found], int]:
    """The keys of the plan's creates that Google has, and the number of lookups made;
    GoogleApiError if a lookup fails."""
    wanted = lookups(plan, desired)
    existing: list[Found] = []
    # Whole batches at a time, so slicing costs no extra round trip.
    at_once = max(1, LOOKUPS_AT_ONCE // client.batch_limit) * client.batch_limit
    for start in range(0, len(wanted), at_once):
        part = wanted[start : start + at_once]
        outcomes = client.execute_all([_call(client, w, customer) for w in part])
        for lookup, outcome in zip(part, outcomes, strict=True):
            if outcome.ok:
                existing.append(Found(lookup, _name(lookup, outcome)))
            elif outcome.status != 404:
                raise GoogleApiError(
                    f"{outcome.call.label}: {outcome.error}; could not check that the planned "
                    f"create of {lookup.created} is new, so nothing is planned (run again)"
                )
    return existing, len(wanted)


def refusal(found: list[Found], waited: float = 0.0) -> ShortReadError:
    """The error for creates of what Google has (after `waited` s of reading again)."""
    described = [f.describe() for f in found]
    shown = "; ".join(described[:SHOWN])
    more = f" (and {len(described) - SHOWN} more)" if len(described) > SHOWN else ""
    after = (
        f" (still so after reading again for {waited:.1f} s, in case listings were behind "
        "recent writes)"
        if waited
        else ""
    )
    return ShortReadError(
        f"the listings look incomplete: the plan would create what Google already has: "
        f"{shown}{more}; refusing to plan from a partial read (run again; if it "
        f"persists, check the customer id and the admin's rights){after}"
    )


def settle_found(
    client: GoogleClient,
    customer: str,
    found: list[Found],
    again: Callable[[], list[Found]],
    progress: Callable[[str], Progress] = Progress,
) -> None:
    """Wait for the listings to show what the lookups `found`, reading them again after each
    of the retry policy's settle_delays; once they list it all, `again()` (the whole read,
    diff and lookups made anew) says what is found now. Returns when nothing is; raises
    ShortReadError (`refusal`) when the time is spent first."""
    waits = client.retry.settle_delays()
    waited = 0.0
    while found:
        wait = next(waits, None)
        if wait is None:
            raise refusal(found, waited)
        shown = progress("Listings disagree")
        summary = ", ".join(f"{f.lookup.kind.replace('_', ' ')} {f.name}" for f in found[:3])
        more = f" and {len(found) - 3} more" if len(found) > 3 else ""
        shown.note(f"{summary}{more} found by a get but not listed; reading again in {wait:.2f} s")
        client.retry.sleep(wait)
        waited += wait
        if listed(client, customer, found):
            found = again()


def listed(client: GoogleClient, customer: str, found: list[Found]) -> bool:
    """Whether the listings now show everything in `found`: one listing read per kind."""
    names: dict[str, set[str]] = {}
    for kind in dict.fromkeys(f.lookup.kind for f in found):
        names[kind] = {name.lower() for name in _listing(client, customer, kind)}
    return all(f.name.lower() in names[f.lookup.kind] for f in found)


# kind -> (the listing's collection, the field that names an item in it)
_LISTED_AS = {
    "user": ("users", "primaryEmail"),
    "group": ("groups", "email"),
    "org_unit": ("organizationUnits", "orgUnitPath"),
}


def _listing(client: GoogleClient, customer: str, kind: str):
    """The names a listing of one kind shows: primary emails, group emails or unit paths."""
    collection, name = _LISTED_AS[kind]
    if kind == "org_unit":  # one answer, no pages
        units = client.service.orgunits()

        def request(_token):
            return units.list(customerId=customer, type="all", fields=f"{collection}({name})")

    else:
        resource = getattr(client.service, collection)()
        page = USERS_PAGE if kind == "user" else GROUPS_PAGE

        def request(token):
            return resource.list(
                customer=customer,
                maxResults=page,
                pageToken=token,
                fields=f"nextPageToken,{collection}({name})",
            )

    return (item.get(name, "") for item in list_pages(client, request, collection))


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


def _name(lookup: Lookup, outcome: Outcome) -> str:
    return (outcome.body or {}).get(_FIELDS[lookup.kind]) or lookup.key
