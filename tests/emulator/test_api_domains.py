"""domains.* and domainAliases.*: the tenant's domains from its seed, read-only, in Google's
shapes (every answer is checked against the discovery document by the client)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.store import TenantStore
from reconciler.problems import InvalidInput

from .api_support import Client, make, new_user

SEED: dict[str, Any] = {
    "domains": [
        "example.com",
        {
            "domainName": "Example.ORG",
            "creationTime": "1700000000000",
            "domainAliases": [
                {"domainAliasName": "example.eu", "parentDomainName": "example.org"},
                {"domainAliasName": "pending.eu", "verified": False},
            ],
        },
        {"domainName": "unverified.net", "verified": False},
    ]
}
DOMAINS = "customer/my_customer/domains"
ALIASES = "customer/my_customer/domainaliases"


@pytest.fixture
def client() -> Client:
    return make(SEED)


def test_list_shows_every_domain_with_its_aliases(client: Client) -> None:
    listed = client.ok("GET", DOMAINS)
    assert listed["kind"] == "admin#directory#domains"
    by_name = {d["domainName"]: d for d in listed["domains"]}
    assert list(by_name) == ["example.com", "example.org", "unverified.net"]
    assert by_name["example.com"]["isPrimary"] is True
    assert "domainAliases" not in by_name["example.com"]
    org = by_name["example.org"]
    assert (org["isPrimary"], org["verified"], org["creationTime"]) == (
        False,
        True,
        "1700000000000",
    )
    assert [
        (a["domainAliasName"], a["parentDomainName"], a["verified"]) for a in org["domainAliases"]
    ] == [("example.eu", "example.org", True), ("pending.eu", "example.org", False)]
    assert by_name["unverified.net"]["verified"] is False


def test_get_a_domain_and_the_aliases(client: Client) -> None:
    assert client.ok("GET", DOMAINS + "/EXAMPLE.org")["domainName"] == "example.org"
    assert client.fails(404, "notFound", "GET", DOMAINS + "/nowhere.test") == "Domain not found."
    aliases = client.ok("GET", ALIASES)["domainAliases"]
    assert [a["domainAliasName"] for a in aliases] == ["example.eu", "pending.eu"]
    assert client.ok("GET", ALIASES, parentDomainName="example.com") == {
        "kind": "admin#directory#domainAliases",
        "etag": client.ok("GET", ALIASES, parentDomainName="example.com")["etag"],
    }
    client.fails(404, "notFound", "GET", ALIASES, parentDomainName="nowhere.test")
    assert client.ok("GET", ALIASES + "/example.eu")["parentDomainName"] == "example.org"
    client.fails(404, "notFound", "GET", ALIASES + "/example.org")


def test_another_customer_is_a_bad_request(client: Client) -> None:
    client.fails(400, "badRequest", "GET", "customer/C0other/domains")


def test_fields_selection_is_checked(client: Client) -> None:
    fields = "domains(domainName,verified,domainAliases(domainAliasName,verified))"
    listed = client.ok("GET", DOMAINS, fields=fields)
    assert listed["domains"][1] == {
        "domainName": "example.org",
        "verified": True,
        "domainAliases": [
            {"domainAliasName": "example.eu", "verified": True},
            {"domainAliasName": "pending.eu", "verified": False},
        ],
    }
    client.fails(400, "invalidParameter", "GET", DOMAINS, fields="domains(bogus)")


def test_addresses_may_use_verified_domains_and_aliases_only(client: Client) -> None:
    client.ok("POST", "users", new_user("ana@example.eu"))
    client.ok("POST", "groups", {"email": "team@example.org", "aliases": []})
    for address in ("bo@unverified.net", "bo@pending.eu", "bo@nowhere.test"):
        message = client.fails(404, "notFound", "POST", "users", new_user(address))
        assert message == "Domain not found."


def test_plain_names_still_work_and_save_as_names(tmp_path: Path) -> None:
    store = TenantStore(seed={"domains": ["Acme.test", "acme.example"]})
    assert store.snapshot()["domains"] == ["acme.test", "acme.example"]
    listed = make({"domains": ["acme.test"]}).ok("GET", DOMAINS)["domains"]
    assert [(d["domainName"], d["isPrimary"], d["verified"]) for d in listed] == [
        ("acme.test", True, True)
    ]


def test_domain_resources_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    first = make(SEED, state=state)
    first.ok("POST", "users", new_user("ana@example.eu"))  # a write: the state file exists
    first.api.store.close()
    again = TenantStore(seed=None, state=state)
    try:
        saved = again.snapshot()["domains"]
    finally:
        again.close()
    assert saved[0] == "example.com"
    assert saved[1]["domainName"] == "example.org"
    assert [a["domainAliasName"] for a in saved[1]["domainAliases"]] == ["example.eu", "pending.eu"]
    assert saved[2] == {
        "domainName": "unverified.net",
        "isPrimary": False,
        "verified": False,
        "domainAliases": [],
    }


def test_a_snapshot_is_a_seed_of_the_same_domains() -> None:
    doc = TenantStore(seed=SEED).snapshot()
    assert TenantStore(seed=doc).snapshot() == doc


def test_a_domain_marked_primary_wins_over_the_first() -> None:
    seed = {"domains": ["example.com", {"domainName": "example.org", "isPrimary": True}]}
    listed = make(seed).ok("GET", DOMAINS)["domains"]
    assert [d["isPrimary"] for d in listed] == [False, True]
    saved = TenantStore(seed=seed).snapshot()["domains"]
    assert [d["isPrimary"] for d in saved] == [False, True]
    assert make({"domains": saved}).ok("GET", DOMAINS + "/example.org")["isPrimary"] is True


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ([{"domainName": "a.test", "bogus": 1}], "unknown field 'bogus'"),
        ([{"verified": True}], "domainName: expected a domain name"),
        ([{"domainName": "a.test", "verified": "yes"}], "verified: expected true or false"),
        (["a.test", {"domainName": "a.test"}], "listed twice: a.test"),
        (
            [{"domainName": "a.test", "domainAliases": [{"domainAliasName": "a.test"}]}],
            "listed twice: a.test",
        ),
        (
            [
                {
                    "domainName": "a.test",
                    "domainAliases": [{"domainAliasName": "b.test", "parentDomainName": "c.test"}],
                }
            ],
            "parentDomainName c.test is not a.test",
        ),
        (
            [
                {"domainName": "a.test", "isPrimary": True},
                {"domainName": "b.test", "isPrimary": True},
            ],
            "only one domain can be primary",
        ),
        ([{"domainName": "a.test", "creationTime": "yesterday"}], "epoch milliseconds"),
        ([7], "expected a domain name or a Domains resource"),
    ],
)
def test_bad_domain_entries_are_located_problems(domains: list[Any], message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed={"domains": domains})
    assert message in str(caught.value)
