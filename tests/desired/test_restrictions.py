"""Restrictions by path (workspace.yaml's `restrictions:` and `restrictions_default:`): the
glob of their paths, which restriction governs a file (the last that matches), what a
governed file may define, and the settings' own validation, each problem at its file and
line."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import WORKSPACE, write_state
from pydantic import ValidationError

from reconciler.cli import main
from reconciler.desired import load_desired
from reconciler.desired.checks import run_checks
from reconciler.desired.index import Index
from reconciler.desired.load import read_tree
from reconciler.problems import InvalidInput
from reconciler.restriction_settings import Restriction, glob_matches

SALES = """\
restrictions:
  - path: groups/sales/**
    groups: ["^sales-.*@example\\\\.com$", "^sales@example\\\\.com$"]
    users: false
    reviewers: ["@example/sales-it"]
"""
SALES_RULE = (
    "this file may define only groups matching ^sales-.*@example\\.com$ or "
    "^sales@example\\.com$ (restriction 1, path groups/sales/**, workspace.yaml:8)"
)


def problems(tmp_path: Path, monkeypatch, settings: str, files: dict[str, str]) -> list[str]:
    """The problems the rule `restrictions` finds (warnings too), rendered from tmp_path."""
    monkeypatch.chdir(tmp_path)
    write_state(tmp_path, {"workspace.yaml": WORKSPACE + settings, **files})
    tree, loading = read_tree(tmp_path)
    assert [p.render() for p in loading] == []
    return [p.render() for p in sorted(run_checks(Index.build(tree), only=["restrictions"]))]


# -- the glob ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "file", "matches"),
    [
        ("groups/sales/**", "groups/sales/a.yaml", True),
        ("groups/sales/**", "groups/sales/x/b.yaml", True),
        ("groups/sales/**", "groups/sales", False),
        ("groups/sales/**", "groups/salesforce/a.yaml", False),
        ("groups/sales/**", "other/groups/sales/a.yaml", False),
        ("/groups/sales/**", "groups/sales/a.yaml", True),
        ("/groups/sales/**", "groups/sales/x/b.yaml", True),
        ("groups/*.yaml", "groups/a.yaml", True),
        ("groups/*.yaml", "groups/sales/a.yaml", False),  # `*` stays within its segment
        ("groups/*", "groups/sales/a.yaml", False),
        ("*.yaml", "people.yaml", True),
        ("*.yaml", "groups/people.yaml", False),  # anchored: no match at any depth
        ("groups/?.yaml", "groups/a.yaml", True),
        ("groups/?.yaml", "groups/ab.yaml", False),
        ("groups/?.yaml", "groups//.yaml", False),
        ("groups/?/x.yaml", "groups/a/x.yaml", True),
        ("**/team.yaml", "team.yaml", True),
        ("**/team.yaml", "a/b/team.yaml", True),
        ("**/team.yaml", "a/b/team2.yaml", False),
        ("groups/**/team.yaml", "groups/team.yaml", True),
        ("groups/**/team.yaml", "groups/a/b/team.yaml", True),
        ("groups/**/team.yaml", "groupsx/team.yaml", False),
        ("**", "any/thing/here.yaml", True),
        ("workspace.yaml", "workspace.yaml", True),
        ("groups/sales.yaml", "groups/salesxyaml", False),  # `.` is no wildcard
        ("groups/sales.yaml", "groups/sales.yaml", True),
        ("groups/s+les.yaml", "groups/sssles.yaml", False),  # nor any other regex character
    ],
)
def test_glob(path, file, matches):
    assert glob_matches(path, file) is matches


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("/", "is the state directory itself"),
        ("groups/sales/", "ends with '/': for every file below that folder, write groups/sales/**"),
        ("../other/**", "holds '..'"),
        ("groups/../../x", "holds '..'"),
        ("./groups/**", "holds a '.' segment"),
        ("groups//sales", "holds an empty segment"),
        ("groups/a**", "'**' must be a whole segment"),
        ("groups/***/x", "'**' must be a whole segment"),
        ("groups/[ab].yaml", "holds '[' and ']'"),
        ("groups\\sales", "holds '\\\\'"),
        ("!groups", "holds '!'"),
        ("my groups/**", "holds whitespace"),
    ],
)
def test_invalid_paths_are_refused(path, why):
    with pytest.raises(ValidationError) as exc:
        Restriction(path=path)
    assert why in str(exc.value)


