"""What every test runs inside: nothing beyond loopback.

Name resolution answers for loopback names only, for the whole run (session fixtures
included, and threads the tests start): any other name is refused as an offline machine
would refuse it, and the test during which it was asked for fails, naming it, even when the
code under test swallowed the error. No endpoint comes from the caller's environment either:
a test that wants one sets it; nor do Google's application default credentials: a test that
would reach for them fails (one that wants them patches `google.auth.default` itself).

The one exception: a test of tests/live/test_google.py, when the RECONCILER_LIVE_* variables
name a test tenant (tests/live/target.py), may resolve any name and use application default
credentials, for it runs against Google on purpose (docs/development.md, "Live tests against
a test tenant"). Every other test, live variables or not, stays on loopback.

Children the tests start are not covered (a process has its own resolver): they talk to
emulators on loopback because the tests point them there.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import google.auth
import pytest
from live.target import leaves_loopback

from reconciler.google.client import ENDPOINT_ENV

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

_refused: list[str] = []
_live = [False]  # True while a live test against Google runs


@pytest.fixture(scope="session", autouse=True)
def _loopback_names_only() -> Iterator[None]:
    real = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in LOOPBACK and not _live[0]:
            _refused.append(name)
            raise socket.gaierror(socket.EAI_NONAME, f"tests talk to loopback only, not {name}")
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", loopback_only)
        yield


@pytest.fixture
def refused_names() -> list[str]:
    """The names refused since the test began (tests/test_loopback_only.py looks at them)."""
    return _refused


def _no_adc(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a test reached for application default credentials")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[None]:
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    _live[0] = leaves_loopback(request.node.path, os.environ)
    if not _live[0]:
        monkeypatch.setattr(google.auth, "default", _no_adc)
    try:
        yield
    finally:
        _live[0] = False
    tried, _refused[:] = sorted(set(_refused)), []
    assert not tried, f"the test (or a fixture it used) tried to reach {tried}"
