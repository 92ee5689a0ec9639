"""The Licensing API through the real googleapiclient over loopback: assignments and their
shapes, listings and pages, Google's refusals, seats, renames and deletes, scopes, batches,
seeds and persistence."""

from __future__ import annotations

import copy
import http.client
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from reconciler.emulator.api import LICENSING, DirectoryApi
from reconciler.emulator.server import EmulatorServer
from reconciler.emulator.store import TenantStore
from reconciler.problems import InvalidInput

from .api_support import access_token
from .real_client import USER, checked, emulator_json, real_service, refusal

LICENSING_SCOPE = "https://www.googleapis.com/auth/apps.licensing"
ADMIN = "admin@example.com"
APPS = "Google-Apps"
STANDARD, PLUS, STARTER = "1010020028", "1010020025", "1010020027"
VAULT = "Google-Vault"


def person(email: str, uid: str, **extra: Any) -> dict[str, Any]:
    name = email.partition("@")[0]
    return {
        "primaryEmail": email,
        "id": uid,
        "name": {"givenName": name.title(), "familyName": "Test"},
        **extra,
    }


# The Licensing API takes the customer's id (not the Directory's `my_customer`).
CUSTOMER_ID = "C03az79cb"
SEED: dict[str, Any] = {
    "customerId": CUSTOMER_ID,
    "domains": ["example.com"],
    "users": [
        person(ADMIN, "100000000000000000001", isAdmin=True),
        person("ana@example.com", "100000000000000000002"),
        person("bob@example.com", "100000000000000000003", aliases=["robert@example.com"]),
        person("cy@example.com", "100000000000000000004", suspended=True),
    ],
    "licenses": {
        # business-plus by its id, the others by friendly name.
        "seats": {"business-standard": 3, PLUS: 1, "vault": 5},
        "assigned": {ADMIN: "business-standard", "ana@example.com": ["business-plus", "vault"]},
    },
}
NO_SEATS = "There aren't enough available licenses for the specified product-SKU pair"
NOT_HELD = "User does not have a license for specified sku and product"
UNAUTHORIZED = "Unauthorized operation for the given domain."


@pytest.fixture
def server(tmp_path: Path):
    with EmulatorServer.open(seed=copy.deepcopy(SEED), state=tmp_path / "state.json") as running:
        yield running


@pytest.fixture
def licensing(server: EmulatorServer):
    return real_service(server, "licensing_v1", [LICENSING_SCOPE], subject=ADMIN)


def assignments(api: Any, product: str = APPS) -> dict[str, str]:
    return lister(api, product)[0]


def lister(api: Any, product: str = APPS, **query: Any) -> tuple[dict[str, str], list[int]]:
    """Every assignment a listing shows (email -> skuId), following its pages, and the size
    of each page."""
    found: dict[str, str] = {}
    sizes: list[int] = []
    resource = api.licenseAssignments()
    if "skuId" in query:
        request = resource.listForProductAndSku(productId=product, customerId=CUSTOMER_ID, **query)
        follow = resource.listForProductAndSku_next
    else:
        request = resource.listForProduct(productId=product, customerId=CUSTOMER_ID, **query)
        follow = resource.listForProduct_next
    while request is not None:
        page = request.execute()
        sizes.append(len(page.get("items", [])))
        for item in page.get("items", []):
            assert item["userId"] not in found
            found[item["userId"]] = item["skuId"]
        request = follow(request, page)
    return found, sizes


# -- discovery --------------------------------------------------------------------------------


def test_the_discovery_document_is_served_and_points_here(server: EmulatorServer):
    root = server.base_url + "/"
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        conn.request("GET", "/discovery/v1/apis/licensing/v1/rest")
        answer = conn.getresponse()
        doc = json.loads(answer.read())
    finally:
        conn.close()
    assert answer.status == 200 and (doc["name"], doc["version"]) == ("licensing", "v1")
    assert (doc["rootUrl"], doc["baseUrl"], doc["batchPath"]) == (root, root, "batch")
    assert set(doc["resources"]) == {"licenseAssignments"}


