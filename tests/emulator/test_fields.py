"""The `fields` parser and selection, page tokens, and the discovery checker itself."""

from __future__ import annotations

import pytest

from reconciler.emulator import seed
from reconciler.emulator.errors import ApiError
from reconciler.emulator.fields import parse_fields, select
from reconciler.emulator.paging import decode_token, encode_token, take_page

from .discovery_check import assert_valid_response, error_problems, problems, schema_properties

BODY = {
    "kind": "admin#directory#users",
    "users": [
        {"primaryEmail": "a@x.com", "name": {"givenName": "A", "familyName": "B"}, "id": "1"},
        {"primaryEmail": "c@x.com", "name": {"givenName": "C", "familyName": "D"}, "id": "2"},
    ],
    "nextPageToken": "t",
}


@pytest.mark.parametrize(
    ("spec", "tree"),
    [
        ("a", {"a": None}),
        ("a,b", {"a": None, "b": None}),
        ("a/b/c", {"a": {"b": {"c": None}}}),
        ("a(b,c/d),e", {"a": {"b": None, "c": {"d": None}}, "e": None}),
        ("a/b,a/c", {"a": {"b": None, "c": None}}),
        ("a/b,a", {"a": None}),
        ("a,a/b", {"a": None}),
        ("a(b),a(c)", {"a": {"b": None, "c": None}}),
        (
            " users(primaryEmail, name/givenName) ,nextPageToken",
            {
                "users": {"primaryEmail": None, "name": {"givenName": None}},
                "nextPageToken": None,
            },
        ),
        ("*", {"*": None}),
        ("delivery_settings", {"delivery_settings": None}),
    ],
)
def test_parse(spec: str, tree: dict) -> None:
    assert parse_fields(spec) == tree


@pytest.mark.parametrize("spec", ["", "a,", ",a", "a(", "a()", "a)", "a//b", "a(b", "a b", "a/"])
def test_parse_errors(spec: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_fields(spec)
    assert caught.value.code == 400 and caught.value.reason == "invalidParameter"


def test_select_nested_lists_and_absent_names() -> None:
    picked = select(BODY, parse_fields("users(primaryEmail,name/givenName),nextPageToken,nope"))
    assert picked == {
        "users": [
            {"primaryEmail": "a@x.com", "name": {"givenName": "A"}},
            {"primaryEmail": "c@x.com", "name": {"givenName": "C"}},
        ],
        "nextPageToken": "t",
    }
    assert select(BODY, parse_fields("*")) == BODY
    assert select(BODY, parse_fields("users/id")) == {"users": [{"id": "1"}, {"id": "2"}]}


def test_page_tokens_round_trip_and_refuse_other_listings() -> None:
    token = encode_token("abc", ("smith", "a@x.com"))
    assert decode_token(token, "abc") == ("smith", "a@x.com")
    assert decode_token(None, "abc") is None
    for bad in (token, "%%%", encode_token("abc", "x")[:-3]):
        with pytest.raises(ApiError):
            decode_token(bad, "other")


def test_take_page() -> None:
    keys = ["a", "b", "c", "d", "e"]
    assert take_page(keys, None, 2) == (["a", "b"], "b")
    assert take_page(keys, "b", 2) == (["c", "d"], "d")
    assert take_page(keys, "d", 2) == (["e"], None)
    assert take_page(keys, "bb", 10) == (["c", "d", "e"], None)  # cursor key since deleted
    assert take_page(keys, None, 2, lambda k: k in "ace") == (["a", "c"], "c")
    assert take_page(keys, "c", 2, lambda k: k in "ace") == (["e"], None)
    assert take_page(keys, None, 2, descending=True) == (["e", "d"], "d")
    assert take_page(keys, "d", 5, descending=True) == (["c", "b", "a"], None)


# ---- the discovery checker ------------------------------------------------------------------


def test_checker_catches_wrong_shapes() -> None:
    assert problems({"kind": "admin#directory#group", "directMembersCount": 3}, "Group")
    assert problems({"kind": "admin#directory#user", "bogus": 1}, "User")
    assert problems({"kind": "admin#directory#member"}, "User")  # wrong kind
    assert problems({"suspended": "no"}, "User")
    assert problems({"creationTime": "yesterday"}, "User")
    assert problems({"users": [{"name": {"nickName": "x"}}]}, "Users")
    assert problems({"customSchemas": {"S": {"f": [1, {"a": 2}]}}}, "User") == []
    assert problems({"directMembersCount": "3", "aliases": ["a@x.com"]}, "Group") == []
    with pytest.raises(AssertionError):
        assert_valid_response("directory.users.delete", 204, {"unexpected": True})
    with pytest.raises(AssertionError):
        assert_valid_response("directory.users.get", 200, None)
    assert error_problems(404, {"error": {"code": 500, "message": "", "errors": []}})


def test_seed_field_names_match_the_discovery_document() -> None:
    assert schema_properties("User") == seed.USER_KEYS
    assert seed.GROUP_KEYS - {"members", "settings"} == schema_properties("Group")
    assert schema_properties("Member") == seed.MEMBER_KEYS
    assert schema_properties("OrgUnit") == seed.ORGUNIT_KEYS
    assert schema_properties("Schema") == seed.SCHEMA_KEYS
