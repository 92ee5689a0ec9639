"""A generated tenant for round trips: a few hundred users, tens of groups, and the awkward
cases a real tenant has (text YAML would misread, unicode names, managers in chains, aliases,
suspended and foreign accounts, nested groups, external members). Repeatable: seeded."""

from __future__ import annotations

import random
from typing import Any

from .support import OURS, THEIRS, account, google_group, tenant

GIVEN = ["Ana", "José", "Zoë", "Li", "Øystein", "Mary-Jane", "O'Neil", "Ngozi", "Yui", "Bo"]
FAMILY = ["Ruiz", "Müller", "Nakamura", "D'Souza", "van der Berg", "Ó Briain", "Kim", "Lee"]
TITLES = [
    "Engineer",
    "VP, Sales",
    "Lead: Platform",
    "C# Developer",
    "#1 Support",
    "yes",
    "null",
    "- intern",
    "'Quoted'",
    'He said "hi"',
    "100%",
    "[contract]",
    "&ops",
    "*star",
    "Manager @ HQ",
]
DEPARTMENTS = ["Engineering", "R&D", "Sales", "Ops", "Finance", "true", "Ünïcode"]
UNITS = ["/", "/Eng", "/Eng/Platform", "/Sales", "/Sales/EMEA", "/Ops"]
EMPLOYEE_IDS = ["0123", "1e3", "007", "E-{i}", "{i}", "0x1F", "1_000"]


def generated_tenant(users: int = 300, groups: int = 30, seed: int = 7) -> dict[str, Any]:
    """A seed document; about a fifth of the accounts are ours, a few another repository's,
    some suspended; groups nest, hold externals, and some hold accounts Git cannot name."""
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    emails: list[str] = []
    for i in range(users):
        domain = "example.org" if i % 7 == 6 else "example.com"
        email = f"user{i:04d}@{domain}"
        roll = rng.random()
        owner = OURS if roll < 0.2 else THEIRS if roll > 0.96 else None
        extra: dict[str, Any] = {}
        if i % 11 == 3:
            extra["recoveryEmail"] = f"user{i}@home.example.net"
        if i % 13 == 5:
            extra["recoveryPhone"] = f"+1555010{i:04d}"
        person = account(
            email,
            rng.choice(GIVEN),
            rng.choice(FAMILY),
            owner=owner,
            org_unit=rng.choice(UNITS),
            title=rng.choice(TITLES) if i % 5 else None,
            department=rng.choice(DEPARTMENTS) if i % 3 else None,
            phone=f"+1 555 {i:04d}" if i % 4 else None,
            employee_id=rng.choice(EMPLOYEE_IDS).format(i=i) if i % 6 else None,
            manager=emails[rng.randrange(len(emails))] if emails and i % 9 else None,
            aliases=[f"alias{i}@{domain}"] + ([f"alt{i}@example.com"] if i % 10 == 0 else [])
            if i % 4 == 1
            else [],
            suspended=i % 17 == 8,
            **extra,
        )
        if i % 19 == 4:
            person.setdefault("organizations", [{"primary": True}])[0]["costCenter"] = f"CC-{i}"
        people.append(person)
        emails.append(email)
    found: list[dict[str, Any]] = []
    names = [f"team{g:02d}" for g in range(groups)]
    for g, name in enumerate(names):
        picked = rng.sample(emails, 12)
        group = google_group(
            f"{name}@example.com" if g % 9 != 8 else f"{name}@example.org",
            f"Team {g}: {rng.choice(TITLES)}" if g % 3 else name,
            owners=picked[:1],
            managers=picked[1:2] if g % 2 else [],
            members=picked[2:],
            # Nesting: every team holds the next one (a chain through the whole tenant).
            groups=[f"{names[g + 1]}@example.com"] if g + 1 < groups and (g + 1) % 9 != 8 else [],
            external=[f"partner{g}@outside.example.net"] if g % 4 == 0 else [],
            aliases=[f"{name}-alias@example.com"] if g % 6 == 1 else [],
            description=rng.choice(TITLES) if g % 2 else None,
        )
        found.append(group)
    found.append(google_group("empty@example.com", "Nobody yet"))
    return tenant(people, found, org_units=[u for u in UNITS if u != "/"])
