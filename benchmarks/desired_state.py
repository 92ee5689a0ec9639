"""Generate a synthetic desired state of any size, to measure loading and validation.

python benchmarks/desired_state.py OUT_DIR --users 100000 --groups 10000 --members 500000
time reconciler validate OUT_DIR
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

DOMAINS = ("example.com", "example.org")
DEPARTMENTS = ("Engineering", "Sales", "Operations", "Finance", "Support", "Marketing")


def generate(out: Path, users: int, groups: int, members: int, seed: int = 7) -> None:
    """Write workspace.yaml, users split by department, groups and bindings into `out`."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    (out / "workspace.yaml").write_text(
        "directory:\n  domains: [example.com, example.org]\n\n"
        "ownership:\n  id: bench/identity\n\nprovider:\n  kind: emulator\n  seed: null\n"
    )
    emails = [f"user{i:06d}@{DOMAINS[i % 10 == 9]}" for i in range(users)]
    by_dept: dict[str, list[str]] = {d: [] for d in DEPARTMENTS}
    (out / "users").mkdir(exist_ok=True)
    for i, email in enumerate(emails):
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        manager = emails[i - i % 50] if i % 50 else None
        lines = [
            f"  - email: {email}",
            f"    given_name: Given{i}",
            f"    family_name: Family{i}",
            f"    org_unit: /{dept}/Team{i % 20}",
            f"    title: Title {i % 40}",
            f"    department: {dept}",
            f'    employee_id: "E-{i:06d}"',
        ]
        if manager:
            lines.append(f"    manager: {manager}")
        by_dept[dept].append("\n".join(lines))
    for dept, entries in by_dept.items():
        (out / "users" / f"{dept.lower()}.yaml").write_text("users:\n" + "\n".join(entries) + "\n")
    # One user in twenty has no binding (and so no group): the plan would suspend them.
    bound = [e for i, e in enumerate(emails) if i % 20 != 19]
    per_group = max(1, members // max(groups, 1))
    group_lines = []
    for g in range(groups):
        picked = sorted(rng.sample(bound, min(per_group, len(bound))))
        group_lines.append(
            f"  - name: group{g:05d}\n    email: group{g:05d}@example.com\n    members:\n"
            + "".join(f"      - {m}\n" for m in picked)
        )
    (out / "groups.yaml").write_text("groups:\n" + "".join(group_lines))
    bindings = "".join(f"  - user: {e}\n" for e in bound)
    (out / "bindings.yaml").write_text("bindings:\n" + bindings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--members", type=int, default=5000)
    args = parser.parse_args()
    generate(args.out, args.users, args.groups, args.members)


if __name__ == "__main__":
    main()
