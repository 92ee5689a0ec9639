"""session drives the targets alone: google_session asks each for its scopes and opens what
each needs; plan_for has each check, read and verify, and a plan made anew by one target is
verified by every target before it is used."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler import session
from reconciler.entra.target import EntraTarget
from reconciler.google.fetch import Actual
from reconciler.plan.plan import Plan
from reconciler.registry import TARGETS
from reconciler.state import State


class FakeTarget:
    def __init__(self, name: str, log: list[str], replans: int = 0):
        self.name, self.log, self.replans = name, log, replans

    def check(self, _desired: Any, _client: Any) -> None:
        self.log.append(f"{self.name} check")

    def read(self, _desired: Any, _client: Any, actual: Actual | None, *, everything: bool):
        self.log.append(f"{self.name} read{' everything' if everything else ''}")
        return actual if actual is not None else Actual(State(), marker_schema=True)

    def verify(self, _desired: Any, _client: Any, plan: Plan, again: Callable[[], Plan]):
        self.log.append(f"{self.name} verify {plan.notes[0]}")
        while self.replans:  # the read was behind: plan again until it is not
            self.replans -= 1
            plan = again()
            self.log.append(f"{self.name} verify {plan.notes[0]}")


@pytest.fixture
def plans(monkeypatch: pytest.MonkeyPatch) -> list[Plan]:
    made: list[Plan] = []

    def diff(_desired: Any, _actual: Actual) -> Plan:
        made.append(Plan(notes=[f"plan {len(made) + 1}"]))
        return made[-1]

    monkeypatch.setattr(session, "_diff", diff)
    return made


def test_every_target_checks_before_any_reads_and_verifies_the_plan(monkeypatch, plans):
    log: list[str] = []
    targets = (FakeTarget("a", log), FakeTarget("b", log))
    monkeypatch.setattr(session, "TARGETS", targets)
    plan, _ = session.plan_for(SimpleNamespace(scope=None), client=None)
    assert plan is plans[-1] and len(plans) == 1
    assert log == ["a check", "b check", "a read", "b read", "a verify plan 1", "b verify plan 1"]


def test_a_plan_made_anew_by_one_target_is_verified_by_the_others(monkeypatch, plans):
    log: list[str] = []
    targets = (FakeTarget("a", log), FakeTarget("b", log, replans=1))
    monkeypatch.setattr(session, "TARGETS", targets)
    plan, _ = session.plan_for(SimpleNamespace(scope=None), client=None)
    assert plan is plans[-1] and plan.notes[0] == "plan 2"
    assert log == [
        "a check",
        "b check",
        "a read",
        "b read",
        "a verify plan 1",
        "b verify plan 1",
        "a read",
        "b read",
        "b verify plan 2",
        "a verify plan 2",  # b passed plan 2 itself; a has not seen it yet
    ]


def test_import_reads_everything_through_every_target(monkeypatch):
    log: list[str] = []
    monkeypatch.setattr(session, "TARGETS", (FakeTarget("a", log), FakeTarget("b", log)))
    session.read_actual(SimpleNamespace(scope=None), client=None, everything=True)
    assert log == ["a read everything", "b read everything"]


class ConnectingTarget:
    def __init__(self, name: str, log: list[str], scopes: dict[str, bool]):
        self.name, self.log, self._scopes = name, log, scopes

    def scopes(self, _desired: Any) -> dict[str, bool]:
        return self._scopes

    @contextmanager
    def connect(self, _desired: Any, client: Any) -> Iterator[None]:
        self.log.append(f"{self.name} open {client}")
        yield
        self.log.append(f"{self.name} close")


def test_the_session_asks_every_target_for_scopes_and_connections(monkeypatch):
    log: list[str] = []
    asked: list[dict[str, Any]] = []

    class FakeClient:
        @staticmethod
        def connect(_provider: Any, _root: Any, **flags: Any) -> str:
            asked.append(flags)
            return "client"

    targets = (
        ConnectingTarget("a", log, {"licenses": True}),
        ConnectingTarget("b", log, {"group_settings": False}),
    )
    monkeypatch.setattr(session, "TARGETS", targets)
    monkeypatch.setattr(session, "GoogleClient", FakeClient)
    provider = SimpleNamespace(kind="google")
    desired = SimpleNamespace(
        workspace=SimpleNamespace(provider=provider), tree=SimpleNamespace(root=".")
    )
    with session.google_session(desired, read_only=True) as client:
        log.append(f"use {client}")
    assert asked == [{"read_only": True, "licenses": True, "group_settings": False}]
    assert log == ["a open client", "b open client", "use client", "b close", "a close"]


def test_every_registered_target_says_its_scopes_and_connection():
    for target in TARGETS:
        assert callable(target.scopes) and callable(target.connect), target.name
    desired = SimpleNamespace(workspace=SimpleNamespace(entra=None))
    client = SimpleNamespace(graph=None)
    assert EntraTarget().scopes(desired) == {}
    with EntraTarget().connect(desired, client):  # no `entra:` block: nothing opened
        assert client.graph is None
