"""The Licensing API (Enterprise License Manager, licensing v1): read a product's license
assignments, and assign, reassign and revoke one user's license.

Calls run through `client.licenses` (GoogleClient.licenses): the same connection,
credentials, pacing (one quota) and retries as the Directory's, batched at the Licensing
API's own batch URL. Its scope (`apps.licensing`) is asked for only by a client connected
with `licenses=True`.

Writes are idempotent where a fresh read can prove the work done, as in ops.py: an assign
answered 409 is done when the user holds the SKU; a reassign answered 404 (the user no longer
holds the old SKU) is done when it holds the new one; a revoke answered 404 is done (the user
does not hold that SKU). Google answers a reassignment to the SKU the user holds with a 500
(GAM-team/GAM#1046), which is refused here before any call, and which the client does not
retry (retry.REFUSAL_REASONS).

    assignments = list_assignments(client, "Google-Apps", customer_id(client, ...))
    outcome = client.licenses.execute(assign_call(client, "Google-Apps", sku, email))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reconciler.google.client import Call, GoogleApiError, GoogleClient, Outcome
from reconciler.google.fetch import Actual, MalformedAnswer, ShortReadError, listed

# The document allows up to 1000; Google's limits page says a page holds 100: ask for the
# most, take what comes, follow every nextPageToken.
PAGE = 1000


def list_assignments(client: GoogleClient, product: str, customer: str) -> dict[str, str]:
    """Every license of `product` in the tenant: lower-case primary email -> skuId.

    Reads listForProduct page after page. GoogleApiError when the first page fails;
    ShortReadError when the chain of pages does not end cleanly (a later page fails, a page
    token comes back again, a user is listed with two SKUs: the listing changed while it
    was read), since acting on part of the assignments could revoke or reassign the rest;
    MalformedAnswer for an answer without the API's shape."""
    api = client.licenses
    found: dict[str, str] = {}
    seen_tokens: set[str] = set()
    token: str | None = None
    pages = 0
    while True:
        request = api.service.licenseAssignments().listForProduct(
            productId=product, customerId=customer, maxResults=PAGE, pageToken=token
        )
        label = f"licenseAssignments.listForProduct {product}"
        outcome = api.execute(Call(request, label))
        if not outcome.ok:
            if pages:
                raise ShortReadError(
                    f"{label}: page {pages + 1} failed after {len(found)} assignments were "
                    f"read ({outcome.error}): refusing to act on part of the licenses"
                )
            raise _failed(outcome)
        pages += 1
        body = outcome.body or {}
        for item in listed(body, "items", label):
            email, sku = _assignment(item, product, label)
            if found.get(email, sku) != sku:
                raise ShortReadError(
                    f"{label}: {email} is listed with {found[email]} and with {sku}: the "
                    "licenses changed while they were read; read them again"
                )
            found[email] = sku
        token = body.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise MalformedAnswer(f"{label}: nextPageToken is not text")
        if not token:
            return found
        if token in seen_tokens:
            raise ShortReadError(
                f"{label}: page {pages} gave a page token it gave before: the pages go round "
                f"in a circle after {len(found)} assignments; refusing to act on them"
            )
        seen_tokens.add(token)


def customer_id(client: GoogleClient, customer: str, actual: Actual) -> str:
    """The customer's id (C0...) the Licensing API is documented to take: `customer` itself
    unless it is the Directory's alias `my_customer`, then read off an account the Directory
    listed (users.get with only customerId: one call)."""
    if customer != "my_customer":
        return customer
    if not actual.state.users:
        raise GoogleApiError("the customer's id: the tenant lists no account to read it from")
    email = min(actual.state.users)
    request = client.service.users().get(userKey=email, fields="customerId")
    outcome = client.execute(Call(request, f"users.get {email} (customerId)"))
    found = (
        outcome.body.get("customerId") if outcome.ok and isinstance(outcome.body, dict) else None
    )
    if not isinstance(found, str) or not found:
        raise GoogleApiError(f"the customer's id, from users.get {email}: {outcome.error}")
    return found


