"""`plan --changed-since REF` and `apply --changed-since REF` on the example, kept in a git
repository: what a targeted plan says and reads, when it falls back to a full plan, its JSON
record, applying it (directly and saved), and the errors a user can meet (no repository, no
such revision). The CLI runs in-process against the embedded emulator."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import git, reconciler

from reconciler.cli import main
from reconciler.desired.expiry import today
from reconciler.desired.write import format_directory
from reconciler.google.client import ENDPOINT_ENV

from .conftest import copy_example

Run = Callable[..., tuple[int, str, str]]
JO = "jo.lei@example.com"
TOM = "tom.becker@example.com"


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return invoke


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The example committed in a fresh repository; the state directory is `desired-state`.
    Its entry that expired is pruned first: an ended access written in Git is always in a
    targeted plan's scope (test_an_expired_entry_is_in_every_targeted_plan), and these
    tests look at what one change touches."""
    root = copy_example(tmp_path)
    assert format_directory(root, prune_before=today())
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "the example")
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def plan_json(run: Run, root: Path, *args: str) -> dict:
    code, out, err = run("plan", str(root), "--format", "json", *args)
    assert code == 0, err
    return json.loads(out)


def records(plan: dict) -> list[tuple[str, str, str]]:
    return sorted((c["kind"], c["action"], c["key"]) for c in plan["changes"])


def test_an_expired_entry_is_in_every_targeted_plan(run: Run, tmp_path: Path) -> None:
    """An access whose `until:` day passed is no change in Git, but the targeted plan takes
    it away as the full plan does: the revision it compares with keeps every dated entry."""
    root = copy_example(tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "the example")
    edit(root / "users" / "engineering.yaml", "title: Senior Software Engineer", "title: CTO")
    plan = plan_json(run, root, "--changed-since", "HEAD")
    assert plan["meta"]["changed_since"]["changed_groups"] == ["audit@example.com"]
    removals = [c for c in plan["changes"] if c["kind"] == "membership"]
    assert [(c["member"], c["reason"]) for c in removals] == [
        (
            "interim.auditor@partner-firm.com",
            "expired after 2026-03-31, groups/finance.yaml:17",
        )
    ]
    # Once applied, the entry still written keeps the group in scope, with nothing to do.
    assert run("apply", str(root), "--auto-approve", "--changed-since", "HEAD")[0] == 0
    plan = plan_json(run, root, "--changed-since", "HEAD")
    assert plan["meta"]["changed_since"]["changed_groups"] == ["audit@example.com"]
    assert [c for c in plan["changes"] if c["kind"] == "membership"] == []


def test_moving_an_ended_day_forward_grants_the_access_again_in_the_targeted_plan(
    run: Run, tmp_path: Path
) -> None:
    """An entry whose day had passed was applied (the access taken away); a pull request
    moves its day forward: the targeted plan shows the access granted again, as the full
    plan the merge applies would."""
    root = copy_example(tmp_path)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "the example")
    assert run("apply", str(root), "--auto-approve")[0] == 0
    finance = root / "groups" / "finance.yaml"
    edit(finance, 'until: "2026-03-31"', 'until: "2999-12-31"')
    plan = plan_json(run, root, "--changed-since", "HEAD")
    assert plan["meta"]["changed_since"]["targeted"] is True
    adds = [c["key"] for c in plan["changes"] if c["action"] == "add_member"]
    assert adds == ["audit@example.com/interim.auditor@partner-firm.com"]


def test_an_ended_entry_naming_someone_gone_keeps_the_plan_targeted(
    run: Run, tmp_path: Path
) -> None:
    """An ended entry is not checked (it grants nothing): one that names an address Git no
    longer has still lets the change be planned targeted, its group in the scope."""
    root = copy_example(tmp_path)
    finance = root / "groups" / "finance.yaml"
    edit(
        finance,
        "      - email: interim.auditor@partner-firm.com\n",
        "      - email: gone.person@example.com\n",
    )
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "the example")
    edit(root / "users" / "engineering.yaml", "title: Senior Software Engineer", "title: CTO")
    plan = plan_json(run, root, "--changed-since", "HEAD")
    meta = plan["meta"]["changed_since"]
    assert meta["targeted"] is True, meta
    assert "audit@example.com" in meta["changed_groups"]


