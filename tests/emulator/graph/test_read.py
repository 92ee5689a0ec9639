"""Authentication, permissions and the listings (users, groups, members), over HTTP."""

from __future__ import annotations

import pytest

from .support import GRAPH, MEMBERS_ONLY, NOBODY, READER, Graph, error_of, seed


def test_no_token_is_401_empty(graph):
    response = graph.request("GET", "/users", client_id=None)
    assert error_of(response) == (401, "InvalidAuthenticationToken", "Access token is empty.")


def test_a_token_not_issued_here_is_401(graph):
    response = graph.request("GET", "/users", client_id=None, headers={"Authorization": "Bearer x"})
    assert error_of(response) == (
        401,
        "InvalidAuthenticationToken",
        "Access token validation failure.",
    )


def test_an_app_without_consent_gets_a_token_then_403(graph):
    response = graph.request("GET", "/groups", client_id=NOBODY)
    assert error_of(response) == (
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )


@pytest.mark.parametrize(
    ("client", "method", "path", "body", "allowed"),
    [
        (READER, "POST", "/groups", {"displayName": "x"}, False),
        (MEMBERS_ONLY, "GET", "/users", None, False),
        (MEMBERS_ONLY, "GET", "/groups", None, True),
        (MEMBERS_ONLY, "PATCH", "/groups/{eng}", {"description": "d"}, False),
        (MEMBERS_ONLY, "DELETE", "/groups/{eng}", None, False),
        (READER, "POST", "/groups/{eng}/members/$ref", {}, False),
    ],
)
def test_permissions(graph, client, method, path, body, allowed):
    path = path.format(eng=graph.group_id("Engineering"))
    response = graph.request(method, path, client_id=client, json=body)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_members_only_app_can_change_membership(graph):
    eng = graph.group_id("Engineering")
    user = graph.user_id("user001@example.com")
    response = graph.request(
        "POST", f"/groups/{eng}/members/$ref", client_id=MEMBERS_ONLY, json=_ref(user)
    )
    assert response.status_code == 204


def _ref(object_id):
    return {"@odata.id": f"{GRAPH}/v1.0/directoryObjects/{object_id}"}


def test_users_page_by_next_link_passed_back_unchanged():
    g = Graph(seed(users=250))
    try:
        first = g.request("GET", "/users?$select=id,userPrincipalName").json()
        assert first["@odata.context"] == f"{GRAPH}/v1.0/$metadata#users(id,userPrincipalName)"
        assert len(first["value"]) == 100  # the default page
        assert set(first["value"][0]) == {"id", "userPrincipalName"}
        seen = [u["userPrincipalName"] for u in first["value"]]
        link = first["@odata.nextLink"]
        assert link.startswith(f"{GRAPH}/v1.0/users?$skiptoken=")
        pages = 1
        while link:
            page = g.request("GET", link).json()
            assert all(set(u) == {"id", "userPrincipalName"} for u in page["value"])
            seen += [u["userPrincipalName"] for u in page["value"]]
            link = page.get("@odata.nextLink")
            pages += 1
        assert pages == 3
        assert len(seen) == len(set(seen)) == 251
        assert g.api.stats()["requests"]["GET /v1.0/users"] == 3
    finally:
        g.close()


@pytest.mark.parametrize("top", ["0", "1000", "-1"])
def test_top_bounds(graph, top):
    status, code, message = error_of(graph.request("GET", f"/users?$top={top}"))
    assert (status, code) == (400, "Request_BadRequest")
    assert message == (
        f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
    )


def test_top_999_and_top_2(graph):
    assert graph.request("GET", "/users?$top=999").status_code == 200
    page = graph.request("GET", "/users?$top=2").json()
    assert len(page["value"]) == 2 and "@odata.nextLink" in page


@pytest.mark.parametrize("option", ["$skip=1", "$orderby=displayName", "$count=true"])
def test_unsupported_options(graph, option):
    assert graph.request("GET", f"/users?{option}").status_code == 400


def test_unknown_select_property(graph):
    status, _, message = error_of(graph.request("GET", "/groups?$select=id,colour"))
    assert status == 400 and "colour" in message


