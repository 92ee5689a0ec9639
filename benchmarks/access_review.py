"""`reconciler access-review` at company scale, with a long history.

Writes a state directory (`--users` users, all bound; `--groups` exported groups with
`--members` memberships in all, an owner each, spread over `--files` files), commits it in a
fresh repository, then `--commits` more commits through `git fast-import` (a member added to
or taken from a group; every fifth a pull request merged with a merge commit carrying a
Reviewed-by trailer, the others squash commits "(#N)"). Then times the CLI in its own
process, `reconciler access-review state --offline --format json`, and checks the review:
one row per membership of the tip, every row naming its commit.

    python benchmarks/access_review.py                       # 10k groups, 500k memberships
    python benchmarks/access_review.py --files 1 --commits 500   # one big imported file
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

DOMAIN = "example.com"


def user(i: int) -> str:
    return f"user{i:06d}@{DOMAIN}"


def state_files(args: argparse.Namespace, groups: list[list[int]]) -> dict[str, str]:
    """Every file of the state directory, by path."""
    files = {
        "workspace.yaml": (
            f"directory:\n  domains: [{DOMAIN}]\n\nownership:\n  id: bench/identity\n\n"
            "provider:\n  kind: google\n\n"
            "safety:\n  max_suspend: null\n  max_delete: null\n  max_member_removals: null\n"
        ),
        "users.yaml": "users:\n"
        + "".join(
            f"  - email: {user(i)}\n    given_name: Given{i}\n    family_name: Family{i}\n"
            for i in range(args.users)
        ),
        "bindings.yaml": "bindings:\n"
        + "".join(f"  - user: {user(i)}\n" for i in range(args.users)),
    }
    for f in range(args.files):
        files[f"groups/g{f:04d}.yaml"] = group_file(args, groups, f)
    return files


def group_file(args: argparse.Namespace, groups: list[list[int]], f: int) -> str:
    lines = ["groups:"]
    for g in range(f, args.groups, args.files):
        members = groups[g]
        lines += [f"  - name: group-{g:05d}", f"    email: group-{g:05d}@{DOMAIN}", "    owners:"]
        lines.append(f"      - {user(members[0])}")
        lines.append("    members:")
        lines += [f"      - {user(m)}" for m in members[1:]]
    return "\n".join(lines) + "\n"


def fast_import_stream(
    args: argparse.Namespace, rng: random.Random, sink: BinaryIO
) -> list[list[int]]:
    """Write the whole history to `sink` as a `git fast-import` stream (as it is made: with
    one big file it is gigabytes); the groups' members at the tip."""
    per_group = args.members // args.groups
    groups = [rng.sample(range(args.users), per_group) for _ in range(args.groups)]
    out = sink
    when = 1_700_000_000
    mark = 0

    def commit(message: str, files: dict[str, str], parent: int | None, merge: int | None) -> int:
        nonlocal mark, when
        mark += 1
        when += 3600
        body = message.encode()
        out.write(b"commit refs/heads/%s\nmark :%d\n" % (b"main", mark))
        out.write(b"committer Bench <bench@example.com> %d +0000\n" % when)
        out.write(b"data %d\n%s\n" % (len(body), body))
        if parent is not None:
            out.write(b"from :%d\n" % parent)
        if merge is not None:
            out.write(b"merge :%d\n" % merge)
        for path, text in files.items():
            data = text.encode()
            out.write(b"M 100644 inline state/%s\ndata %d\n%s\n" % (path.encode(), len(data), data))
        return mark

    tip = commit("Initial directory (#1)", state_files(args, groups), None, None)
    for n in range(2, args.commits + 2):
        g = rng.randrange(args.groups)
        members = groups[g]
        if len(members) > 2 and rng.random() < 0.4:
            members.pop(rng.randrange(1, len(members)))
        else:
            candidate = rng.randrange(args.users)
            if candidate not in members:
                members.append(candidate)
        changed = {f"groups/g{g % args.files:04d}.yaml": group_file(args, groups, g % args.files)}
        if n % 5 == 0:  # a pull request: a branch commit, merged with a merge commit
            branch = commit(f"Change group-{g:05d}", changed, tip, None)
            out.write(b"reset refs/heads/main\nfrom :%d\n\n" % tip)
            message = (
                f"Merge pull request #{n} from acme/change-{n}\n\nReviewed-by: Olivia <o@{DOMAIN}>"
            )
            tip = commit(message, changed, tip, branch)
        else:
            tip = commit(f"Change group-{g:05d} (#{n})", changed, tip, None)
    return groups


def benchmark(args: argparse.Namespace, work: Path) -> tuple[int, float]:
    """Make the repository in `work`, time the review; the rows (checked) and wall seconds."""
    repo = work / "repo"
    repo.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    started = time.perf_counter()
    importer = subprocess.Popen([*git, "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert importer.stdin is not None
    with importer.stdin:
        groups = fast_import_stream(args, random.Random(args.seed), importer.stdin)
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run([*git, "checkout", "-q", "-f", "main"], check=True)
    made = time.perf_counter() - started
    print(f"history: {args.commits + 1:,} commits made in {made:.1f} s", file=sys.stderr)
    out = work / "review.json"
    command = [sys.executable, "-m", "reconciler", "access-review", str(repo / "state")]
    started = time.perf_counter()
    subprocess.run([*command, "--offline", "--format", "json", "--out", str(out)], check=True)
    wall = time.perf_counter() - started
    review = json.loads(out.read_text())
    rows = [r for g in review["groups"] for r in g["rows"]]
    expected = sum(len(m) for m in groups)
    assert len(rows) == expected, f"{len(rows)} rows, {expected} memberships"
    assert all(r["since"] and r["since"]["commit"] for r in rows), "a row without its commit"
    prs = {r["since"]["pull_request"] for r in rows}
    assert None not in prs, "every commit of the benchmark names its PR"
    return len(rows), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--commits", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="keep the repository here")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-review-"))
    rows, wall = benchmark(args, work)
    print(
        f"| groups | memberships | files | commits | wall s |\n|---|---|---|---|---|\n"
        f"| {args.groups:,} | {rows:,} | {args.files} | {args.commits + 1:,} | {wall:.1f} |"
    )


if __name__ == "__main__":
    main()
