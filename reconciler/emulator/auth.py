"""OAuth as Google checks it: the token endpoint's grant, and the Bearer token of every call.

Token endpoint (`POST /token`, a JWT-bearer grant; the signature is not checked):
- The assertion needs `iss`, `aud` and a space-separated `scope`; `sub`, when present, is the
  user domain-wide delegation acts as. A `sub` that is no user of the tenant (primary
  address, alias or id) is `400 invalid_grant` "Invalid email or User ID".
- With a `sub`, every scope asked for must be one the tenant delegated to the client
  (`delegated_scopes`; None: any), else `401 unauthorized_client` "Client is unauthorized to
  retrieve access tokens using this method, or client not authorized for any of the scopes
  requested." Without a `sub` the service account acts as itself (no delegation).
- A token remembers its scopes and its subject; it lasts an hour (`expires_in` 3600), is
  kept in memory only (a restarted emulator knows none: clients get 401 and fetch another).

Every API call (and every part of a batch, whose parts inherit the batch's Authorization
header unless they carry their own, as Google documents for batch headers):
- no Bearer token, or one the emulator did not issue, or an expired one: `401 authError`
  "Request had invalid authentication credentials…" (status UNAUTHENTICATED);
- a token none of whose scopes authorizes the method (the discovery documents, Directory and
  Data Transfer, list per method the scopes that do; read-only scopes authorize only
  reads): `403
  insufficientPermissions` "Request had insufficient authentication scopes."
  (PERMISSION_DENIED);
- a token acting as a user who is not a super admin (or a deleted one) and holds no role
  assignment whose privileges cover the method (admin_roles.py), or a service account
  acting as itself that holds no admin role (`admin_service_accounts`; None: every service
  account holds one): `403 forbidden` "Not Authorized to access this resource/api".

- a call of an API not enabled in the caller's project (the option `disabled_apis`), once
  its token is valid: `403 accessNotConfigured` "<API> has not been used in project … before
  or it is disabled. Enable it by visiting …" (status PERMISSION_DENIED), the answer Google
  gives a project that has not enabled the API (Google Cloud's API design guide, "Errors":
  ErrorInfo reason SERVICE_DISABLED; in the v1 `errors` list, reason accessNotConfigured,
  domain usageLimits, as Google's client libraries show it).

Neither assertions nor tokens are ever logged, stored on disk or shown in the stats; the
stats count grants per scope.
"""

from __future__ import annotations

import functools
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.admin_roles import allows
from reconciler.emulator.discovery import (
    API_VERSIONS,
    bundled_discovery_document,
    document_methods,
)
from reconciler.emulator.tenant import USER

TOKEN_LIFETIME_S = 3600
# Tokens are dropped once expired; past this many live ones the oldest go first, so a
# long-running emulator never grows without bound.
MAX_TOKENS = 10_000

UNAUTHENTICATED_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
INSUFFICIENT_SCOPES_MESSAGE = "Request had insufficient authentication scopes."
NOT_AUTHORIZED_MESSAGE = "Not Authorized to access this resource/api"
INVALID_SUBJECT = "Invalid email or User ID"
UNAUTHORIZED_CLIENT = (
    "Client is unauthorized to retrieve access tokens using this method, or client not "
    "authorized for any of the scopes requested."
)


@dataclass(frozen=True)
class Grant:
    """What a token stands for: its scopes, and whom it acts as."""

    scopes: frozenset[str]
    subject_id: str | None  # the user delegation acts as; None: the service account itself
    issuer: str
    expires_at: float


class TokenError(Exception):
    """The token endpoint refuses a grant: OAuth error code, description, HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


class Tokens:
    """The access tokens the emulator issued (opaque random strings), in memory only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def issue(self, scopes: Iterable[str], subject_id: str | None, issuer: str) -> str:
        now = self._clock()
        grant = Grant(frozenset(scopes), subject_id, issuer, now + TOKEN_LIFETIME_S)
        token = "emulator." + secrets.token_urlsafe(32)
        with self._lock:
            for old in [t for t, g in self._grants.items() if g.expires_at <= now]:
                del self._grants[old]
            while len(self._grants) >= MAX_TOKENS:
                del self._grants[next(iter(self._grants))]
            self._grants[token] = grant
        return token

    def lookup(self, token: str | None) -> Grant | None:
        """The grant of a live token; None for no token, an unknown or an expired one."""
        if not token:
            return None
        with self._lock:
            grant = self._grants.get(token)
        if grant is None or grant.expires_at <= self._clock():
            return None
        return grant


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


@functools.cache
def method_scopes() -> dict[str, frozenset[str]]:
    """Discovery method id -> the scopes that authorize it (the bundled documents' lists,
    Directory and Data Transfer)."""
    return {
        method_id: frozenset(method.get("scopes", ()))
        for version in API_VERSIONS
        for method_id, method in document_methods(version).items()
    }


