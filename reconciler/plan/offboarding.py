"""Offboarding: what the plan does to an account Git suspends or deletes, beyond the
suspension, and the security actions a timestamp on a user asks for (README, "Offboarding").

Every step is derived from Google's state where Google shows it, and from the ownership
marker's dates (google/marker.py) where it does not, so a plan made after a successful apply
plans none of them again:

- `sign_out` (users.signOut), while the marker's `signedOutAt` is older than its
  `suspendedAt` (or missing), or older than the user's `sign_out_after`;
- `revoke_tokens`, while Google lists OAuth grants, app passwords or backup codes;
- `transfer_data`, while no transfer from the account that covers its latest suspension
  (`covering_transfers`: requested at or after it) is new, in progress or completed; an
  account already suspended with no suspension date on its marker is suspended again, which
  records the date the transfer is compared with;
- `require_password_change`, while the marker's `passwordChangeAt` is older than the
  user's `require_password_change_after`;
- the org unit move (an `update` of `org_unit`) and the group removals (`remove_member`)
  are the usual changes, with offboarding as their reason.

A `state: deleted` user is deleted only once its data is safe: after a completed transfer
that covers its latest suspension (or `transfer_to: none`, said) and `delete_after_days`
after its suspension; until then it is suspended and offboarded, and a note says why the
delete waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from reconciler.plan.change import FieldChange
from reconciler.plan.kinds import UserChange
from reconciler.problems import ReconcilerError
from reconciler.settings import Offboarding, Workspace
from reconciler.state import Transfer, User

if TYPE_CHECKING:
    from reconciler.plan.diff_context import DiffContext

# Transfers in these states keep the data safe or on its way: none is requested again.
TRANSFER_UNDER_WAY = frozenset({"new", "inprogress", "completed"})
SAY_TRANSFER_TO = (
    "say where its Drive and Calendar data goes: `offboarding: {transfer_to: manager}` (or an "
    "email) transfers it first; `transfer_to: none` deletes it with the account"
)


class OffboardingError(ReconcilerError):
    """Offboarding cannot go on safely (a recipient who is not an active account, a transfer
    that failed): the plan is not made. The message names every user."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(f"offboarding: {p}" for p in problems))


def policy_for(workspace: Workspace, user: User | None) -> Offboarding:
    """The offboarding settings of one account: workspace.yaml's, with the user's own keys
    over them (an account Git does not name: workspace.yaml's)."""
    base = workspace.offboarding
    values: dict[str, Any] = base.model_dump(exclude_unset=True) if base is not None else {}
    if user is not None and user.offboarding:
        values.update(user.offboarding)
    return Offboarding.model_validate(values)


def configured(workspace: Workspace, users: list[User]) -> bool:
    """Whether anything offboarding reads Google for is asked for: an `offboarding:` block
    or a security timestamp (then the plan reads tokens and transfers, and asks for their
    scopes)."""
    return workspace.offboarding is not None or any(
        u.offboarding or u.sign_out_after or u.password_change_after for u in users
    )


def now_text(now: datetime) -> str:
    """A timestamp as the marker keeps it: UTC, to the second."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> datetime | None:
    """A timestamp from YAML or the marker (None when absent or unreadable)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Leaving:
    """An account Git suspends (now or earlier) or deletes later, with its Git user (None
    for an account marked as ours that Git no longer names)."""

    account: User
    user: User | None
    suspended_now: bool  # the plan suspends it


@dataclass
class Offboard:
    """What the users' differ hands the offboarding steps."""

    leaving: dict[str, Leaving] = field(default_factory=dict)  # account email -> it
    # Accounts whose security timestamps are checked (Git users with an account of ours).
    timed: dict[str, tuple[User, User]] = field(default_factory=dict)  # email -> (user, account)
    # Accounts that leave every managed group: member address -> the reason.
    leave_groups: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def offboarded_org_unit(user: User, workspace: Workspace) -> User:
    """Git's user with the org unit offboarding moves it to, when Git suspends it."""
    policy = policy_for(workspace, user)
    if user.suspended and policy.org_unit:
        return replace(user, org_unit=policy.org_unit)
    return user


# -- deleting ---------------------------------------------------------------------------------


