"""Client construction: where requests go (the endpoint, never googleapis.com once one is
set, batches included), and the endpoint override."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httplib2
import pytest
from conftest import CUSTOMER, DOMAINS, OWNERSHIP, PASSWORD, connect, managed, stats
from googleapiclient.discovery import build_from_document

from reconciler.google import credentials, ops
from reconciler.google.client import (
    DATATRANSFER,
    ENDPOINT_ENV,
    Call,
    GoogleApiError,
    GoogleClient,
    bundled_discovery,
    discovery_for,
    endpoint_for,
)
from reconciler.google.fetch import fetch_actual
from reconciler.settings import GoogleProvider
from reconciler.state import Group, User

DATATRANSFER_READ = "https://www.googleapis.com/auth/admin.datatransfer.readonly"


def test_endpoint_override_from_the_environment():
    provider = GoogleProvider(kind="google", endpoint="http://127.0.0.1:1111")
    assert endpoint_for(provider, env={}) == "http://127.0.0.1:1111"
    assert endpoint_for(provider, env={ENDPOINT_ENV: "http://127.0.0.1:2222"}) == (
        "http://127.0.0.1:2222"
    )
    assert endpoint_for(provider, env={ENDPOINT_ENV: ""}) == "http://127.0.0.1:1111"
    assert endpoint_for(GoogleProvider(kind="google"), env={}) is None


def test_connect_follows_the_environment_over_provider_endpoint(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv(ENDPOINT_ENV, emulator.base_url)
    # Port 9 (discard) answers nothing: only the environment's endpoint can work.
    provider = GoogleProvider(kind="google", endpoint="http://127.0.0.1:9")
    client = GoogleClient.connect(provider, tmp_path, read_only=True)
    body = client.must(Call(client.service.users().get(userKey="admin@example.com"), "get"))
    assert body["primaryEmail"] == "admin@example.com"
    assert stats(emulator)["api_calls"] == 1


def test_discovery_document_points_everything_at_the_endpoint():
    google = bundled_discovery()
    assert "googleapis.com" in google["rootUrl"]  # so the test below can tell the difference
    doc = discovery_for("http://127.0.0.1:8080/")
    for key in ("rootUrl", "mtlsRootUrl", "baseUrl"):
        assert doc[key].startswith("http://127.0.0.1:8080/"), key
    assert bundled_discovery()["rootUrl"] == google["rootUrl"]  # the cached copy is untouched
    service = build_from_document(doc, http=httplib2.Http())
    assert service.new_batch_http_request()._batch_uri == "http://127.0.0.1:8080/batch"
    assert service.users().list(customer=CUSTOMER).uri.startswith("http://127.0.0.1:8080/")


def test_no_request_for_an_endpoint_targets_googleapis(emulator, tmp_path: Path, sent):
    client = connect(emulator, tmp_path)
    client.batch_size = 3
    batch = client.service.new_batch_http_request()
    assert urlsplit(batch._batch_uri).netloc == urlsplit(emulator.base_url).netloc
    # A read (users, groups, member pages in batches) and writes alone and batched.
    fetch_actual(client, customer=CUSTOMER, domains=DOMAINS, managed_groups=managed)
    client.must(
        ops.create_user(client, User("new@example.com", "New", "Person"), OWNERSHIP, PASSWORD)
    )
    client.execute_all(
        [
            ops.create_group(client, Group("new-group@example.com", "New"), "acme/identity"),
            ops.add_member(client, "dev@example.com", "new@example.com", "MEMBER"),
            ops.add_member(client, "sales@example.com", "new@example.com", "MEMBER"),
            ops.remove_member(client, "sales@example.com", "james.wright@example.com"),
        ]
    )
    assert stats(emulator)["batch_requests"] >= 2
    assert any(r.uri.endswith("/batch") for r in sent)
    for request in sent:
        assert urlsplit(request.uri).netloc == urlsplit(emulator.base_url).netloc, request.uri
        assert "googleapis.com" not in request.body, request.uri


def test_execute_counts_calls_and_round_trips(client, emulator):
    calls = [
        Call(client.service.groups().get(groupKey=f"{g}@example.com", fields="email"), g)
        for g in ("audit", "dev", "finance")
    ]
    client.execute(calls[0])
    client.execute_all(calls)
    client.execute_all(calls[:1])  # a batch of one goes as a plain request
    seen = stats(emulator)
    assert (client.stats.api_calls, client.stats.http_requests) == (5, 3)
    assert (seen["api_calls"], seen["http_requests"], seen["batch_requests"]) == (5, 3, 1)


def test_must_raises_with_the_label_and_googles_words(client):
    call = Call(client.service.groups().get(groupKey="nope@example.com"), "groups.get nope")
    with pytest.raises(GoogleApiError, match=r"groups.get nope: 404 notFound: .*groupKey"):
        client.must(call)


def test_a_whole_batch_lost_is_retried(client, emulator, monkeypatch):
    # The batch round trip itself fails (connection dropped): every part is tried again.
    real = client.http.request
    lost = []

    def flaky(uri, *args, **kwargs):
        if uri.endswith("/batch") and not lost:
            lost.append(uri)
            raise ConnectionResetError("connection reset by peer")
        return real(uri, *args, **kwargs)

    monkeypatch.setattr(client.http, "request", flaky)
    calls = [
        Call(client.service.groups().get(groupKey=f"{g}@example.com", fields="email"), g)
        for g in ("audit", "dev")
    ]
    outcomes = client.execute_all(calls)
    assert [(o.ok, o.attempts) for o in outcomes] == [(True, 2), (True, 2)]
    assert json.dumps([o.body for o in outcomes]) == json.dumps(
        [{"email": "audit@example.com"}, {"email": "dev@example.com"}]
    )


def test_a_dead_endpoint_fails_fast_with_a_clear_message(tmp_path):
    import socket

    from reconciler.google.client import Call, GoogleClient
    from reconciler.google.retry import RetryPolicy
    from reconciler.settings import GoogleProvider

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    slept: list[float] = []
    client = GoogleClient.connect(
        GoogleProvider(kind="google"),
        tmp_path,
        read_only=True,
        endpoint=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(sleep=slept.append),
    )
    outcome = client.execute(Call(client.service.users().get(userKey="a@example.com"), "get"))
    assert not outcome.ok and outcome.attempts == 3
    assert "nothing is listening at the endpoint" in outcome.error
    assert len(slept) == 2


def test_the_data_transfer_service_shares_the_endpoint_and_the_credentials(
    emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent
):
    # Without offboarding configured the tool asks for no Data Transfer scope: add one here.
    wanted = [*credentials.scopes(read_only=True), DATATRANSFER_READ]
    monkeypatch.setattr(credentials, "scopes", lambda *_args, **_kwargs: wanted)
    client = connect(emulator, tmp_path, read_only=True)
    assert DATATRANSFER not in client._services  # built on first use only
    apps = client.must(
        Call(client.datatransfer.applications().list(customerId=CUSTOMER), "applications.list")
    )
    assert [a["name"] for a in apps["applications"]] == [
        "Drive and Docs",
        "Calendar",
        "Looker Studio",
    ]
    assert client.datatransfer is client.datatransfer
    assert client.datatransfer.new_batch_http_request()._batch_uri == emulator.base_url + "/batch"
    # One token for both APIs: the same transport and credentials.
    assert stats(emulator)["token_grants"] == 1
    assert [urlsplit(s.uri).path for s in sent if "/admin/" in s.uri] == [
        "/admin/datatransfer/v1/applications"
    ]
    client.must(Call(client.service.users().get(userKey="admin@example.com"), "users.get"))
    assert stats(emulator)["token_grants"] == 1


def test_without_offboarding_the_tools_scopes_do_not_reach_the_data_transfer_api(
    emulator, tmp_path: Path
):
    client = connect(emulator, tmp_path)
    outcome = client.execute(Call(client.datatransfer.applications().list(), "applications.list"))
    assert not outcome.ok and outcome.status == 403
    assert outcome.reason == "insufficientPermissions"


def test_the_data_transfer_document_points_everything_at_the_endpoint():
    doc = discovery_for("http://127.0.0.1:8080", DATATRANSFER)
    assert (doc["rootUrl"], doc["baseUrl"]) == ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/")
    assert "googleapis.com" in bundled_discovery(DATATRANSFER)["rootUrl"]  # untouched
    google = GoogleClient(None, httplib2.Http()).datatransfer  # no endpoint: Google itself
    assert google.transfers().list().uri.startswith("https://admin.googleapis.com/")
