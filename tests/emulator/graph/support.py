"""A seeded Entra tenant on a loopback GraphServer, and helpers to call it over HTTP."""

from __future__ import annotations

import base64
import json
import time
import uuid

import requests

from reconciler.emulator.graph.api import GraphApi
from reconciler.emulator.graph.server import GraphServer
from reconciler.emulator.graph.tenant import GraphTenant

TENANT = "11111111-2222-3333-4444-555555555555"
WRITER = "66666666-7777-8888-9999-000000000000"
READER = "66666666-7777-8888-9999-000000000001"
NOBODY = "66666666-7777-8888-9999-000000000002"  # no roles: consent not granted
MEMBERS_ONLY = "66666666-7777-8888-9999-000000000003"
SECRET_APP = "66666666-7777-8888-9999-000000000004"
SECRET = "s3cret-value"
DEFAULT_SCOPE = "https://graph.microsoft.com/.default"
LOGIN = "https://login.microsoftonline.com"
GRAPH = "https://graph.microsoft.com"


def seed(users: int = 3) -> dict:
    return {
        "tenant_id": TENANT,
        "applications": [
            {"client_id": WRITER, "roles": ["Group.ReadWrite.All", "User.Read.All"]},
            {"client_id": READER, "roles": ["Group.Read.All", "User.Read.All"]},
            {"client_id": NOBODY, "roles": []},
            {"client_id": MEMBERS_ONLY, "roles": ["GroupMember.ReadWrite.All"]},
            {"client_id": SECRET_APP, "roles": ["Group.ReadWrite.All"], "secret": SECRET},
        ],
        "users": [
            {
                "userPrincipalName": f"user{i:03d}@example.com",
                "mail": f"user{i:03d}@example.com",
                "displayName": f"User {i}",
            }
            for i in range(users)
        ]
        + [{"userPrincipalName": "ada@example.com", "displayName": "Ada Lovelace"}],
        "groups": [
            {"displayName": "Engineering", "members": ["ADA@example.com", "Interns"]},
            {"displayName": "Interns", "members": ["user000@example.com"]},
            {
                "displayName": "M365",
                "groupTypes": ["Unified"],
                "mailEnabled": True,
                "securityEnabled": False,
            },
            {
                "displayName": "Tagged",
                "extensions": [{"extensionName": "com.example.owner", "tool": "reconciler"}],
            },
        ],
    }


def assertion(client_id: str, audience: str, /, **overrides) -> str:
    """An unsigned-looking client assertion (the emulator does not check signatures)."""
    header = {"alg": "RS256", "typ": "JWT", "x5t": "AAAA"}
    header.update(overrides.pop("header", {}))
    claims = {
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "nbf": int(time.time()) - 5,
        "exp": int(time.time()) + 600,
    }
    claims.update(overrides)

    def part(d: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{part(header)}.{part(claims)}.c2lnbmF0dXJl"


class Graph:
    """A GraphServer over a seeded tenant, with a requests session and tokens."""

    def __init__(self, data: dict | None = None, tenant: GraphTenant | None = None) -> None:
        self.tenant = tenant or GraphTenant.from_seed(data if data is not None else seed())
        self.api = GraphApi(self.tenant)
        self.server = GraphServer(self.api)
        self.base = self.server.start()
        self.http = requests.Session()

    def close(self) -> None:
        self.http.close()
        self.server.stop()

    def token_response(self, client_id: str = WRITER, **form) -> requests.Response:
        tenant = form.pop("tenant", TENANT)
        data = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "scope": DEFAULT_SCOPE,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion(client_id, f"{LOGIN}/{tenant}/oauth2/v2.0/token"),
        }
        data.update(form)
        data = {k: v for k, v in data.items() if v is not None}
        return self.http.post(f"{self.base}/{tenant}/oauth2/v2.0/token", data=data)

    def token(self, client_id: str = WRITER) -> str:
        response = self.token_response(client_id)
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def request(self, method: str, path: str, client_id: str | None = WRITER, **kwargs):
        headers = kwargs.pop("headers", {})
        if client_id is not None and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token(client_id)}"
        url = path if path.startswith("http") else f"{self.base}/v1.0{path}"
        if url.startswith(GRAPH):
            url = self.base + url[len(GRAPH) :]
        return self.http.request(method, url, headers=headers, **kwargs)

    def group_id(self, name: str) -> str:
        return next(g.id for g in self.tenant.groups.values() if g.displayName == name)

    def user_id(self, upn: str) -> str:
        return next(u.id for u in self.tenant.users.values() if u.userPrincipalName == upn)


def ref(object_id: str, kind: str = "directoryObjects") -> dict:
    return {"@odata.id": f"{GRAPH}/v1.0/{kind}/{object_id}"}


def error_of(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()["error"]
    assert set(body["innerError"]) >= {"date", "request-id", "client-request-id"}
    return response.status_code, body["code"], body["message"]