def delete_waits(user: User, account: User, context: DiffContext) -> list[str]:
    """Why the delete of `account` cannot happen in this plan (empty: it can)."""
    policy = policy_for(context.workspace, user)
    why: list[str] = []
    if policy.transfer_to is None:
        why.append(f"no `transfer_to` is said for it; {SAY_TRANSFER_TO}")
    elif policy.transfer_to != "none":
        covering = covering_transfers(account)
        done = [t for t in covering if t.status.lower() == "completed"]
        if not done:
            under_way = [t for t in covering if t.status.lower() in TRANSFER_UNDER_WAY]
            if under_way:
                why.append(f"its data transfer ({under_way[0].id}) is {under_way[0].status}")
            else:
                why.append("its data is not transferred yet (this plan requests the transfer)")
    days = policy.delete_after_days
    if days:
        since = parse_time(account.suspended_at) if account.suspended else None
        if not account.suspended:
            why.append(f"delete_after_days is {days}: it is suspended in this plan first")
        elif since is None:
            why.append(
                f"delete_after_days is {days}, and no suspension date is recorded on its "
                "marker (suspended outside this tool): this plan records it"
            )
        else:
            due = since + timedelta(days=days)
            if context.now < due:
                why.append(
                    f"delete_after_days is {days}: suspended on {now_text(since)}, it may be "
                    f"deleted from {now_text(due)}"
                )
    return why


# The Data Transfer API's ids of the two applications offboarding moves (Google's, stable;
# the emulator serves the same): a transfer that lacks either leaves that data behind.
DRIVE_APPLICATION, CALENDAR_APPLICATION = "55656082996", "435070579839"
# The suspension date on the marker is the tool's clock; a transfer's requestTime Google's.
# A transfer requested this little before the recorded suspension (the one the same apply
# requested, on a clock running behind) still covers it.
CLOCK_SKEW = timedelta(minutes=5)


def covering_transfers(account: User) -> tuple[Transfer, ...]:
    """The transfers from `account` that cover its latest suspension: requested at or after
    the `suspendedAt` of its marker (README, "Offboarding"). An older one, however complete,
    left out what the person made since (rehired, then offboarded again). None covers an
    account not suspended yet (the plan suspends it now), one whose suspension date is not
    known (suspended outside this tool, or before the date was kept: the plan records it,
    and a transfer requested after it covers it), nor a transfer without a request time.
    Nor does one that lacks Drive or Calendar (its data would be lost with the account); one
    with either application failed is failed, whatever its overall status. A transfer
    requested up to CLOCK_SKEW before the recorded date covers it (two clocks)."""
    since = parse_time(account.suspended_at) if account.suspended else None
    if since is None:
        return ()
    found = []
    for t in account.transfers or ():
        at = parse_time(t.request_time)
        if at is None or at < since - CLOCK_SKEW:
            continue
        apps = dict(t.applications)
        if DRIVE_APPLICATION not in apps or CALENDAR_APPLICATION not in apps:
            continue  # Drive alone (made by hand, say): the Calendar data would be lost
        if any(apps[a].lower() == "failed" for a in (DRIVE_APPLICATION, CALENDAR_APPLICATION)):
            t = replace(t, status="failed")  # completed overall, one application not
        found.append(t)
    return tuple(found)


def undated(account: User) -> bool:
    """An account suspended without a readable suspension date on its marker."""
    return account.suspended and parse_time(account.suspended_at) is None


# -- the steps --------------------------------------------------------------------------------


def plan_steps(context: DiffContext) -> None:
    """Plan the offboarding steps of every leaving account and the security actions of
    timestamped users; raise OffboardingError for what cannot go on safely."""
    offboard = context.offboard
    signs: dict[str, list[str]] = {}
    keys: dict[str, User | None] = {}
    for email, leaving in sorted(offboard.leaving.items()):
        account, user = leaving.account, leaving.user
        policy = policy_for(context.workspace, user)
        keys[email] = user
        transfers = policy.transfer_to not in (None, "none")
        if transfers and undated(account):
            _date_suspension(email, user, context)
        if policy.sign_out and _not_signed_out_since_suspension(email, leaving, context):
            signs.setdefault(email, []).append("offboarding: sign_out")
        if policy.revoke_tokens:
            _revoke(email, account, user, context)
        if transfers:
            _transfer(email, account, user, policy.transfer_to or "", context)
        if policy.remove_from_groups:
            offboard.leave_groups[email] = "offboarding: remove_from_groups"
        if policy.org_unit and (user is None or user.state == "deleted"):
            _move_orphan(email, account, policy.org_unit, context)
    for email, (user, account) in sorted(offboard.timed.items()):
        keys.setdefault(email, user)
        asked = parse_time(user.sign_out_after)
        if asked is not None and _due(asked, account.signed_out_at, context):
            signs.setdefault(email, []).append(f"sign_out_after: {user.sign_out_after}")
        asked = parse_time(user.password_change_after)
        if asked is not None and _due(asked, account.password_change_at, context):
            context.plan.changes.append(
                _change(
                    "require_password_change",
                    email,
                    user,
                    reason=f"require_password_change_after: {user.password_change_after}",
                )
            )
    for email, reasons in signs.items():
        context.plan.changes.append(
            _change("sign_out", email, keys[email], reason="; ".join(reasons))
        )
    if offboard.problems:
        raise OffboardingError(sorted(offboard.problems))


