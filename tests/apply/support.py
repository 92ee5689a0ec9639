"""Helpers for the apply tests: running the CLI (in-process, as a subprocess, on a terminal),
editing state directories, and looking at or disturbing an emulated tenant over loopback."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import children
import pytest
from emulator.api_support import access_token

from reconciler.emulator.server import EmulatorServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "desired-state"
# CI variables that name an actor or a run: cleared so each test sets what it needs.
CI_VARIABLES = (
    "RECONCILER_ACTOR",
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "GITHUB_RUN_ID",
    "CI_PIPELINE_ID",
    "BUILDKITE_BUILD_ID",
)


@dataclass
class Run:
    """How one reconciler command ended."""

    code: int | None
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def in_process(capsys: Any) -> Callable[..., Run]:
    """Run `reconciler ARGS` in-process (stdin is no terminal under pytest), capturing its
    output with pytest's `capsys`."""
    from reconciler.cli import main

    def run(*args: Any) -> Run:
        capsys.readouterr()
        with pytest.raises(SystemExit) as ended:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Run(ended.value.code, out, err)

    return run


# -- state directories -------------------------------------------------------------------------


def copy_example(dest: Path) -> Path:
    """A fresh copy of the example state directory (its emulated tenant lands inside it)."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".reconciler"))
    return dest


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in a file (fails loudly if the file moved on)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path.name}: expected {old!r} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")


# -- subprocesses ------------------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a `python -m reconciler` child: this one (endpoint included), no CI
    variables unless given, no colour, the package importable from the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def reconciler_command(*args: Any) -> list[str]:
    return [sys.executable, "-m", "reconciler", *(str(a) for a in args)]


def run_reconciler(*args: Any, cwd: Path, timeout: float = 120, **env: str) -> Run:
    """Run the CLI as a child process with no terminal at all (stdin is /dev/null)."""
    proc = children.run(
        reconciler_command(*args),
        cwd=cwd,
        env=child_env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def run_on_terminal(*args: Any, answer: str, cwd: Path, timeout: float = 120) -> Run:
    """Run the CLI with a pseudo-terminal as stdin and type `answer` + Enter into it.

    The line waits in the terminal's buffer until apply prompts and reads it, as if typed.
    """
    controller, terminal = os.openpty()
    try:
        proc = children.start(
            reconciler_command(*args),
            cwd=cwd,
            env=child_env(),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        with children.reaped(proc):
            os.close(terminal)
            terminal = -1
            os.write(controller, answer.encode() + b"\n")
            out, err = proc.communicate(timeout=timeout)
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    return Run(proc.returncode, out, err)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 60) -> None:
    """Poll until `condition` holds; fail if the process ends first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before the kill point")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the kill point was never reached")
        time.sleep(0.002)


def apply_stopped_when(
    arrived: Callable[[], bool], root: Path, sig: int, *args: Any, cwd: Path
) -> int:
    """Run `reconciler apply ROOT --auto-approve ARGS` in a child (its output in cwd's
    out.txt and err.txt), stop it with `sig` once `arrived()` holds (a held write reached
    the emulator), and reap it; returns its exit status. The held write stays held: the
    caller releases it, or loses it."""
    with (cwd / "out.txt").open("w") as out, (cwd / "err.txt").open("w") as err:
        proc = children.start(
            reconciler_command("apply", root, "--auto-approve", *args),
            cwd=cwd,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )
    with children.reaped(proc):
        wait_for(arrived, proc)
        children.stop(proc, sig)
    return proc.returncode


# -- an emulated tenant the test controls --------------------------------------------------------


class Clock:
    """An emulator clock for tenant.server.api.clock: real time when the test starts, then
    only what the reconciler waits (give its RetryPolicy `sleep=clock.sleep`). What the
    emulator times (held addresses, lagging listings) then ends by the reconciler's waiting
    alone, however fast or slow the machine runs."""

    def __init__(self) -> None:
        self.now = time.time()
        self.waited = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.waited += seconds


class Tenant:
    """An emulator started by the test: the CLI reaches it through RECONCILER_GOOGLE_ENDPOINT,
    the test looks at it (/_emulator/state, /_emulator/stats) or changes it behind the
    reconciler's back through the Directory API, like an admin in the console."""

    def __init__(self, server: EmulatorServer):
        self.server = server
        self.url = server.base_url
        self._token: str | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(urlsplit(self.url).netloc, timeout=30)
        try:
            payload = None if body is None else json.dumps(body)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            if not path.startswith("/_emulator/"):
                if self._token is None:  # the admin in the console holds every scope
                    self._token = access_token(self.url)
                headers["Authorization"] = f"Bearer {self._token}"
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            conn.close()

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """A Directory API call that must succeed, e.g. api("DELETE", "users/x@example.com")."""
        status, answer = self.request(method, "/admin/directory/v1/" + quote(path), body)
        assert 200 <= status < 300, f"{method} {path}: {status} {answer}"
        return answer

    def snapshot(self) -> dict[str, Any]:
        status, state = self.request("GET", "/_emulator/state")
        assert status == 200
        return state

    def stats(self) -> dict[str, Any]:
        status, stats = self.request("GET", "/_emulator/stats")
        assert status == 200
        return stats

    def calls(self, method_id: str) -> int:
        """API calls made so far of one method, e.g. `directory.users.insert` (no HTTP)."""
        return self.server.stats.by_method.get(method_id, 0)

    def users(self) -> dict[str, dict[str, Any]]:
        return {u["primaryEmail"]: u for u in self.snapshot()["users"]}

    def groups(self) -> dict[str, dict[str, Any]]:
        return {g["email"]: g for g in self.snapshot()["groups"]}


def duplicates(state: dict[str, Any]) -> list[str]:
    """Everything the tenant holds twice: users, groups, org units, addresses, memberships."""
    found: list[str] = []
    addresses: Counter[str] = Counter()
    for user in state["users"]:
        addresses.update([user["primaryEmail"].lower(), *map(str.lower, user.get("aliases", []))])
    for group in state["groups"]:
        addresses.update([group["email"].lower(), *map(str.lower, group.get("aliases", []))])
        members = Counter(m["email"].lower() for m in group.get("members", []))
        found += [f"{group['email']} lists {m} {n} times" for m, n in members.items() if n > 1]
    found += [f"address {a} used {n} times" for a, n in addresses.items() if n > 1]
    units = Counter(u["orgUnitPath"].lower() for u in state["orgUnits"])
    found += [f"org unit {u} {n} times" for u, n in units.items() if n > 1]
    return found


# -- plans and groups through the CLI --------------------------------------------------------


def members_of(tenant: Tenant, group: str) -> dict[str, str]:
    """email (or id) -> role of a group's members, as the Directory API lists them."""
    listed = tenant.api("GET", f"groups/{group}/members").get("members", [])
    return {m.get("email", m["id"]): m["role"] for m in listed}


def plan_json(cli: Callable[..., Run], root: Path) -> dict[str, Any]:
    """`reconciler plan ROOT --format json`, which must succeed, parsed."""
    run = cli("plan", root, "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def heads(plan: dict[str, Any]) -> list[tuple[str, str]]:
    """(action, key) of each change of a JSON plan."""
    return [(c["action"], c["key"]) for c in plan["changes"]]


def assert_no_changes_left(cli: Callable[..., Run], root: Path) -> str:
    """The next plan is empty; its output."""
    after = cli("plan", root, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes."), after.text
    return after.text
