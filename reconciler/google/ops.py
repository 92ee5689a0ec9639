"""Write operations: one function per kind of change, each returning a Call to run alone or
in a batch (GoogleClient.execute / execute_all).

Idempotent where Google allows, so a retry after a lost answer, or a rerun after a crash,
never fails on work already done: adding a member that is there, removing one that is gone,
deleting what is deleted count as done; an insert that answers "already exists" on a retry
(its first attempt succeeded, the answer was lost) counts as done too, as does a restore
that no longer finds the deleted account on a retry. `after_create` marks a call on
something created (or renamed to that address) moments ago, so "not found yet" is retried,
not reported, nor taken for "already gone".

Google's answers on those paths are not all 404 and 409 (GAM's error tables handle them;
docs/emulator.md, "Error shapes on idempotent paths"): an org unit insert whose unit exists
is 400 invalidOrgunit or 503 backendError; removing someone who is not a member is 400
required "Missing required field: memberKey", or 412; removing an alias that is not one is
400 "Invalid Input: resource_id"; a 409 on a member insert may be a pending invitation, not a
membership. Where the shape alone proves nothing, a read decides: only what is verifiably
done counts as done.

An alias insert answered "already exists" is done when the account (or group) it is for
holds the address, read afresh (`holds_alias`): a write of an earlier run that was on its
way when that run was killed can land after this run read Google, and Google answers 409
for an address anyone holds, its own owner included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.google.client import Call, GoogleApiError, GoogleClient
from reconciler.google.mapping import user_body
from reconciler.google.marker import (
    ONBOARDING_PENDING,
    PASSWORD_CHANGE_AT,
    SCHEMA,
    SIGNED_OUT_AT,
    SUSPENDED_AT,
    marked_group_description,
    marker_patch,
    pending_patch,
    record_patch,
    schema_body,
    schema_fields,
)
from reconciler.google.retry import NOT_READY_MESSAGES
from reconciler.problems import ReconcilerError
from reconciler.state import USER_ATTRIBUTES, Group, OrgUnit, User, created_fields

ALREADY_GONE = {404: "already gone"}


@dataclass
class AliasClaim(Call):
    """An alias insert: on `409 duplicate`, ask whether `owner` holds `alias` already."""

    owner_kind: str = "user"
    owner: str = ""
    alias: str = ""


def holds_alias(client: GoogleClient, kind: str, owner: str, alias: str) -> bool:
    """Whether the user or group `owner` holds `alias` now (a fresh read; False if the read
    fails, so a real conflict is never taken for done)."""
    if kind == "user":
        request = client.service.users().aliases().list(userKey=owner)
    else:
        request = client.service.groups().aliases().list(groupKey=owner)
    outcome = client.execute(Call(request, f"{kind}s.aliases.list {owner}"))
    if not outcome.ok or not isinstance(outcome.body, dict):
        return False
    held = {str(a.get("alias", "")).lower() for a in outcome.body.get("aliases", ())}
    return alias.lower() in held


def _retried_duplicate(what: str) -> dict[int, str]:
    return {409: f"{what} already exists (created by an earlier attempt)"}


def _gone_unless_new(after_create: bool) -> dict[int, str]:
    """404 means "already gone", except about something created or renamed moments ago,
    whose address may not find it yet."""
    return {} if after_create else ALREADY_GONE


def _alias_gone(status: int, _reason: str, message: str, _maybe_done: bool) -> str | None:
    # Google's answer for an alias its owner does not have (GAM: invalidResource).
    if status == 400 and "invalid input: resource" in message.lower():
        return "already gone"
    return None


def _found(client: GoogleClient, request: Any, label: str) -> bool | None:
    """Whether a get finds its resource: True, False (404), None (it could not tell)."""
    outcome = client.execute(Call(request, label))
    if outcome.ok:
        return True
    return False if outcome.status == 404 else None


# -- users -----------------------------------------------------------------------------------


def create_user(
    client: GoogleClient, user: User, ownership_id: str, password: str, pending: str | None = None
) -> Call:
    """Insert a user, marked as ours, who must change `password` at first login; `pending`:
    the way its sign-in message goes, recorded on the marker until it is sent."""
    attrs = {
        name: value
        for name, value in created_fields(user).items()
        # The name goes in separately: Google requires both parts on insert; aliases after.
        if name not in ("given_name", "family_name", "aliases") and name in USER_ATTRIBUTES
    }
    body = user_body(attrs)
    body.update(
        primaryEmail=user.email,
        name={"givenName": user.given_name, "familyName": user.family_name},
        password=password,
        changePasswordAtNextLogin=True,
        suspended=user.suspended,
        **marker_patch(ownership_id),
    )
    if pending:
        body["customSchemas"][SCHEMA][ONBOARDING_PENDING] = pending
    request = client.service.users().insert(body=body, fields="id,primaryEmail")
    # The label names the account, never the password.
    return Call(request, f"users.insert {user.email}", done_on_retry=_retried_duplicate("user"))


def update_user(
    client: GoogleClient,
    email: str,
    changes: dict[str, Any],
    current: User | None = None,
    after_create: bool = False,
) -> Call:
    """Set the attributes in `changes` (State names), keeping list entries Git doesn't manage."""
    body = user_body(changes, current)
    # users.update, not patch: patch cannot clear a list (the last phone, the manager).
    # Both keep the fields a body leaves out.
    request = client.service.users().update(userKey=email, body=body, fields="id")
    return Call(
        request, f"users.update {email} ({', '.join(sorted(changes))})", after_create=after_create
    )


