"""The workspace.yaml model: directory, ownership, provider, sync, safety, protection."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import BaseModel, Field, field_validator

from reconciler.fields import STRICT, Email
from reconciler.state import USER_ATTRIBUTES

# What `sync.attributes` may name: the user attributes of the one list (state.py), and aliases.
SyncAttribute = Literal[(*USER_ATTRIBUTES, "aliases")]  # type: ignore[valid-type]
SYNCABLE_ATTRIBUTES: tuple[str, ...] = get_args(SyncAttribute)


class Directory(BaseModel):
    """Which tenant and domains this repository manages."""

    model_config = STRICT

    customer: str = Field("my_customer", description="Google customer id, or my_customer.")
    domains: list[str] = Field(
        min_length=1,
        description="Domains users and groups may live in; the first is the primary domain.",
    )
    group_management: bool = Field(
        True, description="Off: no group or membership changes are ever planned."
    )


class Ownership(BaseModel):
    """The marker stamped on accounts this repository creates or takes over."""

    model_config = STRICT

    id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$",
        description="Unique per repository, e.g. acme/identity. Accounts marked with another "
        "id are never touched.",
    )


def _quota_per_minute() -> Any:
    return Field(
        2400, gt=0, description="Client-side pacing of API calls (Google's default quota)."
    )


def _batch_size() -> Any:
    return Field(100, ge=1, le=1000, description="API calls sent in one HTTP batch request.")


class EmulatorProvider(BaseModel):
    """kind: emulator: a local emulated tenant that stands in for Google; nothing reaches Google.

    For trying the tool and for tests: plans and applies change only the local state file."""

    model_config = STRICT

    kind: Literal["emulator"] = Field(
        description="emulator: plan and apply against the embedded emulator, not Google."
    )
    seed: str | None = Field("tenant.yaml", description="The tenant file to start from.")
    state: str = Field(".reconciler/emulator.json", description="Where the tenant persists.")
    quota_per_minute: int = _quota_per_minute()
    batch_size: int = _batch_size()

    def as_google(self) -> GoogleProvider:
        """Settings for the client that talks to the emulator over loopback as if it were
        Google: the same pacing and batches, no key (the client signs a throwaway assertion
        for the emulator's own token endpoint) and no admin_subject (the session picks the
        embedded tenant's super admin)."""
        return GoogleProvider(
            kind="google", quota_per_minute=self.quota_per_minute, batch_size=self.batch_size
        )


class GoogleProvider(BaseModel):
    """kind: google: Google Workspace, through the Admin SDK Directory API."""

    model_config = STRICT

    kind: Literal["google"] = Field(description="google: the real Google Workspace tenant.")
    admin_subject: Email | None = Field(
        None, description="The admin that domain-wide delegation acts as."
    )
    credentials: str | None = Field(
        None,
        description="Service-account key file. Absent: keyless delegation or application "
        "default credentials. Never commit the key.",
    )
    service_account: str | None = Field(
        None,
        description="Keyless: the service account whose domain-wide delegation the ambient "
        "credentials (e.g. workload identity federation) act through.",
    )
    endpoint: str | None = Field(None, description="Base URL of the API, e.g. a running emulator.")
    quota_per_minute: int = _quota_per_minute()
    batch_size: int = _batch_size()


# Where the actual state lives. `kind` is required: nothing defaults to the emulator, so a
# workspace.yaml meant for Google can never plan against a local tenant and report success.
Provider = Annotated[EmulatorProvider | GoogleProvider, Field(discriminator="kind")]


class Sync(BaseModel):
    """Which user attributes Git manages; the others are left as Google has them."""

    model_config = STRICT

    attributes: list[SyncAttribute] = Field(default_factory=lambda: list(SYNCABLE_ATTRIBUTES))


class Safety(BaseModel):
    """Limits past which a plan is refused unless --allow-unsafe."""

    model_config = STRICT

    max_suspend: int | None = Field(10, ge=0, description="Most suspensions in one plan.")
    max_suspend_percent: float | None = Field(
        None, ge=0, le=100, description="Most suspensions as a share of managed accounts."
    )
    max_delete: int | None = Field(5, ge=0, description="Most deletions in one plan.")
    max_delete_percent: float | None = Field(None, ge=0, le=100)
    max_member_removals: int | None = Field(100, ge=0, description="Most member removals.")
    max_member_removals_percent: float | None = Field(None, ge=0, le=100)
    max_license_revocations: int | None = Field(
        10, ge=0, description="Most license revocations in one plan (licenses:)."
    )
    max_license_revocations_percent: float | None = Field(None, ge=0, le=100)
    percent_floor: int = Field(
        10, ge=0, description="Percent limits apply only past this many existing objects."
    )


TRANSFER_WORDS = ("manager", "none")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ISO 8601 with a date and a time, in UTC (Z) or with an offset: "2026-05-01T09:30:00Z".
TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"


class Offboarding(BaseModel):
    """What happens to an account Git suspends (unbound, `state: suspended`, no longer in
    Git) or deletes. Every key is optional: a key left out is off (`transfer_to` left out:
    a `state: deleted` user waits until it is said). A user may override any key under its
    own `offboarding:`. See README, "Offboarding"."""

    model_config = STRICT

    sign_out: bool = Field(
        False, description="End the account's web and device sessions (users.signOut), once."
    )
    revoke_tokens: bool = Field(
        False, description="Revoke its OAuth grants, app passwords and backup codes."
    )
    remove_from_groups: bool = Field(
        False, description="A suspended account leaves every group this repository manages."
    )
    org_unit: str | None = Field(
        None, description="Move suspended accounts to this org unit, e.g. /Former staff."
    )
    transfer_to: str | None = Field(
        None,
        description="Who receives the account's Drive and Calendar data: `manager`, an "
        "email, or `none` (nothing is transferred). Left out: a deletion waits until it is said.",
    )
    delete_after_days: int = Field(
        0,
        ge=0,
        le=3650,
        description="`state: deleted` deletes only this many days after suspension.",
    )

    @field_validator("transfer_to", mode="before")
    @classmethod
    def _transfer_to(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip().lower()
        if value not in TRANSFER_WORDS and not _EMAIL.match(value):
            raise ValueError("must be `manager`, `none` or an email address")
        return value

    @field_validator("org_unit")
    @classmethod
    def _org_unit(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or value == "/" or value.endswith("/")):
            raise ValueError("must be a full org unit path below the root, e.g. /Former staff")
        return value


class Workspace(BaseModel):
    """workspace.yaml: settings of the state directory."""

    model_config = STRICT

    directory: Directory
    ownership: Ownership
    provider: Provider = Field(
        description="Where the actual state lives: `kind: google` or `kind: emulator`; "
        "required, never assumed."
    )
    sync: Sync = Field(default_factory=Sync)
    safety: Safety = Field(default_factory=Safety)
    offboarding: Offboarding | None = Field(
        None,
        description="What offboarding does to accounts Git suspends or deletes; absent: "
        "suspensions only, and `state: deleted` waits until `transfer_to` is said.",
    )
    protected: list[Email] = Field(
        default_factory=list, description="Accounts never suspended, renamed or deleted."
    )
    exclude: list[str] = Field(
        default_factory=list,
        description="Glob patterns (relative to the state directory) of YAML files that are "
        "not desired state, e.g. docs/*.yaml.",
    )

    # What to write when a required setting is missing, by its dotted path (the loader adds
    # it to the message).
    missing_help: ClassVar[dict[str, str]] = {
        "provider": "say where the directory lives. For Google Workspace write "
        "`provider: {kind: google, admin_subject: <an admin of your domain>}` (see "
        "docs/google-setup.md); to try it on a local emulated tenant that is not Google, "
        "write `provider: {kind: emulator}`",
        "provider.kind": "for Google Workspace write `kind: google` (with `admin_subject: "
        "<an admin of your domain>`; see docs/google-setup.md); to try it on a local "
        "emulated tenant that is not Google, write `kind: emulator`",
    }
