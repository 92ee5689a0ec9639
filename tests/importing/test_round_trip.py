"""The round trip: import a tenant into a directory holding only workspace.yaml (and the
seed), then plan: nothing but `adopt` for the accounts without our marker. A second import
changes nothing; the result validates and is in canonical form."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from emulator.big_seed import generate

from .generated import generated_tenant
from .support import EXAMPLE, OURS, account, cli, desired_texts, plan_json, state_dir, tenant


def unmarked(
    seed: dict[str, Any], *, include_suspended: bool, domains=("example.com", "example.org")
) -> list[str]:
    """Accounts an import takes that a plan then adopts: in our domains, without a marker."""
    return sorted(
        u["primaryEmail"]
        for u in seed["users"]
        if not u.get("customSchemas")
        and u["primaryEmail"].rpartition("@")[2] in domains
        and (include_suspended or not u.get("suspended"))
    )


def round_trip(capsys, root: Path, *flags: str) -> dict[str, Any]:
    """Import with `flags`, check the result, import again; the plan after it."""
    run = cli(capsys, "import", root, "--groups", *flags)
    assert run.code == 0, run.err
    assert "wrote" in run.out
    files = desired_texts(root)
    assert cli(capsys, "validate", root).code == 0
    check = cli(capsys, "fmt", root, "--check")
    assert check.code == 0, check.out + check.err
    again = cli(capsys, "import", root, "--groups", *flags)
    assert again.code == 0, again.err
    assert "Imported 0 new and 0 updated users, 0 new and 0 updated groups." in again.out
    assert "wrote" not in again.out
    assert desired_texts(root) == files
    return plan_json(capsys, root)


def only_adopts(plan: dict[str, Any], groups: list[str] | None = None) -> list[str]:
    """The accounts the plan adopts, once sure it does nothing else but adopt `groups` (the
    groups without our marker; None: any)."""
    assert plan["refused"] == [] and plan["over_limits"] == []
    others = [c for c in plan["changes"] if c["action"] != "adopt"]
    assert others == []
    adopted_groups = sorted(c["key"] for c in plan["changes"] if c["kind"] == "group")
    if groups is not None:
        assert adopted_groups == sorted(groups)
    return sorted(c["key"] for c in plan["changes"] if c["kind"] == "user")


def unmarked_groups(seed: dict[str, Any], domains=("example.com", "example.org")) -> list[str]:
    """Groups an import takes that a plan then adopts: in our domains, without a marker."""
    return [
        g["email"]
        for g in seed["groups"]
        if "Managed in Git by" not in g.get("description", "")
        and g["email"].rpartition("@")[2] in domains
    ]


@pytest.mark.parametrize("include_suspended", [False, True])
def test_the_example_tenant(tmp_path, capsys, include_suspended):
    root = tmp_path / "acme"
    root.mkdir()
    # With the seed of the emulated Entra tenant its `entra:` block names, and the template
    # of its `onboarding:` block.
    for name in ("workspace.yaml", "tenant.yaml", "entra-tenant.yaml", "onboarding.txt"):
        shutil.copy(EXAMPLE / name, root / name)
    flags = ["--include-suspended"] if include_suspended else []
    plan = round_trip(capsys, root, *flags)
    # Import writes no `license:`: the licenses are what workspace.yaml's rules give.
    licenses = [(c["action"], c["key"]) for c in plan["changes"] if c["kind"] == "license"]
    plan["changes"] = [c for c in plan["changes"] if c["kind"] != "license"]
    assert licenses == [
        ("change_license", "emma.johnson@example.com"),  # Sales: business-starter
        ("change_license", "info@example.com"),  # the default: business-standard
        ("change_license", "sam.okafor@example.com"),  # not in /Engineering: the default
        ("assign_license", "hannah.lee@example.com"),  # holds none
    ]
    assert only_adopts(plan, groups=["leadership@example.com", "social@example.com"]) == [
        "hannah.lee@example.com",
        "info@example.com",
        "rfischer@example.com",
    ]
    # workspace.yaml, its `entra:` block included, is left as it was; no imported group is
    # marked `entra: true` (Google's groups do not say), so nothing is exported to Entra ID.
    assert (root / "workspace.yaml").read_bytes() == (EXAMPLE / "workspace.yaml").read_bytes()
    assert "\nentra:\n" in (root / "workspace.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("include_suspended", [False, True])
def test_a_generated_tenant(tmp_path, capsys, include_suspended):
    seed = generated_tenant(users=300, groups=30)
    root = state_dir(tmp_path / "generated", seed)
    flags = ["--include-suspended"] if include_suspended else []
    plan = round_trip(capsys, root, *flags)
    adopted = only_adopts(plan, groups=unmarked_groups(seed))
    assert adopted == unmarked(seed, include_suspended=include_suspended)


def test_a_generated_tenant_on_one_of_its_domains(tmp_path, capsys):
    seed = generated_tenant(users=200, groups=20, seed=11)
    for user in seed["users"]:
        if user["primaryEmail"].endswith("@example.org"):
            user.pop("customSchemas", None)  # see the test below
    root = state_dir(tmp_path / "com", seed, domains=["example.com"])
    plan = round_trip(capsys, root)
    adopted = only_adopts(plan, groups=unmarked_groups(seed, domains=("example.com",)))
    assert adopted == unmarked(seed, include_suspended=False, domains=("example.com",))


def test_accounts_marked_as_ours_outside_the_domains(tmp_path, capsys):
    seed = tenant([account("in@example.com"), account("out@example.org", owner=OURS)])
    root = state_dir(tmp_path / "com", seed, domains=["example.com"])
    run = cli(capsys, "import", root)
    assert "out@example.org: not in directory.domains; not imported" in run.err
    assert only_adopts(plan_json(capsys, root)) == ["in@example.com"]


def test_a_tenant_this_repository_already_marks(tmp_path, capsys):
    # The benchmark tenant: every account marked, groups nested and with externals.
    seed = generate(users=400, groups=20, members=1200)
    root = state_dir(tmp_path / "bench", seed, ownership="bench/identity")
    plan = round_trip(capsys, root)
    assert plan["changes"] == []
    assert OURS != "bench/identity"
