"""Child processes of the tests: started with default signal handling, always reaped.

A signal the test run ignores stays ignored in every child it starts (exec keeps SIG_IGN), and
a run started as a background job of a shell, or under some CI runners, ignores SIGINT: a
child that should take Ctrl-C would then shrug it off. So each child sets SIGINT and SIGTERM
back to their defaults before it runs, whatever this process does with them. And each child
is gone when its test ends, whether it ended on its own, was stopped, or the test failed
first: nothing is left running behind a test.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

# Hang guards, not measures: a child that outlives one is a failure of the test, and is
# killed. One for a child told to stop, one for a whole run of a command.
STOP_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 300.0


def default_signals() -> None:
    """Run in the child between fork and exec: SIGINT and SIGTERM do what they do by default
    (Python then turns SIGINT into KeyboardInterrupt, as at a terminal)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(args: Sequence[Any], **options: Any) -> subprocess.Popen:
    """subprocess.Popen with default signal handling in the child. Pair it with `reaped`."""
    return subprocess.Popen([str(a) for a in args], preexec_fn=default_signals, **options)


def run(args: Sequence[Any], **options: Any) -> subprocess.CompletedProcess:
    """subprocess.run with default signal handling in the child, and a timeout unless given
    (run itself kills and waits for its child when the timeout passes or anything else goes
    wrong)."""
    options.setdefault("timeout", RUN_TIMEOUT_S)
    return subprocess.run([str(a) for a in args], preexec_fn=default_signals, **options)


def reap(proc: subprocess.Popen) -> None:
    """Kill the child if it still runs, wait for it, and close its pipes."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate()


@contextmanager
def reaped(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """However the block ends, the child has ended after it (killed if it had to be)."""
    try:
        yield proc
    finally:
        reap(proc)


def stop(
    proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT_S
) -> tuple[str | bytes | None, str | bytes | None]:
    """Send `sig` and wait for the child to end; its remaining output (from its pipes, if
    any). A child that does not end is killed and fails the test."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        reap(proc)
        raise AssertionError(
            f"the child did not end within {timeout:.0f} s of {signal.Signals(sig).name}; killed"
        ) from None
