"""Client-side pacing: the Pacer with a fake clock, then against the emulator's quota."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from conftest import connect, stats

from reconciler import progress
from reconciler.emulator import faults
from reconciler.google import pacing
from reconciler.google.client import Call
from reconciler.google.pacing import Pacer
from reconciler.progress import Progress


class FakeTime:
    """A clock whose sleep moves it; records every sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def paced(per_minute: int) -> tuple[Pacer, FakeTime]:
    t = FakeTime()
    return Pacer(per_minute, clock=t.clock, sleep=t.sleep), t


def test_calls_within_the_quota_never_wait():
    pacer, t = paced(3)
    for _ in range(3):
        pacer.acquire()
    assert t.sleeps == [] and pacer.waited_s == 0


def test_the_next_call_waits_until_the_oldest_leaves_the_window():
    pacer, t = paced(3)
    pacer.acquire()
    t.now += 10
    pacer.acquire()
    pacer.acquire()
    t.now += 5
    pacer.acquire()  # the first call (at 1000) leaves the window at 1060
    assert t.sleeps == [pytest.approx(45)]
    assert t.now == pytest.approx(1060) and pacer.waited_s == pytest.approx(45)
    pacer.acquire()  # then the second (at 1010)
    assert t.sleeps[-1] == pytest.approx(10) and t.now == pytest.approx(1070)


def test_a_batch_waits_for_room_for_all_its_calls():
    pacer, t = paced(10)
    pacer.acquire(4)
    t.now += 1
    pacer.acquire(4)
    t.now += 1
    pacer.acquire(4)  # room 2: the two oldest (both at 1000) must leave, at 1060
    assert t.sleeps == [pytest.approx(58)]
    t.now += 0.5
    pacer.acquire(6)  # room 2 again (4 at 1001, 4 at 1060): the 4 at 1001 must leave
    assert t.sleeps[-1] == pytest.approx(0.5) and t.now == pytest.approx(1061)


def test_a_batch_waits_once_for_exactly_the_calls_it_needs_gone():
    pacer, t = paced(4)
    for _ in range(4):
        pacer.acquire()
        t.now += 10  # calls at 1000, 1010, 1020, 1030
    t.now = 1035
    pacer.acquire(3)  # the three oldest must leave: the third (1020) leaves at 1080
    assert t.sleeps == [pytest.approx(45)] and t.now == pytest.approx(1080)


def test_a_batch_larger_than_the_quota_does_not_wait_forever():
    pacer, t = paced(5)
    pacer.acquire(8)
    pacer.acquire(1)
    assert t.now == pytest.approx(1060)


def test_never_more_than_the_quota_in_any_window():
    rng = random.Random(5)
    pacer, t = paced(50)
    sent: list[float] = []
    for _ in range(2_000):
        t.now += rng.choice([0, 0, 0.01, 0.5, 3])
        n = rng.randint(1, 20)
        pacer.acquire(n)
        sent.extend([t.now] * n)
    # Every call starts a window: count the calls in [its time, its time + 60).
    end = 0
    for start, at in enumerate(sent):
        while end < len(sent) and sent[end] < at + pacing.WINDOW_S:
            end += 1
        assert end - start <= 50, f"{end - start} calls in the 60 s from {at}"
    assert t.sleeps  # the load was heavy enough to be paced at all


def test_per_minute_must_be_positive():
    with pytest.raises(ValueError):
        Pacer(0)


def test_connect_paces_at_the_configured_quota(emulator, tmp_path: Path):
    client = connect(emulator, tmp_path, quota_per_minute=1000)
    assert client.pacer is not None and client.pacer.per_minute == 1000
    assert connect(emulator, tmp_path, quota_per_minute=1).pacer.per_minute == 1


def test_the_pacer_tells_its_hook_of_each_wait_before_sleeping():
    fake, heard = FakeTime(), []

    def on_wait(seconds: float) -> None:
        heard.append((seconds, len(fake.sleeps)))  # heard before the sleep

    pacer = Pacer(2, clock=fake.clock, sleep=fake.sleep, on_wait=on_wait)
    pacer.acquire()
    fake.now += 15
    pacer.acquire()
    assert heard == []  # room enough: no wait
    pacer.acquire()  # the window is full until the first call leaves it, 45 s on
    assert heard == [(45.0, 0)] and fake.sleeps == [45.0]
    assert pacer.waited_s == 45.0


