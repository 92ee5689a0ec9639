"""More kill points for the crash suite (tests/apply/test_crash.py has six): SIGKILL
`python -m reconciler apply` at points spread over the whole run, from the first org unit to
the last membership removal, then apply again and check Google converged: the next plan is
empty and no user, group, org unit, address or membership exists twice.

The emulator runs in this process and the apply in a child that reaches it through
RECONCILER_GOOGLE_ENDPOINT; the kill points are read off the emulator's call counts. The
company is small (40 people, 130 changes) and latency low, so each point takes about two
seconds.
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
from apply.company import TEAMS, assert_tenant_is_the_company, write_company
from apply.support import Tenant, child_env, reconciler_command, wait_for

PEOPLE = 40
CHANGES = 130  # 4 org units, 40 users, 4 groups, 80 memberships, 1 removal, 1 suspension
LATENCY_MS = 20
BATCH = 10
# The reads before the first write: schemas, org units, users, groups, members.
READS = 6


def api_calls(tenant: Tenant) -> int:
    return tenant.server.stats.api_calls


# name -> when to kill. The run writes org units, then users (aliases right after their
# user), then groups, memberships, the leaver's removal and, last, the leaver's suspension.
KILL_POINTS: dict[str, Callable[[Tenant], bool]] = {
    "during-the-reads": lambda t: api_calls(t) >= 3,
    "first-org-unit": lambda t: t.calls("directory.orgunits.insert") >= 1,
    "all-org-units": lambda t: t.calls("directory.orgunits.insert") >= TEAMS,
    "first-write-batch-of-users": lambda t: t.calls("directory.users.insert") >= 5,
    "third-of-the-users": lambda t: t.calls("directory.users.insert") >= PEOPLE // 3,
    "second-alias": lambda t: t.calls("directory.users.aliases.insert") >= 2,
    "most-users": lambda t: t.calls("directory.users.insert") >= PEOPLE - 5,
    "every-user": lambda t: t.calls("directory.users.insert") >= PEOPLE,
    "first-group": lambda t: t.calls("directory.groups.insert") >= 1,
    "last-group": lambda t: t.calls("directory.groups.insert") >= TEAMS,
    "first-membership": lambda t: t.calls("directory.members.insert") >= 1,
    "quarter-of-memberships": lambda t: t.calls("directory.members.insert") >= PEOPLE // 2,
    "half-the-calls": lambda t: api_calls(t) >= (CHANGES + READS) // 2,
    "three-quarters-of-memberships": lambda t: (
        t.calls("directory.members.insert") >= PEOPLE * 3 // 2
    ),
    "last-membership": lambda t: t.calls("directory.members.insert") >= 2 * PEOPLE,
    "leaver-removed": lambda t: t.calls("directory.members.delete") >= 1,
}


@pytest.fixture
def company(tmp_path, emulator) -> tuple[Path, Tenant]:
    root = tmp_path / "company"
    seed = write_company(root, people=PEOPLE, batch_size=BATCH)
    return root, emulator(seed=seed, latency_ms=LATENCY_MS)


def start_apply(root: Path, audit: Path) -> subprocess.Popen:
    with (root.parent / "out.txt").open("w") as out, (root.parent / "err.txt").open("w") as err:
        return children.start(
            reconciler_command("apply", root, "--auto-approve", "--audit-log", audit),
            cwd=root.parent,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )


def assert_converged(root: Path, tenant: Tenant, cli) -> int:
    """Apply again: it succeeds; then the plan is empty and Google is what Git says, once.
    Returns how many changes the second run made."""
    tenant.server.configure(latency_ms=0)
    rerun = cli("apply", root, "--auto-approve")
    assert rerun.code == 0, rerun.text
    finished = re.search(r"Apply complete: (\d+) applied, 0 failed, 0 skipped\.", rerun.out)
    assert finished or rerun.out.startswith("No changes."), rerun.out
    after = cli("plan", root, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes."), after.out

    assert_tenant_is_the_company(tenant.snapshot(), PEOPLE)
    return int(finished[1]) if finished else 0


@pytest.mark.parametrize("kill_point", KILL_POINTS)
def test_killed_at_any_point_the_next_apply_converges(company, tmp_path, cli, kill_point):
    root, tenant = company
    audit = tmp_path / "audit.jsonl"
    with children.reaped(start_apply(root, audit)) as proc:
        wait_for(lambda: KILL_POINTS[kill_point](tenant), proc)
        children.stop(proc, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    # Each audit record that was written survived whole: intents and outcomes.
    records = (
        [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []
    )
    assert {r["result"] for r in records} <= {"started", "applied"}
    done = sum(r["result"] == "applied" for r in records)
    assert done < CHANGES
    second = assert_converged(root, tenant, cli)
    # Nothing was done twice: the two runs together made each change at most once, plus at
    # most the batch in flight when the first was killed (started, its outcome not audited).
    assert done + second <= CHANGES
    assert second >= CHANGES - done - BATCH


def test_the_kill_points_are_many_and_distinct():
    from apply.test_crash import KILL_POINTS as EARLIER

    assert len(KILL_POINTS) >= 14
    assert not set(KILL_POINTS) & set(EARLIER)
    assert len(KILL_POINTS) + len(EARLIER) >= 20