# -- the methods and their shapes -------------------------------------------------------------


def test_insert_get_and_the_shape_of_an_assignment(licensing):
    made = checked(
        "licensing.licenseAssignments.insert",
        licensing.licenseAssignments().insert(
            productId=APPS, skuId=STANDARD, body={"userId": "Bob@Example.com"}
        ),
    )
    assert made == {
        "kind": "licensing#licenseAssignment",
        "etags": made["etags"],
        "productId": APPS,
        "productName": "Google Workspace",
        "selfLink": "https://licensing.googleapis.com/apps/licensing/v1/product/Google-Apps/"
        "sku/1010020028/user/bob%40example.com",
        "skuId": STANDARD,
        "skuName": "Google Workspace Business Standard",
        "userId": "bob@example.com",
    }
    got = checked(
        "licensing.licenseAssignments.get",
        licensing.licenseAssignments().get(
            productId=APPS, skuId=STANDARD, userId="bob@example.com"
        ),
    )
    assert got == made
    vault = licensing.licenseAssignments().get(
        productId=VAULT, skuId=VAULT, userId="ana@example.com"
    )
    assert vault.execute()["productName"] == "Google Vault"


def test_patch_reassigns_within_the_product_and_frees_the_old_seat(licensing):
    moved = checked(
        "licensing.licenseAssignments.patch",
        licensing.licenseAssignments().patch(
            productId=APPS, skuId=PLUS, userId="ana@example.com", body={"skuId": STANDARD}
        ),
    )
    assert (moved["userId"], moved["skuId"]) == ("ana@example.com", STANDARD)
    assert assignments(licensing) == {ADMIN: STANDARD, "ana@example.com": STANDARD}
    # Business Plus has one seat, free again: Bob can have it.
    licensing.licenseAssignments().insert(
        productId=APPS, skuId=PLUS, body={"userId": "bob@example.com"}
    ).execute()
    assert assignments(licensing)["bob@example.com"] == PLUS


def test_update_needs_the_whole_assignment(licensing):
    request = licensing.licenseAssignments().update
    status, reason, message = refusal(
        request(productId=APPS, skuId=PLUS, userId="ana@example.com", body={})
    )
    assert (status, reason, message) == (400, "required", "skuId is required field")
    body = {"skuId": STANDARD, "userId": "ana@example.com"}
    assert refusal(request(productId=APPS, skuId=PLUS, userId="ana@example.com", body=body)) == (
        400,
        "required",
        "productId is required field",
    )
    body["productId"] = APPS
    done = checked(
        "licensing.licenseAssignments.update",
        request(productId=APPS, skuId=PLUS, userId="ana@example.com", body=body),
    )
    assert done["skuId"] == STANDARD
    other = {**body, "userId": "bob@example.com", "skuId": PLUS}
    assert refusal(request(productId=APPS, skuId=STANDARD, userId="ana@example.com", body=other))[
        :2
    ] == (400, "invalid")


def test_delete_frees_the_seat(licensing, server):
    answer = licensing.licenseAssignments().delete(
        productId=APPS, skuId=PLUS, userId="ana@example.com"
    )
    assert answer.execute() == {}  # the document's Empty
    assert "ana@example.com" not in assignments(licensing)
    _, doc = emulator_json(server, "GET", "state")
    assert doc["licenses"]["assigned"]["ana@example.com"] == VAULT


