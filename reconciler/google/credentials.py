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
import json
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

from reconciler.files import FileTooLarge, RefusedFile, read_regular
from reconciler.problems import ReconcilerError, excerpt
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
# A service-account key file is about 2.3 KB.
MAX_KEY_FILE_BYTES = 64 * 1024
# Fields a key file must hold as text (google-auth reads them; other fields it may ignore).
KEY_TEXT_FIELDS = ("client_email", "token_uri", "private_key")


class CredentialsError(ReconcilerError):
    """Credentials could not be built; the message says what to fix."""


# Asked for only when offboarding is configured (an `offboarding:` block, or a security
# timestamp on a user): listing and revoking tokens, app passwords and backup codes, and
# signing out, take the user security scope, which has no read-only form; transfers take
# the Data Transfer API's.
SECURITY_SCOPE = "admin.directory.user.security"
TRANSFER_SCOPE = "admin.datatransfer"
# Asked for only when licenses are configured: the Licensing API has this one scope, for
# reads and writes alike (its discovery document lists no read-only one).
LICENSING_SCOPE = "apps.licensing"
# Asked for only when group settings are managed: the Groups Settings API has this one
# scope, for reads and writes alike (its discovery document lists no read-only one).
GROUP_SETTINGS_SCOPE = "apps.groups.settings"


def scopes(
    read_only: bool,
    offboarding: bool = False,
    licenses: bool = False,
    group_settings: bool = False,
) -> list[str]:
    """The least scopes for the job: read-only ones for planning, read-write for applying,
    and the domains' read-only scope for both; with `offboarding`, the user security scope
    (read and write alike: Google has no read-only one) and the Data Transfer scope; with
    `licenses`, the Licensing API's, and with `group_settings` the Groups Settings API's
    (neither has a read-only one)."""
    suffix = ".readonly" if read_only else ""
    found = [*(SCOPE_ROOT + s + suffix for s in WRITE_SCOPES), SCOPE_ROOT + DOMAIN_SCOPE]
    if offboarding:
        found += [SCOPE_ROOT + SECURITY_SCOPE, SCOPE_ROOT + TRANSFER_SCOPE + suffix]
    if licenses:
        found.append(SCOPE_ROOT + LICENSING_SCOPE)
    if group_settings:
        found.append(SCOPE_ROOT + GROUP_SETTINGS_SCOPE)
    return found


def is_loopback_http(endpoint: str | None) -> bool:
    if not endpoint:
        return False
    parts = urlsplit(endpoint)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def build_credentials(
    provider: GoogleProvider,
    root: Path,
    endpoint: str | None,
    read_only: bool,
    offboarding: bool = False,
    *,
    licenses: bool = False,
    group_settings: bool = False,
) -> Credentials | None:
    """Credentials for `provider` (for a loopback endpoint, throwaway ones)."""
    wanted = scopes(read_only, offboarding, licenses, group_settings)
    subject = provider.admin_subject
    key_file = os.environ.get(CREDENTIALS_ENV) or provider.credentials
    try:
        if key_file:
            key = Path(key_file).expanduser()
            key = key if key.is_absolute() else root / key
            named_by = (
                CREDENTIALS_ENV if os.environ.get(CREDENTIALS_ENV) else "provider.credentials"
            )
            if not key.exists():
                raise CredentialsError(f"{named_by}: key file {key} not found")
            return key_file_credentials(key, named_by, wanted, subject)
        if provider.service_account:
            return keyless_credentials(provider.service_account, subject, wanted)
        if is_loopback_http(endpoint) and endpoint is not None:
            return loopback_credentials(endpoint, subject, wanted)
        try:
            creds, _ = google.auth.default(scopes=wanted)
        except (TypeError, AttributeError, KeyError) as exc:  # a file of a shape it did not expect
            raise CredentialsError(
                "Google credentials: the application default credentials cannot be read "
                f"({type(exc).__name__}); check the file GOOGLE_APPLICATION_CREDENTIALS names"
            ) from None
        if subject and hasattr(creds, "with_subject"):
            creds = creds.with_subject(subject)
        return creds
    except (DefaultCredentialsError, ValueError, OSError) as exc:
        raise CredentialsError(f"Google credentials: {_own_words(exc)}") from None
    except GoogleAuthError as exc:
        raise CredentialsError(f"Google credentials: {_own_words(exc)}") from None


