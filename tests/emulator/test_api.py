"""DirectoryApi as a whole: routing, errors, fields, consistency delay, short reads."""

from __future__ import annotations

import re
import threading

import pytest

from reconciler.emulator.api import DATATRANSFER, SERVICES, SHORT_LISTING_COLLECTIONS

from .api_support import EXAMPLE_SEED, Client, Clock, key, make, new_user
from .discovery_check import methods

JO = "users/" + key("jo@example.com")
ENG = "groups/" + key("eng@example.com")


@pytest.fixture
def client() -> Client:
    return make()


# ---- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "method_id"),
    [
        ("GET", "users", "directory.users.list"),
        ("POST", "users", "directory.users.insert"),
        ("GET", "users/jo%40example.com", "directory.users.get"),
        ("PUT", "users/1", "directory.users.update"),
        ("PATCH", "users/1", "directory.users.patch"),
        ("DELETE", "users/1", "directory.users.delete"),
        ("POST", "users/1/makeAdmin", "directory.users.makeAdmin"),
        ("POST", "users/1/signOut", "directory.users.signOut"),
        ("POST", "users/1/undelete", "directory.users.undelete"),
        ("GET", "users/1/aliases", "directory.users.aliases.list"),
        ("POST", "users/1/aliases", "directory.users.aliases.insert"),
        ("DELETE", "users/1/aliases/a%40b.c", "directory.users.aliases.delete"),
        ("GET", "groups", "directory.groups.list"),
        ("POST", "groups", "directory.groups.insert"),
        ("GET", "groups/g", "directory.groups.get"),
        ("PUT", "groups/g", "directory.groups.update"),
        ("PATCH", "groups/g", "directory.groups.patch"),
        ("DELETE", "groups/g", "directory.groups.delete"),
        ("GET", "groups/g/aliases", "directory.groups.aliases.list"),
        ("POST", "groups/g/aliases", "directory.groups.aliases.insert"),
        ("DELETE", "groups/g/aliases/a", "directory.groups.aliases.delete"),
        ("GET", "groups/g/members", "directory.members.list"),
        ("POST", "groups/g/members", "directory.members.insert"),
        ("GET", "groups/g/members/m", "directory.members.get"),
        ("PUT", "groups/g/members/m", "directory.members.update"),
        ("PATCH", "groups/g/members/m", "directory.members.patch"),
        ("DELETE", "groups/g/members/m", "directory.members.delete"),
        ("GET", "groups/g/hasMember/m", "directory.members.hasMember"),
        ("GET", "customer/my_customer/orgunits", "directory.orgunits.list"),
        ("POST", "customer/my_customer/orgunits", "directory.orgunits.insert"),
        ("GET", "customer/my_customer/orgunits/a/b", "directory.orgunits.get"),
        ("PUT", "customer/my_customer/orgunits/a", "directory.orgunits.update"),
        ("PATCH", "customer/my_customer/orgunits/a", "directory.orgunits.patch"),
        ("DELETE", "customer/my_customer/orgunits/a", "directory.orgunits.delete"),
        ("GET", "customer/my_customer/schemas", "directory.schemas.list"),
        ("POST", "customer/my_customer/schemas", "directory.schemas.insert"),
        ("GET", "customer/my_customer/schemas/s", "directory.schemas.get"),
        ("PUT", "customer/my_customer/schemas/s", "directory.schemas.update"),
        ("PATCH", "customer/my_customer/schemas/s", "directory.schemas.patch"),
        ("DELETE", "customer/my_customer/schemas/s", "directory.schemas.delete"),
        ("GET", "customer/my_customer/domains", "directory.domains.list"),
        ("GET", "customer/my_customer/domains/example.com", "directory.domains.get"),
        ("GET", "customer/my_customer/domainaliases", "directory.domainAliases.list"),
        ("GET", "customer/my_customer/domainaliases/a.example", "directory.domainAliases.get"),
        ("GET", "users/1/tokens", "directory.tokens.list"),
        ("GET", "users/1/tokens/c.apps", "directory.tokens.get"),
        ("DELETE", "users/1/tokens/c.apps", "directory.tokens.delete"),
        ("GET", "users/1/asps", "directory.asps.list"),
        ("GET", "users/1/asps/7", "directory.asps.get"),
        ("DELETE", "users/1/asps/7", "directory.asps.delete"),
        ("GET", "users/1/verificationCodes", "directory.verificationCodes.list"),
        ("POST", "users/1/verificationCodes/generate", "directory.verificationCodes.generate"),
        ("POST", "users/1/verificationCodes/invalidate", "directory.verificationCodes.invalidate"),
        ("POST", "users/1/tokens", "unknown"),
        ("POST", "customer/my_customer/domains", "unknown"),  # domains are read-only here
        ("GET", "users/1/photos/thumbnail", "unknown"),
        ("PATCH", "users", "unknown"),
        ("GET", "nothing/here", "unknown"),
    ],
)
def test_method_ids(client: Client, method: str, path: str, method_id: str) -> None:
    assert client.api.method_id_for(method, path) == method_id
    assert client.api.method_id_for(method.lower(), "/" + path) == method_id
    if method_id != "unknown":
        assert method_id in methods()
        assert client.request(method, path).method_id == method_id