def test_users_filter_on_upn_ignores_case(graph):
    page = graph.request("GET", "/users?$filter=userPrincipalName eq 'ADA@example.com'").json()
    assert [u["displayName"] for u in page["value"]] == ["Ada Lovelace"]
    assert graph.request("GET", "/users?$filter=displayName ne 'x'").status_code == 400


def test_groups_filter_on_display_name(graph):
    page = graph.request("GET", "/groups?$filter=displayName eq 'engineering'").json()
    assert [g["displayName"] for g in page["value"]] == ["Engineering"]
    trailing = graph.request("GET", "/groups?$filter=displayName eq 'Engineering '").json()
    assert trailing["value"] == []


def test_groups_expand_extensions(graph):
    page = graph.request("GET", "/groups?$select=id,displayName&$expand=extensions").json()
    tagged = next(g for g in page["value"] if g["displayName"] == "Tagged")
    assert set(tagged) == {"id", "displayName", "extensions"}
    assert tagged["extensions"] == [
        {
            "@odata.type": "#microsoft.graph.openTypeExtension",
            "extensionName": "com.example.owner",
            "id": "com.example.owner",
            "tool": "reconciler",
        }
    ]
    plain = graph.request("GET", "/groups").json()
    assert all("extensions" not in g for g in plain["value"])


def test_groups_paging_keeps_expand_and_select():
    data = seed()
    data["groups"] += [{"displayName": f"G{i}"} for i in range(5)]
    g = Graph(data)
    try:
        page = g.request("GET", "/groups?$top=3&$select=displayName&$expand=extensions").json()
        names = [x["displayName"] for x in page["value"]]
        while "@odata.nextLink" in page:
            page = g.request("GET", page["@odata.nextLink"]).json()
            assert all(set(x) == {"displayName", "extensions"} for x in page["value"])
            names += [x["displayName"] for x in page["value"]]
        assert sorted(names) == sorted(x["displayName"] for x in data["groups"])
    finally:
        g.close()


def test_get_group_and_unknown_group(graph):
    eng = graph.group_id("Engineering")
    body = graph.request("GET", f"/groups/{eng}?$select=displayName").json()
    assert body["displayName"] == "Engineering" and "id" not in body
    missing = "00000000-0000-0000-0000-0000000000aa"
    assert error_of(graph.request("GET", f"/groups/{missing}")) == (
        404,
        "Request_ResourceNotFound",
        f"Resource '{missing}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def test_members_carry_their_type(graph):
    eng = graph.group_id("Engineering")
    page = graph.request("GET", f"/groups/{eng}/members").json()
    by_type = {m["@odata.type"]: m for m in page["value"]}
    assert by_type["#microsoft.graph.user"]["userPrincipalName"] == "ada@example.com"
    assert by_type["#microsoft.graph.group"]["displayName"] == "Interns"
    assert len(page["value"]) == 2
    selected = graph.request("GET", f"/groups/{eng}/members?$select=id").json()
    assert all(set(m) == {"@odata.type", "id"} for m in selected["value"])


def test_members_paging():
    data = seed(users=12)
    data["groups"].append(
        {"displayName": "Big", "members": [f"user{i:03d}@example.com" for i in range(12)]}
    )
    g = Graph(data)
    try:
        big = g.group_id("Big")
        page = g.request("GET", f"/groups/{big}/members?$top=5").json()
        ids = [m["id"] for m in page["value"]]
        assert page["@odata.nextLink"].startswith(f"{GRAPH}/v1.0/groups/{big}/members?")
        while "@odata.nextLink" in page:
            page = g.request("GET", page["@odata.nextLink"]).json()
            ids += [m["id"] for m in page["value"]]
        assert len(ids) == len(set(ids)) == 12
        assert g.request("GET", f"/groups/{big}/members?$top=1000").status_code == 400
    finally:
        g.close()


def test_unknown_segment(graph):
    status, code, _ = error_of(graph.request("GET", "/applications"))
    assert (status, code) == (400, "BadRequest")