def test_listings_by_product_and_by_sku(licensing):
    page = checked(
        "licensing.licenseAssignments.listForProduct",
        licensing.licenseAssignments().listForProduct(productId=APPS, customerId=CUSTOMER_ID),
    )
    assert page["kind"] == "licensing#licenseAssignmentList" and page["etag"]
    assert "nextPageToken" not in page
    assert {(i["userId"], i["skuId"]) for i in page["items"]} == {
        (ADMIN, STANDARD),
        ("ana@example.com", PLUS),
    }
    by_sku = checked(
        "licensing.licenseAssignments.listForProductAndSku",
        licensing.licenseAssignments().listForProductAndSku(
            productId=APPS, skuId=PLUS, customerId=CUSTOMER_ID
        ),
    )
    assert [i["userId"] for i in by_sku["items"]] == ["ana@example.com"]
    assert assignments(licensing, VAULT) == {"ana@example.com": VAULT}
    # A SKU subscribed to but held by nobody: a listing without items.
    nobody = licensing.licenseAssignments().listForProductAndSku(
        productId=VAULT, skuId=VAULT, customerId=CUSTOMER_ID
    )
    licensing.licenseAssignments().delete(
        productId=VAULT, skuId=VAULT, userId="ana@example.com"
    ).execute()
    assert set(nobody.execute()) == {"kind", "etag"}
    fields = licensing.licenseAssignments().listForProduct(
        productId=APPS, customerId=CUSTOMER_ID, fields="items(userId)"
    )
    assert fields.execute()["items"][0].keys() == {"userId"}


def test_listings_need_the_customer(server, licensing):
    api = server.api
    answer = api.call("GET", "product/Google-Apps/users", {}, None, LICENSING)
    assert answer.status == 400 and answer.body["error"]["errors"][0]["reason"] == "required"
    other = licensing.licenseAssignments().listForProduct(productId=APPS, customerId="C0other")
    assert refusal(other)[:2] == (400, "invalid")
    # The Directory's alias is not the customer's id (the Licensing reference documents the id).
    alias = licensing.licenseAssignments().listForProduct(productId=APPS, customerId="my_customer")
    assert refusal(alias)[:2] == (400, "invalid")
    customer_id = emulator_json(server, "GET", "state")[1]["customerId"]
    mine = licensing.licenseAssignments().listForProduct(productId=APPS, customerId=customer_id)
    assert len(mine.execute()["items"]) == 2


def test_pages_hold_100_at_most_whatever_is_asked(tmp_path: Path):
    doc = copy.deepcopy(SEED)
    many = [f"user{n:03d}@example.com" for n in range(150)]
    doc["users"] += [person(e, f"2000000000000000{n:05d}") for n, e in enumerate(many)]
    doc["licenses"] = {
        "seats": {"business-standard": 120, "business-plus": 40},
        "assigned": {
            e: "business-standard" if n < 120 else "business-plus" for n, e in enumerate(many)
        },
    }
    with EmulatorServer.open(seed=doc) as running:
        api = real_service(running, "licensing_v1", [LICENSING_SCOPE], subject=ADMIN)
        found, sizes = lister(api, maxResults=1000)
        assert sizes == [100, 50] and len(found) == 150
        assert found == {e: STANDARD if n < 120 else PLUS for n, e in enumerate(many)}
        assert lister(api)[1] == [100, 50]  # the default page: 100
        assert lister(api, maxResults=40)[1] == [40, 40, 40, 30]
        by_sku, sizes = lister(api, skuId=STANDARD, maxResults=1000)
        assert sizes == [100, 20] and set(by_sku.values()) == {STANDARD}
        for bad in (0, 1001):
            request = api.licenseAssignments().listForProduct(
                productId=APPS, customerId=CUSTOMER_ID, maxResults=bad
            )
            assert refusal(request)[:2] == (400, "invalid")


# -- refusals ---------------------------------------------------------------------------------


