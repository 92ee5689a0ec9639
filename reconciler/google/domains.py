"""The tenant's domains, read once per plan, and the guard that Git uses only those.

Google refuses every address (primary, alias) on a domain the tenant does not have, so a
user or group there would plan as a create and fail at apply with a 404. This reads
`domains.list` (one call: each domain carries its domain aliases) and refuses to plan,
naming every use in Git, when a user or group (email, alias or previous email), or an
entry of `directory.domains`, is on a domain the tenant lacks.

Choices: a domain alias counts as the tenant's (addresses on it are accepted; Google may
still refuse a primary address there). An unverified domain or domain alias does not count:
Google refuses addresses on it until it is verified. An empty listing is a failed read
(every tenant has a primary domain), never "no domains".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.desired import Desired
from reconciler.google.client import Call, GoogleClient
from reconciler.google.fetch import ShortReadError, listed
from reconciler.problems import ReconcilerError
from reconciler.state import Group, User

FIELDS = (
    "domains(domainName,isPrimary,verified,"
    "domainAliases(domainAliasName,parentDomainName,verified))"
)
# Uses of one missing domain listed in the error, at most (the rest are counted).
SHOWN = 10


class DomainError(ReconcilerError):
    """Git uses a domain the tenant does not have (or has not verified)."""


@dataclass(frozen=True)
class TenantDomain:
    """A domain of the tenant, or one of its domain aliases (`alias_of` its parent)."""

    name: str
    primary: bool = False
    verified: bool = True
    alias_of: str | None = None


@dataclass
class TenantDomains:
    """Every domain and domain alias the tenant has."""

    entries: list[TenantDomain] = field(default_factory=list)

    def usable(self) -> set[str]:
        """Names addresses may use: verified domains, and verified aliases of those."""
        verified = {d.name for d in self.entries if d.verified and d.alias_of is None}
        aliases = {d.name for d in self.entries if d.verified and d.alias_of in verified}
        return verified | aliases

    def get(self, name: str) -> TenantDomain | None:
        return next((d for d in self.entries if d.name == name), None)

    def describe(self) -> str:
        """`example.com (primary), example.org; domain aliases: example.co (of ...)`."""

        def shown(d: TenantDomain) -> str:
            notes = [n for n, on in (("primary", d.primary), ("unverified", not d.verified)) if on]
            return d.name + (f" ({', '.join(notes)})" if notes else "")

        domains = [shown(d) for d in self.entries if d.alias_of is None]
        aliases = [
            f"{d.name} (of {d.alias_of}{'' if d.verified else ', unverified'})"
            for d in self.entries
            if d.alias_of is not None
        ]
        text = ", ".join(domains) or "none"
        return text + (f"; domain aliases: {', '.join(aliases)}" if aliases else "")


def read_domains(client: GoogleClient, customer: str) -> TenantDomains:
    """The tenant's domains and domain aliases, in one `domains.list` call."""
    request = client.service.domains().list(customer=customer, fields=FIELDS)
    body = client.must(Call(request, "domains.list")) or {}
    found = TenantDomains()
    for resource in listed(body, "domains", "domains.list"):
        name = str(resource.get("domainName", "")).lower()
        found.entries.append(
            TenantDomain(name, bool(resource.get("isPrimary")), bool(resource.get("verified")))
        )
        for alias in listed(resource, "domainAliases", "domains.list"):
            found.entries.append(
                TenantDomain(
                    str(alias.get("domainAliasName", "")).lower(),
                    verified=bool(alias.get("verified")),
                    alias_of=str(alias.get("parentDomainName") or name).lower(),
                )
            )
    if not found.entries:
        raise ShortReadError(
            "domains.list returned no domains at all, yet every tenant has a primary domain: "
            "refusing to plan from what looks like a failed read; check the customer id and "
            "that the admin.directory.domain.readonly scope is delegated"
        )
    return found


def check_domains(desired: Desired, tenant: TenantDomains) -> None:
    """DomainError naming each domain Git uses that the tenant cannot hold addresses on,
    with every use (file:line) and the tenant's domains."""
    usable = tenant.usable()
    uses: dict[str, list[str]] = defaultdict(list)
    ws = desired.tree.workspace_source
    ws_path = _relative(ws.path, desired.tree.root).as_posix()
    for i, name in enumerate(desired.workspace.directory.domains):
        if name.lower() not in usable:
            line = ws.line_of("directory", "domains", i)
            uses[name.lower()].append(f"{ws_path}:{line}: directory.domains lists it")
    state = desired.state
    for kind, entries in (("user", state.users.values()), ("group", state.groups.values())):
        for entry in entries:
            where = f"{entry.origin}: " if entry.origin else ""
            for what, address in _addresses(entry):
                domain = address.rpartition("@")[2]
                if domain not in usable:
                    uses[domain].append(f"{where}{kind} {entry.email}{what}")
    if not uses:
        return
    lines = []
    for domain in sorted(uses):
        known = tenant.get(domain)
        why = "not verified in the tenant" if known is not None else "not a domain of the tenant"
        lines.append(f"  {domain} ({why}), used by:")
        lines += [f"    {use}" for use in uses[domain][:SHOWN]]
        if len(uses[domain]) > SHOWN:
            lines.append(f"    ... and {len(uses[domain]) - SHOWN} more")
    raise DomainError(
        "Git uses domains the tenant cannot hold addresses on (Google would refuse every "
        "address there); refusing to plan:\n" + "\n".join(lines) + "\n"
        f"The tenant's domains: {tenant.describe()}. Add and verify the domain in the Admin "
        "console, or take it out of Git."
    )


def _addresses(entry: User | Group) -> list[tuple[str, str]]:
    """(how it is written, address) for an entry's email, aliases and previous emails."""
    found = [("", entry.email)]
    found += [(f" (alias {a})", a) for a in entry.aliases or ()]
    found += [(f" (previous email {a})", a) for a in entry.previous_emails]
    return found


def _relative(path: Path, root: Path) -> Path:
    """Relative to the state directory, as origins are."""
    try:
        return path.relative_to(root)
    except ValueError:
        return path
