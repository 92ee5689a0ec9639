"""A pull request's targeted plan (`plan --changed-since`) at company scale, under a quota.

Generates a tenant and its desired state that match (`--changes 0`), commits the state in a
fresh git repository, then makes a change as a pull request would: new titles for
`--users` users and one more member in each of `--groups` groups. Then, against `reconciler
emulator serve` with the quota given, it runs `reconciler plan state --changed-since HEAD`
and, with `--full`, the full plan of the same working tree, and prints one row each: wall
seconds, API calls and round trips (from the emulator's stats), changes planned.

    python benchmarks/targeted.py --size L --quota-per-minute 2400 --full

The targeted plan's changes must be exactly the pull request's: the titles and the members
(checked, so a row is never a fast wrong answer).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import SIZES, Size, generate, user_email
from run import Emulator, Row, measured, run_cli, table

GIT = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]


def git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, timeout=600)


def pull_request(state: Path, users: int, groups: int, newcomer: str) -> tuple[set[str], set[str]]:
    """New titles for `users` users and `newcomer` in `groups` groups, in place; the emails
    of the users and groups changed."""
    changed_users: set[str] = set()
    for path in sorted((state / "users").glob("*.yaml")):
        lines = path.read_text().splitlines(keepends=True)
        email = None
        for i, line in enumerate(lines):
            if line.startswith("  - email: "):
                email = line.split(": ", 1)[1].strip()
            elif line.startswith("    title: ") and len(changed_users) < users and email:
                lines[i] = line.rstrip("\n") + " (promoted)\n"
                changed_users.add(email)
        path.write_text("".join(lines))
        if len(changed_users) >= users:
            break
    text = (state / "groups.yaml").read_text()
    entries = text.split("\n  - name: ")
    changed_groups: set[str] = set()
    for i in range(1, groups + 1):
        head, _, rest = entries[i].partition("    members:\n")
        email = head.split("email: ", 1)[1].split("\n", 1)[0].strip()
        entries[i] = f"{head}    members:\n      - {newcomer}\n{rest}"
        changed_groups.add(email)
    (state / "groups.yaml").write_text("\n  - name: ".join(entries))
    return changed_users, changed_groups


def planned(emulator: Emulator, work: Path, command: str, args: list[str]) -> tuple[Row, dict]:
    plan_file = work / f"{command.replace(' ', '-')}.json"
    before = emulator.stats()
    code, seconds, peak = run_cli(
        ["plan", str(work / "state"), "--out", str(plan_file), *args],
        emulator.url,
        work / f"{command.replace(' ', '-')}.log",
    )
    plan = json.loads(plan_file.read_text()) if code == 0 else {"changes": []}
    row = measured(
        emulator,
        before,
        command=command,
        seconds=seconds,
        minimum_calls=0,
        peak_mb=peak,
        changes=len(plan["changes"]),
        failed=0,
        exit_code=code,
    )
    return row, plan


def benchmark(
    work: Path, size: Size, users: int, groups: int, quota: int, full: bool, latency_ms: float = 0
) -> list[Row]:
    generate(work, size, 0.0, quota)
    state = work / "state"
    git(work, "init", "-q")
    git(work, "add", "state")
    git(work, "commit", "-qm", "the directory")
    # The member added: the tenant's last user, in none of the first groups.
    newcomer = user_email(size.users - 1)
    changed_users, changed_groups = pull_request(state, users, groups, newcomer)
    emulator = Emulator(
        work / "seed.json", work / "emulator.log", quota_per_minute=quota, latency_ms=latency_ms
    )
    rows: list[Row] = []
    try:
        row, plan = planned(emulator, work, "targeted", ["--changed-since", "HEAD"])
        rows.append(row)
        keys = {(c["kind"], c["action"], c["key"]) for c in plan["changes"]}
        wanted = {("user", "update", e) for e in changed_users}
        wanted |= {("membership", "add_member", f"{g}/{newcomer}") for g in changed_groups}
        if keys != wanted:
            raise SystemExit(
                f"the targeted plan is not the pull request's: {sorted(keys ^ wanted)[:5]}"
            )
        if full:
            # The targeted plan's calls count against the emulator's quota minute.
            time.sleep(61 if quota else 0)
            rows.append(planned(emulator, work, "full", [])[0])
    finally:
        emulator.stop()
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--users", type=int, default=10, help="users the change retitles")
    parser.add_argument("--groups", type=int, default=3, help="groups the change adds to")
    parser.add_argument("--quota-per-minute", type=int, default=2400)
    parser.add_argument("--full", action="store_true", help="also plan in full, for comparison")
    parser.add_argument("--latency-ms", type=float, default=0, help="emulator: added per request")
    parser.add_argument("--work", type=Path, help="keep the files here (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rows = benchmark(
            work,
            SIZES[args.size],
            args.users,
            args.groups,
            args.quota_per_minute,
            args.full,
            args.latency_ms,
        )
    print(table(rows))


if __name__ == "__main__":
    main()
