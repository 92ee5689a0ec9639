"""Helpers for the API tests: a plain-HTTP client over a running emulator that checks every
answer against the discovery document, a settable clock, and small seeds."""

from __future__ import annotations

import base64
import http.client
import json
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from reconciler.emulator.api import ApiResponse, DirectoryApi
from reconciler.emulator.auth import known_scopes
from reconciler.emulator.faults import EmulatorConfig
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.store import TenantStore

from .discovery_check import assert_valid_response

EXAMPLE_SEED = Path(__file__).parents[2] / "examples" / "desired-state" / "tenant.yaml"
PASSWORD = "correct-horse-battery"
# Every scope of the Directory API: what a test that is not about authorization asks for.
ALL_SCOPES = tuple(sorted(known_scopes()))
SERVICE_ACCOUNT = "tests@emulator.iam.gserviceaccount.com"

SMALL_SEED: dict[str, Any] = {
    "domains": ["example.com", "example.org"],
    "schemas": [
        {
            "schemaName": "Reconciler",
            "fields": [
                {"fieldName": "ownershipId", "fieldType": "STRING"},
                {"fieldName": "secret", "fieldType": "STRING", "readAccessType": "ADMINS_AND_SELF"},
                {"fieldName": "level", "fieldType": "INT64"},
                {"fieldName": "tags", "fieldType": "STRING", "multiValued": True},
            ],
        }
    ],
    "orgUnits": [
        {"name": "Sales", "parentOrgUnitPath": "/"},
        {"orgUnitPath": "/Sales/Europe"},
        {"orgUnitPath": "/Engineering"},
    ],
    "users": [
        {
            "primaryEmail": "admin@example.com",
            "name": {"givenName": "Ada", "familyName": "Admin"},
            "isAdmin": True,
        },
        {
            "primaryEmail": "jo@example.com",
            "name": {"givenName": "Jo", "familyName": "Lei"},
            "orgUnitPath": "/Engineering",
            "aliases": ["jo.lei@example.com"],
            "customSchemas": {"Reconciler": {"ownershipId": "acme/identity"}},
        },
        {
            "primaryEmail": "sam@example.org",
            "name": {"givenName": "Sam", "familyName": "Okafor"},
            "orgUnitPath": "/Sales/Europe",
        },
        {
            "primaryEmail": "abused@example.com",
            "name": {"givenName": "Abe", "familyName": "Used"},
            "suspended": True,
            "suspensionReason": "ABUSE",
        },
    ],
    "groups": [
        {
            "email": "eng@example.com",
            "name": "Engineering",
            "aliases": ["dev@example.com"],
            "members": [
                {"email": "jo@example.com", "role": "OWNER"},
                {"email": "partner@outside.net"},
                {"email": "abused@example.com"},
            ],
        },
        {"email": "all@example.com", "members": [{"email": "eng@example.com"}]},
    ],
}


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_760_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def key(text: str) -> str:
    """A path key percent-encoded as googleapiclient sends it."""
    return quote(text, safe="")


