"""Least privilege and loopback only: read-only commands ask Google for read-only scopes (and
report for offboarding's reads too),
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
from reconciler.google import ops
from reconciler.google.client import GoogleClient
from reconciler.google.credentials import CREDENTIALS_ENV, WRITE_SCOPES, scopes
from reconciler.settings import GoogleProvider

from .test_secrets import throwaway_key

# The tenant's domains are read in every run (apply plans first), always read-only.
DOMAINS = "https://www.googleapis.com/auth/admin.directory.domain.readonly"
READ_ONLY = {f"https://www.googleapis.com/auth/{s}.readonly" for s in WRITE_SCOPES} | {DOMAINS}
READ_WRITE = {f"https://www.googleapis.com/auth/{s}" for s in WRITE_SCOPES} | {DOMAINS}
# The example (state_dir) has a `licenses:` block: every run asks for the Licensing API's one
# scope too (it has no read-only form). Without the block nothing asks for it (first test).
LICENSING = "https://www.googleapis.com/auth/apps.licensing"
# And `group_settings:`: the Groups Settings API's one scope (no read-only form either).
GROUP_SETTINGS = "https://www.googleapis.com/auth/apps.groups.settings"
EXAMPLE_APIS = {LICENSING, GROUP_SETTINGS}
# And `onboarding:`: apply mails a new account's sign-in details as `onboarding.from`, with a
# token of its own (delegated to that account) holding the Gmail API's send scope alone.
GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"
# `report --credentials` reads the tokens, app passwords and transfers of every suspended
# account of ours, offboarding configured or not: offboarding's scopes, as a plan asks for
# them (the user security scope has no read-only form; the Data Transfer one read-only).
OFFBOARDING_READS = {
    "https://www.googleapis.com/auth/admin.directory.user.security",
    "https://www.googleapis.com/auth/admin.datatransfer.readonly",
}


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
    assert LICENSING not in READ_ONLY | READ_WRITE
    assert set(scopes(read_only=True, licenses=True)) == READ_ONLY | {LICENSING}
    # Nothing ever changes domains: the read-write domain scope is never asked for.
    assert "https://www.googleapis.com/auth/admin.directory.domain" not in READ_ONLY | READ_WRITE


@pytest.mark.parametrize(
    ("command", "more"),
    [
        (("plan",), set()),
        (("report",), set()),
        (("report", "--format", "json"), set()),
        (("report", "--credentials"), OFFBOARDING_READS),
        (("import", "--mode", "new"), set()),
    ],
    ids=["plan", "report", "report-json", "report-credentials", "import"],
)
def test_reading_commands_ask_only_for_read_only_scopes(granted, state_dir, cli, command, more):
    _, seen = granted
    run = cli(*command, state_dir)
    assert run.code in (0, 2), run.text
    assert seen, "the command never asked for a token"
    assert all(claims == READ_ONLY | EXAMPLE_APIS | more for claims in seen), seen


def test_apply_asks_for_the_write_scopes_and_nothing_more(granted, state_dir, cli):
    _, seen = granted
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0, run.text
    directory = [claims for claims in seen if claims != {GMAIL_SEND}]
    assert directory and all(claims == READ_WRITE | EXAMPLE_APIS for claims in directory), seen
    assert seen.count({GMAIL_SEND}) == 1  # Kenji's manager is mailed, as onboarding.from


def test_plan_with_a_saved_file_is_still_read_only(granted, state_dir, cli, tmp_path):
    _, seen = granted
    run = cli("plan", state_dir, "--out", tmp_path / "plan.json")
    if run.code == 2 and "no such option" in run.err:
        pytest.skip("plan has no --out option")
    assert run.code == 0, run.text
    assert seen and all(claims == READ_ONLY | EXAMPLE_APIS for claims in seen), seen


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


# -- without a key: the loopback emulator's throwaway credentials, the same scopes -------------


@pytest.mark.parametrize(
    ("command", "read_only"),
    [
        (("plan",), True),
        (("report",), True),
        (("import", "--mode", "new"), True),
        (("apply", "--auto-approve"), False),
    ],
    ids=["plan", "report", "import", "apply"],
)
def test_each_command_asks_a_loopback_emulator_for_its_scopes_once(
    emulator, state_dir, cli, command, read_only
):
    tenant = emulator()
    run = cli(*command, state_dir)
    assert run.code in (0, 2), run.text
    stats = tenant.server.stats_json()
    # One token for the whole run; apply asks for one more as onboarding.from, to mail the
    # new hire's sign-in details (gmail.send alone).
    mails = 0 if read_only else 1
    assert stats["token_grants"] == 1 + mails, stats
    asked = scopes(read_only=read_only, licenses=True, group_settings=True)
    assert stats["token_scopes"] == {s: 1 for s in asked} | ({GMAIL_SEND: 1} if mails else {})
    assert "401" not in stats["by_status"] and "403" not in stats["by_status"]


def test_the_embedded_emulator_is_called_as_the_tenants_first_super_admin(
    state_dir, cli, monkeypatch
):
    subjects: list[str | None] = []
    grant = EmulatorServer._token

    def recording_grant(self: EmulatorServer, body: bytes):
        claims = jwt_claims(parse_qs(body.decode())["assertion"][0])
        subjects.append(claims.get("sub"))
        return grant(self, body)

    monkeypatch.setattr(EmulatorServer, "_token", recording_grant)
    run = cli("plan", state_dir)
    assert run.code == 0, run.text
    assert subjects == ["admin@example.com"]  # isAdmin in the example's tenant.yaml


def test_a_read_only_client_cannot_write_and_no_token_cannot_read(emulator, tmp_path):
    tenant = emulator()
    provider = GoogleProvider(kind="google")
    client = GoogleClient.connect(provider, tmp_path, read_only=True, endpoint=tenant.url)
    outcome = client.execute(ops.suspend_user(client, "maria.costa@example.com"))
    assert not outcome.ok and (outcome.status, outcome.reason) == (403, "insufficientPermissions")
    assert tenant.server.stats_json()["by_status"] == {"403": 1}
    assert not tenant.users()["maria.costa@example.com"].get("suspended")
    conn = http.client.HTTPConnection(urlsplit(tenant.url).netloc, timeout=10)
    try:
        conn.request("GET", "/admin/directory/v1/users/maria.costa%40example.com")
        answer = conn.getresponse()
        assert answer.status == 401
        assert json.loads(answer.read())["error"]["status"] == "UNAUTHENTICATED"
    finally:
        conn.close()
