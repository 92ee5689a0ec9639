"""Retries: which failures are retried (classify), single calls and batch parts under each
injected fault, and calls on something created moments ago."""

from __future__ import annotations

import json
from typing import Any

import httplib2
import pytest
from conftest import CUSTOMER, DOMAINS, PASSWORD, connect, fast_retry, managed, stats
from googleapiclient.errors import HttpError

from reconciler.emulator.faults import FAULT_KINDS
from reconciler.google import ops
from reconciler.google.client import Call
from reconciler.google.fetch import fetch_actual
from reconciler.google.retry import RetryPolicy, classify, error_message, error_reason
from reconciler.state import Group, User


def http_error(status: int, reason: str = "", message: str = "Something.") -> HttpError:
    errors = [{"domain": "global", "reason": reason, "message": message}] if reason else []
    body = {"error": {"code": status, "message": message, "errors": errors}}
    return HttpError(httplib2.Response({"status": status}), json.dumps(body).encode())


# -- classify --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason", "verdict"),
    [
        (429, "rateLimitExceeded", "retry"),
        (500, "backendError", "retry"),
        (503, "backendError", "retry"),
        (403, "rateLimitExceeded", "retry"),
        (403, "userRateLimitExceeded", "retry"),
        # Too many concurrent requests: googleapiclient's own retries skip it, ours do not.
        (403, "quotaExceeded", "retry"),
        (403, "forbidden", "fail"),
        (403, "", "fail"),
        (400, "invalid", "fail"),
        (404, "notFound", "fail"),
        (409, "duplicate", "fail"),
        (412, "adminCannotUnsuspend", "fail"),
    ],
)
def test_classify_http_errors(status, reason, verdict):
    assert classify(http_error(status, reason)) == verdict


def test_classify_not_ready():
    creating = http_error(412, "conditionNotMet", "User creation is not complete.")
    assert classify(creating) == "not_ready"
    assert classify(http_error(404, "notFound", "Resource Not Found: userKey")) == "fail"
    assert classify(http_error(404, "notFound"), after_create=True) == "not_ready"
    assert classify(http_error(400, "invalid"), after_create=True) == "fail"


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(),
        ConnectionRefusedError(),
        TimeoutError(),
        httplib2.ServerNotFoundError(),
    ],
)
def test_classify_connection_errors(exc):
    assert classify(exc) == "retry"


def test_classify_unknown_exceptions_fail():
    assert classify(ValueError("a bug")) == "fail"


def test_error_reason_and_message_tolerate_odd_bodies():
    odd = HttpError(httplib2.Response({"status": 502}), b"<html>Bad Gateway</html>")
    assert error_reason(odd) == ""
    assert error_message(odd)
    assert error_reason(http_error(403, "quotaExceeded")) == "quotaExceeded"
    assert error_message(http_error(409, "duplicate", "Entity already exists.")) == (
        "Entity already exists."
    )
    assert classify(odd) == "retry"


def test_backoff_is_capped_exponential_with_jitter():
    policy = RetryPolicy(max_attempts=8, base_s=1.0, cap_s=8.0)
    waits = list(policy.delays())
    assert len(waits) == 7
    ceilings = [1, 2, 4, 8, 8, 8, 8]
    assert all(c / 2 <= w <= c for w, c in zip(waits, ceilings, strict=True))
    assert len({round(w, 6) for w in RetryPolicy(base_s=1.0, cap_s=1.0).delays()}) > 1


# -- against the emulator: one fault, then none ----------------------------------------------


