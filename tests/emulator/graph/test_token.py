"""The token endpoint and OpenID metadata, through msal and through plain form posts."""

from __future__ import annotations

import time

import msal
import pytest
import requests
import requests.adapters
from cryptography.hazmat.primitives import hashes, serialization

from reconciler.entra.credentials import self_signed

from .support import DEFAULT_SCOPE, LOGIN, SECRET, SECRET_APP, TENANT, WRITER, assertion


class _ToLoopback(requests.adapters.HTTPAdapter):
    """Sends what msal addresses to the identity platform to the emulator, over http."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.seen: list[str] = []

    def send(self, request, **kwargs):
        self.seen.append(f"{request.method} {request.url}")
        request.url = self.base + request.url[len(LOGIN) :]
        return super().send(request, **kwargs)


def _certificate() -> tuple[bytes, str]:
    key, cert = self_signed("graph-emulator-test")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, cert.fingerprint(hashes.SHA1()).hex()


def _msal_app(graph, client_id: str = WRITER, tenant: str = TENANT):
    session = requests.Session()
    adapter = _ToLoopback(graph.base)
    session.mount(LOGIN, adapter)
    pem, thumbprint = _certificate()
    app = msal.ConfidentialClientApplication(
        client_id,
        authority=f"{LOGIN}/{tenant}",
        client_credential={"private_key": pem.decode(), "thumbprint": thumbprint},
        http_client=session,
    )
    return app, adapter


def test_msal_gets_a_token_that_graph_accepts(graph):
    app, adapter = _msal_app(graph)
    result = app.acquire_token_for_client(scopes=[DEFAULT_SCOPE])
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer"
    assert any(s.endswith("/v2.0/.well-known/openid-configuration") for s in adapter.seen)
    assert f"POST {LOGIN}/{TENANT}/oauth2/v2.0/token" in adapter.seen
    assert graph.api.stats()["token_grants"] == 1
    response = graph.request(
        "GET",
        "/groups",
        client_id=None,
        headers={"Authorization": "Bearer " + result["access_token"]},
    )
    assert response.status_code == 200


def test_msal_for_an_unknown_app_gets_700016(graph):
    app, _ = _msal_app(graph, client_id="99999999-9999-9999-9999-999999999999")
    result = app.acquire_token_for_client(scopes=[DEFAULT_SCOPE])
    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_msal_for_an_unknown_tenant_fails_at_discovery(graph):
    app_tenant = "99999999-0000-0000-0000-000000000000"
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        app, _ = _msal_app(graph, tenant=app_tenant)
        app.acquire_token_for_client(scopes=[DEFAULT_SCOPE])


def test_openid_configuration_names_the_token_endpoint(graph):
    response = graph.http.get(f"{graph.base}/{TENANT}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200
    body = response.json()
    assert body["token_endpoint"] == f"{LOGIN}/{TENANT}/oauth2/v2.0/token"
    assert body["issuer"] == f"{LOGIN}/{TENANT}/v2.0"
    assert "authorization_endpoint" in body
    other = graph.http.get(f"{graph.base}/contoso.example/v2.0/.well-known/openid-configuration")
    assert other.status_code == 400
    assert other.json()["error_codes"] == [90002]


def test_success_shape(graph):
    body = graph.token_response().json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599 and body["ext_expires_in"] == 3599
    assert len(body["access_token"]) > 20


@pytest.mark.parametrize(
    ("form", "error", "code"),
    [
        ({"tenant": "00000000-0000-0000-0000-00000000dead"}, "invalid_request", 90002),
        ({"scope": "https://graph.microsoft.com/User.Read"}, "invalid_scope", 70011),
        (
            {"scope": DEFAULT_SCOPE + " https://management.azure.com/.default"},
            "invalid_scope",
            70011,
        ),
        ({"grant_type": "password"}, "unsupported_grant_type", 70003),
        ({"client_id": "99999999-9999-9999-9999-999999999999"}, "unauthorized_client", 700016),
        ({"client_secret": "guess", "client_assertion": None}, "invalid_client", 7000215),
        ({"client_assertion": "not-a-jwt"}, "invalid_request", 50027),
    ],
)
def test_refusals(graph, form, error, code):
    response = graph.token_response(**form)
    assert response.status_code in (400, 401)
    body = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    assert graph.api.stats()["token_grants"] == 0


ENDPOINT = f"{LOGIN}/{TENANT}/oauth2/v2.0/token"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"aud": f"{LOGIN}/common/oauth2/v2.0/token"}, 700212),
        ({"iss": "someone-else"}, 700211),
        ({"sub": "someone-else"}, 700211),
        ({"exp": int(time.time()) - 10}, 700024),
        ({"header": {"alg": "HS256"}}, 50027),
        ({"header": {"x5t": None}}, 50027),
    ],
)
def test_assertion_checks(graph, overrides, code):
    bad = assertion(WRITER, ENDPOINT, **overrides)
    response = graph.token_response(client_assertion=bad)
    assert response.status_code == 400
    assert response.json()["error_codes"] == [code]


def test_ps256_with_sha256_thumbprint_is_accepted(graph):
    good = assertion(WRITER, ENDPOINT, header={"alg": "PS256", "x5t": None, "x5t#S256": "BBBB"})
    assert graph.token_response(client_assertion=good).status_code == 200


def test_a_secret_only_for_an_app_that_has_one(graph):
    ok = graph.token_response(SECRET_APP, client_secret=SECRET, client_assertion=None)
    assert ok.status_code == 200
    bad = graph.token_response(SECRET_APP, client_secret="wrong", client_assertion=None)
    assert bad.json()["error_codes"] == [7000215]


def test_no_credential_is_refused(graph):
    response = graph.token_response(client_assertion=None, client_assertion_type=None)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
