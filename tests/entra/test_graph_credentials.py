"""Credentials for Entra ID: the emulator's throwaway certificate (used by msal for real),
certificate files and their errors, and the GitHub OIDC exchange."""

from __future__ import annotations

import base64
import datetime
import json
import warnings
from pathlib import Path
from types import SimpleNamespace as NS
from urllib.parse import parse_qs

import msal
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from entra.fakes import FakeAdapter
from reconciler.entra.client import LOGIN, MsalTokens
from reconciler.entra.credentials import (
    OIDC_TOKEN_ENV,
    OIDC_URL_ENV,
    EntraCredentialsError,
    GitHubAssertion,
    client_credential,
)
from reconciler.problems import ReconcilerError

TENANT = "contoso-tenant"


def entra(credentials=None, kind="graph"):
    return NS(
        tenant_id=TENANT,
        client_id="client-1",
        provider=NS(kind=kind, credentials=credentials, endpoint=None),
    )


def login_service(tokens: list[str], bodies: list[dict]):
    """A handler standing in for the login service: discovery, then tokens."""

    def handler(request):
        if request.url.endswith("/v2.0/.well-known/openid-configuration"):
            base = f"{LOGIN}/{TENANT}"
            return (
                200,
                {},
                {
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "issuer": f"{base}/v2.0",
                },
            )
        if request.url == f"{LOGIN}/{TENANT}/oauth2/v2.0/token":
            bodies.append({k: v[0] for k, v in parse_qs(request.body).items()})
            tokens.append(f"token-{len(tokens) + 1}")
            return 200, {}, {"token_type": "Bearer", "expires_in": 3599, "access_token": tokens[-1]}
        return 404, {}, {}

    return handler


def msal_app(credential, handler):
    session = requests.Session()
    session.mount("https://", FakeAdapter(handler))
    return msal.ConfidentialClientApplication(
        "client-1",
        authority=f"{LOGIN}/{TENANT}",
        client_credential=credential,
        http_client=session,
    )


def jwt_part(token: str, index: int) -> dict:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_the_errors_are_ones_the_cli_reports_without_a_traceback():
    assert issubclass(EntraCredentialsError, ReconcilerError)


