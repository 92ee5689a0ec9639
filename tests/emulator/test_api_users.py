"""users.* and users.aliases.* through DirectoryApi.call."""

from __future__ import annotations

import pytest

from .api_support import PASSWORD, Client, Clock, key, make, new_user

JO = "users/" + key("jo@example.com")


@pytest.fixture
def client() -> Client:
    return make()


def emails(users: list[dict]) -> list[str]:
    return [u["primaryEmail"] for u in users]


# ---- list ---------------------------------------------------------------------------------


def test_list_needs_customer_or_domain(client: Client) -> None:
    assert client.fails(400, "badRequest", "GET", "users") == "Bad Request"
    client.fails(400, "badRequest", "GET", "users", customer="C0other")
    assert client.fails(404, "notFound", "GET", "users", domain="other.com") == "Domain not found."


def test_list_by_customer_sorted_by_email(client: Client) -> None:
    page = client.ok("GET", "users", customer="my_customer")
    assert page["kind"] == "admin#directory#users"
    assert emails(page["users"]) == [
        "abused@example.com",
        "admin@example.com",
        "jo@example.com",
        "sam@example.org",
    ]
    assert "nextPageToken" not in page
    customer_id = page["users"][0]["customerId"]
    assert len(client.ok("GET", "users", customer=customer_id)["users"]) == 4


def test_list_by_domain(client: Client) -> None:
    page = client.ok("GET", "users", domain="EXAMPLE.ORG")
    assert emails(page["users"]) == ["sam@example.org"]


def test_paging_follows_tokens_to_the_end(client: Client) -> None:
    for i in range(7):
        client.ok("POST", "users", new_user(f"user{i}@example.com"))
    first = client.ok("GET", "users", customer="my_customer", maxResults=5)
    assert len(first["users"]) == 5 and first["nextPageToken"]
    everyone = client.list_all("users", "users", customer="my_customer", maxResults=5)
    assert len(everyone) == 11
    assert emails(everyone) == sorted(emails(everyone))


def test_paging_is_stable_under_concurrent_writes(client: Client) -> None:
    for i in range(10):
        client.ok("POST", "users", new_user(f"user{i}@example.com"))
    page = client.ok("GET", "users", customer="my_customer", maxResults=4)
    seen = emails(page["users"])
    # Between pages: delete a user already returned and one not yet returned, add one
    # behind the cursor and one ahead of it.
    client.ok("DELETE", "users/" + key(seen[0]))
    client.ok("DELETE", "users/" + key("user5@example.com"))
    client.ok("POST", "users", new_user("aaron@example.com"))
    client.ok("POST", "users", new_user("zed@example.com"))
    rest = client.list_all(
        "users", "users", customer="my_customer", maxResults=4, pageToken=page["nextPageToken"]
    )
    assert set(emails(rest)).isdisjoint(seen)
    assert "zed@example.com" in emails(rest)
    assert "user5@example.com" not in emails(rest)
    assert "user9@example.com" in emails(rest)


def test_page_token_belongs_to_its_listing(client: Client) -> None:
    token = client.ok("GET", "users", customer="my_customer", maxResults=1)["nextPageToken"]
    client.fails(
        400,
        "invalid",
        "GET",
        "users",
        customer="my_customer",
        query="isAdmin=true",
        pageToken=token,
    )
    client.fails(400, "invalid", "GET", "users", customer="my_customer", pageToken="garbage!")


@pytest.mark.parametrize("value", ["0", "501", "abc", "-1"])
def test_max_results_outside_1_to_500_is_invalid(client: Client, value: str) -> None:
    message = client.fails(400, "invalid", "GET", "users", customer="my_customer", maxResults=value)
    assert value in message


def test_max_results_500_is_allowed(client: Client) -> None:
    assert len(client.ok("GET", "users", customer="my_customer", maxResults=500)["users"]) == 4


def test_order_by_family_name_descending(client: Client) -> None:
    page = client.ok(
        "GET", "users", customer="my_customer", orderBy="familyName", sortOrder="DESCENDING"
    )
    assert [u["name"]["familyName"] for u in page["users"]] == ["Used", "Okafor", "Lei", "Admin"]
    pages = client.list_all(
        "users", "users", customer="my_customer", orderBy="givenName", maxResults=1
    )
    assert [u["name"]["givenName"] for u in pages] == ["Abe", "Ada", "Jo", "Sam"]


