"""`reconciler access-review`'s Git side: the example directory in a repository with a few
commits made here (a squash merge, a merge commit with a Reviewed-by trailer, a file split, a
member removed and added again, apply records in git notes), reviewed today and as of past
days, from one `git log` pass."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from reconciler.commands.access_review import ReviewError, make_review
from reconciler.review import model
from reconciler.review.model import Review, Row
from review.example_repo import EXAMPLE, OLIVIA, commit, git, make_history


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return make_history(tmp_path_factory.mktemp("review"))


def review_of(shas: dict[str, str], **kwargs) -> Review:
    args = {"as_of": None, "offline": True, "logs": [], **kwargs}
    return make_review(Path(shas["repo"]) / "directory", **args)


def row(review: Review, group: str, member: str) -> Row:
    found = [r for g in review.groups if g.email == group for r in g.rows if r.member == member]
    assert len(found) == 1, f"{member} in {group}: {len(found)} rows"
    return found[0]


def members(review: Review, group: str) -> set[str]:
    return {r.member for g in review.groups if g.email == group for r in g.rows}


def test_every_row_names_its_commit_and_pr_where_the_history_has_one(history):
    review = review_of(history)
    rows = [r for g in review.groups for r in g.rows]
    assert len(rows) > 20
    assert all(r.since is not None and r.since.commit for r in rows)
    # Every change came through a PR but the rebase-merged one, which names none.
    no_pr = {r.member for r in rows if r.since.pull_request is None}
    assert no_pr == {"omar.haddad@example.com"}
    assert review.google == "offline" and review.privileged is None
    assert review.git_commit == history["oncall"]


def test_a_merge_commit_gives_the_pr_and_its_reviewer(history):
    kenji = row(review_of(history), "eng@example.com", "kenji.watanabe@example.com")
    assert kenji.since.commit == history["merge"]
    assert kenji.since.pull_request == 2
    assert kenji.since.approvers == [OLIVIA] and kenji.since.approval == "trailers"
    assert kenji.since.date.startswith("2026-02-10")
    assert kenji.applied == "2026-02-11T08:00:00+00:00" and kenji.applied_by == "deploy-bot"


def test_without_a_trailer_the_apply_records_actor_is_named_and_otherwise_unknown(history):
    review = review_of(history)
    omar = row(review, "eng@example.com", "omar.haddad@example.com")
    assert omar.since.commit == history["rebased"]
    assert (omar.since.approvers, omar.since.approval) == (["jo"], "apply actor")
    jo = row(review, "eng@example.com", "jo.lei@example.com")
    assert (jo.since.approvers, jo.since.approval) == ([], "unknown")
    assert jo.since.pull_request == 1
    assert "no apply record shows when Google got it" in jo.why_unknown


def test_a_grant_moved_to_another_file_keeps_its_age(history):
    review = review_of(history)
    kenji = row(review, "platform@example.com", "kenji.watanabe@example.com")
    assert kenji.since.commit == history["initial"]
    assert kenji.via[0].source.startswith("groups/platform.yaml:")


def test_a_grant_removed_and_added_again_starts_over(history):
    maria = row(review_of(history), "eng@example.com", "maria.silva@example.com")
    assert maria.since.commit == history["readded"] and maria.since.pull_request == 5


def test_as_of_a_past_day_is_rebuilt_from_history(history):
    before = review_of(history, as_of=date(2026, 2, 1))
    assert before.git_commit == history["initial"] and before.google == "as-of"
    assert "kenji.watanabe@example.com" not in members(before, "eng@example.com")
    assert "maria.silva@example.com" in members(before, "eng@example.com")
    gone = review_of(history, as_of=date(2026, 3, 5))
    assert gone.git_commit == history["removed"]
    assert "maria.silva@example.com" not in members(gone, "eng@example.com")
    # The apply record of 2026-04-02 is after that day: not shown.
    april = review_of(history, as_of=date(2026, 4, 1))
    assert row(april, "eng@example.com", "omar.haddad@example.com").applied is None


def test_a_dated_entry_is_flagged_while_it_runs_and_gone_after_its_day(history):
    running = review_of(history, as_of=date(2026, 3, 20))
    interim = row(running, "audit@example.com", "interim.auditor@partner-firm.com")
    assert interim.until == "2026-03-31"
    assert set(interim.flags) >= {model.EXPIRING, model.EXTERNAL}
    after = review_of(history, as_of=date(2026, 4, 1))
    assert "interim.auditor@partner-firm.com" not in members(after, "audit@example.com")


def test_owners_who_are_not_members_and_external_members_are_flagged(history):
    review = review_of(history)
    hannah = row(review, "audit@example.com", "hannah.lee@example.com")
    assert model.OWNER_NOT_MEMBER in hannah.flags
    auditor = row(review, "audit@example.com", "auditor@partner-firm.com")
    assert auditor.flags == [model.EXTERNAL] and auditor.type == "EXTERNAL"


def test_a_member_through_a_group_git_does_not_export_shows_the_way(history):
    review = review_of(history)
    jo = row(review, "platform@example.com", "jo.lei@example.com")
    assert [(v.group, v.role, v.ref) for v in jo.via] == [
        ("platform", "MEMBER", "oncall"),
        ("oncall", "MEMBER", "jo.lei@example.com"),
    ]
    assert jo.via[1].source == "groups/oncall.yaml:2"
    # Jo's own line is older than the rota: the access is whole since the later one.
    assert jo.since.commit == history["oncall"] and jo.since.pull_request == 6


def test_a_shallow_clone_says_its_oldest_dates_may_be_too_late(history, tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{history['repo']}", str(clone)],
        check=True,
        capture_output=True,
    )
    review = make_review(clone / "directory", as_of=None, offline=True, logs=[])
    assert review.shallow
    jo = row(review, "eng@example.com", "jo.lei@example.com")
    assert jo.since.commit == history["oncall"] and not jo.since.exact
    assert any("shallow" in note for note in review.notes)


def test_no_repository_or_no_commit_that_old_is_a_clear_error(history, tmp_path):
    plain = tmp_path / "plain"
    shutil.copytree(EXAMPLE, plain, ignore=shutil.ignore_patterns(".reconciler"))
    with pytest.raises(ReviewError, match="not in a Git repository"):
        make_review(plain, as_of=None, offline=True, logs=[])
    with pytest.raises(ReviewError, match="no commit of this branch is that old"):
        review_of(history, as_of=date(2025, 12, 31))


def test_with_google_read_each_row_says_whether_google_agrees(history):
    review = review_of(history, offline=False)
    assert review.google == "read"
    rows = [r for g in review.groups for r in g.rows]
    assert {r.google for r in rows} >= {"agrees", "missing", "extra"}
    interim = row(review, "audit@example.com", "interim.auditor@partner-firm.com")
    assert interim.google == "extra" and model.NOT_IN_GIT in interim.flags
    assert interim.since is None
    assert any("its access ended" in why for why in interim.why_unknown)
    # Kenji was added in Git (PR 2); the example's tenant never got him.
    kenji = row(review, "eng@example.com", "kenji.watanabe@example.com")
    assert kenji.google == "missing" and model.NOT_IN_GOOGLE in kenji.flags
    # eng@ is still dev@ in Google (a rename the plan makes): its members are found there.
    jo = row(review, "eng@example.com", "jo.lei@example.com")
    assert jo.google == "agrees" and jo.flags == []
    admins = {(r.member, r.role) for r in review.privileged}
    assert admins == {
        ("admin@example.com", "super admin"),
        ("felix.wagner@example.com", "delegated admin"),  # the tenant seed's helpdesk role
    }


def cli(capsys, *args: str) -> tuple[int, str, str]:
    from reconciler.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["access-review", *args])
    out, err = capsys.readouterr()
    return int(ended.value.code or 0), out, err


def test_the_command_writes_each_format(history, tmp_path, capsys):
    directory = str(Path(history["repo"]) / "directory")
    code, out, err = cli(capsys, directory, "--offline")
    assert code == 0 and out.startswith("## Access review as of ")  # markdown by default
    assert "access review: 7 groups" in err
    code, out, _ = cli(capsys, directory, "--offline", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("group,")
    page = tmp_path / "review.html"
    code, out, err = cli(capsys, directory, "--offline", "--out", str(page))
    assert code == 0 and out == "" and f"written to {page}" in err
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    listed = tmp_path / "review.json"
    code, _, _ = cli(
        capsys, directory, "--as-of", "2026-02-01", "--format", "json", "--out", str(listed)
    )
    data = json.loads(listed.read_text(encoding="utf-8"))
    assert code == 0 and data["as_of"] == "2026-02-01" and data["google"] == "as-of"
    assert data["git_commit"] == history["initial"]


@pytest.mark.parametrize(
    "args, said",
    [
        (["--as-of", "2999-01-01"], "is after today"),
        (["--as-of", "2026-13-01"], "Invalid value for '--as-of'"),
        (["--as-of", "2025-12-31"], "no commit of this branch is that old"),
        (["--format", "pdf"], "Invalid value for '--format'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_1(history, capsys, args, said):
    directory = str(Path(history["repo"]) / "directory")
    code, out, err = cli(capsys, directory, "--offline", *args)
    assert code == 1 and out == ""
    assert said in err and "Traceback" not in err


def test_a_directory_outside_git_is_refused_clearly(tmp_path, capsys):
    plain = tmp_path / "plain"
    shutil.copytree(EXAMPLE, plain, ignore=shutil.ignore_patterns(".reconciler"))
    code, _, err = cli(capsys, str(plain), "--offline")
    assert code == 1 and "not in a Git repository" in err and "Traceback" not in err


def test_a_rename_the_plan_has_not_made_is_the_same_member_in_google(history):
    # The example's tenant still has Maria under her previous email, maria.costa@.
    review = review_of(history, offline=False)
    maria = row(review, "eng@example.com", "maria.silva@example.com")
    assert maria.google == "agrees (listed as maria.costa@example.com)"
    assert "maria.costa@example.com" not in members(review, "eng@example.com")


def small_repo(tmp_path: Path, seed: str = "tenant.yaml") -> Path:
    """A state directory at the root of a new repository, with one group."""
    repo = tmp_path / "small"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "workspace.yaml").write_text(
        "directory:\n  domains: [example.com]\nownership:\n  id: acme/identity\n"
        f"provider:\n  kind: emulator\n  seed: {seed}\n",
        encoding="utf-8",
    )
    (repo / "tenant.yaml").write_text(
        "groups:\n  - email: eng@example.com\n    name: eng\n    members:\n"
        "      - {email: ana@example.com, role: MEMBER}\n",
        encoding="utf-8",
    )
    (repo / "people.yaml").write_text(
        "users:\n"
        + "".join(
            f"  - email: {who}@example.com\n    given_name: {who}\n    family_name: X\n"
            for who in ("ana", "bo")
        )
        + "bindings:\n  - user: ana@example.com\n  - user: bo@example.com\n",
        encoding="utf-8",
    )
    return repo


def write_groups(repo: Path, text: str) -> None:
    (repo / "groups.yaml").write_text("groups:\n" + text, encoding="utf-8")


def test_access_that_had_ended_and_is_given_again_is_a_new_grant(tmp_path):
    repo = small_repo(tmp_path)
    eng = "  - name: eng\n    email: eng@example.com\n    members:\n"
    write_groups(repo, eng + "      - email: ana@example.com\n        until: '2026-01-31'\n")
    first = commit(repo, "Ana for January (#1)", "2026-01-01T09:00:00Z")
    write_groups(repo, eng + "      - email: ana@example.com\n        until: '2026-12-31'\n")
    again = commit(repo, "Ana again (#2)", "2026-03-01T09:00:00Z")
    review = make_review(repo, as_of=date(2026, 3, 5), offline=True, logs=[])
    ana = row(review, "eng@example.com", "ana@example.com")
    assert (ana.since.commit, ana.since.pull_request) == (again, 2)
    # Extended before it ended, it is the same grant: since the first commit.
    write_groups(repo, eng + "      - email: ana@example.com\n        until: '2027-06-30'\n")
    commit(repo, "Ana longer (#3)", "2026-06-01T09:00:00Z")
    ana = row(
        make_review(repo, as_of=None, offline=True, logs=[]), "eng@example.com", "ana@example.com"
    )
    assert ana.since.pull_request == 2 and ana.until == "2027-06-30"
    assert first != again


def test_a_group_named_by_email_then_by_name_keeps_its_age(tmp_path):
    repo = small_repo(tmp_path)
    ops = "  - name: ops\n    email: ops@example.com\n    members:\n      - bo@example.com\n"
    write_groups(
        repo,
        ops + "  - name: eng\n    email: eng@example.com\n    members:\n      - ops@example.com\n",
    )
    first = commit(repo, "Ops in eng (#1)", "2026-01-01T09:00:00Z")
    write_groups(
        repo, ops + "  - name: eng\n    email: eng@example.com\n    members:\n      - ops\n"
    )
    commit(repo, "Ops by name (#2)", "2026-02-01T09:00:00Z")
    review = make_review(repo, as_of=None, offline=True, logs=[])
    assert row(review, "eng@example.com", "ops@example.com").since.commit == first


def test_an_emulator_seed_written_with_a_dot_is_no_desired_state(tmp_path, capsys):
    repo = small_repo(tmp_path, seed="./tenant.yaml")
    write_groups(
        repo, "  - name: eng\n    email: eng@example.com\n    members:\n      - ana@example.com\n"
    )
    commit(repo, "Eng (#1)", "2026-01-01T09:00:00Z")
    make_review(repo, as_of=None, offline=True, logs=[])
    # people.yaml and groups.yaml: the seed's groups are never read as grants.
    assert "2 file versions read" in capsys.readouterr().err


def test_a_repository_without_commits_a_bare_one_and_no_directory_are_said_plainly(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    with pytest.raises(ReviewError, match="has no commit yet"):
        make_review(empty, as_of=None, offline=True, logs=[])
    with pytest.raises(ReviewError, match="no such directory"):
        make_review(tmp_path / "nowhere", as_of=None, offline=True, logs=[])
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    with pytest.raises(ReviewError, match="without a working tree"):
        make_review(bare, as_of=None, offline=True, logs=[])


def test_a_failed_read_of_google_is_an_error_not_a_partial_review(
    history, tmp_path, capsys, monkeypatch
):
    import reconciler.session
    from reconciler.problems import ReconcilerError

    def refuse(desired, client, everything=False):
        raise ReconcilerError("groups.list: 503 backendError (the read stopped)")

    monkeypatch.setattr(reconciler.session, "read_actual", refuse)
    out = tmp_path / "review.html"
    code, printed, err = cli(capsys, str(Path(history["repo"]) / "directory"), "--out", str(out))
    assert code == 1 and printed == "" and not out.exists()
    assert "503 backendError" in err and "Traceback" not in err
