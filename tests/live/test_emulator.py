"""Every live scenario against the emulator, in the normal suite: each in its own emulator
on loopback, with accounts and groups outside the prefix and the org unit that the guard and
the cleanup must leave alone."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import EmulatorServer
from reconciler.google.client import ENDPOINT_ENV
from reconciler.google.credentials import CREDENTIALS_ENV

from .scenarios import SCENARIOS, group_entry, user_entry, users
from .target import OutsideScope, Target, check_plan, live_problems, live_settings

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


DOCS = Path(__file__).resolve().parents[2] / "docs" / "development.md"


def documented_calls() -> dict[str, int]:
    """docs/development.md's table of the API calls each scenario makes (its quota cost)."""
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("<!-- live-quota -->")[1].split("<!-- /live-quota -->")[0]
    rows = [line.strip("| ").split(" | ") for line in table.strip().splitlines()[2:]]
    return {name: int(calls) for name, calls in rows}


def test_the_quota_table_names_every_scenario() -> None:
    assert sorted(documented_calls()) == sorted(SCENARIOS)


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
    # What a live run spends on this scenario, both cleanups included: as documented.
    assert sum(server.stats.by_method.values()) == documented_calls()[name]
    assert target.cleanup() == []
    for outsider in OUTSIDERS:
        assert target.user(outsider) is not None
    assert target.group(OUTSIDE_GROUP) is not None


# -- the guard and the live variables ---------------------------------------------------------


def test_the_guard_refuses_an_address_outside_the_prefix_and_nothing_is_applied(
    target: Target,
) -> None:
    stray = "ro-stray@example.com"
    entry = user_entry(target, stray, "Ro")
    root = target.state(users(target, entry, bound=(stray,)))
    with pytest.raises(OutsideScope, match=re.escape("ro-stray@example.com is outside the prefix")):
        target.apply(root)
    assert target.user(stray) is None


def test_the_guard_refuses_an_org_unit_outside_the_live_one(target: Target) -> None:
    ana = target.addr("ana")
    entry = user_entry(target, ana, "Ana").replace(f"org_unit: {UNIT}", "org_unit: /")
    root = target.state(users(target, entry, bound=(ana,)))
    with pytest.raises(OutsideScope, match="org unit / is outside /Live tests"):
        target.apply(root)
    assert target.user(ana) is None


def test_the_guard_refuses_changes_to_org_units_and_members_outside_the_prefix(
    target: Target,
) -> None:
    ana, team = target.addr("ana"), target.addr("team")
    entry = user_entry(target, ana, "Ana").replace(UNIT, f"{UNIT}/New", 1)
    root = target.state(users(target, entry, bound=(ana,)))
    with pytest.raises(OutsideScope, match="changes only users and groups"):
        target.plan(root)  # the org unit does not exist: the plan would create it
    outside_member = "groups:\n" + group_entry(target, team, ["someone@partner.example"])
    with pytest.raises(OutsideScope, match=re.escape("someone@partner.example")):
        target.plan(target.state(outside_member))
    assert target.group(team) is None


def test_check_plan_reads_every_address_and_org_unit_of_a_change() -> None:
    def change(**more: Any) -> dict[str, Any]:
        return {"changes": [{"action": "update", "kind": "user", "key": "rl-a@x.com", **more}]}

    check_plan(change(fields={"org_unit": {"old": "/live/sub", "new": "/Live"}}), "rl-", "/live")
    with pytest.raises(OutsideScope, match="org unit /Sales"):
        check_plan(change(fields={"org_unit": {"old": "/Sales", "new": "/Live"}}), "rl-", "/Live")
    with pytest.raises(OutsideScope, match=re.escape("boss@x.com")):
        check_plan(change(fields={"manager": {"old": None, "new": "boss@x.com"}}), "rl-", "/Live")
    with pytest.raises(OutsideScope, match=re.escape("aka@x.com")):
        check_plan(change(fields={"aliases": {"old": [], "new": ["aka@x.com"]}}), "rl-", "/Live")
    with pytest.raises(OutsideScope, match=re.escape("from ro-old@x.com")):
        check_plan(change(**{"from": "ro-old@x.com"}), "rl-", "/Live")


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("RECONCILER_LIVE_PREFIX", "r", "RECONCILER_LIVE_PREFIX 'r'"),
        ("RECONCILER_LIVE_PREFIX", "rl", "RECONCILER_LIVE_PREFIX 'rl'"),
        ("RECONCILER_LIVE_PREFIX", "Rl-", "RECONCILER_LIVE_PREFIX 'Rl-'"),
        ("RECONCILER_LIVE_ORG_UNIT", "/", "not the root"),
        ("RECONCILER_LIVE_ORG_UNIT", "Live", "not the root"),
        ("RECONCILER_LIVE_ADMIN_SUBJECT", "rl-admin@example.com", "cleanup would delete it"),
    ],
)
def test_unsafe_live_variables_are_refused(name: str, value: str, problem: str) -> None:
    settings = {
        "RECONCILER_LIVE_ADMIN_SUBJECT": ADMIN,
        "RECONCILER_LIVE_DOMAIN": DOMAIN,
        "RECONCILER_LIVE_ORG_UNIT": UNIT,
        "RECONCILER_LIVE_PREFIX": PREFIX,
    }
    assert live_problems(settings) == []
    assert live_settings({**settings, name: ""}) is None
    assert any(problem in p for p in live_problems({**settings, name: value}))