def test_the_emulator_credential_is_signed_by_msal_with_the_certificate_thumbprint():
    credential = client_credential(entra(kind="emulator"), Path("/nowhere"), emulator=True)
    assert set(credential) == {"private_key", "thumbprint"}
    assert credential["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert len(credential["thumbprint"]) == 40
    tokens, bodies = [], []
    app = msal_app(credential, login_service(tokens, bodies))
    assert MsalTokens(app)() == "token-1"
    sent = bodies[0]
    assert sent["grant_type"] == "client_credentials"
    assert sent["scope"].split()[0] == "https://graph.microsoft.com/.default"
    header = jwt_part(sent["client_assertion"], 0)
    claims = jwt_part(sent["client_assertion"], 1)
    thumb = base64.urlsafe_b64decode(header["x5t"] + "=" * (-len(header["x5t"]) % 4))
    assert thumb.hex() == credential["thumbprint"]
    assert claims["iss"] == claims["sub"] == "client-1"
    assert claims["aud"] == f"{LOGIN}/{TENANT}/oauth2/v2.0/token"


def test_the_emulator_credential_is_made_once_per_process():
    first = client_credential(entra(kind="emulator"), Path("/x"), emulator=True)
    again = client_credential(entra(kind="emulator"), Path("/x"), emulator=True)
    assert first == again


def make_pem(tmp_path: Path, name="app.pem", key=None, cert_key=None, encrypt=False) -> str:
    """Writes a PEM file of a certificate and key; returns the certificate's thumbprint."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_key = cert_key or key
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(cert_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(cert_key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(b"pw") if encrypt else serialization.NoEncryption()
    )
    path = tmp_path / name
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    )
    return cert.fingerprint(hashes.SHA1()).hex()


def test_a_certificate_file_relative_to_the_root_gives_its_key_and_thumbprint(tmp_path):
    thumbprint = make_pem(tmp_path)
    credential = client_credential(entra("app.pem"), tmp_path, emulator=False)
    assert credential["thumbprint"] == thumbprint
    tokens, bodies = [], []
    assert MsalTokens(msal_app(credential, login_service(tokens, bodies)))() == "token-1"
    assert "x5t" in jwt_part(bodies[0]["client_assertion"], 0)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "is not found"),
        (b"hello", "holds no PEM private key"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no PEM certificate"),
        (
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            b"-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n",
            "private key that cannot be read",
        ),
    ],
)
def test_a_bad_certificate_file_is_named_and_its_content_never_shown(tmp_path, content, said):
    if content is not None:
        (tmp_path / "app.pem").write_bytes(content)
    with pytest.raises(EntraCredentialsError) as caught:
        client_credential(entra("app.pem"), tmp_path, emulator=False)
    message = str(caught.value)
    assert str(tmp_path / "app.pem") in message
    assert said in message
    assert "SECRET" not in message


def test_a_directory_instead_of_a_file_is_refused(tmp_path):
    (tmp_path / "app.pem").mkdir()
    with pytest.raises(EntraCredentialsError, match=r"app\.pem"):
        client_credential(entra("app.pem"), tmp_path, emulator=False)


def test_an_encrypted_key_is_refused_saying_so(tmp_path):
    make_pem(tmp_path, encrypt=True)
    with pytest.raises(EntraCredentialsError, match="encrypted private key"):
        client_credential(entra("app.pem"), tmp_path, emulator=False)


def test_a_certificate_of_another_key_is_refused(tmp_path):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    make_pem(tmp_path, cert_key=other)
    with pytest.raises(EntraCredentialsError, match="no certificate of its private key"):
        client_credential(entra("app.pem"), tmp_path, emulator=False)


def test_a_key_that_is_not_rsa_is_refused(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    make_pem(tmp_path, key=key)
    with pytest.raises(EntraCredentialsError, match="not RSA"):
        client_credential(entra("app.pem"), tmp_path, emulator=False)


def test_without_credentials_or_github_oidc_the_error_says_what_to_set():
    with pytest.raises(EntraCredentialsError) as caught:
        client_credential(entra(), Path("/x"), emulator=False, env={})
    message = str(caught.value)
    assert "entra.provider.credentials" in message
    assert "id-token: write" in message


def oidc(answers: list, seen: list):
    def handler(request):
        seen.append(request)
        return answers.pop(0)

    session = requests.Session()
    session.mount("https://", FakeAdapter(handler))
    return session


GITHUB_ENV = {
    OIDC_URL_ENV: "https://actions.example/token?api-version=2.0",
    OIDC_TOKEN_ENV: "request-secret",
}


def test_github_oidc_is_a_callable_msal_calls_for_a_fresh_token_each_time():
    seen: list = []
    session = oidc([(200, {}, {"value": "a.b.c"}), (200, {}, {"value": "d.e.f"})], seen)
    credential = client_credential(
        entra(), Path("/x"), emulator=False, env=GITHUB_ENV, session=session
    )
    assertion = credential["client_assertion"]
    assert callable(assertion) and not seen  # nothing fetched before a token is needed
    assert "request-secret" not in repr(assertion)
    tokens, bodies = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # a static string warns
        app = msal_app(credential, login_service(tokens, bodies))
    minted = MsalTokens(app)
    assert minted() == "token-1"
    assert minted(fresh=True) == "token-2"
    assert [b["client_assertion"] for b in bodies] == ["a.b.c", "d.e.f"]
    assert seen[0].url == (
        "https://actions.example/token?api-version=2.0&audience=api://AzureADTokenExchange"
    )
    assert seen[0].headers["Authorization"] == "Bearer request-secret"


def test_github_oidc_refused_says_what_the_job_needs():
    session = oidc([(403, {}, {"message": "no"})], [])
    with pytest.raises(EntraCredentialsError, match="id-token: write"):
        GitHubAssertion.from_env(GITHUB_ENV, session)()


def test_github_oidc_without_a_token_in_the_answer_is_an_error():
    session = oidc([(200, {}, {"other": 1})], [])
    with pytest.raises(EntraCredentialsError, match="no token"):
        GitHubAssertion.from_env(GITHUB_ENV, session)()