def test_a_title_change_plans_that_user_only(run: Run, repo: Path) -> None:
    edit(
        repo / "users" / "engineering.yaml",
        "title: Senior Software Engineer",
        "title: Staff Engineer",
    )
    code, out, err = run("plan", str(repo), "--changed-since", "HEAD")
    assert code == 0, err
    first = out.splitlines()[0]
    assert first.startswith("Targeted plan: the change since HEAD (")
    assert "touches 1 user and 0 groups" in first
    assert "Drift elsewhere is not shown" in first
    assert f"~ update user {JO}" in out
    assert 'title: "Senior Software Engineer" -> "Staff Engineer"' in out
    # Nothing else of the example's first plan: besides the org units (read whole), only
    # Jo's change; the full plan has the example's 47.
    body = out.split("\n\nPlan: ")[0].split("Symbols:")[1]
    heads = [
        line.strip() for line in body.splitlines() if line.startswith("  ") and line[2] in "+~-"
    ]
    # Google's part; the Entra export (read whole) is planned whole, every group of it.
    google = [h for h in heads if "Entra" not in h]
    assert google == ["+ create org unit /Engineering/Platform", f"~ update user {JO}"]


def test_the_targeted_plan_equals_the_full_plan_on_what_it_covers(run: Run, repo: Path) -> None:
    edit(
        repo / "users" / "engineering.yaml",
        "title: Senior Software Engineer",
        "title: Staff Engineer",
    )
    # Tom leaves: out of Git (his entry and his group's line), so he leaves the group (his
    # account, unmarked and suspended already, is not this repository's to suspend).
    edit(repo / "groups" / "engineering.yaml", f"      - {TOM}\n", "")
    text = (repo / "users" / "engineering.yaml").read_text(encoding="utf-8")
    start = text.index(f"  - email: {TOM}")
    end = text.find("\n  - email:", start + 1)
    (repo / "users" / "engineering.yaml").write_text(
        text[:start] + (text[end + 1 :] if end != -1 else ""), encoding="utf-8"
    )
    full = plan_json(run, repo)
    targeted = plan_json(run, repo, "--changed-since", "HEAD")
    meta = targeted["meta"]["changed_since"]
    assert meta["targeted"] is True and meta["since"] == "HEAD"
    assert re.fullmatch(r"[0-9a-f]{40}", meta["commit"])
    assert set(meta["changed_users"]) == {JO, TOM}
    assert meta["changed_groups"] == ["eng@example.com"]
    users, groups, entra = set(meta["users"]), set(meta["groups"]), set(meta["entra_groups"])
    # Every exported Entra group is planned: Entra matches by name and by markers naming
    # other Git groups, so one left out could let another take its group.
    assert entra == {"Engineering", "Sales"}
    covered = [
        c
        for c in full["changes"]
        if c["kind"] == "org_unit"
        or (c["kind"] in ("user", "license") and (c["key"] in users or c.get("from") in users))
        or (c["kind"] in ("group", "group_settings") and c["key"] in groups)
        or (c["kind"] == "membership" and c["group"] in groups)
        or (c["kind"] == "entra_group" and c["key"] in entra)
        or (c["kind"] == "entra_membership" and c["group"] in entra)
    ]
    assert records(targeted) == records({"changes": covered})
    assert TOM in users
    assert ("membership", "remove_member", f"eng@example.com/{TOM}") in records(targeted)
    # Far less than the full plan, which holds the example's whole first plan.
    assert len(targeted["changes"]) < len(full["changes"])


