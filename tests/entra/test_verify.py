"""Planned Entra creates looked up by name (reconciler/entra/verify.py): a create whose group
exists after all (the listing was behind) makes the plan again; one that keeps existing
stops the plan."""

from __future__ import annotations

from types import SimpleNamespace as NS
from urllib.parse import unquote

import pytest

from reconciler.entra.verify import REREAD_WAITS_S, existing, verify_creates
from reconciler.plan.kinds import EntraGroupChange
from reconciler.plan.plan import Plan
from reconciler.problems import ReconcilerError


class FakeGraph:
    """Answers `$filter=displayName eq '…'` lookups from a set of names, counting them."""

    def __init__(self, names: set[str]):
        self.names = names
        self.lookups: list[str] = []
        self.waits: list[float] = []
        self.retry = NS(sleep=self.waits.append)

    def batch(self, requests):
        answers = []
        for request in requests:
            url = unquote(request["url"])
            name = url.split("displayName eq '", 1)[1][:-1].replace("''", "'")
            self.lookups.append(name)
            found = [{"id": "g", "displayName": n} for n in self.names if n.lower() == name.lower()]
            answers.append({"status": 200, "headers": {}, "body": {"value": found}})
        return answers


def creating(*names: str) -> Plan:
    return Plan(changes=[EntraGroupChange("create", n) for n in names])


def test_a_create_of_an_absent_group_passes_with_one_lookup_each():
    graph = FakeGraph(set())
    verify_creates(graph, creating("Sales", "O'Brien team"), lambda: pytest.fail("no re-plan"))
    assert graph.lookups == ["O'Brien team", "Sales"]  # the quote doubled and read back


def test_a_group_found_after_all_makes_the_plan_again():
    graph = FakeGraph({"Sales"})
    newer = creating()  # the new read shows Sales: nothing to create

    def again():
        return newer

    verify_creates(graph, creating("Sales"), again)
    assert graph.waits == [REREAD_WAITS_S[0]]


def test_only_an_exact_name_counts():
    assert existing(FakeGraph({"SALES"}), ["Sales"]) == []


def test_a_group_the_listing_never_shows_stops_the_plan():
    graph = FakeGraph({"Sales"})
    with pytest.raises(ReconcilerError, match='groups named "Sales"'):
        verify_creates(graph, creating("Sales"), lambda: creating("Sales"))
    assert graph.waits == list(REREAD_WAITS_S)


def test_a_failed_lookup_stops_the_plan():
    graph = FakeGraph(set())
    graph.batch = lambda requests: [{"status": 403, "headers": {}, "body": {}}]
    with pytest.raises(ReconcilerError, match="did not answer the lookup"):
        existing(graph, ["Sales"])


def test_the_new_name_of_a_rename_is_looked_up_too():
    from reconciler.plan.change import FieldChange

    graph = FakeGraph(set())
    rename = EntraGroupChange(
        "update", "Sales EMEA", {"display_name": FieldChange("Sales", "Sales EMEA")}
    )
    described = EntraGroupChange("update", "Ops", {"description": FieldChange("a", "b")})
    verify_creates(graph, Plan(changes=[rename, described]), lambda: pytest.fail("no re-plan"))
    assert graph.lookups == ["Sales EMEA"]
