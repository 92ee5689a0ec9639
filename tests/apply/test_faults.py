"""Transient faults and eventual consistency: apply retries its way through 429s, 503s,
rate-limit 403s, dropped connections and not-yet-usable new accounts, and converges."""

from __future__ import annotations

import json

import pytest

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
    assert "Apply complete: 26 applied, 0 failed, 0 skipped." in run.out
    outcome = json.loads(result.read_text())
    assert (outcome["applied"], outcome["failed"]) == (26, 0)
    # Every fault met a retry: 26 changes applied, none failed.
    assert tenant.stats()["faults_injected"] > 0

    # Faults still on: the plan right after reads through them and finds nothing to do.
    after = cli("plan", state_dir, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes.")