def test_no_seat_left_is_a_412_and_a_freed_one_is_taken(licensing):
    insert = licensing.licenseAssignments().insert
    insert(productId=APPS, skuId=STANDARD, body={"userId": "bob@example.com"}).execute()
    insert(productId=APPS, skuId=STANDARD, body={"userId": "cy@example.com"}).execute()
    # Three seats of Business Standard: admin, Bob and Cy hold them.
    full = refusal(insert(productId=APPS, skuId=PLUS, body={"userId": "bob@example.com"}))
    assert full[:2] == (409, "duplicate")  # Bob holds another SKU of the product
    licensing.licenseAssignments().delete(
        productId=APPS, skuId=PLUS, userId="ana@example.com"
    ).execute()
    assert refusal(insert(productId=APPS, skuId=STANDARD, body={"userId": "ana@example.com"})) == (
        412,
        "conditionNotMet",
        NO_SEATS,
    )
    # A reassignment to a full SKU is refused alike; Bob keeps what he has.
    patch = licensing.licenseAssignments().patch(
        productId=APPS, skuId=STANDARD, userId="bob@example.com", body={"skuId": PLUS}
    )
    patch.execute()
    back = licensing.licenseAssignments().patch(
        productId=APPS, skuId=PLUS, userId="bob@example.com", body={"skuId": STANDARD}
    )
    back.execute()
    insert(productId=APPS, skuId=PLUS, body={"userId": "ana@example.com"}).execute()
    to_full = licensing.licenseAssignments().patch(
        productId=APPS, skuId=STANDARD, userId="bob@example.com", body={"skuId": PLUS}
    )
    assert refusal(to_full) == (412, "conditionNotMet", NO_SEATS)
    assert assignments(licensing)["bob@example.com"] == STANDARD
    licensing.licenseAssignments().delete(
        productId=APPS, skuId=STANDARD, userId="cy@example.com"
    ).execute()
    insert(productId=APPS, skuId=STANDARD, body={"userId": "cy@example.com"}).execute()


def test_a_user_holds_one_sku_of_a_product(licensing, server):
    insert = licensing.licenseAssignments().insert
    again = refusal(insert(productId=APPS, skuId=PLUS, body={"userId": "ana@example.com"}))
    assert again[:2] == (409, "duplicate")
    other = refusal(insert(productId=APPS, skuId=STANDARD, body={"userId": "ana@example.com"}))
    assert other[:2] == (409, "duplicate") and "another sku" in other[2]
    assert refusal(insert(productId=APPS, skuId=STANDARD, body={})) == (
        400,
        "required",
        "Missing required field: userId",
    )
    _, doc = emulator_json(server, "GET", "state")
    assert doc["licenses"]["assigned"]["ana@example.com"] == [PLUS, VAULT]


def test_a_reassignment_to_the_same_sku_is_googles_500(licensing):
    same = licensing.licenseAssignments().patch(
        productId=APPS, skuId=PLUS, userId="ana@example.com", body={"skuId": PLUS}
    )
    assert refusal(same) == (
        500,
        "conditionNotMet",
        "For reassign operation new sku should be different than the old sku",
    )
    empty = licensing.licenseAssignments().patch(
        productId=APPS, skuId=PLUS, userId="ana@example.com", body={}
    )
    assert refusal(empty) == (400, "required", "skuId is required field")


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_sku_the_user_lacks_is_not_found(licensing, method):
    args: dict[str, Any] = {"productId": APPS, "skuId": STANDARD, "userId": "ana@example.com"}
    if method == "patch":
        args["body"] = {"skuId": STARTER}
    request = getattr(licensing.licenseAssignments(), method)(**args)
    assert refusal(request) == (404, "notFound", NOT_HELD)
    args["userId"] = "bob@example.com"  # holds nothing at all
    request = getattr(licensing.licenseAssignments(), method)(**args)
    assert refusal(request) == (404, "notFound", NOT_HELD)


@pytest.mark.parametrize(
    "user", ["nobody@example.com", "robert@example.com", "100000000000000000003", "bob"]
)
def test_a_user_is_named_by_its_primary_address_only(licensing, user):
    # No such user; an alias; the immutable id; no address: all 400 invalid.
    request = licensing.licenseAssignments().insert(
        productId=APPS, skuId=STANDARD, body={"userId": user}
    )
    assert refusal(request) == (400, "invalid", "Invalid Input: userId")
    get = licensing.licenseAssignments().get(productId=APPS, skuId=STANDARD, userId=user)
    assert refusal(get) == (400, "invalid", "Invalid Input: userId")


