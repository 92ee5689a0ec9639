"""groups.*, groups.aliases.* and members.* through DirectoryApi.call."""

from __future__ import annotations

import pytest

from .api_support import Client, key, make, new_user

ENG = "groups/" + key("eng@example.com")
ALL = "groups/" + key("all@example.com")


@pytest.fixture
def client() -> Client:
    return make()


def group_emails(groups: list[dict]) -> list[str]:
    return [g["email"] for g in groups]


def member_emails(members: list[dict]) -> list[str]:
    return sorted(m.get("email", m["id"]) for m in members)


# ---- groups -------------------------------------------------------------------------------


def test_group_resource(client: Client) -> None:
    group = client.ok("GET", ENG)
    assert group["kind"] == "admin#directory#group"
    assert group["directMembersCount"] == "3"  # a string, as Google sends it
    assert group["aliases"] == ["dev@example.com"]
    assert group["name"] == "Engineering" and group["description"] == ""
    assert group["adminCreated"] is True
    assert client.ok("GET", "groups/" + key("DEV@example.com"))["id"] == group["id"]
    assert client.ok("GET", "groups/" + group["id"])["email"] == "eng@example.com"


def test_group_keys_name_groups_only(client: Client) -> None:
    assert client.fails(404, "notFound", "GET", "groups/" + key("jo@example.com")) == (
        "Resource Not Found: groupKey"
    )
    client.fails(404, "notFound", "GET", "users/" + key("eng@example.com"))


def test_list_groups(client: Client) -> None:
    page = client.ok("GET", "groups", customer="my_customer")
    assert page["kind"] == "admin#directory#groups"
    assert group_emails(page["groups"]) == ["all@example.com", "eng@example.com"]
    assert group_emails(client.ok("GET", "groups", domain="example.com")["groups"]) == [
        "all@example.com",
        "eng@example.com",
    ]
    assert "groups" not in client.ok("GET", "groups", domain="example.org")
    client.fails(400, "badRequest", "GET", "groups")
    client.fails(404, "notFound", "GET", "groups", domain="other.com")
    client.fails(
        400, "badRequest", "GET", "groups", customer="my_customer", userKey="jo@example.com"
    )


def test_list_groups_of_a_member(client: Client) -> None:
    assert group_emails(client.ok("GET", "groups", userKey="jo@example.com")["groups"]) == [
        "eng@example.com"
    ]
    assert group_emails(client.ok("GET", "groups", userKey="eng@example.com")["groups"]) == [
        "all@example.com"
    ]
    assert group_emails(client.ok("GET", "groups", userKey="partner@outside.net")["groups"]) == [
        "eng@example.com"
    ]
    assert "groups" not in client.ok("GET", "groups", userKey="admin@example.com")
    assert "groups" not in client.ok("GET", "groups", userKey="stranger@outside.net")
    client.fails(404, "notFound", "GET", "groups", userKey="ghost@example.com")


def test_list_groups_query(client: Client) -> None:
    found = client.ok("GET", "groups", customer="my_customer", query="memberKey=jo@example.com")
    assert group_emails(found["groups"]) == ["eng@example.com"]
    found = client.ok("GET", "groups", customer="my_customer", query="email:dev@example.com")
    assert group_emails(found["groups"]) == ["eng@example.com"]
    found = client.ok("GET", "groups", customer="my_customer", query="name:'Engineering'")
    assert group_emails(found["groups"]) == ["eng@example.com"]
    client.fails(400, "invalid", "GET", "groups", customer="my_customer", query="owner=x")


def test_group_paging_caps_max_results_at_200(client: Client) -> None:
    for i in range(205):
        client.ok("POST", "groups", {"email": f"g{i:03d}@example.com"})
    page = client.ok("GET", "groups", customer="my_customer", maxResults=500)
    assert len(page["groups"]) == 200 and page["nextPageToken"]
    everything = client.list_all("groups", "groups", customer="my_customer", maxResults=60)
    assert len(everything) == 207
    client.fails(400, "invalid", "GET", "groups", customer="my_customer", maxResults=0)


