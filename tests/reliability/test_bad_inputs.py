"""Bad input never reaches Google: `apply --auto-approve` on every case of the bad-input
corpus exits 1 before a single API call, and a file over the size limit is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.desired import yamlread

CORPUS = Path(__file__).parents[1] / "fixtures" / "invalid"
CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir())


def test_the_corpus_is_well_over_sixty():
    assert len(CASES) >= 100


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_apply_refuses_before_any_api_call(case, tmp_path, emulator, cli, monkeypatch):
    tenant = emulator(seed={"domains": ["example.com"]})
    state = shutil.copytree(case, tmp_path / "case")
    monkeypatch.chdir(state)
    run = cli("apply", ".", "--auto-approve")
    assert run.code == 1, run.text
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert "nothing was changed" in run.err
    assert tenant.server.stats.api_calls == 0


def test_a_file_over_the_size_limit_is_refused(tmp_path, cli, monkeypatch):
    state = shutil.copytree(CORPUS / "unknown-field-titel", tmp_path / "case")
    (state / "users.yaml").write_text(
        "users:\n"
        + "".join(
            f"  - email: u{i:05}@example.com\n    given_name: U\n    family_name: N\n"
            for i in range(2000)
        )
    )
    monkeypatch.setattr(yamlread, "MAX_FILE_BYTES", 16 * 1024)
    monkeypatch.chdir(state)
    run = cli("validate", ".")
    assert run.code == 1, run.text
    assert "Traceback" not in run.err
    problems = run.err.splitlines()[:-1]
    assert len(problems) == 1 and problems[0].startswith("users.yaml"), run.err
    assert "MiB" in problems[0] or "large" in problems[0] or "limit" in problems[0], problems