def test_unknown_products_and_skus_the_tenant_lacks(licensing):
    assignments_api = licensing.licenseAssignments()
    unknown = assignments_api.listForProduct(productId="Google-Nothing", customerId=CUSTOMER_ID)
    assert refusal(unknown) == (400, "invalid", "Invalid ProductId: Google-Nothing")
    bad_insert = assignments_api.insert(
        productId="Google-Nothing", skuId=STANDARD, body={"userId": "bob@example.com"}
    )
    assert refusal(bad_insert) == (400, "invalid", "Invalid ProductId: Google-Nothing")
    # A SKU of another product, an unknown one, and one the tenant has no subscription for.
    for sku in (VAULT, "1010029999", STARTER):
        insert = assignments_api.insert(
            productId=APPS, skuId=sku, body={"userId": "bob@example.com"}
        )
        assert refusal(insert) == (403, "forbidden", UNAUTHORIZED), sku
        listing = assignments_api.listForProductAndSku(
            productId=APPS, skuId=sku, customerId=CUSTOMER_ID
        )
        assert refusal(listing) == (403, "forbidden", UNAUTHORIZED), sku
    # A product of which the tenant has no SKU at all.
    education = assignments_api.listForProduct(productId="101031", customerId=CUSTOMER_ID)
    assert refusal(education) == (403, "forbidden", UNAUTHORIZED)
    to_unsubscribed = assignments_api.patch(
        productId=APPS, skuId=PLUS, userId="ana@example.com", body={"skuId": STARTER}
    )
    assert refusal(to_unsubscribed) == (403, "forbidden", UNAUTHORIZED)


def test_a_user_created_moments_ago_is_not_ready(licensing, server):
    server.configure(consistency_delay_ms=60_000)
    directory = real_service(server, "directory_v1", [USER], subject=ADMIN)
    body = {
        "primaryEmail": "new@example.com",
        "name": {"givenName": "New", "familyName": "Comer"},
        "password": "correct-horse-battery",
    }
    directory.users().insert(body=body).execute()
    insert = licensing.licenseAssignments().insert(
        productId=APPS, skuId=STANDARD, body={"userId": "new@example.com"}
    )
    assert refusal(insert) == (412, "conditionNotMet", "User creation is not complete.")
    server.configure(consistency_delay_ms=0)
    assert insert.execute()["userId"] == "new@example.com"


# -- the account behind the license -----------------------------------------------------------


def test_a_renamed_user_keeps_its_license_under_its_new_address(licensing, server):
    directory = real_service(server, "directory_v1", [USER], subject=ADMIN)
    directory.users().patch(
        userKey="ana@example.com", body={"primaryEmail": "ana.new@example.com"}
    ).execute()
    got = licensing.licenseAssignments().get(
        productId=APPS, skuId=PLUS, userId="ana.new@example.com"
    )
    assert got.execute()["userId"] == "ana.new@example.com"
    assert assignments(licensing) == {ADMIN: STANDARD, "ana.new@example.com": PLUS}
    old = licensing.licenseAssignments().get(productId=APPS, skuId=PLUS, userId="ana@example.com")
    assert refusal(old) == (400, "invalid", "Invalid Input: userId")  # an alias now
    _, doc = emulator_json(server, "GET", "state")
    assert doc["licenses"]["assigned"]["ana.new@example.com"] == [PLUS, VAULT]


def test_deleting_a_user_frees_its_licenses(licensing, server):
    directory = real_service(server, "directory_v1", [USER], subject=ADMIN)
    directory.users().delete(userKey="ana@example.com").execute()
    assert assignments(licensing) == {ADMIN: STANDARD}
    assert assignments(licensing, VAULT) == {}
    licensing.licenseAssignments().insert(
        productId=APPS, skuId=PLUS, body={"userId": "bob@example.com"}
    ).execute()
    # Restored, the account comes back without them.
    deleted = directory.users().list(customer="my_customer", showDeleted="true").execute()
    uid = deleted["users"][0]["id"]
    directory.users().undelete(userKey=uid, body={"orgUnitPath": "/"}).execute()
    assert "ana@example.com" not in assignments(licensing)


# -- authorization and batches ----------------------------------------------------------------


