"""Faults, quota window and runtime options: pure pieces, without a server."""

import pytest

from reconciler.emulator.faults import (
    FAULT_KINDS,
    EmulatorConfig,
    FaultPlan,
    QuotaWindow,
    fault_error,
    quota_error,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_quota_window_slides():
    clock = Clock()
    window = QuotaWindow(clock)
    assert [window.admit(3) for _ in range(4)] == [True, True, True, False]
    clock.now += 59.9
    assert not window.admit(3)  # refusals use no quota, the first three still count
    clock.now += 0.2
    assert window.admit(3)


def test_quota_zero_is_unlimited():
    window = QuotaWindow(Clock())
    assert all(window.admit(0) for _ in range(10_000))


def test_fault_plan_is_repeatable_and_near_its_rate():
    plan_a, plan_b = FaultPlan(7), FaultPlan(7)
    a = [plan_a.draw(0.3, list(FAULT_KINDS)) for _ in range(2000)]
    b = [plan_b.draw(0.3, list(FAULT_KINDS)) for _ in range(2000)]
    assert a == b
    faults = [f for f in a if f]
    assert 450 < len(faults) < 750
    assert set(faults) == set(FAULT_KINDS)
    assert FaultPlan(None).draw(0.0, ["drop"]) is None


def test_fault_and_quota_errors_use_googles_shape():
    status, body = fault_error("user_rate_limit")
    assert status == 403
    assert body["error"]["code"] == 403
    assert body["error"]["errors"][0]["reason"] == "userRateLimitExceeded"
    status, body = quota_error(10)
    assert (status, body["error"]["errors"][0]["reason"]) == (403, "userRateLimitExceeded")


def test_config_update_checks_names_types_and_ranges():
    config = EmulatorConfig().updated({"latency_ms": 5, "fault_kinds": ["drop"]})
    assert (config.latency_ms, config.fault_kinds) == (5, ["drop"])
    with pytest.raises(ValueError) as err:
        EmulatorConfig().updated(
            {"bogus": 1, "fault_rate": 2, "quota_per_minute": True, "fault_kinds": ["x"]}
        )
    message = str(err.value)
    for expected in (
        "unknown option 'bogus'",
        "quota_per_minute has the wrong type",
        "fault_rate must be between 0 and 1",
        "fault_kinds must be",
    ):
        assert expected in message
    assert EmulatorConfig().updated({"short_listing": {"users": 2}}).short_listing == {"users": 2}
    with pytest.raises(ValueError, match="short_listing must map"):
        EmulatorConfig().updated({"short_listing": {"users": -1}})
    with pytest.raises(ValueError, match="latency_ms has the wrong type"):
        EmulatorConfig().updated({"latency_ms": None})
    assert EmulatorConfig().updated({"listing_lag_ms": 300}).listing_lag_ms == 300
    with pytest.raises(ValueError, match="listing_lag_ms must be 0 or more"):
        EmulatorConfig().updated({"listing_lag_ms": -1})
