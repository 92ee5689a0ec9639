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


def test_a_web_page_is_refused_in_graphs_shape():
    api = GraphApi(GraphTenant.from_seed(seed()))
    with GraphServer(api) as server:
        response = requests.get(
            f"{server.base_url}/v1.0/groups", headers={"Origin": "https://evil.example"}, timeout=30
        )
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "Forbidden"
        assert "innerError" in response.json()["error"]
        assert api.stats()["requests"] == {}


def test_concurrent_member_adds_all_land_and_are_counted():
    from concurrent.futures import ThreadPoolExecutor

    from .support import Graph, ref

    g = Graph(seed(users=40))
    try:
        eng = g.group_id("Engineering")
        token = g.token()
        users = [g.user_id(f"user{i:03d}@example.com") for i in range(40)]

        def add(user_id: str) -> int:
            with requests.Session() as session:
                return session.post(
                    f"{g.base}/v1.0/groups/{eng}/members/$ref",
                    json=ref(user_id),
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=30,
                ).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(add, users))
        assert statuses == [204] * 40
        assert set(users) <= set(g.tenant.groups[eng].members)
        assert g.api.stats()["requests"]["POST /v1.0/groups/{id}/members/$ref"] == 40
    finally:
        g.close()
