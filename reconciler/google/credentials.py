"""Credentials for the Directory API: key file, keyless delegation, application default.

Which mode applies follows from the provider settings:
- `credentials: key.json` (+ `admin_subject`): a service account with domain-wide delegation.
- `service_account: sa@project.iam.gserviceaccount.com` (+ `admin_subject`), no key: keyless
  delegation. The ambient credentials (for example GitHub OIDC workload identity federation)
  sign the delegation JWT through the IAM signBlob API, so no key ever exists.
- neither: application default credentials, with `admin_subject` if they can delegate.
- a loopback `http://` endpoint and none of the above (the emulator): a throwaway service
  account signs its own assertion, with a key made in memory once per process, and gets its
  token from the endpoint's `/token`, so the same OAuth flow as with Google runs, with the
  same scopes; the subject is `admin_subject` (none: the service account acts as itself).
  Nothing to configure, nothing written anywhere.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from urllib.parse import urlsplit

import google.auth
import google.auth.crypt
import google.auth.iam
from google.auth.credentials import Credentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from reconciler.problems import ReconcilerError
from reconciler.settings import GoogleProvider

SCOPE_ROOT = "https://www.googleapis.com/auth/"
WRITE_SCOPES = (
    "admin.directory.user",
    "admin.directory.group",
    "admin.directory.orgunit",
    "admin.directory.userschema",
)
# Read in every run, apply included (it plans again first): only ever read-only, since
# nothing here changes the tenant's domains.
DOMAIN_SCOPE = "admin.directory.domain.readonly"
TOKEN_URI = "https://oauth2.googleapis.com/token"
# Whom the throwaway credentials for a loopback emulator claim to be; never sent elsewhere.
LOOPBACK_SERVICE_ACCOUNT = "reconciler@emulator.invalid"
# A key file path from the environment (a CI secret written to a temporary file) overrides
# provider.credentials, so the key never needs a fixed path in the repository.
CREDENTIALS_ENV = "RECONCILER_GOOGLE_CREDENTIALS"


class CredentialsError(ReconcilerError):
    """Credentials could not be built; the message says what to fix."""


def scopes(read_only: bool) -> list[str]:
    """The least scopes for the job: read-only ones for planning, read-write for applying,
    and the domains' read-only scope for both."""
    suffix = ".readonly" if read_only else ""
    return [*(SCOPE_ROOT + s + suffix for s in WRITE_SCOPES), SCOPE_ROOT + DOMAIN_SCOPE]


def is_loopback_http(endpoint: str | None) -> bool:
    if not endpoint:
        return False
    parts = urlsplit(endpoint)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def build_credentials(
    provider: GoogleProvider, root: Path, endpoint: str | None, read_only: bool
) -> Credentials | None:
    """Credentials for `provider` (for a loopback endpoint, throwaway ones)."""
    wanted = scopes(read_only)
    subject = provider.admin_subject
    key_file = os.environ.get(CREDENTIALS_ENV) or provider.credentials
    try:
        if key_file:
            key = Path(key_file).expanduser()
            key = key if key.is_absolute() else root / key
            if not key.is_file():
                named_by = (
                    CREDENTIALS_ENV if os.environ.get(CREDENTIALS_ENV) else "provider.credentials"
                )
                raise CredentialsError(f"{named_by}: key file {key} not found")
            return service_account.Credentials.from_service_account_file(
                str(key), scopes=wanted, subject=subject
            )
        if provider.service_account:
            return keyless_credentials(provider.service_account, subject, wanted)
        if is_loopback_http(endpoint) and endpoint is not None:
            return loopback_credentials(endpoint, subject, wanted)
        creds, _ = google.auth.default(scopes=wanted)
        if subject and hasattr(creds, "with_subject"):
            creds = creds.with_subject(subject)
        return creds
    except (DefaultCredentialsError, ValueError, OSError) as exc:
        raise CredentialsError(f"Google credentials: {exc}") from None
    except GoogleAuthError as exc:
        raise CredentialsError(f"Google credentials: {exc}") from None


def loopback_credentials(
    endpoint: str, subject: str | None, wanted: list[str]
) -> service_account.Credentials:
    """Credentials for an emulator on loopback: a throwaway service account whose assertion
    (signed with a key that exists in this process only) is granted at `endpoint`/token."""
    token_uri = endpoint.rstrip("/") + "/token"
    return service_account.Credentials(
        _throwaway_signer(), LOOPBACK_SERVICE_ACCOUNT, token_uri, scopes=wanted, subject=subject
    )


@functools.cache
def _throwaway_signer() -> google.auth.crypt.Signer:
    # Made once per process (RSA 2048 takes ~50 ms), kept in memory only: the emulator does
    # not check signatures, but the assertion is made and signed exactly as for Google.
    from cryptography.hazmat.primitives.asymmetric import rsa

    return google.auth.crypt.RSASigner(rsa.generate_private_key(65537, 2048))


def keyless_credentials(
    service_account_email: str, subject: str | None, wanted: list[str], source=None
) -> service_account.Credentials:
    """Domain-wide delegation without a key: the ambient (e.g. federated) credentials sign the
    delegation JWT with the service account's Google-managed key through IAM signBlob."""
    if source is None:
        source, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    signer = google.auth.iam.Signer(Request(), source, service_account_email)
    return service_account.Credentials(
        signer, service_account_email, TOKEN_URI, scopes=wanted, subject=subject
    )


# -- when Google refuses them ------------------------------------------------------------------

_DELEGATION = "Admin console > Security > API controls > Domain-wide delegation"


def token_refused(exc: GoogleAuthError) -> str:
    """What to tell the user when the token endpoint refused the credentials: Google's words
    (never the assertion), then what to check."""
    words = str(exc.args[0]) if exc.args else str(exc)
    error = words.split(":", 1)[0].strip()
    hint = {
        "invalid_grant": "provider.admin_subject must be a user of the tenant (a super admin), "
        "and the key must be the service account's",
        "unauthorized_client": f"the service account's client id must be listed under "
        f"{_DELEGATION} with every scope the command asks for",
    }.get(error)
    return f"Google refused the credentials: {words}" + (f" ({hint})" if hint else "")


def access_hint(status: int, reason: str, message: str) -> str:
    """A hint for an API call refused for want of rights, or ''."""
    if status == 403 and reason == "forbidden" and message.startswith("Not Authorized"):
        return " (the credentials must act as a super admin: check provider.admin_subject)"
    if status == 403 and reason == "insufficientPermissions":
        return f" (the token lacks a scope this call needs: check {_DELEGATION})"
    return ""
