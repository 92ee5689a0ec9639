"""The container image for CI systems other than GitHub, and the GitLab CI example that runs
it. Nothing is built here: the Dockerfile is read (and linted by hadolint in .ci/run)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
GITLAB = ROOT / "examples" / "gitlab" / "gitlab-ci.yml"


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), one list per stage."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("FROM "):
            found.append([])
        found[-1].append(re.sub(r"\s+", " ", line))
    return found


def test_the_image_is_built_in_two_stages_and_keeps_only_the_installed_tool():
    build, final = stages()
    assert build[0] == "FROM python:3.12-slim AS build"
    assert final[0] == "FROM python:3.12-slim"
    install = next(i for i in build if "pip install" in i)
    assert "pip install --no-cache-dir /src" in install  # this checkout, no name from the index
    assert "pip uninstall --yes pip setuptools wheel" in install
    copies = [i for i in final if i.startswith("COPY")]
    assert copies == ["COPY --from=build /opt/reconciler /opt/reconciler"]
    assert final[-2:] == ['ENTRYPOINT ["reconciler"]', 'CMD ["--help"]']


def test_the_image_runs_as_a_user_without_build_tools():
    _, final = stages()
    user = [i for i in final if i.startswith("USER ")]
    assert user == ["USER 10001:10001"]  # numeric, so runAsNonRoot can check it
    assert final.index(user[0]) > max(i for i, x in enumerate(final) if x.startswith("RUN"))
    run = " ".join(i for i in final if i.startswith("RUN"))
    assert "--no-install-recommends git" in run
    for tool in ("gcc", "build-essential", "make ", "pip install", "python3-dev"):
        assert tool not in run
    assert "python -m pip uninstall --yes pip" in run
    assert "rm -rf /var/lib/apt/lists/*" in run


def test_the_build_context_is_what_pip_needs():
    """.dockerignore lets in pyproject.toml, its readme and the packages it finds."""
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*"
    kept = {rule[1:] for rule in rules if rule.startswith("!")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert kept == {"pyproject.toml", project["project"]["readme"]} | {
        p.rstrip("*") for p in packages
    }


def gitlab() -> dict[str, Any]:
    return YAML(typ="safe").load(GITLAB.read_text(encoding="utf-8"))


def test_gitlab_runs_a_pinned_image_of_the_tool():
    ci = gitlab()
    image = ci["variables"]["RECONCILER_IMAGE"]
    assert re.fullmatch(r"[a-z0-9.-]+/[a-z0-9/._-]+:v[0-9][^:]*|.+@sha256:[0-9a-f]{64}", image)
    assert ci["default"]["image"] == {"name": "$RECONCILER_IMAGE", "entrypoint": [""]}
    assert "pip install" not in GITLAB.read_text(encoding="utf-8")


def test_gitlab_plans_merge_requests_and_applies_the_saved_plan_on_the_default_branch():
    ci = gitlab()
    state = ci["variables"]["STATE_DIR"]
    watched = f"{state}/**/*"
    plan = ci["plan"]
    assert plan["rules"] == [
        {
            "if": '$CI_PIPELINE_SOURCE == "merge_request_event"',
            "changes": [watched, ".gitlab-ci.yml"],
        }
    ]
    assert plan["script"][:2] == [
        'reconciler validate "$STATE_DIR"',
        'reconciler fmt --check "$STATE_DIR"',
    ]
    assert "--out plan.json" in plan["script"][2]
    on_default = [{"if": "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH", "changes": [watched]}]
    assert ci["plan main"]["rules"] == ci["apply"]["rules"] == on_default
    apply = ci["apply"]
    assert apply["needs"] == ["plan main"] and apply["stage"] == "apply"
    assert apply["environment"]["name"] == "google-workspace"
    assert apply["resource_group"] == "reconciler-apply"
    assert apply["script"][0].startswith("reconciler apply plan.json --audit-log audit.jsonl")
    assert apply["artifacts"]["when"] == "always"
    for job in ("plan", "plan main", "apply"):
        assert ci[job]["extends"] == ".google"
