"""Audit records: one JSON line per change (what, to what, when, by whom, with what result),
and a result file for CI. Values are the plan's own; secrets are never in a plan."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, TextIO

from reconciler.apply.executor import ChangeResult

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
    """Appends one JSON line per change result to a file (flushed as it goes)."""

    def __init__(self, path: Path | None, checksum: str, commit: str | None):
        self.checksum = checksum
        self.commit = commit
        self.actor = actor()
        self.run = ci_run()
        self._file: TextIO | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")

    def record(self, result: ChangeResult) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(self.entry(result), ensure_ascii=False) + "\n")
        self._file.flush()

    def entry(self, result: ChangeResult) -> dict[str, Any]:
        change = result.change.to_json()
        return {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "plan_checksum": self.checksum,
            "git_commit": self.commit,
            "actor": self.actor,
            "ci_run": self.run,
            **{k: v for k, v in change.items() if k != "source"},
            "source": change.get("source"),
            "result": result.result,
            "error": result.error,
            "notes": result.notes or None,
        }

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


def write_result_file(
    path: Path, checksum: str, counts: dict[str, int], results: list[ChangeResult]
) -> None:
    """A machine-readable summary for CI: counts and every change with its result."""
    data = {
        "plan_checksum": checksum,
        "status": "failed" if counts.get("failed") else "applied",
        **counts,
        "results": [{**r.change.to_json(), "result": r.result, "error": r.error} for r in results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