def test_insert_group(client: Client) -> None:
    group = client.ok("POST", "groups", {"email": "Ops@Example.com", "description": "Ops"})
    assert group["email"] == "ops@example.com" and group["name"] == "ops"
    assert group["directMembersCount"] == "0" and group["description"] == "Ops"
    assert client.fails(400, "required", "POST", "groups", {"name": "x"}) == (
        "Missing required field: email"
    )
    client.fails(409, "duplicate", "POST", "groups", {"email": "jo@example.com"})
    client.fails(409, "duplicate", "POST", "groups", {"email": "jo.lei@example.com"})
    client.fails(409, "duplicate", "POST", "groups", {"email": "dev@example.com"})
    client.fails(404, "notFound", "POST", "groups", {"email": "x@other.com"})
    client.fails(400, "invalid", "POST", "groups", {"email": "g@example.com", "name": "x" * 74})
    client.fails(
        400, "invalid", "POST", "groups", {"email": "g@example.com", "description": "x" * 4097}
    )


def test_update_and_patch_group(client: Client) -> None:
    before = client.ok("GET", ENG)
    patched = client.ok("PATCH", ENG, {"description": "All engineers"})
    assert patched["description"] == "All engineers" and patched["name"] == "Engineering"
    assert patched["etag"] != before["etag"]
    updated = client.ok("PUT", ENG, {"name": "Eng"})
    assert updated["name"] == "Eng" and updated["description"] == "All engineers"


def test_rename_group_keeps_old_address(client: Client) -> None:
    renamed = client.ok("PATCH", ENG, {"email": "engineering@example.com"})
    assert renamed["email"] == "engineering@example.com"
    assert renamed["aliases"] == ["dev@example.com", "eng@example.com"]
    assert client.ok("GET", ENG)["email"] == "engineering@example.com"
    members = client.ok("GET", ALL + "/members")["members"]
    assert member_emails(members) == ["engineering@example.com"]


def test_rename_group_to_own_alias_is_refused_until_the_alias_is_removed(client: Client) -> None:
    client.fails(409, "duplicate", "PATCH", ENG, {"email": "dev@example.com"})
    client.ok("DELETE", ENG + "/aliases/" + key("dev@example.com"))
    renamed = client.ok("PATCH", ENG, {"email": "dev@example.com"})
    assert renamed["email"] == "dev@example.com" and renamed["aliases"] == ["eng@example.com"]


def test_at_most_30_group_aliases(client: Client) -> None:
    for i in range(29):  # eng has one already
        client.ok("POST", ENG + "/aliases", {"alias": f"eng{i}@example.com"})
    message = client.fails(
        412, "limitExceeded", "POST", ENG + "/aliases", {"alias": "one.more@example.com"}
    )
    assert "a group can have at most 30 aliases" in message
    client.fails(412, "limitExceeded", "PATCH", ENG, {"email": "engineering@example.com"})
    assert client.ok("GET", ENG)["email"] == "eng@example.com"


def test_a_deleted_groups_addresses_are_held(client: Client) -> None:
    client.api.address_hold_ms = 1000
    client.ok("DELETE", ENG)
    client.fails(409, "duplicate", "POST", "groups", {"email": "dev@example.com"})
    client.api.clock.now += 1
    client.ok("POST", "groups", {"email": "dev@example.com"})


def test_delete_group_removes_it_from_other_groups(client: Client) -> None:
    assert client.ok("GET", ALL)["directMembersCount"] == "1"
    assert client.request("DELETE", ENG).status == 204
    client.fails(404, "notFound", "GET", ENG)
    client.fails(404, "notFound", "GET", "groups/" + key("dev@example.com"))
    assert client.ok("GET", ALL)["directMembersCount"] == "0"
    assert "groups" not in client.ok("GET", "groups", userKey="jo@example.com")
    client.ok("POST", "groups", {"email": "dev@example.com"})