def rename_user(client: GoogleClient, old_email: str, new_email: str) -> Call:
    """Change the primary email; Google keeps the old address as an alias."""
    request = client.service.users().patch(
        userKey=old_email, body={"primaryEmail": new_email}, fields="id"
    )
    return Call(request, f"users.patch {old_email} (rename to {new_email})")


def adopt_user(
    client: GoogleClient, email: str, ownership_id: str, after_create: bool = False
) -> Call:
    """Mark an existing account as managed by this repository."""
    request = client.service.users().patch(
        userKey=email, body=marker_patch(ownership_id), fields="id"
    )
    return Call(request, f"users.patch {email} (adopt)", after_create=after_create)


def suspend_user(
    client: GoogleClient, email: str, after_create: bool = False, when: str | None = None
) -> Call:
    """Suspend the account and, in the same patch, record `when` on its marker
    (suspendedAt: delete_after_days counts from it)."""
    body: dict[str, Any] = {"suspended": True}
    if when is not None:
        body.update(record_patch(SUSPENDED_AT, when))
    request = client.service.users().patch(userKey=email, body=body, fields="id")
    return Call(request, f"users.patch {email} (suspend)", after_create=after_create)


# -- offboarding and security ----------------------------------------------------------------


def sign_out_user(client: GoogleClient, email: str) -> Call:
    """End the account's web and device sessions (users.signOut; repeating it is harmless)."""
    request = client.service.users().signOut(userKey=email)
    return Call(request, f"users.signOut {email}")


def record_signed_out(client: GoogleClient, email: str, when: str) -> Call:
    body = record_patch(SIGNED_OUT_AT, when)
    request = client.service.users().patch(userKey=email, body=body, fields="id")
    return Call(request, f"users.patch {email} (signedOutAt {when})")


def require_password_change(client: GoogleClient, email: str, when: str) -> Call:
    """The account must change its password at its next login; `when` goes on its marker."""
    body = {"changePasswordAtNextLogin": True, **record_patch(PASSWORD_CHANGE_AT, when)}
    request = client.service.users().patch(userKey=email, body=body, fields="id")
    return Call(request, f"users.patch {email} (changePasswordAtNextLogin)")


