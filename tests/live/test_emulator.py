"""Every live scenario against the emulator, in the normal suite: each in its own emulator
on loopback, with accounts and groups outside the prefix and the org unit that the guard and
the cleanup must leave alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import EmulatorServer
from reconciler.google.client import ENDPOINT_ENV
from reconciler.google.credentials import CREDENTIALS_ENV

from .scenarios import SCENARIOS
from .target import Target

DOMAIN = "example.com"
ADMIN = "admin@example.com"
UNIT = "/Live tests"
PREFIX = "rl-"
STARTER = "1010020027"
# Outside the prefix, or outside the org unit: never touched.
OUTSIDERS = ("ro-keep@example.com", "rl-elsewhere@example.com")
OUTSIDE_GROUP = "keep-team@example.com"

SEED: dict[str, Any] = {
    "domains": [DOMAIN],
    "schemas": [
        {
            "schemaName": "Reconciler",
            "displayName": "Reconciler",
            "fields": [{"fieldName": "ownershipId", "fieldType": "STRING"}],
        }
    ],
    "orgUnits": [{"name": "Live tests", "orgUnitPath": UNIT, "parentOrgUnitPath": "/"}],
    "users": [
        {"primaryEmail": ADMIN, "name": {"givenName": "A", "familyName": "Dmin"}, "isAdmin": True},
        {
            "primaryEmail": OUTSIDERS[0],
            "name": {"givenName": "R", "familyName": "O"},
            "orgUnitPath": UNIT,
        },
        {
            "primaryEmail": OUTSIDERS[1],
            "name": {"givenName": "R", "familyName": "L"},
            "orgUnitPath": "/",
        },
    ],
    "groups": [{"email": OUTSIDE_GROUP, "name": "Keep"}],
    "licenses": {"seats": {"business-starter": 5}},
}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmulatorServer]:
    emulator = EmulatorServer.open(seed=SEED)
    monkeypatch.delenv(CREDENTIALS_ENV, raising=False)
    monkeypatch.setenv(ENDPOINT_ENV, emulator.start())
    yield emulator
    emulator.stop()


@pytest.fixture
def target(server: EmulatorServer, tmp_path: Path, cli: Callable[..., Any]) -> Target:
    return Target(
        kind="emulator",
        domain=DOMAIN,
        org_unit=UNIT,
        prefix=Target.scenario_prefix(PREFIX),
        base_prefix=PREFIX,
        admin_subject=ADMIN,
        workdir=tmp_path,
        cli=cli,
        license_sku=STARTER,
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str, target: Target, server: EmulatorServer) -> None:
    assert target.cleanup() == []
    SCENARIOS[name](target)
    left = target.cleanup()
    assert left and all(a.startswith(target.prefix) for a in left)
    # What a live run spends on this scenario, both cleanups included (docs/development.md).
    print(f"{name}: {sum(server.stats.by_method.values())} API calls")
    assert target.cleanup() == []
    for outsider in OUTSIDERS:
        assert target.user(outsider) is not None
    assert target.group(OUTSIDE_GROUP) is not None