def test_descending_email_pages(client: Client) -> None:
    got = client.list_all(
        "users", "users", customer="my_customer", sortOrder="DESCENDING", maxResults=3
    )
    assert emails(got) == sorted(emails(got), reverse=True) and len(got) == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("email:jo@example.com", ["jo@example.com"]),
        ("email:JO.LEI@example.com", ["jo@example.com"]),  # an alias finds the user
        ("email=nobody@example.com", []),
        ("email:a*", ["abused@example.com", "admin@example.com"]),
        ("orgUnitPath='/Sales'", ["sam@example.org"]),  # the unit and below
        ("orgUnitPath=/Sales/Europe", ["sam@example.org"]),
        (
            "orgUnitPath=/",
            ["abused@example.com", "admin@example.com", "jo@example.com", "sam@example.org"],
        ),
        ("isSuspended=true", ["abused@example.com"]),
        ("isSuspended=false isAdmin=true", ["admin@example.com"]),
        ("givenName:Jo", ["jo@example.com"]),
        ("familyName:ok*", ["sam@example.org"]),
        ("name:'Jo Lei'", ["jo@example.com"]),
        ("Reconciler.ownershipId=acme/identity", ["jo@example.com"]),
        ("sam", ["sam@example.org"]),
    ],
)
def test_query(client: Client, query: str, expected: list[str]) -> None:
    users = client.list_all("users", "users", customer="my_customer", query=query)
    assert emails(users) == expected


def test_query_for_an_unknown_org_unit(client: Client) -> None:
    message = client.fails(
        400, "invalid", "GET", "users", customer="my_customer", query="orgUnitPath=/Nowhere"
    )
    assert message == "Invalid Input: INVALID_OU_ID"


@pytest.mark.parametrize("query", ["bogus:1", "isAdmin=maybe", "Nope.field=1", "Reconciler.nope=1"])
def test_bad_query_is_an_error_not_an_empty_result(client: Client, query: str) -> None:
    client.fails(400, "invalid", "GET", "users", customer="my_customer", query=query)


def test_projections_and_custom_field_mask(client: Client) -> None:
    basic = client.ok("GET", JO)
    assert "customSchemas" not in basic
    full = client.ok("GET", JO, projection="full")
    assert full["customSchemas"] == {"Reconciler": {"ownershipId": "acme/identity"}}
    custom = client.ok("GET", JO, projection="custom", customFieldMask="reconciler")
    assert custom["customSchemas"] == full["customSchemas"]
    client.fails(400, "invalid", "GET", JO, projection="custom")
    client.fails(400, "invalid", "GET", JO, projection="everything")
    listed = client.ok("GET", "users", customer="my_customer", projection="full")
    assert any("customSchemas" in u for u in listed["users"])


def test_domain_public_view_hides_admin_fields(client: Client) -> None:
    client.ok("PATCH", JO, {"customSchemas": {"Reconciler": {"secret": "s3", "level": 3}}})
    public = client.ok("GET", JO, viewType="domain_public", projection="full")
    assert "suspended" not in public and "orgUnitPath" not in public
    assert public["customSchemas"] == {"Reconciler": {"ownershipId": "acme/identity", "level": 3}}


def test_show_deleted_lists_only_deleted_users(client: Client) -> None:
    client.ok("DELETE", JO)
    deleted = client.ok("GET", "users", customer="my_customer", showDeleted="True")
    assert emails(deleted["users"]) == ["jo@example.com"]
    assert deleted["users"][0]["deletionTime"]
    active = client.ok("GET", "users", customer="my_customer", showDeleted="False")
    assert "jo@example.com" not in emails(active["users"])
    client.fails(400, "invalid", "GET", "users", customer="my_customer", showDeleted="yes")


def test_empty_listing_has_no_users_key() -> None:
    client = make({"domains": ["example.com"]})
    page = client.ok("GET", "users", customer="my_customer")
    assert page == {"kind": "admin#directory#users", "etag": page["etag"]}


