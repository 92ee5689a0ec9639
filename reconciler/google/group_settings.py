"""The Groups Settings API (groupssettings v1): read groups' settings, and change some.

Calls run through `client.settings` (GoogleClient.settings): the same connection,
credentials, pacing (one quota) and retries as the Directory's, batched at the Groups
Settings API's own batch URL (`batch/groupssettings/v1`). Its scope (`apps.groups.settings`,
for reads and writes alike) is asked for only by a client connected with
`group_settings=True`. A group is named by its primary address: Google takes no unique id
(GAM), and the emulator no alias either.

    found = read_settings(client, ["eng@example.com", "ops@example.com"])
    outcome = client.settings.execute(update_call(client, "eng@example.com",
                                                  {"whoCanJoin": "INVITED_CAN_JOIN"}, False))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.google.client import Call, GoogleClient
from reconciler.google.fetch import MalformedAnswer, ShortReadError
from reconciler.group_settings_fields import BY_API

# Fields of the Groups resource that are not settings: the resource's kind, and the group's
# address, name and description (the Directory API's).
NOT_SETTINGS = frozenset({"kind", "email", "name", "description"})


def read_settings(client: GoogleClient, emails: list[str]) -> dict[str, dict[str, str]]:
    """Every group's settings as the API answers them: lower-case email -> API name ->
    value, every string-valued field but the kind, address, name and description (booleans
    stay the strings "true"/"false").

    One groups.get per group, in batches. A read that fails (after the client's retries)
    raises ShortReadError naming each group whose read failed, whatever the others gave: a
    plan made from part of the settings could change what it did not read. MalformedAnswer
    for an answer without the resource's shape."""
    api = client.settings
    wanted = list(dict.fromkeys(e.strip().lower() for e in emails))
    calls = [
        Call(api.service.groups().get(groupUniqueId=email), f"groupsSettings.get {email}")
        for email in wanted
    ]
    outcomes = api.execute_all(calls)
    failed = [(email, o.error) for email, o in zip(wanted, outcomes, strict=True) if not o.ok]
    if failed:
        named = "; ".join(f"{email}: {error}" for email, error in failed)
        raise ShortReadError(
            f"groupsSettings.get failed for {len(failed)} of {len(wanted)} groups ({named}): "
            "refusing to act on part of the group settings"
        )
    found: dict[str, dict[str, str]] = {}
    for email, outcome in zip(wanted, outcomes, strict=True):
        found[email] = _settings(outcome.body, email)
    return found


def _settings(body: Any, email: str) -> dict[str, str]:
    label = f"groupsSettings.get {email}"
    if not isinstance(body, dict) or not isinstance(body.get("email"), str):
        raise MalformedAnswer(f"{label}: the answer is no Groups resource")
    if body["email"].lower() != email:
        raise MalformedAnswer(f"{label}: the answer is about {body['email']}")
    return {
        name: value
        for name, value in body.items()
        if name not in NOT_SETTINGS and isinstance(value, str)
    }


def update_call(
    client: GoogleClient, email: str, values: Mapping[str, str], after_create: bool
) -> Call:
    """A groups.patch of `email` that sets `values` (API name -> the API's string) and
    nothing else; `after_create`: the group was created moments ago, earlier in this run, so
    a 404 means "not found yet" (Google answers so until a new group settles; GAM retries
    the same way) and is tried again, not taken for a failure.

    PATCH, not GAM's read, merge and PUT: GAM writes the whole resource because of Google
    issue 32460496 (GamUpdate 4.44.47), a problem with partial updates that Google has not
    described publicly. The discovery document gives patch the semantics of a partial
    update, which the emulator follows; a PATCH touches only the fields Git manages, where a
    PUT would send back every other setting as read, undoing a change made in between.
    ValueError for a name that is no setting Git may set."""
    unknown = sorted(set(values) - set(BY_API))
    if unknown:
        raise ValueError(f"not group settings: {', '.join(unknown)}")
    address = email.strip().lower()
    request = client.settings.service.groups().patch(groupUniqueId=address, body=dict(values))
    return Call(request, f"groupsSettings.patch {address}", after_create=after_create)
