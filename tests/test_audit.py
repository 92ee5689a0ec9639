"""`reconciler audit`: git history plus apply records as an access-change report."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.commands.audit_trail import audit, render_audit

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
    # The first commit has no records of its own; the apply of the newest covered its state.
    assert first.applied_with == head
    assert f"no apply records of its own; covered by the apply of {head[:12]}" in text
    data = json.loads(render_audit([newest], "json"))
    assert data[0]["result_counts"] == {"applied": 1, "failed": 1}


def test_started_records_show_only_without_an_outcome(repo, tmp_path):
    """Apply writes `started` before each change's write: a change that got its outcome is
    counted once; one a killed run never saw answered shows as `started`."""
    head = git(repo, "rev-parse", "HEAD")
    base = {"git_commit": head, "plan_checksum": "sha256:1", "kind": "user", "action": "create"}
    done = {**base, "key": "a@example.com"}
    lost = {**base, "key": "b@example.com"}
    log = tmp_path / "audit.jsonl"
    lines = [
        {**done, "result": "started"},
        {**lost, "result": "started"},
        {**done, "result": "applied"},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    newest, _ = audit(repo / "directory", None, None, [log])
    assert newest.result_counts() == {"applied": 1, "started": 1}
    text = render_audit([newest], "text")
    assert "started: create user b@example.com: sent, no outcome recorded" in text


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


PRIYA_TITLE = ("user", "priya.natarajan@example.com", "changed", ("title",))
PRIYA_LEADS = ("group", "leadership", "changed", ("members",))
ANA_PROTECTED = ("settings", "workspace.yaml", "changed", ("protected",))
NORA = "      - nora.baker@example.com\n"


def test_merge_commit_is_one_entry_for_its_pr_with_the_merged_commits(
    base, tmp_path, monkeypatch, capsys
):
    start = git(base, "rev-parse", "HEAD")
    git(base, "switch", "-qc", "promote-priya")
    edit(base, "users/engineering.yaml", "Platform Team Lead", "Head of Platform")
    promote = commit(base, "Promote Priya", who="Jo")
    (base / "NOTES.md").write_text("Why Priya leads the platform team.\n")
    commit(base, "Explain the promotion", who="Jo")  # outside the directory: not listed
    edit(base, "groups/company.yaml", NORA, NORA + "      - priya.natarajan@example.com\n")
    lead = commit(base, "Add Priya to leadership", who="Jo")
    git(base, "switch", "-q", "main")
    edit(base, "workspace.yaml", "protected: [admin@example.com]", PROTECT_ANA)
    protect = commit(base, "Protect Ana")  # main moved on: the merge is a real merge
    title = "Merge pull request #12 from acme/promote-priya"
    git(base, "merge", "-q", "--no-ff", "promote-priya", "-m", title, who="Mo")
    merge = git(base, "rev-parse", "HEAD")
    edit(base, "users/engineering.yaml", "Site Reliability Engineer", "Senior SRE")
    kenji = commit(base, "Retitle Kenji")
    # The apply workflow's note is on the merge; a manual apply from the branch named `promote`.
    add_note(base, merge, record(merge))
    add_note(base, promote, record(promote, actor="jo"))
    log = tmp_path / "audit.jsonl"
    failed = record(merge, kind="group", key="leadership", result="failed", error="403 forbidden")
    log.write_text(json.dumps(failed) + "\n")

    entries = audit(base / "directory", None, None, [log])

    assert [e.commit for e in entries] == [kenji, merge, protect, start]
    pr = entries[1]
    assert pr.pull_request == 12 and pr.author == "Mo <mo@example.com>"
    # What the PR changed on main: against the first parent, so not main's own "Protect Ana".
    assert keyed(pr.changes) == {PRIYA_TITLE, PRIYA_LEADS}
    assert [(m.commit, m.author) for m in pr.merged] == [
        (lead, "Jo <jo@example.com>"),
        (promote, "Jo <jo@example.com>"),
    ]
    assert pr.applied == [record(merge), failed] and pr.applied_with is None
    assert pr.merged[1].applied == [record(promote, actor="jo")] and pr.merged[0].applied == []
    assert entries[0].applied == [] and entries[0].applied_with is None
    assert entries[2].pull_request is None and entries[2].applied_with == merge
    assert keyed(entries[2].changes) == {ANA_PROTECTED}

    text = render_audit(entries, "text")
    assert f"{merge[:12]} by Mo <mo@example.com>, PR #12: {title}" in text
    assert "  commits merged (2):\n" in text
    assert f"    {promote[:12]} " in text and "by Jo <jo@example.com>: Promote Priya" in text
    assert "Explain the promotion" not in text
    assert text.count("changed user priya.natarajan@example.com") == 1
    assert text.count("changed group leadership") == 1
    assert "applied at 2026-11-21T10:00:00Z by octocat: 1 applied, 1 failed" in text
    assert "failed: update group leadership: 403 forbidden" in text
    assert f"{protect[:12]} by Ana <ana@example.com>, no PR recorded: Protect Ana" in text
    assert f"covered by the apply of {merge[:12]}" in text
    assert "not applied (no apply records)" in text  # Kenji's commit, after the last apply

    monkeypatch.chdir(base)
    with pytest.raises(SystemExit) as exc:
        main(["audit", "directory", "--audit-log", str(log), "--format", "json"])
    assert exc.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert data[1]["pull_request"] == 12 and data[1]["result_counts"] == {"applied": 1, "failed": 1}
    assert [m["commit"] for m in data[1]["merged"]] == [lead, promote]


def test_squash_merge_is_one_entry_for_its_pr(base, tmp_path):
    start = git(base, "rev-parse", "HEAD")
    git(base, "switch", "-qc", "promote-priya")
    edit(base, "users/engineering.yaml", "Platform Team Lead", "Head of Platform")
    promote = commit(base, "Promote Priya", who="Jo")
    edit(base, "workspace.yaml", "protected: [admin@example.com]", PROTECT_ANA)
    protect = commit(base, "Protect Ana", who="Jo")
    git(base, "switch", "-q", "main")
    git(base, "merge", "-q", "--squash", "promote-priya")
    message = "Promote Priya and protect Ana (#13)\n\n* Promote Priya\n\n* Protect Ana"
    squash = commit(base, message, who="Jo")
    add_note(base, squash, record(squash))
    log = tmp_path / "audit.jsonl"
    log.write_text(json.dumps(record(squash, kind="settings", key="workspace.yaml")) + "\n")

    entries = audit(base / "directory", None, None, [log])

    assert [e.commit for e in entries] == [squash, start]
    pr = entries[0]
    assert pr.pull_request == 13 and pr.subject == "Promote Priya and protect Ana (#13)"
    assert keyed(pr.changes) == {PRIYA_TITLE, ANA_PROTECTED}
    assert pr.merged == [] and pr.result_counts() == {"applied": 2}
    assert [r["key"] for r in pr.applied] == ["priya.natarajan@example.com", "workspace.yaml"]
    text = render_audit(entries, "text")
    assert f"{squash[:12]} by Jo <jo@example.com>, PR #13: Promote Priya and protect" in text
    assert promote[:12] not in text and protect[:12] not in text
    assert text.count("changed user priya.natarajan@example.com") == 1


def test_rebase_merge_keeps_each_commit_without_inventing_a_pr(base, tmp_path):
    start = git(base, "rev-parse", "HEAD")
    git(base, "switch", "-qc", "promote-priya")
    edit(base, "users/engineering.yaml", "Platform Team Lead", "Head of Platform")
    # A reference in the body is not the PR that merged it.
    promote = commit(base, "Promote Priya\n\nAsked for in the access review (#7)", who="Jo")
    edit(base, "workspace.yaml", "protected: [admin@example.com]", PROTECT_ANA)
    protect = commit(base, "Protect Ana", who="Jo")
    (base / "NOTES.md").write_text("Why Priya leads the platform team.\n")
    explain = commit(base, "Explain the promotion", who="Jo")
    git(base, "switch", "-q", "main")
    edit(base, "users/engineering.yaml", "Site Reliability Engineer", "Senior SRE")
    kenji = commit(base, "Retitle Kenji")
    add_note(base, kenji, record(kenji, key="kenji.watanabe@example.com"))
    # GitHub's rebase merge: the PR's commits replayed onto main, messages and authors kept.
    git(base, "cherry-pick", promote, protect, explain, who="Mo")
    replayed = [git(base, "rev-parse", f"HEAD~{n}") for n in (2, 1, 0)]
    head = replayed[-1]
    # The apply after the push ran on the head of main, the last replayed commit.
    add_note(base, head, record(head))
    log = tmp_path / "audit.jsonl"
    failed = record(head, kind="settings", key="workspace.yaml", result="failed", error="boom")
    log.write_text(json.dumps(failed) + "\n")

    entries = audit(base / "directory", None, None, [log])

    assert [e.commit for e in entries] == [*reversed(replayed), kenji, start]
    assert all(e.pull_request is None and e.merged == [] for e in entries)
    on_head, on_protect, on_promote = entries[:3]
    assert keyed(on_promote.changes) == {PRIYA_TITLE}
    assert keyed(on_protect.changes) == {ANA_PROTECTED}
    # Listed for its apply records though it changes nothing in the directory.
    assert on_head.changes == [] and on_head.applied == [record(head), failed]
    assert on_promote.applied == [] and on_promote.applied_with == head
    assert on_protect.applied == [] and on_protect.applied_with == head
    assert on_promote.author == "Jo <jo@example.com>"
    assert entries[3].result_counts() == {"applied": 1} and entries[3].applied_with is None
    assert entries[4].applied_with == kenji

    text = render_audit(entries, "text")
    assert "PR #" not in text and text.count("no PR recorded") == 5
    assert text.count(f"covered by the apply of {head[:12]}") == 2
    assert f"{head[:12]} by Jo <jo@example.com>, no PR recorded: Explain the promotion" in text
    assert "  no changes to the directory" in text
    assert "failed: update settings workspace.yaml: boom" in text


def test_period_takes_a_merge_whole(base):
    git(base, "switch", "-qc", "promote-priya")
    edit(base, "users/engineering.yaml", "Platform Team Lead", "Head of Platform")
    promote = commit(base, "Promote Priya", who="Jo", date="2026-02-02T09:00:00Z")
    git(base, "switch", "-q", "main")
    title = "Merge pull request #12 from acme/promote-priya"
    git(base, "merge", "-q", "--no-ff", "promote-priya", "-m", title, date="2026-03-02T09:00:00Z")
    merge = git(base, "rev-parse", "HEAD")
    edit(base, "users/engineering.yaml", "Site Reliability Engineer", "Senior SRE")
    kenji = commit(base, "Retitle Kenji", date="2026-04-01T09:00:00Z")
    add_note(base, kenji, record(kenji, key="kenji.watanabe@example.com"))

    entries = audit(base / "directory", "2026-03-01", "2026-03-15", [])

    # The merge landed in the period: its branch's older commit comes with it, never alone;
    # the apply that covered it came later, outside the period.
    assert [e.commit for e in entries] == [merge]
    assert [m.commit for m in entries[0].merged] == [promote]
    assert keyed(entries[0].changes) == {PRIYA_TITLE} and entries[0].applied_with == kenji
    assert [e.commit for e in audit(base / "directory", "2026-01-20", "2026-02-20", [])] == []


@pytest.mark.parametrize(
    ("line", "said"),
    [
        (b'["an", "array"]', "not a JSON audit record (an array;"),
        (b"42", "not a JSON audit record (not an object;"),
        (b'{"git_commit": ["abc"]}', "git_commit is not text"),
        (b"\xff\xfe\x00binary\x80", "not a JSON audit record (binary, not UTF-8 text)"),
        (b"[" * 100_000, "not a JSON audit record"),
    ],
    ids=["array", "number", "commit-a-list", "binary", "deep-array"],
)
def test_an_audit_log_line_that_is_no_record_is_refused_with_its_line(
    repo, monkeypatch, capsys, line, said
):
    """Refused, not skipped: the log is evidence, and an audit missing part of it misleads."""
    log = repo / "apply.jsonl"
    log.write_bytes(b'{"git_commit": "abc", "result": "applied"}\n\n' + line + b"\n")
    monkeypatch.chdir(repo)
    with pytest.raises(SystemExit) as ended:
        main(["audit", "directory", "--audit-log", str(log)])
    err = capsys.readouterr().err
    assert ended.value.code == 1
    assert "Traceback" not in err and "internal error" not in err
    assert f"{log}:3: {said}" in err, err


def test_a_record_cut_off_by_a_killed_apply_is_skipped_with_a_warning(repo, monkeypatch, capsys):
    """A SIGKILL mid-write leaves part of a record (see AuditLog); the next apply ends its
    line and goes on. The audit reads everything else and names the cut line."""
    head = git(repo, "rev-parse", "HEAD")
    log = repo / "apply.jsonl"
    cut = json.dumps(record(head, key="cut@example.com"))[:60]
    lines = [json.dumps(record(head)), cut, json.dumps(record(head, key="x@example.com"))]
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(repo)
    with pytest.raises(SystemExit) as ended:
        main(["audit", "directory", "--audit-log", str(log)])
    assert ended.value.code == 0
    out, err = capsys.readouterr()
    assert "applied at 2026-11-21T10:00:00Z by octocat: 2 applied" in out
    assert f"Warning: {log}:2: a record cut off when an apply was killed, skipped" in err
    cut: list[str] = []
    newest, _ = audit(repo / "directory", None, None, [log], cut)
    assert newest.result_counts() == {"applied": 2} and cut == [f"{log}:2"]
    # Cut inside a character (records keep non-ASCII text as it is): the same.
    whole = json.dumps(record(head, key="zoë@example.com"), ensure_ascii=False).encode()
    inside = whole[: whole.index("ë".encode()) + 1]
    log.write_bytes(inside + b"\n" + json.dumps(record(head)).encode() + b"\n")
    cut = []
    newest, _ = audit(repo / "directory", None, None, [log], cut)
    assert newest.result_counts() == {"applied": 1} and cut == [f"{log}:1"]


def test_an_audit_log_that_is_a_directory_is_named_as_one(repo, monkeypatch, capsys):
    monkeypatch.chdir(repo)
    with pytest.raises(SystemExit) as ended:
        main(["audit", "directory", "--audit-log", str(repo)])
    assert ended.value.code == 1
    assert "is a directory" in capsys.readouterr().err


def test_a_dated_member_entry_is_compared_by_who_and_until(base):
    """Moving its keys around changes nothing; a new `until:` day changes the group."""
    edit(
        base,
        "groups/finance.yaml",
        '      - email: interim.auditor@partner-firm.com\n        until: "2026-03-31"\n',
        '      - until: "2026-03-31"\n        email: interim.auditor@partner-firm.com\n',
    )
    commit(base, "Reorder (#30)")
    edit(base, "groups/finance.yaml", 'until: "2026-03-31"', 'until: "2026-04-30"')
    commit(base, "Extend the interim audit (#31)")
    extended, reordered, _ = audit(base / "directory", None, None, [])
    assert reordered.pull_request == 30 and reordered.changes == []
    [change] = extended.changes
    assert (change.kind, change.key, change.change) == ("group", "audit", "changed")
    assert tuple(change.fields) == ("members",)