def test_group_aliases(client: Client) -> None:
    listed = client.ok("GET", ENG + "/aliases")
    assert [a["alias"] for a in listed["aliases"]] == ["dev@example.com"]
    alias = client.ok("POST", ENG + "/aliases", {"alias": "devs@example.com"})
    assert alias["primaryEmail"] == "eng@example.com" and alias["id"] == client.ok("GET", ENG)["id"]
    client.fails(409, "duplicate", "POST", ENG + "/aliases", {"alias": "jo@example.com"})
    client.fails(409, "duplicate", "POST", ALL + "/aliases", {"alias": "devs@example.com"})
    assert client.request("DELETE", ENG + "/aliases/" + key("devs@example.com")).status == 204
    # Not an alias (any more): Google's 400 "Invalid Input: resource_id", not a 404.
    message = client.fails(400, "invalid", "DELETE", ENG + "/aliases/" + key("devs@example.com"))
    assert message == "Invalid Input: resource_id"


# ---- members ------------------------------------------------------------------------------


def test_list_members_types_and_roles(client: Client) -> None:
    page = client.ok("GET", ENG + "/members")
    assert page["kind"] == "admin#directory#members"
    by_email = {m["email"]: m for m in page["members"]}
    assert by_email["jo@example.com"]["type"] == "USER"
    assert by_email["jo@example.com"]["role"] == "OWNER"
    assert by_email["partner@outside.net"]["type"] == "EXTERNAL"
    assert all(m["kind"] == "admin#directory#member" and m["id"] for m in page["members"])
    assert all("delivery_settings" not in m for m in page["members"])
    owners = client.ok("GET", ENG + "/members", roles="OWNER")["members"]
    assert member_emails(owners) == ["jo@example.com"]
    two = client.ok("GET", ENG + "/members", roles="owner,MEMBER")["members"]
    assert len(two) == 3
    client.fails(400, "invalid", "GET", ENG + "/members", roles="BOSS")
    nested = client.ok("GET", ALL + "/members")["members"]
    assert nested[0]["type"] == "GROUP" and nested[0]["email"] == "eng@example.com"


def test_list_members_pages(client: Client) -> None:
    for i in range(12):
        client.ok("POST", ENG + "/members", {"email": f"ext{i}@outside.net"})
    page = client.ok("GET", ENG + "/members", maxResults=5)
    assert len(page["members"]) == 5 and page["nextPageToken"]
    everyone = client.list_all(ENG + "/members", "members", maxResults=5)
    assert len(everyone) == 15 == int(client.ok("GET", ENG)["directMembersCount"])
    assert len({m["id"] for m in everyone}) == 15
    assert len(client.ok("GET", ENG + "/members", maxResults=1000)["members"]) == 15


def test_list_derived_membership(client: Client) -> None:
    derived = client.ok("GET", ALL + "/members", includeDerivedMembership="true")["members"]
    assert member_emails(derived) == [
        "abused@example.com",
        "eng@example.com",
        "jo@example.com",
        "partner@outside.net",
    ]


def test_empty_group_listing_has_no_members_key(client: Client) -> None:
    client.ok("POST", "groups", {"email": "empty@example.com"})
    page = client.ok("GET", "groups/" + key("empty@example.com") + "/members")
    assert set(page) == {"kind", "etag"}


def test_get_member(client: Client) -> None:
    member = client.ok("GET", ENG + "/members/" + key("jo@example.com"))
    assert member["delivery_settings"] == "ALL_MAIL" and member["role"] == "OWNER"
    by_alias = client.ok("GET", ENG + "/members/" + key("jo.lei@example.com"))
    by_id = client.ok("GET", ENG + "/members/" + member["id"])
    assert by_alias["id"] == by_id["id"] == member["id"]
    external = client.ok("GET", ENG + "/members/" + key("Partner@Outside.net"))
    assert external["type"] == "EXTERNAL"
    assert client.fails(404, "notFound", "GET", ENG + "/members/" + key("admin@example.com")) == (
        "Resource Not Found: memberKey"
    )


def test_insert_members(client: Client) -> None:
    user = client.ok("POST", ENG + "/members", {"email": "ADMIN@example.com", "role": "MANAGER"})
    assert user["email"] == "admin@example.com" and user["type"] == "USER"
    assert user["role"] == "MANAGER" and user["status"] == "ACTIVE"
    by_alias = client.ok("POST", ALL + "/members", {"email": "jo.lei@example.com"})
    assert by_alias["email"] == "jo@example.com" and by_alias["role"] == "MEMBER"
    external = client.ok("POST", ENG + "/members", {"email": "x+tag@Partner.org"})
    assert external["type"] == "EXTERNAL" and external["email"] == "x+tag@partner.org"
    assert client.ok("GET", ENG + "/members/" + key("x+tag@partner.org"))["id"] == external["id"]
    customer_id = client.ok("GET", "users/" + key("jo@example.com"))["customerId"]
    everyone = client.ok("POST", ALL + "/members", {"id": customer_id, "role": "MEMBER"})
    assert everyone["type"] == "CUSTOMER" and "email" not in everyone
    assert client.ok("GET", ENG)["directMembersCount"] == "5"