# ---- get ----------------------------------------------------------------------------------


def test_get_by_email_alias_id_any_case(client: Client) -> None:
    user = client.ok("GET", JO)
    assert client.ok("GET", "users/" + key("JO.Lei@Example.COM"))["id"] == user["id"]
    assert client.ok("GET", "users/" + user["id"])["primaryEmail"] == "jo@example.com"
    assert client.ok("GET", "users/jo@example.com")["id"] == user["id"]  # unencoded @
    assert client.fails(404, "notFound", "GET", "users/" + key("x@example.com")) == (
        "Resource Not Found: userKey"
    )


def test_user_resource_has_google_fields(client: Client) -> None:
    user = client.ok("GET", JO, projection="full")
    assert user["kind"] == "admin#directory#user"
    assert user["id"].isdigit() and len(user["id"]) == 21
    assert user["etag"].startswith('"') and user["etag"].endswith('"')
    assert user["name"]["fullName"] == "Jo Lei"
    assert user["aliases"] == ["jo.lei@example.com"]
    assert user["emails"][0] == {"address": "jo@example.com", "primary": True}
    assert user["orgUnitPath"] == "/Engineering"
    assert user["isAdmin"] is False and user["suspended"] is False
    assert "suspensionReason" not in user
    assert "password" not in user and "hashFunction" not in user


# ---- insert -------------------------------------------------------------------------------


def test_insert_returns_the_user_without_password(client: Client) -> None:
    body = new_user("New.Person@Example.com", orgUnitPath="/sales")
    user = client.ok("POST", "users", body)
    assert user["primaryEmail"] == "new.person@example.com"
    assert user["orgUnitPath"] == "/Sales"
    assert user["creationTime"] and user["id"] and user["etag"]
    assert "password" not in user
    assert client.ok("GET", "users/" + user["id"])["primaryEmail"] == "new.person@example.com"


@pytest.mark.parametrize(
    ("drop", "field"),
    [
        ("primaryEmail", "primaryEmail"),
        ("password", "password"),
        ("givenName", "name.givenName"),
        ("familyName", "name.familyName"),
    ],
)
def test_insert_requires_fields(client: Client, drop: str, field: str) -> None:
    body = new_user("new@example.com")
    if drop in body:
        del body[drop]
    else:
        del body["name"][drop]
    message = client.fails(400, "required", "POST", "users", body)
    assert message == f"Missing required field: {field}"


@pytest.mark.parametrize(
    ("change", "reason", "message"),
    [
        ({"password": "short"}, "invalid", "Invalid Password"),
        ({"password": "x" * 101}, "invalid", "Invalid Password"),
        (
            {"primaryEmail": "bad address@example.com"},
            "invalid",
            "Invalid Input: primary_user_email",
        ),
        ({"primaryEmail": "a..b@example.com"}, "invalid", "Invalid Input: primary_user_email"),
        (
            {"primaryEmail": "postmaster@example.com"},
            "invalid",
            "Invalid Input: primary_user_email",
        ),
        (
            {"name": {"givenName": "<b>", "familyName": "X"}},
            "invalid",
            "Invalid Given/Family Name: GivenName",
        ),
        (
            {"name": {"givenName": "A", "familyName": "x" * 61}},
            "invalid",
            "Invalid Given/Family Name: FamilyName",
        ),
        ({"orgUnitPath": "/Nowhere"}, "invalid", "Invalid Input: INVALID_OU_ID"),
        ({"suspended": "yes"}, "invalid", "Invalid value for suspended: expected a boolean"),
        ({"phones": {"value": "1"}}, "invalid", "Invalid value for phones: expected a list"),
        ({"hashFunction": "ROT13"}, "invalid", "Invalid Input: hashFunction"),
    ],
)
def test_insert_rejects_invalid_values(
    client: Client, change: dict, reason: str, message: str
) -> None:
    body = new_user("new@example.com")
    body.update(change)
    assert client.fails(400, reason, "POST", "users", body) == message


def test_insert_accepts_a_password_hash(client: Client) -> None:
    body = new_user("hashed@example.com", password="5f4dcc3b5aa765d61d8327deb882cf99")
    body["hashFunction"] = "MD5"
    user = client.ok("POST", "users", body)
    assert "hashFunction" not in user and "password" not in user


