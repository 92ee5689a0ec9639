"""The bad-input corpus: every loader and validation rule, shown by a tiny state directory.

Each folder under tests/fixtures/invalid/ is a complete state directory (workspace.yaml plus
one or more YAML files, except where the case is about workspace.yaml itself) and an
expected.txt: the problem lines `reconciler validate .` prints to stderr when run from inside
the folder, in the order printed (sorted by file, then line). The summary line ("N problems
found; nothing was changed.") is checked separately and is not listed.

A line of expected.txt that ends in " ..." matches any line starting with the text before it.
It is only used by the cases in XFAIL, where the exact wording is up to whoever fixes the bug.

To add a case: create the folder, run `reconciler validate .` inside it, check that every
line is right (one problem per case, located at the line a person would fix), and save the
lines without the summary as expected.txt.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "invalid"
PROBLEM_LINE = re.compile(r"^(?P<file>[^\s:][^:]*?)(?::(?P<line>[1-9][0-9]*))?: (?P<message>\S.*)$")
SUMMARY_LINE = re.compile(r"^(?P<count>[0-9]+) problems? found; nothing was changed\.$")
PREFIX_MARK = " ..."
# Every case must fail fast; this is what makes the alias bomb case meaningful.
MAX_SECONDS = 5.0
MIN_CASES = 45

WORKSPACE = """\
directory:
  domains: [example.com]
ownership:
  id: acme/identity
provider:
  kind: emulator
"""

# Cases that show a product bug or a poor message: expected.txt says what should be printed.
XFAIL: dict[str, str] = {}


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


def run_validate(directory: Path, monkeypatch, capsys) -> Run:
    """`reconciler validate .` in-process, from inside `directory` so paths print relative."""
    monkeypatch.chdir(directory)
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    capsys.readouterr()
    start = time.monotonic()
    with pytest.raises(SystemExit) as exited:
        main(["validate", "."])
    seconds = time.monotonic() - start
    captured = capsys.readouterr()
    code = exited.value.code
    return Run(0 if code is None else int(code), captured.out, captured.err, seconds)


def read_expected(case: Path) -> list[str]:
    return [line for line in (case / "expected.txt").read_text("utf-8").splitlines() if line]


def matches(expected: str, actual: str) -> bool:
    if expected.endswith(PREFIX_MARK):
        return actual.startswith(expected[: -len(PREFIX_MARK)])
    return actual == expected


def case_dirs() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if p.is_dir())


def case_params():
    for case in case_dirs():
        marks = []
        if case.name in XFAIL:
            marks.append(pytest.mark.xfail(strict=True, reason=XFAIL[case.name]))
        yield pytest.param(case, id=case.name, marks=marks)


@pytest.mark.parametrize("case", list(case_params()))
def test_invalid_case(case: Path, monkeypatch, capsys):
    expected = read_expected(case)
    result = run_validate(case, monkeypatch, capsys)

    assert "Traceback" not in result.err
    assert "internal error" not in result.err
    assert result.seconds < MAX_SECONDS, f"took {result.seconds:.1f}s: must fail fast"
    assert result.code == 1, f"exit {result.code}; stdout: {result.out!r}; stderr: {result.err!r}"
    assert "Valid:" not in result.out

    lines = result.err.splitlines()
    assert lines, "nothing on stderr"
    summary = SUMMARY_LINE.match(lines[-1])
    assert summary, f"last line is not the summary: {lines[-1]!r}"
    problems = lines[:-1]
    assert int(summary["count"]) == len(problems)
    for line in problems:
        assert PROBLEM_LINE.match(line), f"not 'file:LINE: message': {line!r}"
    # Show the differences as a list diff; lines matched by a prefix count as equal.
    shown = [
        exp if exp is not None and act is not None and matches(exp, act) else act
        for exp, act in itertools.zip_longest(expected, problems)
    ]
    assert shown == expected


def test_corpus_is_complete():
    cases = case_dirs()
    assert len(cases) >= MIN_CASES
    names = {c.name for c in cases}
    assert set(XFAIL) <= names, f"XFAIL names missing folders: {set(XFAIL) - names}"
    for case in cases:
        expected = read_expected(case)
        assert expected, f"{case.name}: expected.txt is empty"
        yaml_files = [p for p in case.rglob("*.yaml") if p.name != "workspace.yaml"]
        assert yaml_files, f"{case.name}: no desired-state file"
        if case.name != "workspace-missing":
            assert (case / "workspace.yaml").is_file(), f"{case.name}: no workspace.yaml"
        for line in expected:
            probe = line[: -len("...")] + "x" if line.endswith(PREFIX_MARK) else line
            m = PROBLEM_LINE.match(probe)
            assert m, f"{case.name}: not 'file:LINE: message': {line!r}"
            if case.name != "workspace-missing":
                assert (case / m["file"]).is_file(), f"{case.name}: no file {m['file']}"
            if line.endswith(PREFIX_MARK):
                assert case.name in XFAIL, f"{case.name}: prefix lines are for XFAIL cases only"


def test_non_utf8_fixture_kept_its_bytes():
    # Committed as binary (.gitattributes): a re-encoding tool must not "fix" it.
    raw = (FIXTURES / "yaml-not-utf8" / "users.yaml").read_bytes()
    assert b"Jos\xe9" in raw


def test_cli_subprocess_reports_to_stderr():
    """The real entry point (python -m reconciler) prints the same lines, relative paths."""
    case = FIXTURES / "several-problems-checks"
    env = {k: v for k, v in os.environ.items() if k != "RECONCILER_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "."],
        cwd=case,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    expected = read_expected(case)
    assert proc.stderr.splitlines() == [
        *expected,
        f"{len(expected)} problems found; nothing was changed.",
    ]


def _write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return directory


def test_valid_minimal_directory(tmp_path, monkeypatch, capsys):
    _write(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE,
            "users.yaml": (
                "users:\n"
                "  - email: jo.lei@example.com\n"
                "    given_name: Jo\n"
                "    family_name: Lei\n"
                "bindings:\n"
                "  - user: jo.lei@example.com\n"
            ),
        },
    )
    result = run_validate(tmp_path, monkeypatch, capsys)
    assert result.code == 0, result.err
    assert result.out.startswith("Valid:")
    assert "1 users (1 bound)" in result.out
    assert result.err == ""


def test_warning_exits_zero(tmp_path, monkeypatch, capsys):
    """A user in an exported group with no binding: valid, but said on stderr."""
    _write(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE,
            "users.yaml": (
                "users:\n"
                "  - email: jo.lei@example.com\n"
                "    given_name: Jo\n"
                "    family_name: Lei\n"
                "  - email: ana.ruiz@example.com\n"
                "    given_name: Ana\n"
                "    family_name: Ruiz\n"
                "bindings:\n"
                "  - user: ana.ruiz@example.com\n"
            ),
            "groups.yaml": (
                "groups:\n"
                "  - name: eng\n"
                "    email: eng@example.com\n"
                "    members:\n"
                "      - ana.ruiz@example.com\n"
                "      - jo.lei@example.com\n"
            ),
        },
    )
    result = run_validate(tmp_path, monkeypatch, capsys)
    assert result.code == 0, result.err
    assert result.out.startswith("Valid:")
    assert result.err.splitlines() == [
        "groups.yaml:6: warning: group eng: member 'jo.lei@example.com' has no binding, so no "
        "Google account, and is left out of the Google group"
    ]