def test_connect_says_quota_waits_through_the_current_progress(
    emulator, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(progress, "_current", None)
    client = connect(emulator, tmp_path, quota_per_minute=40)
    fake = FakeTime()
    client.pacer.clock, client.pacer.sleep = fake.clock, fake.sleep
    shown = io.StringIO()
    Progress("Reading users", stream=shown, clock=fake.clock)
    client.pacer.acquire(40)
    fake.now += 37
    client.pacer.acquire()  # the window is full for 23 s more
    assert fake.sleeps == [23.0]
    assert shown.getvalue() == "Reading users: waiting 23 s for the quota (40 calls a minute)\n"


def test_batches_are_no_larger_than_the_quota(emulator, tmp_path: Path):
    client = connect(emulator, tmp_path, quota_per_minute=40)
    client.batch_size = 100
    assert client.batch_limit == 40  # a batch of 100 would go out over the rate
    client.pacer = None
    assert client.batch_limit == 100


def test_settled_calls_count_from_their_answer():
    pacer, t = paced(3)
    with pacer.spending(2):
        t.now += 5  # the answer takes 5 s: the server counted the calls within those 5 s
    pacer.acquire()
    t.now = 1059
    pacer.acquire()  # counted from 1005, the two leave the window at 1065, not 1060
    assert t.now == pytest.approx(1065) and t.sleeps == [pytest.approx(6)]


def test_a_failed_call_is_settled_too():
    pacer, t = paced(1)
    with pytest.raises(ConnectionError), pacer.spending(1):
        t.now += 2
        raise ConnectionError("dropped")
    pacer.acquire()
    assert t.now == pytest.approx(1062)


def test_settling_keeps_the_window_in_time_order():
    pacer, t = paced(4)
    pacer.acquire(2)
    t.now += 1
    with pacer.spending(2):
        t.now += 3
    assert list(pacer._sent) == [1000, 1000, 1004, 1004]


# -- against the emulator's quota, with both windows shortened so a run takes a second --------

WINDOW_S = 0.25
QUOTA = 20
# The client's rate in the first tests, well below the quota; the tests at the full quota
# come last.
PACED = 10
CALLS = 30


@pytest.fixture
def short_window(monkeypatch: pytest.MonkeyPatch, emulator):
    monkeypatch.setattr(pacing, "WINDOW_S", WINDOW_S)
    monkeypatch.setattr(faults, "QUOTA_WINDOW_S", WINDOW_S)
    emulator.configure(quota_per_minute=QUOTA)
    return emulator


def user_gets(client) -> list[Call]:
    users = client.service.users()
    return [
        Call(users.get(userKey="jo.lei@example.com", fields="primaryEmail"), f"get {i}")
        for i in range(CALLS)
    ]


def test_paced_single_calls_stay_under_the_quota(short_window, client):
    client.pacer = Pacer(PACED)
    outcomes = [client.execute(call) for call in user_gets(client)]
    assert all(o.ok and o.attempts == 1 for o in outcomes)
    seen = stats(short_window)
    assert seen["quota_rejections"] == 0 and seen["api_calls"] == CALLS
    assert client.pacer.waited_s > 0  # it did hold calls back


def test_unpaced_single_calls_bounce_off_the_quota(short_window, client, monkeypatch):
    # The emulator's whole minute here: 30 calls meet a quota of 20 however slowly they go.
    monkeypatch.setattr(faults, "QUOTA_WINDOW_S", 60.0)
    client.pacer = None
    for call in user_gets(client):
        client.execute(call)
    assert stats(short_window)["quota_rejections"] > 0


@pytest.mark.parametrize("batch_size", [4, 100])
def test_paced_batches_stay_under_the_quota(batch_size, short_window, client):
    # Each part of a batch is a call for the quota; a batch above the rate is split.
    client.pacer = Pacer(PACED)
    client.batch_size = batch_size
    outcomes = client.execute_all(user_gets(client))
    assert all(o.ok and o.attempts == 1 for o in outcomes)
    seen = stats(short_window)
    assert seen["quota_rejections"] == 0 and seen["api_calls"] == CALLS
    assert seen["batch_requests"] >= CALLS // PACED


@pytest.mark.parametrize("batch_size", [1, QUOTA])
def test_pacing_at_the_full_quota_never_bounces_off_a_slow_answer(
    batch_size, short_window, client, monkeypatch
):
    # A slow first round: the server counts those calls 0.1 s after they were sent. Then
    # fast ones: the client must not take the window as free a window after sending. The
    # window is a whole second here and the second round is built beforehand, so the two
    # rounds overlap in it however busy the machine is (a 0.25 s window did not always).
    monkeypatch.setattr(pacing, "WINDOW_S", 1.0)
    monkeypatch.setattr(faults, "QUOTA_WINDOW_S", 1.0)
    client.pacer = Pacer(QUOTA)
    client.batch_size = batch_size
    short_window.configure(quota_per_minute=QUOTA, latency_ms=100)
    first, second = user_gets(client)[:QUOTA], user_gets(client)[:QUOTA]
    if batch_size == 1:
        outcomes = [client.execute(call) for call in first]
    else:
        outcomes = client.execute_all(first)
    short_window.configure(quota_per_minute=QUOTA, latency_ms=0)
    outcomes += client.execute_all(second)
    assert all(o.ok and o.attempts == 1 for o in outcomes)
    seen = stats(short_window)
    assert seen["quota_rejections"] == 0 and seen["api_calls"] == 2 * QUOTA
    assert client.pacer.waited_s > 0  # the second round did wait for the window
