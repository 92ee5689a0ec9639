"""Git may only use domains the tenant has: `plan` and `apply` read the tenant's domains (and
domain aliases) first and refuse, naming the domain, every use of it (file:line) and the
tenant's domains, before anything is read or written. A domain alias is a domain of the
tenant; an unverified domain is not (Google refuses addresses on it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from apply.support import edit, run_reconciler

WRITES = ("insert", "update", "patch", "delete", "makeAdmin", "undelete")
TENANT_DOMAINS = "The tenant's domains: example.com (primary), example.org."


def add_domain(state_dir: Path, domain: str) -> None:
    edit(
        state_dir / "workspace.yaml",
        "domains: [example.com, example.org]",
        f"domains: [example.com, example.org, {domain}]",
    )


def add_user(state_dir: Path, email: str) -> int:
    """A bound user at the end of users/sales.yaml; the line of its entry."""
    path = state_dir / "users" / "sales.yaml"
    text = path.read_text(encoding="utf-8")
    line = text.count("\n") + 2
    path.write_text(
        text + f"\n  - email: {email}\n    given_name: New\n    family_name: Hire\n",
        encoding="utf-8",
    )
    with (state_dir / "bindings.yaml").open("a", encoding="utf-8") as f:
        f.write(f"  - user: {email}\n")
    return line


def give_lucas_alias(state_dir: Path, alias: str) -> None:
    edit(
        state_dir / "users" / "sales.yaml",
        "aliases: [lucas@example.org]",
        f"aliases: [lucas@example.org, {alias}]",
    )


@pytest.mark.parametrize("command", [("plan",), ("apply", "--auto-approve")], ids=["plan", "apply"])
def test_a_domain_the_tenant_lacks_is_refused_with_every_use(state_dir, emulator, command):
    add_domain(state_dir, "example.net")
    line = add_user(state_dir, "new.hire@example.net")
    give_lucas_alias(state_dir, "lucas@example.net")
    tenant = emulator()
    before = tenant.snapshot()

    run = run_reconciler(*command, state_dir, cwd=state_dir.parent)

    assert run.code == 1, run.text
    assert "refusing to plan" in run.err
    assert "  example.net (not a domain of the tenant), used by:\n" in run.err
    assert "    workspace.yaml:9: directory.domains lists it\n" in run.err
    assert f"    users/sales.yaml:{line}: user new.hire@example.net\n" in run.err
    assert "    users/sales.yaml:38: user lucas.moreau@example.org (alias lucas@example.net)" in (
        run.err
    )
    assert TENANT_DOMAINS in run.err
    assert "Traceback" not in run.text and "internal error" not in run.text
    assert run.out == ""  # no plan is shown
    by_method = tenant.stats()["by_method"]
    # Refused on the first call, before the tenant is read, let alone written.
    assert by_method == {"directory.domains.list": 1}
    assert tenant.snapshot() == before


def test_a_configured_domain_the_tenant_lacks_is_named_though_unused(state_dir, emulator, cli):
    add_domain(state_dir, "acme-europe.test")
    emulator()
    run = cli("plan", state_dir)
    assert run.code == 1
    assert "  acme-europe.test (not a domain of the tenant), used by:\n" in run.err
    assert "    workspace.yaml:9: directory.domains lists it\n" in run.err
    assert TENANT_DOMAINS in run.err


def test_a_short_domains_listing_can_only_refuse(state_dir, emulator, cli):
    """A domain left out of the listing looks absent: the plan stops, nothing is acted on."""
    tenant = emulator(short_listing={"domains": 1})
    run = cli("apply", state_dir, "--auto-approve")
    assert run.code == 1
    assert "  example.org (not a domain of the tenant), used by:\n" in run.err
    assert "The tenant's domains: example.com (primary)." in run.err
    assert tenant.stats()["by_method"] == {"directory.domains.list": 1}


def tenant_domains(state_dir: Path, domains: str) -> None:
    """Replace the seed's plain list of domains with Domain resources."""
    edit(state_dir / "tenant.yaml", "domains: [example.com, example.org]", domains)


def test_an_unverified_domain_is_not_the_tenants_yet(state_dir, cli):
    tenant_domains(
        state_dir,
        "domains:\n  - example.com\n  - example.org\n"
        "  - {domainName: example.net, verified: false}\n",
    )
    add_domain(state_dir, "example.net")
    line = add_user(state_dir, "new.hire@example.net")
    run = cli("plan", state_dir)  # the embedded emulator, from the edited seed
    assert run.code == 1
    assert "  example.net (not verified in the tenant), used by:\n" in run.err
    assert f"    users/sales.yaml:{line}: user new.hire@example.net\n" in run.err
    assert (
        "The tenant's domains: example.com (primary), example.org, example.net (unverified)."
        in (run.err)
    )


def test_a_domain_alias_of_the_tenant_may_be_used(state_dir, cli):
    """The seed declares example.com with the domain alias example.co (Domain resources);
    an alias there plans, applies, and then plans no change."""
    tenant_domains(
        state_dir,
        "domains:\n"
        "  - domainName: example.com\n"
        "    isPrimary: true\n"
        "    domainAliases:\n"
        "      - {domainAliasName: example.co, parentDomainName: example.com, verified: true}\n"
        "  - example.org\n",
    )
    add_domain(state_dir, "example.co")
    give_lucas_alias(state_dir, "lucas@example.co")

    planned = cli("plan", state_dir, "--detailed-exitcode")
    assert planned.code == 2, planned.text
    assert "lucas@example.co" in planned.out

    applied = cli("apply", state_dir, "--auto-approve")
    assert applied.code == 0, applied.text
    again = cli("plan", state_dir, "--detailed-exitcode")
    assert again.code == 0, again.text