@pytest.mark.parametrize("reviewer", ["@jo", "@example/sales-it", "it@example.com", "@a-b/c.d_e"])
def test_reviewers_accepted(reviewer):
    assert Restriction(path="**", reviewers=[reviewer]).reviewers == [reviewer]


@pytest.mark.parametrize("reviewer", ["sales-it", "@", "@org/", "@a/b/c", "@jo smith", ""])
def test_reviewers_refused(reviewer):
    with pytest.raises(ValidationError, match="is no reviewer"):
        Restriction(path="**", reviewers=[reviewer])


def test_invalid_settings_are_located_in_workspace_yaml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE
            + """\
restrictions:
  - path: ""
  - path: /../x/**
    groups: ["^ok$", "("]
    reviewers: [sales-it]
  - path: groups/**
    colour: red
  - groups: []
restrictions_default: maybe
""",
            "people.yaml": "groups:\n  - {name: finance, email: finance@example.com}\n",
        },
    )
    tree, found = read_tree(tmp_path)
    assert [p.render() for p in found] == [
        "workspace.yaml:8: workspace: restrictions.0.path: must not be empty: give a glob "
        "relative to the state directory, e.g. groups/sales/**",
        "workspace.yaml:9: workspace: restrictions.1.path: holds '..': paths are relative to "
        "the state directory and stay inside it",
        "workspace.yaml:10: workspace: restrictions.1.groups.1: '(' is not a regular "
        "expression: missing ), unterminated subpattern at position 0",
        "workspace.yaml:11: workspace: restrictions.1.reviewers.0: 'sales-it' is no reviewer: "
        "write a GitHub user (@name), a team (@org/team) or an email address",
        "workspace.yaml:13: workspace: restrictions.2.colour: unknown field 'colour'; "
        "allowed: path, groups, users, bindings, reviewers",
        "workspace.yaml:14: workspace: restrictions.3.path: required field is missing",
        "workspace.yaml:15: workspace: restrictions_default: must be one of 'allow' or "
        "'deny', not 'maybe'",
    ]
    # Broken restrictions govern nothing (which files they meant is unknown): the rule is
    # quiet, and the settings' errors stop the run.
    assert tree.broken_settings >= {"restrictions", "restrictions_default"}
    assert run_checks(Index.build(tree), only=["restrictions"]) == []


# -- what a governed file may define ---------------------------------------------------------


def test_the_example_message_from_validate(tmp_path, monkeypatch, capsys):
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE + SALES,
            "groups/sales/team.yaml": "groups:\n  - name: finance\n"
            "    email: finance@example.com\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["validate", "."])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert f"groups/sales/team.yaml:3: group finance@example.com: {SALES_RULE}\n" in err
    assert "1 problem found" in err


def test_plan_refuses_too(tmp_path, monkeypatch, capsys):
    write_state(
        tmp_path,
        {
            "workspace.yaml": WORKSPACE + SALES,
            "groups/sales/team.yaml": "groups:\n  - {name: fin, email: finance@example.com}\n",
        },
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["plan", "."])
    assert exc.value.code == 1
    assert f"groups/sales/team.yaml:2: group finance@example.com: {SALES_RULE}" in (
        capsys.readouterr().err
    )


def test_allowed_groups_pass(tmp_path, monkeypatch):
    team = """\
groups:
  - name: sales
    email: sales@example.com
    aliases: [sales-team@example.com]
    previous_emails: [sales-old@example.com]
  - {name: sales-emea, email: SALES-EMEA@example.com}
"""
    assert problems(tmp_path, monkeypatch, SALES, {"groups/sales/team.yaml": team}) == []