def test_calls_need_the_licensing_scope_and_an_admin(server, licensing):
    directory_only = real_service(server, "licensing_v1", [USER], subject=ADMIN)
    listing = directory_only.licenseAssignments().listForProduct(
        productId=APPS, customerId=CUSTOMER_ID
    )
    assert refusal(listing)[:2] == (403, "insufficientPermissions")
    insert = directory_only.licenseAssignments().insert(
        productId=APPS, skuId=STANDARD, body={"userId": "bob@example.com"}
    )
    assert refusal(insert)[:2] == (403, "insufficientPermissions")
    not_admin = real_service(server, "licensing_v1", [LICENSING_SCOPE], subject="bob@example.com")
    mine = not_admin.licenseAssignments().listForProduct(productId=APPS, customerId=CUSTOMER_ID)
    assert refusal(mine)[:2] == (403, "forbidden")
    # And the licensing scope reaches no other API.
    directory = real_service(server, "directory_v1", [LICENSING_SCOPE], subject=ADMIN)
    assert refusal(directory.users().get(userKey=ADMIN))[:2] == (403, "insufficientPermissions")


def test_licensing_calls_batch_at_the_documents_batch_path(licensing, server):
    answers: dict[str, Any] = {}

    def collect(request_id: str, response: Any, exception: Any) -> None:
        answers[request_id] = exception or response

    batch = licensing.new_batch_http_request(callback=collect)
    assert batch._batch_uri == server.base_url + "/batch"
    api = licensing.licenseAssignments()
    batch.add(
        api.insert(productId=APPS, skuId=STANDARD, body={"userId": "bob@example.com"}),
        request_id="insert",
    )
    batch.add(api.get(productId=VAULT, skuId=VAULT, userId="ana@example.com"), request_id="get")
    batch.add(api.get(productId=VAULT, skuId=VAULT, userId="bob@example.com"), request_id="none")
    batch.execute()
    assert answers["insert"]["userId"] == "bob@example.com"
    assert answers["get"]["skuId"] == VAULT
    assert answers["none"].status_code == 404
    stats = emulator_json(server, "GET", "stats")[1]
    assert stats["by_method"]["licensing.licenseAssignments.get"] == 2


def test_a_batch_mixing_licensing_and_directory_calls_is_refused(server):
    token = access_token(server.base_url, [LICENSING_SCOPE, USER], ADMIN)
    boundary = "===============" + uuid.uuid4().hex + "=="
    parts = ""
    for n, path in enumerate(
        (
            "/apps/licensing/v1/product/Google-Apps/users?customerId=" + CUSTOMER_ID,
            "/admin/directory/v1/users/admin%40example.com",
        )
    ):
        parts += (
            f"--{boundary}\nContent-Type: application/http\nContent-ID: <x + {n}>\n\n"
            f"GET {path} HTTP/1.1\nAuthorization: Bearer {token}\n\n"
        )
    conn = http.client.HTTPConnection(urlsplit(server.base_url).netloc, timeout=10)
    try:
        headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
        conn.request("POST", "/batch", body=(parts + f"--{boundary}--\n").encode(), headers=headers)
        answer = conn.getresponse()
        error = json.loads(answer.read())["error"]
    finally:
        conn.close()
    assert answer.status == 400 and "one API" in error["message"]


# -- persistence ------------------------------------------------------------------------------


def test_assignments_survive_a_restart(tmp_path: Path):
    state = tmp_path / "state.json"
    with EmulatorServer.open(seed=copy.deepcopy(SEED), state=state) as running:
        api = real_service(running, "licensing_v1", [LICENSING_SCOPE], subject=ADMIN)
        api.licenseAssignments().insert(
            productId=APPS, skuId=STANDARD, body={"userId": "bob@example.com"}
        ).execute()
        api.licenseAssignments().delete(
            productId=VAULT, skuId=VAULT, userId="ana@example.com"
        ).execute()
        before = assignments(api)
    with EmulatorServer.open(state=state) as running:
        api = real_service(running, "licensing_v1", [LICENSING_SCOPE], subject=ADMIN)
        assert (
            assignments(api)
            == before
            == {
                ADMIN: STANDARD,
                "ana@example.com": PLUS,
                "bob@example.com": STANDARD,
            }
        )
        # The seats came back too: Cy takes the third and last seat of Business Standard.
        api.licenseAssignments().insert(
            productId=APPS, skuId=STANDARD, body={"userId": "cy@example.com"}
        ).execute()
        move = api.licenseAssignments().patch(
            productId=APPS, skuId=PLUS, userId="ana@example.com", body={"skuId": STANDARD}
        )
        assert refusal(move) == (412, "conditionNotMet", NO_SEATS)


