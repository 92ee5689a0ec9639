"""Audit records: one JSON line per change (what, to what, when, by whom, with what result),
and a result file for CI. Values are the plan's own; secrets are never in a plan.

Every change gets two records: `started` just before its first write is sent, then its
outcome (`applied`, `failed`; a skipped change, never sent, only `skipped`). A run killed
with writes on the wire leaves `started` records without an outcome: those changes may or
may not have been made (the next plan shows which)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from reconciler.apply.executor import ChangeResult
from reconciler.plan.change import Change

# CI systems name who or what triggered a run in these variables (first found wins).
ACTOR_VARIABLES = (
    "RECONCILER_ACTOR",
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "USER",
)
RUN_VARIABLES = ("GITHUB_RUN_ID", "CI_PIPELINE_ID", "BUILDKITE_BUILD_ID")


def actor(env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    return next((env[v] for v in ACTOR_VARIABLES if env.get(v)), None)


def ci_run(env: dict[str, str] | None = None) -> str | None:
    env = dict(os.environ) if env is None else env
    return next((f"{v}={env[v]}" for v in RUN_VARIABLES if env.get(v)), None)


class AuditLog:
    """Appends JSON lines to a file: intents before writes, results after. Each batch of
    lines goes in one write(2) to a file opened for appending, so a run stopped between
    writes leaves whole lines. A SIGKILL can still cut a write that spans pages short: the
    log then ends in part of a record, with no newline. The next run ends that line before
    it appends (so its own records stay whole), and `reconciler audit` skips it, saying so.
    A cut `started` record announced writes that were never sent (they wait for it)."""

    def __init__(self, path: Path | None, checksum: str, commit: str | None):
        self.checksum = checksum
        self.commit = commit
        self.actor = actor()
        self.run = ci_run()
        self._fd: int | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            self._end_a_cut_record(self._fd)

    @staticmethod
    def _end_a_cut_record(fd: int) -> None:
        """A log left by a killed run may end mid-record: end that line first."""
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")

    def started(self, changes: list[Change]) -> None:
        """Intent records for `changes`, before their writes are sent."""
        self._write([self._entry(c, "started") for c in changes])

    def record(self, result: ChangeResult) -> None:
        self._write([self.entry(result)])

    def _write(self, entries: list[dict[str, Any]]) -> None:
        if self._fd is None:
            return
        data = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries).encode()
        written = os.write(self._fd, data)
        while written < len(data):  # a regular file takes it whole; a short write goes on
            written += os.write(self._fd, data[written:])

    def entry(self, result: ChangeResult) -> dict[str, Any]:
        return self._entry(result.change, result.result, result.error, result.notes)

    def _entry(
        self, what: Change, result: str, error: str | None = None, notes: list[str] | None = None
    ) -> dict[str, Any]:
        change = what.to_json()
        return {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "plan_checksum": self.checksum,
            "git_commit": self.commit,
            "actor": self.actor,
            "ci_run": self.run,
            **{k: v for k, v in change.items() if k != "source"},
            "source": change.get("source"),
            "result": result,
            "error": error,
            "notes": notes or None,
        }

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def write_result_file(
    path: Path,
    checksum: str,
    counts: dict[str, int],
    results: list[ChangeResult],
    *,
    interrupted: bool = False,
    in_flight: list[Change] | None = None,
    earlier: list[dict[str, Any]] | None = None,
) -> None:
    """A machine-readable summary for CI: counts and every change with its result.

    `status`: `interrupted` when the run was stopped (Ctrl-C, SIGTERM) before it finished,
    else `failed` when a change failed, else `applied`. `in_flight`: the changes whose writes
    were sent and not answered when it stopped. `unconfirmed_earlier`: the accounts an earlier,
    stopped run created (or may have) without confirming their passwords."""
    status = "interrupted" if interrupted else "failed" if counts.get("failed") else "applied"
    data = {
        "plan_checksum": checksum,
        "status": status,
        **counts,
        "results": [{**r.change.to_json(), "result": r.result, "error": r.error} for r in results],
        "in_flight": [c.to_json() for c in in_flight or ()],
        "unconfirmed_earlier": list(earlier or ()),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
