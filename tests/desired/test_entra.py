"""The Git side of the Entra export: workspace.yaml's `entra:` block, `entra: true` on groups,
and the desired Entra groups (`State.entra_groups`). The refusals, each at its file and line,
are cases of the bad-input corpus (tests/fixtures/invalid/entra-*)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import WORKSPACE, reconciler, write_state
from pydantic import ValidationError

from reconciler.desired import load_desired
from reconciler.desired.entra import entra_groups
from reconciler.desired.index import Index
from reconciler.desired.load import emulator_seeds, not_loaded, read_tree
from reconciler.entra.state import EntraGroup
from reconciler.entra_settings import Entra, EntraEmulatorProvider, EntraGraphProvider
from reconciler.problems import InvalidInput
from reconciler.state import Origin, State, User

GUID = "00000000-0000-0000-0000-000000000000"
ENTRA = f"""\
entra:
  tenant_id: {GUID}
  client_id: {GUID}
  provider:
    kind: emulator
"""

PEOPLE = """\
users:
  - {email: ana@example.com, given_name: Ana, family_name: Ruiz}
  - {email: jo@example.com, given_name: Jo, family_name: Lei}
  - {email: kim@example.com, given_name: Kim, family_name: Park}
  - {email: new@example.com, given_name: New, family_name: Hire, state: staged}
  - {email: gone@example.com, given_name: Gone, family_name: Away, state: suspended}
  - {email: del@example.com, given_name: Del, family_name: Eted, state: deleted}
  - {email: free@example.com, given_name: Free, family_name: Lance}
groups:
  - {name: all-staff, members: [ana@example.com, jo@example.com, kim@example.com,
     new@example.com, gone@example.com, del@example.com]}
  - name: eng
    email: eng@example.com
    display_name: Engineering
    description: Builders
    entra: true
    owners: [ana@example.com]
    members: [jo@example.com, leads, platform, free@example.com, gone@example.com,
              del@example.com, Contractor@Partner.com]
  - {name: leads, managers: [new@example.com], members: [deep]}
  - {name: deep, members: [kim@example.com, ops@example.com, vendor@partner.com]}
  - {name: platform, entra: true, managers: [jo@example.com]}
  - {name: ops, email: ops@example.com, entra: true}
  - {name: mail-only, email: mail-only@example.com, members: [ana@example.com]}
bindings:
  - group: all-staff