@pytest.mark.parametrize(
    ("method", "path", "method_id"),
    [
        ("GET", "applications", "datatransfer.applications.list"),
        ("GET", "applications/55656082996", "datatransfer.applications.get"),
        ("POST", "transfers", "datatransfer.transfers.insert"),
        ("GET", "transfers", "datatransfer.transfers.list"),
        ("GET", "transfers/abc", "datatransfer.transfers.get"),
        ("DELETE", "transfers/abc", "unknown"),
        ("GET", "users", "unknown"),  # a Directory path is no Data Transfer method
    ],
)
def test_data_transfer_method_ids(client: Client, method: str, path: str, method_id: str) -> None:
    assert client.api.method_id_for(method, path, DATATRANSFER) == method_id
    if method_id != "unknown":
        assert method_id in methods()
    assert client.api.method_id_for(method, path) != method_id or method_id == "unknown"


def test_every_method_of_the_served_resources_is_routed(client: Client) -> None:
    routed = {method_id for table in SERVICES.values() for _, _, method_id, _ in table}
    prefixes = (
        "datatransfer.",
        "licensing.",
        "directory.tokens.",
        "directory.asps.",
        "directory.verificationC",
    )
    wanted = {m for m in methods() if m.startswith(prefixes)} | {"directory.users.signOut"}
    assert wanted <= routed, sorted(wanted - routed)


def test_unknown_route_is_404(client: Client) -> None:
    response = client.api.call("GET", "users/1/photos/thumbnail", {}, None)
    assert response.status == 404 and response.method_id == "unknown"
    assert response.body["error"]["errors"][0]["reason"] == "notFound"


def test_error_shape_is_googles(client: Client) -> None:
    response = client.request("GET", "users/" + key("nobody@example.com"))
    assert response.body == {
        "error": {
            "code": 404,
            "message": "Resource Not Found: userKey",
            "errors": [
                {"domain": "global", "reason": "notFound", "message": "Resource Not Found: userKey"}
            ],
        }
    }


