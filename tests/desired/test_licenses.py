"""Each user's license, from workspace.yaml's `licenses:` block and the user's own `license:`.

The validation errors, each with its file and line, are cases of the bad-input corpus
(tests/fixtures/invalid/licenses-*, user-license-*); these tests resolve valid trees and
check what the errors leave out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import WORKSPACE, write_state
from pydantic import BaseModel

from reconciler import skus
from reconciler.desired import licenses, load_desired
from reconciler.desired.index import Index
from reconciler.desired.licenses import below, group_users, license_rules
from reconciler.desired.load import DesiredTree, Located, Source, read_tree
from reconciler.desired.models import GroupEntry, UserEntry
from reconciler.problems import InvalidInput
from reconciler.settings import Licenses, Workspace

STARTER = skus.lookup("business-starter", "Google-Apps").id
STANDARD = skus.lookup("business-standard", "Google-Apps").id
PLUS = skus.lookup("business-plus", "Google-Apps").id
ENTERPRISE = skus.lookup("enterprise-standard", "Google-Apps").id

PEOPLE = """\
users:
  - {email: sam@example.com, given_name: Sam, family_name: Sales, department: " sales "}
  - {email: eve@example.com, given_name: Eve, family_name: Eng, org_unit: /Engineering/Platform}
  - {email: oz@example.com, given_name: Oz, family_name: Ops, org_unit: /Engineering}
  - {email: en@example.com, given_name: En, family_name: Next, org_unit: /EngineeringOps}
  - {email: cat@example.com, given_name: Cat, family_name: Contract, org_unit: /Engineering}
  - {email: tia@example.com, given_name: Tia, family_name: Title, title: VP Sales,
     cost_center: CC-7}
  - {email: max@example.com, given_name: Max, family_name: Own, department: Sales,
     license: enterprise-standard}
  - {email: nil@example.com, given_name: Nil, family_name: None, department: Sales,
     license: NONE}
  - {email: pat@example.com, given_name: Pat, family_name: Plain}
groups:
  - {name: contractors, members: [agency]}
  - {name: agency, email: agency@example.com, managers: [vendors]}
  - {name: vendors, owners: [cat@example.com], members: [outside@partner.com]}
"""

RULES = """\
licenses:
  product: Google-Apps
  default: {default}
  rules:
    - when: {{department: Sales}}
      sku: business-starter
    - when: {{group: contractors}}
      sku: none
    - when: {{org_unit: /ENGINEERING}}
      sku: business-plus
    - when: {{title: vp sales, cost_center: cc-7}}
      sku: "{enterprise}"
  seats: {{business-plus: 40, "{starter}": 5}}
  on_suspend: revoke