"""


def make(tmp_path: Path, workspace_extra: str = ENTRA, people: str = PEOPLE) -> Path:
    return write_state(
        tmp_path, {"workspace.yaml": WORKSPACE + workspace_extra, "people.yaml": people}
    )


# -- settings ----------------------------------------------------------------------------


def test_the_emulator_provider_defaults_to_its_seed_and_state():
    entra = Entra.model_validate(
        {"tenant_id": GUID, "client_id": GUID, "provider": {"kind": "emulator"}}
    )
    assert entra.provider == EntraEmulatorProvider(
        kind="emulator", seed="entra-tenant.yaml", state=".reconciler/entra.json"
    )


def test_the_graph_provider_takes_credentials_and_an_endpoint():
    entra = Entra.model_validate(
        {
            "tenant_id": "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
            "client_id": GUID,
            "provider": {"kind": "graph", "credentials": "/secure/entra.pem"},
        }
    )
    assert entra.provider == EntraGraphProvider(
        kind="graph", credentials="/secure/entra.pem", endpoint=None
    )
    assert entra.tenant_id == "72f988bf-86f1-41af-91ab-2d7cd011db47"  # GUIDs ignore case


@pytest.mark.parametrize(
    "guid",
    [
        "contoso.onmicrosoft.com",
        "00000000-0000-0000-0000-00000000000",  # one digit short
        "00000000000000000000000000000000",  # no dashes
        "0000000g-0000-0000-0000-000000000000",
        f"{GUID}\n",
        f" {GUID}",
    ],
)
def test_ids_must_be_guids(guid):
    with pytest.raises(ValidationError, match="is not a GUID"):
        Entra.model_validate({"tenant_id": guid, "client_id": GUID, "provider": {"kind": "graph"}})


def test_the_provider_kind_is_required():
    with pytest.raises(ValidationError) as exc:
        Entra.model_validate({"tenant_id": GUID, "client_id": GUID, "provider": {}})
    assert exc.value.errors()[0]["type"] == "union_tag_not_found"


def test_a_valid_block_validates(tmp_path):
    run = reconciler("validate", make(tmp_path), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Valid:")
    assert "entra" not in run.stderr  # no warning of its own


def test_the_entra_seed_is_never_read_as_desired_state(tmp_path):
    # Graph-shaped, not an entry file: read as one it would be refused.
    seed = "users:\n  - userPrincipalName: ana@example.com\n    id: '1'\n"
    make(tmp_path)
    (tmp_path / "entra-tenant.yaml").write_text(seed)
    run = reconciler("validate", tmp_path, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    # Without the entra: block the same file is desired state, and refused.
    make(tmp_path, "", PEOPLE.replace("entra: true", "entra: false"))
    run = reconciler("validate", tmp_path, cwd=tmp_path)
    assert run.returncode == 1
    assert "entra-tenant.yaml:2:" in run.stderr


@pytest.mark.parametrize(
    ("provider", "seed"),
    [
        ("    kind: emulator\n", "entra-tenant.yaml"),
        ("    kind: emulator\n    seed: contoso.yaml\n", "contoso.yaml"),
    ],
)
def test_an_invalid_block_still_keeps_its_seed_out_of_the_entry_files(tmp_path, provider, seed):
    block = ENTRA.replace(f"tenant_id: {GUID}", "tenant_id: contoso").replace(
        "    kind: emulator\n", provider
    )
    make(tmp_path, block)
    (tmp_path / seed).write_text("users:\n  - userPrincipalName: ana@example.com\n")
    tree, problems = read_tree(tmp_path)
    assert [(p.path.name, p.line) for p in problems] == [("workspace.yaml", 8)]
    assert "entra" in tree.broken_settings
    run = reconciler("validate", tmp_path, cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.count("workspace.yaml:") == 1 and seed not in run.stderr
    assert "1 problem found" in run.stderr  # no group's `entra: true` is blamed either


def test_a_named_seed_elsewhere_is_skipped_and_named_as_the_entra_tenant(tmp_path):
    make(tmp_path, ENTRA + "    seed: tenants/contoso.yaml\n")
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "contoso.yaml").write_text("value: [1\n")  # not even YAML
    tree, problems = read_tree(tmp_path)
    assert problems == []
    assert emulator_seeds(tree.workspace) == [
        ("tenant.yaml", "provider.seed"),
        ("tenants/contoso.yaml", "entra.provider.seed"),
    ]
    why = not_loaded(tmp_path, tree.workspace, Path("tenants/contoso.yaml"))
    assert why == "is the emulator's tenant (entra.provider.seed)"


def test_a_graph_provider_has_no_seed(tmp_path):
    make(tmp_path, ENTRA.replace("kind: emulator", "kind: graph"))
    tree, problems = read_tree(tmp_path)
    assert problems == []
    assert emulator_seeds(tree.workspace) == [("tenant.yaml", "provider.seed")]


def test_credentials_outside_the_directory_are_accepted(tmp_path):
    outside = tmp_path / "secure" / "entra.pem"
    root = tmp_path / "directory"
    root.mkdir()
    make(root, ENTRA.replace("kind: emulator", f"kind: graph\n    credentials: {outside}"))
    run = reconciler("validate", root, cwd=tmp_path)
    assert run.returncode == 0, run.stderr


# -- checks ------------------------------------------------------------------------------


def test_an_entra_block_with_no_group_marked_is_a_warning(tmp_path):
    make(tmp_path, people=PEOPLE.replace("entra: true", "entra: false"))
    run = reconciler("validate", tmp_path, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if "warning: entra" in line]
    assert len(warnings) == 1
    assert warnings[0].endswith(
        "workspace.yaml:7: warning: entra: no group is marked `entra: true`, so nothing is "
        "exported to Entra ID; mark the groups to export, or remove the block"
    )
    desired = load_desired(tmp_path)
    assert [w.line for w in desired.warnings if w.rule == "entra"] == [7]
    assert desired.state.entra_groups == {}


def test_display_names_are_compared_exactly(tmp_path):
    # Two spellings are two Entra groups; a group that is not exported may share an
    # exported one's name.
    people = """\
groups:
  - {name: eng, display_name: Engineering, entra: true}
  - {name: eng-lower, display_name: engineering, entra: true}
  - {name: eng-google, display_name: Engineering, email: eng@example.com}
"""
    state = load_desired(make(tmp_path, people=people)).state
    assert state.entra_groups is not None
    assert list(state.entra_groups) == ["Engineering", "engineering"]
    assert state.entra_groups["Engineering"].git_name == "eng"


def test_a_name_exported_twice_is_refused_at_both(tmp_path):
    people = """\
groups:
  - {name: eng, display_name: ops, entra: true}
  - {name: sre}
  - name: ops
    entra: true