def test_an_internal_bug_answers_500_backend_error(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(call: object) -> None:
        raise RuntimeError("boom")

    route = ("GET", re.compile("users"), "directory.users.list", broken)
    monkeypatch.setattr("reconciler.emulator.api._COMPILED", {"directory": [route]})
    response = client.api.call("GET", "users", {}, None)
    assert response.status == 500 and response.method_id == "directory.users.list"
    assert response.body["error"]["errors"][0]["reason"] == "backendError"


# ---- fields -------------------------------------------------------------------------------


def test_fields_nested_selection(client: Client) -> None:
    page = client.ok(
        "GET",
        "users",
        customer="my_customer",
        maxResults=2,
        fields="users(primaryEmail,name/givenName),nextPageToken",
    )
    assert set(page) == {"users", "nextPageToken"}
    assert page["users"][0] == {"primaryEmail": "abused@example.com", "name": {"givenName": "Abe"}}


def test_fields_on_get_and_write(client: Client) -> None:
    assert client.ok("GET", JO, fields="id,aliases") == {
        "id": client.ok("GET", JO)["id"],
        "aliases": ["jo.lei@example.com"],
    }
    created = client.ok("POST", "users", new_user("f@example.com"), fields="primaryEmail")
    assert created == {"primaryEmail": "f@example.com"}
    custom = client.ok("GET", JO, projection="full", fields="customSchemas/Reconciler/ownershipId")
    assert custom == {"customSchemas": {"Reconciler": {"ownershipId": "acme/identity"}}}
    members = client.ok("GET", ENG + "/members", fields="members(email,type)")
    assert all(set(m) == {"email", "type"} for m in members["members"])


def test_bad_fields_are_rejected_before_any_write(client: Client) -> None:
    response = client.request("POST", "users", new_user("f@example.com"), fields="users(")
    assert response.status == 400
    assert response.body["error"]["errors"][0]["reason"] == "invalidParameter"
    client.fails(404, "notFound", "GET", "users/" + key("f@example.com"))


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        (JO, {"fields": "nope"}, "nope"),
        (JO, {"fields": "id,name/middleName"}, "middleName"),
        (JO, {"fields": "primaryEmail/local"}, "local"),  # a plain value has no fields
        ("users", {"customer": "my_customer", "fields": "users(primaryEmail,bogus)"}, "bogus"),
        ("users", {"customer": "my_customer", "fields": "nextPageToken,user"}, "user"),
        (ENG + "/members", {"fields": "members(email,address)"}, "address"),
        (ENG + "/hasMember/" + key("jo@example.com"), {"fields": "member"}, "member"),
        ("customer/my_customer/orgunits", {"fields": "orgunits"}, "orgunits"),
    ],
)
def test_unknown_field_names_are_refused(client: Client, path: str, query: dict, name: str) -> None:
    message = client.fails(400, "invalidParameter", "GET", path, **query)
    assert message == f"Invalid field selection {name}"


def test_field_names_follow_the_response_schema(client: Client) -> None:
    # Free-form values (customSchemas, type "any" such as emails) accept any name below them.
    got = client.ok(
        "GET",
        JO,
        projection="full",
        fields="kind,name(*),customSchemas/Reconciler/undeclared,emails(address),organizations",
    )
    assert got["kind"] == "admin#directory#user" and got["name"]["givenName"] == "Jo"
    assert "undeclared" not in got.get("customSchemas", {}).get("Reconciler", {})
    page = client.ok("GET", "users", customer="my_customer", fields="users/customSchemas,etag")
    assert set(page) <= {"users", "etag"}
    client.ok("DELETE", ENG + "/members/" + key("jo@example.com"), fields="anything")  # no body


def test_an_unknown_field_name_runs_nothing(client: Client) -> None:
    body = new_user("f@example.com")
    client.fails(400, "invalidParameter", "POST", "users", body, fields="primaryEmail,secret")
    client.fails(404, "notFound", "GET", "users/" + key("f@example.com"))


# ---- consistency delay --------------------------------------------------------------------


def test_new_user_is_not_usable_by_other_calls_for_a_while() -> None:
    clock = Clock()
    client = make(clock=clock, delay=5.0)
    created = client.ok("POST", "users", new_user("new@example.com"))
    path = "users/" + key("new@example.com")
    assert client.fails(412, "conditionNotMet", "PATCH", path, {"suspended": True}) == (
        "User creation is not complete."
    )
    client.fails(412, "conditionNotMet", "DELETE", path)
    client.fails(412, "conditionNotMet", "POST", path + "/aliases", {"alias": "n@example.com"})
    client.fails(404, "notFound", "GET", path)
    client.fails(404, "notFound", "POST", ENG + "/members", {"email": "new@example.com"})
    # Listings show it at once (our choice), and the address is taken at once.
    assert client.ok("GET", "users", customer="my_customer", query="email:new@example.com")["users"]
    client.fails(409, "duplicate", "POST", "users", new_user("new@example.com"))
    clock.now += 5.0
    assert client.ok("GET", path)["id"] == created["id"]
    client.ok("POST", ENG + "/members", {"email": "new@example.com"})


def test_new_group_is_not_found_for_a_while() -> None:
    clock = Clock()
    client = make(clock=clock, delay=2.0)
    client.ok("POST", "groups", {"email": "new@example.com"})
    path = "groups/" + key("new@example.com")
    assert client.fails(
        404, "notFound", "POST", path + "/members", {"email": "jo@example.com"}
    ) == ("Resource Not Found: groupKey")
    client.fails(404, "notFound", "GET", path)
    client.fails(
        404,
        "notFound",
        "POST",
        "groups/" + key("all@example.com") + "/members",
        {"email": "new@example.com"},
    )
    clock.now += 2.5
    client.ok("POST", path + "/members", {"email": "jo@example.com"})


