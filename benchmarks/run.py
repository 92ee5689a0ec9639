"""Run plan (and apply) of a synthetic tenant as a user would, and print what it cost.

    python benchmarks/run.py --size S --apply
    python benchmarks/run.py --size M --latency-ms 20
    python benchmarks/run.py --size S --apply --quota-per-minute 2400
    python benchmarks/run.py --size S --apply --entra

Generates a tenant and its desired state (benchmarks/generate.py), starts `reconciler
emulator serve` in its own process, runs the `reconciler` CLI in a child process with
RECONCILER_GOOGLE_ENDPOINT pointing at it, and prints one row per command: wall seconds, API
calls against the minimum the API allows, HTTP round trips (a batch is one), the peak memory
of the reconciler process, changes planned or applied, failed changes and quota errors.
With --entra, every group is exported to Microsoft Entra ID too, the emulator serves
Microsoft Graph on the same port, and each row adds Graph's calls (each `$batch` item one)
against their minimum, and Graph's round trips.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import ENTRA_ENDPOINT_PLACEHOLDER, SIZES, Expected, Size, generate

UNLIMITED = 10**9  # workspace quota when the emulator has none: no pacing


@dataclass
class Row:
    """What one CLI command cost."""

    command: str
    seconds: float
    api_calls: int
    minimum_calls: int
    round_trips: int
    peak_mb: float
    changes: int  # planned (plan) or applied (apply)
    failed: int
    quota_errors: int
    exit_code: int
    quota_bound_seconds: float | None = None  # apply: the least time the quota allows
    graph_calls: int = 0  # --entra: Graph calls (each $batch item one, the envelope none)
    graph_minimum_calls: int = 0
    graph_round_trips: int = 0  # HTTP requests to Graph (a $batch is one; tokens not)

    @property
    def over_minimum(self) -> float:
        return (
            (self.api_calls - self.minimum_calls) / self.minimum_calls if self.minimum_calls else 0
        )

    @property
    def round_trip_share(self) -> float:
        return self.round_trips / self.api_calls if self.api_calls else 0


def quota_bound_seconds(calls: int, per_minute: int) -> float:
    """The least time from the first to the last of `calls` calls under the emulator's
    quota: at most `per_minute` calls in any sliding 60 s. Every 60 s window from the first
    call holds at most `per_minute` of them, so the last call goes out no sooner than
    60 s times the number of full windows before it, even if each window's calls were sent
    at once and answered in no time."""
    return 60.0 * ((calls - 1) // per_minute) if calls > 0 else 0.0


class Emulator:
    """`reconciler emulator serve` in its own process, on a free port; `options` become its
    flags (latency_ms=5 -> --latency-ms=5; None is left out)."""

    def __init__(self, seed: Path, log: Path, **options: float | int | None):
        self.log = log
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in options.items() if v is not None]
        self.process = subprocess.Popen(
            [
                *reconciler_command(),
                "emulator",
                "serve",
                "--port",
                "0",
                "--seed",
                str(seed),
                *flags,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self.url = self._wait_for_url()
        except BaseException:
            self.stop()
            raise

    def _wait_for_url(self, seconds: float = 600) -> str:
        # The emulator prints "... at http://127.0.0.1:PORT ..." once the seed is loaded.
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if " at http" in text:
                return text.split(" at ", 1)[1].split()[0]
            if self.process.poll() is not None:
                raise SystemExit(f"the emulator stopped: {text.strip()}")
            time.sleep(0.1)
        raise SystemExit(f"the emulator did not start within {seconds:.0f} s")

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url + path, timeout=120) as response:
            return json.loads(response.read())

    def stats(self) -> dict:
        return self.get("/_emulator/stats")

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended a minute later; reaped either way."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def reconciler_command() -> list[str]:
    return [sys.executable, "-m", "reconciler"]


def run_cli(args: list[str], url: str, log: Path) -> tuple[int, float, float]:
    """Run the reconciler CLI in a child process; its exit code, wall seconds and peak RSS
    in MiB (from wait4, so only that process)."""
    env = {**os.environ, "RECONCILER_GOOGLE_ENDPOINT": url}
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen([*reconciler_command(), *args], stdout=out, stderr=out, env=env)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C here: the child goes too
            process.kill()
            process.wait()
            raise
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, seconds, usage.ru_maxrss / 1024  # kB on Linux


def measured(emulator: Emulator, before: dict, **fields) -> Row:
    after = emulator.stats()
    graph_after, graph_before = after.get("graph", {}), before.get("graph", {})
    return Row(
        api_calls=after["api_calls"] - before["api_calls"],
        round_trips=after["http_requests"] - before["http_requests"],
        quota_errors=after["quota_rejections"] - before["quota_rejections"],
        graph_calls=graph_after.get("api_calls", 0) - graph_before.get("api_calls", 0),
        graph_round_trips=(
            graph_after.get("http_requests", 0) - graph_before.get("http_requests", 0)
        ),
        **fields,
    )


def planned(
    emulator: Emulator,
    work: Path,
    command: str,
    minimum_calls: int,
    log: str,
    graph_minimum_calls: int = 0,
) -> Row:
    """Run `plan` on the generated state (plan in plan.json, output in `log`); its Row."""
    plan_file = work / "plan.json"
    before = emulator.stats()
    code, seconds, peak = run_cli(
        ["plan", str(work / "state"), "--detailed-exitcode", "--out", str(plan_file)],
        emulator.url,
        work / log,
    )
    changes = len(json.loads(plan_file.read_text())["changes"]) if code in (0, 2) else 0
    return measured(
        emulator,
        before,
        command=command,
        seconds=seconds,
        minimum_calls=minimum_calls,
        graph_minimum_calls=graph_minimum_calls,
        peak_mb=peak,
        changes=changes,
        failed=0,
        exit_code=code,
    )


def benchmark(
    work: Path,
    size: Size,
    changes: float = 0.01,
    latency_ms: float = 0,
    quota_per_minute: int = 0,
    apply: bool = False,
    licenses: bool = False,
    entra: bool = False,
) -> tuple[Expected, list[Row]]:
    """Generate, serve, plan (and apply, then plan again); one Row per command."""
    expected = generate(work, size, changes, quota_per_minute or UNLIMITED, licenses, entra)
    state = str(work / "state")
    emulator = Emulator(
        work / "seed.json",
        work / "emulator.log",
        latency_ms=latency_ms,
        quota_per_minute=quota_per_minute,
        entra_seed=str(work / "entra-seed.json") if entra else None,
    )
    rows = []
    try:
        if entra:  # Graph's endpoint is the emulator's, known once it listens
            workspace = work / "state" / "workspace.yaml"
            text = workspace.read_text()
            workspace.write_text(text.replace(ENTRA_ENDPOINT_PLACEHOLDER, emulator.url))
        rows.append(
            planned(
                emulator,
                work,
                "plan",
                expected.minimum_plan_calls,
                "plan.log",
                expected.minimum_graph_plan_calls,
            )
        )
        if not apply:
            return expected, rows
        if quota_per_minute:
            # The plan's calls count against the emulator's quota minute, which the apply (a
            # new process with a new pacer) cannot know of; in CI the two run in separate
            # jobs, minutes apart. Let that minute pass so the apply is measured on its own.
            time.sleep(61)
        before = emulator.stats()
        result = work / "apply-result.json"
        code, seconds, peak = run_cli(
            [
                "apply",
                state,
                "--auto-approve",
                "--result-file",
                str(result),
                "--password-file",
                str(work / "passwords.txt"),
            ],
            emulator.url,
            work / "apply.log",
        )
        outcome = json.loads(result.read_text()) if result.exists() else {}
        row = measured(
            emulator,
            before,
            command="apply",
            seconds=seconds,
            # Apply plans again (domains, the read, the creates' checks), then one call
            # per change.
            minimum_calls=expected.minimum_plan_calls + expected.changes - expected.entra_changes,
            graph_minimum_calls=expected.minimum_graph_apply_calls,
            peak_mb=peak,
            changes=outcome.get("applied", 0),
            failed=outcome.get("failed", 0),
            exit_code=code,
        )
        if quota_per_minute:
            row.quota_bound_seconds = quota_bound_seconds(row.minimum_calls, quota_per_minute)
        rows.append(row)
        rows.append(
            planned(
                emulator,
                work,
                "plan again",
                expected.minimum_plan_calls_after_apply,
                "replan.log",
                expected.minimum_graph_plan_calls_after_apply,
            )
        )
        return expected, rows
    finally:
        emulator.stop()


def table(rows: list[Row]) -> str:
    graph = any(r.graph_calls or r.graph_minimum_calls for r in rows)
    header = (
        f"{'command':<11}{'wall s':>8}{'API calls':>11}{'minimum':>9}{'over':>7}"
        f"{'round trips':>13}{'RT/calls':>9}{'peak MiB':>9}{'changes':>9}{'failed':>8}"
        f"{'quota err':>10}{'exit':>6}{'quota-bound s':>15}"
    )
    if graph:
        header += f"{'Graph calls':>13}{'minimum':>9}{'Graph RT':>10}"
    lines = [header]
    for r in rows:
        bound = f"{r.quota_bound_seconds:.1f}" if r.quota_bound_seconds is not None else "-"
        line = (
            f"{r.command:<11}{r.seconds:>8.1f}{r.api_calls:>11,}{r.minimum_calls:>9,}"
            f"{r.over_minimum:>7.1%}{r.round_trips:>13,}{r.round_trip_share:>9.1%}"
            f"{r.peak_mb:>9.0f}{r.changes:>9,}{r.failed:>8,}{r.quota_errors:>10,}"
            f"{r.exit_code:>6}{bound:>15}"
        )
        if graph:
            line += f"{r.graph_calls:>13,}{r.graph_minimum_calls:>9,}{r.graph_round_trips:>10,}"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--users", type=int, help="override the size's users")
    parser.add_argument("--groups", type=int, help="override the size's groups")
    parser.add_argument("--members", type=int, help="override the size's memberships")
    parser.add_argument("--changes", type=float, default=0.01, help="share that differs")
    parser.add_argument("--latency-ms", type=float, default=0, help="emulator: added per request")
    parser.add_argument(
        "--quota-per-minute", type=int, default=0, help="emulator and workspace (0: unlimited)"
    )
    parser.add_argument("--apply", action="store_true", help="also apply, then plan again")
    parser.add_argument("--work", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument(
        "--licenses", action="store_true", help="a licenses: block; every account licensed"
    )
    parser.add_argument(
        "--entra",
        action="store_true",
        help="export every group to Entra ID; the emulator serves Microsoft Graph too",
    )
    args = parser.parse_args(argv)
    base = SIZES[args.size]
    size = Size(args.users or base.users, args.groups or base.groups, args.members or base.members)
    work = args.work or Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    expected, rows = benchmark(
        work,
        size,
        args.changes,
        args.latency_ms,
        args.quota_per_minute,
        args.apply,
        args.licenses,
        args.entra,
    )
    print(
        f"size {args.size}: {size.users:,} users, {size.groups:,} groups, "
        f"{size.members:,} memberships; changes {args.changes:g} "
        f"({expected.changes:,} expected); latency {args.latency_ms:g} ms; "
        f"quota {args.quota_per_minute or 'unlimited'}/min"
        f"{'; licenses' if args.licenses else ''}"
        f"{f'; Entra: {expected.entra_changes:,} of the changes' if args.entra else ''}"
        f"; files in {work}"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(
            json.dumps({"expected": asdict(expected), "rows": [asdict(r) for r in rows]}, indent=2)
        )


if __name__ == "__main__":
    main()
