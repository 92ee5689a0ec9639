"""`reconciler audit`: git history plus apply records as an access-change report."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.audit import audit, render_audit
from reconciler.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "desired-state"


def git(repo: Path, *args: str, who: str = "Ana", date: str | None = None) -> str:
    env = {
        "GIT_AUTHOR_NAME": who,
        "GIT_AUTHOR_EMAIL": f"{who.lower()}@example.com",
        "GIT_COMMITTER_NAME": who,
        "GIT_COMMITTER_EMAIL": f"{who.lower()}@example.com",
        "HOME": str(repo),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "GIT_CONFIG_NOSYSTEM": "1",
        **({"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else {}),
    }
    done = subprocess.run(["git", "-C", str(repo), *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A repository on branch main with one commit: the example directory."""
    git(tmp_path, "init", "-q", "-b", "main")
    shutil.copytree(EXAMPLE, tmp_path / "directory", ignore=shutil.ignore_patterns(".reconciler"))
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "Initial directory", date="2026-01-05T09:00:00Z")
    return tmp_path


@pytest.fixture
def repo(base: Path) -> Path:
    edit(base, "users/engineering.yaml", "Platform Team Lead", "Head of Platform")
    edit(base, "workspace.yaml", "protected: [admin@example.com]", PROTECT_ANA)
    git(base, "commit", "-qam", "Promote Priya (#12)", who="Jo")
    return base


PROTECT_ANA = "protected: [admin@example.com, ana.ruiz@example.com]"


def edit(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / "directory" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def commit(repo: Path, message: str, who: str = "Ana", date: str | None = None) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message, who=who, date=date)
    return git(repo, "rev-parse", "HEAD")


def record(sha: str, **fields: str) -> dict[str, str]:
    """An apply record as `apply --audit-log` writes it, naming the commit it applied."""
    base = {"time": "2026-11-21T10:00:00Z", "git_commit": sha, "actor": "octocat"}
    change = {"action": "update", "kind": "user", "key": "priya.natarajan@example.com"}
    return {**base, **change, "result": "applied", **fields}


def add_note(repo: Path, sha: str, *records: dict[str, str]) -> None:
    lines = "\n".join(json.dumps(r) for r in records)
    git(repo, "notes", "--ref=reconciler", "add", "-m", lines, sha, who="Reconciler")


def keyed(changes) -> set[tuple[str, str, str, tuple[str, ...]]]:
    return {(c.kind, c.key, c.change, tuple(c.fields)) for c in changes}


def test_commits_show_author_pr_and_entry_changes(repo):
    newest, first = audit(repo / "directory", None, None, [])
    assert newest.author == "Jo <jo@example.com>" and newest.pull_request == 12
    changes = {(c.kind, c.key, c.change, tuple(c.fields)) for c in newest.changes}
    assert ("user", "priya.natarajan@example.com", "changed", ("title",)) in changes
    assert ("settings", "workspace.yaml", "changed", ("protected",)) in changes
    # The emulator seed is not desired state: none of its groups appear.
    assert all(c.key != "Social Club" for c in first.changes)
    assert ("user", "jo.lei@example.com", "added", ()) in {
        (c.kind, c.key, c.change, tuple(c.fields)) for c in first.changes
    }


def test_apply_records_from_notes_and_logs_are_attached(repo, tmp_path):
    head = git(repo, "rev-parse", "HEAD")
    record = {
        "time": "2026-11-21T10:00:00Z",
        "git_commit": head,
        "actor": "octocat",
        "action": "update",
        "kind": "user",
        "key": "priya.natarajan@example.com",
        "result": "applied",
    }
    failed = {**record, "result": "failed", "key": "x@example.com", "error": "403 forbidden"}
    git(repo, "notes", "--ref=reconciler", "add", "-m", json.dumps(record), head)
    log = tmp_path / "audit.jsonl"
    log.write_text(json.dumps(failed) + "\n")
    newest, first = audit(repo / "directory", None, None, [log])
    assert newest.result_counts() == {"applied": 1, "failed": 1}
    assert first.applied == []
    text = render_audit([newest, first], "text")
    assert "applied at 2026-11-21T10:00:00Z by octocat: 1 applied, 1 failed" in text
    assert "failed: update user x@example.com: 403 forbidden" in text
    assert "not applied (no apply records)" in text
    data = json.loads(render_audit([newest], "json"))
    assert data[0]["result_counts"] == {"applied": 1, "failed": 1}


def test_period_filters_and_cli(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    with pytest.raises(SystemExit) as exc:
        main(["audit", "directory", "--since", "2090-01-01"])
    assert exc.value.code == 0
    assert "No changes to the directory in this period." in capsys.readouterr().out


def test_outside_a_repository_is_a_clear_error(tmp_path, capsys):
    shutil.copytree(EXAMPLE, tmp_path / "d", ignore=shutil.ignore_patterns(".reconciler"))
    with pytest.raises(SystemExit) as exc:
        main(["audit", str(tmp_path / "d")])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "Error: git rev-parse" in err and "Traceback" not in err