def test_insert_outside_the_tenant_domains(client: Client) -> None:
    message = client.fails(404, "notFound", "POST", "users", new_user("x@other.com"))
    assert message == "Domain not found."


@pytest.mark.parametrize(
    "email",
    [
        "jo@example.com",
        "JO@example.com",
        "jo.lei@example.com",
        "eng@example.com",
        "dev@example.com",
    ],
)
def test_insert_duplicate_of_any_address(client: Client, email: str) -> None:
    message = client.fails(409, "duplicate", "POST", "users", new_user(email))
    assert message == "Entity already exists."


def test_insert_validates_custom_schemas(client: Client) -> None:
    def custom(value: dict) -> dict:
        return new_user("c@example.com", customSchemas=value)

    client.fails(400, "invalid", "POST", "users", custom({"Nope": {"a": "b"}}))
    client.fails(400, "invalid", "POST", "users", custom({"Reconciler": {"nope": "b"}}))
    client.fails(400, "invalid", "POST", "users", custom({"Reconciler": {"level": "high"}}))
    client.fails(400, "invalid", "POST", "users", custom({"Reconciler": {"tags": "one"}}))
    user = client.ok(
        "POST",
        "users",
        custom({"reconciler": {"OWNERSHIPID": "x", "tags": [{"value": "a"}], "level": "7"}}),
    )
    fetched = client.ok("GET", "users/" + user["id"], projection="full")
    assert fetched["customSchemas"] == {
        "Reconciler": {"ownershipId": "x", "tags": [{"value": "a"}], "level": "7"}
    }


def test_insert_ignores_read_only_fields(client: Client) -> None:
    body = new_user("ro@example.com", isAdmin=True, id="123", aliases=["ro2@example.com"])
    user = client.ok("POST", "users", body)
    assert user["isAdmin"] is False and user["id"] != "123" and "aliases" not in user


def test_bad_json_body(client: Client) -> None:
    client.fails(400, "parseError", "POST", "users", b"{not json")
    client.fails(400, "parseError", "POST", "users", b"[1, 2]")


# ---- update and patch ----------------------------------------------------------------------


def test_update_keeps_omitted_fields_and_clears_nulls(client: Client) -> None:
    client.ok("PATCH", JO, {"phones": [{"type": "work", "value": "1"}], "recoveryEmail": "r@x.io"})
    user = client.ok("PUT", JO, {"name": {"familyName": "Lee"}, "recoveryEmail": None})
    assert user["name"] == {"givenName": "Jo", "familyName": "Lee", "fullName": "Jo Lee"}
    assert user["phones"] == [{"type": "work", "value": "1"}]
    assert "recoveryEmail" not in user
    assert client.ok("PUT", JO, {"phones": None}).get("phones") is None


def test_patch_cannot_clear_repeated_fields(client: Client) -> None:
    client.ok("PATCH", JO, {"phones": [{"type": "work", "value": "1"}]})
    assert client.ok("PATCH", JO, {"phones": None})["phones"] == [{"type": "work", "value": "1"}]
    assert client.ok("PATCH", JO, {"phones": []})["phones"] == [{"type": "work", "value": "1"}]
    replaced = client.ok("PATCH", JO, {"phones": [{"type": "home", "value": "2"}]})
    assert replaced["phones"] == [{"type": "home", "value": "2"}]


def test_every_write_changes_the_etag(client: Client) -> None:
    etags = {client.ok("GET", JO)["etag"]}
    for body in ({"name": {"givenName": "Jo"}}, {"suspended": True}, {"suspended": False}):
        etags.add(client.ok("PATCH", JO, body)["etag"])
    client.ok("POST", JO + "/aliases", {"alias": "joey@example.com"})
    etags.add(client.ok("GET", JO)["etag"])
    assert len(etags) == 5


