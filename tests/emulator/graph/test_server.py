"""GraphServer's lifecycle: loopback only, its threads gone after stop()."""

from __future__ import annotations

import threading

import pytest
import requests

from reconciler.emulator.graph.api import GraphApi
from reconciler.emulator.graph.server import GraphServer
from reconciler.emulator.graph.tenant import GraphTenant

from .support import seed


def test_start_stop_joins_every_thread():
    before = set(threading.enumerate())
    api = GraphApi(GraphTenant.from_seed(seed()))
    with GraphServer(api) as server:
        assert server.base_url.startswith("http://127.0.0.1:")
        session = requests.Session()  # keep-alive: its connection thread stays until stop
        for _ in range(3):
            assert session.get(f"{server.base_url}/v1.0/groups", timeout=30).status_code == 401
        started = set(threading.enumerate()) - before
        assert started and all(t.daemon for t in started)
    assert not [t for t in started if t.is_alive()]
    session.close()
    with pytest.raises(RuntimeError):
        _ = server.base_url


def test_foreign_host_header_is_refused():
    api = GraphApi(GraphTenant.from_seed(seed()))
    with GraphServer(api) as server:
        response = requests.get(
            f"{server.base_url}/v1.0/groups", headers={"Host": "graph.example"}, timeout=30
        )
        assert response.status_code == 403
