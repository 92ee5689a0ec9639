"""The workspace.yaml model: directory, ownership, provider, sync, safety, offboarding,
licenses, group settings, protection, the Entra export (its models in entra_settings.py) and
the restrictions by path (restriction_settings.py)."""

from __future__ import annotations

import difflib
import re
from contextvars import ContextVar
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    create_model,
    field_validator,
    model_validator,
)

from reconciler.entra_settings import Entra
from reconciler.fields import STRICT, Email, GroupRef
from reconciler.group_settings_fields import FIELDS, SettingField, field_named
from reconciler.restriction_settings import Restriction
from reconciler.skus import DEFAULT_PRODUCT, NO_LICENSE, PRODUCTS, lookup
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

    attributes: list[SyncAttribute] = Field(
        default_factory=lambda: list(SYNCABLE_ATTRIBUTES),
        description="Attributes Git writes to Google. Absent: every attribute but those of "
        "`import_attributes`.",
    )
    import_attributes: list[SyncAttribute] = Field(
        default_factory=list,
        description="Attributes Google owns (people edit them there): never written to Google "
        "but when Git creates the account; `reconciler import --mode updates` brings them "
        "back into the YAML, and the plan notes where Git's value differs.",
    )

    @model_validator(mode="before")
    @classmethod
    def _attributes_not_imported(cls, data: Any) -> Any:
        # `attributes` left out: every attribute Google does not own.
        if isinstance(data, dict) and "attributes" not in data:
            imported = data.get("import_attributes")
            if isinstance(imported, list):
                owned = set(imported)
                attributes = [a for a in SYNCABLE_ATTRIBUTES if a not in owned]
                return {**data, "attributes": attributes}
        return data

    @model_validator(mode="after")
    def _owned_once(self) -> Sync:
        both = [i for i, a in enumerate(self.import_attributes) if a in self.attributes]
        if both:
            raise ValidationError.from_exception_data(
                "Sync",
                [
                    {
                        "type": "value_error",
                        "loc": ("import_attributes", i),
                        "input": self.import_attributes[i],
                        "ctx": {
                            "error": f"'{self.import_attributes[i]}' is in sync.attributes "
                            "too: an attribute Google owns is never written to Google; name "
                            "it in one of the two"
                        },
                    }
                    for i in both
                ],
            )
        return self


class Import(BaseModel):
    """What `reconciler import --mode updates` does beyond the attributes Google owns."""

    model_config = STRICT

    new_users: Literal["pr", "report"] = Field(
        "report",
        description="Accounts Google has that Git lacks: `pr` imports them as new entries "
        "(in the import's pull request), `report` only lists them in its summary.",
    )


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
        10,
        ge=0,
        description="Most license revocations and changes of SKU in one plan (licenses:).",
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


NOTIFY_WAYS = ("manager", "recovery_email", "none")
NotifyWay = Literal["manager", "recovery_email", "none"]
DEFAULT_ONBOARDING_SUBJECT = "Your new Google account"


class _OnboardingBase(BaseModel):
    model_config = STRICT

    notify: NotifyWay = Field(
        "manager",
        description="Who receives a new account's sign-in details: `manager` (the user's "
        "manager, an address in directory.domains), `recovery_email` (the user's own), or "
        "`none` (no message: sign-in through SSO).",
    )

    @property
    def sender(self) -> str | None:
        """`from`: the account the message is sent as (a Python keyword, hence the name)."""
        return getattr(self, "from")

    @model_validator(mode="after")
    def _sender(self) -> _OnboardingBase:
        if self.notify != "none" and self.sender is None:
            raise ValueError(
                "`from` is required: the account the sign-in details are sent as, e.g. "
                "`from: it@example.com` (or `notify: none`)"
            )
        return self


