"""The Graph client: retries and their waits, paging, batches, tokens, refusals, and the
transport that sends the real URLs to an emulator on loopback."""

from __future__ import annotations

import json
import random
from types import SimpleNamespace as NS

import pytest
import requests

from entra.fakes import client_with, graph_error, response, sequence
from reconciler.entra.client import (
    GRAPH_V1,
    GraphAuthError,
    GraphClient,
    GraphError,
    GraphRetry,
    MsalTokens,
    checked_endpoint,
    session_for,
    token_error,
)
from reconciler.problems import ReconcilerError

OK_PAGE = (200, {}, {"value": [{"id": "1"}]})


def test_429_waits_the_fractional_retry_after_then_succeeds():
    client, adapter, sleeps = client_with(
        sequence((429, {"Retry-After": "2.128"}, graph_error("TooManyRequests")), OK_PAGE)
    )
    assert client.get_all("/users") == [{"id": "1"}]
    assert sleeps == [2.128]
    assert len(adapter.sent) == 2
    assert (client.stats.retries, client.stats.throttled, client.stats.http_requests) == (1, 1, 2)


def test_503_without_retry_after_backs_off_exponentially_with_jitter():
    client, _, sleeps = client_with(
        sequence(
            (503, {}, graph_error("serviceNotAvailable")),
            (504, {}, None),
            (503, {}, None),
            OK_PAGE,
        ),
        rng=random.Random(7),
    )
    client.get_all("/groups")
    assert len(sleeps) == 3
    for wait, ceiling in zip(sleeps, (1, 2, 4), strict=True):
        assert ceiling / 2 <= wait <= ceiling
    assert client.stats.throttled == 0  # not a 429


def test_backoff_waits_are_capped_at_60_seconds():
    client, _, sleeps = client_with(sequence((503, {}, None)), max_attempts=10)
    with pytest.raises(GraphError):
        client.get_all("/groups")
    assert max(sleeps) <= 60
    assert sleeps[-1] >= 30


def test_a_budget_of_attempts_exhausted_is_an_error_naming_the_call():
    client, adapter, sleeps = client_with(sequence((429, {"Retry-After": "1"}, None)))
    with pytest.raises(GraphError, match=r"GET /users.*429.*8 attempts") as caught:
        client.get_all("/users")
    assert isinstance(caught.value, ReconcilerError)
    assert len(adapter.sent) == 8 and len(sleeps) == 7


def test_a_dropped_connection_is_retried_for_a_get_only():
    client, adapter, _ = client_with(sequence(requests.ConnectionError("reset"), OK_PAGE))
    assert client.get_all("/users") == [{"id": "1"}]
    client, adapter, _ = client_with(sequence(requests.ConnectionError("reset"), (201, {}, {})))
    with pytest.raises(GraphError, match="no answer"):
        client.must("POST", "/groups", {"displayName": "x"})
    assert len(adapter.sent) == 1


def test_paging_follows_next_links_exactly_as_given():
    link1 = f"{GRAPH_V1}/users?$top=999&$skiptoken=X%2BY%3D%3D&$select=id"
    link2 = f"{GRAPH_V1}/users?$skiptoken=Z'(1)'"
    client, adapter, _ = client_with(
        sequence(
            (200, {}, {"value": [{"id": "a"}], "@odata.nextLink": link1}),
            (200, {}, {"value": [{"id": "b"}], "@odata.nextLink": link2}),
            (200, {}, {"value": [{"id": "c"}]}),
        )
    )
    items = client.get_all("/users", {"$select": "id,userPrincipalName"})
    assert [i["id"] for i in items] == ["a", "b", "c"]
    first = adapter.sent[0].url
    assert first == f"{GRAPH_V1}/users?$top=999&$select=id,userPrincipalName"
    assert adapter.sent[1].url == link1
    assert adapter.sent[2].url == "https://graph.microsoft.com/v1.0/users?$skiptoken=Z'(1)'"


def test_a_next_link_away_from_graph_is_refused():
    client, adapter, _ = client_with(
        sequence((200, {}, {"value": [], "@odata.nextLink": "https://evil.example/v1.0/x"}))
    )
    with pytest.raises(GraphError, match="nextLink"):
        client.get_all("/users")
    assert len(adapter.sent) == 1


def test_an_answer_that_is_not_a_page_is_an_error():
    client, _, _ = client_with(sequence((200, {}, {"values": []})))
    with pytest.raises(GraphError, match="value"):
        client.get_all("/users")