def revoke_token(client: GoogleClient, email: str, client_id: str) -> Call:
    request = client.service.tokens().delete(userKey=email, clientId=client_id)
    return Call(request, f"tokens.delete {email} {client_id}", done_statuses=ALREADY_GONE)


def delete_asp(client: GoogleClient, email: str, code_id: str) -> Call:
    request = client.service.asps().delete(userKey=email, codeId=int(code_id))
    return Call(request, f"asps.delete {email} {code_id}", done_statuses=ALREADY_GONE)


def invalidate_backup_codes(client: GoogleClient, email: str) -> Call:
    request = client.service.verificationCodes().invalidate(userKey=email)
    return Call(request, f"verificationCodes.invalidate {email}")


def applications(client: GoogleClient, customer: str) -> list[dict[str, Any]]:
    """The applications whose data the Data Transfer API moves (applications.list)."""
    api = client.transfers.service.applications()
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        request = api.list(customerId=customer, pageToken=token)
        body = client.transfers.must(Call(request, "applications.list")) or {}
        found += [a for a in body.get("applications", []) if isinstance(a, dict)]
        token = body.get("nextPageToken")
        if not token:
            return found


# What a transfer moves: Drive (the files the person owns, shared and private) and Calendar
# (their events; the resources they booked are released). Google's names and parameters
# (Data Transfer API, "Transfer parameters").
TRANSFERRED_APPLICATIONS: dict[str, list[dict[str, Any]]] = {
    "drive and docs": [{"key": "PRIVACY_LEVEL", "value": ["SHARED", "PRIVATE"]}],
    "calendar": [{"key": "RELEASE_RESOURCES", "value": ["TRUE"]}],
}


APPLICATION_NAMES = {"drive and docs": "Drive and Docs", "calendar": "Calendar"}


class TransferRefused(ReconcilerError):
    """A transfer that would leave data behind is not requested: its change fails."""


class NotifyRefused(ReconcilerError):
    """A sign-in message that cannot be sent (no password from this run): its change fails."""


def reset_password(client: GoogleClient, email: str, password: str, after_create: bool) -> Call:
    """A new password for an account whose sign-in message was never sent; it must be
    changed at the next login. The label never holds the password."""
    body = {"password": password, "changePasswordAtNextLogin": True}
    request = client.service.users().patch(userKey=email, body=body, fields="id")
    return Call(request, f"users.patch {email} (password reset)", after_create=after_create)


def sent_sign_in(client: GoogleClient, email: str, after_create: bool) -> Call:
    """The account's sign-in message went: its marker no longer says one waits."""
    request = client.service.users().patch(userKey=email, body=pending_patch(""), fields="id")
    return Call(
        request, f"users.patch {email} ({ONBOARDING_PENDING} cleared)", after_create=after_create
    )


def send_message(mailer: GoogleClient, raw: str, recipient: str, account: str) -> Call:
    """Send the message `raw` (base64url RFC 2822) as the mailer's subject (Gmail API,
    users.messages.send). The label names the account and the recipient, never the text."""
    request = mailer.service.users().messages().send(userId="me", body={"raw": raw})
    label = f"users.messages.send {account}'s sign-in details to {recipient}"
    # A send whose answer is lost is not sent again: the account's mark stays, and the next
    # apply resets the password and sends one message with the new one.
    return Call(request, label, once=True)