def test_custom_schema_values_merge_and_clear(client: Client) -> None:
    client.ok("PATCH", JO, {"customSchemas": {"Reconciler": {"level": 1}}})
    user = client.ok("GET", JO, projection="full")
    assert user["customSchemas"] == {"Reconciler": {"ownershipId": "acme/identity", "level": 1}}
    client.ok("PATCH", JO, {"customSchemas": {"Reconciler": {"ownershipId": None}}})
    assert client.ok("GET", JO, projection="full")["customSchemas"] == {"Reconciler": {"level": 1}}
    client.ok("PATCH", JO, {"customSchemas": {"Reconciler": None}})
    assert "customSchemas" not in client.ok("GET", JO, projection="full")


def test_rename_keeps_old_address_as_alias(client: Client) -> None:
    before = client.ok("GET", JO)
    user = client.ok("PUT", JO, {"primaryEmail": "Jo.New@example.com"})
    assert user["primaryEmail"] == "jo.new@example.com"
    assert user["aliases"] == ["jo.lei@example.com", "jo@example.com"]
    assert user["id"] == before["id"] and user["etag"] != before["etag"]
    # The old address still finds the user, and is taken.
    assert client.ok("GET", JO)["primaryEmail"] == "jo.new@example.com"
    client.fails(409, "duplicate", "POST", "users", new_user("jo@example.com"))
    listed = client.ok("GET", "users", customer="my_customer")["users"]
    assert "jo.new@example.com" in emails(listed) and "jo@example.com" not in emails(listed)
    assert (
        client.ok("GET", "users", customer="my_customer", query="email:jo@example.com")["users"][0][
            "id"
        ]
        == user["id"]
    )
    # Group listings show the member's new address.
    members = client.ok("GET", "groups/" + key("eng@example.com") + "/members")["members"]
    assert "jo.new@example.com" in [m["email"] for m in members]


def test_rename_to_own_alias_is_refused_until_the_alias_is_removed(client: Client) -> None:
    # Google's knowledge base: the alias must be deleted first; the address is taken.
    message = client.fails(409, "duplicate", "PATCH", JO, {"primaryEmail": "Jo.Lei@example.com"})
    assert message == "Entity already exists."
    client.fails(409, "duplicate", "PUT", JO, {"primaryEmail": "jo.lei@example.com"})
    assert client.ok("GET", JO)["aliases"] == ["jo.lei@example.com"]
    client.ok("DELETE", JO + "/aliases/" + key("jo.lei@example.com"))
    user = client.ok("PATCH", JO, {"primaryEmail": "jo.lei@example.com"})
    assert user["primaryEmail"] == "jo.lei@example.com"
    assert user["aliases"] == ["jo@example.com"]


def test_at_most_30_aliases_and_a_rename_at_the_cap_is_refused(client: Client) -> None:
    for i in range(29):  # jo has one already
        client.ok("POST", JO + "/aliases", {"alias": f"jo{i}@example.com"})
    assert len(client.ok("GET", JO)["aliases"]) == 30
    message = client.fails(
        412, "limitExceeded", "POST", JO + "/aliases", {"alias": "one.more@example.com"}
    )
    assert "at most 30 aliases" in message
    # A rename keeps the old address as an alias: there is no room for it.
    message = client.fails(412, "limitExceeded", "PATCH", JO, {"primaryEmail": "j@example.com"})
    assert "a rename keeps the old address as one" in message
    assert client.ok("GET", JO)["primaryEmail"] == "jo@example.com"
    client.fails(404, "notFound", "GET", "users/" + key("one.more@example.com"))
    # One alias fewer, and both work.
    client.ok("DELETE", JO + "/aliases/" + key("jo0@example.com"))
    assert client.ok("PATCH", JO, {"primaryEmail": "j@example.com"})["primaryEmail"] == (
        "j@example.com"
    )


def test_rename_conflicts_and_domains(client: Client) -> None:
    client.fails(409, "duplicate", "PATCH", JO, {"primaryEmail": "admin@example.com"})
    client.fails(409, "duplicate", "PATCH", JO, {"primaryEmail": "dev@example.com"})
    client.fails(404, "notFound", "PATCH", JO, {"primaryEmail": "jo@elsewhere.com"})
    assert client.ok("PATCH", JO, {"primaryEmail": "jo@example.org"})["primaryEmail"] == (
        "jo@example.org"
    )


