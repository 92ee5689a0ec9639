"""Import edits files in place: comments, order, quoting, blank lines and line endings of
everything but the edited values stay byte for byte."""

from __future__ import annotations

from .support import account, changed_lines, cli, google_group, load, state_dir, tenant

# Valid YAML, written the way people do: directives, quoted scalars, flow lists with odd
# spacing, comments at the ends of lines and between entries, runs of blank lines, a key
# other than email first, an indentless block list, a block scalar, trailing whitespace.
PEOPLE = """\
%YAML 1.2
---
# People, by hand.   \n\

users:


  # First entry, after two blank lines.
  - email: "ana@example.com"      # quoted
    given_name: 'Ana'
    family_name: "Ruiz"
    title:   'Lead'   # spaced out
    phone: '+1 555 0100'
    aliases: [ 'ana.r@example.com' ,  a@example.com ]   # flow, odd spacing
    employee_id: "E-1"



  # Between entries: a comment block.
  # Second line of it.
  - given_name: Bo        # email is not first
    email: bo@example.com
    family_name: Berg
    department: >-
      Sales
    aliases:
    - bo.b@example.com     # indentless block list
  -   email: cy@example.com
      given_name: Cy
      family_name: Chan
      title: Engineer # no extra spaces
# trailing comment

bindings: [{user: ana@example.com}, {user: bo@example.com}, {user: cy@example.com}]
...
"""

TEAMS = """\
groups:
  - name: sales   # the sales team
    email: sales@example.com
    description: |
      Sales team.
      Quotes and renewals.
    members: [ana@example.com, bo@example.com]   # flow, on purpose

  # The rest.
  - name: eng
    email: eng@example.com
    display_name: "Engineering"
    owners:
      - ana@example.com   # lead
    members:
      - cy@example.com
"""

GOOGLE_USERS = [
    account(
        "ana@example.com",
        "Ana",
        "Ruiz",
        title="Principal",
        phone="+1 555 0199",
        employee_id="E-1",
        aliases=["a@example.com"],
    ),
    account(
        "bo@example.com",
        "Bo",
        "Berg",
        department="Sales Ops",
        aliases=["bo.b@example.com", "bob@example.com"],
    ),
    account("cy@example.com", "Cy", "Chan", title="Staff Engineer", phone="+1 555 0102"),
]
GOOGLE_GROUPS = [
    google_group(
        "sales@example.com",
        "sales",
        description="Sales: quotes, renewals # and more",
        owners=["bo@example.com"],
        members=["ana@example.com"],
    ),
    google_group(
        "eng@example.com",
        "Engineering",
        owners=["ana@example.com"],
        members=["cy@example.com", "bo@example.com"],
    ),
]


def test_updates_change_only_the_edited_values(tmp_path, capsys):
    seed = tenant(GOOGLE_USERS, GOOGLE_GROUPS)
    root = state_dir(tmp_path / "odd", seed, {"people.yaml": PEOPLE, "teams.yaml": TEAMS})
    run = cli(capsys, "import", root, "--mode", "updates", "--groups")
    assert run.code == 0, run.err
    assert "0 new and 3 updated users, 0 new and 2 updated groups" in run.out
    people = (root / "people.yaml").read_text(encoding="utf-8")
    gone, new = changed_lines(PEOPLE, people)
    assert gone == [
        "    title:   'Lead'   # spaced out\n",
        "    phone: '+1 555 0100'\n",
        "    aliases: [ 'ana.r@example.com' ,  a@example.com ]   # flow, odd spacing\n",
        "    department: >-\n",
        "      Sales\n",
        "    aliases:\n",
        "    - bo.b@example.com     # indentless block list\n",
        "      title: Engineer # no extra spaces\n",
    ]
    assert new == [
        "    title:   Principal   # spaced out\n",
        '    phone: "+1 555 0199"\n',
        "    aliases: [a@example.com]   # flow, odd spacing\n",
        "    department: Sales Ops\n",
        "    aliases: [bo.b@example.com, bob@example.com]\n",
        "      title: Staff Engineer # no extra spaces\n",
        '      phone: "+1 555 0102"\n',
    ]
    teams = (root / "teams.yaml").read_text(encoding="utf-8")
    gone, new = changed_lines(TEAMS, teams)
    assert gone == [
        "    description: |\n",
        "      Sales team.\n",
        "      Quotes and renewals.\n",
        "    members: [ana@example.com, bo@example.com]   # flow, on purpose\n",
    ]
    assert new == [
        '    description: "Sales: quotes, renewals # and more"\n',
        "    members:\n",  # member lists are written one per line
        "      - ana@example.com\n",
        "    owners:\n",
        "      - bo@example.com\n",
        "      - bo@example.com\n",  # in eng, between its members' lines and comments
    ]
    assert "      - ana@example.com   # lead\n    members:\n      - bo@example.com\n" in teams
    desired = load(root)
    sales = next(g.entry for g in desired.tree.groups if g.entry.name == "sales")
    assert (sales.owners, sales.members) == (["bo@example.com"], ["ana@example.com"])
    assert sales.description == "Sales: quotes, renewals # and more"


def test_an_import_that_changes_nothing_writes_nothing(tmp_path, capsys):
    seed = tenant(GOOGLE_USERS, GOOGLE_GROUPS)
    root = state_dir(tmp_path / "odd", seed, {"people.yaml": PEOPLE, "teams.yaml": TEAMS})
    assert cli(capsys, "import", root, "--groups").code == 0
    after = {p: (root / p).read_bytes() for p in ("people.yaml", "teams.yaml")}
    run = cli(capsys, "import", root, "--groups")
    assert run.code == 0 and "wrote" not in run.out
    assert {p: (root / p).read_bytes() for p in after} == after


def test_windows_line_endings_are_kept(tmp_path, capsys):
    crlf = (
        "users:\r\n"
        "  # Windows-edited.\r\n"
        "  - email: cy@example.com\r\n"
        "    given_name: Cy\r\n"
        "    family_name: Chan\r\n"
        "    title: Engineer\r\n"
        "bindings:\r\n"
        "  - user: cy@example.com\r\n"
    )
    seed = tenant([*GOOGLE_USERS, account("dee@example.com", "Dee", "Dunn")])
    root = state_dir(tmp_path / "crlf", seed)
    (root / "people.yaml").write_bytes(crlf.encode())
    run = cli(capsys, "import", root, "--file", "people.yaml")
    assert run.code == 0, run.err
    after = (root / "people.yaml").read_bytes().decode()
    assert "\n" not in after.replace("\r\n", "")  # every line ends in CRLF
    lines = after.split("\r\n")
    assert lines[:5] == crlf.split("\r\n")[:5]
    assert "    title: Staff Engineer" in lines and '    phone: "+1 555 0102"' in lines
    assert "  - email: dee@example.com" in lines and "  - user: dee@example.com" in lines