def _change(action: str, key: str, user: User | None, **extra: Any) -> UserChange:
    return UserChange(action, key, origin=user.origin if user is not None else None, **extra)


def _suspends(email: str, context: DiffContext) -> bool:
    """Whether the plan suspends `email` (or records its suspension date anew)."""
    return any(
        c.kind == "user" and c.action == "suspend" and c.key == email for c in context.plan.changes
    )


def _date_suspension(email: str, user: User | None, context: DiffContext) -> None:
    """Suspend again an account suspended without a date: that records the date its data
    transfer is compared with (covering_transfers)."""
    if not _suspends(email, context):
        reason = "offboarding: to record the suspension date its data transfer follows"
        context.plan.changes.append(_change("suspend", email, user, reason=reason))


def _not_signed_out_since_suspension(email: str, leaving: Leaving, context: DiffContext) -> bool:
    account = leaving.account
    if leaving.suspended_now or account.signed_out_at is None:
        return True
    if _suspends(email, context):
        return True  # the plan records a new suspension date: signed out after it
    if account.suspended_at is None:
        return False  # signed out by this tool; suspended by someone else, before or after
    return account.signed_out_at < account.suspended_at


def _due(asked: datetime, done: str | None, context: DiffContext) -> bool:
    """A security timestamp not yet acted on: in the past, newer than the last time done."""
    if asked > context.now:
        return False  # not yet: a later plan does it
    last = parse_time(done)
    return last is None or last < asked


def _revoke(email: str, account: User, user: User | None, context: DiffContext) -> None:
    creds = account.credentials
    if creds is None:
        context.plan.notes.append(
            f"user {email}: its tokens were not read, so none are revoked in this plan"
        )
        return
    if not creds.any:
        return
    fields: dict[str, FieldChange] = {}
    if creds.tokens:
        fields["tokens"] = FieldChange(creds.tokens, ())
    if creds.asps:
        fields["app_passwords"] = FieldChange(creds.asps, ())
    if creds.backup_codes:
        fields["backup_codes"] = FieldChange(creds.backup_codes, 0)
    context.plan.changes.append(
        _change("revoke_tokens", email, user, fields=fields, reason="offboarding: revoke_tokens")
    )


def recipient_of(account: User, user: User | None, transfer_to: str) -> str | None:
    """Whose account receives the data: the manager (Git's, else Google's) or the address."""
    if transfer_to != "manager":
        return transfer_to
    if user is not None and user.manager:
        return user.manager
    return account.manager


def _transfer(
    email: str, account: User, user: User | None, transfer_to: str, context: DiffContext
) -> None:
    problems = context.offboard.problems
    transfers = account.transfers
    if transfers is None:
        problems.append(f"user {email}: its data transfers could not be read")
        return
    covering = covering_transfers(account)
    statuses = {t.status.lower() for t in covering}
    if statuses & TRANSFER_UNDER_WAY:
        return  # done, or on its way: a later plan sees it completed
    failed = [t for t in covering if t.status.lower() == "failed"]
    if failed:
        problems.append(
            f"user {email}: the transfer of its data ({failed[-1].id}) failed in Google; look "
            "at it in the Admin console (Account > Data migration / transfer), and transfer "
            "it again there, or say `transfer_to: none` to give the data up"
        )
        return
    to = recipient_of(account, user, transfer_to)
    if to is None:
        problems.append(
            f"user {email}: `transfer_to: manager`, but it has no manager (in Git or Google); "
            "set its manager, or say `transfer_to:` an email or `none`"
        )
        return
    primary = context.view.user_addresses.get(to)
    target = context.view.state.users.get(primary) if primary else None
    suspended_now = {
        c.key
        for c in context.plan.changes
        if c.kind == "user" and c.action in ("suspend", "delete")
    }
    if target is None or target.suspended or target.email in suspended_now:
        what = "has no account" if target is None else "is not an active account"
        problems.append(
            f"user {email}: its data would go to {to} (transfer_to: {transfer_to}), who {what}; "
            "say another `transfer_to:` for it"
        )
        return
    reason = f"offboarding: transfer_to {transfer_to}"
    fields = {"to": FieldChange(None, target.email)}
    context.plan.changes.append(_change("transfer_data", email, user, fields=fields, reason=reason))


def _move_orphan(email: str, account: User, unit: str, context: DiffContext) -> None:
    if (account.org_unit or "/").lower() == unit.lower():
        return
    spelled = next((p for p in context.desired.org_units if p.lower() == unit.lower()), unit)
    context.plan.changes.append(
        UserChange(
            "update",
            email,
            {"org_unit": FieldChange(account.org_unit or "/", spelled)},
            reason="offboarding: org_unit",
        )
    )
