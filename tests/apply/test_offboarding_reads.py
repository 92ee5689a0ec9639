"""Offboarding when a run or a read goes wrong (README, "Offboarding"): a sign-out whose
marker was never written is planned again and nothing else is; transfers beyond the first
page are seen; a tokens or app-password read that fails stops the plan before anything is
applied.

Faults are aimed at one call: the emulator's Directory API answers it with the injected
fault of reconciler/emulator/faults.py, and the product's retries take no time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from ruamel.yaml import YAML

from reconciler.emulator.api import ApiResponse
from reconciler.emulator.faults import fault_error
from reconciler.google import client as client_module

from .support import Tenant, assert_no_changes_left, edit, heads, plan_json
from .test_offboarding import ANA, SAM, SAM_ENTRY, marker, offboarding_on

SAM_ID, ANA_ID = "104200000000000000001", "104200000000000000002"
WRITES = ("insert", "patch", "update", "delete", "signOut", "invalidate", "makeAdmin")


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The product's retry policy, its waits taking no time (a fault meets every attempt)."""
    policy = client_module.RetryPolicy
    monkeypatch.setattr(client_module, "RetryPolicy", lambda: policy(sleep=lambda _s: None))


def inject(tenant: Tenant, hit: Callable[[str, str, bytes | None], bool], kind: str) -> list[str]:
    """Answer every call `hit(method, path, body)` picks (the path relative to the API's
    root, unquoted) with the fault `kind`, before it
    runs; returns the paths it answered so."""
    api = tenant.server.api
    real = api.call
    hits: list[str] = []

    def call(
        method: str, path: str, query: Any, body: bytes | None, *rest: Any, **more: Any
    ) -> ApiResponse:
        if hit(method, unquote(path), body):
            hits.append(path)
            status, error = fault_error(kind)
            return ApiResponse(status, error, "faulted")
        return real(method, path, query, body, *rest, **more)  # a Gmail call's sender too

    api.call = call  # type: ignore[method-assign]
    return hits


def writes(tenant: Tenant) -> dict[str, int]:
    """The write calls the emulator answered, by method."""
    by_method = tenant.stats()["by_method"]
    return {m: n for m, n in by_method.items() if m.rsplit(".", 1)[-1] in WRITES}


# -- 1. stopped between users.signOut and the marker's signedOutAt ------------------------------


def test_a_sign_out_whose_marker_was_not_written_is_planned_again_and_nothing_else(
    state_dir: Path, emulator, cli
):
    tenant = emulator()
    offboarding_on(state_dir)
    sam_path = f"users/{SAM}"
    hits = inject(
        tenant,
        lambda method, path, body: (
            method == "PATCH" and path == sam_path and b"signedOutAt" in (body or b"")
        ),
        "backend_error",
    )
    first = cli("apply", state_dir, "--auto-approve")
    assert first.code != 0, first.text  # the sign-out's record failed
    assert hits  # Sam was signed out, then his marker's patch failed
    signed_out = tenant.calls("directory.users.signOut")
    sam = tenant.users()[SAM]
    assert sam["suspended"] is True and marker(sam)["suspendedAt"]
    assert "signedOutAt" not in marker(sam)
    assert tenant.api("GET", f"users/{SAM}/tokens").get("items", []) == []
    transfers = tenant.calls("datatransfer.transfers.insert")
    assert transfers == 2  # Sam's and James's (state: suspended)

    # The next plan signs Sam out again, and nothing else that already happened.
    del tenant.server.api.call  # the fault is gone
    plan = plan_json(cli, state_dir)
    assert heads(plan) == [("sign_out", SAM)]
    assert not [c for c in plan["changes"] if c["action"] == "revoke_tokens"]
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    assert tenant.calls("directory.users.signOut") == signed_out + 1
    sam = tenant.users()[SAM]
    assert marker(sam)["signedOutAt"] >= marker(sam)["suspendedAt"]
    assert tenant.calls("datatransfer.transfers.insert") == transfers
    assert_no_changes_left(cli, state_dir)


# -- 2. transfers beyond one page (applications.list: tests/google/test_offboarding_paging.py)


