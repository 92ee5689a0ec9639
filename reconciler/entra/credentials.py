"""The credential the tool proves itself with to Entra ID, in the form msal takes
(`client_credential` of `msal.ConfidentialClientApplication`).

Which one applies follows from the settings:
- the emulator: a throwaway RSA key and a self-signed certificate, made in memory once per
  process and never written anywhere; msal signs its assertion with it exactly as for Entra.
- `entra.provider.credentials: app.pem`: a PEM file holding the app's certificate and its
  unencrypted private key (the certificate is uploaded to the app registration); msal signs
  a client assertion with the key (https://learn.microsoft.com/en-us/entra/identity-platform/certificate-credentials).
- neither, in a GitHub Actions job with `permissions: id-token: write`: workload identity
  federation. GitHub's OIDC token, asked for the audience `api://AzureADTokenExchange`, is the
  client assertion itself; no secret exists anywhere
  (https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-create-trust).
  msal takes a callable for it and calls it whenever it sends a token request, so a token
  renewed late in a long run comes with a fresh OIDC token, not an expired one. (Checked in
  msal's source, 1.39: ConfidentialClientApplication hands `client_assertion` unchanged to
  its OAuth2 client, which calls it when it is callable; msal warns about a static string.)

No error here says anything the file holds, nor any token: only paths and what to fix.
"""

from __future__ import annotations

import datetime
import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from reconciler.files import FileTooLarge, RefusedFile, read_regular
from reconciler.problems import ReconcilerError

# GitHub Actions sets these in a job granted `permissions: id-token: write`.
OIDC_URL_ENV = "ACTIONS_ID_TOKEN_REQUEST_URL"
OIDC_TOKEN_ENV = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
# The audience Entra expects of a federated token.
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
# A certificate with its key is 3-5 KB; a chain a few times that.
MAX_PEM_BYTES = 64 * 1024
OIDC_TIMEOUT_S = 30.0


class EntraCredentialsError(ReconcilerError):
    """No credential for Entra ID could be made; the message says what to fix."""