# `from` is the YAML key (and the field's name, so every table of keys sees it as written).
Onboarding = create_model(  # type: ignore[call-overload]
    "Onboarding",
    __base__=_OnboardingBase,
    __doc__="""How a new account's sign-in details (its temporary password) reach its person.

    After the account is created, a message (Gmail API, sent as `from`) gives them to the
    user's manager (inside the company's domains) or, when chosen, to its recovery email. A
    user may override `notify` under its own `onboarding:`. See README, "Onboarding".""",
    **{
        "from": (
            Email | None,
            Field(
                None,
                description="The account the message is sent as (an address in "
                "directory.domains; domain-wide delegation needs the gmail.send scope). "
                "Required unless notify is none.",
            ),
        ),
        "subject": (
            str,
            Field(
                DEFAULT_ONBOARDING_SUBJECT,
                min_length=1,
                max_length=200,
                # One header line: a line break would end it (or start another header).
                pattern=r"^[^\x00-\x1f\x7f]*$",
                description="The message's subject, on one line.",
            ),
        ),
        "template": (
            str | None,
            Field(
                None,
                description="A text file (relative to the state directory) with the "
                "message: {name}, {email}, {password} and {sign_in_url} are filled in, {{ "
                "and }} are braces. Absent: a built-in text.",
            ),
        ),
    },
)


class UserOnboarding(BaseModel):
    """A user's own onboarding: `notify` over workspace.yaml's."""

    model_config = STRICT

    notify: NotifyWay = Field(
        description="manager, recovery_email, or none (no message: sign-in through SSO)."
    )


# The product whose SKUs the `licenses:` block being validated names (None: the product
# itself is invalid, and its SKUs are not judged). Set by Licenses around its own validation:
# a SKU's meaning depends on the product, a sibling key the nested models cannot see.
_PRODUCT: ContextVar[str | None] = ContextVar("licenses_product", default=DEFAULT_PRODUCT)


def product_named(text: str) -> str | None:
    """The product id `text` names (any case), or None."""
    for product in PRODUCTS:
        if product.lower() == text.strip().lower():
            return product
    return None


