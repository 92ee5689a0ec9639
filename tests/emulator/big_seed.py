"""A synthetic emulator seed of any size, and a timing of loading it.

    python tests/emulator/big_seed.py /tmp/big.json --users 100000 --groups 10000 \\
        --members 500000

writes the seed as JSON, then times TenantStore loading it (from the seed, then from a
saved state file, and the snapshot in between) and prints the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from reconciler.google.marker import group_marker_line

DOMAINS = ("example.com", "example.org")
DEPARTMENTS = ("Engineering", "Sales", "Operations", "Finance", "Support", "Marketing")


def generate(users: int, groups: int, members: int) -> dict[str, Any]:
    """A seed document: `members` memberships spread evenly over `groups` groups; every
    50th group also holds an external address and the next group."""
    emails = [f"user{i:06d}@{DOMAINS[i % 10 == 9]}" for i in range(users)]
    doc: dict[str, Any] = {
        "domains": list(DOMAINS),
        "schemas": [
            {
                "schemaName": "Reconciler",
                "fields": [{"fieldName": "ownershipId", "fieldType": "STRING"}],
            }
        ],
        "orgUnits": [{"orgUnitPath": f"/{d}"} for d in DEPARTMENTS],
        "users": [],
        "groups": [],
    }
    for i, email in enumerate(emails):
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        doc["users"].append(
            {
                "primaryEmail": email,
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
                "orgUnitPath": f"/{dept}",
                "organizations": [{"title": f"Title {i % 40}", "department": dept}],
                "externalIds": [{"type": "organization", "value": f"E-{i:06d}"}],
                "customSchemas": {"Reconciler": {"ownershipId": "bench/identity"}},
            }
        )
    per_group, extra = divmod(members, groups) if groups else (0, 0)
    for g in range(groups):
        count = per_group + (1 if g < extra else 0)
        # (g*37 + k*1009) mod users never repeats within a group: 1009 is prime.
        group_members: list[dict[str, Any]] = [
            {"email": emails[(g * 37 + k * 1009) % users], "role": "MEMBER"} for k in range(count)
        ]
        if g % 50 == 0 and group_members:
            group_members[-1] = {"email": f"partner{g}@outside.net", "role": "MEMBER"}
            if g + 1 < groups:
                group_members[0] = {"email": f"group{g + 1:05d}@example.com", "role": "MEMBER"}
        doc["groups"].append(
            {
                "email": f"group{g:05d}@example.com",
                "name": f"Group {g}",
                "description": group_marker_line("bench/identity"),
                "members": group_members,
            }
        )
    return doc


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=500_000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parents[2]))
    from reconciler.emulator.store import TenantStore

    args.out.write_text(json.dumps(generate(args.users, args.groups, args.members)))
    gc.collect()  # the generated document is garbage now: time the load on a clean heap
    size = args.out.stat().st_size / 1e6
    print(f"seed: {args.out} ({size:.0f} MB)")
    start = time.perf_counter()
    store = TenantStore(seed=args.out)
    loaded = time.perf_counter() - start
    t = store.tenant
    memberships = sum(len(m) for m in t.members.values())
    print(
        f"load from seed: {loaded:.2f} s "
        f"({len(t.users)} users, {len(t.groups)} groups, {memberships} memberships)"
    )
    del store, t
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state.json"
        saver = TenantStore(seed=args.out, state=state)
        start = time.perf_counter()
        saver.compact()
        print(f"snapshot save: {time.perf_counter() - start:.2f} s")
        start = time.perf_counter()
        TenantStore(state=state)
        print(f"load from state: {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
