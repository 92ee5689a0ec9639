"""The suite's network guard (tests/conftest.py) holds: loopback names resolve, others are
refused and remembered against the test that asked."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
from live.target import LIVE_MODULE, leaves_loopback


def test_loopback_names_resolve():
    for name in ("127.0.0.1", "localhost"):
        assert socket.getaddrinfo(name, 80)


def test_other_names_are_refused_and_remembered(refused_names):
    with pytest.raises(socket.gaierror, match=r"loopback only, not oauth2\.googleapis\.com"):
        socket.getaddrinfo("oauth2.googleapis.com", 443)

    def swallowed() -> None:
        with contextlib.suppress(OSError):
            socket.create_connection(("example.com", 80), timeout=5)

    # Also from a thread whose error nobody sees.
    thread = threading.Thread(target=swallowed)
    thread.start()
    thread.join()
    assert sorted(set(refused_names)) == ["example.com", "oauth2.googleapis.com"]
    refused_names.clear()  # asked for on purpose: not a failure of this test


def test_only_the_live_module_in_live_mode_may_leave_loopback(tmp_path):
    live = {
        "RECONCILER_LIVE_ADMIN_SUBJECT": "admin@example.com",
        "RECONCILER_LIVE_DOMAIN": "example.com",
        "RECONCILER_LIVE_ORG_UNIT": "/Live tests",
        "RECONCILER_LIVE_PREFIX": "rl-",
    }
    assert leaves_loopback(LIVE_MODULE, live)
    assert not leaves_loopback(LIVE_MODULE, {})
    assert not leaves_loopback(LIVE_MODULE, {**live, "RECONCILER_LIVE_PREFIX": ""})
    assert not leaves_loopback(LIVE_MODULE.with_name("test_emulator.py"), live)
    assert not leaves_loopback(tmp_path / "test_google.py", live)