def heal_on_retry(client: Any, server: Any) -> list[float]:
    """Faults stop as soon as the client backs off: each retry is seen exactly once."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        server.configure(fault_rate=0.0)

    client.retry = fast_retry(sleep=sleep)
    return waits


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_single_call_is_retried_after_each_fault(kind, client, emulator):
    waits = heal_on_retry(client, emulator)
    emulator.configure(fault_rate=1.0, fault_kinds=[kind], fault_seed=1)
    request = client.service.users().get(userKey="ana.ruiz@example.com", fields="primaryEmail")
    outcome = client.execute(Call(request, "users.get ana.ruiz@example.com"))
    assert outcome.ok, outcome.error
    assert outcome.body == {"primaryEmail": "ana.ruiz@example.com"}
    assert (outcome.attempts, client.stats.retries, len(waits)) == (2, 1, 1)
    assert stats(emulator)["faults_by_kind"][kind] >= 1


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_batch_parts_are_retried_after_each_fault(kind, client, emulator):
    waits = heal_on_retry(client, emulator)
    emulator.configure(fault_rate=1.0, fault_kinds=[kind], fault_seed=1)
    groups = ["audit", "dev", "finance", "helpdesk", "leadership"]
    calls = [
        Call(client.service.groups().get(groupKey=f"{g}@example.com", fields="email"), g)
        for g in groups
    ]
    outcomes = client.execute_all(calls)
    assert [o.body for o in outcomes] == [{"email": f"{g}@example.com"} for g in groups]
    assert all(o.ok and o.attempts == 2 for o in outcomes)
    assert client.stats.retries == len(groups) and len(waits) == 1
    seen = stats(emulator)
    assert seen["batch_requests"] == 2  # the retry is one batch again, not five calls
    assert seen["faults_injected"] == len(groups)


def test_persistent_faults_give_up_with_the_last_error(client, emulator):
    client.retry = fast_retry(max_attempts=3)
    emulator.configure(fault_rate=1.0, fault_kinds=["backend_error"], fault_seed=1)
    request = client.service.users().get(userKey="ana.ruiz@example.com")
    outcome = client.execute(Call(request, "users.get ana.ruiz@example.com"))
    assert not outcome.ok and outcome.attempts == 3
    assert "503" in outcome.error and "gave up" in outcome.error
    assert stats(emulator)["api_calls"] == 3
    outcomes = client.execute_all([Call(request, "a"), Call(request, "b")])
    assert [(o.ok, o.attempts) for o in outcomes] == [(False, 3), (False, 3)]
    assert all("503" in o.error for o in outcomes)


def test_errors_that_are_not_transient_are_not_retried(client, emulator):
    request = client.service.users().get(userKey="nobody@example.com")
    outcome = client.execute(Call(request, "users.get nobody@example.com"))
    assert (outcome.ok, outcome.status, outcome.reason, outcome.attempts) == (
        False,
        404,
        "notFound",
        1,
    )
    assert "Resource Not Found: userKey" in outcome.error
    assert client.stats.retries == 0 and stats(emulator)["api_calls"] == 1


# -- a whole fetch under random faults -------------------------------------------------------


@pytest.fixture
def baseline(client):
    return fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed)


@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_fetch_under_faults_returns_exactly_the_seeded_state(kind, baseline, emulator, tmp_path):
    before = stats(emulator)["api_calls"]
    emulator.configure(fault_rate=0.3, fault_seed=20240601, fault_kinds=[kind])
    client = connect(emulator, tmp_path, read_only=True)
    actual = fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed)
    assert actual.state == baseline.state
    assert actual.marker_schema == baseline.marker_schema
    assert actual.user_addresses == baseline.user_addresses
    assert actual.group_addresses == baseline.group_addresses
    seen = stats(emulator)
    assert seen["faults_by_kind"].get(kind, 0) > 0
    assert client.stats.retries > 0 and actual.retries == client.stats.retries
    assert seen["api_calls"] - before > baseline.calls


# -- "not yet usable" right after a creation -------------------------------------------------


class Clock:
    """The emulator's clock, moved by the client's backoff instead of real sleeping."""

    def __init__(self, now: float = 1_760_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def settling(client, emulator) -> Clock:
    """New users and groups stay unusable for 2 s of emulator time; backoff moves time."""
    clock = Clock()
    emulator.api.clock = clock
    emulator.configure(consistency_delay_ms=2000)
    client.retry = RetryPolicy(max_attempts=10, base_s=0.25, cap_s=1.0, sleep=clock.sleep)
    return clock


NEW = User(email="kenji.watanabe@example.com", given_name="Kenji", family_name="Watanabe")


def test_update_right_after_create_succeeds_after_retries(client, settling):
    assert client.must(ops.create_user(client, NEW, "acme/identity", PASSWORD))
    call = ops.update_user(client, NEW.email, {"title": "Engineer"}, after_create=True)
    outcome = client.execute(call)
    assert outcome.ok, outcome.error
    assert outcome.attempts > 1 and client.stats.retries == outcome.attempts - 1


def test_member_add_right_after_create(client, settling):
    client.must(ops.create_user(client, NEW, "acme/identity", PASSWORD))
    # Without after_create, "Resource Not Found: memberKey" is taken at its word.
    early = client.execute(ops.add_member(client, "dev@example.com", NEW.email, "MEMBER"))
    assert (early.ok, early.status, early.attempts) == (False, 404, 1)
    late = client.execute(
        ops.add_member(client, "dev@example.com", NEW.email, "MEMBER", after_create=True)
    )
    assert late.ok and late.attempts > 1, late.error


def test_calls_on_a_new_group_wait_for_it(client, settling):
    client.must(
        ops.create_group(client, Group("platform@example.com", "Platform"), "acme/identity")
    )
    early = client.execute(
        ops.update_group(client, "platform@example.com", {"name": "P"}, "acme/identity")
    )
    assert (early.ok, early.status) == (False, 404)
    calls = [
        ops.update_group(
            client, "platform@example.com", {"name": "Platform"}, "acme/identity", after_create=True
        ),
        ops.add_member(client, "platform@example.com", "jo.lei@example.com", "OWNER", True),
        ops.add_group_alias(client, "platform@example.com", "plat@example.com", True),
    ]
    outcomes = client.execute_all(calls)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert all(o.attempts > 1 for o in outcomes)


def test_a_missing_member_of_a_new_group_is_not_waited_for():
    from googleapiclient.errors import HttpError
    from httplib2 import Response

    from reconciler.google.retry import classify

    def not_found(key: str) -> HttpError:
        body = json.dumps(
            {
                "error": {
                    "code": 404,
                    "message": f"Resource Not Found: {key}",
                    "errors": [
                        {
                            "domain": "global",
                            "reason": "notFound",
                            "message": f"Resource Not Found: {key}",
                        }
                    ],
                }
            }
        ).encode()
        return HttpError(Response({"status": 404}), body)

    assert classify(not_found("memberKey"), True, ("groupKey",)) == "fail"
    assert classify(not_found("groupKey"), True, ("groupKey",)) == "not_ready"
    assert classify(not_found("memberKey"), True, ("memberKey",)) == "not_ready"
    assert classify(not_found("memberKey"), True) == "not_ready"  # unknown: either may be new
    assert classify(not_found("memberKey"), False) == "fail"


def test_calls_on_a_renamed_users_new_address_wait_for_it(client, settling):
    # The new address settles like a new account's: "not found" about it means "not yet".
    client.must(ops.rename_user(client, "maria.costa@example.com", "maria.silva@example.com"))
    new = "maria.silva@example.com"
    early = client.execute(ops.update_member(client, "dev@example.com", new, "OWNER"))
    assert (early.ok, early.status, early.attempts) == (False, 404, 1)
    calls = [
        ops.update_user(client, new, {"title": "Staff Engineer"}, after_create=True),
        ops.adopt_user(client, new, "acme/identity", after_create=True),
        ops.update_member(client, "dev@example.com", new, "OWNER", new_member=True),
    ]
    outcomes = client.execute_all(calls)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert all(o.attempts > 1 for o in outcomes)


def test_removing_a_renamed_member_is_not_taken_as_already_gone(client, settling):
    client.must(ops.rename_user(client, "maria.costa@example.com", "maria.silva@example.com"))
    new = "maria.silva@example.com"
    gone = client.execute(ops.remove_member(client, "dev@example.com", new, new_member=True))
    assert gone.ok and gone.attempts > 1 and gone.note is None
    listed = client.must(Call(client.service.members().list(groupKey="dev@example.com"), "l"))
    assert new not in {m["email"] for m in listed.get("members", [])}


def test_calls_on_a_renamed_groups_new_address_wait_for_it(client, settling):
    client.must(ops.rename_group(client, "dev@example.com", "eng@example.com"))
    calls = [
        ops.update_group(client, "eng@example.com", {"name": "Eng"}, "acme/identity", True),
        ops.add_member(client, "eng@example.com", "jo.lei@example.com", "MEMBER", True),
        ops.remove_group_alias(client, "eng@example.com", "dev@example.com", after_create=True),
    ]
    outcomes = client.execute_all(calls)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert all(o.attempts > 1 for o in outcomes)


# -- claims of an address released moments ago -------------------------------------------------


@pytest.fixture
def holding(client, emulator) -> Clock:
    """Released addresses stay taken for 5 s of emulator time; backoff moves time. The policy
    allows 3 attempts: the waits for a released address do not count against them."""
    clock = Clock()
    emulator.api.clock = clock
    emulator.configure(address_hold_ms=5000)
    client.retry = RetryPolicy(max_attempts=3, base_s=0.25, cap_s=2.0, sleep=clock.sleep)
    return clock


MOVED = "robert.fischer@example.com"  # an alias of rfischer@example.com in the example


def release(client) -> None:
    client.must(ops.remove_user_alias(client, "rfischer@example.com", MOVED))


def test_a_claim_after_a_release_waits_until_the_address_is_free(client, holding):
    release(client)
    start = holding.now
    early = client.execute(ops.add_user_alias(client, "ana.ruiz@example.com", MOVED))
    assert (early.ok, early.status, early.attempts) == (False, 409, 1)  # not marked: no wait
    call = ops.add_user_alias(client, "ana.ruiz@example.com", MOVED)
    call.after_release = True
    outcome = client.execute(call)
    assert outcome.ok, outcome.error
    assert outcome.attempts > 3 and holding.now - start >= 5


def test_batched_claims_after_a_release_wait_too(client, holding):
    release(client)
    moved = ops.add_user_alias(client, "ana.ruiz@example.com", MOVED)
    moved.after_release = True
    other = ops.add_user_alias(client, "ana.ruiz@example.com", "a.ruiz@example.com")
    outcomes = client.execute_all([moved, other])
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert outcomes[0].attempts > 1 and outcomes[1].attempts == 1


def test_a_claim_that_stays_refused_gives_up_after_a_bounded_wait(client, holding, emulator):
    from reconciler.google.client import RELEASE_WAIT_S

    emulator.configure(address_hold_ms=3_600_000)
    release(client)
    for run in (client.execute, lambda c: client.execute_all([c])[0]):
        start = holding.now
        call = ops.add_user_alias(client, "ana.ruiz@example.com", MOVED)
        call.after_release = True
        outcome = run(call)
        assert not outcome.ok and outcome.status == 409
        assert holding.now - start == pytest.approx(RELEASE_WAIT_S)
        assert outcome.error.startswith("409 duplicate: Entity already exists.")
        assert "released moments ago" in outcome.error and "Run apply again later" in outcome.error
