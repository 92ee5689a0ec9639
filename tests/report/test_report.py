"""`reconciler report`: each section on a purpose-built tenant, each format on the example
(snapshots), escaping of markdown and CSV, and the exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cli_support import EXAMPLE_ENTRA_CHANGES
from importing.support import (
    EXAMPLE,
    OURS,
    THEIRS,
    account,
    cli,
    copy_example,
    google_group,
    state_dir,
    tenant,
)

from reconciler.commands.report import SECTIONS, Report, Row, build_report, render_report
from reconciler.plan.plan import Plan
from reconciler.settings import Workspace
from reconciler.state import Credentials, State, Transfer, User

# Drive and Calendar, each moved: what a transfer must hold to cover an account.
MOVED = (("55656082996", "completed"), ("435070579839", "completed"))

# Git: Ann and Root are bound and in Google; Ben is bound but Google lacks him; Sam is in
# Git but bound no more.
AUDIT_GIT = """\
users:
  - email: ann@example.com
    given_name: Ann
    family_name: A
    title: Lead
    aliases: [ann.a@example.com, a@example.com]
  - email: ben@example.com
    given_name: Ben
    family_name: B
  - email: sam@example.com
    given_name: Sam
    family_name: S
  - email: root@example.com
    given_name: Root
    family_name: Admin
groups:
  - name: team
    email: team@example.com
    display_name: Team
    members:
      - ann@example.com
bindings:
  - user: ann@example.com
  - user: ben@example.com
  - user: root@example.com
