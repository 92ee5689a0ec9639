"""The Entra target's runner (reconciler/entra/runner.py, target.py): what a failed batch
leaves, removals by object id, and no Graph stack loaded for a plan without Entra."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace as NS

import children

from reconciler.entra.client import GraphError
from reconciler.entra.runner import EntraRunner
from reconciler.entra.state import EntraActual, EntraGroup, EntraGroupRecord, EntraMember
from reconciler.plan.change import FieldChange
from reconciler.plan.kinds import EntraMembershipChange
from reconciler.state import State

OURS = "acme/identity"


class Run:
    def __init__(self):
        self.results = []

    def blocked_by(self, change):
        return None

    def started(self, changes):
        pass

    def finished(self, result):
        self.results.append((result.change.key, result.result, result.error))


class Graph:
    """Answers every batch item 204, or raises for batches whose first url has `fail_on`."""

    def __init__(self, fail_on=None):
        self.fail_on = fail_on
        self.sent = []
        self.retry = NS(sleep=lambda s: None)

    def batch(self, requests):
        self.sent.append(requests)
        if self.fail_on and self.fail_on in requests[0]["url"]:
            raise GraphError("Graph refused POST /$batch: 503 (after 8 tries)")
        return [{"status": 204, "headers": {}, "body": None} for _ in requests]


def entra():
    return EntraActual(
        users_by_upn={"ada@x.io": "u-ada"},
        groups=[EntraGroupRecord("g1", "Eng", owner=OURS)],
        members={"g1": (EntraMember("u-bo", "user", "bo@x.io"),)},
    )


def change(action, member, object_id=None):
    fields = {"object_id": FieldChange(object_id, None)} if object_id else {}
    return EntraMembershipChange(
        action, f"Eng/{member}", fields, group="Eng", member=member, member_type="USER"
    )


def runner(graph):
    run = Run()
    desired = State(entra_groups={"Eng": EntraGroup("Eng", git_name="eng")})
    ctx = NS(ownership_id=OURS, desired=desired)
    return EntraRunner(ctx, run, graph, entra()), run, graph


def test_a_removal_deletes_the_reference_by_the_object_id_the_plan_read():
    r, run, graph = runner(Graph())
    r.run_phase([change("remove_member", "bo@x.io", "u-bo")])
    assert graph.sent == [[{"method": "DELETE", "url": "/groups/g1/members/u-bo/$ref"}]]
    assert run.results == [("Eng/bo@x.io", "applied", None)]


def test_a_removal_without_an_object_id_fails_rather_than_guess():
    r, run, graph = runner(Graph())
    r.run_phase([change("remove_member", "bo@x.io")])
    assert graph.sent == [] or graph.sent == [[]]
    assert run.results[0][1] == "failed"


def test_a_batch_that_fails_whole_fails_its_changes_and_the_run_goes_on():
    r, run, _ = runner(Graph(fail_on="/members/$ref"))
    r.run_phase([change("add_member", "ada@x.io")])  # its batch fails
    r.run_phase([change("remove_member", "bo@x.io", "u-bo")])  # the next phase still runs
    assert run.results[0][:2] == ("Eng/ada@x.io", "failed")
    assert "may have been carried out" in run.results[0][2]
    assert run.results[1] == ("Eng/bo@x.io", "applied", None)


def test_a_plan_without_entra_changes_loads_no_graph_client():
    code = (
        "import sys\n"
        "from reconciler.registry import TARGETS\n"
        "from reconciler.plan.plan import Plan\n"
        "[t.runner(Plan(), None, None) for t in TARGETS if t.name == 'entra']\n"
        "print('msal' in sys.modules, 'reconciler.entra.client' in sys.modules)\n"
    )
    proc = children.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=children.RUN_TIMEOUT_S,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


class MarkedMeanwhile(Graph):
    """The adopt's marker POST answers 409; the marker then read holds `holder`."""

    def __init__(self, holder):
        super().__init__()
        self.holder = holder

    def batch(self, requests):
        self.sent.append(requests)
        answers = []
        for request in requests:
            if request["method"] == "POST" and request["url"].endswith("/extensions"):
                body = {"error": {"code": "NameAlreadyExists", "message": "exists"}}
                answers.append({"status": 409, "headers": {}, "body": body})
            elif request["method"] == "GET":
                body = {"extensionName": "reconciler.ownership", "ownershipId": self.holder}
                answers.append({"status": 200, "headers": {}, "body": body})
            else:
                answers.append({"status": 204, "headers": {}, "body": None})
        return answers


def adopt():
    from reconciler.plan.kinds import EntraGroupChange

    return EntraGroupChange("adopt", "Eng")


def test_a_marker_another_repository_set_since_the_plan_is_never_overwritten():
    r, run, graph = runner(MarkedMeanwhile("acme/other"))
    r.run_phase([adopt()])
    assert run.results[0][1] == "failed"
    assert "marked as another repository's (acme/other) since the plan" in run.results[0][2]
    assert [q["method"] for batch in graph.sent for q in batch] == ["POST", "GET"]  # no PATCH


def test_an_empty_marker_or_our_own_is_written_again():
    for holder in ("", OURS):
        r, run, graph = runner(MarkedMeanwhile(holder))
        r.run_phase([adopt()])
        assert run.results == [("Eng", "applied", None)]
        assert [q["method"] for batch in graph.sent for q in batch] == ["POST", "GET", "PATCH"]
