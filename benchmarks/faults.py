"""Fault suite, long form: apply ~1,000 changes through injected faults and check nothing is
lost or duplicated.

    python benchmarks/faults.py --fault-seed 1
    python benchmarks/faults.py --fault-seed 2 --changes 0.16 --json out.json

Generates a tenant and its desired state (benchmarks/generate.py; the S size at a 16% change
share plans ~1,000 changes: user creates, title updates, member adds and removals), then:

1. baseline: a fault-free emulator on the same seed; apply; its API calls are what the apply
   costs with no faults (so the faulted apply's extra calls are its retries);
2. starts `reconciler emulator serve --fault-rate 0.2 --fault-seed N --latency-ms 5
   --consistency-delay-ms 200` in its own process; runs the CLI against it
   (RECONCILER_GOOGLE_ENDPOINT): plan (saved), `apply --auto-approve --audit-log`, and a
   further apply only when the first reports changes failed for good; then
   `plan --detailed-exitcode`, faults still on;
3. checks: the last apply exits 0, the next plan exits 0 (empty), the final tenant
   (GET /_emulator/state) has no duplicate users, groups or memberships and matches the
   desired state (users' names, org unit, title, department, employee id; every group's
   member set) read independently of the reconciler's loader, and the audit log holds each
   planned change applied exactly once across the runs and nothing else applied.

Prints the figures (changes, faults injected, retries, wall time) and exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import SIZES, Size, generate
from run import UNLIMITED, Emulator, run_cli


def delta(after: dict, before: dict) -> dict[str, Any]:
    """What happened between two stats snapshots."""
    out: dict[str, Any] = {
        k: after[k] - before[k] for k in ("api_calls", "http_requests", "faults_injected")
    }
    for key in ("faults_by_kind", "by_status"):
        diff = Counter(after[key])
        diff.subtract(before[key])
        out[key] = {k: v for k, v in sorted(diff.items()) if v}
    return out


# ---- the checks ------------------------------------------------------------------------


def desired_state(state: Path) -> tuple[dict[str, dict], dict[str, set[str]]]:
    """Users (by email, the fields the plan compares) and group member sets, read with a
    plain YAML parser, not the reconciler's loader."""
    yaml = YAML(typ="safe")
    users: dict[str, dict] = {}
    for path in sorted((state / "users").glob("*.yaml")):
        for u in yaml.load(path.read_text())["users"]:
            users[u["email"].lower()] = {
                "given_name": u["given_name"],
                "family_name": u["family_name"],
                "org_unit": u["org_unit"],
                "title": u["title"],
                "department": u["department"],
                "employee_id": str(u["employee_id"]),
            }
    groups = {
        g["email"].lower(): {m.lower() for m in g["members"]}
        for g in yaml.load((state / "groups.yaml").read_text())["groups"]
    }
    return users, groups


def tenant_problems(tenant: dict, state: Path) -> list[str]:
    """Duplicates in the tenant, and every way it differs from the desired state."""
    problems: list[str] = []
    want_users, want_groups = desired_state(state)
    emails = Counter(u["primaryEmail"].lower() for u in tenant["users"])
    problems += [f"user {e} is in the tenant {n} times" for e, n in emails.items() if n > 1]
    group_emails = Counter(g["email"].lower() for g in tenant["groups"])
    problems += [f"group {e} is in the tenant {n} times" for e, n in group_emails.items() if n > 1]

    have_users = {u["primaryEmail"].lower(): u for u in tenant["users"]}
    for email, want in want_users.items():
        u = have_users.get(email)
        if u is None:
            problems.append(f"user {email} is missing")
            continue
        org = next((o for o in u.get("organizations", []) if o.get("primary")), {})
        ids = [x["value"] for x in u.get("externalIds", []) if x.get("type") == "organization"]
        have = {
            "given_name": u["name"]["givenName"],
            "family_name": u["name"]["familyName"],
            "org_unit": u["orgUnitPath"],
            "title": org.get("title"),
            "department": org.get("department"),
            "employee_id": ids[0] if len(ids) == 1 else ids,
        }
        if u.get("suspended"):
            problems.append(f"user {email} is suspended")
        problems += [
            f"user {email}: {k} is {have[k]!r}, want {v!r}" for k, v in want.items() if have[k] != v
        ]
    problems += [
        f"user {e} is in the tenant only" for e in sorted(set(have_users) - set(want_users))
    ]

    have_groups = {g["email"].lower(): g for g in tenant["groups"]}
    for email, want_members in want_groups.items():
        g = have_groups.get(email)
        if g is None:
            problems.append(f"group {email} is missing")
            continue
        members = Counter(m["email"].lower() for m in g.get("members", []))
        problems += [f"{email}: member {m} is there {n} times" for m, n in members.items() if n > 1]
        if set(members) != want_members:
            problems.append(
                f"{email}: {len(want_members - set(members))} members missing, "
                f"{len(set(members) - want_members)} extra"
            )
    problems += [
        f"group {e} is in the tenant only" for e in sorted(set(have_groups) - set(want_groups))
    ]
    return problems


