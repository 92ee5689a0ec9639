"""orgunits.* and schemas.* through DirectoryApi.call."""

from __future__ import annotations

import pytest

from .api_support import Client, key, make, new_user

OUS = "customer/my_customer/orgunits"
SCHEMAS = "customer/my_customer/schemas"


@pytest.fixture
def client() -> Client:
    return make()


def paths(listing: dict) -> list[str]:
    return [u["orgUnitPath"] for u in listing.get("organizationUnits", [])]


# ---- org units ----------------------------------------------------------------------------


def test_list_types(client: Client) -> None:
    assert paths(client.ok("GET", OUS)) == ["/Engineering", "/Sales"]  # children by default
    assert paths(client.ok("GET", OUS, type="all")) == ["/Engineering", "/Sales", "/Sales/Europe"]
    assert paths(client.ok("GET", OUS, type="children", orgUnitPath="/Sales")) == ["/Sales/Europe"]
    assert paths(client.ok("GET", OUS, type="all", orgUnitPath="Sales")) == ["/Sales/Europe"]
    assert paths(client.ok("GET", OUS, type="allIncludingParent", orgUnitPath="/Sales")) == [
        "/Sales",
        "/Sales/Europe",
    ]
    with_root = client.ok("GET", OUS, type="allIncludingParent")
    assert (
        paths(with_root)[0] == "/" and "parentOrgUnitPath" not in with_root["organizationUnits"][0]
    )
    assert "organizationUnits" not in client.ok("GET", OUS, orgUnitPath="/Engineering")
    client.fails(400, "invalid", "GET", OUS, type="some")
    client.fails(404, "notFound", "GET", OUS, orgUnitPath="/Nowhere")
    client.fails(400, "badRequest", "GET", "customer/C0other/orgunits")


def test_get_by_path_encoded_path_and_id(client: Client) -> None:
    unit = client.ok("GET", OUS + "/Sales/Europe")
    assert unit["kind"] == "admin#directory#orgUnit"
    assert unit["name"] == "Europe" and unit["parentOrgUnitPath"] == "/Sales"
    assert unit["orgUnitId"].startswith("id:") and unit["parentOrgUnitId"].startswith("id:")
    assert client.ok("GET", OUS + "/Sales%2FEurope")["orgUnitId"] == unit["orgUnitId"]
    assert client.ok("GET", OUS + "/sales/europe")["orgUnitId"] == unit["orgUnitId"]
    assert client.ok("GET", OUS + "/" + key(unit["orgUnitId"]))["orgUnitPath"] == "/Sales/Europe"
    assert client.fails(404, "notFound", "GET", OUS + "/Nope") == "Org unit not found"


def test_insert(client: Client) -> None:
    unit = client.ok(
        "POST", OUS, {"name": "Platform", "parentOrgUnitPath": "/Engineering", "description": "P"}
    )
    assert unit["orgUnitPath"] == "/Engineering/Platform" and unit["description"] == "P"
    by_id = client.ok("POST", OUS, {"name": "Deep", "parentOrgUnitId": unit["orgUnitId"]})
    assert by_id["orgUnitPath"] == "/Engineering/Platform/Deep"
    # An existing path (any case): 400 as Google answers it, not 409.
    assert (
        client.fails(
            400,
            "invalidOrgunit",
            "POST",
            OUS,
            {"name": "platform", "parentOrgUnitPath": "/Engineering"},
        )
        == "Invalid Ou Id"
    )
    assert client.fails(400, "invalid", "POST", OUS, {"name": "X", "parentOrgUnitPath": "/No"}) == (
        "Invalid Parent Orgunit Id"
    )
    client.fails(400, "required", "POST", OUS, {"parentOrgUnitPath": "/"})
    client.fails(400, "required", "POST", OUS, {"name": "X"})
    client.fails(400, "invalid", "POST", OUS, {"name": "a/b", "parentOrgUnitPath": "/"})
    user = client.ok(
        "POST", "users", new_user("p@example.com", orgUnitPath="/Engineering/Platform")
    )
    assert user["orgUnitPath"] == "/Engineering/Platform"


def test_rename_and_move_carry_sub_units_and_users(client: Client) -> None:
    sam = "users/" + key("sam@example.org")
    before = client.ok("GET", sam)
    unit = client.ok("PATCH", OUS + "/Sales", {"name": "Revenue"})
    assert unit["orgUnitPath"] == "/Revenue"
    europe = client.ok("GET", OUS + "/Revenue/Europe")
    assert europe["parentOrgUnitPath"] == "/Revenue"
    after = client.ok("GET", sam)
    assert after["orgUnitPath"] == "/Revenue/Europe" and after["etag"] != before["etag"]
    client.fails(404, "notFound", "GET", OUS + "/Sales")
    moved = client.ok("PUT", OUS + "/Revenue/Europe", {"parentOrgUnitPath": "/Engineering"})
    assert moved["orgUnitPath"] == "/Engineering/Europe"
    assert client.ok("GET", sam)["orgUnitPath"] == "/Engineering/Europe"
    assert client.ok("GET", "users", customer="my_customer", query="orgUnitPath=/Engineering")[
        "users"
    ]
    client.fails(
        400, "invalid", "PATCH", OUS + "/Engineering", {"parentOrgUnitPath": "/Engineering/Europe"}
    )
    client.ok("POST", OUS, {"name": "Europe", "parentOrgUnitPath": "/Revenue"})
    client.fails(
        409, "duplicate", "PATCH", OUS + "/Revenue/Europe", {"parentOrgUnitPath": "/Engineering"}
    )


