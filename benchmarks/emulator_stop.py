"""How long the emulator takes to stop while clients hold idle keep-alive connections.

    python benchmarks/emulator_stop.py                  # 1 and 50 idle connections, 5 rounds
    python benchmarks/emulator_stop.py --connections 200 --rounds 20

Each round starts an emulator on loopback, makes one request on each of N keep-alive
connections and leaves them open, then times `EmulatorServer.stop()` and checks that every
connection was ended by the server. stop() waits for the accept loop's next poll (50 ms),
closes the idle connections, then persists the tenant. The goal: under 5 s with idle
clients attached (the test suite checks only that stop ends them, not how fast:
tests/emulator/test_server.py).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.emulator.server import EmulatorServer

GOAL_S = 5.0
SEED = {"domains": ["example.com"], "groups": [{"email": "eng@example.com"}]}


@dataclass
class Round:
    connections: int
    seconds: float
    closed: int  # connections the server ended


def one_round(connections: int, work: Path) -> Round:
    server = EmulatorServer.open(seed=SEED, state=work / "state.json")
    server.start()
    netloc = urlsplit(server.base_url).netloc
    clients = []
    try:
        for _ in range(connections):
            conn = http.client.HTTPConnection(netloc, timeout=30)
            conn.request("GET", "/_emulator/stats")
            conn.getresponse().read()
            clients.append(conn)
        started = time.perf_counter()
        server.stop()
        seconds = time.perf_counter() - started
        closed = 0
        for conn in clients:
            conn.sock.settimeout(30)
            with contextlib.suppress(TimeoutError):  # left open: not counted
                closed += conn.sock.recv(1) == b""
        return Round(connections, seconds, closed)
    finally:
        for conn in clients:
            conn.close()
        server.stop()  # a no-op once stopped


def run(connection_counts: list[int], rounds: int) -> list[Round]:
    results = []
    for connections in connection_counts:
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                results.append(one_round(connections, Path(tmp)))
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, action="append")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    counts = args.connections or [1, 50]
    results = run(counts, args.rounds)
    print("idle connections | stop s (median) | stop s (max) | ended by the server")
    for count in counts:
        rows = [r for r in results if r.connections == count]
        seconds = [r.seconds for r in rows]
        ended = sum(r.closed for r in rows)
        print(
            f"{count:16} | {statistics.median(seconds):15.3f} | {max(seconds):12.3f} | "
            f"{ended} of {count * len(rows)}"
        )
    worst = max(r.seconds for r in results)
    verdict = "met" if worst < GOAL_S else "NOT met"
    print(f"goal: stop under {GOAL_S:g} s with idle clients attached: {verdict} ({worst:.3f} s)")


if __name__ == "__main__":
    main(sys.argv[1:])
