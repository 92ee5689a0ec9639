"""The tool's Licensing API client against the emulator: its scope only when licenses are
configured, reading every assignment of a product through its pages, and assign, reassign
and revoke, idempotent and never retried into a loop."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httplib2
import pytest
from conftest import connect as shared_connect
from conftest import start_emulator, stats

from reconciler.google import licensing
from reconciler.google.client import LICENSING, Call, GoogleClient, Outcome
from reconciler.google.credentials import SCOPE_ROOT, scopes
from reconciler.google.fetch import ShortReadError

APPS = "Google-Apps"
STANDARD, PLUS = "1010020028", "1010020025"
ADMIN = "admin@example.com"
MANY = [f"user{n:03d}@example.com" for n in range(130)]


def person(email: str) -> dict[str, Any]:
    return {"primaryEmail": email, "name": {"givenName": "A", "familyName": "B"}}


# The Licensing API takes the customer's id (not the Directory's `my_customer`).
CUSTOMER_ID = "C03az79cb"
SEED: dict[str, Any] = {
    "customerId": CUSTOMER_ID,
    "domains": ["example.com"],
    "users": [
        {**person(ADMIN), "isAdmin": True},
        person("ana@example.com"),
        person("bob@example.com"),
        *(person(e) for e in MANY),
    ],
    "licenses": {
        "seats": {"business-standard": 130, "business-plus": 2},
        "assigned": {ADMIN: "business-plus", **{e: "business-standard" for e in MANY[:125]}},
    },
}


@pytest.fixture
def emulator():
    server = start_emulator(copy.deepcopy(SEED))
    yield server
    server.stop()


def connect(server: Any, root: Path, *, licenses: bool = True, read_only: bool = False):
    return shared_connect(server, root, read_only=read_only, licenses=licenses, admin_subject=ADMIN)


def assign(client: GoogleClient, *args: str) -> Outcome:
    return client.licenses.execute(licensing.assign_call(client, *args))


def reassign(client: GoogleClient, *args: str) -> Outcome:
    return client.licenses.execute(licensing.reassign_call(client, *args))


def revoke(client: GoogleClient, *args: str) -> Outcome:
    return client.licenses.execute(licensing.revoke_call(client, *args))


@pytest.fixture
def client(emulator, tmp_path: Path) -> GoogleClient:
    return connect(emulator, tmp_path)


def test_the_scope_is_asked_for_only_when_licenses_are_configured(emulator, tmp_path: Path):
    scope = SCOPE_ROOT + "apps.licensing"
    assert scope not in scopes(read_only=False) and scope not in scopes(True, True)
    assert scopes(read_only=True, licenses=True)[-1] == scope  # no read-only one exists
    without = connect(emulator, tmp_path, licenses=False)
    request = without.licensing.licenseAssignments().listForProduct(
        productId=APPS, customerId=CUSTOMER_ID
    )
    outcome = without.licenses.execute(Call(request, "listForProduct"))
    assert (outcome.ok, outcome.status, outcome.reason) == (
        False,
        403,
        "insufficientPermissions",
    )
    with_it = connect(emulator, tmp_path, read_only=True)
    assert licensing.list_assignments(with_it, APPS, CUSTOMER_ID)[ADMIN] == PLUS
    assert stats(emulator)["token_scopes"][scope] == 1


def test_the_service_is_built_on_first_use_from_the_bundled_document(emulator, client):
    assert LICENSING not in client._services
    service = client.licensing
    assert client.licensing is service and client.licenses.service is service
    assert service.new_batch_http_request()._batch_uri == emulator.base_url + "/batch"
    google = GoogleClient(None, httplib2.Http()).licensing  # no endpoint: Google itself
    request = google.licenseAssignments().get(productId=APPS, skuId=STANDARD, userId=ADMIN)
    assert request.uri.startswith("https://licensing.googleapis.com/apps/licensing/v1/product/")
    assert client.licenses.stats is client.stats and client.licenses.pacer is client.pacer


def test_every_assignment_is_read_through_every_page(emulator, client):
    found = licensing.list_assignments(client, APPS, CUSTOMER_ID)
    assert found == {ADMIN: PLUS, **{e: STANDARD for e in MANY[:125]}}
    # 126 assignments at most 100 a page: two pages, whatever maxResults asked for.
    assert stats(emulator)["by_method"]["licensing.licenseAssignments.listForProduct"] == 2


def test_assign_reassign_revoke(emulator, client):
    outcome = assign(client, APPS, STANDARD, "Ana@Example.com")
    assert outcome.ok and outcome.body["userId"] == "ana@example.com"
    outcome = reassign(client, APPS, STANDARD, PLUS, "ana@example.com")
    assert outcome.ok and outcome.body["skuId"] == PLUS
    assert licensing.list_assignments(client, APPS, CUSTOMER_ID)["ana@example.com"] == PLUS
    outcome = revoke(client, APPS, PLUS, "ana@example.com")
    assert outcome.ok and outcome.note is None
    assert "ana@example.com" not in licensing.list_assignments(client, APPS, CUSTOMER_ID)


def test_writes_already_done_count_as_done(client):
    assert assign(client, APPS, STANDARD, "bob@example.com").ok
    again = assign(client, APPS, STANDARD, "bob@example.com")
    assert (again.ok, again.status, again.note) == (True, 409, "holds it already")
    assert reassign(client, APPS, STANDARD, PLUS, "bob@example.com").ok
    moved = reassign(client, APPS, STANDARD, PLUS, "bob@example.com")
    assert (moved.ok, moved.status, moved.note) == (True, 404, "holds the new SKU already")
    assert revoke(client, APPS, PLUS, "bob@example.com").ok
    gone = revoke(client, APPS, PLUS, "bob@example.com")
    assert (gone.ok, gone.note) == (True, "already gone")


def test_real_refusals_fail_and_are_not_taken_for_done(client):
    # Another SKU of the product: 409, but the user does not hold the one asked for.
    other = assign(client, APPS, STANDARD, ADMIN)
    assert (other.ok, other.status) == (False, 409)
    # Both Business Plus seats taken: the no-seats refusal, not retried.
    assert assign(client, APPS, PLUS, "bob@example.com").ok
    full = reassign(client, APPS, STANDARD, PLUS, MANY[0])
    assert (full.ok, full.status, full.reason, full.attempts) == (
        False,
        412,
        "conditionNotMet",
        1,
    )
    assert "enough available licenses" in (full.error or "")
    # Reassigning from a SKU the user lacks, to one it lacks too.
    lacking = reassign(client, APPS, STANDARD, PLUS, "ana@example.com")
    assert (lacking.ok, lacking.status) == (False, 404)


def test_a_reassignment_to_the_same_sku_is_never_sent_nor_retried(emulator, client):
    with pytest.raises(ValueError, match="same SKU"):
        licensing.reassign_call(client, APPS, PLUS, PLUS, ADMIN)
    # Sent anyway, Google's 500 conditionNotMet is a refusal: one attempt, no retries.
    request = client.licensing.licenseAssignments().patch(
        productId=APPS, skuId=PLUS, userId=ADMIN, body={"skuId": PLUS}
    )
    outcome = client.licenses.execute(Call(request, "patch to the same SKU"))
    assert (outcome.ok, outcome.status, outcome.attempts) == (False, 500, 1)
    assert stats(emulator)["by_method"]["licensing.licenseAssignments.patch"] == 1


def test_licensing_calls_batch_at_their_own_batch_url(emulator, client, sent):
    calls = [licensing.assign_call(client, APPS, STANDARD, e) for e in MANY[125:129]]
    outcomes = client.licenses.execute_all(calls)
    assert all(o.ok for o in outcomes)
    batches = [s for s in sent if urlsplit(s.uri).path == "/batch"]
    assert len(batches) == 1 and "/apps/licensing/v1/product/Google-Apps/sku/" in batches[0].body
    assert stats(emulator)["batch_requests"] == 1


class _Rigged:
    """client.licenses.execute, with the answers of some pages replaced."""

    def __init__(self, client: GoogleClient, change: Any):
        self.real = client.licenses.execute
        self.change = change
        self.pages = 0

    def __call__(self, call: Call) -> Outcome:
        outcome = self.real(call)
        self.pages += 1
        return self.change(self.pages, outcome)


def test_a_later_page_that_fails_is_a_short_read(client, monkeypatch: pytest.MonkeyPatch):
    def second_fails(page: int, outcome: Outcome) -> Outcome:
        if page == 2:
            return Outcome(outcome.call, False, error="503 backendError: gave up", status=503)
        return outcome

    monkeypatch.setattr(client.licenses, "execute", _Rigged(client, second_fails))
    with pytest.raises(ShortReadError, match="page 2 failed after 100 assignments"):
        licensing.list_assignments(client, APPS, CUSTOMER_ID)


def test_a_page_token_given_twice_is_a_short_read(client, monkeypatch: pytest.MonkeyPatch):
    first: dict[str, Any] = {}

    def round_and_round(page: int, outcome: Outcome) -> Outcome:
        if page == 1:
            first.update(outcome.body)
        return Outcome(outcome.call, True, dict(first))

    monkeypatch.setattr(client.licenses, "execute", _Rigged(client, round_and_round))
    with pytest.raises(ShortReadError, match="page token it gave before"):
        licensing.list_assignments(client, APPS, CUSTOMER_ID)


def test_a_user_listed_with_two_skus_is_a_short_read(client, monkeypatch: pytest.MonkeyPatch):
    def moved_meanwhile(page: int, outcome: Outcome) -> Outcome:
        if page == 2:
            body = dict(outcome.body)
            body["items"] = [*body["items"], {"userId": ADMIN.upper(), "skuId": STANDARD}]
            return Outcome(outcome.call, True, body)
        return outcome

    monkeypatch.setattr(client.licenses, "execute", _Rigged(client, moved_meanwhile))
    with pytest.raises(ShortReadError, match="listed with"):
        licensing.list_assignments(client, APPS, CUSTOMER_ID)


def test_a_license_change_of_an_action_no_call_makes_is_an_error_not_a_revocation(
    monkeypatch: pytest.MonkeyPatch,
):
    """license_call dispatches each action explicitly: one it does not know (a kind grown
    an action) raises, and nothing is revoked for it."""
    from dataclasses import dataclass

    from reconciler.google import license_target
    from reconciler.plan.change import FieldChange
    from reconciler.plan.kinds import LicenseChange
    from reconciler.problems import ReconcilerError

    @dataclass(frozen=True)
    class Grown(LicenseChange):
        phases = {**LicenseChange.phases, "pause_license": 93}

    made: list[str] = []
    for name in ("assign_call", "reassign_call", "revoke_call"):
        monkeypatch.setattr(license_target, name, lambda *_a, name=name: made.append(name))
    sku = FieldChange("1010020025", "none")
    client: Any = None  # no call is built
    for action, call in [
        ("assign_license", "assign_call"),
        ("change_license", "reassign_call"),
        ("revoke_license", "revoke_call"),
    ]:
        license_target.license_call(client, Grown(action, "jo@x.io", {"sku": sku}))
        assert made.pop() == call
    with pytest.raises(ReconcilerError, match=r"license of jo@x\.io: no Licensing call for"):
        license_target.license_call(client, Grown("pause_license", "jo@x.io", {"sku": sku}))
    assert made == []
