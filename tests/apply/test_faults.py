"""Transient faults and eventual consistency: apply retries its way through 429s, 503s,
rate-limit 403s, dropped connections and not-yet-usable new accounts, and converges."""

from __future__ import annotations

import json

import pytest
from cli_support import ALL_APPLIED, EXAMPLE_CHANGES

from reconciler.emulator.faults import AFTER_FAULT_KINDS, FAULT_KINDS
from reconciler.google import client as client_module


@pytest.fixture
def quick_backoff(monkeypatch):
    """The product's retry policy (attempts, exponential backoff, jitter) with waits cut
    twenty-fold, so a run that meets dozens of faults takes a second, not a quarter minute."""
    policy = client_module.RetryPolicy
    monkeypatch.setattr(client_module, "RetryPolicy", lambda: policy(base_s=0.05, cap_s=1.6))


def test_apply_converges_through_faults_and_slow_consistency(
    quick_backoff, emulator, state_dir, tmp_path, cli
):
    tenant = emulator(fault_rate=0.2, fault_seed=7, consistency_delay_ms=200)
    result = tmp_path / "result.json"
    run = cli("apply", state_dir, "--auto-approve", "--result-file", result)
    assert run.code == 0, run.err
    assert ALL_APPLIED in run.out
    outcome = json.loads(result.read_text())
    assert (outcome["applied"], outcome["failed"]) == (EXAMPLE_CHANGES, 0)
    # Every fault met a retry: every change applied, none failed.
    assert tenant.stats()["faults_injected"] > 0

    # Faults still on: the plan right after reads through them and finds nothing to do.
    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes.")


# Seeds whose runs lose answers of inserts, org units included, some of them through
# httplib2 sending a request again on its own.
@pytest.mark.parametrize("seed", [4, 20, 25, 28])
def test_apply_converges_when_answers_are_lost_after_the_work_is_done(
    quick_backoff, emulator, state_dir, tmp_path, cli, seed
):
    """Every fault kind, those that run the call and lose its answer included: each retry
    meets Google's answer to a repeated write (409, 404, 400 invalidOrgunit, 400 required
    memberKey...) and still counts as done."""
    kinds = [*FAULT_KINDS, *AFTER_FAULT_KINDS]
    tenant = emulator(fault_rate=0.3, fault_seed=seed, fault_kinds=kinds)
    result = tmp_path / "result.json"
    run = cli("apply", state_dir, "--auto-approve", "--result-file", result)
    outcome = json.loads(result.read_text())
    # A sign-in message whose answer was lost is the one change not tried again (sent twice
    # it would be two messages): it fails, and the next apply sends a new one.
    unsent = [
        c
        for c in outcome["results"]
        if c["result"] == "failed" and "may have been done: not sent again" in (c["error"] or "")
    ]
    assert {c["action"] for c in unsent} <= {"notify"}
    assert run.code == (1 if unsent else 0), run.err
    assert (outcome["applied"], outcome["failed"]) == (EXAMPLE_CHANGES - len(unsent), len(unsent))
    lost = tenant.stats()["faults_by_kind"]
    assert sum(lost.get(kind, 0) for kind in AFTER_FAULT_KINDS) > 0
    tenant.server.configure(fault_rate=0.0)
    if unsent:
        assert cli("apply", state_dir, "--auto-approve").code == 0
    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes."), after.text
