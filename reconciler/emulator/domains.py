"""The tenant's domains and domain aliases: records built from a seed, and which are usable.

A seed's `domains` entry is a domain name (verified, no aliases) or a Domains resource:
`{domainName, isPrimary, verified, creationTime, domainAliases: [{domainAliasName,
parentDomainName, verified, creationTime}]}`. The primary domain is the one marked
`isPrimary`, else the first. Choices where Google documents nothing:
- `verified` defaults to true. Addresses (users, groups, aliases) may use verified domains
  and verified aliases of verified domains only: anything else is "Domain not found.",
  as Google refuses addresses on a domain until it is verified.
- An address may be on a domain alias, primary addresses included (the emulator does not
  model Google's rules about which addresses a domain alias takes).
- `creationTime` (epoch milliseconds) is returned only when the seed gives it.
- Domains are read-only here: domains.insert/delete and domainAliases.insert/delete are
  not served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.emulator.errors import ApiError, invalid

Record = dict[str, Any]
DOMAIN_KEYS = frozenset(
    {"domainName", "isPrimary", "verified", "creationTime", "domainAliases", "etag", "kind"}
)
ALIAS_KEYS = frozenset(
    {"domainAliasName", "parentDomainName", "verified", "creationTime", "etag", "kind"}
)


def domain_record(value: Any) -> Record:
    """A domain record from a seed entry (a name or a Domains resource); ApiError if bad."""
    if isinstance(value, str):
        return {"domainName": _name(value, "domains"), "verified": True, "domainAliases": []}
    if not isinstance(value, Mapping):
        raise invalid("expected a domain name or a Domains resource")
    _known(value, DOMAIN_KEYS, "domain")
    name = _name(value.get("domainName"), "domainName")
    rec: Record = {"domainName": name, "verified": _flag(value, "verified", True)}
    if "isPrimary" in value:
        rec["isPrimary"] = _flag(value, "isPrimary", False)
    _creation_time(value, rec)
    aliases = value.get("domainAliases") or []
    if not isinstance(aliases, list):
        raise invalid(f"{name}: domainAliases: expected a list")
    rec["domainAliases"] = [_alias(name, a) for a in aliases]
    return rec


def finish(records: list[Record]) -> list[Record]:
    """Mark the primary domain (the one marked, else the first); ApiError for two marked or
    a name used twice."""
    marked = [r for r in records if r.get("isPrimary")]
    if len(marked) > 1:
        raise invalid("only one domain can be primary")
    names = [r["domainName"] for r in records]
    names += [a["domainAliasName"] for r in records for a in r["domainAliases"]]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise invalid(f"domain names listed twice: {', '.join(twice)}")
    for i, rec in enumerate(records):
        rec["isPrimary"] = rec is marked[0] if marked else i == 0
    return records


def usable(records: list[Record]) -> set[str]:
    """Names addresses may use: verified domains and their verified aliases."""
    out: set[str] = set()
    for rec in records:
        if rec["verified"]:
            out.add(rec["domainName"])
            out.update(a["domainAliasName"] for a in rec["domainAliases"] if a["verified"])
    return out


def seed_entry(rec: Record, first: bool) -> str | Record:
    """The record as a seed writes it: its bare name when that reads back the same."""
    plain = (
        rec["verified"]
        and not rec["domainAliases"]
        and "creationTime" not in rec
        and rec["isPrimary"] == first
    )
    if plain:
        return rec["domainName"]
    order = ("domainName", "isPrimary", "verified", "creationTime", "domainAliases")
    return {key: rec[key] for key in order if key in rec}


def _alias(parent: str, value: Any) -> Record:
    if isinstance(value, str):
        value = {"domainAliasName": value}
    if not isinstance(value, Mapping):
        raise invalid(f"{parent}: domainAliases: expected names or DomainAlias resources")
    _known(value, ALIAS_KEYS, "domain alias")
    name = _name(value.get("domainAliasName"), "domainAliasName")
    given = value.get("parentDomainName")
    if given is not None and str(given).lower() != parent:
        raise invalid(f"{name}: parentDomainName {given} is not {parent}, the domain it is under")
    rec: Record = {
        "domainAliasName": name,
        "parentDomainName": parent,
        "verified": _flag(value, "verified", True),
    }
    _creation_time(value, rec)
    return rec


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or "@" in value:
        raise invalid(f"{field}: expected a domain name")
    return value.strip().lower()


def _flag(value: Mapping[str, Any], key: str, default: bool) -> bool:
    flag = value.get(key, default)
    if not isinstance(flag, bool):
        raise invalid(f"{key}: expected true or false")
    return flag


def _creation_time(value: Mapping[str, Any], rec: Record) -> None:
    """creationTime as Google writes it: epoch milliseconds in a string."""
    if "creationTime" not in value:
        return
    given = value["creationTime"]
    if isinstance(given, bool) or not str(given).isdigit():
        raise invalid("creationTime: expected epoch milliseconds")
    rec["creationTime"] = str(given)


def _known(value: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise ApiError(400, "invalid", f"{what}: unknown field '{unknown[0]}'")