def test_consistency_delay_in_milliseconds(client: Client) -> None:
    client.api.consistency_delay_ms = 1500
    assert client.api.consistency_delay_s == 1.5
    assert client.api.consistency_delay_ms == 1500


def test_settled_resources_are_forgotten() -> None:
    clock = Clock()
    client = make(clock=clock, delay=1.0)
    for n in range(40):
        client.ok("POST", "groups", {"email": f"g{n}@example.com"})
        clock.now += 0.5
    assert len(client.api._created_at) <= 3  # not one entry per resource ever created


def test_reset_forgets_settling_resources() -> None:
    clock = Clock()
    client = make(clock=clock, delay=60.0)
    client.ok("POST", "users", new_user("new@example.com"))
    client.api.reset()
    client.fails(404, "notFound", "GET", "users/" + key("new@example.com"))
    assert client.ok("GET", JO)["primaryEmail"] == "jo@example.com"


# ---- short reads --------------------------------------------------------------------------


def test_short_user_listing_ends_its_page_sequence_early(client: Client) -> None:
    assert len(client.list_all("users", "users", customer="my_customer", maxResults=2)) == 4
    client.api.short_listing = {"users": 1}
    short = client.list_all("users", "users", customer="my_customer", maxResults=2)
    assert [u["primaryEmail"] for u in short] == [
        "abused@example.com",
        "admin@example.com",
        "jo@example.com",
    ]
    client.api.short_listing = {"users": 10}
    assert client.list_all("users", "users", customer="my_customer") == []
    client.api.short_listing = {}
    assert len(client.list_all("users", "users", customer="my_customer")) == 4


def test_short_member_listing_is_below_direct_members_count(client: Client) -> None:
    client.api.short_listing = {"members": 1}
    members = client.list_all(ENG + "/members", "members")
    assert len(members) == 2
    assert client.ok("GET", ENG)["directMembersCount"] == "3"


def test_short_group_and_orgunit_listings(client: Client) -> None:
    client.api.short_listing = {"groups": 1, "orgunits": 1}
    assert len(client.list_all("groups", "groups", customer="my_customer")) == 1
    units = client.ok("GET", "customer/my_customer/orgunits", type="all")["organizationUnits"]
    assert len(units) == 2
    assert {"users", "groups", "members", "orgunits", "domains"} == SHORT_LISTING_COLLECTIONS


def test_short_listings_larger_than_the_collection_list_nothing(client: Client) -> None:
    client.api.short_listing = {"groups": 100, "orgunits": 100, "domains": 100}
    assert client.list_all("groups", "groups", customer="my_customer") == []
    units = client.ok("GET", "customer/my_customer/orgunits", type="all")
    assert "organizationUnits" not in units
    assert "domains" not in client.ok("GET", "customer/my_customer/domains")
    # What a listing leaves out is still there: a get by key finds it.
    assert client.ok("GET", ENG)["email"] == "eng@example.com"
    unit = client.ok("GET", "customer/my_customer/orgunits/Sales/Europe")
    assert unit["orgUnitPath"] == "/Sales/Europe"


def test_short_listing_descending(client: Client) -> None:
    client.api.short_listing = {"users": 1}
    got = client.list_all("users", "users", customer="my_customer", sortOrder="DESCENDING")
    assert [u["primaryEmail"] for u in got][-1] == "admin@example.com"


# ---- the example seed and threads ---------------------------------------------------------


def test_example_seed_answers_every_listing() -> None:
    client = make(EXAMPLE_SEED)
    users = client.list_all("users", "users", customer="my_customer", projection="full")
    assert len(users) == 20
    groups = client.list_all("groups", "groups", customer="my_customer")
    for group in groups:
        members = client.list_all(f"groups/{group['id']}/members", "members")
        assert len(members) == int(group["directMembersCount"])
    assert client.ok("GET", "groups/" + key("it@example.com"))["email"] == "helpdesk@example.com"


def test_concurrent_calls_are_serialized(client: Client) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                client.ok("POST", "users", new_user(f"t{n}x{i}@example.com"))
                client.ok("POST", ENG + "/members", {"email": f"t{n}x{i}@example.com"})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert client.ok("GET", ENG)["directMembersCount"] == "83"
    assert len(client.list_all(ENG + "/members", "members", maxResults=7)) == 83
