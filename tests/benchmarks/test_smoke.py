"""The benchmark runner end to end on a tiny tenant: it runs, and reads cost the minimum; the
emulator's stop benchmark runs. Timings are reported by the benchmarks, never asserted here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import emulator_stop
from generate import Size
from run import benchmark, quota_bound_seconds


def test_plan_apply_plan_costs_the_fewest_calls(tmp_path: Path) -> None:
    expected, rows = benchmark(tmp_path, Size(200, 20, 1_000), changes=0.05, apply=True)
    plan, apply, again = rows
    assert plan.exit_code == 2  # changes pending
    assert plan.changes == expected.changes > 0
    assert apply.exit_code == 0
    assert (apply.changes, apply.failed, apply.quota_errors) == (expected.changes, 0, 0)
    assert (again.exit_code, again.changes) == (0, 0)
    for row in rows:
        assert row.minimum_calls <= row.api_calls <= row.minimum_calls * 1.05, row
        assert row.peak_mb > 0
    # The plan again (domains, the read, a check per create), then one call per change.
    assert apply.api_calls == apply.minimum_calls
    # Exactly the minimum: one domains.list, the read, and one users.get per planned create
    # (5 here) to prove each absent; after the apply nothing is created, so none.
    assert expected.creates == 5
    assert plan.api_calls == plan.minimum_calls == 1 + expected.minimum_read_calls + 5
    assert again.api_calls == again.minimum_calls == 1 + expected.minimum_read_calls_after_apply
    # The 20 member reads go in one batch: one round trip each for the domains, users,
    # deleted users, groups, org units, the schema, that batch, and one batch of the 5
    # creates' checks.
    assert expected.member_pages == 20
    assert plan.round_trips == 8
    assert again.round_trips == 7


def test_entra_export_costs_the_fewest_graph_calls(tmp_path: Path) -> None:
    expected, rows = benchmark(tmp_path, Size(200, 20, 1_000), changes=0.05, apply=True, entra=True)
    plan, apply, again = rows
    # Half the 20 groups are created, 5 adopted, 5 ours already (one member too many each);
    # each existing group lacks one member, each created one all of its 50.
    assert (expected.entra_group_creates, expected.entra_group_adopts) == (10, 5)
    assert (expected.entra_member_adds, expected.entra_member_removals) == (510, 5)
    assert plan.exit_code == 2 and plan.changes == expected.changes
    assert apply.exit_code == 0
    assert (apply.changes, apply.failed) == (expected.changes, 0)
    assert (again.exit_code, again.changes) == (0, 0)
    for row in rows:
        assert row.api_calls == row.minimum_calls, row
        assert row.graph_calls == row.graph_minimum_calls > 0, row
    # Plan: 1 users page, 1 groups page, the 10 member reads in one $batch, the 10 creates'
    # lookups in another; after the apply 20 member reads, still one $batch, no lookups.
    assert plan.graph_calls == 1 + 1 + 10 + 10
    assert plan.graph_round_trips == 4
    assert again.graph_calls == 1 + 1 + 20
    assert again.graph_round_trips == 3
    # Apply: its plan, then 10 creates, 15 markers (created and adopted), 510 adds and 5
    # removals, 20 to a $batch: 1 + 1 + 1 + 26 + 1 round trips more.
    assert apply.graph_calls == plan.graph_calls + 10 + 15 + 510 + 5
    assert apply.graph_round_trips == plan.graph_round_trips + 30


def earliest_last_call(calls: int, per_minute: int) -> float:
    """Send each call as early as a sliding 60 s window of `per_minute` allows."""
    sent: list[float] = []
    for i in range(calls):
        sent.append(0.0 if i < per_minute else sent[i - per_minute] + 60.0)
    return sent[-1]


@pytest.mark.parametrize(
    "calls, per_minute",
    [(1, 10), (10, 10), (11, 10), (20, 10), (21, 10), (35, 7), (10_597, 2_400), (9_600, 2_400)],
)
def test_quota_bound_is_the_sliding_windows_earliest_last_call(calls, per_minute) -> None:
    assert quota_bound_seconds(calls, per_minute) == earliest_last_call(calls, per_minute)


def test_quota_bound_of_the_ten_thousand_change_apply() -> None:
    # 10,597 calls at 2,400 a minute: four full windows go first, so the last call is at
    # 240 s; a steady 40 calls a second after an initial 2,400 would wrongly say 205 s.
    assert quota_bound_seconds(10_597, 2_400) == 240.0


def test_the_stop_benchmark_sees_every_idle_connection_ended(tmp_path: Path) -> None:
    [measured] = emulator_stop.run([3], rounds=1)
    assert (measured.connections, measured.closed) == (3, 3)
    assert measured.seconds > 0


def test_the_access_review_benchmark_checks_its_rows(tmp_path: Path) -> None:
    import argparse

    import access_review

    args = argparse.Namespace(users=60, groups=12, members=120, files=3, commits=25, seed=3)
    rows, wall = access_review.benchmark(args, tmp_path)
    # 10 members a group to begin with; each commit takes at most one away.
    assert 120 - 25 <= rows <= 120 + 25 and wall > 0
