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
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import WORKSPACE, reconciler, write_state

from reconciler.cli import main

FIXTURES = Path(__file__).parents[1] / "fixtures" / "invalid"
PROBLEM_LINE = re.compile(r"^(?P<file>[^\s:][^:]*?)(?::(?P<line>[1-9][0-9]*))?: (?P<message>\S.*)$")
SUMMARY_LINE = re.compile(r"^(?P<count>[0-9]+) problems? found; nothing was changed\.$")
PREFIX_MARK = " ..."
MIN_CASES = 45


# Cases that show a product bug or a poor message: expected.txt says what should be printed.
XFAIL: dict[str, str] = {}


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_validate(directory: Path, monkeypatch, capsys) -> Run:
    """`reconciler validate .` in-process, from inside `directory` so paths print relative."""
    monkeypatch.chdir(directory)
    monkeypatch.delenv("RECONCILER_DEBUG", raising=False)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["validate", "."])
    captured = capsys.readouterr()
    code = exited.value.code
    return Run(0 if code is None else int(code), captured.out, captured.err)


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
    proc = reconciler("validate", ".", cwd=case)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    expected = read_expected(case)
    assert proc.stderr.splitlines() == [
        *expected,
        f"{len(expected)} problems found; nothing was changed.",
    ]


def test_valid_minimal_directory(tmp_path, monkeypatch, capsys):
    write_state(
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
    write_state(
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


def test_two_spellings_of_one_gmail_account_in_a_group_are_a_warning(tmp_path, monkeypatch, capsys):
    """Google keeps one membership for both, so the plan is well defined: valid, but said,
    at the second spelling, naming the first."""
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE,
            "groups.yaml": (
                "groups:\n"
                "  - name: partners\n"
                "    email: partners@example.com\n"
                "    owners:\n"
                "      - john.doe@gmail.com\n"
                "    members:\n"
                "      - ann@partner.com\n"
                "      - John.Doe+news@GoogleMail.com\n"
                "      - j.doe@gmail.com\n"
            ),
        },
    )
    result = run_validate(tmp_path, monkeypatch, capsys)
    assert result.code == 0, result.err
    assert result.out.startswith("Valid:")
    assert result.err.splitlines() == [
        "groups.yaml:8: warning: group partners: member 'john.doe+news@googlemail.com' is the "
        "same Gmail account as 'john.doe@gmail.com' (line 5); Google keeps one membership, "
        "under the account's own spelling: list it once"
    ]


# -- one pass: every problem in one run ------------------------------------------------------

# The five mistakes of several-problems-one-pass, each as (file, line, part of the message).
FIVE_MISTAKES = [
    ("groups.yaml", 2, "group eng: groups contain each other: eng -> platform -> eng"),
    ("users.yaml", 5, "'password': secrets never live in Git"),
    ("users.yaml", 9, "employee_id: must be text, not the int 1042"),
    ("users.yaml", 14, "manager 'ana.ruis@example.com' is not a user in Git"),
    ("users.yaml", 15, "domain 'example.org' is not in directory.domains"),
]
# Beside directory.domains, which stays usable: the domain check still runs.
WORKSPACE_MISTAKE = ("workspace.yaml", 3, "directory.group_management: must be true or false")


@pytest.mark.parametrize(
    ("case", "mistakes"),
    [
        ("several-problems-one-pass", FIVE_MISTAKES),
        ("several-problems-one-pass-workspace", [*FIVE_MISTAKES, WORKSPACE_MISTAKE]),
    ],
)
def test_validate_reports_every_mistake_in_one_run(case, mistakes):
    """`reconciler validate DIR`: a secret, a number for text, a manager typo, a group cycle
    and a foreign domain (and an invalid workspace.yaml) all in the first run, sorted."""
    proc = reconciler("validate", case, cwd=FIXTURES)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.stdout == ""
    *lines, summary = proc.stderr.splitlines()
    assert summary == f"{len(mistakes)} problems found; nothing was changed."
    found = []
    for line in lines:
        m = PROBLEM_LINE.match(line)
        assert m and m["line"], f"not 'file:LINE: message': {line!r}"
        found.append((Path(m["file"]), int(m["line"]), m["message"]))
    assert [(f, n) for f, n, _ in found] == sorted((f, n) for f, n, _ in found)
    assert len(found) == len(mistakes)
    for (file, line, part), (got_file, got_line, message) in zip(mistakes, found, strict=True):
        assert (got_file, got_line) == (Path(case, file), line), message
        assert part in message


def test_model_error_causes_no_reference_error(tmp_path, monkeypatch, capsys):
    """Entries that fail their model still count for references: no "not a user in Git" for
    jo (unusable: given_name is a number), no "not a group" for Platform or its email (kept
    without its bad field); the one real wrong reference is reported, with its hint."""
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE,
            "users.yaml": (
                "users:\n"
                "  - email: Jo.Lei@example.com\n"
                "    given_name: 42\n"
                "    family_name: Lei\n"
                "  - email: ana.ruiz@example.com\n"
                "    given_name: Ana\n"
                "    family_name: Ruiz\n"
                "    titel: Engineer\n"
                "    manager: jo.lei@example.com\n"
                "  - email: sam.okafor@example.com\n"
                "    given_name: Sam\n"
                "    family_name: Okafor\n"
                "    manager: ana.ruis@example.com\n"
                "bindings:\n"
                "  - user: jo.lei@example.com\n"
                "  - group: Platform\n"
            ),
            "groups.yaml": (
                "groups:\n"
                "  - name: Platform\n"
                "    email: platform@example.com\n"
                "    membership: exclusive\n"
                "    members: [jo.lei@example.com]\n"
                "  - name: eng\n"
                "    members: [platform@example.com, Platform, ana.ruiz@example.com]\n"
            ),
        },
    )
    result = run_validate(tmp_path, monkeypatch, capsys)
    assert result.code == 1
    assert result.err.splitlines() == [
        "groups.yaml:4: group Platform: membership: must be one of 'authoritative' or "
        "'additive', not 'exclusive'",
        "users.yaml:3: user Jo.Lei@example.com: given_name: must be text, not the int 42: "
        "put it in quotes",
        "users.yaml:8: user ana.ruiz@example.com: titel: unknown field 'titel' (did you mean "
        "'title'?); allowed: email, given_name, family_name, org_unit, title, department, "
        "cost_center, manager, phone, employee_id, recovery_email, recovery_phone, aliases, "
        "previous_emails, state, offboarding, onboarding, license, sign_out_after, "
        "require_password_change_after",
        "users.yaml:13: user sam.okafor@example.com: manager 'ana.ruis@example.com' is not a "
        "user in Git (did you mean 'ana.ruiz@example.com'?)",
        "4 problems found; nothing was changed.",
    ]