def audit_problems(planned: list[dict], audit: Path) -> tuple[list[str], Counter]:
    """Each planned change applied exactly once across the runs, and nothing else applied."""
    records = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    applied = Counter((r["action"], r["key"]) for r in records if r["result"] == "applied")
    want = Counter((c["action"], c["key"]) for c in planned)
    problems = [f"planned twice: {k}" for k, n in want.items() if n > 1]
    problems += [f"lost (never applied): {k}" for k in want if applied[k] == 0]
    problems += [f"applied {n} times: {k}" for k, n in applied.items() if n > 1]
    problems += [f"applied but not planned: {k}" for k in applied if k not in want]
    return problems, Counter(r["result"] for r in records)


# ---- the run ---------------------------------------------------------------------------


def baseline_calls(work: Path, state: Path, latency_ms: float) -> int:
    """API calls of the same apply with no faults and no consistency delay."""
    emulator = Emulator(work / "seed.json", work / "baseline-emulator.log", latency_ms=latency_ms)
    try:
        before = emulator.stats()
        code, _, _ = run_cli(
            ["apply", str(state), "--auto-approve", "--password-file", str(work / "baseline.pw")],
            emulator.url,
            work / "baseline-apply.log",
        )
        if code != 0:
            raise SystemExit(f"baseline apply exited {code}: see {work / 'baseline-apply.log'}")
        return emulator.stats()["api_calls"] - before["api_calls"]
    finally:
        emulator.stop()


