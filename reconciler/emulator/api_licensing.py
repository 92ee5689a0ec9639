"""The Enterprise License Manager API (licensing v1): licenseAssignments insert, get, patch,
update, delete, listForProduct and listForProductAndSku (licenses.py holds the rules).

Paths are relative to `apps/licensing/v1/`; the server sends calls under
`/apps/licensing/v1/` here, through the same DirectoryApi machinery (one tenant, one lock,
one journal) as the Directory and Data Transfer APIs.

Checks come in this order: the product (400 "Invalid ProductId: …"), the SKU of the path
(403 "Unauthorized operation for the given domain."), the user (400 invalid; 412 "User
creation is not complete." within the consistency delay after its insert), then what the
user holds.
"""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import ApiError, invalid, required, user_not_ready
from reconciler.emulator.ids import next_etag
from reconciler.emulator.licenses import (
    LIST_KIND,
    SAME_SKU,
    check_product,
    check_seats,
    check_sku,
    check_subscribed,
    not_held,
    render_assignment,
    user_id_of,
)
from reconciler.emulator.paging import listing_digest
from reconciler.emulator.request import Call

Answer = tuple[int, dict[str, Any] | None]

# The discovery document allows maxResults up to 1000 (default 100); Google's limits page
# says a page holds 100 at most, so no page here holds more, whatever is asked.
PAGE_MAX = 100


def _product_and_sku(call: Call) -> tuple[str, str]:
    product, sku = call.params["productId"], call.params["skuId"]
    check_product(product)
    check_sku(call.tenant, product, sku)
    return product, sku


def _user(call: Call, value: Any) -> str:
    user_id = user_id_of(call.tenant, value)
    if call.settling(user_id):
        raise user_not_ready()
    return user_id


def _held(call: Call, product: str, sku: str) -> str:
    """The id of the path's user, who must hold `sku` of `product` (404 otherwise)."""
    user_id = _user(call, call.params["userId"])
    if call.tenant.license_of(user_id, product) != sku:
        raise not_held()
    return user_id


def insert_assignment(call: Call) -> Answer:
    product, sku = _product_and_sku(call)
    body = call.body()
    if body.get("userId") in (None, ""):
        raise required("userId")
    user_id = _user(call, body["userId"])
    held = call.tenant.license_of(user_id, product)
    if held == sku:
        raise ApiError(409, "duplicate", "User already has a license for the specified sku.")
    if held is not None:
        # One SKU of a product per user: another is reassigned with patch (Google's guide).
        raise ApiError(
            409,
            "duplicate",
            "User already has a license for another sku of the specified product; "
            "reassign it instead.",
        )
    check_seats(call.tenant, product, sku)
    call.tenant.put_license(user_id, product, sku)
    return 200, render_assignment(call.tenant, user_id, product, sku)


def get_assignment(call: Call) -> Answer:
    product, sku = _product_and_sku(call)
    user_id = _held(call, product, sku)
    return 200, render_assignment(call.tenant, user_id, product, sku)


def _reassign(call: Call, product: str, old: str, user_id: str, new: str) -> Answer:
    if new == old:
        # Google answers this with a 500 (GAM-team/GAM#1046).
        raise ApiError(500, "conditionNotMet", SAME_SKU)
    check_sku(call.tenant, product, new)
    check_seats(call.tenant, product, new)
    call.tenant.put_license(user_id, product, new)
    return 200, render_assignment(call.tenant, user_id, product, new)


def patch_assignment(call: Call) -> Answer:
    product, sku = _product_and_sku(call)
    body = call.body()
    user_id = _held(call, product, sku)
    if body.get("productId") not in (None, product):
        raise invalid("Invalid Input: productId")  # a SKU changes within its product only
    if body.get("userId") not in (None, "") and _user(call, body["userId"]) != user_id:
        raise invalid("Invalid Input: userId")
    new = body.get("skuId")
    if new in (None, ""):
        raise ApiError(400, "required", "skuId is required field")
    if not isinstance(new, str):
        raise invalid("Invalid Input: skuId")
    return _reassign(call, product, sku, user_id, new)


def update_assignment(call: Call) -> Answer:
    product, sku = _product_and_sku(call)
    body = call.body()
    # The document marks all three required for update (SCRT-HQ/PSGSuite#304: "skuId is
    # required field").
    for field in ("skuId", "productId", "userId"):
        if body.get(field) in (None, ""):
            raise ApiError(400, "required", f"{field} is required field")
    user_id = _held(call, product, sku)
    if body["productId"] != product:
        raise invalid("Invalid Input: productId")
    if _user(call, body["userId"]) != user_id:
        raise invalid("Invalid Input: userId")
    if not isinstance(body["skuId"], str):
        raise invalid("Invalid Input: skuId")
    return _reassign(call, product, sku, user_id, body["skuId"])


def delete_assignment(call: Call) -> Answer:
    product, sku = _product_and_sku(call)
    user_id = _held(call, product, sku)
    call.tenant.put_license(user_id, product, None)
    return 200, {}  # the document's Empty


def _listing(call: Call, product: str, sku: str | None) -> Answer:
    customer = call.arg("customerId")
    if not customer:
        raise required("customerId")
    if customer != call.tenant.customer_id:
        # The Licensing reference documents the customer's id ("e.g. C00000000") and no
        # `my_customer` alias (the Directory's); whether Google takes one is unverified, so
        # the emulator takes the id alone.
        raise invalid(f"Invalid value for customerId: {customer}")
    limit = min(call.integer("maxResults", 100, 1, 1000), PAGE_MAX)
    tenant = call.tenant
    holders = tenant.license_holders(product)

    def match(user_id: str) -> bool:
        return sku is None or tenant.licenses[user_id][product] == sku

    digest = listing_digest("licenses", customer, product, sku)
    found, token = call.page("licenses", digest, holders, limit, match)
    items = [render_assignment(tenant, u, product, tenant.licenses[u][product]) for u in found]
    out: dict[str, Any] = {
        "kind": LIST_KIND,
        "etag": next_etag("licenses/" + "/".join(i["etags"] for i in items)),
    }
    if items:
        out["items"] = items
    if token:
        out["nextPageToken"] = token
    return 200, out


def list_for_product(call: Call) -> Answer:
    product = call.params["productId"]
    check_product(product)
    check_subscribed(call.tenant, product)
    return _listing(call, product, None)


def list_for_product_and_sku(call: Call) -> Answer:
    product, sku = _product_and_sku(call)
    return _listing(call, product, sku)


_ONE = "product/{productId}/sku/{skuId}/user/{userId}"
_PREFIX = "licensing.licenseAssignments."
ROUTES: list[tuple[str, str, str, Any]] = [
    ("POST", "product/{productId}/sku/{skuId}/user", _PREFIX + "insert", insert_assignment),
    ("GET", _ONE, _PREFIX + "get", get_assignment),
    ("PATCH", _ONE, _PREFIX + "patch", patch_assignment),
    ("PUT", _ONE, _PREFIX + "update", update_assignment),
    ("DELETE", _ONE, _PREFIX + "delete", delete_assignment),
    ("GET", "product/{productId}/users", _PREFIX + "listForProduct", list_for_product),
    (
        "GET",
        "product/{productId}/sku/{skuId}/users",
        _PREFIX + "listForProductAndSku",
        list_for_product_and_sku,
    ),
]
