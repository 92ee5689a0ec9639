"""The tenant's seed, its state file, and the Google emulator serving Graph too."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from reconciler.emulator.graph.api import GraphApi
from reconciler.emulator.graph.tenant import DEFAULT_TENANT_ID, GraphTenant, SeedError
from reconciler.emulator.server import EmulatorServer

from .support import TENANT, WRITER, assertion, seed

SEED_YAML = """\
tenant_id: 11111111-2222-3333-4444-555555555555
applications:
  - client_id: 66666666-7777-8888-9999-000000000000
    roles: [Group.ReadWrite.All, User.Read.All]
users:
  - userPrincipalName: ada@example.com
    mail: ada@example.com
    displayName: Ada Lovelace
  - userPrincipalName: bob@example.com
    id: 0e6a3f4c-0000-4000-8000-000000000001
groups:
  - displayName: Engineering
    description: builds things
    mailNickname: eng
    members: [Ada@Example.com, Interns]
    extensions: [{extensionName: com.example.owner, tool: reconciler}]
  - displayName: Interns
    members: [bob@example.com]
"""


def test_seed_yaml_loads(tmp_path):
    path = tmp_path / "entra-tenant.yaml"
    path.write_text(SEED_YAML)
    tenant = GraphTenant.open(path, tmp_path / "state.json")
    assert tenant.tenant_id == TENANT
    assert tenant.apps[WRITER].roles == {"Group.ReadWrite.All", "User.Read.All"}
    ada = next(u for u in tenant.users.values() if u.userPrincipalName == "ada@example.com")
    assert uuid.UUID(ada.id).version == 5
    assert "0e6a3f4c-0000-4000-8000-000000000001" in tenant.users
    eng = next(g for g in tenant.groups.values() if g.displayName == "Engineering")
    interns = next(g for g in tenant.groups.values() if g.displayName == "Interns")
    assert eng.members == [ada.id, interns.id]
    assert eng.mailNickname == "eng" and eng.securityEnabled and not eng.mailEnabled
    assert eng.extensions["com.example.owner"].properties == {"tool": "reconciler"}
    again = GraphTenant.open(path, tmp_path / "other.json")
    assert set(again.groups) == set(tenant.groups)  # deterministic ids


def test_no_seed_no_state_is_empty(tmp_path):
    tenant = GraphTenant.open(None, tmp_path / "state.json")
    assert tenant.tenant_id == DEFAULT_TENANT_ID and not tenant.groups and not tenant.apps


def test_state_round_trip_and_precedence(tmp_path):
    seed_path = tmp_path / "seed.yaml"
    seed_path.write_text(SEED_YAML)
    state = tmp_path / "state.json"
    tenant = GraphTenant.open(seed_path, state)
    eng = next(g for g in tenant.groups.values() if g.displayName == "Engineering")
    eng.description = "changed"
    eng.owners.append(next(iter(tenant.users)))
    tenant.save()
    assert (state.stat().st_mode & 0o777) == 0o600
    assert json.loads(state.read_text())["tenant_id"] == TENANT
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".state.json")]
    reloaded = GraphTenant.open(seed_path, state)  # the state wins over the seed
    assert reloaded.groups[eng.id].description == "changed"
    assert reloaded.groups[eng.id].members == eng.members
    assert reloaded.groups[eng.id].owners == eng.owners
    assert reloaded.groups[eng.id].extensions["com.example.owner"].properties == {
        "tool": "reconciler"
    }
    assert reloaded.apps == tenant.apps


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("colour: blue\n", "unknown key"),
        ("users:\n  - {userPrincipalName: a@x.com, age: 3}\n", "unknown key"),
        (
            "users:\n  - {userPrincipalName: a@x.com}\n  - {userPrincipalName: A@x.com}\n",
            "duplicate userPrincipalName",
        ),
        ("groups:\n  - {displayName: G, members: [nobody@x.com]}\n", "names no user"),
        ("groups:\n  - {displayName: G, id: not-a-guid}\n", "not a GUID"),
        ("groups:\n  - {displayName: G, members: [G]}\n", "member of itself"),
        (
            "applications:\n  - {client_id: 66666666-7777-8888-9999-000000000000, roles: x}\n",
            "roles",
        ),
        ("users: [\n", "not valid YAML"),
    ],
)
def test_seed_errors_name_file_and_problem(tmp_path, text, problem):
    path = tmp_path / "entra-tenant.yaml"
    path.write_text(text)
    with pytest.raises(SeedError) as info:
        GraphTenant.open(path, tmp_path / "state.json")
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_unreadable_state_is_an_error(tmp_path):
    state = tmp_path / "state.json"
    state.write_text("{")
    with pytest.raises(SeedError, match="state"):
        GraphTenant.open(None, state)


def test_google_emulator_serves_graph_on_the_same_port(tmp_path):
    api = GraphApi(GraphTenant.from_seed(seed()))
    with EmulatorServer.open(graph=api) as server:
        base = server.base_url
        token_url = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": WRITER,
            "scope": "https://graph.microsoft.com/.default",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion(WRITER, token_url),
        }
        token = requests.post(f"{base}/{TENANT}/oauth2/v2.0/token", data=form, timeout=30)
        assert token.status_code == 200
        headers = {"Authorization": "Bearer " + token.json()["access_token"]}
        groups = requests.get(f"{base}/v1.0/groups", headers=headers, timeout=30)
        assert groups.status_code == 200 and len(groups.json()["value"]) == 4
        config = requests.get(f"{base}/{TENANT}/v2.0/.well-known/openid-configuration", timeout=30)
        assert config.json()["token_endpoint"] == token_url
        api.configure(throttle_every=1)
        throttled = requests.get(f"{base}/v1.0/groups", headers=headers, timeout=30)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "0.01"
        cross = requests.get(
            f"{base}/v1.0/groups", headers={**headers, "Origin": "https://evil.example"}, timeout=30
        )
        assert cross.status_code == 403
        assert server.stats.http_requests == 0  # Graph counts in its own stats
        assert api.stats()["requests"]["GET /v1.0/groups"] == 2


def test_google_emulator_without_graph_does_not_answer_it():
    with EmulatorServer.open() as server:
        response = requests.get(f"{server.base_url}/v1.0/groups", timeout=30)
        assert response.status_code == 404
