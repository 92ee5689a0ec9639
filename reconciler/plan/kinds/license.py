"""A change to the license one account holds of `licenses.product` (Enterprise License
Manager API); `key` is the account's primary email after this plan's renames, the field
`sku` says the SKU ids before and after ("none": no license of that product)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.plan.change import Change
from reconciler.plan.change_json import ChangeRecord
from reconciler.skus import DEFAULT_PRODUCT, shown

_TEXTS = {
    "assign_license": "assign a license to {}",
    "change_license": "change the license of {}",
    "revoke_license": "revoke the license of {}",
}


@dataclass(frozen=True)
class LicenseChange(Change):
    kind = "license"
    label = "license"
    plural = "licenses"
    scoped_by = "users"
    # A rule's typo can move a whole team to another SKU: changes count with revocations.
    limits = {
        "revoke_license": "license revocations and changes",
        "change_license": "license revocations and changes",
    }
    # A revocation takes a person's Google services away.
    protected = frozenset({"revoke_license"})
    # After the accounts exist (created, renamed, restored, unsuspended); revocations first
    # so the seats they free are there for the assignments.
    phases = {"revoke_license": 92, "change_license": 94, "assign_license": 96}

    product: str = DEFAULT_PRODUCT

    def summary_text(self) -> str:
        return _TEXTS[self.action].format(self.key)

    def field_lines(self) -> list[str]:
        sku = self.fields["sku"]
        old, new = (_named(self.product, v) for v in (sku.old, sku.new))
        if self.action == "assign_license":
            return [f"    sku: {new}"]
        return [f"    sku: {old} -> {new}"]

    def json_extras(self) -> dict[str, Any]:
        return {"product": self.product}

    @classmethod
    def extras_of(cls, record: ChangeRecord) -> dict[str, Any]:
        return {"product": record.product or DEFAULT_PRODUCT}


def _named(product: str, sku_id: str | None) -> str:
    """A SKU as a plan shows it: its friendly name with Google's id."""
    if sku_id is None:
        return "none"
    name = shown(product, sku_id)
    return name if name == sku_id else f"{name} ({sku_id})"
