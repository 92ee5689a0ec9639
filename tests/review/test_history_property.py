"""The history walk (reconciler/review/history.py) against a model that reads every commit
whole: for any sequence of commits that rewrite, move and split grants between files, date
them and let them end, each grant's since is the commit from which it has been held all
along, restarted where it had ended and was given again. The walk reads only what each commit
changed, piece by piece; the model parses every file at every commit."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.review.history import canonical, parsed_grants, read_history
from review.example_repo import git

GROUPS = {"eng": "eng@example.com", "ops": "ops@example.com", "all": None}
REFS = ["ana@example.com", "bo@example.com", "Cy@Example.com", "ops", "ops@example.com", "eng"]
UNTILS = [None, None, "2026-01-20", "2026-03-01", "2026-06-30"]
START = date(2026, 1, 1)


@st.composite
def group_text(draw, name: str) -> str:
    lines = [f"  - name: {name}"]
    if GROUPS[name]:
        lines.append(f"    email: {GROUPS[name]}")
    for attr in draw(st.lists(st.sampled_from(["owners", "members"]), unique=True)):
        lines.append(f"    {attr}:")
        for ref in draw(st.lists(st.sampled_from(REFS), max_size=3, unique=True)):
            if ref == name or ref == GROUPS[name]:
                continue
            until = draw(st.sampled_from(UNTILS))
            if until is None or "@" not in ref:
                lines.append(f"      - {ref}")
            else:
                lines += [f"      - email: {ref}", f"        until: '{until}'"]
    return "\n".join(lines)


@st.composite
def commits(draw) -> list[dict[str, str]]:
    """Each commit: the entry files' whole texts (each group in one file or another)."""
    found = []
    for _ in range(draw(st.integers(1, 6))):
        files: dict[str, list[str]] = {}
        for name in GROUPS:
            if draw(st.booleans()) or not found:
                where = draw(st.sampled_from(["a.yaml", "b.yaml", "sub/c.yaml"]))
                files.setdefault(where, []).append(draw(group_text(name)))
        found.append({p: "groups:\n" + "\n".join(gs) + "\n" for p, gs in files.items()})
    return found


def model(history: list[dict[str, str]]) -> dict:
    """Grant -> the index of its commit since, reading every file of every commit."""
    yaml = YAML(typ="safe", pure=False)
    since: dict = {}
    before: dict = {}
    names: dict = {}  # groups' emails -> names, as last seen (a group gone keeps its email)
    for i, files in enumerate(history):
        day = (START + timedelta(days=10 * i)).isoformat()
        grants: dict = {}
        per_file = [parsed_grants(yaml.load(text)) for text in files.values()]
        for _, emails in per_file:
            names.update(emails)
        for file_grants, _ in per_file:
            for key, until in file_grants.items():
                key = canonical(key, names)
                if key not in grants:
                    grants[key] = until
                elif grants[key] is not None:
                    grants[key] = None if until is None else max(grants[key], until)
        for key in list(since):
            if key not in grants:
                del since[key]
        for key, until in grants.items():
            ended_before = key in before and before[key] is not None and before[key] < day
            runs_now = until is None or until >= day
            if key not in before or (ended_before and runs_now):
                since[key] = i
        before = grants
    return since


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(commits())
def test_the_walk_agrees_with_reading_every_commit_whole(tmp_path_factory, history):
    repo = tmp_path_factory.mktemp("walk")
    git(repo, "init", "-q", "-b", "main")
    shas = []
    for i, files in enumerate(history):
        for path in repo.rglob("*.yaml"):
            path.unlink()
        for name, text in files.items():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_text(text, encoding="utf-8")
        when = (START + timedelta(days=10 * i)).isoformat() + "T12:00:00Z"
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", f"step {i}", date_=when)
        shas.append(git(repo, "rev-parse", "HEAD"))
    walked = read_history(Path(repo), ".", "HEAD", set())
    expected = model(history)
    assert {k: shas.index(c.sha) for k, c in walked.since.items()} == expected