def suite(work: Path, size: Size, changes: float, args: argparse.Namespace) -> dict[str, Any]:
    expected = generate(work, size, changes, UNLIMITED)
    state = work / "state"
    baseline = baseline_calls(work, state, args.latency_ms) if args.baseline else None
    emulator = Emulator(
        work / "seed.json",
        work / "emulator.log",
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fault_seed=args.fault_seed,
        consistency_delay_ms=args.consistency_delay_ms,
    )
    report: dict[str, Any] = {
        "expected_changes": expected.changes,
        "fault_rate": args.fault_rate,
        "fault_seed": args.fault_seed,
        "latency_ms": args.latency_ms,
        "consistency_delay_ms": args.consistency_delay_ms,
        "baseline_apply_calls": baseline,
        "steps": [],
    }
    problems: list[str] = []
    try:

        def step(name: str, cli_args: list[str]) -> tuple[int, float]:
            before = emulator.stats()
            code, seconds, peak = run_cli(cli_args, emulator.url, work / f"{name}.log")
            report["steps"].append(
                {"step": name, "exit": code, "seconds": round(seconds, 2), "peak_mb": round(peak)}
                | delta(emulator.stats(), before)
            )
            return code, seconds

        plan_file = work / "plan.json"
        code, _ = step("plan", ["plan", str(state), "--detailed-exitcode", "--out", str(plan_file)])
        if code != 2:
            raise SystemExit(f"the first plan exited {code}: see {work / 'plan.log'}")
        planned = json.loads(plan_file.read_text())["changes"]
        report["planned"] = len(planned)
        report["planned_by_action"] = dict(Counter(c["action"] for c in planned))

        audit = work / "audit.jsonl"
        audit.unlink(missing_ok=True)
        apply_seconds = 0.0
        outcomes = []
        for n in range(1, args.max_applies + 1):
            result = work / f"apply-{n}-result.json"
            code, seconds = step(
                f"apply-{n}",
                [
                    "apply",
                    str(state),
                    "--auto-approve",
                    "--audit-log",
                    str(audit),
                    "--result-file",
                    str(result),
                    "--password-file",
                    str(work / "passwords.txt"),
                ],
            )
            apply_seconds += seconds
            outcome = json.loads(result.read_text()) if result.exists() else {}
            outcomes.append({k: outcome.get(k) for k in ("applied", "failed", "skipped")})
            if code == 0:
                break
            if not outcome.get("failed"):  # not "some changes failed for good": a real error
                problems.append(f"apply {n} exited {code} with no failed change")
                break
        else:
            problems.append(f"apply did not finish in {args.max_applies} runs")
        report["applies"] = outcomes
        report["apply_seconds"] = round(apply_seconds, 2)

        code, _ = step(
            "plan-after",
            ["plan", str(state), "--detailed-exitcode", "--out", str(work / "after.json")],
        )
        if code != 0:
            problems.append(f"the plan after apply exited {code} (want 0: no changes)")

        stats = emulator.stats()
        report["faults_injected"] = stats["faults_injected"]
        report["faults_by_kind"] = stats["faults_by_kind"]
        apply_steps = [s for s in report["steps"] if s["step"].startswith("apply")]
        report["apply_api_calls"] = sum(s["api_calls"] for s in apply_steps)
        report["apply_faults"] = sum(s["faults_injected"] for s in apply_steps)
        if baseline is not None:
            report["retries"] = report["apply_api_calls"] - baseline

        problems += tenant_problems(emulator.get("/_emulator/state"), state)
        lost, results = audit_problems(planned, audit)
        problems += lost
        report["audit_results"] = dict(results)
    finally:
        emulator.stop()
    report["problems"] = problems
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--users", type=int, help="override the size's users")
    parser.add_argument("--groups", type=int, help="override the size's groups")
    parser.add_argument("--members", type=int, help="override the size's memberships")
    parser.add_argument("--changes", type=float, default=0.16, help="share that differs")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--fault-seed", type=int, default=1)
    parser.add_argument("--latency-ms", type=float, default=5)
    parser.add_argument("--consistency-delay-ms", type=float, default=200)
    parser.add_argument("--max-applies", type=int, default=3, help="applies before giving up")
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the fault-free apply (then retries are not reported)",
    )
    parser.add_argument("--work", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    args = parser.parse_args(argv)
    base = SIZES[args.size]
    size = Size(args.users or base.users, args.groups or base.groups, args.members or base.members)
    work = args.work or Path(tempfile.mkdtemp(prefix="reconciler-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    report = suite(work, size, args.changes, args)
    report["wall_seconds"] = round(time.perf_counter() - started, 1)

    print(
        f"fault suite: {size.users:,} users, {size.groups:,} groups, {size.members:,} "
        f"memberships; fault rate {args.fault_rate:g}, seed {args.fault_seed}, latency "
        f"{args.latency_ms:g} ms, consistency delay {args.consistency_delay_ms:g} ms; "
        f"files in {work}"
    )
    print(f"{'step':<12}{'exit':>5}{'wall s':>8}{'API calls':>11}{'faults':>8}  statuses")
    for s in report["steps"]:
        print(
            f"{s['step']:<12}{s['exit']:>5}{s['seconds']:>8.1f}{s['api_calls']:>11,}"
            f"{s['faults_injected']:>8,}  {s['by_status']}"
        )
    print(f"changes planned: {report.get('planned')} {report.get('planned_by_action')}")
    print(f"applies: {report.get('applies')}; audit results: {report.get('audit_results')}")
    print(
        f"faults injected: {report.get('faults_injected')} in all, {report.get('apply_faults')} "
        f"during apply {report.get('faults_by_kind')}"
    )
    if report.get("retries") is not None:
        print(
            f"retries (apply API calls {report['apply_api_calls']:,} - fault-free apply "
            f"{report['baseline_apply_calls']:,}): {report['retries']:,}"
        )
    print(f"apply wall s: {report.get('apply_seconds')}; whole suite: {report['wall_seconds']} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    if report["problems"]:
        print(f"FAILED: {len(report['problems'])} problems")
        for p in report["problems"][:50]:
            print("  " + p)
        raise SystemExit(1)
    print("OK: converged; no duplicates; tenant equals desired; each change applied once")


if __name__ == "__main__":
    main()