def test_each_address_of_a_group_is_judged(tmp_path, monkeypatch):
    settings = """\
restrictions:
  - path: groups/sales/**
    groups: ["^sales"]
"""
    team = """\
groups:
  - name: sales
    email: sales@example.com
    aliases: [sales-team@example.com, finance-team@example.com]
    previous_emails: [finance@example.com]
  - name: sales-git-only
    members: [sales]
  - name: finance-git-only
  - name: sales-entra
    email: sales-entra@example.com
    display_name: Finance
    entra: true
  - name: finance-named
    email: sales-x@example.com
    entra: true
  - name: sales-named
    display_name: Finance Git-only
    entra: true
"""
    rule = (
        "this file may define only groups matching ^sales (restriction 1, path "
        "groups/sales/**, workspace.yaml:8)"
    )
    at = "groups/sales/team.yaml"
    assert problems(tmp_path, monkeypatch, settings, {at: team}) == [
        f"{at}:4: group sales@example.com: alias finance-team@example.com: {rule}",
        f"{at}:5: group sales@example.com: previous email finance@example.com "
        f"(it would take that group over): {rule}",
        f"{at}:8: group finance-git-only: {rule}",
        f"{at}:11: group sales-entra@example.com: Entra display name 'Finance': {rule}",
        f"{at}:13: group sales-x@example.com: Entra display name 'finance-named': {rule}",
        f"{at}:17: group sales-named: Entra display name 'Finance Git-only': {rule}",
    ]


def test_patterns_are_searched_ignoring_case(tmp_path, monkeypatch):
    settings = 'restrictions:\n  - path: "**"\n    groups: ["SALES", "^ops@"]\n'
    files = {
        "a.yaml": "groups:\n  - {name: a, email: presales@example.com}\n"
        "  - {name: b, email: devops@example.com}\n",
    }
    assert problems(tmp_path, monkeypatch, settings, files) == [
        "a.yaml:3: group devops@example.com: this file may define only groups matching SALES "
        "or ^ops@ (restriction 1, path **, workspace.yaml:8)",
    ]


def test_no_groups_patterns_means_no_groups(tmp_path, monkeypatch):
    settings = "restrictions:\n  - path: people/**\n"
    files = {"people/a.yaml": "groups:\n  - {name: a}\n"}
    assert problems(tmp_path, monkeypatch, settings, files) == [
        "people/a.yaml:2: group a: this file may define no groups (restriction 1, path "
        "people/**, workspace.yaml:8)",
    ]


def test_users_false_refuses_users_and_true_allows_them(tmp_path, monkeypatch):
    settings = SALES + "  - path: people/**\n    users: true\n"
    users = "users:\n  - {email: jo@example.com, given_name: Jo, family_name: Lei}\n"
    files = {"groups/sales/people.yaml": users, "people/jo.yaml": users.replace("jo@", "al@")}
    assert problems(tmp_path, monkeypatch, settings, files) == [
        "groups/sales/people.yaml:2: user jo@example.com: this file may define no users "
        "(restriction 1, path groups/sales/**, workspace.yaml:8)",
    ]


def test_bindings_and_org_units_are_allowed_in_governed_files(tmp_path, monkeypatch):
    files = {
        "groups/sales/team.yaml": """\
org_units:
  - path: /Sales
groups:
  - {name: sales, email: sales@example.com, members: [finance, jo@example.com]}
bindings:
  - group: finance
  - user: jo@example.com
""",
        "people.yaml": """\
users:
  - {email: jo@example.com, given_name: Jo, family_name: Lei}
groups:
  - {name: finance, email: finance@example.com}
""",
    }
    assert problems(tmp_path, monkeypatch, SALES, files) == []


def test_the_last_matching_restriction_applies(tmp_path, monkeypatch):
    settings = """\
restrictions:
  - path: groups/**
    groups: ["^eng"]
  - path: groups/sales/**
    groups: ["^sales"]
  - path: groups/sales/special.yaml
    users: false
"""
    group = "groups:\n  - {{name: {0}, email: {0}@example.com}}\n"
    user = "users:\n  - {email: jo@example.com, given_name: Jo, family_name: Lei}\n"
    files = {
        "groups/eng.yaml": group.format("eng") + group.format("sales-x")[8:],
        "groups/sales/team.yaml": group.format("sales") + group.format("eng-x")[8:],
        "groups/sales/special.yaml": user + group.format("sales-y"),
    }
    assert problems(tmp_path, monkeypatch, settings, files) == [
        "groups/eng.yaml:3: group sales-x@example.com: this file may define only groups "
        "matching ^eng (restriction 1, path groups/**, workspace.yaml:8)",
        "groups/sales/special.yaml:2: user jo@example.com: this file may define no users "
        "(restriction 3, path groups/sales/special.yaml, workspace.yaml:12)",
        "groups/sales/special.yaml:4: group sales-y@example.com: this file may define no "
        "groups (restriction 3, path groups/sales/special.yaml, workspace.yaml:12)",
        "groups/sales/team.yaml:3: group eng-x@example.com: this file may define only groups "
        "matching ^sales (restriction 2, path groups/sales/**, workspace.yaml:10)",
    ]