"""
    make(tmp_path, people=people)
    with pytest.raises(InvalidInput) as exc:
        load_desired(tmp_path)
    found = [(p.line, p.rule, p.message) for p in exc.value.problems]
    assert [(line, rule) for line, rule, _ in found] == [(2, "entra"), (4, "entra")]
    assert "group eng: its Entra display name 'ops' is also that of group ops (" in found[0][2]
    assert "people.yaml:4); the export matches Entra groups by display name" in found[0][2]
    assert "group ops: its Entra display name 'ops' is also that of group eng (" in found[1][2]


@pytest.mark.parametrize(
    ("name", "why"),
    [(" Ops", "must not start or end with spaces"), ("Ops\\nteam", "holds a line break")],
)
def test_a_name_graph_cannot_find_is_refused(tmp_path, name, why):
    people = PEOPLE.replace("{name: ops,", f'{{name: ops, display_name: "{name}",')
    make(tmp_path, people=people)
    run = reconciler("validate", tmp_path, cwd=tmp_path)
    assert run.returncode == 1
    assert f"people.yaml:23: group ops: display_name {why}" in run.stderr


# -- the desired Entra groups ------------------------------------------------------------


def test_no_entra_block_means_no_entra_groups(tmp_path):
    people = PEOPLE.replace("entra: true", "entra: false")
    state = load_desired(make(tmp_path, "", people)).state
    assert state.entra_groups is None


def test_each_exported_group_by_display_name(tmp_path):
    groups = load_desired(make(tmp_path)).state.entra_groups
    assert groups is not None
    assert list(groups) == ["Engineering", "ops", "platform"]  # not mail-only, all-staff
    eng = groups["Engineering"]
    assert (eng.display_name, eng.description, eng.git_name) == (
        "Engineering",
        "Builders",
        "eng",
    )
    assert eng.origin == Origin(Path("people.yaml"), 12)


def test_members_owners_and_managers_through_nested_groups(tmp_path):
    eng = load_desired(make(tmp_path)).state.entra_groups["Engineering"]
    assert eng == EntraGroup(
        display_name="Engineering",
        description="Builders",
        # ana: owner; jo: member; new: manager of leads (staged); kim: member of deep,
        # nested in leads (neither exported: flattened).
        users=("ana@example.com", "jo@example.com", "kim@example.com", "new@example.com"),
        # platform, directly; ops, through leads > deep (by its email): exported groups are
        # members, not flattened.
        groups=("ops", "platform"),
        # Lower-cased, directly and through flattened groups.
        external=("contractor@partner.com", "vendor@partner.com"),
        git_name="eng",
        origin=Origin(Path("people.yaml"), 12),
    )


def test_users_git_suspends_deletes_or_leaves_unbound_are_left_out(tmp_path):
    people = PEOPLE.replace(
        "  - group: all-staff\n", "  - group: all-staff\n  - user: free@example.com\n"
    )
    eng = load_desired(make(tmp_path, people=people)).state.entra_groups["Engineering"]
    assert "free@example.com" in eng.users  # bound now
    eng = load_desired(make(tmp_path)).state.entra_groups["Engineering"]
    left_out = {"free@example.com", "gone@example.com", "del@example.com"}
    assert left_out.isdisjoint(eng.users)
    assert left_out.isdisjoint(eng.external)  # Git users, never external


def test_an_empty_exported_group_is_kept(tmp_path):
    ops = load_desired(make(tmp_path)).state.entra_groups["ops"]
    assert ops == EntraGroup("ops", git_name="ops", origin=Origin(Path("people.yaml"), 23))


def test_a_cycle_of_groups_ends(tmp_path):
    # The group-cycles rule refuses cycles before resolution; resolution ends on one anyway.
    people = """\
groups:
  - {name: a, entra: true, members: [b, x@partner.com]}
  - {name: b, members: [c]}
  - {name: c, members: [b, a, y@partner.com]}
"""
    make(tmp_path, people=people)
    tree, _ = read_tree(tmp_path)
    groups = entra_groups(Index.build(tree), State(), tree.workspace)
    assert groups is not None
    a = groups["a"]
    assert a.external == ("x@partner.com", "y@partner.com")
    assert a.groups == ()  # not a member of itself
    with pytest.raises(InvalidInput, match="cycle"):
        load_desired(tmp_path)


def test_users_are_taken_from_the_state_given(tmp_path):
    people = "groups:\n  - {name: a, entra: true, members: [jo@example.com, ana@example.com]}\n"
    people = PEOPLE.split("groups:")[0] + people
    make(tmp_path, people=people)
    tree, _ = read_tree(tmp_path)
    state = State(
        users={
            "jo@example.com": User("jo@example.com", bound=True, state="active"),
            "ana@example.com": User("ana@example.com", bound=False, state="active"),
        }
    )
    groups = entra_groups(Index.build(tree), state, tree.workspace)
    assert groups is not None and groups["a"].users == ("jo@example.com",)


def test_the_audit_trail_counts_the_entra_seed_as_no_entry_file(tmp_path):
    from reconciler.commands.audit_trail import not_desired_state

    make(tmp_path, ENTRA + "    seed: tenants/contoso.yaml\n")
    (tmp_path / "tenants").mkdir()
    (tmp_path / "tenants" / "contoso.yaml").write_text("value: []\n")
    assert not_desired_state(tmp_path) == {"tenant.yaml", "tenants/contoso.yaml"}


def test_an_additive_group_says_so(tmp_path):
    people = (
        "groups:\n  - {name: a, entra: true, membership: additive, members: [jo@example.com]}\n"
    )
    people = PEOPLE.split("groups:")[0] + people
    make(tmp_path, people=people)
    tree, _ = read_tree(tmp_path)
    groups = entra_groups(Index.build(tree), State(), tree.workspace)
    assert groups is not None and groups["a"].additive
    eng = load_desired(make(tmp_path)).state.entra_groups["Engineering"]
    assert not eng.additive
