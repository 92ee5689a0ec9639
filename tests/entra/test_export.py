"""The export to Entra ID end to end, through the CLI: the example's state directory with its
`entra:` provider switched to `kind: graph`, an app certificate (a PEM file outside the
directory) and the endpoint of a Graph emulator this test runs, so every call goes the way
it goes to Microsoft: msal's token request signed with the certificate, then Graph."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import ALL_APPLIED, reconciler

from reconciler.emulator.graph.api import GraphApi
from reconciler.emulator.graph.server import GraphServer
from reconciler.emulator.graph.tenant import App, Extension, GraphTenant, Group, User
from reconciler.entra.marker import MARKER_EXTENSION

from .test_graph_credentials import make_pem

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desired-state"
OURS = "acme/identity"
# The `entra:` block's emulator provider in the example's workspace.yaml.
EMULATED = re.compile(r"  provider:\n    kind: emulator\n    seed: .*\n    state: .*\n")
TENANT_ID = re.compile(r"  tenant_id: .*\n")


@dataclass
class Setup:
    root: Path
    api: GraphApi
    tenant: GraphTenant

    def run(self, *args: str):
        return reconciler(*args, cwd=self.root.parent)

    def group(self, name: str) -> Group:
        found = [g for g in self.tenant.groups.values() if g.displayName == name]
        assert len(found) == 1, f"{len(found)} groups named {name}"
        return found[0]

    def member_names(self, name: str) -> set[str]:
        """The members of the group named `name`: users by UPN, groups by display name."""
        names = set()
        for object_id in self.group(name).members:
            obj = self.tenant.object(object_id)
            names.add(obj.userPrincipalName if isinstance(obj, User) else obj.displayName)
        return names


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    root = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    secure = tmp_path / "secure"
    secure.mkdir()
    make_pem(secure, "reconciler-app.pem")
    # The tenant the seed describes is served by this test's emulator, not the directory's.
    seed = (root / "entra-tenant.yaml").rename(tmp_path / "entra-tenant.yaml")
    tenant = GraphTenant.open(seed, tmp_path / "entra-state.json")
    api = GraphApi(tenant)
    with GraphServer(api) as server:
        workspace = root / "workspace.yaml"
        text = workspace.read_text(encoding="utf-8")
        graph = (
            "  provider:\n    kind: graph\n"
            f"    credentials: {secure / 'reconciler-app.pem'}\n"
            f"    endpoint: {server.base_url}\n"
        )
        text, replaced = EMULATED.subn(lambda _: graph, text)
        assert replaced == 1
        workspace.write_text(text, encoding="utf-8")
        yield Setup(root, api, tenant)


def test_the_example_exports_two_groups_and_the_next_plan_is_empty(setup: Setup) -> None:
    plan = setup.run("plan", str(setup.root))
    assert plan.returncode == 0, plan.stderr
    assert '  + create Entra security group "Sales"' in plan.stdout
    assert '  ~ adopt Entra security group "Engineering"' in plan.stdout
    log = setup.root.parent / "audit.jsonl"
    applied = setup.run("apply", str(setup.root), "--auto-approve", "--audit-log", str(log))
    assert applied.returncode == 0, applied.stderr
    assert ALL_APPLIED in applied.stdout
    # Created and taken over, both marked as ours, with Git's members exactly.
    for name, git_name in (("Sales", "sales"), ("Engineering", "engineering")):
        marker = setup.group(name).extensions[MARKER_EXTENSION].properties
        assert marker == {"ownershipId": OURS, "gitName": git_name}, name
    sales = setup.group("Sales")
    assert sales.securityEnabled and not sales.mailEnabled and sales.groupTypes == []
    assert setup.member_names("Sales") == {
        "daniel.kim@example.com",
        "emma.johnson@example.com",
        "lucas.moreau@acmeeurope.onmicrosoft.com",  # found by his mail
        "sofia.rossi@example.com",
    }
    assert setup.group("Engineering").description == "All engineers"
    assert "sam.okafor@example.com" not in setup.member_names("Engineering")
    assert "kenji.watanabe@example.com" in setup.member_names("Engineering")
    # Audited like every change.
    records = [json.loads(line) for line in log.read_text().splitlines()]
    results = ("applied", "failed", "skipped")
    entra = [r for r in records if r["kind"].startswith("entra_") and r["result"] in results]
    assert len(entra) == 12 and {r["result"] for r in entra} == {"applied"}
    again = setup.run("plan", str(setup.root), "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("No changes.")


def test_throttling_and_a_new_group_not_yet_readable_are_waited_out(setup: Setup) -> None:
    # Every 4th Graph call is throttled, and a created group takes a moment to be usable.
    setup.api.configure(throttle_every=4, create_lag_s=0.5)
    applied = setup.run("apply", str(setup.root), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert ALL_APPLIED in applied.stdout
    assert setup.api.stats()["throttled"] > 0
    setup.api.configure(throttle_every=None, create_lag_s=0)
    assert setup.run("plan", str(setup.root)).stdout.startswith("No changes.")


def test_a_name_two_groups_share_is_refused_and_neither_is_touched(setup: Setup) -> None:
    held = setup.group("Engineering")
    twin = Group(id=str(uuid.uuid4()), displayName="Engineering", mailNickname="eng-2")
    with setup.tenant.lock:
        setup.tenant.groups[twin.id] = twin
    plan = setup.run("plan", str(setup.root))
    assert plan.returncode == 0, plan.stderr
    assert 'Entra group "Engineering" is refused: 2 groups in Entra ID have this name' in (
        plan.stdout
    )
    heads = [line for line in plan.stdout.splitlines() if line.startswith(("  +", "  ~", "  -"))]
    assert not [line for line in heads if 'group "Engineering"' in line]
    members_before = list(held.members)
    applied = setup.run("apply", str(setup.root), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert held.members == members_before and not held.extensions
    assert twin.members == [] and not twin.extensions
    assert setup.group("Sales").members  # the other group is exported all the same


def test_a_saved_plan_is_refused_once_entra_changed_since(setup: Setup) -> None:
    saved = setup.root.parent / "plan.json"
    made = setup.run("plan", str(setup.root), "--out", str(saved))
    assert made.returncode == 0, made.stderr
    # Someone takes Sam out of Engineering by hand: the plan's removal is moot now.
    engineering = setup.group("Engineering")
    sam = next(u.id for u in setup.tenant.users.values() if u.userPrincipalName.startswith("sam"))
    with setup.tenant.lock:
        engineering.members.remove(sam)
    refused = setup.run("apply", str(saved), "--auto-approve")
    assert refused.returncode == 1
    assert "stale" in refused.stderr
    assert 'remove sam.okafor@example.com from Entra group "Engineering"' in refused.stderr


def test_entra_member_removals_count_against_their_own_limit(setup: Setup) -> None:
    workspace = setup.root / "workspace.yaml"
    text = workspace.read_text(encoding="utf-8")
    workspace.write_text(
        text.replace("  max_member_removals: 50\n", "  max_member_removals: 0\n"), "utf-8"
    )
    plan = setup.run("plan", str(setup.root))
    assert "  - 1 Entra member removals planned; the limit is 0" in plan.stdout
    applied = setup.run("apply", str(setup.root), "--auto-approve")
    assert applied.returncode == 1 and "safety limits" in applied.stderr
    assert "sam.okafor@example.com" in setup.member_names("Engineering")


def test_a_missing_graph_permission_stops_the_plan_naming_it(setup: Setup) -> None:
    with setup.tenant.lock:
        for app in setup.tenant.apps.values():
            app.roles = frozenset({"User.Read.All"})  # consent for groups never granted
    plan = setup.run("plan", str(setup.root))
    assert plan.returncode == 1 and plan.stdout == ""
    assert "Traceback" not in plan.stderr
    assert "Group.Read" in plan.stderr or "Group.ReadWrite.All" in plan.stderr


def test_a_wrong_tenant_id_is_a_clear_error(setup: Setup) -> None:
    workspace = setup.root / "workspace.yaml"
    text = workspace.read_text(encoding="utf-8")
    wrong = "  tenant_id: 00000000-0000-0000-0000-000000000001\n"
    text, replaced = TENANT_ID.subn(wrong, text)
    assert replaced == 1
    workspace.write_text(text, "utf-8")
    plan = setup.run("plan", str(setup.root))
    assert plan.returncode == 1 and "Traceback" not in plan.stderr
    assert "tenant" in plan.stderr and "00000000-0000-0000-0000-000000000001" in plan.stderr


def test_the_plan_reads_entra_in_a_few_calls(setup: Setup) -> None:
    """Users and groups are one page each; the members of the groups the export may change
    (Engineering, matched by name; Sales does not exist yet) one batch; and the group the plan
    creates is looked up by its name, in another batch (a batch's items count as calls)."""
    setup.api.reset_stats()
    assert setup.run("plan", str(setup.root)).returncode == 0
    assert setup.api.stats()["requests"] == {
        "GET /v1.0/users": 1,
        "GET /v1.0/groups": 1 + 1,  # the listing, and the lookup of "Sales" by name
        "POST /v1.0/$batch": 2,
        "GET /v1.0/groups/{id}/members": 1,
    }


def test_a_created_group_that_is_not_marked_is_adopted_by_the_next_apply(setup: Setup) -> None:
    # The marker of the new Sales group is refused once: Sales exists, unmarked, empty.
    setup.api.configure(fail_next=[("POST", r"/groups/[^/]+/extensions$", 403)])
    first = setup.run("apply", str(setup.root), "--auto-approve")
    assert first.returncode == 1
    assert 'create Entra security group "Sales"' in first.stderr
    assert "but not marked as ours" in first.stderr and "adopts it by its name" in first.stderr
    assert "Apply complete: 44 applied, 1 failed, 4 skipped." in first.stdout  # Sales' members
    assert setup.group("Sales").members == [] and not setup.group("Sales").extensions
    plan = setup.run("plan", str(setup.root))
    assert '  ~ adopt Entra security group "Sales"' in plan.stdout
    assert "create Entra security group" not in plan.stdout  # never a second Sales
    second = setup.run("apply", str(setup.root), "--auto-approve")
    assert second.returncode == 0, second.stderr
    assert len(setup.group("Sales").members) == 4
    assert setup.run("plan", str(setup.root)).stdout.startswith("No changes.")


def test_a_new_display_name_renames_the_group_in_entra(setup: Setup) -> None:
    assert setup.run("apply", str(setup.root), "--auto-approve").returncode == 0
    sales_id = setup.group("Sales").id
    path = setup.root / "groups" / "sales.yaml"
    path.write_text(path.read_text().replace("display_name: Sales", "display_name: Sales EMEA"))
    plan = setup.run("plan", str(setup.root))
    assert '  ~ update Entra security group "Sales EMEA"' in plan.stdout
    assert '      display_name: "Sales" -> "Sales EMEA"' in plan.stdout
    assert "create Entra security group" not in plan.stdout
    applied = setup.run("apply", str(setup.root), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    assert setup.group("Sales EMEA").id == sales_id and len(setup.group("Sales EMEA").members) == 4
    assert setup.run("plan", str(setup.root)).stdout.startswith("No changes.")


def test_a_marker_left_empty_on_a_group_is_written_again_on_adoption(setup: Setup) -> None:
    engineering = setup.group("Engineering")
    with setup.tenant.lock:  # someone left an empty marker of ours there
        engineering.extensions[MARKER_EXTENSION] = Extension(MARKER_EXTENSION, {})
    applied = setup.run("apply", str(setup.root), "--auto-approve")
    assert applied.returncode == 0, applied.stderr
    marker = setup.group("Engineering").extensions[MARKER_EXTENSION].properties
    assert marker == {"ownershipId": OURS, "gitName": "engineering"}


def test_a_read_only_app_plans_and_cannot_apply(setup: Setup) -> None:
    """Pull-request plans can run as a second app with read permissions only
    (RECONCILER_ENTRA_CLIENT_ID): it plans, and Graph refuses it any write."""
    reader = "c0ffee00-0000-4000-8000-000000000001"
    with setup.tenant.lock:
        setup.tenant.apps[reader] = App(reader, frozenset({"Group.Read.All", "User.Read.All"}))
    env = {"RECONCILER_ENTRA_CLIENT_ID": reader}
    plan = reconciler("plan", str(setup.root), cwd=setup.root.parent, env=env)
    assert plan.returncode == 0, plan.stderr
    assert '  + create Entra security group "Sales"' in plan.stdout
    applied = reconciler("apply", str(setup.root), "--auto-approve", cwd=setup.root.parent, env=env)
    assert applied.returncode == 1
    assert "Group.ReadWrite.All" in applied.stderr and "admin consent" in applied.stderr
    assert [g for g in setup.tenant.groups.values() if g.displayName == "Sales"] == []
    bad = reconciler(
        "plan", str(setup.root), cwd=setup.root.parent, env={"RECONCILER_ENTRA_CLIENT_ID": "x"}
    )
    assert bad.returncode == 1 and "RECONCILER_ENTRA_CLIENT_ID is not a GUID" in bad.stderr
