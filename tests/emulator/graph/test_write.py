"""Group creation and updates, open extensions, membership changes: every refusal."""

from __future__ import annotations

import pytest

from .support import GRAPH, READER, Graph, error_of, ref, seed

NEW = {
    "displayName": "Platform",
    "mailNickname": "platform",
    "mailEnabled": False,
    "securityEnabled": True,
}


def test_create_security_group(graph):
    response = graph.request("POST", "/groups", json={**NEW, "description": "d"})
    assert response.status_code == 201
    body = response.json()
    assert body["displayName"] == "Platform" and body["description"] == "d"
    assert body["groupTypes"] == [] and body["securityEnabled"] is True
    assert body["mailEnabled"] is False and body["mailNickname"] == "platform"
    assert body["createdDateTime"].endswith("Z")
    assert body["id"] in graph.tenant.groups
    again = graph.request("GET", f"/groups/{body['id']}").json()
    assert again["displayName"] == "Platform"


def test_duplicate_display_name_is_allowed(graph):
    first = graph.request("POST", "/groups", json=NEW).json()["id"]
    second = graph.request("POST", "/groups", json=NEW).json()["id"]
    assert first != second
    page = graph.request("GET", "/groups?$filter=displayName eq 'Platform'").json()
    assert {g["id"] for g in page["value"]} == {first, second}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"displayName": None}, "'displayName'"),
        ({"displayName": "x" * 257}, "'displayName'"),
        ({"mailNickname": None}, "'mailNickname'"),
        ({"mailNickname": "a" * 65}, "'mailNickname'"),
        ({"mailNickname": "has space"}, "'mailNickname'"),
        ({"mailNickname": "a@b"}, "'mailNickname'"),
        ({"mailNickname": "a,b"}, "'mailNickname'"),
        ({"mailNickname": "caf\u00e9"}, "'mailNickname'"),
        ({"mailEnabled": None}, "'mailEnabled'"),
        ({"securityEnabled": "yes"}, "'securityEnabled'"),
        ({"mailEnabled": True}, "Cannot Create a mail-enabled security groups"),
        ({"colour": "blue"}, "Invalid property 'colour'."),
    ],
)
def test_create_refusals(graph, change, message):
    body = {k: v for k, v in {**NEW, **change}.items() if v is not None}
    status, code, text = error_of(graph.request("POST", "/groups", json=body))
    assert (status, code) == (400, "Request_BadRequest")
    assert message in text
    assert len(graph.tenant.groups) == 4


def test_display_name_of_256_is_fine(graph):
    assert graph.request("POST", "/groups", json={**NEW, "displayName": "x" * 256}).ok


def test_create_with_bindings(graph):
    ada = graph.user_id("ada@example.com")
    interns = graph.group_id("Interns")
    body = {
        **NEW,
        "members@odata.bind": [f"{GRAPH}/v1.0/users/{ada}", f"{GRAPH}/v1.0/groups/{interns}"],
        "owners@odata.bind": [f"{GRAPH}/v1.0/directoryObjects/{ada}"],
    }
    created = graph.request("POST", "/groups", json=body).json()
    members = graph.request("GET", f"/groups/{created['id']}/members").json()["value"]
    assert {m["id"] for m in members} == {ada, interns}


def test_create_with_more_than_20_bindings(graph):
    ada = graph.user_id("ada@example.com")
    body = {**NEW, "members@odata.bind": [f"{GRAPH}/v1.0/users/{ada}"] * 21}
    assert graph.request("POST", "/groups", json=body).status_code == 400


def test_create_binding_an_unknown_object(graph):
    missing = "00000000-0000-0000-0000-0000000000bb"
    body = {**NEW, "members@odata.bind": [f"{GRAPH}/v1.0/directoryObjects/{missing}"]}
    status, code, message = error_of(graph.request("POST", "/groups", json=body))
    assert (status, code) == (404, "Request_ResourceNotFound") and missing in message
    assert len(graph.tenant.groups) == 4


def test_patch_and_delete(graph):
    eng = graph.group_id("Engineering")
    assert graph.request("PATCH", f"/groups/{eng}", json={"description": "new"}).status_code == 204
    assert graph.tenant.groups[eng].description == "new"
    bad = graph.request("PATCH", f"/groups/{eng}", json={"securityEnabled": False})
    assert error_of(bad)[2] == "Invalid property 'securityEnabled'."
    assert graph.request("DELETE", f"/groups/{eng}").status_code == 204
    assert graph.request("GET", f"/groups/{eng}").status_code == 404
    stats = graph.api.stats()["requests"]
    assert stats["PATCH /v1.0/groups/{id}"] == 2 and stats["DELETE /v1.0/groups/{id}"] == 1


