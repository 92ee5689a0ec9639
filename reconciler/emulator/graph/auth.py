"""The identity platform's client-credentials grant, and the permissions Graph checks.

Token endpoint, `POST /{tenant}/oauth2/v2.0/token`, form-encoded
(https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
- `{tenant}` must be the tenant's id: another one is 400 `invalid_request` AADSTS90002
  (tenant not found; https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes);
- `grant_type=client_credentials` (else `unsupported_grant_type` AADSTS70003, UNVERIFIED
  number); `scope` exactly `https://graph.microsoft.com/.default` (Graph is the only resource
  here; another scope, or two, is `invalid_scope` AADSTS70011);
- `client_id` of an app registration of the seed, else 400 `unauthorized_client`
  AADSTS700016 (the older doc revision's number for an app not in the tenant);
- a credential: a certificate assertion (`client_assertion_type=urn:ietf:params:oauth:
  client-assertion-type:jwt-bearer` + `client_assertion`), or a `client_secret`, which only
  an app with a `secret:` in the seed may use (a wrong or unexpected one: `invalid_client`
  AADSTS7000215).

The assertion (https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials)
is decoded but its SIGNATURE IS NOT VERIFIED, and its thumbprint is matched against no
registered certificate: the emulator checks its form only. Header: `alg` RS256 (msal's
`thumbprint` form signs so, with `x5t`) or PS256 (the current doc, with `x5t#S256`), and one
of `x5t`/`x5t#S256`. Claims: `aud` = the token endpoint's URL, `iss` = `sub` = client id
(else AADSTS700211, as msal's issue 739 shows for a wrong issuer/subject), `exp` in the
future (else AADSTS700024, number UNVERIFIED). A malformed one is AADSTS50027 (UNVERIFIED).

Success: `{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
"access_token": <opaque>}`; the token carries the app's granted roles (app-only tokens list
permissions in `roles`: https://learn.microsoft.com/en-us/entra/identity-platform/access-tokens).
An app with no roles still gets a token (missing consent does not fail at the token step)
and Graph then answers 403. Tokens live in memory only and are never logged or saved.

Graph (https://learn.microsoft.com/en-us/graph/permissions-reference and each API page):
no or unknown token: 401 `InvalidAuthenticationToken`; a token without a permission that
allows the call: 403 `Authorization_RequestDenied` "Insufficient privileges to complete the
operation." (example in https://learn.microsoft.com/en-us/graph/json-batching).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl

from reconciler.emulator.graph.errors import GraphError, TokenError
from reconciler.emulator.graph.tenant import GraphTenant

GRAPH_DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME_S = 3599
MAX_TOKENS = 10_000

# Permission sets (application permissions) that allow each kind of call.
READ_USERS = frozenset(
    {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)
READ_GROUPS = frozenset(
    {
        "Group.Read.All",
        "GroupMember.Read.All",
        "Group.ReadWrite.All",
        "GroupMember.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)
WRITE_GROUPS = frozenset({"Group.ReadWrite.All", "Directory.ReadWrite.All"})
CREATE_GROUPS = WRITE_GROUPS | {"Group.Create"}
WRITE_MEMBERS = frozenset(
    {"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"}
)

EMPTY_TOKEN = "Access token is empty."
INVALID_TOKEN = "Access token validation failure."
EXPIRED_TOKEN = "Lifetime validation failed, the token is expired."
INSUFFICIENT = "Insufficient privileges to complete the operation."


@dataclass(frozen=True)
class Grant:
    """What an access token stands for: the app and its roles."""

    client_id: str
    roles: frozenset[str]
    expires_at: float


class Tokens:
    """Issued access tokens, in memory; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, Grant] = {}

    def issue(self, client_id: str, roles: frozenset[str]) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            if len(self._grants) >= MAX_TOKENS:
                self._grants.pop(next(iter(self._grants)))
            self._grants[token] = Grant(client_id, roles, time.time() + TOKEN_LIFETIME_S)
        return token

    def grant(self, authorization: str | None) -> Grant:
        """The grant of an `Authorization: Bearer …` header; GraphError 401 otherwise."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise GraphError(401, "InvalidAuthenticationToken", EMPTY_TOKEN)
        with self._lock:
            grant = self._grants.get(token)
        if grant is None:
            raise GraphError(401, "InvalidAuthenticationToken", INVALID_TOKEN)
        if grant.expires_at <= time.time():
            raise GraphError(401, "InvalidAuthenticationToken", EXPIRED_TOKEN)
        return grant


def require(grant: Grant, allowed: frozenset[str]) -> None:
    """403 unless the token carries one of the `allowed` permissions."""
    if not grant.roles & allowed:
        raise GraphError(403, "Authorization_RequestDenied", INSUFFICIENT)


def openid_configuration(tenant: GraphTenant, login_base: str, tenant_name: str) -> dict:
    """The tenant's OpenID Connect metadata (v2.0), as msal reads it before its first grant."""
    if not _names_tenant(tenant, tenant_name):
        raise tenant_not_found(tenant_name)
    base = f"{login_base}/{tenant.tenant_id}"
    return {
        "issuer": f"{base}/v2.0",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "jwks_uri": f"{login_base}/{tenant.tenant_id}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
    }