def test_delete_only_empty_units(client: Client) -> None:
    client.fails(412, "conditionNotMet", "DELETE", OUS + "/Sales")  # has a sub-unit
    client.fails(412, "conditionNotMet", "DELETE", OUS + "/Engineering")  # has a user
    client.ok("PATCH", "users/" + key("sam@example.org"), {"orgUnitPath": "/"})
    assert client.request("DELETE", OUS + "/Sales/Europe").status == 204
    assert client.request("DELETE", OUS + "/Sales").status == 204
    assert paths(client.ok("GET", OUS, type="all")) == ["/Engineering"]


# ---- schemas ------------------------------------------------------------------------------


def test_list_and_get_schemas(client: Client) -> None:
    listed = client.ok("GET", SCHEMAS)
    assert listed["kind"] == "admin#directory#schemas"
    schema = listed["schemas"][0]
    assert schema["kind"] == "admin#directory#schema" and schema["schemaName"] == "Reconciler"
    field = schema["fields"][0]
    assert field["kind"] == "admin#directory#schema#fieldspec"
    assert field["fieldId"] and field["etag"] and field["readAccessType"] == "ALL_DOMAIN_USERS"
    assert client.ok("GET", SCHEMAS + "/reconciler")["schemaId"] == schema["schemaId"]
    assert client.ok("GET", SCHEMAS + "/" + schema["schemaId"])["schemaName"] == "Reconciler"
    client.fails(404, "notFound", "GET", SCHEMAS + "/Nope")


def test_insert_update_patch_delete_schema(client: Client) -> None:
    body = {"schemaName": "HR", "fields": [{"fieldName": "badge", "fieldType": "INT64"}]}
    schema = client.ok("POST", SCHEMAS, body)
    assert schema["displayName"] == "HR" and schema["fields"][0]["fieldName"] == "badge"
    client.fails(409, "duplicate", "POST", SCHEMAS, body)
    badge_id = schema["fields"][0]["fieldId"]
    updated = client.ok(
        "PUT",
        SCHEMAS + "/HR",
        {
            "fields": [
                {"fieldName": "badge", "fieldType": "INT64"},
                {"fieldName": "start", "fieldType": "DATE"},
            ]
        },
    )
    assert [f["fieldName"] for f in updated["fields"]] == ["badge", "start"]
    assert updated["fields"][0]["fieldId"] == badge_id and updated["etag"] != schema["etag"]
    patched = client.ok("PATCH", SCHEMAS + "/HR", {"displayName": "People"})
    assert patched["displayName"] == "People" and len(patched["fields"]) == 2
    client.ok(
        "PATCH",
        "users/" + key("jo@example.com"),
        {"customSchemas": {"HR": {"start": "2024-01-31"}}},
    )
    client.fails(
        400,
        "invalid",
        "PATCH",
        "users/" + key("jo@example.com"),
        {"customSchemas": {"HR": {"start": "soon"}}},
    )
    assert client.request("DELETE", SCHEMAS + "/HR").status == 204
    user = client.ok("GET", "users/" + key("jo@example.com"), projection="full")
    assert "HR" not in user["customSchemas"]
    client.fails(404, "notFound", "GET", SCHEMAS + "/HR")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"fields": [{"fieldName": "a", "fieldType": "STRING"}]}, "required"),
        ({"schemaName": "X"}, "required"),
        ({"schemaName": "X", "fields": [{"fieldType": "STRING"}]}, "required"),
        ({"schemaName": "X", "fields": [{"fieldName": "a"}]}, "required"),
        ({"schemaName": "X", "fields": [{"fieldName": "a", "fieldType": "BLOB"}]}, "invalid"),
        (
            {"schemaName": "bad name", "fields": [{"fieldName": "a", "fieldType": "BOOL"}]},
            "invalid",
        ),
        (
            {
                "schemaName": "X",
                "fields": [
                    {"fieldName": "a", "fieldType": "BOOL"},
                    {"fieldName": "A", "fieldType": "BOOL"},
                ],
            },
            "invalid",
        ),
    ],
)
def test_schema_validation(client: Client, body: dict, reason: str) -> None:
    client.fails(400, reason, "POST", SCHEMAS, body)


def test_schema_name_cannot_change(client: Client) -> None:
    client.fails(400, "invalid", "PATCH", SCHEMAS + "/Reconciler", {"schemaName": "Other"})