def test_suspend_and_unsuspend(client: Client) -> None:
    user = client.ok("PATCH", JO, {"suspended": True})
    assert user["suspended"] is True and user["suspensionReason"] == "ADMIN"
    assert client.ok("GET", "users", customer="my_customer", query="isSuspended=true")["users"]
    user = client.ok("PUT", JO, {"suspended": False})
    assert user["suspended"] is False and "suspensionReason" not in user


def test_user_suspended_for_abuse_cannot_be_unsuspended(client: Client) -> None:
    path = "users/" + key("abused@example.com")
    message = client.fails(412, "adminCannotUnsuspend", "PATCH", path, {"suspended": False})
    assert message == "Cannot restore a user suspended for abuse."
    assert client.ok("GET", path)["suspensionReason"] == "ABUSE"
    # Other changes still work.
    assert client.ok("PATCH", path, {"name": {"givenName": "Abel"}})["suspended"] is True


def test_suspended_member_shows_as_suspended(client: Client) -> None:
    client.ok("PATCH", JO, {"suspended": True})
    members = client.ok("GET", "groups/" + key("eng@example.com") + "/members")["members"]
    status = {m["email"]: m.get("status") for m in members}
    assert status["jo@example.com"] == "SUSPENDED"
    assert status["abused@example.com"] == "SUSPENDED"
    assert status["partner@outside.net"] is None  # Google lists external members without one


# ---- delete, undelete, makeAdmin, signOut ---------------------------------------------------


def test_delete_removes_memberships_and_frees_addresses(client: Client) -> None:
    group = "groups/" + key("eng@example.com")
    assert client.ok("GET", group)["directMembersCount"] == "3"
    assert client.request("DELETE", JO).status == 204
    assert client.ok("GET", group)["directMembersCount"] == "2"
    client.fails(404, "notFound", "GET", JO)
    client.fails(404, "notFound", "GET", "users/" + key("jo.lei@example.com"))
    client.ok("POST", "users", new_user("jo.lei@example.com"))


def test_undelete_by_id(client: Client) -> None:
    user = client.ok("GET", JO)
    client.ok("DELETE", JO)
    client.fails(404, "notFound", "POST", JO + "/undelete", {})  # Google wants the id
    assert (
        client.request("POST", f"users/{user['id']}/undelete", {"orgUnitPath": "/Sales"}).status
        == 204
    )
    back = client.ok("GET", JO)
    assert back["id"] == user["id"] and back["orgUnitPath"] == "/Sales"
    assert back["aliases"] == ["jo.lei@example.com"]
    assert "deletionTime" not in back
    # Memberships are not restored.
    assert client.ok("GET", "groups/" + key("eng@example.com"))["directMembersCount"] == "2"


def test_undelete_conflicts_and_bad_org_unit(client: Client) -> None:
    user = client.ok("GET", JO)
    client.ok("DELETE", JO)
    client.fails(400, "invalid", "POST", f"users/{user['id']}/undelete", {"orgUnitPath": "/No"})
    client.ok("POST", "users", new_user("jo@example.com"))
    client.fails(409, "duplicate", "POST", f"users/{user['id']}/undelete", {})


def test_deleted_users_are_kept_for_20_days() -> None:
    clock = Clock()
    client = make(clock=clock)
    uid = client.ok("GET", JO)["id"]
    client.ok("DELETE", JO)
    clock.now += 19 * 86400
    assert client.ok("GET", "users", customer="my_customer", showDeleted="true")["users"]
    clock.now += 2 * 86400
    assert "users" not in client.ok("GET", "users", customer="my_customer", showDeleted="true")
    client.fails(404, "notFound", "POST", f"users/{uid}/undelete", {})


def test_make_admin(client: Client) -> None:
    assert client.request("POST", JO + "/makeAdmin", {"status": True}).status == 204
    assert client.ok("GET", JO)["isAdmin"] is True
    client.ok("POST", JO + "/makeAdmin", {"status": False})
    assert client.ok("GET", JO)["isAdmin"] is False
    client.fails(400, "required", "POST", JO + "/makeAdmin", {})
    client.fails(400, "invalid", "POST", JO + "/makeAdmin", {"status": "yes"})