def test_assignments_survive_a_crash(tmp_path: Path):
    state = tmp_path / "state.json"
    store = TenantStore(seed=copy.deepcopy(SEED), state=state)
    with EmulatorServer(DirectoryApi(store)) as running:  # no persist: the store stays open
        api = real_service(running, "licensing_v1", [LICENSING_SCOPE], subject=ADMIN)
        api.licenseAssignments().patch(
            productId=APPS, skuId=PLUS, userId="ana@example.com", body={"skuId": STANDARD}
        ).execute()
        api.licenseAssignments().insert(
            productId=APPS, skuId=PLUS, body={"userId": "bob@example.com"}
        ).execute()
        before = store.snapshot()
    store.close(compact=False)  # what a crash leaves: the journal, not compacted
    again = TenantStore(state=state)
    try:
        assert again.snapshot() == before
        assert before["licenses"] == {
            "seats": {PLUS: 1, STANDARD: 3, VAULT: 5},
            "assigned": {
                ADMIN: STANDARD,
                "ana@example.com": [STANDARD, VAULT],
                "bob@example.com": PLUS,
            },
        }
    finally:
        again.close()
    assert TenantStore(seed=before).snapshot() == before  # the state is a seed of the same tenant


# -- seeds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("licenses", "message"),
    [
        (
            {"seats": {"business-standrd": 1}},
            "unknown license SKU 'business-standrd' (did you mean 'business-standard'?)",
        ),
        ({"seats": {"business-standard": -1}}, "seats must be a whole number"),
        ({"seats": {"business-standard": 1, STANDARD: 2}}, "listed twice"),
        (
            {"seats": {"business-standard": 1}, "assigned": {"nobody@example.com": STANDARD}},
            "licenses.assigned.nobody@example.com: no user has the primary address",
        ),
        (
            {"seats": {"business-standard": 1}, "assigned": {"robert@example.com": STANDARD}},
            "no user has the primary address robert@example.com",
        ),
        (
            {"seats": {"business-standard": 1}, "assigned": {ADMIN: "business-plus"}},
            "business-plus has no seats",
        ),
        (
            {
                "seats": {"business-standard": 1},
                "assigned": {ADMIN: STANDARD, "ana@example.com": STANDARD},
            },
            "licenses.assigned.ana@example.com: every one of the 1 seats of business-standard",
        ),
        (
            {
                "seats": {"business-standard": 1, "business-plus": 1},
                "assigned": {ADMIN: [STANDARD, PLUS]},
            },
            "a user holds one SKU of Google-Apps",
        ),
        ({"seats": {}, "asigned": {}}, "unknown field 'asigned' (did you mean 'assigned'?)"),
        ({"seats": ["business-standard"]}, "licenses.seats: expected a mapping"),
    ],
)
def test_a_seeds_licenses_are_checked(licenses: dict[str, Any], message: str):
    doc = copy.deepcopy(SEED)
    doc["licenses"] = licenses
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=doc)
    assert message in str(caught.value)


def test_seed_problems_name_their_line(tmp_path: Path):
    seed = tmp_path / "tenant.yaml"
    seed.write_text(
        "domains: [example.com]\n"
        "users:\n"
        "  - primaryEmail: admin@example.com\n"
        "    name: {givenName: Ada, familyName: Admin}\n"
        "licenses:\n"
        "  seats:\n"
        "    business-standard: 1\n"
        "    vualt: 2\n"
        "  assigned:\n"
        "    admin@example.com: business-standard\n"
        "    ghost@example.com: business-standard\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=seed)
    text = str(caught.value)
    assert "tenant.yaml:8:" in text and "did you mean 'vault'?" in text
    assert "tenant.yaml:11:" in text and "ghost@example.com" in text
