"""The benchmark runner end to end on a tiny tenant: it runs, and reads cost the minimum."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from generate import Size
from run import benchmark


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
    # The 20 member reads go in one batch: one round trip each for users, groups, org units,
    # the schema, and that batch.
    assert expected.member_pages == 20
    assert plan.round_trips == 5
