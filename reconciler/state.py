"""The normalized State that both sides produce: Git (desired) and Google (actual).

The diff compares like with like, so every value here is already normalized: emails
lower-case, lists as sorted tuples, absent optional attributes as None ("not managed").
Side-specific fields carry neutral defaults on the other side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from reconciler.entra.state import EntraActual, EntraGroup

UserStateName = Literal["active", "staged", "suspended", "deleted"]
Role = Literal["OWNER", "MANAGER", "MEMBER"]
MemberType = Literal["USER", "GROUP", "EXTERNAL", "CUSTOMER"]

ROLE_RANK: dict[str, int] = {"MEMBER": 0, "MANAGER": 1, "OWNER": 2}

# The user attributes Git can manage, besides aliases: the one list. `sync.attributes`
# (settings.py), resolving (desired/resolve.py), the diff, the writes and import all read
# it; a test checks that the YAML model and User have a field for each.
USER_ATTRIBUTES: tuple[str, ...] = (
    "given_name",
    "family_name",
    "org_unit",
    "title",
    "department",
    "cost_center",
    "manager",
    "phone",
    "employee_id",
    "recovery_email",
    "recovery_phone",
)


# Google: at most 30 email aliases per user and per group (admin help, "Add or delete an
# alternate email address" and "Add or remove group email aliases").
MAX_ALIASES = 30


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a desired object was written (file and line), for plans and errors."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What still lets a person in without a password (actual side, read for the accounts
    offboarding revokes them on): OAuth grants by client id, app passwords by id, and
    whether backup verification codes are there."""

    tokens: tuple[str, ...] = ()
    asps: tuple[str, ...] = ()
    backup_codes: int = 0

    @property
    def any(self) -> bool:
        return bool(self.tokens or self.asps or self.backup_codes)


@dataclass(frozen=True, slots=True)
class Transfer:
    """A data transfer from an account (Data Transfer API), as read."""

    id: str
    status: str  # Google's overallTransferStatusCode: new, inProgress, completed, failed
    new_owner_id: str | None = None
    request_time: str | None = None
    # Each application it moves, (applicationId, applicationTransferStatus or "").
    applications: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class User:
    email: str
    given_name: str | None = None
    family_name: str | None = None
    org_unit: str | None = None
    title: str | None = None
    department: str | None = None
    cost_center: str | None = None
    manager: str | None = None
    phone: str | None = None
    employee_id: str | None = None
    recovery_email: str | None = None
    recovery_phone: str | None = None
    aliases: tuple[str, ...] | None = None
    suspended: bool = False
    # Desired side: what Git asks for.
    state: UserStateName = "active"
    bound: bool = False
    previous_emails: tuple[str, ...] = ()
    origin: Origin | None = None
    # The user's own `offboarding:` keys (those it sets), over workspace.yaml's.
    offboarding: dict[str, Any] | None = field(default=None, compare=False)
    # Who gets the sign-in details when the account is created (workspace.yaml's
    # `onboarding.notify`, the user's own over it): (way, recipient), the way `manager` or
    # `recovery_email`, the recipient None when Git gives none; None: no message.
    onboarding: tuple[str, str | None] | None = field(default=None, compare=False)
    # Why that manager cannot be sent the sign-in details (Git gives it no active account),
    # worked out with the whole of Git, so a targeted plan judges alike; None: it can.
    onboarding_blocked: str | None = field(default=None, compare=False)
    sign_out_after: str | None = None
    password_change_after: str | None = None
    # The license Git decides for the account, of `licenses.product`: a SKU id, "none" (no
    # license), or None (Git decides nothing: no `licenses:` block, or no rule, user key or
    # default applies). Resolved from the rules by desired/licenses.py.
    license: str | None = field(default=None, compare=False)
    # Why Git no longer binds it when a dated binding ended (desired/expiry.py), for the
    # plan's reason; None otherwise.
    unbound_by: str | None = field(default=None, compare=False)
    # Git's values of the attributes Google owns (sync.import_attributes): never in the
    # fields above (to every differ, restore and policy they are not managed), written only
    # when the plan creates the account, and compared for the plan's notes.
    google_owned: dict[str, Any] | None = field(default=None, compare=False)
    # Actual side: what Google holds.
    id: str | None = None
    owner: str | None = None  # the ownership marker's value, if any
    is_admin: bool = False
    is_delegated_admin: bool = False
    suspension_reason: str | None = None
    deletion_time: str | None = None  # when Google deleted it (deleted accounts only)
    # What this tool recorded on the ownership marker (google/marker.py): when it suspended
    # the account, signed it out, required a password change.
    suspended_at: str | None = None
    signed_out_at: str | None = None
    password_change_at: str | None = None
    # A sign-in message this tool has still to send (onboarding), by its way: manager or
    # recovery_email (google/marker.py ONBOARDING_PENDING); None: none waits.
    onboarding_pending: str | None = None
    # Someone has signed in to the account (Google's lastLoginTime is past the epoch): a
    # pending sign-in message is then never sent, nor its password reset.
    signed_in: bool = field(default=False, compare=False)
    # Read only for the accounts offboarding needs them of (None: not read).
    credentials: Credentials | None = None
    transfers: tuple[Transfer, ...] | None = None
    # Google's list attributes as read, so a write keeps the entries Git does not manage;
    # JSON text, a fraction of the memory of the parsed lists (100k users read at once).
    raw: str | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Member:
    email: str
    role: Role = "MEMBER"
    type: MemberType = "USER"
    # Actual side: Google's `status` (ACTIVE, SUSPENDED), None where Google lists none (an
    # external address, an address no account had when it was added). Not managed by Git,
    # so not compared.
    status: str | None = field(default=None, compare=False)


