"""What offboarding reads beyond the users listing, for the accounts that need it only.

- For an account offboarding revokes the access of (`revoke_tokens`): its OAuth grants
  (tokens.list), app passwords (asps.list) and backup codes (verificationCodes.list): three
  calls, batched with the other accounts'.
- For an account whose data offboarding transfers, or that Git deletes (the delete waits for
  a completed transfer): the transfers from it (the Data Transfer API's transfers.list by
  oldOwnerUserId): one call, batched.

Which accounts: those Git suspends or deletes (Git users, matched by address as the diff
matches them, and the accounts marked as ours that Git no longer names), whose offboarding
settings ask for it. Without an `offboarding:` block nothing here is read for a plan.
`reconciler report` reads more, after the plan (`read_for_report`): the credentials and
transfers of every suspended account marked as ours that the plan did not read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reconciler.google.client import Call, GoogleApiError, GoogleClient
from reconciler.google.fetch import Actual, converted, listed
from reconciler.plan.offboarding import policy_for
from reconciler.settings import Workspace
from reconciler.state import Credentials, State, Transfer, User


def accounts_to_read(
    desired: State, actual: Actual, workspace: Workspace
) -> tuple[list[str], list[str]]:
    """The accounts whose credentials, and those whose transfers, the plan needs."""
    ours = workspace.ownership.id
    creds: set[str] = set()
    transfers: set[str] = set()
    named: set[str] = set()

    def consider(account: User, user: User | None) -> None:
        policy = policy_for(workspace, user)
        if policy.revoke_tokens:
            creds.add(account.email)
        if policy.transfer_to not in (None, "none"):
            transfers.add(account.email)

    for user in desired.users.values():
        for address in (user.email, *user.previous_emails):
            primary = actual.user_addresses.get(address)
            if primary is None:
                continue
            named.add(primary)
            account = actual.state.users[primary]
            leaving = user.suspended or user.state == "deleted"
            if account.owner in (None, ours) and leaving:
                consider(account, user)
            break
    domains = {d.lower() for d in workspace.directory.domains}
    for account in actual.state.users.values():
        orphan = account.owner == ours and account.email not in named
        if orphan and account.email.rpartition("@")[2] in domains:
            consider(account, None)
    return sorted(creds), sorted(transfers)


def read_for_report(client: GoogleClient, actual: Actual, workspace: Workspace) -> None:
    """Add to `actual` the credentials and transfers of every suspended account marked as
    ours that the plan's read left out (report only: a plan reads what it acts on)."""
    ours = workspace.ownership.id
    suspended = sorted(
        (u for u in actual.state.users.values() if u.owner == ours and u.suspended),
        key=lambda u: u.email,
    )
    credentials = [u.email for u in suspended if u.credentials is None]
    transfers = [u.email for u in suspended if u.transfers is None]
    if credentials or transfers:
        read_offboarding(client, actual, credentials, transfers)


def read_offboarding(
    client: GoogleClient, actual: Actual, credentials: list[str], transfers: list[str]
) -> None:
    """Add to `actual` the credentials and the transfers of the accounts named."""
    before = client.stats.api_calls
    users = actual.state.users
    for email, found in _credentials(client, credentials).items():
        users[email] = replace(users[email], credentials=found)
    ids = {email: users[email].id for email in transfers if users[email].id}
    for email, found in _transfers(client, ids).items():
        users[email] = replace(users[email], transfers=found)
    actual.calls += client.stats.api_calls - before


def _credentials(client: GoogleClient, emails: list[str]) -> dict[str, Credentials]:
    if not emails:
        return {}
    service = client.service
    calls: list[Call] = []
    for email in emails:
        calls += [
            Call(service.tokens().list(userKey=email), f"tokens.list {email}"),
            Call(service.asps().list(userKey=email), f"asps.list {email}"),
            Call(
                service.verificationCodes().list(userKey=email), f"verificationCodes.list {email}"
            ),
        ]
    outcomes = client.execute_all(calls)
    failed = [o for o in outcomes if not o.ok]
    if failed:
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        raise GoogleApiError(f"{failed[0].call.label}: {failed[0].error}{more}")
    found: dict[str, Credentials] = {}
    for n, email in enumerate(emails):
        tokens, asps, codes = (outcomes[3 * n + k] for k in range(3))
        found[email] = Credentials(
            tokens=tuple(
                sorted(
                    str(t["clientId"])
                    for t in listed(tokens.body or {}, "items", tokens.call.label)
                    if t.get("clientId")
                )
            ),
            asps=tuple(
                sorted(
                    str(a["codeId"])
                    for a in listed(asps.body or {}, "items", asps.call.label)
                    if a.get("codeId") is not None
                )
            ),
            backup_codes=len(listed(codes.body or {}, "items", codes.call.label)),
        )
    return found


def _transfers(client: GoogleClient, ids: dict[str, str | None]) -> dict[str, tuple[Transfer, ...]]:
    """The transfers from each account (first page: 100 transfers from one person is far
    more than offboarding ever makes; a further page is read too)."""
    if not ids:
        return {}
    api = client.transfers
    found: dict[str, list[Transfer]] = {email: [] for email in ids}
    todo: list[tuple[str, str | None]] = [(email, None) for email in ids]
    while todo:
        calls = [
            Call(
                api.service.transfers().list(oldOwnerUserId=ids[email], pageToken=token),
                f"transfers.list {email}",
            )
            for email, token in todo
        ]
        outcomes = api.execute_all(calls)
        following: list[tuple[str, str | None]] = []
        for (email, _), outcome in zip(todo, outcomes, strict=True):
            if not outcome.ok:
                raise GoogleApiError(f"{outcome.call.label}: {outcome.error}")
            body = outcome.body or {}
            for resource in listed(body, "dataTransfers", outcome.call.label):
                found[email].append(converted(_transfer, resource, outcome.call.label))
            token = body.get("nextPageToken")
            if isinstance(token, str) and token:
                following.append((email, token))
        todo = following
    return {email: tuple(t) for email, t in found.items()}


def _transfer(r: dict[str, Any]) -> Transfer:
    status = r.get("overallTransferStatusCode")
    if not isinstance(status, str):
        raise ValueError(f"transfer {r.get('id')}: overallTransferStatusCode is not text")
    apps = r.get("applicationDataTransfers") or []
    if not isinstance(apps, list):
        raise ValueError(f"transfer {r.get('id')}: applicationDataTransfers is not a list")
    return Transfer(
        id=str(r["id"]),
        status=status,
        new_owner_id=r.get("newOwnerUserId"),
        request_time=r.get("requestTime"),
        applications=tuple(
            (str(a.get("applicationId", "")), str(a.get("applicationTransferStatus") or ""))
            for a in apps
            if isinstance(a, dict)
        ),
    )
