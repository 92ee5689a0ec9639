"""Credentials for each mode, without the network: token grants go to the emulator's /token,
IAM signing and application default credentials are faked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import google.auth
import google.auth.iam
import pytest
from conftest import Sent, stats
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.exceptions import DefaultCredentialsError
from google.oauth2 import service_account
from google_auth_httplib2 import AuthorizedHttp

from reconciler.emulator.auth import Tokens
from reconciler.emulator.server import JWT_BEARER, jwt_claims
from reconciler.google.client import Call, GoogleApiError, GoogleClient
from reconciler.google.credentials import (
    LOOPBACK_SERVICE_ACCOUNT,
    SCOPE_ROOT,
    TOKEN_URI,
    CredentialsError,
    build_credentials,
    is_loopback_http,
    keyless_credentials,
    loopback_credentials,
    scopes,
)
from reconciler.google.domains import read_domains
from reconciler.settings import GoogleProvider

ADMIN = "admin@example.com"
SERVICE_ACCOUNT = "reconciler@acme-identity.iam.gserviceaccount.com"
READ_SCOPES = [
    SCOPE_ROOT + s
    for s in (
        "admin.directory.user.readonly",
        "admin.directory.group.readonly",
        "admin.directory.orgunit.readonly",
        "admin.directory.userschema.readonly",
    )
]
# Every run reads the tenant's domains, apply included (it plans first); only ever read-only.
DOMAIN_SCOPE = SCOPE_ROOT + "admin.directory.domain.readonly"
WRITE_SCOPES = [*(s.removesuffix(".readonly") for s in READ_SCOPES), DOMAIN_SCOPE]
READ_SCOPES.append(DOMAIN_SCOPE)


def test_scopes_are_the_least_for_the_job():
    assert scopes(read_only=True) == READ_SCOPES
    assert scopes(read_only=False) == WRITE_SCOPES


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost:8080/", True),
        ("http://[::1]:8080", True),
        ("https://127.0.0.1:8080", False),
        ("http://proxy.example.com", False),
        ("http://127.0.0.1.example.com", False),
        (None, False),
        ("", False),
    ],
)
def test_is_loopback_http(endpoint, loopback):
    assert is_loopback_http(endpoint) is loopback


# -- a key file with domain-wide delegation ----------------------------------------------------


@pytest.fixture(scope="module")
def private_key_pem() -> str:
    """A throwaway RSA key, made once for the module."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def write_key(path: Path, pem: str, token_uri: str) -> Path:
    info = {
        "type": "service_account",
        "project_id": "acme-identity",
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": SERVICE_ACCOUNT,
        "client_id": "100000000000000000001",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    }
    path.write_text(json.dumps(info))
    return path


def token_claims(sent: list[Sent], token_uri: str) -> list[dict[str, Any]]:
    """The claims of every JWT-bearer grant sent to `token_uri`."""
    claims = []
    for request in sent:
        if request.uri == token_uri and request.method == "POST":
            form = parse_qs(request.body)
            assert form["grant_type"] == [JWT_BEARER]
            claims.append(jwt_claims(form["assertion"][0]))
    return claims


@pytest.mark.parametrize("read_only", [True, False])
def test_key_file_with_delegation(read_only, emulator, tmp_path, private_key_pem, sent):
    token_uri = emulator.base_url + "/token"
    write_key(tmp_path / "key.json", private_key_pem, token_uri)
    provider = GoogleProvider(kind="google", credentials="key.json", admin_subject=ADMIN)
    client = GoogleClient.connect(
        provider, tmp_path, read_only=read_only, endpoint=emulator.base_url
    )
    assert isinstance(client.http, AuthorizedHttp)
    credentials = client.http.credentials
    assert isinstance(credentials, service_account.Credentials)
    request = client.service.users().get(userKey=ADMIN, fields="primaryEmail")
    assert client.must(Call(request, "users.get")) == {"primaryEmail": ADMIN}
    assert stats(emulator)["token_grants"] == 1
    [claims] = token_claims(sent, token_uri)
    assert claims["sub"] == ADMIN and claims["iss"] == SERVICE_ACCOUNT
    assert claims["aud"] == TOKEN_URI  # google-auth's audience, wherever the grant goes
    assert claims["scope"].split() == (READ_SCOPES if read_only else WRITE_SCOPES)
    api_calls = [r for r in sent if "/admin/directory/v1/" in r.uri]
    assert api_calls and all(r.headers["authorization"].startswith("Bearer ") for r in api_calls)


