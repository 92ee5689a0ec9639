"""Fetch a large tenant from the emulator as `plan` does, and report the cost.

    python benchmarks/fetch_speed.py --users 100000 --groups 10000 --members 500000

Writes a seed, starts `reconciler emulator serve` in its own process (so the figures are the
reconciler's alone), reads every user, group, org unit and every group's members through the
real client, and prints API calls against the minimum the API allows, HTTP round trips,
seconds and the reconciler's peak memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "emulator"))
from big_seed import generate

from reconciler.google.client import GoogleClient
from reconciler.google.fetch import fetch_actual
from reconciler.settings import GoogleProvider


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/_emulator/stats", timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the emulator at {url} did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=500_000)
    parser.add_argument("--latency-ms", type=float, default=0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="fetch-bench-"))
    seed = generate(args.users, args.groups, args.members)
    (work / "seed.json").write_text(json.dumps(seed))
    sizes = [len(g.get("members", [])) for g in seed["groups"]]
    minimum = (
        math.ceil(args.users / 500)
        + 1  # recently deleted users: none here, and one call says so
        + math.ceil(args.groups / 200)
        + 1  # org units
        + 1  # the ownership schema
        + sum(math.ceil(n / 200) for n in sizes if n)
    )
    del seed
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "emulator",
            "serve",
            "--port",
            str(port),
            "--seed",
            str(work / "seed.json"),
            "--latency-ms",
            str(args.latency_ms),
        ],
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_until_up(url)
        client = GoogleClient.connect(
            GoogleProvider(kind="google", quota_per_minute=10**9),
            work,
            read_only=True,
            endpoint=url,
        )
        started = time.perf_counter()
        actual = fetch_actual(
            client,
            customer="my_customer",
            domains=["example.com", "example.org"],
            managed_groups=lambda g: True,
        )
        seconds = time.perf_counter() - started
        stats = json.loads(urllib.request.urlopen(url + "/_emulator/stats").read())
    finally:
        server.terminate()
        server.wait(timeout=60)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    members = sum(len(g.members) for g in actual.state.groups.values())
    member_calls = stats["by_method"].get("directory.members.list", 0)
    print(
        f"tenant: {len(actual.state.users)} users, {len(actual.state.groups)} groups, "
        f"{members} memberships"
    )
    print(
        f"API calls: {stats['api_calls']} (minimum {minimum}, "
        f"+{100 * (stats['api_calls'] - minimum) / minimum:.1f}%)"
    )
    print(
        f"HTTP round trips: {stats['http_requests']} "
        f"(member reads: {member_calls} calls in batches)"
    )
    print(f"seconds: {seconds:.1f}; peak memory of the reconciler: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
