"""Sequential throughput of the real googleapiclient against the emulator over loopback.

python benchmarks/emulator_throughput.py                  # emulator in its own process
python benchmarks/emulator_throughput.py --in-process     # embedded, as provider.kind: emulator
python benchmarks/emulator_throughput.py --url http://127.0.0.1:8765   # one already running

Reports requests per second for users.get and members.insert one at a time over one
keep-alive connection (like a reconciler run without batching), and API calls per second in
batches of 1000 users.get. Members.insert and delete alternate, so every write changes the
tenant. Most of the time is the client's: `service.users()` builds every users method anew
(about 1 ms), so keep the resource object; plain HTTP shows what the server alone sustains.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httplib2
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document

from reconciler.google.credentials import loopback_credentials, scopes


def seed_document(users: int) -> dict:
    return {
        "domains": ["example.com"],
        "users": [
            {
                "primaryEmail": f"user{i:06d}@example.com",
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
            }
            for i in range(users)
        ],
        "groups": [{"email": "bench@example.com", "name": "Bench"}],
    }


def rate(seconds: float, step: Callable[[int], int]) -> float:
    """Run `step(i)` (returning the calls it made) for `seconds`; calls per second."""
    done, i = 0, 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        done += step(i)
        i += 1
    return done / elapsed


def measure(base_url: str, users: int, seconds: float) -> dict[str, float]:
    http = httplib2.Http(timeout=30)
    _, content = http.request(base_url + "/$discovery/rest?version=directory_v1")
    # The emulator wants a token, as Google does: the tool's own throwaway credentials.
    credentials = loopback_credentials(base_url, None, scopes(read_only=False))
    service = build_from_document(json.loads(content), http=AuthorizedHttp(credentials, http=http))

    def get_uncached(i: int) -> int:  # service.users() builds every users method anew
        service.users().get(userKey=f"user{i % users:06d}@example.com").execute()
        return 1

    users_resource = service.users()

    def get(i: int) -> int:
        users_resource.get(userKey=f"user{i % users:06d}@example.com").execute()
        return 1

    def get_plain(i: int) -> int:  # the server alone: plain HTTP, no client library
        response, _ = http.request(
            f"{base_url}/admin/directory/v1/users/user{i % users:06d}%40example.com",
            headers={"Authorization": f"Bearer {credentials.token}"},
        )
        assert response.status == 200
        return 1

    members = service.members()

    def write(i: int) -> int:  # add a member, then remove it again
        email = f"user{(i // 2) % users:06d}@example.com"
        if i % 2 == 0:
            members.insert(groupKey="bench@example.com", body={"email": email}).execute()
        else:
            members.delete(groupKey="bench@example.com", memberKey=email).execute()
        return 1

    def batch(i: int) -> int:
        request = service.new_batch_http_request()
        for n in range(1000):
            request.add(users_resource.get(userKey=f"user{(i + n) % users:06d}@example.com"))
        request.execute()
        return 1000

    get(0)  # warm up the connection
    return {
        "users.get, sequential (req/s)": rate(seconds, get),
        "users.get, service.users() each time (req/s)": rate(seconds, get_uncached),
        "users.get, plain httplib2 (req/s)": rate(seconds, get_plain),
        "members.insert/delete, sequential (req/s)": rate(seconds, write),
        "users.get in batches of 1000 (calls/s)": rate(seconds, batch),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running emulator to measure instead of starting one")
    parser.add_argument("--in-process", action="store_true", help="embed the emulator")
    parser.add_argument("--users", type=int, default=1000, help="users in the seed tenant")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each run")
    args = parser.parse_args()

    if args.url:
        results = measure(args.url.rstrip("/"), args.users, args.seconds)
    elif args.in_process:
        from reconciler.emulator.api import DirectoryApi
        from reconciler.emulator.server import EmulatorServer
        from reconciler.emulator.store import TenantStore

        store = TenantStore(seed=seed_document(args.users))
        with EmulatorServer(DirectoryApi(store)) as server:
            results = measure(server.base_url, args.users, args.seconds)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            seed = Path(tmp) / "seed.json"
            seed.write_text(json.dumps(seed_document(args.users)))
            command = [sys.executable, "-m", "reconciler", "emulator", "serve"]
            proc = subprocess.Popen(
                [*command, "--port", "0", "--seed", str(seed)],
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                line = proc.stderr.readline()
                url = line.split(" at ", 1)[1].split()[0]
                results = measure(url, args.users, args.seconds)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    where = "in-process" if args.in_process else "separate process"
    print(f"emulator: {args.url or where}; {args.users} users; {args.seconds:g} s per run")
    for name, value in results.items():
        print(f"  {name:44} {value:8.0f}")


if __name__ == "__main__":
    main()