def test_key_file_path_forms(tmp_path, private_key_pem, monkeypatch):
    key = write_key(tmp_path / "key.json", private_key_pem, "http://127.0.0.1:9/token")
    relative = GoogleProvider(kind="google", credentials="key.json", admin_subject=ADMIN)
    absolute = GoogleProvider(kind="google", credentials=str(key), admin_subject=ADMIN)
    monkeypatch.setenv("HOME", str(tmp_path))
    home = GoogleProvider(kind="google", credentials="~/key.json", admin_subject=ADMIN)
    for provider, root in ((relative, tmp_path), (absolute, Path("/")), (home, Path("/"))):
        credentials = build_credentials(provider, root, None, read_only=True)
        assert isinstance(credentials, service_account.Credentials)
        assert credentials.service_account_email == SERVICE_ACCOUNT


def test_missing_or_broken_key_file(tmp_path):
    missing = GoogleProvider(kind="google", credentials="nope.json", admin_subject=ADMIN)
    with pytest.raises(CredentialsError, match=r"key file .*nope.json not found"):
        build_credentials(missing, tmp_path, None, read_only=True)
    (tmp_path / "broken.json").write_text('{"type": "service_account"}')
    broken = GoogleProvider(kind="google", credentials="broken.json", admin_subject=ADMIN)
    with pytest.raises(CredentialsError, match="Google credentials"):
        build_credentials(broken, tmp_path, None, read_only=True)


# -- keyless: the service account signs through IAM ------------------------------------------


class FakeSource:
    """Ambient credentials (e.g. federated) that are never asked for a token here."""

    token = "ambient-token"
    valid = True