def describe(provider: GoogleProvider, endpoint: str | None) -> str:
    """Which credentials build_credentials uses for `provider` (in its order), in words that
    name where they come from and never what they hold."""
    from_env = os.environ.get(CREDENTIALS_ENV)
    if from_env or provider.credentials:
        named_by = CREDENTIALS_ENV if from_env else "provider.credentials"
        return f"a service-account key file ({named_by}: {from_env or provider.credentials})"
    if provider.service_account:
        return f"keyless delegation through {provider.service_account}"
    if is_loopback_http(endpoint):
        return f"throwaway credentials for the emulator at {endpoint}"
    return "application default credentials"


def _own_words(exc: Exception) -> str:
    """An error of google-auth (application default credentials) without what it quotes
    from a credentials file: its first sentence only, never the error it wraps (whose
    text may hold the key), at most 200 characters."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__
    sentence, dot, _ = first.partition(". ")
    return excerpt(sentence + dot.strip(), 200)


def key_file_credentials(
    key: Path, named_by: str, wanted: list[str], subject: str | None
) -> service_account.Credentials:
    """Credentials from a service-account key file. No error says anything that is in the
    file: google-auth's messages quote values (a `private_key` that is a list is printed
    whole), so the file is checked here, and any failure after that is told in our words.
    A link to the file is followed (secret mounts are links), but only a regular file of at
    most MAX_KEY_FILE_BYTES is read: not a FIFO that would hang, nor a device."""

    def refuse(why: str) -> CredentialsError:
        return CredentialsError(f"Google credentials: the key file {key} ({named_by}) {why}")

    try:
        raw = read_regular(key, MAX_KEY_FILE_BYTES, follow=True)
    except FileTooLarge:
        raise refuse(f"is over {MAX_KEY_FILE_BYTES} bytes: not a service-account key") from None
    except RefusedFile as exc:
        raise refuse(f"is {exc.strerror}") from None
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    try:
        info = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise refuse("is not text (not UTF-8): not a service-account key (JSON)") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise refuse(f"is not valid JSON ({where}): not a whole service-account key") from None
    except RecursionError:
        raise refuse("is nested too deeply: not a service-account key") from None
    if not isinstance(info, dict):
        kind = "a list" if isinstance(info, list) else f"a JSON {type(info).__name__}"
        raise refuse(f"holds {kind}, not a JSON object: not a service-account key")
    missing = [name for name in KEY_TEXT_FIELDS if name not in info]
    if missing:
        raise refuse(f"lacks {', '.join(missing)}: not a service-account key")
    not_text = [
        name
        for name in (*KEY_TEXT_FIELDS, "private_key_id")
        if name in info and not isinstance(info[name], str)
    ]
    if not_text:
        raise refuse(f"holds {', '.join(not_text)} as something other than text")
    try:
        return service_account.Credentials.from_service_account_info(
            info, scopes=wanted, subject=subject
        )
    except Exception:  # its message may quote the key: say what is wrong in our words
        raise refuse(
            "holds a private_key that cannot be read (not an unencrypted PEM private key); "
            "create a new key for the service account"
        ) from None


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
        return (
            " (the credentials must act as a super admin, or a delegated admin whose role "
            "allows this call: check provider.admin_subject)"
        )
    if status == 403 and reason == "insufficientPermissions":
        return f" (the token lacks a scope this call needs: check {_DELEGATION})"
    return ""