def known_scopes() -> frozenset[str]:
    """Every scope the discovery documents of the served APIs name."""
    return frozenset(
        scope
        for version in API_VERSIONS
        for scope in bundled_discovery_document(version)["auth"]["oauth2"]["scopes"]
    )


def covers(scopes: frozenset[str], method_id: str) -> bool:
    """Whether a token with `scopes` may call `method_id`."""
    return not scopes.isdisjoint(method_scopes().get(method_id, frozenset()))


def check_scopes(scopes: list[str], has_subject: bool, delegated: list[str] | None) -> None:
    """Raise TokenError for a grant whose scopes Google would refuse."""
    if not scopes:
        raise TokenError("invalid_scope", "Empty or missing scope not allowed.")
    if has_subject and delegated is not None:
        allowed = set(delegated)
        if any(scope not in allowed for scope in scopes):
            raise TokenError("unauthorized_client", UNAUTHORIZED_CLIENT, 401)


def find_subject(store: Any, key: str) -> str | None:
    """The id of the user `key` (primary address, alias or id) names; None if none does."""
    with store.lock:
        hit = store.tenant.resolve(key)
    return hit[1] if hit is not None and hit[0] == USER else None


def first_super_admin(store: Any) -> str | None:
    """The primary address of the tenant's first super admin (by address), if it has one."""
    with store.lock:
        tenant = store.tenant
        for email in tenant.user_order:
            hit = tenant.addresses.get(email.lower())
            user = tenant.users.get(hit[1]) if hit is not None else None
            if user is not None and user.get("isAdmin"):
                return str(user["primaryEmail"])
    return None


def may_administer(
    store: Any,
    grant: Grant,
    admin_service_accounts: list[str] | None,
    method_id: str = "",
    params: Mapping[str, str] | None = None,
) -> bool:
    """Whether whom a token acts as may call `method_id` (route keys `params`): a super admin
    of the tenant, a delegated admin whose role assignments cover the method (admin_roles.py),
    or a service account holding an admin role."""
    if grant.subject_id is None:
        if admin_service_accounts is None:
            return True
        return grant.issuer.lower() in {a.lower() for a in admin_service_accounts}
    with store.lock:
        tenant = store.tenant
        user = tenant.users.get(grant.subject_id)
        return bool(user) and allows(tenant, user, method_id, params or {})


def _error(status: int, reason: str, message: str, api_status: str, **where: str) -> dict:
    detail: dict[str, Any] = {"message": message, "domain": "global", "reason": reason}
    detail.update(where)
    return {"error": {"code": status, "message": message, "errors": [detail], "status": api_status}}


def unauthenticated() -> tuple[int, dict]:
    """401 for a call without a valid token, in Google's words."""
    body = _error(
        401,
        "authError",
        UNAUTHENTICATED_MESSAGE,
        "UNAUTHENTICATED",
        location="Authorization",
        locationType="header",
    )
    # Google's detail says "Invalid Credentials" while the top message explains.
    body["error"]["errors"][0]["message"] = "Invalid Credentials"
    return 401, body


def insufficient_scopes() -> tuple[int, dict]:
    """403 for a token whose scopes do not authorize the method."""
    body = _error(403, "insufficientPermissions", INSUFFICIENT_SCOPES_MESSAGE, "PERMISSION_DENIED")
    body["error"]["errors"][0]["message"] = "Insufficient Permission"
    return 403, body


# The product names Google's message gives each API, and its service name (console URL).
API_TITLES = {
    "directory": ("Admin SDK API", "admin.googleapis.com"),
    "datatransfer": ("Admin SDK API", "admin.googleapis.com"),
    "licensing": ("Enterprise License Manager API", "licensing.googleapis.com"),
    "groupssettings": ("Groups Settings API", "groupssettings.googleapis.com"),
    "gmail": ("Gmail API", "gmail.googleapis.com"),
}
# The emulator's stand-in for the caller's Cloud project number.
PROJECT = "123456789012"


def api_of(method_id: str) -> str:
    """The API a method belongs to, as `disabled_apis` names it: `directory`, ..."""
    return method_id.partition(".")[0].lower()


def service_disabled(api: str) -> tuple[int, dict]:
    """403 for a call of an API the caller's project has not enabled, in Google's words."""
    title, service = API_TITLES[api]
    message = (
        f"{title} has not been used in project {PROJECT} before or it is disabled. Enable it "
        f"by visiting https://console.developers.google.com/apis/api/{service}/overview?"
        f"project={PROJECT} then retry. If you enabled this API recently, wait a few minutes "
        "for the action to propagate to our systems and retry."
    )
    body = _error(403, "accessNotConfigured", message, "PERMISSION_DENIED")
    body["error"]["errors"][0].update(
        domain="usageLimits", extendedHelp=("https://console.developers.google.com")
    )
    return 403, body


def not_authorized() -> tuple[int, dict]:
    """403 for a token that acts as someone without admin rights."""
    body = _error(403, "forbidden", NOT_AUTHORIZED_MESSAGE, "PERMISSION_DENIED")
    del body["error"]["status"]  # Google's answer here has none
    return 403, body