def test_a_workspace_change_gives_a_full_plan_saying_why(run: Run, repo: Path) -> None:
    with (repo / "workspace.yaml").open("a", encoding="utf-8") as ws:
        ws.write("\n# a comment changes nothing\n")
    code, out, err = run("plan", str(repo), "--changed-since", "HEAD")
    assert code == 0 and out.startswith("Targeted plan:"), err  # a comment is no change
    edit(repo / "workspace.yaml", "max_suspend: ", "max_suspend: 1 #")
    full = plan_json(run, repo)
    code, out, err = run("plan", str(repo), "--changed-since", "HEAD", "--format", "json")
    assert code == 0
    assert (
        "--changed-since HEAD: a full plan, since workspace.yaml changed since HEAD (safety)" in err
    )
    fallback = json.loads(out)
    assert fallback["meta"]["changed_since"] == {
        "since": "HEAD",
        "targeted": False,
        "why_full": "workspace.yaml changed since HEAD (safety): that can reach every user and "
        "group",
    }
    assert records(fallback) == records(full)


def test_a_revision_git_lacks_is_a_clear_error(run: Run, repo: Path) -> None:
    code, out, err = run("plan", str(repo), "--changed-since", "no-such-branch")
    assert code == 1 and out == ""
    assert "--changed-since no-such-branch: no such commit in this repository" in err
    assert "Traceback" not in err


def test_outside_a_repository_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    root = copy_example(tmp_path / "plain")
    code, _out, err = run("plan", str(root), "--changed-since", "HEAD")
    assert code == 1
    assert "is not in a git repository git can use (fatal: not a git repository" in err
    assert "--changed-since compares with a Git revision (leave it out for a full plan)" in err
    assert "Traceback" not in err


def test_a_directory_new_since_the_revision_gives_a_full_plan(run: Run, repo: Path) -> None:
    git(repo.parent, "mv", "desired-state", "moved")
    code, out, err = run("plan", str(repo.parent / "moved"), "--changed-since", "HEAD")
    assert code == 0
    assert "a full plan, since the state directory did not exist at HEAD" in err
    assert not out.startswith("Targeted plan:")


def test_apply_changed_since_applies_the_targeted_plan_only(run: Run, repo: Path) -> None:
    edit(
        repo / "users" / "engineering.yaml",
        "title: Senior Software Engineer",
        "title: Staff Engineer",
    )
    code, out, err = run("apply", str(repo), "--changed-since", "HEAD", "--auto-approve")
    assert code == 0, err
    assert out.startswith("Targeted plan:")
    assert re.search(r"Apply complete: (\d+) applied, 0 failed, 0 skipped", out)
    # The targeted change is done; the rest of the example's first plan is still to do.
    code, out, err = run("plan", str(repo), "--changed-since", "HEAD")
    assert code == 0 and "No changes." in out, out
    full = plan_json(run, repo)
    assert ("user", "update", JO) not in records(full)
    assert ("user", "create", "kenji.watanabe@example.com") in records(full)


def test_a_saved_targeted_plan_is_checked_with_a_targeted_read(run: Run, repo: Path) -> None:
    edit(
        repo / "users" / "engineering.yaml",
        "title: Senior Software Engineer",
        "title: Staff Engineer",
    )
    saved = repo.parent / "plan.json"
    code, _out, err = run("plan", str(repo), "--changed-since", "HEAD", "--out", str(saved))
    assert code == 0, err
    assert json.loads(saved.read_text())["meta"]["changed_since"]["targeted"] is True
    # A new commit moves HEAD: the saved plan keeps the commit it was made against.
    git(repo.parent, "commit", "-qam", "kenji's title")
    code, out, err = run("apply", str(saved))
    assert code == 0, err
    assert out.startswith("Targeted plan: the change since ")
    assert f"update user {JO}" in out
    # Given with --changed-since too: refused, the saved plan says how it was made.
    code, _out, err = run("apply", str(saved), "--changed-since", "HEAD")
    assert code == 1
    assert "--changed-since goes with a state directory, not a saved plan" in err


