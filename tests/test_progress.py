"""Progress: plain lines for logs (counts, totals, rate, time left, quota waits), the rich
display only on a terminal outside CI, and nothing on stdout. Fake clocks, no sleeping."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from reconciler import progress
from reconciler.progress import Progress, on_terminal, quota_wait
from reconciler.progress_display import TerminalDisplay


class Clock:
    def __init__(self, now: float = 100.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def no_current_phase(monkeypatch):
    monkeypatch.setattr(progress, "_current", None)
    monkeypatch.setattr(progress, "_terminal", None)


def phase(label="Reading members", every_s=5.0):
    clock, out = Clock(), io.StringIO()
    return Progress(label, stream=out, every_s=every_s, clock=clock), clock, out


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_a_line_gives_count_total_rate_and_time_left():
    shown, clock, out = phase()
    shown.of(10_000, "groups")
    clock.now += 5
    shown.add(1_200)
    # 1,200 in 5 s is 240/s; 8,800 left at that rate is 36.7 s.
    assert lines(out) == ["Reading members: 1,200 of 10,000 groups, 240/s, about 37 s left"]


def test_without_a_total_a_line_gives_count_and_rate_only():
    shown, clock, out = phase("Reading users")
    clock.now += 5
    shown.add(12_000)
    assert lines(out) == ["Reading users: 12,000, 2,400/s"]


def test_a_slow_rate_keeps_a_decimal_and_a_long_wait_reads_in_minutes():
    shown, clock, out = phase("Applying changes")
    shown.of(1_000)
    clock.now += 10
    shown.add(25)
    assert lines(out) == ["Applying changes: 25 of 1,000, 2.5/s, about 6 min left"]


def test_lines_come_at_most_every_few_seconds():
    shown, clock, out = phase()
    for _ in range(20):
        clock.now += 1
        shown.add()
    assert [line.split(": ")[1].split(",")[0] for line in lines(out)] == ["5", "10", "15", "20"]


def test_a_short_phase_says_nothing_at_all():
    shown, clock, out = phase()
    shown.of(3, "groups")
    clock.now += 1
    shown.add(3)
    shown.done()
    assert out.getvalue() == ""


def test_a_long_phase_ends_with_its_count_and_duration():
    shown, clock, out = phase()
    shown.of(20, "groups")
    clock.now += 6
    shown.add(10)
    clock.now += 35
    shown.add(10)
    shown.done()
    assert lines(out)[-1] == "Reading members: done, 20 of 20 groups in 41 s"


def test_a_long_quota_wait_is_said_at_once():
    _shown, clock, out = phase()
    clock.now += 1  # a line is not due, but a wait this long would look like a hang
    quota_wait(23.0, 2_400)
    assert lines(out) == ["Reading members: waiting 23 s for the quota (2,400 calls a minute)"]


def test_short_quota_waits_are_said_only_when_a_line_is_due():
    _shown, clock, out = phase()
    clock.now += 1
    quota_wait(1.5, 2_400)
    assert out.getvalue() == ""
    clock.now += 5
    quota_wait(1.5, 2_400)
    assert lines(out) == ["Reading members: waiting 1.5 s for the quota (2,400 calls a minute)"]


def test_waits_under_a_second_are_never_said_as_news():
    # At the quota's edge the pacer waits fractions of a second between batches: part of
    # the rate, and a log full of them says nothing.
    _shown, clock, out = phase()
    clock.now += 6
    quota_wait(0.3, 2_400)
    assert out.getvalue() == ""


def test_a_quota_wait_goes_to_the_phase_begun_last_until_it_is_done(capsys):
    _first, _, first_out = phase("Reading users")
    second, _, second_out = phase("Reading groups")
    quota_wait(30.0)
    assert first_out.getvalue() == ""
    assert lines(second_out) == ["Reading groups: waiting 30 s for the quota"]
    second.done()
    quota_wait(30.0, 40)  # no phase: a long wait gets a line of its own on stderr
    quota_wait(1.0, 40)  # and a short one none
    assert lines(second_out)[-1].startswith("Reading groups: done")
    captured = capsys.readouterr()
    assert captured.err == "Waiting 30 s for the quota (40 calls a minute)\n"
    assert captured.out == ""


def test_progress_on_stderr_leaves_stdout_clean(capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    clock = Clock()
    shown = Progress("Reading users", every_s=5.0, clock=clock)
    clock.now += 5
    shown.add(7)
    quota_wait(12.0, 2_400)
    shown.note("reading again in 1.00 s")
    shown.done()
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "Reading users: 7, 1.4/s",
        "Reading users: waiting 12 s for the quota (2,400 calls a minute)",
        "Reading users: reading again in 1.00 s",
        "Reading users: done, 7 in 5.0 s",
    ]


@pytest.mark.parametrize(
    ("tty", "environ", "expected"),
    [
        (True, {}, True),
        (True, {"CI": "true"}, False),
        (True, {"CI": "1"}, False),
        (True, {"CI": "false"}, True),
        (True, {"CI": ""}, True),
        (False, {}, False),
    ],
)
def test_the_terminal_display_is_chosen_for_a_terminal_outside_ci(tty, environ, expected):
    stream = Terminal() if tty else io.StringIO()
    assert on_terminal(stream, environ) is expected


def test_a_closed_stream_is_no_terminal():
    stream = io.StringIO()
    stream.close()  # its isatty raises ValueError now
    assert on_terminal(stream, {}) is False


def test_a_phase_draws_with_rich_on_a_terminal_and_plainly_elsewhere(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    drawn = Progress("Reading users")
    assert isinstance(drawn._display, TerminalDisplay)
    drawn.add(5)
    drawn.done()
    assert "Reading users" in terminal.getvalue()
    monkeypatch.setenv("CI", "true")
    assert Progress("Reading users")._display is None
    assert Progress("Reading users", stream=Terminal())._display is None  # a stream given


def test_the_rich_display_shows_count_total_bar_rate_and_quota_wait(monkeypatch):
    out = io.StringIO()
    clock = Clock()
    display = TerminalDisplay(Console(file=out, force_terminal=True, width=200), clock=clock)
    monkeypatch.setattr(progress, "_terminal_display", lambda stream: display)
    shown = Progress("Reading members", clock=clock).of(10, "groups")
    clock.now += 2
    shown.add(4)
    quota_wait(23.0, 2_400)
    display.close()  # draws its last picture: the wait still running on the fake clock
    text = out.getvalue()
    assert "Reading members" in text
    assert "4 of 10 groups, waiting 23 s for the quota" in text
    assert "━" in text  # the bar, its total known


def test_the_rich_display_shows_rate_and_time_left_between_waits(monkeypatch):
    out = io.StringIO()
    clock = Clock()
    display = TerminalDisplay(Console(file=out, force_terminal=True, width=200), clock=clock)
    monkeypatch.setattr(progress, "_terminal_display", lambda stream: display)
    shown = Progress("Reading members", clock=clock).of(10, "groups")
    quota_wait(23.0, 2_400)
    clock.now += 23.5
    shown.add(4)
    display.close()
    text = out.getvalue()
    assert "4 of 10 groups, 0.2/s, about 35 s left" in text
    assert "waiting" not in text.rsplit("Reading members", 1)[1]


def test_the_rich_display_has_no_bar_without_a_total(monkeypatch):
    out = io.StringIO()
    clock = Clock()
    display = TerminalDisplay(Console(file=out, force_terminal=True, width=200), clock=clock)
    monkeypatch.setattr(progress, "_terminal_display", lambda stream: display)
    shown = Progress("Reading users", clock=clock)
    clock.now += 2
    shown.add(4_000)
    shown.done()
    text = out.getvalue()
    assert "done, 4,000 in 2.0 s" in text  # its last picture
    assert "━" not in text and "about" not in text
