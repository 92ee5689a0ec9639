"""The Licensing API's resources: the SKUs a tenant subscribes to, with the seats bought, and
which user holds which SKU; rendered as LicenseAssignments, and read from a seed.

What exists is `reconciler.skus` (the one table of products and SKUs): a product or SKU it
lacks is unknown here too. A tenant subscribes to the SKUs its seed gives seats for:

    licenses:
      seats: {business-standard: 50, vault: 5}       # SKU (friendly name or id) -> seats
      assigned: {ana@example.com: business-standard}  # user -> SKU, or a list of SKUs
                                                      #   (one per product)

A user holds at most one SKU of a product (Google: reassigning changes the SKU within a
product). Assignments are kept by user id: a renamed user keeps them, and is listed under its
new address; a deleted user's are freed. The saved state writes the same shape, by SKU id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from reconciler import skus
from reconciler.emulator.errors import ApiError, invalid
from reconciler.emulator.ids import next_etag
from reconciler.emulator.tenant import Tenant

ASSIGNMENT_KIND = "licensing#licenseAssignment"
LIST_KIND = "licensing#licenseAssignmentList"
# Where Google's selfLinks point (the emulator does not rewrite them to itself).
SELF_ROOT = "https://licensing.googleapis.com/apps/licensing/v1/"
SEED_KEYS = frozenset({"seats", "assigned"})

NO_SEATS = "There aren't enough available licenses for the specified product-SKU pair"
NOT_HELD = "User does not have a license for specified sku and product"
SAME_SKU = "For reassign operation new sku should be different than the old sku"
UNAUTHORIZED = "Unauthorized operation for the given domain."


def render_assignment(tenant: Tenant, user_id: str, product: str, sku: str) -> dict[str, Any]:
    """A LicenseAssignment as Google returns it: userId is the user's current address."""
    email = tenant.users[user_id]["primaryEmail"]
    found = skus.by_id(product, sku)
    return {
        "kind": ASSIGNMENT_KIND,
        "etags": next_etag(f"license/{user_id}/{product}/{sku}"),
        "productId": product,
        "productName": skus.PRODUCT_NAMES.get(product, product),
        "selfLink": f"{SELF_ROOT}product/{quote(product)}/sku/{quote(sku)}/user/{quote(email)}",
        "skuId": sku,
        "skuName": found.display if found is not None else sku,
        "userId": email,
    }


# ---- checks, in the order the handlers make them ------------------------------------------


def check_product(product: str) -> None:
    """400 invalid "Invalid ProductId: …" for a product Google has not (GAM-team/GAM#865)."""
    if product not in skus.PRODUCTS:
        raise invalid(f"Invalid ProductId: {product}")


def unauthorized() -> ApiError:
    """A SKU the tenant has no subscription for, or one its product lacks (code chosen:
    403; the message is Google's, taers232c/GAMADV-XTD3#187)."""
    return ApiError(403, "forbidden", UNAUTHORIZED)


def check_sku(tenant: Tenant, product: str, sku: str) -> None:
    """A SKU of `product` that the tenant subscribes to (has seats of), else 403."""
    if skus.by_id(product, sku) is None or sku not in tenant.license_seats.get(product, {}):
        raise unauthorized()


def check_subscribed(tenant: Tenant, product: str) -> None:
    """A product of which the tenant subscribes to some SKU, else 403."""
    if not tenant.license_seats.get(product):
        raise unauthorized()


def check_seats(tenant: Tenant, product: str, sku: str) -> None:
    """412 conditionNotMet when every seat of the SKU is taken."""
    if tenant.seats_used(product, sku) >= tenant.license_seats[product][sku]:
        raise ApiError(412, "conditionNotMet", NO_SEATS)


def not_held() -> ApiError:
    return ApiError(404, "notFound", NOT_HELD)


def user_id_of(tenant: Tenant, value: Any) -> str:
    """The id of the active user whose primary address `value` is (any case): the API
    names users by their current primary address. Anything else is 400 invalid."""
    if not isinstance(value, str) or not value.strip():
        raise invalid("Invalid Input: userId")
    hit = tenant.addresses.get(value.strip().lower())
    if hit is None or hit[0] != "user":
        raise invalid("Invalid Input: userId")
    if tenant.users[hit[1]]["primaryEmail"] != value.strip().lower():
        raise invalid("Invalid Input: userId")  # an alias is no userId
    return hit[1]


# ---- seeds and saved states -----------------------------------------------------------------


class LicenseProblems(ValueError):
    """Everything wrong with a seed's `licenses`: (key path, message) pairs."""

    def __init__(self, problems: list[tuple[tuple[str, ...], str]]):
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def load_licenses(tenant: Tenant, value: Any) -> None:
    """Set the tenant's seats and assignments from a seed's `licenses` (users loaded
    first); LicenseProblems naming every problem."""
    problems: list[tuple[tuple[str, ...], str]] = []
    if not isinstance(value, Mapping):
        raise LicenseProblems([((), "licenses: expected a mapping of seats and assigned")])
    seats = value.get("seats") or {}
    if not isinstance(seats, Mapping):
        raise LicenseProblems([(("seats",), "licenses.seats: expected a mapping SKU -> seats")])
    table: dict[str, dict[str, int]] = {}
    for name, count in seats.items():
        where = ("seats", str(name))
        sku = skus.find(str(name))
        if sku is None:
            problems.append((where, f"licenses.seats: {skus.suggestion(str(name))}"))
            continue
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            message = f"licenses.seats.{name}: seats must be a whole number, 0 or more"
            problems.append((where, message))
            continue
        if sku.id in table.get(sku.product, {}):
            problems.append((where, f"licenses.seats: {sku.name} ({sku.id}) is listed twice"))
            continue
        table.setdefault(sku.product, {})[sku.id] = count
    assigned = value.get("assigned") or {}
    if not isinstance(assigned, Mapping):
        problems.append((("assigned",), "licenses.assigned: expected a mapping user -> SKU"))
        assigned = {}
    tenant.license_seats = table
    for email, given in assigned.items():
        where = ("assigned", str(email))
        label = f"licenses.assigned.{email}"
        hit = tenant.addresses.get(str(email).strip().lower())
        if (
            hit is None
            or hit[0] != "user"
            or tenant.users[hit[1]]["primaryEmail"] != str(email).strip().lower()
        ):
            problems.append((where, f"{label}: no user has the primary address {email}"))
            continue
        names = given if isinstance(given, list) else [given]
        for name in names:
            sku = skus.find(str(name)) if isinstance(name, str | int) else None
            if sku is None:
                problems.append((where, f"{label}: {skus.suggestion(str(name))}"))
                continue
            if sku.id not in table.get(sku.product, {}):
                problems.append(
                    (where, f"{label}: {sku.name} has no seats (licenses.seats lacks it)")
                )
                continue
            held = tenant.license_of(hit[1], sku.product)
            if held is not None:
                message = f"{label}: a user holds one SKU of {sku.product}, not {held} and {sku.id}"
                problems.append((where, message))
                continue
            if tenant.seats_used(sku.product, sku.id) >= table[sku.product][sku.id]:
                problems.append(
                    (
                        where,
                        f"{label}: every one of the {table[sku.product][sku.id]} seats of "
                        f"{sku.name} is assigned already",
                    )
                )
                continue
            tenant._put_license(hit[1], sku.product, sku.id)
    if problems:
        raise LicenseProblems(problems)
