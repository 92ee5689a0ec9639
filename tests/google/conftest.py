"""Fixtures for the Google side: an emulator on loopback seeded with the example tenant (plus
the cases it lacks), and a GoogleClient connected to it whose retries barely sleep.

No __init__.py here on purpose: a regular package named `google` on sys.path would shadow
the `google` namespace package (google.auth, google.oauth2) for the whole run.
"""

from __future__ import annotations

import copy
import http.client
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httplib2
import pytest
from ruamel.yaml import YAML

from reconciler.emulator.server import EmulatorServer
from reconciler.google.client import GoogleClient
from reconciler.google.retry import RetryPolicy
from reconciler.settings import GoogleProvider

EXAMPLE_SEED = Path(__file__).parents[2] / "examples" / "desired-state" / "tenant.yaml"
CUSTOMER = "my_customer"
DOMAINS = ("example.com", "example.org")
OWNERSHIP = "acme/identity"
PASSWORD = "correct-horse-battery"
UNMANAGED_GROUP = "social@example.com"


def managed(group: Any) -> bool:
    """Which groups Git manages in these tests: all but one, so unmanaged ones are covered."""
    return group.email != UNMANAGED_GROUP


def example_tenant() -> dict[str, Any]:
    """The example tenant, plus what it lacks: recovery addresses, list entries Git does not
    manage, a cost center, a GROUP member, an empty group and a user suspended for abuse."""
    return copy.deepcopy(_example_tenant())


@cache
def _example_tenant() -> dict[str, Any]:
    doc = YAML(typ="safe").load(EXAMPLE_SEED.read_text(encoding="utf-8"))
    users = {u["primaryEmail"]: u for u in doc["users"]}
    ana = users["ana.ruiz@example.com"]
    ana["recoveryEmail"] = "Ana.Ruiz.Home@Example.net"
    ana["recoveryPhone"] = "+15550199"
    ana["organizations"][0]["costCenter"] = "CC-100"
    ana["organizations"].append({"name": "Acme Foundation", "title": "Board member"})
    ana["phones"].append({"type": "mobile", "value": "+1 555 0199"})
    ana["relations"].append({"type": "assistant", "value": "grace.chen@example.com"})
    ana["externalIds"].append({"type": "custom", "customType": "badge", "value": "B-77"})
    doc["users"].append(
        {
            "primaryEmail": "abused@example.com",
            "name": {"givenName": "Abe", "familyName": "Used"},
            "suspended": True,
            "suspensionReason": "ABUSE",
        }
    )
    groups = {g["email"]: g for g in doc["groups"]}
    groups["finance@example.com"]["members"].append(
        {"email": "audit@example.com", "role": "MEMBER", "type": "GROUP"}
    )
    doc["groups"].append({"email": "empty@example.com", "name": "Nobody Yet", "members": []})
    return doc


def start_emulator(seed: Any) -> EmulatorServer:
    """A running emulator over `seed`, kept in memory (nothing to persist)."""
    server = EmulatorServer.open(seed=seed, state=None)
    server.start()
    return server


@pytest.fixture
def tenant() -> dict[str, Any]:
    """The seed `emulator` starts from (a module may override this fixture)."""
    return example_tenant()


@pytest.fixture
def emulator(tenant: dict[str, Any]) -> Iterator[EmulatorServer]:
    server = start_emulator(copy.deepcopy(tenant))
    yield server
    # stop() waits for the accept loop's next poll (50 ms); no test needs to wait for it.
    threading.Thread(target=server.stop, daemon=True).start()


def fast_retry(**overrides: Any) -> RetryPolicy:
    """Backoff that hardly sleeps, so fault tests stay fast; reads that disagree are refused
    at once (no waiting for listings to catch up) unless a test gives `settle_s`."""
    options: dict[str, Any] = {"max_attempts": 10, "base_s": 0.001, "cap_s": 0.01, "settle_s": 0}
    options.update(overrides)
    return RetryPolicy(**options)


def connect(
    server: EmulatorServer,
    root: Path,
    *,
    read_only: bool = False,
    licenses: bool = False,
    group_settings: bool = False,
    **provider: Any,
) -> GoogleClient:
    """A client of `server`; `licenses`, `group_settings`: with the Licensing API's, the
    Groups Settings API's scope too."""
    return GoogleClient.connect(
        GoogleProvider(kind="google", **provider),
        root,
        read_only=read_only,
        endpoint=server.base_url,
        retry=fast_retry(),
        licenses=licenses,
        group_settings=group_settings,
    )


@pytest.fixture
def client(emulator: EmulatorServer, tmp_path: Path) -> GoogleClient:
    return connect(emulator, tmp_path)


def emulator_get(server: EmulatorServer, name: str) -> dict[str, Any]:
    """GET /_emulator/<name> over plain HTTP (stats, state, config)."""
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        conn.request("GET", f"/_emulator/{name}")
        response = conn.getresponse()
        assert response.status == 200
        return json.loads(response.read())
    finally:
        conn.close()


def stats(server: EmulatorServer) -> dict[str, Any]:
    return emulator_get(server, "stats")


@dataclass(frozen=True)
class Sent:
    """One HTTP request as httplib2 sent it."""

    method: str
    uri: str
    body: str
    headers: dict[str, str]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Sent]:
    """Every HTTP request any httplib2.Http sends during the test."""
    requests: list[Sent] = []
    real: Callable[..., Any] = httplib2.Http.request

    def record(self: Any, uri: str, method: str = "GET", body: Any = None, headers=None, **k):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body or "")
        named = {str(n).lower(): str(v) for n, v in (headers or {}).items()}
        requests.append(Sent(method, uri, text, named))
        return real(self, uri, method, body, headers, **k)

    monkeypatch.setattr(httplib2.Http, "request", record)
    return requests