def test_unmatched_files_are_free_by_default(tmp_path, monkeypatch):
    files = {
        "people.yaml": "users:\n  - {email: jo@example.com, given_name: Jo, family_name: Lei}\n"
        "groups:\n  - {name: finance, email: finance@example.com}\n",
        "groups/sales/team.yaml": "groups:\n  - {name: sales, email: sales@example.com}\n",
    }
    assert problems(tmp_path, monkeypatch, SALES, files) == []
    assert problems(tmp_path, monkeypatch, SALES + "restrictions_default: allow\n", files) == []


def test_restrictions_default_deny(tmp_path, monkeypatch):
    files = {
        "people.yaml": """\
users:
  - {email: jo@example.com, given_name: Jo, family_name: Lei}
groups:
  - {name: finance, email: finance@example.com}
bindings:
  - user: jo@example.com
""",
        "groups/sales/team.yaml": "groups:\n  - {name: sales, email: sales@example.com}\n",
    }
    deny = "no restriction's path matches"
    found = problems(tmp_path, monkeypatch, SALES + "restrictions_default: deny\n", files)
    assert found == [
        f"people.yaml:2: user jo@example.com: this file may define no users "
        f"(restrictions_default: deny, workspace.yaml:12; {deny})",
        f"people.yaml:4: group finance@example.com: this file may define no groups "
        f"(restrictions_default: deny, workspace.yaml:12; {deny})",
        f"people.yaml:6: binding of user jo@example.com: this file may hold no bindings "
        f"(restrictions_default: deny, workspace.yaml:12; {deny})",
    ]


def test_deny_without_restrictions_refuses_every_group_user_and_binding(tmp_path, monkeypatch):
    files = {"a.yaml": "groups:\n  - {name: a}\nbindings:\n  - group: a\n"}
    assert problems(tmp_path, monkeypatch, "restrictions_default: deny\n", files) == [
        "a.yaml:2: group a: this file may define no groups (restrictions_default: deny, "
        "workspace.yaml:7; no restriction's path matches)",
        "a.yaml:4: binding of group a: this file may hold no bindings (restrictions_default: "
        "deny, workspace.yaml:7; no restriction's path matches)",
    ]


def test_a_restriction_matching_no_file_is_a_warning(tmp_path, monkeypatch):
    settings = """\
restrictions:
  - path: groups/sales
  - path: workspace.yaml
    reviewers: ["@example/identity"]
  - path: /home/me/state/**
"""
    files = {"groups/sales/team.yaml": "groups:\n  - {name: a}\n"}
    assert problems(tmp_path, monkeypatch, settings, files) == [
        "workspace.yaml:8: warning: restrictions: restriction 1, path groups/sales, matches no "
        "file of the state directory: it names a folder, so write groups/sales/** for the "
        "files in it",
        "workspace.yaml:11: warning: restrictions: restriction 3, path /home/me/state/**, "
        "matches no file of the state directory",
    ]


def test_bindings_false_refuses_a_binding_in_a_governed_file(tmp_path):
    """A binding gives its user an account: with `bindings: false` a team's file may not
    hold one (by default it may: membership is granted by the group's file)."""
    root = _bindings_dir(tmp_path, "    bindings: false\n")
    with pytest.raises(InvalidInput) as exc:
        load_desired(root)
    [problem] = [p for p in exc.value.problems if p.rule == "restrictions"]
    assert problem.path.name == "team.yaml" and problem.line == 4
    assert "binding of user jo@example.com: this file may hold no bindings" in problem.message
    assert load_desired(_bindings_dir(tmp_path / "allowed", "")).state.users["jo@example.com"].bound


def _bindings_dir(tmp_path: Path, extra: str) -> Path:
    workspace = (
        "directory:\n  domains: [example.com]\nownership:\n  id: a/b\nprovider:\n  kind: emulator\n"
        "restrictions:\n  - path: teams/**\n    users: false\n" + extra
    )
    files = {
        "workspace.yaml": workspace,
        "people.yaml": "users:\n  - {email: jo@example.com, given_name: Jo, family_name: Lei}\n",
        "teams/team.yaml": "# the team's file\n\nbindings:\n  - user: jo@example.com\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path