def _product_problem(text: str) -> str:
    close = difflib.get_close_matches(text.strip(), sorted(PRODUCTS), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown license product '{text}'{hint}; known: {', '.join(sorted(PRODUCTS))}"


def sku_id(text: str, product: str, none_ok: bool = True) -> str:
    """The SKU id `text` names within `product` (a friendly name, any case, or an id), or
    "none" where no license may be asked for. Raises UnknownSku (a ValueError) with a
    suggestion."""
    if text.strip().lower() == NO_LICENSE:
        if none_ok:
            return NO_LICENSE
        raise ValueError("`none` is no SKU: name the SKU whose seats are counted")
    return lookup(text, product).id


def _sku(text: str) -> str:
    product = _PRODUCT.get()
    if product is None:
        return text  # licenses.product is invalid, and reported: no SKU can be judged
    return sku_id(text, product)


def _seat_sku(text: str) -> str:
    product = _PRODUCT.get()
    return text if product is None else sku_id(text, product, none_ok=False)


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("must not be empty")
    return value


# A SKU of `licenses.product` (friendly name or id) or `none`, stored as the SKU id or "none".
SkuOrNone = Annotated[str, AfterValidator(_sku)]
# A SKU whose seats are counted: never `none`.
SeatSku = Annotated[str, AfterValidator(_seat_sku)]
WHEN_KEYS = ("department", "title", "cost_center", "org_unit", "group")


class LicenseWhen(BaseModel):
    """What a user must have for the rule to apply; every key given must match.

    Matched on what Git says of the user, whether or not the attribute is in
    `sync.attributes`."""

    model_config = STRICT

    department: str | None = Field(
        None, description="The user's department; case and surrounding spaces are ignored."
    )
    title: str | None = Field(
        None, description="The user's title; case and surrounding spaces are ignored."
    )
    cost_center: str | None = Field(
        None, description="The user's cost center; case and surrounding spaces are ignored."
    )
    org_unit: str | None = Field(
        None,
        description="An org unit path, e.g. /Engineering: users in it or any unit below it "
        "(paths ignore case, as in Google).",
    )
    group: GroupRef | None = Field(
        None,
        description="A group in Git, by name or by an exported group's email: its transitive "
        "members in any role, through nested groups (exported or not).",
    )

    @field_validator("department", "title", "cost_center", "group")
    @classmethod
    def _blank(cls, value: str | None) -> str | None:
        return _not_blank(value)

    @field_validator("org_unit")
    @classmethod
    def _org_unit(cls, value: str | None) -> str | None:
        if value is None or value == "/":
            return value
        if not value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError(
                f"{value!r} is not an org unit path: write the full path, e.g. /Engineering "
                "(that unit and every unit below it)"
            )
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> LicenseWhen:
        if all(getattr(self, key) is None for key in WHEN_KEYS):
            raise ValueError(
                f"an empty `when` would match everyone: name at least one of "
                f"{', '.join(WHEN_KEYS)} (for everyone, use `default`)"
            )
        return self


class LicenseRule(BaseModel):
    """One rule: users `when` matches get `sku`. The first rule that matches wins."""

    model_config = STRICT

    when: LicenseWhen
    sku: SkuOrNone = Field(
        description="A SKU of `product` (friendly name or id), or `none`: no license."
    )


class Licenses(BaseModel):
    """Each user's license of one product: its own `license:`, else the first rule, else `default`.

    Every SKU is a friendly name (see docs/state-directory.md, "Licenses") or Google's SKU
    id of `product`, and is stored as the id."""

    model_config = STRICT

    product: str = Field(
        DEFAULT_PRODUCT,
        description="Google's product id whose SKUs this block assigns, e.g. Google-Apps.",
    )
    default: SkuOrNone | None = Field(
        None,
        description="The SKU of users no rule matches; `none`: no license. Absent: their "
        "license is left as Google has it.",
    )
    rules: list[LicenseRule] = Field(
        default_factory=list, description="Tried in order; the first that matches wins."
    )
    seats: dict[SeatSku, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Seats bought, by SKU: a plan that would assign more is unsafe (applied "
        "only with --allow-unsafe).",
    )
    on_suspend: Literal["keep", "revoke"] = Field(
        "keep",
        description="What happens to the license of an account Git suspends: keep, or "
        "revoke (frees the seat).",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _in_product(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Licenses:
        product: str | None = DEFAULT_PRODUCT
        if isinstance(data, dict) and "product" in data:
            named = data["product"]
            product = product_named(named) if isinstance(named, str) else None
        token = _PRODUCT.set(product)
        try:
            return handler(data)
        finally:
            _PRODUCT.reset(token)

    @field_validator("product")
    @classmethod
    def _product(cls, value: str) -> str:
        product = product_named(value)
        if product is None:
            raise ValueError(_product_problem(value))
        return product

    @field_validator("seats", mode="wrap")
    @classmethod
    def _seats_once(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> dict[str, int]:
        seats = handler(value)
        if isinstance(value, dict) and len(seats) < len(value):
            product = _PRODUCT.get() or DEFAULT_PRODUCT
            by_id: dict[str, list[str]] = {}
            for key in value:
                by_id.setdefault(sku_id(key, product, none_ok=False), []).append(key)
            twice = next(keys for keys in by_id.values() if len(keys) > 1)
            raise ValueError(f"{' and '.join(repr(k) for k in twice)} name one SKU: list it once")
        return seats


GROUP_SETTINGS_DOC = 'docs/state-directory.md, "Group settings"'


def _setting_checked(setting: SettingField) -> Any:
    def check(value: Any) -> Any:
        try:
            setting.check(value)
        except ValueError as exc:
            # The table's message (what is allowed, the nearest value), without the key the
            # loader names already.
            message = str(exc).removeprefix(f"{setting.key}: ").removeprefix(f"{setting.key} ")
            raise ValueError(message) from None
        return value

    return BeforeValidator(check)


def _setting_annotation(setting: SettingField) -> Any:
    base: Any = bool if setting.boolean else Literal[setting.values] if setting.values else str
    return Annotated[base | None, _setting_checked(setting)]


def _setting_description(setting: SettingField) -> str:
    limit = f" At most {setting.max_length} characters." if setting.max_length else ""
    return f"Google's `{setting.api}` (Groups Settings API).{limit}"


class _GroupSettingsBase(BaseModel):
    model_config = STRICT

    @classmethod
    def unknown_field(cls, key: str) -> str:
        """What the loader says of a key that is no group setting: the nearest one."""
        try:
            field_named(key)
        except ValueError as exc:
            return f"{exc}; see {GROUP_SETTINGS_DOC}"
        return f"'{key}' is a group setting"  # pragma: no cover: every setting is a field

    @model_validator(mode="after")
    def _not_empty(self) -> _GroupSettingsBase:
        if not self.model_fields_set:
            raise ValueError(f"is empty: give at least one setting (see {GROUP_SETTINGS_DOC})")
        return self

    def declared(self) -> dict[str, Any]:
        """The settings written, by YAML key, as Git writes them (in the table's order)."""
        return {
            key: getattr(self, key)
            for key in type(self).model_fields
            if key in self.model_fields_set
        }


# One field per setting of the table (group_settings_fields.FIELDS): its YAML key, checked by
# the table's own `check`; a key left out is not managed (Google keeps its value).
GroupSettings = create_model(  # type: ignore[call-overload]
    "GroupSettings",
    __base__=_GroupSettingsBase,
    __doc__="Settings of Google groups (Groups Settings API): each key given is managed, "
    "the others are left as Google has them.",
    **{
        f.key: (
            _setting_annotation(f),
            Field(None, description=_setting_description(f), max_length=f.max_length),
        )
        for f in FIELDS
    },
)


def settings_said(value: Any) -> Any:
    # `settings:` with nothing under it reads as null: no settings at all, while the file
    # seems to set some.
    if value is None:
        raise ValueError(
            "is empty: give its keys (e.g. `allow_external_members: false`), or remove it"
        )
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
    import_: Import = Field(
        default_factory=Import,
        alias="import",
        description="The scheduled import from Google (docs/import-report-audit.md).",
    )
    safety: Safety = Field(default_factory=Safety)
    offboarding: Offboarding | None = Field(
        None,
        description="What offboarding does to accounts Git suspends or deletes; absent: "
        "suspensions only, and `state: deleted` waits until `transfer_to` is said.",
    )
    onboarding: Onboarding | None = Field(  # type: ignore[valid-type]
        None,
        description="How a new account's sign-in details reach its person (a message sent "
        "as `from`); absent: the temporary password goes only to --password-file.",
    )
    licenses: Licenses | None = Field(
        None,
        description="License management: which SKU of one product each user gets. Absent: "
        "licenses are left as Google has them, and a user's `license:` is an error.",
    )
    group_settings: GroupSettings | None = Field(  # type: ignore[valid-type]
        None,
        description="Settings of every exported group (Groups Settings API, keys in snake "
        "case); a group overrides any of them under its own `settings:`. Absent: only the "
        "settings groups give are managed.",
    )
    protected: list[Email] = Field(
        default_factory=list,
        description="Accounts never suspended, renamed, deleted or unlicensed.",
    )
    entra: Entra | None = Field(
        None,
        description="Export of the groups marked `entra: true` to Microsoft Entra ID, as "
        "security groups matched by display name. Absent: nothing is exported to Entra.",
    )

    @field_validator("group_settings", mode="before")
    @classmethod
    def _group_settings_said(cls, value: Any) -> Any:
        return settings_said(value)

    @field_validator("entra", mode="before")
    @classmethod
    def _entra_said(cls, value: Any) -> Any:
        return _block_said(value, "tenant_id, client_id and provider")

    @field_validator("onboarding", mode="before")
    @classmethod
    def _onboarding_said(cls, value: Any) -> Any:
        return _block_said(value, "e.g. `notify: manager` and `from: it@example.com`")

    @field_validator("licenses", mode="before")
    @classmethod
    def _licenses_said(cls, value: Any) -> Any:
        return _block_said(value, "e.g. `default: business-standard`")

    exclude: list[str] = Field(
        default_factory=list,
        description="Glob patterns (relative to the state directory) of YAML files that are "
        "not desired state, e.g. docs/*.yaml.",
    )
    restrictions: list[Restriction] = Field(
        default_factory=list,
        description="Delegated ownership by path: which groups and users the files each path "
        "matches may define, and their reviewers in CODEOWNERS. The last restriction whose "
        'path matches a file applies (docs/state-directory.md, "Restrictions").',
    )
    restrictions_default: Literal["allow", "deny"] = Field(
        "allow",
        description="Files no restriction matches: allow (unrestricted), or deny (they may "
        "define no groups and no users).",
    )

    # Settings whose parts depend on each other (a SKU means something only within
    # licenses.product): an error anywhere in one makes the whole setting broken, so the
    # loader's stand-in leaves it out and no check relies on any of it.
    # A group's settings are judged together (archive_only with who_can_post_message), so
    # `group_settings` is whole too.
    # `entra` too: a tenant id, a client id and a provider mean something only together.
    whole_settings: ClassVar[frozenset[str]] = frozenset({"licenses", "group_settings", "entra"})

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
        **Entra.missing_help,
    }


def _block_said(value: Any, keys: str) -> Any:
    """A block written with nothing under it reads as null, as if it were not there: the
    file would seem to manage what it leaves alone (`licenses:` every license, `entra:`
    the export). Refused, saying what to write."""
    if value is None:
        raise ValueError(f"is empty: give its keys ({keys}), or remove it")
    return value
