"""JSON $batch, throttling, injected failures and read-after-create lag."""

from __future__ import annotations

import pytest

from .support import GRAPH, error_of, ref

JSON = {"Content-Type": "application/json"}


def _batch(graph, requests, **kwargs):
    return graph.request("POST", "/$batch", json={"requests": requests}, **kwargs)


def _by_id(response):
    return {r["id"]: r for r in response.json()["responses"]}


def test_batch_answers_in_shuffled_order_and_counts_items(graph):
    eng = graph.group_id("Engineering")
    u1 = graph.user_id("user001@example.com")
    items = [
        {"id": "1", "method": "GET", "url": f"/groups/{eng}"},
        {
            "id": "2",
            "method": "POST",
            "url": f"/groups/{eng}/members/$ref",
            "headers": JSON,
            "body": ref(u1),
        },
        {"id": "3", "method": "GET", "url": "users?$top=1"},
    ]
    response = _batch(graph, items)
    assert response.status_code == 200
    ids = [r["id"] for r in response.json()["responses"]]
    assert sorted(ids) == ["1", "2", "3"] and ids != ["1", "2", "3"]
    by_id = _by_id(response)
    assert by_id["1"]["body"]["displayName"] == "Engineering"
    assert by_id["2"]["status"] == 204 and "body" not in by_id["2"]
    assert len(by_id["3"]["body"]["value"]) == 1
    stats = graph.api.stats()["requests"]
    assert stats["POST /v1.0/$batch"] == 1
    assert stats["GET /v1.0/groups/{id}"] == 1
    assert stats["POST /v1.0/groups/{id}/members/$ref"] == 1
    assert stats["GET /v1.0/users"] == 1


def test_batch_of_21_is_refused(graph):
    items = [{"id": str(i), "method": "GET", "url": "/groups"} for i in range(21)]
    status, code, message = error_of(_batch(graph, items))
    assert (status, code) == (400, "BadRequest") and "cannot exceed 20" in message
    assert "GET /v1.0/groups" not in graph.api.stats()["requests"]


def test_batch_ids_unique_without_case(graph):
    items = [
        {"id": "a", "method": "GET", "url": "/groups"},
        {"id": "A", "method": "GET", "url": "/users"},
    ]
    assert _batch(graph, items).status_code == 400


def test_batch_body_needs_content_type(graph):
    eng = graph.group_id("Engineering")
    u1 = graph.user_id("user001@example.com")
    items = [{"id": "1", "method": "POST", "url": f"/groups/{eng}/members/$ref", "body": ref(u1)}]
    response = _batch(graph, items)
    assert response.status_code == 200
    assert _by_id(response)["1"]["status"] == 400
    assert u1 not in graph.tenant.groups[eng].members


def test_batch_url_is_relative_to_the_version(graph):
    items = [
        {"id": "1", "method": "GET", "url": "/v1.0/groups"},
        {"id": "2", "method": "GET", "url": f"{GRAPH}/v1.0/groups"},
    ]
    answers = _by_id(_batch(graph, items))
    assert answers["1"]["status"] == 400 and answers["2"]["status"] == 400


def test_depends_on_failure_gives_424(graph):
    missing = "00000000-0000-0000-0000-0000000000dd"
    items = [
        {"id": "1", "method": "GET", "url": f"/groups/{missing}"},
        {"id": "2", "method": "GET", "url": "/groups", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "/users", "dependsOn": ["2"]},
    ]
    answers = _by_id(_batch(graph, items))
    assert answers["1"]["status"] == 404
    assert answers["2"]["status"] == 424 and answers["3"]["status"] == 424
    assert "GET /v1.0/users" not in graph.api.stats()["requests"]


def test_depends_on_unknown_id_refuses_the_batch(graph):
    items = [{"id": "1", "method": "GET", "url": "/groups", "dependsOn": ["9"]}]
    assert _batch(graph, items).status_code == 400


def test_batch_needs_a_token(graph):
    items = [{"id": "1", "method": "GET", "url": "/groups"}]
    response = graph.request("POST", "/$batch", client_id=None, json={"requests": items})
    assert response.status_code == 401


def test_throttled_batch_item_carries_retry_after(graph):
    graph.api.configure(throttle_every=2, throttle_retry_after=0.25)
    items = [{"id": str(i), "method": "GET", "url": "/groups"} for i in range(4)]
    answers = _by_id(_batch(graph, items))
    assert [answers[str(i)]["status"] for i in range(4)] == [200, 429, 200, 429]
    assert answers["1"]["headers"]["Retry-After"] == "0.25"
    assert answers["1"]["body"]["error"]["code"] == "TooManyRequests"
    assert "Retry-After" not in answers["0"]["headers"]
    assert graph.api.stats()["throttled"] == 2


def test_throttled_single_call(graph):
    graph.api.configure(throttle_every=1)
    response = graph.request("GET", "/groups")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "0.01"
    assert response.json()["error"]["code"] == "TooManyRequests"


def test_fail_next(graph):
    graph.api.configure(fail_next=[("GET", r"/groups$", 503)])
    assert graph.request("GET", "/users").status_code == 200
    assert graph.request("GET", "/groups").status_code == 503
    assert graph.request("GET", "/groups").status_code == 200


def test_configure_refuses_unknown_options(graph):
    with pytest.raises(ValueError):
        graph.api.configure(throttle_evry=3)
    with pytest.raises(ValueError):
        graph.api.configure(throttle_every=0)


NEW = {
    "displayName": "Lagged",
    "mailNickname": "lag",
    "mailEnabled": False,
    "securityEnabled": True,
}


def test_read_after_create_lag(graph):
    now = [1000.0]  # a fake clock: the lag ends when the test says, however slow the machine
    graph.api.clock = lambda: now[0]
    graph.api.configure(create_lag_s=1.0)
    created = graph.request("POST", "/groups", json=NEW)
    assert created.status_code == 201 and created.json()["displayName"] == "Lagged"
    gid = created.json()["id"]
    now[0] += 0.5  # still lagging, half way
    assert error_of(graph.request("GET", f"/groups/{gid}"))[:2] == (
        404,
        "Request_ResourceNotFound",
    )
    listed = graph.request("GET", "/groups").json()["value"]
    assert gid not in {g["id"] for g in listed}
    assert graph.request("GET", f"/groups/{gid}/members").status_code == 404
    u1 = graph.user_id("user001@example.com")
    add = graph.request("POST", f"/groups/{gid}/members/$ref", json=ref(u1))
    assert error_of(add) == (
        400,
        "Request_BadRequest",
        "The source resource object or one of the objects being referenced don't exist.",
    )
    remove = graph.request("DELETE", f"/groups/{gid}/members/{u1}/$ref")
    assert remove.status_code == 404
    now[0] += 0.5  # create_lag_s after the create: replicated
    assert graph.request("GET", f"/groups/{gid}").status_code == 200
    assert graph.request("POST", f"/groups/{gid}/members/$ref", json=ref(u1)).status_code == 204


def test_throttle_counts_from_configure(graph):
    for _ in range(3):
        assert graph.request("GET", "/groups").status_code == 200
    graph.api.configure(throttle_every=3)
    statuses = [graph.request("GET", "/groups").status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 200, 200, 429]
    assert graph.request("GET", "/groups", client_id=None).status_code == 401  # not counted
    graph.api.configure(throttle_every=None)
    assert graph.request("GET", "/groups").status_code == 200
