"""What apply leaves behind: one audit record per change (--audit-log), a result file for CI
(--result-file), generated passwords only in the --password-file (mode 0600), and the git
commit the state directory is at."""

from __future__ import annotations

import datetime as dt
import json
import stat
from collections import Counter

import pytest
from cli_support import EXAMPLE_CHANGES, git

from .support import run_reconciler

AUDIT_ONLY = ("time", "plan_checksum", "git_commit", "actor", "ci_run", "result", "error", "notes")


def canonical(record: dict, left_out=("source",)) -> str:
    return json.dumps({k: v for k, v in record.items() if k not in left_out}, sort_keys=True)


def test_audit_result_and_password_files(emulator, state_dir, tmp_path, cli, monkeypatch):
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    tenant = emulator()
    plan = json.loads(cli("plan", state_dir, "--format", "json").out)
    records_dir = tmp_path / "records"
    audit, result, passwords = (records_dir / n for n in ("audit.jsonl", "result.json", "pw"))
    # The password file is a new one, made by apply (tests/reliability/test_password_file.py).
    records_dir.mkdir()

    started = dt.datetime.now(dt.UTC)
    run = cli(
        "apply",
        state_dir,
        "--auto-approve",
        "--audit-log",
        audit,
        "--result-file",
        result,
        "--password-file",
        passwords,
    )
    assert run.code == 0, run.err
    assert "2 new account(s): their one-time passwords are in" in run.err

    # Audit: two lines per change, `started` before its write went out, then its outcome;
    # each carries the plan's own change, and when, who, what became.
    lines = audit.read_text().splitlines()
    everything = [json.loads(line) for line in lines]
    assert len(everything) == 2 * len(plan["changes"]) == 2 * EXAMPLE_CHANGES
    intents = [r for r in everything if r["result"] == "started"]
    records = [r for r in everything if r["result"] != "started"]
    for record in everything:
        assert set(AUDIT_ONLY) <= set(record) and {"action", "kind", "key"} <= set(record)
        assert started <= dt.datetime.fromisoformat(record["time"]) <= dt.datetime.now(dt.UTC)
        assert record["plan_checksum"] == plan["checksum"]
        assert record["git_commit"] is None  # not in a repository
        assert record["actor"] == "octocat" and record["ci_run"] == "GITHUB_RUN_ID=4242"
        assert record["result"] in ("started", "applied") and record["error"] is None
    for kept in (intents, records):
        assert sorted(canonical(r, (*AUDIT_ONLY, "source")) for r in kept) == sorted(
            canonical(c) for c in plan["changes"]
        )
    # Each change's intent comes before its outcome.
    first = {}
    for n, r in enumerate(everything):
        first.setdefault(canonical(r, (*AUDIT_ONLY, "source")), (n, r["result"]))
    assert {result for _, result in first.values()} == {"started"}
    emma = next(r for r in records if r["key"] == "emma.johnson@example.com")
    assert emma["action"] == "update" and emma["kind"] == "user"
    assert emma["fields"] == {"phone": {"old": "+1 555 0132", "new": "+1 555 0137"}}
    assert emma["source"] == "users/sales.yaml:16"

    # Result file: counts and every change with its result.
    outcome = json.loads(result.read_text())
    assert outcome["plan_checksum"] == plan["checksum"]
    assert (outcome["applied"], outcome["failed"], outcome["skipped"]) == (EXAMPLE_CHANGES, 0, 0)
    assert len(outcome["results"]) == EXAMPLE_CHANGES
    assert {r["result"] for r in outcome["results"]} == {"applied"}

    # Passwords: exactly the created accounts, in a file only its owner reads.
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    entries = dict(line.split(",", 1) for line in passwords.read_text().splitlines())
    created = {c["key"] for c in plan["changes"] if (c["kind"], c["action"]) == ("user", "create")}
    assert set(entries) == created == {"kenji.watanabe@example.com", "omar.haddad@example.com"}
    assert len(set(entries.values())) == 2
    for secret in entries.values():
        assert len(secret) >= 16
        for where in (run.out, run.err, audit.read_text(), result.read_text()):
            assert secret not in where
        assert secret not in json.dumps(tenant.snapshot())
    users = tenant.users()
    assert all(users[email]["changePasswordAtNextLogin"] is True for email in created)


