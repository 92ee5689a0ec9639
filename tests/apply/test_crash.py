"""A kill or Ctrl-C mid-apply leaves Google consistent: apply run again finishes the job, the
plan after it is empty, and nothing exists twice.

The run is a child process against an emulator in this process (slowed by latency so it lasts
a couple of seconds); the kill points are read off the emulator's call counts or the audit log.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import children
import pytest

from reconciler.commands.audit_trail import RECORD_START

from .company import TEAMS, assert_tenant_is_the_company, write_company
from .support import Tenant, child_env, reconciler_command, wait_for

PEOPLE = 100
CHANGES = 310  # 4 org units, 100 users, 4 groups, 200 memberships, 1 removal, 1 suspension
LATENCY_MS = 25
BATCH = 10  # provider.batch_size of the generated company


def read_audit(path: Path) -> list[dict]:
    """The whole records. A SIGKILL can cut a write short (see AuditLog): the start of a
    record, at the end of the log or (once the next run ended its line) within it, is left
    out; any other line must be a whole record."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            assert line.startswith(RECORD_START), line
    return records


def audit_lines(path: Path) -> int:
    """Outcome records (not the `started` records written before each write)."""
    return sum(r["result"] != "started" for r in read_audit(path))


def unanswered(records: list[dict]) -> set[tuple[str, str]]:
    """The changes started and never answered: at most the batch in flight."""
    started = {(r["action"], r["key"]) for r in records if r["result"] == "started"}
    return started - {(r["action"], r["key"]) for r in records if r["result"] != "started"}


# name -> when to kill, given the emulator and the audit log
KILL_POINTS: dict[str, Callable[[Tenant, Path], bool]] = {
    "first-user-batch": lambda t, _: t.calls("directory.users.insert") >= 1,
    "half-the-users": lambda t, _: t.calls("directory.users.insert") >= PEOPLE // 2,
    "new-user-before-its-alias": lambda t, _: t.calls("directory.users.aliases.insert") >= 1,
    # Org units and users are audited: the groups are next.
    "after-the-user-phase": lambda _, audit: audit_lines(audit) >= TEAMS + PEOPLE,
    "mid-memberships": lambda t, _: t.calls("directory.members.insert") >= PEOPLE,
}


@pytest.fixture
def company(tmp_path, emulator) -> tuple[Path, Tenant]:
    root = tmp_path / "company"
    seed = write_company(root, people=PEOPLE, batch_size=BATCH)
    return root, emulator(seed=seed, latency_ms=LATENCY_MS)


def start_apply(root: Path, audit: Path, result: Path) -> subprocess.Popen:
    """`apply --auto-approve` in a child; its output goes to files (a pipe nobody reads
    would fill up with the long plan and stall it)."""
    with (root.parent / "out.txt").open("w") as out, (root.parent / "err.txt").open("w") as err:
        return children.start(
            reconciler_command(
                "apply", root, "--auto-approve", "--audit-log", audit, "--result-file", result
            ),
            cwd=root.parent,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )


def unaudited(tenant: Tenant, audit: Path) -> dict[str, int]:
    """How many accounts and memberships the interrupted run made that its audit log lacks
    (neither an outcome nor a `started` record before the write)."""
    audited = {(r["action"], r["key"]) for r in read_audit(audit)}
    state = tenant.snapshot()
    made = {
        ("create", u["primaryEmail"])
        for u in state["users"]
        if u["primaryEmail"] != "admin@example.com" and u["primaryEmail"] != "leaver@example.com"
    }
    made |= {
        ("add_member", f"{g['email']}/{m['email']}")
        for g in state["groups"]
        for m in g.get("members", [])
        if m["email"] != "leaver@example.com"
    }
    return {
        action: len({key for a, key in made - audited if a == action})
        for action in ("create", "add_member")
    }


def assert_converged(root: Path, tenant: Tenant, cli, audit: Path) -> None:
    """A second apply, appending to the same audit log, finishes the rest (there was some);
    then Google is exactly what Git says, once, and the log reads whole (a record the kill
    cut short, if any, skipped with a warning)."""
    tenant.server.configure(latency_ms=0)
    rerun = cli("apply", root, "--auto-approve", "--audit-log", audit)
    assert rerun.code == 0, rerun.err
    assert read_audit(audit)[-1]["result"] == "applied"
    finished = re.search(r"Apply complete: (\d+) applied, 0 failed, 0 skipped\.", rerun.out)
    assert finished and 0 < int(finished[1]) < CHANGES, rerun.out
    after = cli("plan", root, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes."), after.out

    assert_tenant_is_the_company(tenant.snapshot(), PEOPLE)


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_a_killed_apply_is_finished_by_the_next(company, tmp_path, cli, kill_point):
    root, tenant = company
    audit, result = tmp_path / "audit.jsonl", tmp_path / "result.json"
    with children.reaped(start_apply(root, audit, result)) as proc:
        wait_for(lambda: KILL_POINTS[kill_point](tenant, audit), proc)
        children.stop(proc, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    # Whatever the audit log holds survived whole (but a last record the kill cut short).
    records = read_audit(audit)
    assert audit_lines(audit) < CHANGES
    assert {r["result"] for r in records} <= {"started", "applied"}
    assert not result.exists()  # the run never got to write it
    # Every write was recorded before it was sent: nothing Google holds lacks a record, and
    # at most the batch in flight has no outcome.
    gap = unaudited(tenant, audit)
    assert max(gap.values()) == 0, gap
    assert len(unanswered(records)) <= BATCH
    assert_converged(root, tenant, cli, audit)


def test_ctrl_c_stops_between_calls_and_the_next_apply_finishes(company, tmp_path, cli):
    root, tenant = company
    audit, result = tmp_path / "audit.jsonl", tmp_path / "result.json"
    with children.reaped(start_apply(root, audit, result)) as proc:
        wait_for(lambda: tenant.calls("directory.members.insert") >= 60, proc)
        children.stop(proc, signal.SIGINT)
    err = (tmp_path / "err.txt").read_text()
    assert proc.returncode == 1
    assert "Interrupted. Changes already made stay made; run apply again" in err
    assert "Traceback" not in err
    # The result file says it was interrupted, how far it got, and agrees with the audit log.
    outcome = json.loads(result.read_text())
    assert outcome["status"] == "interrupted"
    assert outcome["applied"] == len(outcome["results"]) == audit_lines(audit)
    assert TEAMS + PEOPLE <= outcome["applied"] < CHANGES
    in_flight = {(c["action"], c["key"]) for c in outcome["in_flight"]}
    assert in_flight == unanswered(read_audit(audit)) and len(in_flight) <= BATCH
    gap = unaudited(tenant, audit)
    assert max(gap.values()) == 0, gap
    assert_converged(root, tenant, cli, audit)