@pytest.fixture
def signed(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """IAM signBlob, faked: what would be signed is recorded, no request is made."""
    messages: list[bytes] = []

    def sign(self: Any, message: bytes) -> bytes:
        messages.append(message)
        return b"signature-from-iam"

    monkeypatch.setattr(google.auth.iam.Signer, "sign", sign)
    return messages


def assertion_claims(credentials: service_account.Credentials) -> dict[str, Any]:
    assertion = credentials._make_authorization_grant_assertion()
    claims = jwt_claims(assertion.decode() if isinstance(assertion, bytes) else assertion)
    assert claims is not None
    return claims


@pytest.mark.parametrize("read_only", [True, False])
def test_keyless_delegation(read_only, signed):
    wanted = scopes(read_only)
    credentials = keyless_credentials(SERVICE_ACCOUNT, ADMIN, wanted, source=FakeSource())
    assert isinstance(credentials, service_account.Credentials)
    assert isinstance(credentials.signer, google.auth.iam.Signer)
    assert credentials.signer._credentials.token == "ambient-token"
    assert credentials.signer._service_account_email == SERVICE_ACCOUNT
    assert credentials.service_account_email == SERVICE_ACCOUNT
    assert list(credentials.scopes) == wanted
    claims = assertion_claims(credentials)
    assert (claims["sub"], claims["iss"], claims["aud"]) == (ADMIN, SERVICE_ACCOUNT, TOKEN_URI)
    assert claims["scope"].split() == wanted
    assert len(signed) == 1  # the JWT was signed by IAM, not by a key


def test_keyless_from_provider_uses_ambient_credentials(monkeypatch, signed):
    asked: list[Any] = []

    def default(scopes=None, **_kwargs):
        asked.append(scopes)
        return FakeSource(), "acme-identity"

    monkeypatch.setattr(google.auth, "default", default)
    provider = GoogleProvider(kind="google", service_account=SERVICE_ACCOUNT, admin_subject=ADMIN)
    credentials = build_credentials(provider, Path("."), None, read_only=True)
    assert asked == [["https://www.googleapis.com/auth/cloud-platform"]]
    assert isinstance(credentials, service_account.Credentials)
    assert isinstance(credentials.signer, google.auth.iam.Signer)
    assert assertion_claims(credentials)["sub"] == ADMIN
    assert list(credentials.scopes) == READ_SCOPES


# -- application default credentials ---------------------------------------------------------


class FakeDefault:
    def __init__(self, subject: str | None = None):
        self.subject = subject

    def with_subject(self, subject: str) -> FakeDefault:
        return FakeDefault(subject)


def fake_default(monkeypatch: pytest.MonkeyPatch, credentials: Any) -> list[Any]:
    asked: list[Any] = []

    def default(scopes=None, **_kwargs):
        asked.append(scopes)
        return credentials, "acme-identity"

    monkeypatch.setattr(google.auth, "default", default)
    return asked


def test_application_default_with_delegation(monkeypatch):
    asked = fake_default(monkeypatch, FakeDefault())
    provider = GoogleProvider(kind="google", admin_subject=ADMIN)
    credentials = build_credentials(provider, Path("."), None, read_only=False)
    assert isinstance(credentials, FakeDefault) and credentials.subject == ADMIN
    assert asked == [WRITE_SCOPES]


def test_application_default_without_a_subject_or_delegation(monkeypatch):
    fake_default(monkeypatch, FakeDefault())
    plain = build_credentials(GoogleProvider(kind="google"), Path("."), None, read_only=True)
    assert isinstance(plain, FakeDefault) and plain.subject is None
    user_credentials = object()  # e.g. gcloud user credentials: no with_subject
    fake_default(monkeypatch, user_credentials)
    provider = GoogleProvider(kind="google", admin_subject=ADMIN)
    assert build_credentials(provider, Path("."), None, read_only=True) is user_credentials


def test_application_default_for_a_remote_endpoint(monkeypatch):
    # Only loopback http goes without credentials: a proxy elsewhere gets them.
    fake_default(monkeypatch, FakeDefault())
    endpoint = "https://directory-proxy.example.com"
    credentials = build_credentials(GoogleProvider(kind="google"), Path("."), endpoint, True)
    assert isinstance(credentials, FakeDefault)


def test_no_application_default_credentials(monkeypatch):
    def missing(*_args, **_kwargs):
        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", missing)
    with pytest.raises(CredentialsError, match="default credentials were not found"):
        build_credentials(GoogleProvider(kind="google"), Path("."), None, read_only=True)


# -- loopback: throwaway credentials, the same OAuth flow -------------------------------------


def test_loopback_endpoint_gets_throwaway_credentials(emulator, tmp_path, sent):
    # The autouse fixture makes google.auth.default fail: it is never called here.
    credentials = build_credentials(
        GoogleProvider(kind="google"), tmp_path, emulator.base_url, True
    )
    assert isinstance(credentials, service_account.Credentials)
    assert credentials.service_account_email == LOOPBACK_SERVICE_ACCOUNT
    assert list(credentials.scopes) == scopes(read_only=True)
    client = GoogleClient.connect(
        GoogleProvider(kind="google", admin_subject=ADMIN),
        tmp_path,
        read_only=True,
        endpoint=emulator.base_url,
    )
    assert isinstance(client.http, AuthorizedHttp)
    for _ in range(3):
        client.must(Call(client.service.users().get(userKey=ADMIN), "users.get"))
    seen = stats(emulator)
    assert seen["token_grants"] == 1  # one token for the run, not one per call
    assert seen["token_scopes"] == {scope: 1 for scope in scopes(read_only=True)}
    [claims] = token_claims(sent, emulator.base_url + "/token")
    assert (claims["sub"], claims["iss"]) == (ADMIN, LOOPBACK_SERVICE_ACCOUNT)
    assert claims["scope"].split() == scopes(read_only=True)
    api_calls = [r for r in sent if "/admin/directory/v1/" in r.uri]
    assert len(api_calls) == 3
    assert all(r.headers["authorization"].startswith("Bearer ") for r in api_calls)


def test_the_throwaway_key_is_made_once_per_process(emulator):
    first = loopback_credentials(emulator.base_url, None, scopes(read_only=True))
    second = loopback_credentials("http://127.0.0.1:9", ADMIN, scopes(read_only=False))
    assert first.signer is second.signer
    assert second._token_uri == "http://127.0.0.1:9/token"


def test_a_loopback_subject_that_is_no_user_is_refused_with_a_hint(emulator, tmp_path):
    client = GoogleClient.connect(
        GoogleProvider(kind="google", admin_subject="nobody@example.com"),
        tmp_path,
        read_only=True,
        endpoint=emulator.base_url,
    )
    outcome = client.execute(Call(client.service.users().get(userKey=ADMIN), "users.get"))
    assert not outcome.ok and outcome.attempts == 1  # refused for good: not retried
    assert outcome.error == (
        "Google refused the credentials: invalid_grant: Invalid email or User ID "
        "(provider.admin_subject must be a user of the tenant (a super admin), and the key "
        "must be the service account's)"
    )
    assert stats(emulator)["token_grants"] == 0


def test_a_subject_who_is_not_an_admin_is_refused_with_a_hint(emulator, tmp_path):
    client = GoogleClient.connect(
        GoogleProvider(kind="google", admin_subject="ana.ruiz@example.com"),
        tmp_path,
        read_only=True,
        endpoint=emulator.base_url,
    )
    outcome = client.execute(Call(client.service.users().get(userKey=ADMIN), "users.get"))
    assert not outcome.ok and (outcome.status, outcome.reason) == (403, "forbidden")
    assert outcome.error == (
        "403 forbidden: Not Authorized to access this resource/api (the credentials must act "
        "as a super admin, or a delegated admin whose role allows this call: check "
        "provider.admin_subject)"
    )


def test_scopes_not_delegated_are_refused_with_a_hint(emulator, tmp_path):
    emulator.configure(delegated_scopes=scopes(read_only=True))
    provider = GoogleProvider(kind="google", admin_subject=ADMIN)
    reader = GoogleClient.connect(provider, tmp_path, read_only=True, endpoint=emulator.base_url)
    reader.must(Call(reader.service.users().get(userKey=ADMIN), "users.get"))
    writer = GoogleClient.connect(provider, tmp_path, read_only=False, endpoint=emulator.base_url)
    outcome = writer.execute(Call(writer.service.users().get(userKey=ADMIN), "users.get"))
    assert not outcome.ok
    assert outcome.error.startswith(
        "Google refused the credentials: unauthorized_client: Client is unauthorized to "
        "retrieve access tokens using this method, or client not authorized for any of the "
        "scopes requested. (the service account's client id must be listed under Admin "
        "console > Security > API controls > Domain-wide delegation"
    )


def test_a_delegation_made_before_the_domains_scope_is_refused_with_a_hint(emulator, tmp_path):
    # Every run reads the tenant's domains: a delegation of the eight Directory scopes alone
    # (made for an earlier version) is refused at the token endpoint, before any call runs.
    older = [s for s in scopes(True) + scopes(False) if s != DOMAIN_SCOPE]
    emulator.configure(delegated_scopes=older)
    provider = GoogleProvider(kind="google", admin_subject=ADMIN)
    reader = GoogleClient.connect(provider, tmp_path, read_only=True, endpoint=emulator.base_url)
    with pytest.raises(GoogleApiError) as caught:
        read_domains(reader, "my_customer")
    assert str(caught.value).startswith(
        "domains.list: Google refused the credentials: unauthorized_client:"
    )
    assert stats(emulator)["token_grants"] == 0
    emulator.configure(delegated_scopes=[*older, DOMAIN_SCOPE])
    assert "example.com" in read_domains(reader, "my_customer").usable()


def test_a_token_the_emulator_forgot_is_replaced_without_a_failure(emulator, tmp_path):
    client = GoogleClient.connect(
        GoogleProvider(kind="google", admin_subject=ADMIN),
        tmp_path,
        read_only=True,
        endpoint=emulator.base_url,
    )
    get = client.service.users().get
    client.must(Call(get(userKey=ADMIN), "users.get"))
    emulator.tokens = Tokens()  # as after a restart: every token it issued is unknown
    client.must(Call(get(userKey=ADMIN), "users.get"))  # 401, new token, again
    emulator.tokens = Tokens()
    outcomes = client.execute_all([Call(get(userKey=ADMIN), "users.get") for _ in range(3)])
    assert all(o.ok for o in outcomes)  # the batch's 401 parts, again with a new token
    seen = stats(emulator)
    assert seen["token_grants"] == 3 and seen["by_status"]["401"] == 4
    assert client.stats.retries == 0


GOOGLE_WORKSPACE = """\
directory:
  domains: [example.com]
ownership:
  id: acme/identity
provider:
  kind: google
  admin_subject: admin@example.com
"""
SECRET = "-----BEGIN PRIVATE KEY-----\\nMIIsecretsecret\\n-----END PRIVATE KEY-----\\n"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (json.dumps([{"type": "service_account", "private_key": SECRET}]), "holds a list"),
        (json.dumps("private_key " + SECRET), "holds a JSON str"),
        ("private_key: " + SECRET, "is not valid JSON"),
        (None, "is not a regular file (a folder)"),
    ],
    ids=["a-list", "a-string", "not-json", "a-directory"],
)
def test_a_key_file_that_is_no_key_is_a_clear_error(tmp_path, monkeypatch, capsys, content, said):
    """Through the CLI: exit 1, the file named, what it holds said, its contents never shown."""
    from reconciler.cli import main

    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "workspace.yaml").write_text(GOOGLE_WORKSPACE)
    if content is None:
        (tmp_path / "key.json").mkdir()
    else:
        (tmp_path / "key.json").write_text(content)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    monkeypatch.setenv("RECONCILER_GOOGLE_CREDENTIALS", str(tmp_path / "key.json"))
    with pytest.raises(SystemExit) as ended:
        main(["plan", "state"])
    err = capsys.readouterr().err
    assert ended.value.code == 1
    assert "Traceback" not in err and "internal error" not in err
    assert "key file" in err and "key.json" in err and said in err, err
    assert "secret" not in err and "PRIVATE" not in err