def batch_server(answer_item, shuffle=True, seen=None):
    """A $batch handler answering each item with answer_item(item, round), shuffled."""
    rounds = [0]
    rng = random.Random(3)

    def handler(request):
        assert request.url == f"{GRAPH_V1}/$batch"
        payload = json.loads(request.body)
        rounds[0] += 1
        if seen is not None:
            seen.append(payload["requests"])
        responses = []
        for item in payload["requests"]:
            status, headers, body = answer_item(item, rounds[0])
            responses.append({"id": item["id"], "status": status, "headers": headers, "body": body})
        if shuffle:
            rng.shuffle(responses)
        return 200, {}, {"responses": responses}

    return handler


def echo(item, _round):
    return 200, {}, {"url": item["url"]}


def test_batches_hold_at_most_20_items_and_answers_come_back_in_request_order():
    seen: list = []
    client, _, _ = client_with(batch_server(echo, seen=seen))
    calls = [{"method": "GET", "url": f"/groups/g{i}/members"} for i in range(45)]
    results = client.batch(calls)
    assert [len(s) for s in seen] == [20, 20, 5]
    assert [r["body"]["url"] for r in results] == [c["url"] for c in calls]
    assert all(r["status"] == 200 for r in results)
    assert client.stats.calls == 45 and client.stats.http_requests == 3
    for chunk in seen:
        ids = [item["id"] for item in chunk]
        assert len({i.lower() for i in ids}) == len(ids)


def test_a_batch_item_with_a_body_carries_its_content_type():
    seen: list = []
    client, _, _ = client_with(batch_server(lambda item, r: (204, {}, None), seen=seen))
    client.batch(
        [
            {"method": "POST", "url": "/groups/g/members/$ref", "body": {"@odata.id": "x"}},
            {"method": "DELETE", "url": "/groups/g/members/u/$ref"},
        ]
    )
    with_body, without = seen[0]
    assert with_body["headers"] == {"Content-Type": "application/json"}
    assert with_body["body"] == {"@odata.id": "x"}
    assert "headers" not in without and "body" not in without


def test_only_the_throttled_items_are_sent_again_after_the_largest_retry_after():
    seen: list = []

    def answer(item, round_):
        if round_ == 1 and item["url"] in ("/a", "/c"):
            wait = "3" if item["url"] == "/a" else "1.5"
            return 429, {"retry-after": wait}, graph_error("TooManyRequests")
        return 200, {}, {"url": item["url"]}

    client, _, sleeps = client_with(batch_server(answer, seen=seen))
    results = client.batch([{"method": "GET", "url": u} for u in ("/a", "/b", "/c")])
    assert [r["body"]["url"] for r in results] == ["/a", "/b", "/c"]
    assert sorted(i["url"] for i in seen[1]) == ["/a", "/c"]
    assert sleeps == [3.0]
    assert client.stats.throttled == 2 and client.stats.retries == 2
    assert client.stats.calls == 5


def test_an_item_throttled_on_every_attempt_is_returned_with_its_429():
    client, _, sleeps = client_with(
        batch_server(lambda item, r: (429, {"Retry-After": "1"}, graph_error("TooManyRequests")))
    )
    [result] = client.batch([{"method": "GET", "url": "/a"}])
    assert result["status"] == 429
    assert len(sleeps) == 7


def test_other_item_failures_are_returned_not_retried():
    client, adapter, sleeps = client_with(
        batch_server(lambda item, r: (404, {}, graph_error("Request_ResourceNotFound")))
    )
    [result] = client.batch([{"method": "GET", "url": "/a"}])
    assert result["status"] == 404 and sleeps == [] and len(adapter.sent) == 1


def test_the_batch_envelope_throttled_is_retried_whole():
    inner = batch_server(echo)
    answers = [(429, {"Retry-After": "0.5"}, None)]

    def handler(request):
        return answers.pop() if answers else inner(request)

    client, adapter, sleeps = client_with(handler)
    results = client.batch([{"method": "GET", "url": "/a"}, {"method": "GET", "url": "/b"}])
    assert [r["status"] for r in results] == [200, 200]
    assert sleeps == [0.5] and len(adapter.sent) == 2


def test_a_batch_answer_missing_an_item_is_an_error():
    def handler(request):
        return 200, {}, {"responses": []}

    client, _, _ = client_with(handler)
    with pytest.raises(GraphError, match="lacks"):
        client.batch([{"method": "GET", "url": "/a"}])


def test_an_expired_token_is_renewed_once_and_the_call_sent_again():
    client, adapter, _ = client_with(
        sequence((401, {}, graph_error("InvalidAuthenticationToken", "expired")), OK_PAGE)
    )
    assert client.get_all("/users") == [{"id": "1"}]
    auth = [r.headers["Authorization"] for r in adapter.sent]
    assert auth == ["Bearer token-1", "Bearer token-2"]
    assert client.tokens.fresh_asked == 1