"""


def make(tmp_path: Path, licenses: str, people: str = PEOPLE) -> Path:
    return write_state(tmp_path, {"workspace.yaml": WORKSPACE + licenses, "people.yaml": people})


def licenses_of(root: Path) -> dict[str, str | None]:
    return {email: u.license for email, u in load_desired(root).state.users.items()}


def rules(default: str = "business-standard") -> str:
    return RULES.format(default=default, enterprise=ENTERPRISE, starter=STARTER)


def test_the_block_is_stored_as_sku_ids(tmp_path):
    policy = load_desired(make(tmp_path, rules())).workspace.licenses
    assert isinstance(policy, Licenses)
    assert policy.product == "Google-Apps"
    assert policy.default == STANDARD
    assert [r.sku for r in policy.rules] == [STARTER, "none", PLUS, ENTERPRISE]
    assert policy.seats == {PLUS: 40, STARTER: 5}
    assert policy.on_suspend == "revoke"


def test_each_rule_kind_the_user_key_and_the_default(tmp_path):
    assert licenses_of(make(tmp_path, rules())) == {
        "sam@example.com": STARTER,  # department, ignoring case and spaces
        "eve@example.com": PLUS,  # below /Engineering, spelt in another case
        "oz@example.com": PLUS,  # the unit itself
        "en@example.com": STANDARD,  # /EngineeringOps is not below /Engineering
        "cat@example.com": "none",  # the group rule comes before the org unit rule
        "tia@example.com": ENTERPRISE,  # both keys of one `when` match
        "max@example.com": ENTERPRISE,  # its own license beats the department rule
        "nil@example.com": "none",  # its own `none` beats the rules too
        "pat@example.com": STANDARD,  # no rule: the default
    }


def test_default_none_means_no_license(tmp_path):
    found = licenses_of(make(tmp_path, rules(default="none")))
    assert found["pat@example.com"] == "none"
    assert found["en@example.com"] == "none"
    assert found["sam@example.com"] == STARTER


def test_no_default_leaves_unmatched_users_undecided(tmp_path):
    block = rules().replace("  default: business-standard\n", "")
    found = licenses_of(make(tmp_path, block))
    assert found["pat@example.com"] is None
    assert found["en@example.com"] is None
    assert found["sam@example.com"] == STARTER
    assert found["max@example.com"] == ENTERPRISE


def test_all_keys_of_a_when_must_match(tmp_path):
    block = (
        "licenses:\n  rules:\n"
        "    - when: {title: VP Sales, cost_center: CC-8}\n      sku: business-plus\n"
    )
    assert licenses_of(make(tmp_path, block))["tia@example.com"] is None


def test_first_match_wins(tmp_path):
    block = (
        "licenses:\n  rules:\n"
        "    - when: {org_unit: /Engineering/Platform}\n      sku: enterprise-standard\n"
        "    - when: {org_unit: /Engineering}\n      sku: business-plus\n"
        "    - when: {org_unit: /}\n      sku: business-starter\n"
    )
    found = licenses_of(make(tmp_path, block))
    assert found["eve@example.com"] == ENTERPRISE
    assert found["oz@example.com"] == PLUS
    assert found["pat@example.com"] == STARTER  # everyone is below the root


def test_rules_match_attributes_git_does_not_sync(tmp_path):
    block = "sync:\n  attributes: [given_name, family_name]\n" + rules()
    state = load_desired(make(tmp_path, block)).state
    assert state.users["sam@example.com"].department is None  # not managed ...
    assert state.users["sam@example.com"].license == STARTER  # ... but what Git says counts
    assert state.users["eve@example.com"].license == PLUS


def test_group_rule_by_exported_email_counts_every_role_and_nested_group(tmp_path):
    people = PEOPLE + (
        "  - {name: staff, members: [sam@example.com, team]}\n"
        "  - {name: team, email: team@example.com, owners: [pat@example.com]}\n"
    )
    block = (
        "licenses:\n  rules:\n"
        "    - when: {group: Agency@Example.com}\n      sku: business-plus\n"
        "    - when: {group: staff}\n      sku: business-starter\n"
    )
    found = licenses_of(make(tmp_path, block, people))
    assert found["cat@example.com"] == PLUS  # owner of vendors, a manager of agency
    assert found["sam@example.com"] == STARTER
    assert found["pat@example.com"] == STARTER  # owner of team, an exported group in staff
    assert found["eve@example.com"] is None


def test_group_users_are_only_users_in_git(tmp_path):
    index = Index.build(read_tree(make(tmp_path, rules()))[0])
    assert group_users(index, "contractors") == {"cat@example.com"}
    assert group_users(index, "agency@example.com") == {"cat@example.com"}
    assert group_users(index, "vendors") == {"cat@example.com"}
    assert group_users(index, "nobody") == frozenset()


def test_no_block_decides_no_license(tmp_path):
    people = "\n".join(
        line for line in PEOPLE.splitlines() if "license:" not in line and "Max" not in line
    )
    people = people.replace(
        "  - {email: nil@example.com, given_name: Nil, family_name: None, department: Sales,\n",
        "",
    )
    root = make(tmp_path, "", people + "\n")
    assert load_desired(root).workspace.licenses is None
    found = licenses_of(root)
    assert len(found) == 7
    assert set(found.values()) == {None}
    index = Index.build(read_tree(root)[0])
    assert set(resolve_licenses(index).values()) == {None}


def test_sku_ids_and_names_in_any_case_are_one_sku(tmp_path):
    people = (
        "users:\n"
        f'  - {{email: a@example.com, given_name: A, family_name: A, license: "{PLUS}"}}\n'
        "  - {email: b@example.com, given_name: B, family_name: B, license: Business-Plus}\n"
    )
    root = make(tmp_path, f'licenses:\n  default: " {STANDARD} "\n', people)
    assert licenses_of(root) == {"a@example.com": PLUS, "b@example.com": PLUS}
    assert load_desired(root).workspace.licenses.default == STANDARD


def test_another_product(tmp_path):
    people = (
        "users:\n"
        "  - {email: a@example.com, given_name: A, family_name: A, license: vault}\n"
        "  - {email: b@example.com, given_name: B, family_name: B, department: Legal}\n"
        "  - {email: c@example.com, given_name: C, family_name: C}\n"
    )
    block = (
        "licenses:\n  product: google-vault\n  default: none\n  rules:\n"
        "    - when: {department: legal}\n      sku: vault-former-employee\n"
    )
    root = make(tmp_path, block, people)
    assert load_desired(root).workspace.licenses.product == "Google-Vault"
    assert licenses_of(root) == {
        "a@example.com": "Google-Vault",
        "b@example.com": "Google-Vault-Former-Employee",
        "c@example.com": "none",
    }


def problems(root: Path) -> list[tuple[str, int, str]]:
    with pytest.raises(InvalidInput) as raised:
        load_desired(root)
    return [(p.path.name, p.line, p.message) for p in sorted(raised.value.problems)]


def test_a_broken_block_is_reported_once_and_users_license_is_not_judged(tmp_path):
    """An error anywhere in the block leaves the product unknown: the users' SKUs, and a
    group naming nothing, wait for it rather than being reported on a guess."""
    people = PEOPLE.replace("license: enterprise-standard", "license: busines-plus")
    block = (
        rules()
        .replace("product: Google-Apps", "product: Google-Ap")
        .replace("group: contractors", "group: contractor")
    )
    found = problems(make(tmp_path, block, people))
    assert found == [
        (
            "workspace.yaml",
            8,
            "workspace: licenses.product: unknown license product 'Google-Ap' (did you mean "
            "'Google-Apps'?); known: 101001, 101005, 101031, 101037, Google-Apps, Google-Vault",
        )
    ]
    tree, _ = read_tree(tmp_path)
    assert not tree.has_setting("licenses") and tree.workspace.licenses is None


def test_every_located_error_of_a_valid_shaped_block(tmp_path):
    people = PEOPLE.replace("license: enterprise-standard", "license: busines-plus")
    block = rules().replace("group: contractors", "group: agency@example.org")
    found = problems(make(tmp_path, block, people))
    assert [(name, line) for name, line, _ in found] == [
        ("people.yaml", 10),  # max's license
        ("workspace.yaml", 13),  # the second rule's group
    ]
    assert found[0][2].startswith(
        "user max@example.com: license: unknown license SKU 'busines-plus' "
        "(did you mean 'business-plus'?); the SKUs of Google-Apps: business-starter,"
    )
    assert found[1][2] == (
        "licenses.rules.1.when.group: 'agency@example.org' is not a group in Git "
        "(did you mean 'agency@example.com'?)"
    )


@pytest.mark.parametrize(
    ("path", "unit", "inside"),
    [
        ("/Engineering", "/engineering", True),
        ("/ENGINEERING/platform/x", "/engineering", True),
        ("/Engineering Ops", "/engineering", False),
        ("/Eng", "/engineering", False),
        (None, "/engineering", False),
        (None, "/", True),
        ("/Sales", "/", True),
    ],
)
def test_below(path, unit, inside):
    assert below(path, unit) is inside


def defaults(model: type[BaseModel]) -> dict[str, Any]:
    """The defaults of a model's optional fields, worked out once for many entries built
    without validation (model_construct looks each up on every call otherwise)."""
    return {
        name: field.get_default(call_default_factory=True)
        for name, field in model.model_fields.items()
        if not field.is_required()
    }


def test_each_group_a_rule_names_is_walked_once_whatever_the_users(tmp_path, monkeypatch):
    """The group a rule names is worked out once per resolution, not once per user, through
    chains of nested groups (100k users in 10k groups, built without YAML). How fast that is
    belongs to the benchmarks, not here."""
    source = Source(tmp_path / "people.yaml", 1)
    tree = DesiredTree(
        tmp_path,
        Workspace.model_validate(
            {
                "directory": {"domains": ["example.com"]},
                "ownership": {"id": "acme/identity"},
                "provider": {"kind": "emulator"},
                "licenses": {
                    "default": "business-standard",
                    "rules": [
                        {"when": {"group": "g0"}, "sku": "none"},
                        {"when": {"group": "g5000"}, "sku": "business-plus"},
                        {"when": {"department": "d7", "org_unit": "/Dept7"}, "sku": STARTER},
                        {"when": {"org_unit": "/dept4/team2"}, "sku": "enterprise-standard"},
                    ],
                },
            }
        ),
        source,
    )
    user_defaults, group_defaults = defaults(UserEntry), defaults(GroupEntry)
    for i in range(100_000):
        entry = UserEntry.model_construct(
            **user_defaults
            | {
                "email": f"u{i}@example.com",
                "given_name": "U",
                "family_name": f"N{i}",
                "org_unit": f"/Dept{i % 50}/Team{i % 7}",
                "department": f"D{i % 30}",
            }
        )
        tree.users.append(Located(entry, source))
    for g in range(10_000):
        # Chains of 100 groups, each holding the next: g0 holds g1 ... g99, and u0-u999.
        inner = [f"g{g + 1}"] if g % 100 != 99 else []
        members = [f"u{(g * 10 + k) % 100_000}@example.com" for k in range(10)] + inner
        entry = GroupEntry.model_construct(**group_defaults | {"name": f"g{g}", "members": members})
        tree.groups.append(Located(entry, source))
    index = Index.build(tree)
    walks = []
    monkeypatch.setattr(
        licenses, "group_users", lambda index, ref: walks.append(ref) or group_users(index, ref)
    )
    found = resolve_licenses(index)
    assert walks == ["g0", "g5000"]  # each group a rule names, once
    assert found["u0@example.com"] == "none"  # in g0
    assert found["u999@example.com"] == "none"  # in g99, held by g0 through 98 groups
    assert found["u50999@example.com"] == PLUS  # in g5099, below g5000
    assert found["u1057@example.com"] == STARTER  # D7 in /Dept7/Team0
    assert found["u1304@example.com"] == ENTERPRISE  # /Dept4/Team2
    assert found["u1000@example.com"] == STANDARD  # in g100, under neither: the default
    assert len(found) == 100_000


def resolve_licenses(index: Index) -> dict[str, str | None]:
    """Every user's license by email, as resolution sets it (None without a block)."""
    license_of = license_rules(index)
    return {
        email: license_of(u.entry) if license_of is not None else None
        for email, u in index.users.items()
    }


