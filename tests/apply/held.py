"""Writes caught on the wire: the emulator holds a chosen request until the test lets it
through, so a test can stop the client while its write is sent and not yet answered, and
choose when that write lands (as a real server finishes a request whose client is gone)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from reconciler.emulator.server import EmulatorServer, Reply

# A request (a lone call, or a batch holding one) by its request line(s).
USERS_INSERT = re.compile(rb"(?m)^POST /admin/directory/v1/users\?")
USER_ALIAS_INSERT = re.compile(rb"(?m)^POST /admin/directory/v1/users/[^/ ?]+/aliases[? ]")
USERS_LIST = re.compile(rb"(?m)^GET /admin/directory/v1/users\?")


def _request_text(method: str, target: str, body: bytes | None) -> bytes:
    return f"{method} {target} HTTP/1.1\n".encode() + (body or b"")


class HeldWrite:
    """Hold the `nth` request (from 1) that matches `pattern` until `release()`; it then runs
    as sent, whether or not its client is still there."""

    def __init__(self, server: EmulatorServer, pattern: re.Pattern[bytes], nth: int = 1):
        self.pattern, self.nth = pattern, nth
        self.arrived = threading.Event()
        self.landed = threading.Event()
        self._gate = threading.Event()
        self._lost = False
        self._seen = 0
        self._lock = threading.Lock()
        self._handle = server.handle
        server.handle = self._hold  # type: ignore[method-assign]

    def _hold(self, method: str, target: str, headers: Any, body: bytes | None) -> Any:
        with self._lock:
            held = False
            if not self.arrived.is_set() and self.pattern.search(
                _request_text(method, target, body)
            ):
                self._seen += 1
                held = self._seen == self.nth
                if held:
                    self.arrived.set()
        if not held:
            return self._handle(method, target, headers, body)
        self._gate.wait()
        try:
            if self._lost:
                return Reply(0, drop=True)  # it never reached Google
            return self._handle(method, target, headers, body)
        finally:
            self.landed.set()

    def lose(self) -> None:
        """Drop the held request unanswered, without running it."""
        self._lost = True
        self.release()

    def release(self) -> None:
        """Let the held request run; return once it has (at once if none was held)."""
        self._gate.set()
        if self.arrived.is_set():
            self.landed.wait()


def after_first(server: EmulatorServer, pattern: re.Pattern[bytes], then: Callable[[], None]):
    """Run `then` once the first request matching `pattern` is answered, before its answer
    goes back to the client."""
    handle = server.handle
    done = threading.Event()

    def wrapped(method: str, target: str, headers: Any, body: bytes | None) -> Any:
        reply = handle(method, target, headers, body)
        if not done.is_set() and pattern.search(_request_text(method, target, body)):
            done.set()
            then()
        return reply

    server.handle = wrapped  # type: ignore[method-assign]