# Consumer Gmail: every spelling of an address reaches one account, and Google lists a
# member under the account's own spelling, whatever spelling it was added by (GAM 4.44.14
# release notes; Google's help: dots don't matter in Gmail addresses).
CONSUMER_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def canonical_address(address: str) -> str:
    """The form in which two member addresses are compared: a consumer Gmail address without
    dots or +tag in its name and on gmail.com (John.Doe+news@googlemail.com and
    johndoe@gmail.com are one account); any other address lower-cased, as it is."""
    address = address.lower()
    local, _, domain = address.rpartition("@")
    if domain not in CONSUMER_DOMAINS:
        return address
    name = local.partition("+")[0].replace(".", "")
    return f"{name}@gmail.com" if name else address


@dataclass(frozen=True, slots=True)
class Group:
    email: str
    name: str
    description: str | None = None
    aliases: tuple[str, ...] | None = None
    members: dict[str, Member] = field(default_factory=dict)
    # Desired side.
    git_name: str | None = None
    previous_emails: tuple[str, ...] = ()
    additive: bool = False
    origin: Origin | None = None
    # Members whose dated entry ended (desired/expiry.py), address -> why: the reason of
    # their removal.
    expired: dict[str, str] = field(default_factory=dict, compare=False)
    # Actual side.
    id: str | None = None
    direct_members_count: int | None = None
    owner: str | None = None  # the ownership marker's value, if any (see google.marker)
    # Its settings (Groups Settings API), by YAML key (group_settings_fields.py), values as
    # Git writes them (booleans as booleans). Desired side: the ones Git declares for it
    # (workspace.yaml's `group_settings:` under the group's own `settings:`; None: none).
    # Actual side: the ones read (None: not read).
    settings: dict[str, Any] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class OrgUnit:
    path: str
    description: str | None = None
    origin: Origin | None = None
    id: str | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] or "/"

    @property
    def parent(self) -> str | None:
        if self.path == "/":
            return None
        head = self.path.rsplit("/", 1)[0]
        return head or "/"


@dataclass
class State:
    """Users by primary email, groups by email, org units by path.

    Actual side only: `deleted_users`, the accounts Google can still restore (deleted less
    than 20 days ago), by primary email, apart from the live ones; where several deleted
    accounts had one address, the most recently deleted."""

    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    org_units: dict[str, OrgUnit] = field(default_factory=dict)
    deleted_users: dict[str, User] = field(default_factory=dict)
    # Actual side only: the SKU id each account holds of `licenses.product`, by primary
    # email (read only with a `licenses:` block; None: not read).
    licenses: dict[str, str] | None = None
    # Desired side only: the groups Git exports to Entra ID (`entra: true`), by display name
    # (reconciler/entra/state.py); None when workspace.yaml has no `entra:` block.
    entra_groups: dict[str, EntraGroup] | None = None
    # Actual side only: the Entra tenant as Microsoft Graph shows it (None: not read).
    entra: EntraActual | None = None
    # Actual side, targeted plans only: addresses Google holds that the read looked up
    # without reading their holder (address -> USER or GROUP): members that exist.
    elsewhere: dict[str, str] = field(default_factory=dict)
    # Actual side, targeted plans only: what the safety limits' percentages are of (the
    # tenant was not read whole; reconciler/scope.py, git_bases). None: counted from the read.
    bases: dict[str, int] | None = None

    def bound_users(self) -> set[str]:
        """Emails of users that Git binds to a Google account."""
        return {email for email, user in self.users.items() if user.bound}


def created_fields(user: User) -> dict[str, Any]:
    """What a create writes: the attributes Git manages, and Git's values of those Google
    owns (the account has none yet), except the org unit and aliases: where an account's
    unit is (its policies follow it) and which addresses reach it are Google's to decide
    when Google owns them, so the account starts as Google makes it."""
    owned = {
        name: value
        for name, value in (user.google_owned or {}).items()
        if name not in ("org_unit", "aliases")
    }
    values = {}
    for name in (*USER_ATTRIBUTES, "aliases"):
        value = getattr(user, name)
        if value is None:
            value = owned.get(name)
        if value not in (None, "", ()):
            values[name] = value
    return values