DOC = Path(__file__).resolve().parents[2] / "docs" / "state-directory.md"


def doc_section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"### {title}\n")
    return text[start : text.index("\n### ", start + 1)]


def test_the_documented_sku_table_is_the_tools():
    section = doc_section("Licenses")
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows == [f"| `{s.name}` | `{s.product}` | `{s.id}` | {s.display} |" for s in skus.SKUS]


def test_the_documented_licenses_block_is_valid(tmp_path):
    section = doc_section("Licenses")
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    people = PEOPLE.replace("license: enterprise-standard", "license: business-plus")
    found = licenses_of(make(tmp_path, example, people))
    assert found["sam@example.com"] == STARTER
    assert found["cat@example.com"] == PLUS  # /Engineering comes before contractors
    assert found["oz@example.com"] == PLUS
    assert found["max@example.com"] == PLUS
    assert found["pat@example.com"] == STANDARD


def test_a_rule_that_matches_no_user_is_a_warning_naming_the_unit_meant(tmp_path):
    typo = rules().replace("org_unit: /ENGINEERING", "org_unit: /Enginering")
    desired = load_desired(make(tmp_path, typo))
    assert [(w.line, w.message) for w in desired.warnings] == [
        (
            (WORKSPACE + typo).splitlines().index("    - when: {org_unit: /Enginering}") + 1,
            "licenses.rules.2: matches no user in Git (did you mean '/Engineering'?); its "
            "users, if any were meant, get what the rules below it or the default give",
        )
    ]
    # Eve and Oz, meant for business-plus, fall through to the default: the plan shows it.
    assert desired.state.users["eve@example.com"].license == STANDARD
    # Every rule matching someone: no warning.
    assert load_desired(make(tmp_path / "ok", rules())).warnings == []