def test_a_token_refused_twice_is_not_renewed_again():
    client, adapter, _ = client_with(
        sequence((401, {}, graph_error("InvalidAuthenticationToken", "bad")))
    )
    with pytest.raises(GraphError, match="401 InvalidAuthenticationToken") as caught:
        client.get_all("/users")
    assert len(adapter.sent) == 2 and client.tokens.fresh_asked == 1
    assert "token-" not in str(caught.value)  # never the token itself


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", "/users", "User.Read.All"),
        ("POST", "/groups", "Group.ReadWrite.All"),
        ("PATCH", "/groups/g1", "Group.ReadWrite.All"),
        ("POST", "/groups/g1/members/$ref", "GroupMember.ReadWrite.All"),
        ("DELETE", "/groups/g1/members/u1/$ref", "GroupMember.ReadWrite.All"),
    ],
)
def test_a_refusal_for_want_of_rights_names_the_permission_and_admin_consent(
    method, path, permission
):
    denied = graph_error("Authorization_RequestDenied", "Insufficient privileges to complete.")
    client, _, sleeps = client_with(sequence((403, {}, denied)))
    with pytest.raises(GraphError) as caught:
        client.must(method, path, {"x": 1} if method in ("POST", "PATCH") else None)
    message = str(caught.value)
    assert permission in message
    assert "admin consent" in message
    assert f"{method} {path}" in message
    assert caught.value.status == 403 and sleeps == []


def test_the_token_is_sent_to_graph_only():
    client, adapter, _ = client_with(sequence(OK_PAGE))
    with pytest.raises(GraphError, match="refused to send the token"):
        client._send("GET", "https://elsewhere.example/v1.0/users")
    assert adapter.sent == []


@pytest.mark.parametrize(
    "endpoint",
    ["http://10.0.0.5:8080", "http://example.com", "ftp://127.0.0.1", "http://127.0.0.1:1/x"],
)
def test_an_endpoint_must_be_loopback_for_plain_http(endpoint):
    with pytest.raises(GraphError):
        checked_endpoint(endpoint)


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:9", "https://proxy.example"],
)
def test_loopback_http_and_any_https_endpoint_are_accepted(endpoint):
    assert checked_endpoint(endpoint + "/") == endpoint


def test_the_endpoint_transport_sends_both_services_to_the_endpoint(monkeypatch):
    sent: list = []

    def fake_send(self, request, *args, **kwargs):
        sent.append(request.url)
        return response(request, 200, {}, {"value": []})

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    session = session_for("http://127.0.0.1:8123")
    session.get("https://login.microsoftonline.com/t1/v2.0/.well-known/openid-configuration")
    session.get(f"{GRAPH_V1}/users?$top=999")
    assert sent == [
        "http://127.0.0.1:8123/t1/v2.0/.well-known/openid-configuration",
        "http://127.0.0.1:8123/v1.0/users?$top=999",
    ]


def test_connect_refuses_a_plain_http_endpoint_that_is_not_loopback(tmp_path):
    entra = NS(
        tenant_id="t",
        client_id="c",
        provider=NS(kind="emulator", credentials=None, endpoint=None),
    )
    with pytest.raises(GraphError, match="loopback"):
        GraphClient.connect(entra, tmp_path, endpoint="http://192.168.1.9:8080")


def test_connect_to_an_emulator_gets_its_tokens_through_the_endpoint(monkeypatch, tmp_path):
    seen: list = []

    def fake_send(self, request, *args, **kwargs):
        seen.append((request.method, request.url))
        if request.url.endswith("openid-configuration"):
            base = "https://login.microsoftonline.com/t"
            body = {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "issuer": f"{base}/v2.0",
            }
        elif request.url.endswith("/token"):
            body = {"token_type": "Bearer", "expires_in": 3599, "access_token": "emulated"}
        else:
            assert request.headers["Authorization"] == "Bearer emulated"
            body = {"value": [{"id": "u1"}]}
        return response(request, 200, {}, body)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    entra = NS(
        tenant_id="t", client_id="c", provider=NS(kind="emulator", credentials=None, endpoint=None)
    )
    client = GraphClient.connect(entra, tmp_path, endpoint="http://127.0.0.1:9999")
    assert client.get_all("/users") == [{"id": "u1"}]
    assert [u for _, u in seen] == [
        "http://127.0.0.1:9999/t/v2.0/.well-known/openid-configuration",
        "http://127.0.0.1:9999/t/oauth2/v2.0/token",
        "http://127.0.0.1:9999/v1.0/users?$top=999",
    ]