def test_patch_member_binding_is_all_or_nothing(graph):
    eng = graph.group_id("Engineering")
    ada, u1 = graph.user_id("ada@example.com"), graph.user_id("user001@example.com")
    body = {"members@odata.bind": [f"{GRAPH}/v1.0/users/{u1}", f"{GRAPH}/v1.0/users/{ada}"]}
    assert graph.request("PATCH", f"/groups/{eng}", json=body).status_code == 400
    assert u1 not in graph.tenant.groups[eng].members


EXT = {"@odata.type": "#microsoft.graph.openTypeExtension", "extensionName": "com.example.x"}


def test_extensions(graph):
    eng = graph.group_id("Engineering")
    created = graph.request("POST", f"/groups/{eng}/extensions", json={**EXT, "owner": "me"})
    assert created.status_code == 201
    assert created.json()["extensionName"] == "com.example.x" and created.json()["owner"] == "me"
    again = graph.request("POST", f"/groups/{eng}/extensions", json=EXT)
    assert error_of(again)[:2] == (409, "NameAlreadyExists")
    patched = graph.request(
        "PATCH", f"/groups/{eng}/extensions/com.example.x", json={**EXT, "owner": "you"}
    )
    assert patched.status_code == 204
    listed = graph.request("GET", f"/groups/{eng}/extensions").json()["value"]
    assert listed[0]["owner"] == "you"


def test_two_extensions_per_app_per_object(graph):
    eng = graph.group_id("Engineering")
    for name in ("a.one", "a.two"):
        ok = graph.request("POST", f"/groups/{eng}/extensions", json={**EXT, "extensionName": name})
        assert ok.status_code == 201
    third = graph.request("POST", f"/groups/{eng}/extensions", json={**EXT, "extensionName": "c"})
    assert third.status_code == 400


def test_extension_needs_its_type_and_small_data(graph):
    eng = graph.group_id("Engineering")
    untyped = graph.request("POST", f"/groups/{eng}/extensions", json={"extensionName": "n"})
    assert untyped.status_code == 400
    big = graph.request("POST", f"/groups/{eng}/extensions", json={**EXT, "blob": "x" * 3000})
    assert big.status_code == 400
    assert graph.tenant.groups[eng].extensions == {}


def test_extension_write_needs_group_write(graph):
    eng = graph.group_id("Engineering")
    assert graph.request("POST", f"/groups/{eng}/extensions", READER, json=EXT).status_code == 403


def test_add_and_remove_member(graph):
    eng = graph.group_id("Engineering")
    u1 = graph.user_id("user001@example.com")
    assert graph.request("POST", f"/groups/{eng}/members/$ref", json=ref(u1)).status_code == 204
    assert u1 in graph.tenant.groups[eng].members
    gone = graph.request("DELETE", f"/groups/{eng}/members/{u1}/$ref")
    assert gone.status_code == 204
    assert u1 not in graph.tenant.groups[eng].members
    assert graph.api.stats()["requests"] == {
        "POST /v1.0/groups/{id}/members/$ref": 1,
        "DELETE /v1.0/groups/{id}/members/{id}/$ref": 1,
    }


def test_add_member_refusals(graph):
    eng = graph.group_id("Engineering")
    ada = graph.user_id("ada@example.com")
    already = graph.request("POST", f"/groups/{eng}/members/$ref", json=ref(ada))
    assert error_of(already) == (
        400,
        "Request_BadRequest",
        "One or more added object references already exist for the following modified "
        "properties: 'members'.",
    )
    missing = "00000000-0000-0000-0000-0000000000cc"
    unknown = graph.request("POST", f"/groups/{eng}/members/$ref", json=ref(missing))
    assert error_of(unknown)[:2] == (404, "Request_ResourceNotFound")
    m365 = graph.group_id("M365")
    unified = graph.request("POST", f"/groups/{eng}/members/$ref", json=ref(m365))
    assert error_of(unified)[:2] == (400, "Request_BadRequest")
    itself = graph.request("POST", f"/groups/{eng}/members/$ref", json=ref(eng))
    assert error_of(itself)[:2] == (400, "Request_BadRequest")
    no_group = graph.request("POST", f"/groups/{missing}/members/$ref", json=ref(ada))
    assert no_group.status_code == 404
    malformed = graph.request(
        "POST", f"/groups/{eng}/members/$ref", json={"@odata.id": f"https://evil/{ada}"}
    )
    assert malformed.status_code == 400
    user_as_group = graph.request("POST", f"/groups/{eng}/members/$ref", json=ref(ada, "groups"))
    assert user_as_group.status_code == 404
    assert len(graph.tenant.groups[eng].members) == 2