def seed_with_transfers(state_dir: Path, failed: int) -> dict[str, Any]:
    """The example tenant with fixed ids for Sam and Ana, and `failed` failed transfers from
    Sam to Ana (a full first page of transfers.list), then a completed one (the second).
    Sam is suspended, by this repository, before all of them: they cover his suspension."""
    doc = YAML(typ="safe").load((state_dir / "tenant.yaml").read_text(encoding="utf-8"))
    users = {u["primaryEmail"]: u for u in doc["users"]}
    users[SAM]["id"], users[ANA]["id"] = SAM_ID, ANA_ID
    users[SAM]["suspended"] = True
    users[SAM]["customSchemas"]["Reconciler"]["suspendedAt"] = "2024-12-31T00:00:00Z"
    schema = next(s for s in doc["schemas"] if s["schemaName"] == "Reconciler")
    schema["fields"].append({"fieldName": "suspendedAt", "fieldType": "STRING"})
    apps = [{"applicationId": "55656082996"}, {"applicationId": "435070579839"}]
    doc["dataTransfers"] = [
        {
            "id": f"T{n:04d}",
            "oldOwnerUserId": SAM_ID,
            "newOwnerUserId": ANA_ID,
            "applicationDataTransfers": apps,
            "requestTime": f"2025-01-01T00:{n // 60:02d}:{n % 60:02d}Z",
            "overallTransferStatusCode": "failed" if n < failed else "completed",
        }
        for n in range(failed + 1)
    ]
    return doc


def test_a_completed_transfer_on_the_second_page_lets_the_delete_go(state_dir: Path, emulator, cli):
    """transfers.list answers 100 a page (the client asks no other size): 100 failed
    transfers fill the first page, the completed one is on the second. Read whole, the data
    is safe and Sam is deleted; read by its first page only, the plan would stop on a failed
    transfer (or request one again)."""
    tenant = emulator(seed=seed_with_transfers(state_dir, failed=100))
    offboarding_on(state_dir)
    edit(
        state_dir / "users" / "engineering.yaml",
        SAM_ENTRY,
        SAM_ENTRY + "    state: deleted\n    offboarding: {delete_after_days: 0}\n",
    )
    status, first = tenant.request(
        "GET", f"/admin/datatransfer/v1/transfers?oldOwnerUserId={SAM_ID}"
    )
    assert status == 200 and first.get("nextPageToken"), "the completed transfer is on page 1"
    assert {t["overallTransferStatusCode"] for t in first["dataTransfers"]} == {"failed"}

    listed = tenant.calls("datatransfer.transfers.list")
    plan = plan_json(cli, state_dir)
    sam = [h for h in heads(plan) if h[1] == SAM]
    assert ("delete", SAM) in sam
    assert ("transfer_data", SAM) not in sam
    assert not [n for n in plan["notes"] if n.startswith(f"delete of {SAM} waits")]
    # Sam's two pages, once each, and James's one (state: suspended).
    assert tenant.calls("datatransfer.transfers.list") - listed == 3


# -- 3. a tokens or app-password read that fails ------------------------------------------------


@pytest.mark.parametrize("listing", ["tokens", "asps", "verificationCodes"])
def test_a_failed_credentials_read_stops_the_plan_and_nothing_is_applied(
    state_dir: Path, emulator, cli, listing: str
):
    tenant = emulator()
    offboarding_on(state_dir)
    path = f"users/{SAM}/{listing}"
    hits = inject(tenant, lambda method, p, _body: method == "GET" and p == path, "backend_error")
    before = tenant.snapshot()

    run = cli("plan", state_dir)
    assert run.code == 1, run.text
    assert f"{listing}.list {SAM}" in run.err
    assert hits  # the read was made, and failed each time

    applied = cli("apply", state_dir, "--auto-approve", "--audit-log", state_dir / "audit.jsonl")
    assert applied.code == 1, applied.text
    assert f"{listing}.list {SAM}" in applied.err
    assert writes(tenant) == {}
    assert tenant.snapshot() == before
    audit = state_dir / "audit.jsonl"
    records = (
        [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    )
    assert not [r for r in records if r.get("result") in ("started", "applied")]
