"""Google's license products and SKUs: the one table of friendly names and ids.

Source: Google's list of products and SKUs of the Enterprise License Manager API
(developers.google.com/workspace/admin/licensing/v1/how-tos/products); Cloud Identity and
Vault as GAM's SKU table holds them. `workspace.yaml` (`licenses:`) and a user's `license:`
may name a SKU by its friendly name or its id; the emulator answers with these names.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

NO_LICENSE = "none"  # what Git writes for "no license of this product"
DEFAULT_PRODUCT = "Google-Apps"


@dataclass(frozen=True, slots=True)
class Sku:
    name: str  # friendly, as written in YAML
    product: str  # productId
    id: str  # skuId
    display: str  # skuName, as Google shows it


_GOOGLE_APPS = "Google-Apps"
SKUS: tuple[Sku, ...] = (
    Sku("business-starter", _GOOGLE_APPS, "1010020027", "Google Workspace Business Starter"),
    Sku("business-standard", _GOOGLE_APPS, "1010020028", "Google Workspace Business Standard"),
    Sku("business-plus", _GOOGLE_APPS, "1010020025", "Google Workspace Business Plus"),
    Sku("enterprise-starter", _GOOGLE_APPS, "1010020029", "Google Workspace Enterprise Starter"),
    Sku("enterprise-standard", _GOOGLE_APPS, "1010020026", "Google Workspace Enterprise Standard"),
    Sku("enterprise-plus", _GOOGLE_APPS, "1010020020", "Google Workspace Enterprise Plus"),
    Sku("essentials", _GOOGLE_APPS, "1010060001", "Google Workspace Essentials"),
    Sku(
        "enterprise-essentials",
        _GOOGLE_APPS,
        "1010060003",
        "Google Workspace Enterprise Essentials",
    ),
    Sku(
        "enterprise-essentials-plus",
        _GOOGLE_APPS,
        "1010060005",
        "Google Workspace Enterprise Essentials Plus",
    ),
    Sku("frontline-starter", _GOOGLE_APPS, "1010020030", "Google Workspace Frontline Starter"),
    Sku("frontline-standard", _GOOGLE_APPS, "1010020031", "Google Workspace Frontline Standard"),
    Sku("frontline-plus", _GOOGLE_APPS, "1010020034", "Google Workspace Frontline Plus"),
    Sku("g-suite-business", _GOOGLE_APPS, "Google-Apps-Unlimited", "G Suite Business"),
    Sku("g-suite-basic", _GOOGLE_APPS, "Google-Apps-For-Business", "G Suite Basic"),
    Sku("g-suite-lite", _GOOGLE_APPS, "Google-Apps-Lite", "G Suite Lite"),
    Sku(
        "education-fundamentals",
        _GOOGLE_APPS,
        "Google-Apps-For-Education",
        "Google Workspace for Education Fundamentals",
    ),
    Sku("education-standard", "101031", "1010310005", "Google Workspace for Education Standard"),
    Sku(
        "education-standard-staff",
        "101031",
        "1010310006",
        "Google Workspace for Education Standard (Staff)",
    ),
    Sku(
        "education-standard-extra-student",
        "101031",
        "1010310007",
        "Google Workspace for Education Standard (Extra Student)",
    ),
    Sku("education-plus", "101031", "1010310008", "Google Workspace for Education Plus"),
    Sku(
        "education-plus-staff",
        "101031",
        "1010310009",
        "Google Workspace for Education Plus (Staff)",
    ),
    Sku(
        "education-plus-extra-student",
        "101031",
        "1010310010",
        "Google Workspace for Education Plus (Extra Student)",
    ),
    Sku("teaching-and-learning", "101037", "1010370001", "Google Workspace Teaching and Learning"),
    Sku("cloud-identity-free", "101001", "1010010001", "Cloud Identity"),
    Sku("cloud-identity-premium", "101005", "1010050001", "Cloud Identity Premium"),
    Sku("vault", "Google-Vault", "Google-Vault", "Google Vault"),
    Sku("vault-former-employee", "Google-Vault", "Google-Vault-Former-Employee", "Google Vault"),
)

PRODUCTS: frozenset[str] = frozenset(s.product for s in SKUS)
# productName, as the Licensing API shows it: GAM's product table (gamlib/glskus.py); what
# Google answers for each is not documented.
PRODUCT_NAMES: dict[str, str] = {
    _GOOGLE_APPS: "Google Workspace",
    "101031": "Google Workspace for Education",
    "101037": "Google Workspace for Education",
    "101001": "Cloud Identity Free",
    "101005": "Cloud Identity Premium",
    "Google-Vault": "Google Vault",
}
_BY_NAME = {s.name: s for s in SKUS}
# A SKU id may be in several products (Google-Vault); ids are unique within one.
_BY_ID = {(s.product, s.id): s for s in SKUS}


class UnknownSku(ValueError):
    """A SKU name or id that is not in the table (the message suggests the nearest)."""


def lookup(text: str, product: str) -> Sku:
    """The SKU `text` names (a friendly name, any case, or an id) within `product`."""
    found = _BY_NAME.get(text.strip().lower()) or _BY_ID.get((product, text.strip()))
    if found is None:
        # Suggested and listed: the SKUs of this product alone (another's would be refused).
        names = [s.name for s in SKUS if s.product == product] or list(_BY_NAME)
        close = difflib.get_close_matches(text.strip().lower(), names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UnknownSku(
            f"unknown license SKU '{text}'{hint}; the SKUs of {product}: {', '.join(names)}"
        )
    if found.product != product:
        raise UnknownSku(
            f"'{text}' is a SKU of product {found.product}, not of {product} "
            "(licenses.product): one block manages the SKUs of one product"
        )
    return found


def find(text: str) -> Sku | None:
    """The SKU `text` names in any product: a friendly name (any case) or a SKU id that only
    one product has; None if none (or several) does."""
    key = text.strip()
    found = _BY_NAME.get(key.lower())
    if found is not None:
        return found
    matches = [s for s in SKUS if s.id == key]
    return matches[0] if len(matches) == 1 else None


def suggestion(text: str) -> str:
    """`unknown license SKU 'x' (did you mean 'y'?)`, among the SKUs of every product."""
    close = difflib.get_close_matches(text.strip().lower(), list(_BY_NAME), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown license SKU '{text}'{hint}"


def by_id(product: str, sku_id: str) -> Sku | None:
    """The table's SKU of `product` with Google's id `sku_id` (None: not in the table)."""
    return _BY_ID.get((product, sku_id))


def shown(product: str, sku_id: str) -> str:
    """A SKU as plans and reports show it: its friendly name, else its id."""
    if sku_id == NO_LICENSE:
        return NO_LICENSE
    found = by_id(product, sku_id)
    return found.name if found is not None else sku_id
