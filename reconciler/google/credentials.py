"""Credentials for the Directory API: key file, keyless delegation, application default.

Which mode applies follows from the provider settings:
- `credentials: key.json` (+ `admin_subject`): a service account with domain-wide delegation.
- `service_account: sa@project.iam.gserviceaccount.com` (+ `admin_subject`), no key: keyless
  delegation. The ambient credentials (for example GitHub OIDC workload identity federation)
  sign the delegation JWT through the IAM signBlob API, so no key ever exists.
- neither: application default credentials, with `admin_subject` if they can delegate.
- a loopback `http://` endpoint and none of the above: no credentials (the emulator).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import google.auth
import google.auth.iam
from google.auth.credentials import Credentials
from google.auth.exceptions import DefaultCredentialsError, GoogleAuthError
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from reconciler.problems import ReconcilerError, not_a_file, one_line
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
    """Credentials for `provider` (None: talk to a loopback endpoint without any)."""
    wanted = scopes(read_only)
    subject = provider.admin_subject
    key_file = os.environ.get(CREDENTIALS_ENV) or provider.credentials
    try:
        if key_file:
            key = Path(key_file).expanduser()
            key = key if key.is_absolute() else root / key
            named_by = (
                CREDENTIALS_ENV if os.environ.get(CREDENTIALS_ENV) else "provider.credentials"
            )
            why = not_a_file(key)
            if why:
                raise CredentialsError(f"{named_by}: key file {one_line(str(key))} {why}")
            return service_account.Credentials.from_service_account_info(
                _key_info(key, named_by), scopes=wanted, subject=subject
            )
        if provider.service_account:
            return keyless_credentials(provider.service_account, subject, wanted)
        if is_loopback_http(endpoint):
            return None
        creds, _ = google.auth.default(scopes=wanted)
        if subject and hasattr(creds, "with_subject"):
            creds = creds.with_subject(subject)
        return creds
    except (DefaultCredentialsError, ValueError, OSError) as exc:
        raise CredentialsError(f"Google credentials: {exc}") from None
    except GoogleAuthError as exc:
        raise CredentialsError(f"Google credentials: {exc}") from None


def _key_info(key: Path, named_by: str) -> dict:
    """The parsed key file; its contents are never echoed in an error (it is a secret)."""
    shown = one_line(str(key))
    try:
        info = json.loads(key.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CredentialsError(
            f"{named_by}: key file {shown} is not JSON; download a service account key "
            "(a JSON object) again"
        ) from None
    if not isinstance(info, dict):
        kind = "a list" if isinstance(info, list) else f"a JSON {type(info).__name__}"
        raise CredentialsError(
            f"{named_by}: key file {shown} holds {kind}, not a service account key "
            "(a JSON object with type, client_email, private_key, ...)"
        )
    return info


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