def test_insert_member_errors(client: Client) -> None:
    assert client.fails(
        409, "duplicate", "POST", ENG + "/members", {"email": "jo.lei@example.com"}
    ) == ("Member already exists.")
    client.fails(404, "notFound", "POST", ENG + "/members", {"email": "ghost@example.com"})
    client.fails(400, "required", "POST", ENG + "/members", {"role": "MEMBER"})
    client.fails(400, "invalid", "POST", ENG + "/members", {"email": "a@b.c", "role": "BOSS"})
    client.fails(404, "notFound", "POST", "groups/" + key("no@example.com") + "/members", {})


def test_cyclic_memberships_are_refused(client: Client) -> None:
    message = client.fails(
        412, "conditionNotMet", "POST", ENG + "/members", {"email": "all@example.com"}
    )
    assert message == "Cyclic memberships not allowed"
    client.fails(412, "conditionNotMet", "POST", ENG + "/members", {"email": "eng@example.com"})


def test_update_and_patch_member(client: Client) -> None:
    path = ENG + "/members/" + key("jo@example.com")
    member = client.ok("PATCH", path, {"role": "MANAGER"})
    assert member["role"] == "MANAGER"
    member = client.ok("PUT", path, {"delivery_settings": "DIGEST"})
    assert member["role"] == "MANAGER" and member["delivery_settings"] == "DIGEST"
    client.fails(400, "invalid", "PATCH", path, {"role": "KING"})
    client.fails(400, "invalid", "PATCH", path, {"delivery_settings": "SOMETIMES"})
    client.fails(404, "notFound", "PUT", ENG + "/members/" + key("admin@example.com"), {})


def test_delete_member(client: Client) -> None:
    path = ENG + "/members/" + key("partner@outside.net")
    assert client.request("DELETE", path).status == 204
    assert client.ok("GET", ENG)["directMembersCount"] == "2"
    client.fails(404, "notFound", "DELETE", path)  # an address known to nothing any more
    assert "groups" not in client.ok("GET", "groups", userKey="partner@outside.net")
    # A user (or group) that is simply not a member: Google's 400, as GAM meets it.
    message = client.fails(400, "required", "DELETE", ENG + "/members/" + key("sam@example.org"))
    assert message == "Missing required field: memberKey"
    client.fails(400, "required", "DELETE", ENG + "/members/" + key("all@example.com"))
    client.fails(404, "notFound", "DELETE", ENG + "/members/" + key("nobody@example.com"))


def test_has_member_direct_and_nested(client: Client) -> None:
    def has(group: str, member: str) -> bool:
        return client.ok("GET", f"{group}/hasMember/{key(member)}")["isMember"]

    assert has(ENG, "jo@example.com") is True
    assert has(ENG, "jo.lei@example.com") is True
    assert has(ALL, "jo@example.com") is True  # through eng@
    assert has(ALL, "admin@example.com") is False
    assert has(ENG, "partner@outside.net") is True
    assert has(ENG, "stranger@outside.net") is False
    client.fails(400, "invalid", "GET", f"{ALL}/hasMember/{key('partner@outside.net')}")
    client.fails(404, "notFound", "GET", f"{ALL}/hasMember/{key('ghost@example.com')}")


def test_member_keys_follow_user_changes(client: Client) -> None:
    client.ok("POST", "users", new_user("new.one@example.com"))
    client.ok("POST", ENG + "/members", {"email": "new.one@example.com"})
    client.ok("DELETE", "users/" + key("new.one@example.com"))
    emails = member_emails(client.ok("GET", ENG + "/members")["members"])
    assert "new.one@example.com" not in emails
