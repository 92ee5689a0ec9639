"""Least privilege and loopback only: read-only commands ask Google for read-only scopes,
apply for the write scopes and nothing beyond the Directory API; every server the tool or
its tests start listens on 127.0.0.1 alone."""

from __future__ import annotations

import http.client
import json
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from apply.support import Tenant

from reconciler.desired.load import load_tree
from reconciler.emulator.embedded import open_embedded
from reconciler.emulator.server import HOST, EmulatorServer, jwt_claims
from reconciler.google.credentials import CREDENTIALS_ENV, WRITE_SCOPES, scopes

from .test_secrets import throwaway_key

# The tenant's domains are read in every run (apply plans first), always read-only.
DOMAINS = "https://www.googleapis.com/auth/admin.directory.domain.readonly"
READ_ONLY = {f"https://www.googleapis.com/auth/{s}.readonly" for s in WRITE_SCOPES} | {DOMAINS}
READ_WRITE = {f"https://www.googleapis.com/auth/{s}" for s in WRITE_SCOPES} | {DOMAINS}


@pytest.fixture
def granted(tmp_path, emulator, monkeypatch) -> tuple[Tenant, list[set[str]]]:
    """An emulator whose /token records the scope claim of every assertion it grants, and a
    service-account key that gets its tokens there."""
    tenant = emulator()
    seen: list[set[str]] = []
    grant = tenant.server._token

    def recording_grant(body: bytes):
        assertion = parse_qs(body.decode())["assertion"][0]
        seen.append(set(jwt_claims(assertion)["scope"].split()))
        return grant(body)

    monkeypatch.setattr(tenant.server, "_token", recording_grant)
    info, _ = throwaway_key(tenant.url + "/token")
    key = tmp_path / "key.json"
    key.write_text(json.dumps(info))
    monkeypatch.setenv(CREDENTIALS_ENV, str(key))
    return tenant, seen


def test_the_scope_sets_are_the_directory_api_only():
    assert set(scopes(read_only=True)) == READ_ONLY
    assert set(scopes(read_only=False)) == READ_WRITE
    for scope in READ_ONLY | READ_WRITE:
        assert scope.startswith("https://www.googleapis.com/auth/admin.directory.")
    # Nothing ever changes domains: the read-write domain scope is never asked for.
    assert "https://www.googleapis.com/auth/admin.directory.domain" not in READ_ONLY | READ_WRITE


@pytest.mark.parametrize(
    "command",
    [("plan",), ("report",), ("report", "--format", "json"), ("import", "--mode", "new")],
    ids=["plan", "report", "report-json", "import"],
)
def test_reading_commands_ask_only_for_read_only_scopes(granted, state_dir, cli, command):
    _, seen = granted
    run = cli(*command, state_dir)
    assert run.code in (0, 2), run.text
    assert seen, "the command never asked for a token"
    assert all(claims == READ_ONLY for claims in seen), seen


def test_apply_asks_for_the_write_scopes_and_nothing_more(granted, state_dir, cli):
    _, seen = granted
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    assert seen and all(claims == READ_WRITE for claims in seen), seen


def test_plan_with_a_saved_file_is_still_read_only(granted, state_dir, cli, tmp_path):
    _, seen = granted
    run = cli("plan", state_dir, "--out", tmp_path / "plan.json")
    if run.code == 2 and "no such option" in run.err:
        pytest.skip("plan has no --out option")
    assert run.code == 0, run.text
    assert seen and all(claims == READ_ONLY for claims in seen), seen


def non_loopback_addresses() -> list[str]:
    names: list[str] = []
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))  # no packet is sent
        names.append(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    return sorted({a for a in names if not a.startswith("127.") and a != "0.0.0.0"})


def assert_loopback_only(port: int) -> None:
    for address in non_loopback_addresses():
        with socket.socket() as s, pytest.raises(OSError):
            s.settimeout(1)
            s.connect((address, port))


def test_the_emulator_binds_loopback_only(emulator):
    tenant = emulator()
    httpd = tenant.server._httpd
    assert httpd is not None and httpd.server_address[0] == HOST == "127.0.0.1"
    assert tenant.url.startswith("http://127.0.0.1:")
    assert_loopback_only(httpd.server_address[1])
    with pytest.raises(ValueError):
        EmulatorServer(tenant.server.api, host="0.0.0.0")
    with pytest.raises(ValueError):
        EmulatorServer(tenant.server.api, host="::")


def test_the_embedded_emulator_binds_loopback_only(state_dir):
    tree = load_tree(state_dir)
    with open_embedded(state_dir, tree.workspace) as server:
        url = server.start()
        assert url.startswith("http://127.0.0.1:")
        assert_loopback_only(server._httpd.server_address[1])


def test_a_web_page_cannot_drive_the_emulator(emulator):
    tenant = emulator()
    conn = http.client.HTTPConnection(urlsplit(tenant.url).netloc, timeout=10)
    try:
        conn.request(
            "POST",
            "/_emulator/reset",
            body="{}",
            headers={"Origin": "https://evil.example", "Content-Type": "application/json"},
        )
        assert conn.getresponse().status == 403
    finally:
        conn.close()