def test_without_a_password_file_passwords_are_dropped(emulator, state_dir, cli):
    emulator()
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 0
    assert "2 new account(s) got random one-time passwords that were not kept" in run.err
    assert "--password-file" in run.err


def test_failures_are_audited_with_their_error(emulator, state_dir, tmp_path, cli):
    tenant = emulator()
    # The new hire's address was taken by hand, as an alias of a group Git does not manage.
    tenant.api("POST", "groups/social@example.com/aliases", {"alias": "omar.haddad@example.com"})
    audit = tmp_path / "audit.jsonl"
    assert cli("apply", state_dir, "--auto-approve", "--audit-log", audit).code == 1
    ended = [r for r in map(json.loads, audit.read_text().splitlines()) if r["result"] != "started"]
    records = {(r["action"], r["key"]): r for r in ended}
    failed = records[("create", "omar.haddad@example.com")]
    assert failed["result"] == "failed"
    assert "users.insert omar.haddad@example.com: 409 duplicate" in failed["error"]
    skipped = records[("add_member", "finance@example.com/omar.haddad@example.com")]
    assert skipped["result"] == "skipped"
    assert skipped["error"] == "omar.haddad@example.com failed earlier"
    assert records[("assign_license", "omar.haddad@example.com")]["result"] == "skipped"
    # Every other change applied, the export to Entra ID included.
    results = Counter(r["result"] for r in ended)
    assert results == {"applied": EXAMPLE_CHANGES - 1 - 2, "failed": 1, "skipped": 2}


@pytest.fixture
def repository(state_dir):
    """The state directory as a git repository with one commit; its HEAD."""
    git(state_dir, "init", "-q")
    git(state_dir, "add", ".")
    git(state_dir, "commit", "-q", "-m", "Acme directory")
    return git(state_dir, "rev-parse", "HEAD")


def test_inside_a_repository_records_name_the_commit(repository, state_dir, tmp_path, cli):
    saved, audit = tmp_path / "plan.json", tmp_path / "audit.jsonl"
    assert cli("plan", state_dir, "--out", saved).code == 0
    assert json.loads(saved.read_text())["meta"]["git_commit"] == repository
    run = run_reconciler("apply", saved, "--audit-log", audit, cwd=tmp_path)
    assert run.code == 0, run.err
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(records) == 2 * EXAMPLE_CHANGES and {r["git_commit"] for r in records} == {
        repository
    }
    # The embedded tenant lives in the state directory, and git ignores it.
    assert (state_dir / ".reconciler" / "emulator.json").is_file()
    assert git(state_dir, "status", "--porcelain") == ""


def test_a_batch_of_records_goes_to_the_log_in_one_write(tmp_path, monkeypatch):
    """A killed run must leave whole lines: each batch is one write(2), however long (a
    buffered file split large batches at its buffer size, and a kill there tore a line)."""
    import os

    from reconciler.apply import records
    from reconciler.plan.kinds import UserChange

    writes: list[bytes] = []
    real_write = os.write

    def counted(fd: int, data: bytes) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(records.os, "write", counted)
    log = records.AuditLog(tmp_path / "audit.jsonl", "sha256:x", None)
    changes = [UserChange("create", f"user{i:04}@example.com") for i in range(400)]
    log.started(changes)
    log.close()
    assert len(writes) == 1 and len(writes[0]) > 64 * 1024
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == [c.key for c in changes]


def test_a_record_cut_by_a_killed_run_is_ended_before_the_next_run_appends(tmp_path):
    """SIGKILL can cut even one write(2) short at a page boundary: the log then ends in part
    of a record. The next run ends that line first, so its own records stay whole lines."""
    from reconciler.apply import records
    from reconciler.plan.kinds import UserChange

    path = tmp_path / "audit.jsonl"
    whole = '{"time": "2026-12-01T10:00:00.000+00:00", "result": "started"}\n'
    cut = '{"time": "2026-12-01T10:00:00.001+00:00", "plan_checksum": "sha256:0ac'
    path.write_text(whole + cut)
    log = records.AuditLog(path, "sha256:x", None)
    log.started([UserChange("create", "new@example.com")])
    log.close()
    lines = path.read_text().splitlines()
    assert lines[:2] == [whole.strip(), cut]
    assert json.loads(lines[2])["key"] == "new@example.com" and len(lines) == 3
    # A log that ends whole gets nothing added before the next record.
    records.AuditLog(path, "sha256:x", None).close()
    assert path.read_text().splitlines() == lines