def transfer_data(
    client: GoogleClient,
    email: str,
    old_owner_id: str,
    recipient: str,
    new_owner_id: str,
    apps: list[dict[str, Any]],
) -> Call:
    """Request the transfer of the account's Drive and Calendar data to `recipient`; refused
    (TransferRefused) when applications.list lacks either: a transfer without it would
    complete, the delete would follow, and that data would go with the account."""
    chosen = [
        {"applicationId": a["id"], "applicationTransferParams": params}
        for a in apps
        for name, params in TRANSFERRED_APPLICATIONS.items()
        if str(a.get("name", "")).lower() == name and a.get("id")
    ]
    listed = {str(a.get("name", "")).lower() for a in apps if a.get("id")}
    missing = [name for name in TRANSFERRED_APPLICATIONS if name not in listed]
    if missing:
        names = " and ".join(f"'{APPLICATION_NAMES[m]}'" for m in missing)
        raise TransferRefused(
            f"transfer_data {email}: the Data Transfer API lists no application named {names} "
            "(applications.list), so its data cannot all be transferred; nothing is requested, "
            "and the account is not deleted while no transfer of it completes"
        )
    body = {
        "oldOwnerUserId": old_owner_id,
        "newOwnerUserId": new_owner_id,
        "applicationDataTransfers": chosen,
    }
    request = client.transfers.service.transfers().insert(body=body)
    return Call(request, f"transfers.insert {email} -> {recipient}")


def unsuspend_user(client: GoogleClient, email: str, after_create: bool = False) -> Call:
    """Lift a suspension; one Google imposed (e.g. for abuse) fails with adminCannotUnsuspend."""
    request = client.service.users().patch(userKey=email, body={"suspended": False}, fields="id")
    return Call(request, f"users.patch {email} (unsuspend)", after_create=after_create)


def delete_user(client: GoogleClient, email: str) -> Call:
    request = client.service.users().delete(userKey=email)
    return Call(request, f"users.delete {email}", done_statuses=ALREADY_GONE)


def undelete_user(client: GoogleClient, user_id: str, email: str, org_unit: str | None) -> Call:
    """Restore a deleted user (by its immutable id: the address may be someone else's by
    now) into `org_unit` (None: the root). It comes back with its aliases, attributes and
    marker, without its group memberships.

    A retry after a lost answer finds the account live, no longer among the deleted ones:
    that counts as done. The emulator answers it 404; Google 412 conditionNotMet with a
    message naming the undelete (GAM reads that as "deleted user not found")."""
    request = client.service.users().undelete(
        userKey=user_id, body={"orgUnitPath": org_unit or "/"}
    )
    restored = "restored by an earlier attempt"
    return Call(
        request,
        f"users.undelete {email} (id {user_id})",
        done_on_retry={404: restored, 412: restored},
    )


def add_user_alias(client: GoogleClient, email: str, alias: str, after_create=False) -> Call:
    request = client.service.users().aliases().insert(userKey=email, body={"alias": alias})
    return AliasClaim(
        request,
        f"users.aliases.insert {email} {alias}",
        done_on_retry=_retried_duplicate("alias"),
        after_create=after_create,
        owner_kind="user",
        owner=email,
        alias=alias,
    )


def remove_user_alias(
    client: GoogleClient, email: str, alias: str, after_create: bool = False
) -> Call:
    request = client.service.users().aliases().delete(userKey=email, alias=alias)
    return Call(
        request,
        f"users.aliases.delete {email} {alias}",
        done_statuses=_gone_unless_new(after_create),
        after_create=after_create,
        done_if=_alias_gone,
    )


# -- org units -------------------------------------------------------------------------------


def create_org_unit(client: GoogleClient, customer: str, unit: OrgUnit) -> Call:
    """Insert an org unit. Google answers an insert whose unit exists with 400 invalidOrgunit
    or 503 backendError: after a 5xx, or a 400 or 409 on a retry after a lost answer, an
    orgunits.get decides, and the insert is done if the unit is there (a 5xx is not retried
    for a minute against a unit that exists). A 400 on the first attempt stays a conflict:
    the plan was made without the unit."""
    body = {"name": unit.name, "parentOrgUnitPath": unit.parent or "/"}
    if unit.description:
        body["description"] = unit.description
    request = client.service.orgunits().insert(customerId=customer, body=body)

    def done_if(status: int, _reason: str, _message: str, maybe_done: bool) -> str | None:
        if status < 500 and not (maybe_done and status in (400, 409)):
            return None
        get = client.service.orgunits().get(
            customerId=customer, orgUnitPath=unit.path.lstrip("/"), fields="orgUnitPath"
        )
        if _found(client, get, f"orgunits.get {unit.path}"):
            return f"org unit exists (checked with orgunits.get after a {status})"
        return None

    return Call(request, f"orgunits.insert {unit.path}", done_if=done_if)