def test_remove_a_non_member_names_the_group(graph):
    eng = graph.group_id("Engineering")
    u2 = graph.user_id("user002@example.com")
    status, code, message = error_of(graph.request("DELETE", f"/groups/{eng}/members/{u2}/$ref"))
    assert (status, code) == (404, "Request_ResourceNotFound")
    assert eng in message and u2 not in message


def test_delete_member_without_ref_is_refused(graph):
    eng = graph.group_id("Engineering")
    ada = graph.user_id("ada@example.com")
    status, code, message = error_of(graph.request("DELETE", f"/groups/{eng}/members/{ada}"))
    assert (status, code) == (400, "Request_BadRequest")
    assert "/$ref" in message
    assert ada in graph.tenant.users and ada in graph.tenant.groups[eng].members


def test_body_must_be_json(graph):
    response = graph.request("POST", "/groups", data="displayName=x")
    assert response.status_code == 415
    headers = {"Content-Type": "application/json"}
    broken = graph.request("POST", "/groups", data="{", headers=headers)
    assert error_of(broken)[:2] == (400, "BadRequest")


def test_writes_are_saved(tmp_path):
    from reconciler.emulator.graph.tenant import GraphTenant

    state = tmp_path / "state.json"
    tenant = GraphTenant.from_seed(seed(), state=state)
    g = Graph(tenant=tenant)
    try:
        created = g.request("POST", "/groups", json=NEW).json()
        assert state.exists() and (state.stat().st_mode & 0o777) == 0o600
        reloaded = GraphTenant.open(None, state)
        assert reloaded.groups[created["id"]].displayName == "Platform"
        g.request("GET", "/groups")
    finally:
        g.close()


def test_a_group_cannot_own_a_group(graph):
    interns = graph.group_id("Interns")
    body = {**NEW, "owners@odata.bind": [f"{GRAPH}/v1.0/groups/{interns}"]}
    assert error_of(graph.request("POST", "/groups", json=body))[:2] == (
        400,
        "Request_BadRequest",
    )
    assert len(graph.tenant.groups) == 4


def test_percent_encoded_ref_segment(graph):
    eng = graph.group_id("Engineering")
    u1 = graph.user_id("user001@example.com")
    response = graph.request("POST", f"/groups/{eng}/members/%24ref", json=ref(u1))
    assert response.status_code == 204
    assert u1 in graph.tenant.groups[eng].members


def test_get_user_by_id_and_by_upn(graph):
    ada = graph.user_id("ada@example.com")
    assert graph.request("GET", f"/users/{ada}").json()["userPrincipalName"] == "ada@example.com"
    assert graph.request("GET", "/users/ADA@example.com?$select=id").json()["id"] == ada
    assert graph.request("GET", "/users/nobody@example.com").status_code == 404


def test_members_of_synced_and_role_assignable_groups_are_refused_as_graph_does():
    from reconciler.emulator.graph.api import ON_PREMISES

    data = seed()
    data["groups"] += [
        {"displayName": "Synced", "onPremisesSyncEnabled": True},
        {"displayName": "Admins", "isAssignableToRole": True},
    ]
    graph = Graph(data)
    try:
        ada = ref(graph.user_id("ada@example.com"))
        synced = graph.request("POST", f"/groups/{graph.group_id('Synced')}/members/$ref", json=ada)
        assert error_of(synced) == (400, "Request_BadRequest", ON_PREMISES)
        admins = graph.request("POST", f"/groups/{graph.group_id('Admins')}/members/$ref", json=ada)
        assert error_of(admins)[:2] == (403, "Authorization_RequestDenied")
        listed = graph.request(
            "GET", "/groups?$select=displayName,onPremisesSyncEnabled,isAssignableToRole"
        ).json()["value"]
        flags = {
            g["displayName"]: (g["onPremisesSyncEnabled"], g["isAssignableToRole"]) for g in listed
        }
        assert flags["Synced"] == (True, False) and flags["Admins"] == (None, True)
    finally:
        graph.close()
