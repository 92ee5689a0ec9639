"""How long the diff takes at scale: desired and actual States built in memory (no YAML, no
API), then make_plan alone, timed; then again under tracemalloc for its peak memory.

python benchmarks/diff_speed.py                      # 100,000 users, 10,000 groups, 500,000
python benchmarks/diff_speed.py --users 10000 --groups 1000 --members 50000 --changes 0.05

About `--changes` of the users and memberships differ (updates, creates, renames, adopts,
suspensions, unsuspensions; member adds, removals and role changes), so the plan is not
trivially empty. The goal of issue 5: under 5 seconds for the default size.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import time
import tracemalloc
from collections import Counter

from reconciler.plan.diff import make_plan
from reconciler.settings import Workspace
from reconciler.state import Group, Member, OrgUnit, State, User

OURS = "bench/identity"
DOMAINS = ("example.com", "example.org")
DEPARTMENTS = ("Engineering", "Sales", "Operations", "Finance", "Support", "Marketing")
ROLES = ("MEMBER",) * 8 + ("MANAGER", "OWNER")


def build(users: int, groups: int, members: int, share: float, seed: int) -> tuple[State, State]:
    """A desired and an actual State that differ in about `share` of users and members."""
    rng = random.Random(seed)
    desired, actual = State(), State()
    every = max(1, round(1 / share)) if share > 0 else 0
    emails: list[str] = []
    for i in range(users):
        email = f"user{i:06d}@{DOMAINS[i % 10 == 9]}"
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        unit = f"/{dept}/Team{i % 20}"
        attributes = dict(
            given_name=f"Given{i}",
            family_name=f"Family{i}",
            org_unit=unit,
            title=f"Title {i % 40}",
            department=dept,
            manager=f"user{i - i % 50:06d}@{DOMAINS[0]}" if i % 50 else None,
            employee_id=f"E-{i:06d}",
            aliases=(f"u{i}@{DOMAINS[0]}",),
        )
        kind = (i // every) % 7 if every and i % every == 0 else -1
        want = User(email, bound=True, **attributes)  # type: ignore[arg-type]
        have = User(email, owner=OURS, id=str(i), **attributes)  # type: ignore[arg-type]
        if kind == 0:
            have = User(email, owner=OURS, id=str(i), **{**attributes, "title": "Old title"})
        elif kind == 1:
            have = None  # a new hire: create
        elif kind == 2:  # renamed: Git has a new address, the old one in previous_emails
            want = User(
                f"renamed{i:06d}@{DOMAINS[0]}", bound=True, previous_emails=(email,), **attributes
            )  # type: ignore[arg-type]
        elif kind == 3:
            have = User(email, owner=None, id=str(i), **attributes)  # type: ignore[arg-type]
        elif kind == 4:
            want = User(email, bound=True, state="suspended", suspended=True, **attributes)  # type: ignore[arg-type]
        elif kind == 5:
            have = User(email, owner=OURS, id=str(i), suspended=True, **attributes)  # type: ignore[arg-type]
        elif kind == 6:
            want = None  # marked, no longer in Git: suspend
        if want is not None:
            desired.users[want.email] = want
            if want.email == email:
                emails.append(email)
        if have is not None:
            actual.users[email] = have
    for dept in DEPARTMENTS:
        for team in range(20):
            for path in (f"/{dept}", f"/{dept}/Team{team}"):
                desired.org_units[path] = OrgUnit(path, f"{path} unit")
                if not (team == 19 and path.endswith("19")):
                    actual.org_units[path] = OrgUnit(path, f"{path} unit")
    per_group = max(1, members // max(groups, 1))
    for g in range(groups):
        email = f"group{g:05d}@{DOMAINS[0]}"
        picked = rng.sample(emails, min(per_group, len(emails)))
        want_members = {e: Member(e, rng.choice(ROLES)) for e in sorted(picked)}
        have_members = {e: m for e, m in want_members.items() if e in actual.users}
        for j, e in enumerate(picked):
            if every and (g * per_group + j) % every == 0:
                change = rng.randrange(3)
                if change == 0:
                    have_members.pop(e, None)  # add
                elif change == 1:
                    have_members[e] = Member(
                        e, "OWNER" if want_members[e].role != "OWNER" else "MEMBER"
                    )  # role change
                else:
                    extra = rng.choice(emails)
                    have_members.setdefault(extra, Member(extra))  # remove (if not wanted)
        desired.groups[email] = Group(email, f"Group {g}", f"Group {g}", members=want_members)
        actual.groups[email] = Group(
            email, f"Group {g}", f"Group {g}", aliases=(), members=have_members, id=str(g)
        )
    return desired, actual


def workspace() -> Workspace:
    return Workspace.model_validate(
        {
            "directory": {"domains": list(DOMAINS)},
            "ownership": {"id": OURS},
            "provider": {"kind": "emulator"},
            "safety": {"max_suspend": None, "max_delete": None, "max_member_removals": None},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--changes", type=float, default=0.01, help="share that differs")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is shown")
    args = parser.parse_args()

    started = time.perf_counter()
    desired, actual = build(args.users, args.groups, args.members, args.changes, args.seed)
    memberships = sum(len(g.members) for g in desired.groups.values())
    print(
        f"built {len(desired.users):,} desired / {len(actual.users):,} actual users, "
        f"{len(desired.groups):,} groups, {memberships:,} memberships "
        f"in {time.perf_counter() - started:.1f} s"
    )
    ws = workspace()
    timings = []
    for _ in range(args.repeat):
        gc.collect()
        started = time.perf_counter()
        plan = make_plan(desired, actual, ws)
        timings.append(time.perf_counter() - started)
    counts = Counter((c.kind, c.action) for c in plan.changes)
    print("changes:", ", ".join(f"{n:,} {k} {a}" for (k, a), n in sorted(counts.items())))
    print(
        f"make_plan: {min(timings):.2f} s (best of {args.repeat}; all: "
        + ", ".join(f"{t:.2f}" for t in timings)
        + ")"
    )

    gc.collect()
    tracemalloc.start()
    make_plan(desired, actual, ws)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"make_plan peak memory: {peak / 2**20:.0f} MiB allocated (tracemalloc); "
        f"process peak RSS {rss:.0f} MiB, states included"
    )


if __name__ == "__main__":
    main()