def client_credential(
    entra: Any,
    root: Path,
    *,
    emulator: bool,
    env: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """msal's `client_credential` for `entra` (its `provider.kind` and `provider.credentials`).

    `root`: the state directory root a relative credentials path is read from. `env` (the
    process environment by default) and `session` (a new one by default) serve the GitHub
    OIDC exchange."""
    if emulator:
        return throwaway_credential()
    provider = getattr(entra, "provider", None)
    path = getattr(provider, "credentials", None)
    if path:
        pem = Path(path).expanduser()
        return certificate_credential(pem if pem.is_absolute() else root / pem)
    env = os.environ if env is None else env
    return {"client_assertion": GitHubAssertion.from_env(env, session)}


# -- the emulator ------------------------------------------------------------------------------


def throwaway_credential() -> dict[str, Any]:
    """A key and certificate that exist in this process only, in msal's certificate form."""
    key_pem, thumbprint = _throwaway()
    return {"private_key": key_pem, "thumbprint": thumbprint}


@functools.cache
def _throwaway() -> tuple[str, str]:
    # RSA 2048 takes tens of milliseconds: made once per process. The emulator does not
    # check the signature, but the assertion is made and signed as for Entra.
    key, cert = self_signed("reconciler emulator")
    return _key_pem(key), _sha1_thumbprint(cert)


def self_signed(common_name: str, days: int = 1) -> tuple[Any, x509.Certificate]:
    """A new RSA key and a self-signed certificate for it, valid from five minutes ago for
    `days` (for an emulator, which checks no signature; and for tests and benchmarks)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def self_signed_pem(common_name: str, days: int = 1) -> bytes:
    """`self_signed`'s certificate and unencrypted key in one PEM, as
    `entra.provider.credentials` takes them."""
    key, cert = self_signed(common_name, days)
    return cert.public_bytes(serialization.Encoding.PEM) + _key_pem(key).encode("ascii")


def _key_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _sha1_thumbprint(cert: x509.Certificate) -> str:
    """The SHA-1 thumbprint (of the DER) Entra shows for a certificate, as hex: msal puts it
    in the assertion's `x5t` header so Entra knows which of the app's certificates signed."""
    return cert.fingerprint(hashes.SHA1()).hex()  # an identifier, not a security use


# -- a certificate file ------------------------------------------------------------------------


def certificate_credential(path: Path) -> dict[str, Any]:
    """msal's certificate form from a PEM file holding a private key and its certificate."""

    def refuse(why: str) -> EntraCredentialsError:
        return EntraCredentialsError(
            f"Entra credentials: the certificate file {path} (entra.provider.credentials) {why}"
        )

    try:
        raw = read_regular(path, MAX_PEM_BYTES, follow=True)
    except FileNotFoundError:
        raise refuse("is not found") from None
    except FileTooLarge:
        raise refuse(f"is over {MAX_PEM_BYTES} bytes: not a certificate and key") from None
    except RefusedFile as exc:
        raise refuse(f"is {exc.strerror}") from None
    except OSError as exc:
        raise refuse(f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    fix = (
        "; it must hold the app's certificate and its unencrypted private key, both PEM "
        "(e.g. `cat cert.pem key.pem > app.pem`)"
    )
    if b"PRIVATE KEY-----" not in raw:
        raise refuse("holds no PEM private key" + fix)
    if b"-----BEGIN CERTIFICATE-----" not in raw:
        raise refuse("holds no PEM certificate" + fix)
    try:
        key = serialization.load_pem_private_key(raw, password=None)
    except TypeError:
        raise refuse("holds an encrypted private key" + fix) from None
    except Exception:  # its message may quote the file: say what is wrong in our words
        raise refuse("holds a private key that cannot be read" + fix) from None
    try:
        certs = x509.load_pem_x509_certificates(raw)
    except Exception:
        raise refuse("holds a certificate that cannot be read" + fix) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise refuse("holds a private key that is not RSA (Entra signs assertions with RSA)")
    public = key.public_key().public_numbers()
    matching = [
        cert
        for cert in certs
        if isinstance(cert.public_key(), rsa.RSAPublicKey)
        and cert.public_key().public_numbers() == public
    ]
    if not matching:
        raise refuse("holds no certificate of its private key (a key and certificate that differ)")
    return {"private_key": _key_pem(key), "thumbprint": _sha1_thumbprint(matching[0])}


# -- GitHub Actions OIDC -----------------------------------------------------------------------


class GitHubAssertion:
    """A callable msal invokes for a client assertion: a fresh GitHub OIDC token each time."""

    def __init__(self, url: str, request_token: str, session: requests.Session | None = None):
        self._url = url
        self._request_token = request_token
        self._session = session
        self.fetched = 0

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], session: requests.Session | None = None
    ) -> GitHubAssertion:
        url, token = env.get(OIDC_URL_ENV), env.get(OIDC_TOKEN_ENV)
        if not url or not token:
            raise EntraCredentialsError(
                "Entra credentials: none configured. Set entra.provider.credentials to a PEM "
                "file holding the app's certificate and private key, or run in a GitHub "
                "Actions job with `permissions: id-token: write` and a federated credential "
                f"on the app (neither {OIDC_URL_ENV} nor {OIDC_TOKEN_ENV} may be missing)"
            )
        return cls(url, token, session)

    def __repr__(self) -> str:  # never the request token
        return "GitHubAssertion()"

    def __call__(self) -> str:
        separator = "&" if "?" in self._url else "?"
        url = f"{self._url}{separator}audience={FEDERATED_AUDIENCE}"
        session = self._session or requests.Session()
        what = "Entra credentials: GitHub's OIDC token"
        try:
            response = session.get(
                url,
                headers={"Authorization": f"Bearer {self._request_token}"},
                timeout=OIDC_TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise EntraCredentialsError(
                f"{what} could not be fetched ({type(exc).__name__})"
            ) from None
        if response.status_code != 200:
            raise EntraCredentialsError(
                f"{what} was refused: HTTP {response.status_code} (does the job have "
                "`permissions: id-token: write`?)"
            )
        try:
            value = response.json().get("value")
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str) or value.count(".") != 2:
            raise EntraCredentialsError(f"{what}: the answer holds no token in `value`")
        self.fetched += 1
        return value