def test_sign_out(client: Client) -> None:
    response = client.request("POST", JO + "/signOut")
    assert response.status == 204 and response.body is None
    assert response.method_id == "directory.users.signOut"
    client.fails(404, "notFound", "POST", "users/" + key("x@example.com") + "/signOut")


# ---- aliases ------------------------------------------------------------------------------


def test_aliases_list_insert_delete(client: Client) -> None:
    listed = client.ok("GET", JO + "/aliases")
    assert listed["kind"] == "admin#directory#aliases"
    assert [a["alias"] for a in listed["aliases"]] == ["jo.lei@example.com"]
    alias = client.ok("POST", JO + "/aliases", {"alias": "Joey@Example.com"})
    assert alias["kind"] == "admin#directory#alias"
    assert alias["alias"] == "joey@example.com" and alias["primaryEmail"] == "jo@example.com"
    assert client.ok("GET", "users/" + key("joey@example.com"))["primaryEmail"] == "jo@example.com"
    assert client.request("DELETE", JO + "/aliases/" + key("joey@example.com")).status == 204
    client.fails(404, "notFound", "GET", "users/" + key("joey@example.com"))
    client.fails(400, "invalid", "DELETE", JO + "/aliases/" + key("joey@example.com"))
    client.ok("DELETE", JO + "/aliases/" + key("jo.lei@example.com"))
    assert "aliases" not in client.ok("GET", JO + "/aliases")


def test_alias_rules(client: Client) -> None:
    client.fails(409, "duplicate", "POST", JO + "/aliases", {"alias": "admin@example.com"})
    client.fails(409, "duplicate", "POST", JO + "/aliases", {"alias": "jo@example.com"})
    client.fails(409, "duplicate", "POST", JO + "/aliases", {"alias": "dev@example.com"})
    client.fails(404, "notFound", "POST", JO + "/aliases", {"alias": "jo@other.com"})
    client.fails(400, "invalid", "POST", JO + "/aliases", {"alias": "no at sign"})
    client.fails(400, "required", "POST", JO + "/aliases", {})


def test_a_released_address_is_held_for_the_hold(client: Client) -> None:
    """With an address hold, an alias removed (or a deleted user's address) is "already
    taken" for that long, by anyone, as Google answers while it frees the address."""
    clock = client.api.clock
    client.api.address_hold_ms = 2000
    assert client.api.address_hold_s == 2
    sam = "users/" + key("sam@example.org")
    client.ok("DELETE", JO + "/aliases/" + key("jo.lei@example.com"))
    for path, body in (
        (sam + "/aliases", {"alias": "jo.lei@example.com"}),
        (JO + "/aliases", {"alias": "jo.lei@example.com"}),
        (JO, {"primaryEmail": "jo.lei@example.com"}),
        ("users", new_user("jo.lei@example.com")),
        ("groups", {"email": "jo.lei@example.com"}),
    ):
        message = client.fails(409, "duplicate", "POST" if path != JO else "PATCH", path, body)
        assert message == "Entity already exists."
    clock.now += 1.999
    client.fails(409, "duplicate", "POST", sam + "/aliases", {"alias": "jo.lei@example.com"})
    clock.now += 0.001
    client.ok("POST", sam + "/aliases", {"alias": "jo.lei@example.com"})
    # A deleted user's addresses too; other addresses are free at once.
    client.ok("DELETE", JO)
    client.fails(409, "duplicate", "POST", "users", new_user("jo@example.com"))
    client.ok("POST", "users", new_user("kim@example.com"))
    clock.now += 2
    client.ok("POST", "users", new_user("jo@example.com"))


def test_without_a_hold_a_released_address_is_free_at_once(client: Client) -> None:
    client.ok("DELETE", JO + "/aliases/" + key("jo.lei@example.com"))
    client.ok(
        "POST", "users/" + key("sam@example.org") + "/aliases", {"alias": "jo.lei@example.com"}
    )


def test_apostrophe_in_a_key(client: Client) -> None:
    user = client.ok("POST", "users", new_user("o'brien@example.com", password=PASSWORD))
    assert client.ok("GET", "users/" + key("O'Brien@example.com"))["id"] == user["id"]
    assert client.ok("GET", "users/o%27brien%40example.com")["id"] == user["id"]
