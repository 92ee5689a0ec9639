"""domains.list/get and domainAliases.list/get: the tenant's domains, read-only (domains.py)."""

from __future__ import annotations

from typing import Any

from reconciler.emulator.errors import domain_not_found
from reconciler.emulator.ids import next_etag
from reconciler.emulator.request import Call
from reconciler.emulator.rules import check_customer
from reconciler.emulator.tenant import Record

Answer = tuple[int, dict[str, Any] | None]


def render_alias(rec: Record) -> dict[str, Any]:
    """A DomainAlias resource as Google returns it."""
    out: dict[str, Any] = {
        "kind": "admin#directory#domainAlias",
        "etag": next_etag(f"domainAlias/{rec['domainAliasName']}"),
        "domainAliasName": rec["domainAliasName"],
        "parentDomainName": rec["parentDomainName"],
        "verified": rec["verified"],
    }
    if "creationTime" in rec:
        out["creationTime"] = rec["creationTime"]
    return out


def render_domain(rec: Record) -> dict[str, Any]:
    """A Domains resource as Google returns it, its aliases inline."""
    out: dict[str, Any] = {
        "kind": "admin#directory#domain",
        "etag": next_etag(f"domain/{rec['domainName']}"),
        "domainName": rec["domainName"],
        "isPrimary": rec["isPrimary"],
        "verified": rec["verified"],
    }
    if "creationTime" in rec:
        out["creationTime"] = rec["creationTime"]
    if rec["domainAliases"]:
        out["domainAliases"] = [render_alias(a) for a in rec["domainAliases"]]
    return out


def _domains(call: Call) -> list[Record]:
    check_customer(call.tenant, call.params["customer"])
    return call.tenant.domain_records


def _aliases(call: Call) -> list[Record]:
    return [a for d in _domains(call) for a in d["domainAliases"]]


def list_domains(call: Call) -> Answer:
    records = _domains(call)
    # A short listing (tests of the client's guard) leaves out the last domains.
    drop = call.short_listing.get("domains", 0)
    if drop:
        records = records[: max(len(records) - drop, 0)]
    out: dict[str, Any] = {
        "kind": "admin#directory#domains",
        "etag": next_etag(f"domains/{call.tenant.generation}"),
    }
    if records:
        out["domains"] = [render_domain(r) for r in records]
    return 200, out


def get_domain(call: Call) -> Answer:
    name = call.params["domainName"].lower()
    for rec in _domains(call):
        if rec["domainName"] == name:
            return 200, render_domain(rec)
    raise domain_not_found()


def list_domain_aliases(call: Call) -> Answer:
    every = _aliases(call)
    parent = (call.arg("parentDomainName") or "").lower()
    if parent and parent not in call.tenant.domains:
        raise domain_not_found()
    aliases = [a for a in every if not parent or a["parentDomainName"] == parent]
    out: dict[str, Any] = {
        "kind": "admin#directory#domainAliases",
        "etag": next_etag(f"domainAliases/{call.tenant.generation}"),
    }
    if aliases:
        out["domainAliases"] = [render_alias(a) for a in aliases]
    return 200, out


def get_domain_alias(call: Call) -> Answer:
    name = call.params["domainAliasName"].lower()
    for rec in _aliases(call):
        if rec["domainAliasName"] == name:
            return 200, render_alias(rec)
    raise domain_not_found()