def instance_metadata(login_base: str, tenant_id: str) -> dict:
    """The answer of `GET /common/discovery/instance`: the login host and its aliases.

    msal asks it for the aliases of its authority host; the shape follows what the
    identity platform answers (api-version 1.1). Only the emulated host is listed.
    """
    host = login_base.split("://", 1)[-1]
    return {
        "tenant_discovery_endpoint": (
            f"{login_base}/{tenant_id}/v2.0/.well-known/openid-configuration"
        ),
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }


def tenant_not_found(name: str) -> TokenError:
    return TokenError(
        "invalid_request",
        90002,
        f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud.",
    )


def _names_tenant(tenant: GraphTenant, name: str) -> bool:
    return name.lower() == tenant.tenant_id.lower()


def token_endpoint(login_base: str, tenant_name: str) -> str:
    return f"{login_base}/{tenant_name}/oauth2/v2.0/token"


def grant_token(
    tenant: GraphTenant, tokens: Tokens, login_base: str, tenant_name: str, body: bytes
) -> dict:
    """Answer a client-credentials grant (see the module docstring); TokenError otherwise."""
    if not _names_tenant(tenant, tenant_name):
        raise tenant_not_found(tenant_name)
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise TokenError("invalid_request", 900144, "The request body is not valid.") from None
    for name in ("grant_type", "client_id", "scope"):
        if not form.get(name):
            raise TokenError(
                "invalid_request",
                900144,
                f"The request body must contain the following parameter: '{name}'.",
            )
    if form["grant_type"] != "client_credentials":
        raise TokenError(
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{form['grant_type']}'.",
        )
    client_id = form["client_id"].lower()
    with tenant.lock:
        app = tenant.apps.get(client_id)
    if app is None:
        raise TokenError(
            "unauthorized_client",
            700016,
            f"Application with identifier '{form['client_id']}' was not found in the directory "
            f"'{tenant.tenant_id}'.",
        )
    scopes = form["scope"].split()
    if scopes != [GRAPH_DEFAULT_SCOPE]:
        raise TokenError(
            "invalid_scope",
            70011,
            f"The provided request must include a 'scope' input parameter. The provided value "
            f"for the input parameter 'scope' is not valid. The scope {form['scope']} is not "
            f"valid. Only {GRAPH_DEFAULT_SCOPE} is served by this tenant.",
        )
    if "client_secret" in form:
        if app.secret is None or not secrets.compare_digest(form["client_secret"], app.secret):
            raise TokenError(
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request "
                f"is the client secret value, not the client secret ID, for a secret added to "
                f"app '{app.client_id}'.",
            )
    elif form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE and form.get(
        "client_assertion"
    ):
        _check_assertion(form["client_assertion"], app.client_id, login_base, tenant_name)
    else:
        raise TokenError(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
            status=401,
        )
    token = tokens.issue(app.client_id, app.roles)
    return {
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_S,
        "ext_expires_in": TOKEN_LIFETIME_S,
        "access_token": token,
    }


def _check_assertion(assertion: str, client_id: str, login_base: str, tenant_name: str) -> None:
    """The form of a client assertion (the signature is NOT verified)."""
    header, claims = decode_jwt(assertion)
    if header.get("alg") not in ("RS256", "PS256") or not (
        header.get("x5t") or header.get("x5t#S256")
    ):
        raise _malformed("the header needs alg RS256 or PS256 and an x5t or x5t#S256 thumbprint")
    expected_aud = token_endpoint(login_base, tenant_name)
    if claims.get("aud") != expected_aud:
        raise TokenError(
            "invalid_client",
            700212,  # number UNVERIFIED
            f"The client assertion's audience '{claims.get('aud')}' is not the token "
            f"endpoint '{expected_aud}'.",
        )
    if claims.get("iss") != claims.get("sub") or str(claims.get("iss")).lower() != client_id:
        raise TokenError(
            "invalid_client",
            700211,
            "The client assertion's issuer and subject must both be the client id.",
        )
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp <= time.time():
        raise TokenError(
            "invalid_client", 700024, "Client assertion is not within its valid time range."
        )


def _malformed(why: str) -> TokenError:
    return TokenError("invalid_request", 50027, f"JWT token is invalid or malformed: {why}.")


def decode_jwt(token: str) -> tuple[dict, dict]:
    """A JWT's header and claims, decoded without checking the signature."""
    parts = token.split(".")
    if len(parts) != 3:
        raise _malformed("not three dot-separated parts")
    try:
        decoded = [json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in parts[:2]]
    except (binascii.Error, ValueError):
        raise _malformed("undecodable header or claims") from None
    if not all(isinstance(d, dict) for d in decoded):
        raise _malformed("header and claims must be JSON objects")
    return decoded[0], decoded[1]