def test_unreadable_file_causes_no_reference_error(tmp_path, monkeypatch, capsys):
    """A file that does not parse may hold any user or group: references are not judged
    (the other checks still run), rather than reported unknown one by one."""
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE,
            "users.yaml": "users:\n  - email: jo.lei@example.com\n    given_name: [Jo\n",
            "more.yaml": (
                "users:\n"
                "  - email: ana.ruiz@example.com\n"
                "    given_name: Ana\n"
                "    family_name: Ruiz\n"
                "    manager: jo.lei@example.com\n"
                "groups:\n"
                "  - name: eng\n"
                "    members: [jo.lei@example.com, leads]\n"
                "bindings:\n"
                "  - user: jo.lei@example.com\n"
                "  - group: eng\n"
                "  - group: eng\n"
            ),
        },
    )
    result = run_validate(tmp_path, monkeypatch, capsys)
    assert result.code == 1
    lines = result.err.splitlines()
    assert lines[0] == "more.yaml:12: binding eng is defined twice (also at more.yaml:11)"
    assert lines[1].startswith("users.yaml:4: YAML syntax: ")
    assert lines[2:] == ["2 problems found; nothing was changed."]


def test_invalid_settings_still_find_the_entry_files(tmp_path, monkeypatch, capsys):
    """With provider and exclude invalid, the entry files are still checked, and the
    emulator's seed and the excluded files still left out (their text is no desired state)."""
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE.replace("kind: emulator", "kind: azure")
            + "exclude: docs/*.yaml\n",
            "tenant.yaml": "customer: my_customer\nusers: []\n",
            "docs/notes.yaml": "title: How we name groups\n",
            "users.yaml": "users:\n  - {email: jo@example.com, given_name: Jo, family_name: 7}\n",
        },
    )
    result = run_validate(tmp_path, monkeypatch, capsys)
    assert result.code == 1
    assert result.err.splitlines() == [
        "users.yaml:2: user jo@example.com: family_name: must be text, not the int 7: put it "
        "in quotes",
        "workspace.yaml:6: workspace: provider.kind: must be one of 'emulator' or 'google', "
        "not 'azure'",
        "workspace.yaml:7: workspace: exclude: must be a list, not 'docs/*.yaml'",
        "3 problems found; nothing was changed.",
    ]


def test_entries_under_a_misspelt_section_count_for_references(tmp_path, monkeypatch, capsys):
    """`usrs:` is reported, and the users in it are not reported again as unknown wherever
    they are named; other references are still judged."""
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE,
            "extra.yaml": "usrs:\n  - {email: jo.lei@example.com, given_name: Jo}\n",
            "users.yaml": (
                "users:\n"
                "  - email: ana.ruiz@example.com\n"
                "    given_name: Ana\n"
                "    family_name: Ruiz\n"
                "    manager: jo.lei@example.com\n"
                "  - email: sam.okafor@example.com\n"
                "    given_name: Sam\n"
                "    family_name: Okafor\n"
                "    manager: kim.park@example.com\n"
                "bindings:\n"
                "  - user: jo.lei@example.com\n"
            ),
        },
    )
    result = run_validate(tmp_path, monkeypatch, capsys)
    assert result.code == 1
    assert result.err.splitlines() == [
        "extra.yaml:1: unknown top-level key 'usrs' (did you mean 'users'?); allowed: "
        "org_units, users, groups, bindings",
        "users.yaml:9: user sam.okafor@example.com: manager 'kim.park@example.com' is not a "
        "user in Git",
        "2 problems found; nothing was changed.",
    ]


def test_settings_stand_in_falls_back_to_defaults(tmp_path, monkeypatch):
    """Should a required setting lack a stand-in, every setting counts as broken (so no check
    trusts one) and the entry files are still read."""
    from reconciler.desired import load

    monkeypatch.setattr(load, "_REQUIRED_SETTINGS", {})
    write_state(
        tmp_path,
        {
            "workspace.yaml": "directory:\n  domains: [example.com]\nprovider: {kind: emulator}\n",
            "users.yaml": "users:\n  - {email: jo@example.com, given_name: Jo, family_name: 7}\n",
        },
    )
    tree, problems = load.read_tree(tmp_path)
    assert [(p.path.name, p.line) for p in sorted(problems)] == [
        ("users.yaml", 2),
        ("workspace.yaml", 1),
    ]
    assert tree.broken_settings == set(load.Workspace.model_fields)
    assert not tree.has_setting("directory.domains")
    assert tree.workspace.directory.domains == []