def test_a_token_error_names_the_aadsts_code_and_what_to_do():
    error = token_error(
        {
            "error": "unauthorized_client",
            "error_description": "AADSTS700016: Application with identifier 'c' was not found "
            "in the directory 't'.\r\nTrace ID: 1",
            "error_codes": [700016],
        }
    )
    assert isinstance(error, GraphAuthError)
    assert "AADSTS700016" in str(error) and "not registered in that tenant" in str(error)
    assert "Trace ID" not in str(error)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("90002", "entra.tenant_id"),
        ("7000215", "credential is not valid"),
        ("700027", "upload"),
        ("70021", "subject"),
        ("700211", "issuer"),
    ],
)
def test_token_error_hints(code, hint):
    error = token_error({"error": "invalid_client", "error_description": f"AADSTS{code}: no."})
    assert hint in str(error)


def test_connect_to_an_unknown_tenant_says_to_check_the_tenant_id(monkeypatch, tmp_path):
    def fake_send(self, request, *args, **kwargs):
        body = {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."}
        return response(request, 400, {}, body)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    entra = NS(
        tenant_id="nope",
        client_id="c",
        provider=NS(kind="emulator", credentials=None, endpoint=None),
    )
    with pytest.raises(GraphAuthError, match=r"entra\.tenant_id"):
        GraphClient.connect(entra, tmp_path, endpoint="http://127.0.0.1:9999")


def test_connect_to_an_endpoint_nothing_listens_on_says_so(monkeypatch, tmp_path):
    def fake_send(self, request, *args, **kwargs):
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    entra = NS(
        tenant_id="t", client_id="c", provider=NS(kind="emulator", credentials=None, endpoint=None)
    )
    with pytest.raises(GraphAuthError, match=r"could not be reached through http://127\.0\.0\.1"):
        GraphClient.connect(entra, tmp_path, endpoint="http://127.0.0.1:9999")


def test_requests_wait_a_bounded_time_by_default(monkeypatch):
    timeouts: list = []

    def fake_send(self, request, *args, **kwargs):
        timeouts.append(kwargs.get("timeout"))
        return response(request, 200, {}, {})

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", fake_send)
    session_for("http://127.0.0.1:1").get("https://login.microsoftonline.com/t/x")
    assert timeouts == [60.0]


def test_query_values_are_percent_encoded_with_spaces_as_20():
    client, adapter, _ = client_with(sequence(OK_PAGE))
    client.get_all("/groups", {"$filter": "displayName eq 'A&B'"})
    assert adapter.sent[0].url.endswith("$filter=displayName%20eq%20%27A%26B%27")


def test_a_create_answered_504_is_not_sent_again():
    client, adapter, sleeps = client_with(sequence((504, {}, None), (201, {}, {"id": "g1"})))
    answer = client.request("POST", "/groups", {"displayName": "Eng"})
    assert answer["status"] == 504 and len(adapter.sent) == 1 and sleeps == []
    client, adapter, _ = client_with(sequence((504, {}, None), (204, {}, None)))
    assert client.request("POST", "/groups/g1/members/$ref", {"@odata.id": "x"})["status"] == 204
    assert len(adapter.sent) == 2


def test_a_create_throttled_is_sent_again():
    client, adapter, _ = client_with(
        sequence((429, {"Retry-After": "1"}, None), (201, {}, {"id": "g1"}))
    )
    assert client.must("POST", "/groups", {"displayName": "Eng"}) == {"id": "g1"}
    assert len(adapter.sent) == 2


def test_a_create_item_answered_504_in_a_batch_is_returned_not_retried():
    def answer(item, round_):
        return (504, {}, None) if round_ == 1 else (201, {}, {"id": "new"})

    seen: list = []
    client, _, _ = client_with(batch_server(answer, seen=seen))
    results = client.batch(
        [
            {"method": "POST", "url": "/groups", "body": {"displayName": "Eng"}},
            {"method": "DELETE", "url": "/groups/g/members/u/$ref"},
        ]
    )
    assert [r["status"] for r in results] == [504, 201]
    assert [i["url"] for i in seen[1]] == ["/groups/g/members/u/$ref"]


def test_a_token_request_that_gets_no_answer_is_tried_again():
    class App:
        calls = 0

        def acquire_token_for_client(self, scopes):
            App.calls += 1
            if App.calls < 3:
                raise requests.ConnectionError("reset")
            return {"access_token": "t", "token_type": "Bearer"}

    sleeps: list = []
    tokens = MsalTokens(App(), GraphRetry(sleep=sleeps.append))
    assert tokens() == "t"
    assert App.calls == 3 and len(sleeps) == 2


def test_a_token_refused_raises_with_entras_words_and_no_token():
    class App:
        def acquire_token_for_client(self, scopes):
            return {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
                "error_codes": [7000215],
            }

    with pytest.raises(GraphAuthError, match=r"AADSTS7000215.*credential is not valid"):
        MsalTokens(App())()