def unsigned_assertion(
    scopes: tuple[str, ...] | list[str] = ALL_SCOPES,
    subject: str | None = None,
    issuer: str = SERVICE_ACCOUNT,
) -> str:
    """A JWT-bearer assertion as google-auth makes one, unsigned (the emulator does not check
    signatures)."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": "https://oauth2.googleapis.com/token",
        "scope": " ".join(scopes),
        "iat": 0,
        "exp": 3600,
    }
    if subject is not None:
        claims["sub"] = subject
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.unsigned"


def token_answer(netloc: str, assertion: str) -> tuple[int, dict[str, Any]]:
    """Status and JSON answer of the emulator's token endpoint for a JWT-bearer grant."""
    form = urlencode(
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    )
    conn = http.client.HTTPConnection(netloc, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn.request("POST", "/token", body=form, headers=headers)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def access_token(
    netloc: str, scopes: tuple[str, ...] | list[str] = ALL_SCOPES, subject: str | None = None
) -> str:
    """A token from the emulator at `netloc` (host:port, or a base URL)."""
    netloc = urlsplit(netloc).netloc or netloc
    status, answer = token_answer(netloc, unsigned_assertion(scopes, subject))
    assert status == 200, answer
    return answer["access_token"]


_RUNNING: list[EmulatorServer] = []


def stop_servers() -> None:
    """Stop every server the helpers started (an autouse fixture calls this)."""
    while _RUNNING:
        _RUNNING.pop().stop()


class Client:
    """Sends plain HTTP requests to an emulator serving `api` and checks every answer's shape.

    `api` stays reachable for the tests that set its knobs (short listings, delays) directly.
    Requests carry a token with every Directory scope (`authorization` holds the header; set
    it to None, or to another token's, to send that instead).
    """

    def __init__(self, api: DirectoryApi, delay_s: float | None = None):
        self.api = api
        delay = api.consistency_delay_s if delay_s is None else delay_s
        server = EmulatorServer(api, EmulatorConfig(consistency_delay_ms=delay * 1000))
        server.start()
        _RUNNING.append(server)
        self.server = server
        self.netloc = urlsplit(server.base_url).netloc
        self.local = threading.local()  # http.client connections are not thread-safe
        self.authorization: str | None = "Bearer " + access_token(self.netloc)

    @property
    def connection(self) -> http.client.HTTPConnection:
        if not hasattr(self.local, "connection"):
            self.local.connection = http.client.HTTPConnection(self.netloc, timeout=30)
        return self.local.connection

    def request(self, method: str, path: str, body: Any = None, **query: Any) -> ApiResponse:
        params = {k: str(v) for k, v in query.items() if v is not None}
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body else None)
        url = "/admin/directory/v1/" + path + ("?" + urlencode(params) if params else "")
        headers = {"Content-Type": "application/json"} if raw is not None else {}
        if self.authorization is not None:
            headers["Authorization"] = self.authorization
        self.connection.request(method, url, body=raw, headers=headers)
        answer = self.connection.getresponse()
        data = answer.read()
        response = ApiResponse(
            answer.status, json.loads(data) if data else None, self.api.method_id_for(method, path)
        )
        if response.method_id != "unknown":
            assert_valid_response(response.method_id, response.status, response.body)
        return response

    def ok(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        """The body of a call that must succeed."""
        response = self.request(method, path, body, **query)
        assert response.status < 300, response.body
        return response.body

    def fails(
        self, status: int, reason: str, method: str, path: str, body: Any = None, **query: Any
    ) -> str:
        """The message of a call that must fail with this status and reason."""
        response = self.request(method, path, body, **query)
        assert response.status == status, response.body
        assert response.body is not None
        detail = response.body["error"]["errors"][0]
        assert detail["reason"] == reason, response.body
        return response.body["error"]["message"]

    def list_all(self, path: str, item: str, **query: Any) -> list[dict[str, Any]]:
        """Every item of a paged listing, following nextPageToken."""
        items: list[dict[str, Any]] = []
        token = query.pop("pageToken", None)
        while True:
            page = self.ok("GET", path, pageToken=token, **query)
            items += page.get(item, [])
            token = page.get("nextPageToken")
            if not token:
                return items


def make(
    seed: Any = SMALL_SEED,
    *,
    state: Path | None = None,
    clock: Clock | None = None,
    delay: float = 0.0,
) -> Client:
    """A client over a fresh tenant."""
    clock = clock or Clock()
    store = TenantStore(seed=seed, state=state, clock=clock)
    return Client(DirectoryApi(store, clock=clock, consistency_delay_s=delay), delay)


def new_user(email: str, **extra: Any) -> dict[str, Any]:
    """An insertable user body."""
    given, _, family = email.partition("@")[0].partition(".")
    body = {
        "primaryEmail": email,
        "name": {"givenName": given.title(), "familyName": (family or "Doe").title()},
        "password": PASSWORD,
    }
    body.update(extra)
    return body