def update_org_unit(
    client: GoogleClient,
    customer: str,
    path: str,
    description: str | None,
    *,
    name: str | None = None,
) -> Call:
    """Change a unit's description and/or name (None: leave it); `path` may be spelt in any
    case, as Google's org unit paths ignore it."""
    body: dict[str, str] = {}
    if description is not None:
        body["description"] = description
    if name is not None:
        body["name"] = name
    request = client.service.orgunits().patch(
        customerId=customer, orgUnitPath=path.lstrip("/"), body=body
    )
    return Call(request, f"orgunits.patch {path}")


# -- groups ----------------------------------------------------------------------------------


def create_group(client: GoogleClient, group: Group, ownership_id: str) -> Call:
    """Insert a group, marked as ours (the marker is the description's last line)."""
    body = {
        "email": group.email,
        "name": group.name,
        "description": marked_group_description(group.description, ownership_id),
    }
    request = client.service.groups().insert(body=body, fields="id,email")
    return Call(request, f"groups.insert {group.email}", done_on_retry=_retried_duplicate("group"))


def update_group(
    client: GoogleClient,
    email: str,
    changes: dict[str, Any],
    ownership_id: str,
    after_create: bool = False,
) -> Call:
    """Set name and/or description (None or "" clears it); the ownership marker stays."""
    body: dict[str, Any] = {}
    if "name" in changes:
        body["name"] = changes["name"]
    if "description" in changes:
        body["description"] = marked_group_description(changes["description"], ownership_id)
    request = client.service.groups().patch(groupKey=email, body=body, fields="id")
    return Call(
        request, f"groups.patch {email} ({', '.join(sorted(changes))})", after_create=after_create
    )


def adopt_group(
    client: GoogleClient,
    email: str,
    description: str | None,
    ownership_id: str,
    after_create: bool = False,
) -> Call:
    """Mark an existing group as managed by this repository, keeping its `description`."""
    body = {"description": marked_group_description(description, ownership_id)}
    request = client.service.groups().patch(groupKey=email, body=body, fields="id")
    return Call(request, f"groups.patch {email} (adopt)", after_create=after_create)


def rename_group(client: GoogleClient, old_email: str, new_email: str) -> Call:
    request = client.service.groups().patch(
        groupKey=old_email, body={"email": new_email}, fields="id"
    )
    return Call(request, f"groups.patch {old_email} (rename to {new_email})")


def add_group_alias(client: GoogleClient, email: str, alias: str, after_create=False) -> Call:
    request = client.service.groups().aliases().insert(groupKey=email, body={"alias": alias})
    return AliasClaim(
        request,
        f"groups.aliases.insert {email} {alias}",
        done_on_retry=_retried_duplicate("alias"),
        after_create=after_create,
        owner_kind="group",
        owner=email,
        alias=alias,
    )


def remove_group_alias(
    client: GoogleClient, email: str, alias: str, after_create: bool = False
) -> Call:
    request = client.service.groups().aliases().delete(groupKey=email, alias=alias)
    return Call(
        request,
        f"groups.aliases.delete {email} {alias}",
        done_statuses=_gone_unless_new(after_create),
        after_create=after_create,
        done_if=_alias_gone,
    )


# -- members ---------------------------------------------------------------------------------


def _new_keys(new_group: bool | None, new_member: bool | None) -> tuple[str, ...]:
    return tuple(key for key, new in (("groupKey", new_group), ("memberKey", new_member)) if new)


def _is_member(client: GoogleClient, group: str, email: str) -> bool | None:
    get = client.service.members().get(groupKey=group, memberKey=email, fields="id")
    return _found(client, get, f"members.get {group} {email}")