def assign_call(client: GoogleClient, product: str, sku: str, email: str) -> Call:
    """licenseAssignments.insert: give `email` the SKU (seats allowing). A 409 is done when
    the user holds that SKU already (read afresh)."""
    request = client.licenses.service.licenseAssignments().insert(
        productId=product, skuId=sku, body={"userId": email}
    )
    return Call(
        request,
        f"licenseAssignments.insert {email} {product}/{sku}",
        done_if=_holds_on(client, 409, product, sku, email, "holds it already"),
    )


def reassign_call(
    client: GoogleClient, product: str, old_sku: str, new_sku: str, email: str
) -> Call:
    """licenseAssignments.patch: move `email` from `old_sku` to `new_sku` of one product.
    ValueError when they are the same (Google: a 500 that no retry changes). A 404 (the
    user no longer holds `old_sku`) is done when it holds `new_sku` (read afresh)."""
    if old_sku == new_sku:
        raise ValueError(f"reassigning {email} from {product}/{old_sku} to the same SKU")
    request = client.licenses.service.licenseAssignments().patch(
        productId=product, skuId=old_sku, userId=email, body={"skuId": new_sku}
    )
    return Call(
        request,
        f"licenseAssignments.patch {email} {product}/{old_sku} -> {new_sku}",
        done_if=_holds_on(client, 404, product, new_sku, email, "holds the new SKU already"),
    )


def revoke_call(client: GoogleClient, product: str, sku: str, email: str) -> Call:
    """licenseAssignments.delete: take the SKU from `email`; 404 (it does not hold it) is
    done."""
    request = client.licenses.service.licenseAssignments().delete(
        productId=product, skuId=sku, userId=email
    )
    return Call(
        request,
        f"licenseAssignments.delete {email} {product}/{sku}",
        done_statuses={404: "already gone"},
    )


def holds(client: GoogleClient, product: str, sku: str, email: str) -> bool:
    """Whether `email` holds `sku` of `product` now (a fresh get; False when the get fails,
    so a real conflict is never taken for done)."""
    request = client.licenses.service.licenseAssignments().get(
        productId=product, skuId=sku, userId=email
    )
    outcome = client.licenses.execute(
        Call(request, f"licenseAssignments.get {email} {product}/{sku}")
    )
    return outcome.ok and isinstance(outcome.body, dict) and outcome.body.get("skuId") == sku


def _holds_on(
    client: GoogleClient, status: int, product: str, sku: str, email: str, note: str
) -> Callable[[int, str, str, bool], str | None]:
    def done_if(got: int, _reason: str, _message: str, _maybe_done: bool) -> str | None:
        return note if got == status and holds(client, product, sku, email) else None

    return done_if


def _assignment(item: dict[str, Any], product: str, label: str) -> tuple[str, str]:
    email, sku = item.get("userId"), item.get("skuId")
    if not isinstance(email, str) or not email or not isinstance(sku, str) or not sku:
        raise MalformedAnswer(f"{label}: an entry without a userId or skuId")
    if item.get("productId", product) != product:
        raise MalformedAnswer(f"{label}: an entry of product {item.get('productId')}")
    return email.lower(), sku


def _failed(outcome: Outcome) -> GoogleApiError:
    """The first page's failure, with what to check where Google's words do not say it."""
    hint = ""
    error = outcome.error or ""
    if outcome.status == 403 and "unauthorized operation" in error.lower():
        hint = (
            " (Google answers so for a product the tenant has no subscription of: check "
            "licenses.product in workspace.yaml, and that the admin may manage licenses)"
        )
    elif outcome.status == 400 and "productid" in error.lower():
        hint = " (check licenses.product in workspace.yaml)"
    return GoogleApiError(f"{outcome.call.label}: {error}{hint}")