def test_an_edited_scope_in_a_saved_plan_is_refused(run: Run, repo: Path) -> None:
    edit(
        repo / "users" / "engineering.yaml",
        "title: Senior Software Engineer",
        "title: Staff Engineer",
    )
    saved = repo.parent / "plan.json"
    code, _out, err = run("plan", str(repo), "--changed-since", "HEAD", "--out", str(saved))
    assert code == 0, err
    data = json.loads(saved.read_text())
    data["meta"]["changed_since"]["users"] = []
    saved.write_text(json.dumps(data))
    code, _out, err = run("apply", str(saved))
    assert code == 1
    assert "the file was edited" in err


def test_as_a_command_the_state_at_the_revision_loads_beside_the_working_tree(
    repo: Path,
) -> None:
    # A process of its own, without threads: the state at HEAD is loaded by a forked reader
    # while the working tree loads (in-process above, it is loaded in turn).
    edit(repo / "users" / "engineering.yaml", "title: Senior Software Engineer", "title: Staff")
    done = reconciler("plan", str(repo), "--changed-since", "HEAD", cwd=repo.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Targeted plan: the change since HEAD")
    assert f"~ update user {JO}" in done.stdout


def test_as_a_command_an_invalid_working_tree_stops_reader_and_all(repo: Path) -> None:
    edit(repo / "users" / "engineering.yaml", "title: Senior Software Engineer", "titel: x")
    done = reconciler("plan", str(repo), "--changed-since", "HEAD", cwd=repo.parent)
    assert done.returncode == 1
    assert "users/engineering.yaml:" in done.stderr and "titel: unknown field" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_change_that_unbinds_many_is_measured_against_git_before_it(run: Run, repo: Path) -> None:
    """Found in review: the percentages of a targeted plan are of Git's counts, and a change
    that unbinds most people shrank its own base under the floor. The larger of before and
    after counts: unbinding all-staff is over the limit, as in the full plan."""
    edit(
        repo / "workspace.yaml",
        "  max_suspend: 5\n",
        "  max_suspend: null\n  max_suspend_percent: 20\n  percent_floor: 1\n",
    )
    git(repo.parent, "commit", "-qam", "a percentage limit")
    edit(repo / "bindings.yaml", "  - group: all-staff\n", "")
    for args in ((), ("--changed-since", "HEAD")):
        code, out, err = run("plan", str(repo), *args)
        assert code == 0, err
        assert "UNSAFE: this plan exceeds the safety limits" in out, args
        assert re.search(r"\d+ suspensions( and offboardings)? planned, [\d.]+% of \d+", out)


def test_a_targeted_plan_looks_up_the_org_units_it_would_create(
    run: Run, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: the org units come from a listing, which can lag a write; a
    targeted plan looks up each org unit it would create, as a full plan does."""
    from reconciler.emulator.faults import EmulatorConfig
    from reconciler.emulator.server import EmulatorServer
    from reconciler.google.client import SETTLE_ENV

    server = EmulatorServer.open(
        seed=repo / "tenant.yaml", config=EmulatorConfig(listing_lag_ms=600_000)
    )
    monkeypatch.setenv(ENDPOINT_ENV, server.start())
    monkeypatch.setenv(SETTLE_ENV, "0")
    try:
        code, _out, err = run("apply", str(repo), "--auto-approve")
        assert code == 0, err
        # Nothing changed in Git; the org unit the apply created is still not listed.
        code, out, err = run("plan", str(repo), "--changed-since", "HEAD")
    finally:
        server.stop()
    assert code == 1, out
    assert "/Engineering/Platform" in err and "Traceback" not in err
    assert "create org unit" not in out


def test_entra_groups_out_of_scope_are_not_said_to_be_left_behind(run: Run, repo: Path) -> None:
    code, _out, err = run("apply", str(repo), "--auto-approve")
    assert code == 0, err
    edit(repo / "users" / "engineering.yaml", "title: Senior Software Engineer", "title: Staff")
    code, out, err = run("plan", str(repo), "--changed-since", "HEAD")
    assert code == 0, err
    assert f"~ update user {JO}" in out
    assert "no longer exports it" not in out