"""

AUDIT_GOOGLE = tenant(
    [
        account("ann@example.com", "Ann", "A", owner=OURS, title="Old title"),
        account("sam@example.com", "Sam", "S", owner=OURS),
        account("root@example.com", "Root", "Admin", owner=OURS, admin=True),
        account("old@example.com", "Old", "O", owner=OURS),
        account("info@example.com", "Info", "Box"),
        account("gone@example.com", "Gone", "G", suspended=True),
        account("ext@example.com", "Ext", "E", owner=THEIRS),
        account("shadow@example.com", "Shadow", "Admin", admin=True),
    ],
    [google_group("team@example.com", "Team", members=["ann@example.com", "info@example.com"])],
)


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    return state_dir(
        tmp_path / "audit", AUDIT_GOOGLE, {"git.yaml": AUDIT_GIT}, protected=["root@example.com"]
    )


def report_json(capsys, root: Path) -> dict[str, Any]:
    run = cli(capsys, "report", root, "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def rows(data: dict[str, Any], section: str) -> list[tuple[str, str, bool]]:
    return [(r["key"], r["detail"], r["finding"]) for r in data["sections"][section]]


# -- sections ----------------------------------------------------------------------------------


def test_each_section_on_a_purpose_built_tenant(audit, capsys):
    data = report_json(capsys, audit)
    assert list(data["sections"]) == list(SECTIONS)
    assert rows(data, "unmanaged") == [
        ("gone@example.com", "not in Git (suspended)", True),
        ("info@example.com", "not in Git (active)", True),
        ("shadow@example.com", "not in Git (active)", True),
    ]
    assert rows(data, "missing") == [("ben@example.com", "bound in Git, no account", True)]
    assert rows(data, "drift") == [
        (
            "ann@example.com",
            "update user ann@example.com: title: Old title -> Lead; "
            "aliases: [] -> [a@example.com, ann.a@example.com]",
            True,
        ),
        (
            "team@example.com",
            "adopt group team@example.com (takeover of an existing group)",
            True,
        ),
        (
            "team@example.com/info@example.com",
            "remove info@example.com from team@example.com",
            True,
        ),
    ]
    assert rows(data, "orphaned") == [
        ("old@example.com", "suspend user old@example.com (marked as ours but not in Git)", True),
        ("sam@example.com", "suspend user sam@example.com (no longer bound)", True),
    ]
    assert rows(data, "other_owner") == [
        ("ext@example.com", f"managed by '{THEIRS}' (active)", False),
    ]
    assert rows(data, "privileged") == [
        ("root@example.com", "super admin; named in Git; protected", False),
        ("shadow@example.com", "super admin; NOT named in Git", True),
    ]
    assert data["findings"] == 10


def test_a_protected_account_git_would_suspend_is_drift_marked_refused(audit, capsys):
    (audit / "git.yaml").write_text(
        AUDIT_GIT.replace("  - user: root@example.com\n", ""), encoding="utf-8"
    )
    data = report_json(capsys, audit)
    assert rows(data, "orphaned") == [
        ("old@example.com", "suspend user old@example.com (marked as ours but not in Git)", True),
        ("sam@example.com", "suspend user sam@example.com (no longer bound)", True),
    ]
    refused = [r for r in rows(data, "drift") if r[0] == "root@example.com"]
    assert refused == [
        (
            "root@example.com",
            "suspend user root@example.com (refused: root@example.com is protected "
            "(workspace.yaml: protected); no longer bound)",
            True,
        )
    ]


def test_accounts_git_names_by_alias_or_previous_address_are_not_unmanaged(tmp_path, capsys):
    git = (
        "users:\n"
        "  - email: robert@example.com\n    given_name: R\n    family_name: F\n"
        "  - email: maria.silva@example.com\n    given_name: M\n    family_name: S\n"
        "    previous_emails: [maria.costa@example.com]\n"
        "bindings:\n  - user: robert@example.com\n  - user: maria.silva@example.com\n"
    )
    google = tenant(
        [
            account("rf@example.com", "R", "F", aliases=["robert@example.com"]),
            account("maria.costa@example.com", "M", "S", owner=OURS),
        ]
    )
    root = state_dir(tmp_path / "renames", google, {"git.yaml": git})
    data = report_json(capsys, root)
    assert rows(data, "unmanaged") == []
    assert {r[1].split(" (")[0] for r in rows(data, "drift")} == {
        "rename user rf@example.com -> robert@example.com",
        "adopt user robert@example.com",
        "rename user maria.costa@example.com -> maria.silva@example.com",
    }


def test_delegated_admins_are_listed_with_whether_git_names_them():
    # Built by hand: every combination of ours, theirs, super and delegated at once.
    ws = Workspace.model_validate(
        {
            "directory": {"domains": ["example.com"]},
            "ownership": {"id": OURS},
            "provider": {"kind": "emulator"},
        }
    )
    desired = State(users={"help@example.com": User("help@example.com", bound=True)})
    actual = State(
        users={
            "help@example.com": User("help@example.com", owner=OURS, is_delegated_admin=True),
            "ops@example.com": User("ops@example.com", owner=OURS, is_delegated_admin=True),
            "boss@example.com": User(
                "boss@example.com", owner=THEIRS, is_admin=True, is_delegated_admin=True
            ),
        }
    )
    found = build_report(desired, actual, Plan(), ws)
    assert [(r.key, r.detail, r.finding) for r in found.sections["privileged"]] == [
        ("boss@example.com", "super admin; NOT named in Git", True),
        ("help@example.com", "delegated admin; named in Git", False),
        ("ops@example.com", "delegated admin; NOT named in Git", True),
    ]
    assert [r.key for r in found.sections["other_owner"]] == ["boss@example.com"]


def test_licenses_seats_over_what_was_bought_and_licensed_suspended_accounts():
    ws = Workspace.model_validate(
        {
            "directory": {"domains": ["example.com"]},
            "ownership": {"id": OURS},
            "provider": {"kind": "emulator"},
            "licenses": {"seats": {"business-plus": 1, "business-starter": 5}},
        }
    )
    actual = State(
        users={
            "ana@example.com": User("ana@example.com", owner=OURS),
            "gone@example.com": User("gone@example.com", owner=OURS, suspended=True),
            "old@example.com": User("old@example.com", owner=None, suspended=True),
        },
        licenses={
            "ana@example.com": "1010020025",
            "gone@example.com": "1010020025",
            "old@example.com": "Google-Apps-Lite",
        },
    )
    found = build_report(State(), actual, Plan(), ws)
    assert [(r.key, r.detail, r.finding) for r in found.sections["licenses"]] == [
        ("sku business-plus", "2 used of 1 seats; more than bought", True),
        ("sku business-starter", "0 used of 5 seats", False),
        ("sku g-suite-lite", "1 used", False),
        ("gone@example.com", "suspended, still holds business-plus", True),
        ("old@example.com", "suspended, still holds g-suite-lite; not managed here", True),
    ]
    # Without a `licenses:` block the section is empty: nothing about licenses is read.
    bare = ws.model_copy(update={"licenses": None})
    assert build_report(State(), actual, Plan(), bare).sections["licenses"] == []


# -- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "csv"])
def test_each_format_on_the_example(tmp_path, capsys, snapshot, fmt):
    root = copy_example(tmp_path / "example")
    run = cli(capsys, "report", root, "--format", fmt)
    assert run.code == 0, run.err
    assert run.err == ""
    suffix = {"text": "txt", "markdown": "md"}.get(fmt, fmt)
    snapshot.assert_match(run.out, f"example.{suffix}")


def test_the_formats_agree(tmp_path, capsys):
    root = copy_example(tmp_path / "example")
    data = json.loads(cli(capsys, "report", root, "--format", "json").out)
    table = list(csv.DictReader(io.StringIO(cli(capsys, "report", root, "--format", "csv").out)))
    flat = [
        (section, r["key"], r["detail"], "yes" if r["finding"] else "no")
        for section, found in data["sections"].items()
        for r in found
    ]
    assert [(r["section"], r["key"], r["detail"], r["finding"]) for r in table] == flat
    text = cli(capsys, "report", root).out
    assert text.rstrip().endswith(f"{data['findings']} finding(s) to review.")
    for section, title in SECTIONS.items():
        assert f"{title}: {len(data['sections'][section])}\n" in text


def test_markdown_cells_are_escaped(tmp_path, capsys):
    evil = "<script>alert(1)</script> | R&D"
    git = (
        "users:\n  - email: ann@example.com\n    given_name: Ann\n    family_name: A\n"
        f"    title: {json.dumps(evil)}\n"
        "groups:\n  - name: team\n    email: team@example.com\n"
        '    description: "Line one\\n| not | a row |\\nLine three"\n'
        "    members:\n      - ann@example.com\n"
        "bindings:\n  - user: ann@example.com\n"
    )
    google = tenant(
        [account("ann@example.com", "Ann", "A", owner=OURS, title="Plain")],
        [google_group("team@example.com", "team", members=["ann@example.com"])],
    )
    root = state_dir(tmp_path / "md", google, {"git.yaml": git})
    run = cli(capsys, "report", root, "--format", "markdown")
    assert run.code == 0, run.err
    assert "<script>" not in run.out
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| R&D" in run.out
    table = [line for line in run.out.splitlines() if line.startswith("| ")]
    # Every row is one line of exactly two cells: no pipe or newline breaks out.
    assert all(line.replace("\\|", "").count("|") == 3 for line in table)
    assert any("team@example.com" in line and "Line three" in line for line in table)
    text = cli(capsys, "report", root).out
    assert "\n| not | a row |" not in text and "\nLine three" not in text


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://x")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"]
)
def test_csv_cells_a_spreadsheet_would_run_are_defused(value):
    found = Report()
    found.sections["unmanaged"].append(Row(value, value))
    table = list(csv.reader(io.StringIO(render_report(found, "csv"))))
    assert table[1] == ["unmanaged", "'" + value, "'" + value, "yes"]


def test_csv_leaves_ordinary_cells_alone(audit, capsys):
    run = cli(capsys, "report", audit, "--format", "csv")
    table = list(csv.reader(io.StringIO(run.out)))
    assert table[0] == ["section", "key", "detail", "finding"]
    assert not [cell for row in table for cell in row if cell.startswith("'")]


# -- exit codes --------------------------------------------------------------------------------


def test_findings_exit_2_with_detailed_exitcode_and_0_without(audit, capsys):
    assert cli(capsys, "report", audit, "--detailed-exitcode").code == 2
    assert cli(capsys, "report", audit).code == 0


@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "csv"])
def test_clean_after_import_and_apply(tmp_path, capsys, fmt):
    root = tmp_path / "acme"
    root.mkdir()
    # With the seed of the emulated Entra tenant its `entra:` block names, and the template
    # of its `onboarding:` block.
    for name in ("workspace.yaml", "tenant.yaml", "entra-tenant.yaml", "onboarding.txt"):
        shutil.copy(EXAMPLE / name, root / name)
    assert cli(capsys, "import", root, "--groups", "--include-suspended").code == 0
    applied = cli(capsys, "apply", root, "--auto-approve")
    assert applied.code == 0, applied.err
    run = cli(capsys, "report", root, "--detailed-exitcode", "--format", fmt)
    assert run.code == 0, run.out
    if fmt == "text":
        assert run.out.rstrip().endswith("Clean: Google matches Git.")
        # Listed for review, yet nothing to act on.
        assert "cms-publisher@example.com: managed by 'acme/marketing-sites'" in run.out
        assert "admin@example.com: super admin; named in Git; protected" in run.out
    if fmt == "json":
        assert json.loads(run.out)["findings"] == 0


def test_invalid_input_exits_1(tmp_path, capsys):
    root = copy_example(tmp_path / "example")
    (root / "users" / "broken.yaml").write_text("users:\n  - email: [nope\n", encoding="utf-8")
    run = cli(capsys, "report", root, "--detailed-exitcode")
    assert run.code == 1
    assert "broken.yaml:" in run.err and run.out == ""
    assert cli(capsys, "report", tmp_path / "missing", "--detailed-exitcode").code == 1
    assert cli(capsys, "report", root, "--format", "html").code == 1


def test_groups_of_another_repository_and_groups_left_behind(tmp_path, capsys):
    from reconciler.google.marker import group_marker_line

    git = (
        "users:\n  - email: ann@example.com\n    given_name: Ann\n    family_name: A\n"
        "groups:\n  - name: web\n    email: web@example.com\n    members: [ann@example.com]\n"
        "bindings:\n  - user: ann@example.com\n"
    )
    theirs, ours = group_marker_line(THEIRS), group_marker_line(OURS)
    google = tenant(
        [account("ann@example.com", "Ann", "A", owner=OURS)],
        [
            google_group("web@example.com", "web", members=["ann@example.com"], description=theirs),
            google_group("blog@example.com", "blog", description=theirs),
            google_group("old@example.com", "old", members=["ann@example.com"], description=ours),
        ],
    )
    root = state_dir(tmp_path / "groups", google, {"git.yaml": git})
    run = cli(capsys, "report", root, "--format", "json")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert rows(data, "other_owner") == [
        ("blog@example.com", f"group managed by '{THEIRS}'", False),
        (
            "web@example.com",
            f"group managed by '{THEIRS}'; named in Git, so left alone by this repository",
            True,
        ),
    ]
    assert rows(data, "orphaned") == [
        ("old@example.com", "group marked as ours but not in Git (keeps its 1 member)", True)
    ]


def test_offboarding_lists_live_credentials_untransferred_data_and_waiting_deletes():
    ws = Workspace.model_validate(
        {
            "directory": {"domains": ["example.com"]},
            "ownership": {"id": OURS},
            "provider": {"kind": "emulator"},
            "offboarding": {"transfer_to": "manager"},
        }
    )
    creds = Credentials(tokens=("app-1",), asps=("7",))
    since = "2026-05-01T00:00:00Z"

    def suspended(email: str, *transfers: Transfer, **more: Any) -> User:
        return User(
            email, owner=OURS, suspended=True, suspended_at=since, **more, transfers=transfers
        )

    actual = State(
        users={
            "sam@example.com": suspended("sam@example.com", credentials=creds),
            "kim@example.com": suspended(
                "kim@example.com",
                Transfer(
                    "t1", "completed", request_time="2026-05-01T00:00:01Z", applications=MOVED
                ),
                credentials=Credentials(),
            ),
            # Rehired, suspended again: the transfer of the first time holds none of it.
            "rex@example.com": suspended(
                "rex@example.com",
                Transfer(
                    "t0", "completed", request_time="2025-01-01T00:00:00Z", applications=MOVED
                ),
            ),
            "active@example.com": User("active@example.com", owner=OURS, credentials=creds),
        }
    )
    plan = Plan(notes=["delete of kim@example.com waits: delete_after_days is 30: ..."])
    found = build_report(State(), actual, plan, ws)
    assert [(r.key, r.detail) for r in found.sections["offboarding"]] == [
        (
            "rex@example.com",
            "suspended, data not transferred (transfers since the suspension: none)",
        ),
        ("sam@example.com", "suspended, still has 1 OAuth grant(s), 1 app password(s)"),
        (
            "sam@example.com",
            "suspended, data not transferred (transfers since the suspension: none)",
        ),
        ("kim@example.com", "delete waits: delete_after_days is 30: ..."),
    ]
    # Nothing said about transfers: for review; `transfer_to: none`: not listed.
    bare = ws.model_copy(update={"offboarding": None})
    rows = build_report(State(), actual, Plan(), bare).sections["offboarding"]
    assert [(r.key, r.finding) for r in rows if "not transferred" in r.detail] == [
        ("rex@example.com", False),
        ("sam@example.com", False),
    ]
    said = Workspace.model_validate(
        ws.model_dump(exclude_unset=True) | {"offboarding": {"transfer_to": "none"}}
    )
    rows = build_report(State(), actual, Plan(), said).sections["offboarding"]
    assert [r.key for r in rows] == ["sam@example.com"]


def test_the_example_applied_leaves_no_drift_in_entra_either(tmp_path, capsys):
    """The example's report lists the export to Entra ID as drift (the snapshots); applied,
    the Entra groups match Git, and no drift is left."""
    root = copy_example(tmp_path / "example")
    entra = [r for r in report_json(capsys, root)["sections"]["drift"] if "Entra" in r["detail"]]
    assert len(entra) == EXAMPLE_ENTRA_CHANGES
    assert cli(capsys, "apply", root, "--auto-approve").code == 0
    assert report_json(capsys, root)["sections"]["drift"] == []