def add_member(
    client: GoogleClient,
    group: str,
    email: str,
    role: str,
    after_create: bool = False,
    new_group: bool | None = None,
    new_member: bool | None = None,
) -> Call:
    """Add a member with a role. Already a member counts as done (a role change is separate):
    a 409 is checked with members.get, since Google also answers 409 for an invitation that
    is still pending, which is no membership (GAM's release notes); that stays a failure.

    `new_group` / `new_member` say which of the two was created moments ago, so only a "not
    found" about that one is waited out (unknown: either)."""
    new_keys = _new_keys(new_group, new_member)
    request = client.service.members().insert(
        groupKey=group, body={"email": email, "role": role}, fields="id"
    )

    def done_if(status: int, _reason: str, _message: str, _maybe_done: bool) -> str | None:
        if status == 409 and _is_member(client, group, email):
            return "already a member"
        return None

    return Call(
        request,
        f"members.insert {group} {email}",
        after_create=after_create or bool(new_keys),
        new_keys=new_keys,
        done_if=done_if,
    )


def remove_member(
    client: GoogleClient,
    group: str,
    email: str,
    new_group: bool | None = None,
    new_member: bool | None = None,
) -> Call:
    """Remove a member. Not a member counts as done: 404, or Google's 400 required
    "Missing required field: memberKey"; a 412 is checked with members.get. About a group or
    member created or renamed moments ago (`new_group`, `new_member`), a 404 means "not
    found yet" and is waited out."""
    new_keys = _new_keys(new_group, new_member)
    request = client.service.members().delete(groupKey=group, memberKey=email)

    def done_if(status: int, reason: str, message: str, _maybe_done: bool) -> str | None:
        if status == 400 and reason == "required" and "memberkey" in message.lower():
            return "not a member"
        not_ready = any(m in message.lower() for m in NOT_READY_MESSAGES)
        if status == 412 and not not_ready and _is_member(client, group, email) is False:
            return "not a member (checked with members.get)"
        return None

    return Call(
        request,
        f"members.delete {group} {email}",
        done_statuses=_gone_unless_new(bool(new_keys)),
        after_create=bool(new_keys),
        new_keys=new_keys,
        done_if=done_if,
    )


def update_member(
    client: GoogleClient,
    group: str,
    email: str,
    role: str,
    new_group: bool | None = None,
    new_member: bool | None = None,
) -> Call:
    new_keys = _new_keys(new_group, new_member)
    request = client.service.members().patch(
        groupKey=group, memberKey=email, body={"role": role}, fields="id"
    )
    return Call(
        request,
        f"members.patch {group} {email} (role {role})",
        after_create=bool(new_keys),
        new_keys=new_keys,
    )


# -- the ownership schema --------------------------------------------------------------------


def ensure_marker_schema(client: GoogleClient, customer: str) -> bool:
    """Create the ownership schema (or add the fields it lacks: the marker, the offboarding
    dates) if missing; True if it was changed.

    Only apply calls this: a plan never writes.
    """
    schemas = client.service.schemas()
    found = client.execute(Call(schemas.get(customerId=customer, schemaKey=SCHEMA), "schemas.get"))
    wanted = schema_body()["fields"]
    have = schema_fields(found.body or {}) if found.ok else frozenset()
    missing = [f for f in wanted if f["fieldName"] not in have]
    if found.ok and not missing:
        return False
    if found.ok:
        fields = [*found.body.get("fields", []), *missing]
        request = schemas.patch(customerId=customer, schemaKey=SCHEMA, body={"fields": fields})
        client.must(Call(request, f"schemas.patch {SCHEMA}"))
        return True
    if found.status != 404:
        raise GoogleApiError(f"schemas.get {SCHEMA}: {found.error}")
    request = schemas.insert(customerId=customer, body=schema_body())
    client.must(
        Call(request, f"schemas.insert {SCHEMA}", done_on_retry=_retried_duplicate("schema"))
    )
    return True
