"""`reconciler doctor`: against the example's embedded emulator every check passes; against an
emulator answering as Google does for each misconfiguration (a scope not delegated, an
admin_subject who is no admin, a domain the tenant lacks, an API not enabled...), the check
fails naming the problem and the fix, the checks after it are not run, and nothing is ever
written to Google."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from apply.support import Run, copy_example, in_process
from cli_support import GOOGLE_WORKSPACE, JO, write_state
from ruamel.yaml import YAML

from reconciler.commands.doctor import STEPS
from reconciler.emulator.faults import EmulatorConfig
from reconciler.emulator.server import EmulatorServer
from reconciler.google.client import ENDPOINT_ENV
from reconciler.google.credentials import CREDENTIALS_ENV, SCOPE_ROOT, scopes

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "desired-state"
WRITES = ("insert", "update", "patch", "delete", "makeAdmin", "undelete", "signOut")


@cache
def _example_seed() -> dict[str, Any]:
    return YAML(typ="safe").load((EXAMPLE / "tenant.yaml").read_text(encoding="utf-8"))


def seed(**changes: Any) -> dict[str, Any]:
    """The example tenant, with top-level keys replaced (None: removed)."""
    doc = copy.deepcopy(_example_seed())
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def seed_without_schema() -> dict[str, Any]:
    """The example tenant before any account carried a marker: no ownership schema."""
    doc = seed(schemas=None)
    for user in doc["users"]:
        user.pop("customSchemas", None)
    return doc


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    return in_process(capsys)


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., EmulatorServer]]:
    """Start an emulator standing in for Google (seed: the example tenant unless given) and
    point RECONCILER_GOOGLE_ENDPOINT at it."""
    servers: list[EmulatorServer] = []

    def start(tenant: dict[str, Any] | None = None, **config: Any) -> EmulatorServer:
        server = EmulatorServer.open(
            seed=tenant if tenant is not None else seed(), config=EmulatorConfig(**config)
        )
        servers.append(server)
        monkeypatch.setenv(ENDPOINT_ENV, server.start())
        return server

    yield start
    for server in servers:
        server.stop()


def state(tmp_path: Path, workspace: str = GOOGLE_WORKSPACE, extra: str = "") -> Path:
    """A small state directory for `kind: google` acting as admin@example.com."""
    return write_state(tmp_path / "state", {"workspace.yaml": workspace + extra, "people.yaml": JO})


def lines(run: Run) -> list[str]:
    return run.out.splitlines()


def by_check(run: Run) -> dict[str, str]:
    """check name -> its line, from the text output."""
    found = {}
    for line in lines(run):
        _, _, rest = line.partition(" ")
        found[rest.strip().split(":", 1)[0]] = line
    return found


def assert_no_write(server: EmulatorServer) -> None:
    called = dict(server.stats.by_method)
    assert called, "the doctor read nothing"
    assert not [m for m in called if m.rsplit(".", 1)[-1] in WRITES], called


def failed_then_not_run(run: Run, check: str) -> str:
    """The FAIL line of `check`, after asserting it is the only failure, every line before
    it passed or was skipped, every line after it is `not run`, and the exit code is 1."""
    assert run.code == 1, run.out + run.err
    assert "Traceback" not in run.out + run.err
    out = lines(run)
    fails = [i for i, line in enumerate(out) if line.startswith("FAIL ")]
    assert len(fails) == 1, run.out
    at = fails[0]
    assert out[at].startswith(f"FAIL {check}: "), run.out
    assert all(line.startswith(("ok   ", "skip ")) for line in out[:at]), run.out
    assert out[at + 1 :] and all(
        line.endswith(": not run (an earlier check failed)") for line in out[at + 1 :]
    )
    return out[at]


# -- it passes ----------------------------------------------------------------------------------


def test_the_example_passes_against_its_embedded_emulator(tmp_path, cli):
    root = copy_example(tmp_path / "state")
    run = cli("doctor", root)
    assert run.code == 0, run.out + run.err
    found = by_check(run)
    assert list(found) == [
        "workspace",
        "credentials",
        "token for plan, report, import, access-review",
        "token for apply",
        "admin_subject",
        "customer",
        "domains",
        "ownership schema",
        "groups",
        "quota",
        "licensing",
        "group settings",
        "data transfer",
        "onboarding",
        "entra",
    ]
    assert all(line.startswith("ok   ") for name, line in found.items() if name != "data transfer")
    assert found["onboarding"] == "ok   onboarding: a token for gmail.send as admin@example.com"
    assert found["data transfer"] == "skip data transfer: offboarding is not configured"
    assert found["admin_subject"] == "ok   admin_subject: admin@example.com is a super admin"
    assert found["ownership schema"] == "ok   ownership schema: Reconciler.ownershipId exists"
    assert found["groups"] == "ok   groups: the tenant's groups can be listed"
    assert found["quota"] == (
        "ok   quota: calls are paced at 2,400 a minute (provider.quota_per_minute)"
    )


def test_without_group_management_no_group_is_read_and_a_high_quota_is_said(tmp_path, cli):
    root = copy_example(tmp_path / "state")
    ws = root / "workspace.yaml"
    text = ws.read_text()
    text = text.replace("group_management: true", "group_management: false")
    text = text.replace(
        '  state: ".reconciler/emulator.json"\n',
        '  state: ".reconciler/emulator.json"\n  quota_per_minute: 6000\n',
        1,
    )
    ws.write_text(text)
    run = cli("doctor", root)
    found = by_check(run)
    assert found["groups"] == "skip groups: directory.group_management is off: no group is read"
    assert (
        "paced at 6,000 a minute" in found["quota"] and "above Google's default" in found["quota"]
    )


def test_it_prints_each_commands_scopes_from_the_function_the_commands_use(tmp_path, cli, google):
    google()
    run = cli("doctor", state(tmp_path))
    assert run.code == 0, run.out
    found = by_check(run)
    for check, read_only in (
        ("token for plan, report, import, access-review", True),
        ("token for apply", False),
    ):
        wanted = ", ".join(s.removeprefix(SCOPE_ROOT) for s in scopes(read_only))
        assert found[check] == f"ok   {check}: granted {len(wanted.split(', '))} scopes: {wanted}"


def test_it_writes_nothing_to_google(tmp_path, cli, google):
    server = google(tenant=seed_without_schema())  # even with the schema apply would create
    extra = "group_settings:\n  who_can_join: INVITED_CAN_JOIN\noffboarding:\n  sign_out: true\n"
    extra += "licenses:\n  product: Google-Apps\n  default: business-standard\n"
    run = cli("doctor", state(tmp_path, extra=extra))
    assert run.code == 0, run.out
    assert_no_write(server)
    assert "schemas" not in {k for k in server.stats.by_method if k.endswith("insert")}
    found = by_check(run)
    assert found["data transfer"].startswith("ok   data transfer")
    assert found["licensing"].startswith("ok   licensing")
    assert found["group settings"].startswith("ok   group settings")


def test_json_lists_every_check_with_its_status_detail_and_fix(tmp_path, cli, google):
    google(delegated_scopes=scopes(True))
    run = cli("doctor", state(tmp_path), "--format", "json")
    assert run.code == 1
    results = json.loads(run.out)
    assert all(set(r) == {"check", "status", "detail", "fix"} for r in results)
    statuses = [(r["check"], r["status"]) for r in results]
    assert statuses[:4] == [
        ("workspace", "ok"),
        ("credentials", "ok"),
        ("token for plan, report, import, access-review", "ok"),
        ("token for apply", "fail"),
    ]
    assert {s for _, s in statuses[4:]} == {"not run"}
    assert [c for c, _ in statuses[4:]] == [name for name, _ in STEPS[3:]]
    failed = results[3]
    assert "Domain-wide delegation" in failed["fix"]


# -- each check fails as Google answers -----------------------------------------------------------


def test_an_invalid_workspace_is_located_and_nothing_else_runs(tmp_path, cli, google):
    server = google()
    root = state(tmp_path, extra="surprise: 1\n")
    line = failed_then_not_run(cli("doctor", root), "workspace")
    assert "workspace.yaml:8: " in line and "surprise" in line
    assert line.endswith("; run `reconciler validate` to see every problem, and fix them")
    assert server.stats.api_calls == 0


def test_a_key_file_that_is_missing_fails_the_credentials(tmp_path, cli, google, monkeypatch):
    google()
    monkeypatch.setenv(CREDENTIALS_ENV, str(tmp_path / "nowhere.json"))
    line = failed_then_not_run(cli("doctor", state(tmp_path)), "credentials")
    assert f"key file {tmp_path / 'nowhere.json'} not found" in line
    assert "provider.service_account" in line


def test_a_key_that_does_not_parse_is_never_echoed(tmp_path, cli, google, monkeypatch):
    google()
    key = tmp_path / "key.json"
    secret = "-----BEGIN PRIVATE KEY-----\nTOPSECRETMATERIAL\n-----END PRIVATE KEY-----\n"
    key.write_text(
        json.dumps(
            {
                "client_email": "sa@p.iam.gserviceaccount.com",
                "token_uri": "x",
                "private_key": secret,
            }
        )
    )
    monkeypatch.setenv(CREDENTIALS_ENV, str(key))
    run = cli("doctor", state(tmp_path))
    line = failed_then_not_run(run, "credentials")
    assert "cannot be read" in line
    assert "TOPSECRET" not in run.out + run.err


def test_a_write_scope_not_delegated_is_named_exactly(tmp_path, cli, google):
    server = google(delegated_scopes=scopes(True))  # a delegation made for plans only
    line = failed_then_not_run(cli("doctor", state(tmp_path)), "token for apply")
    writes = [s for s in scopes(False) if s not in scopes(True)]
    assert line == (
        "FAIL token for apply: the token endpoint refuses unauthorized_client: not delegated: "
        + ", ".join(writes)
        + "; add them to the service account's client id under Admin console > Security > "
        "API controls > Domain-wide delegation (the full list: docs/google-setup.md, step 3)"
    )
    assert server.stats.api_calls == 0
    # docs/google-setup.md shows this very line in its example.
    setup = (Path(__file__).resolve().parents[1] / "docs" / "google-setup.md").read_text()
    assert line in setup.splitlines()


def test_the_one_scope_missing_from_an_older_delegation_is_named(tmp_path, cli, google):
    domains = SCOPE_ROOT + "admin.directory.domain.readonly"
    google(delegated_scopes=[s for s in scopes(True) + scopes(False) if s != domains])
    line = failed_then_not_run(
        cli("doctor", state(tmp_path)), "token for plan, report, import, access-review"
    )
    assert f"not delegated: {domains}; add it to" in line


def test_the_licensing_scope_is_asked_for_only_when_licenses_are_configured(tmp_path, cli, google):
    licensing = SCOPE_ROOT + "apps.licensing"
    google(delegated_scopes=scopes(True) + scopes(False))
    assert cli("doctor", state(tmp_path)).code == 0
    extra = "licenses:\n  product: Google-Apps\n  default: business-standard\n"
    line = failed_then_not_run(
        cli("doctor", state(tmp_path, extra=extra)), "token for plan, report, import, access-review"
    )
    assert f"not delegated: {licensing};" in line


ONBOARDING = "onboarding:\n  notify: manager\n  from: admin@example.com\n"


def test_onboarding_needs_gmail_send_delegated_as_its_sender(tmp_path, cli, google):
    send = SCOPE_ROOT + "gmail.send"
    google(delegated_scopes=scopes(True) + scopes(False) + [send])
    run = cli("doctor", state(tmp_path, extra=ONBOARDING))
    assert run.code == 0, run.out
    assert by_check(run)["onboarding"] == (
        "ok   onboarding: a token for gmail.send as admin@example.com"
    )
    google(delegated_scopes=scopes(True) + scopes(False))  # gmail.send left out
    line = failed_then_not_run(cli("doctor", state(tmp_path, extra=ONBOARDING)), "onboarding")
    assert line.startswith(f"FAIL onboarding: no token for {send} as admin@example.com: ")
    assert "unauthorized_client" in line
    assert f"delegate {send} to the service account's client id" in line


def test_an_admin_subject_who_is_no_user_is_refused_at_the_token(tmp_path, cli, google):
    google()
    workspace = GOOGLE_WORKSPACE.replace("admin@example.com", "nobody@example.com")
    line = failed_then_not_run(
        cli("doctor", state(tmp_path, workspace)), "token for plan, report, import, access-review"
    )
    assert "invalid_grant: Invalid email or User ID" in line
    assert "provider.admin_subject must be a user of the tenant" in line


def test_an_admin_subject_who_is_no_admin_fails(tmp_path, cli, google):
    server = google()
    workspace = GOOGLE_WORKSPACE.replace("admin@example.com", "ana.ruiz@example.com")
    line = failed_then_not_run(cli("doctor", state(tmp_path, workspace)), "admin_subject")
    assert line.startswith(
        "FAIL admin_subject: ana.ruiz@example.com may not use the Admin SDK: Google answers "
        "403 forbidden: Not Authorized to access this resource/api"
    )
    assert "give ana.ruiz@example.com an admin role" in line
    assert_no_write(server)


def with_role(*privileges: str, subject: str = "ana.ruiz@example.com") -> dict[str, Any]:
    """The example tenant where `subject` is a delegated admin: a custom role holding
    `privileges`, assigned to it for the whole customer."""
    return seed(
        roles=[
            {
                "roleName": "Reconciler",
                "rolePrivileges": [{"privilegeName": p} for p in privileges],
            }
        ],
        roleAssignments=[{"assignedTo": subject, "roleName": "Reconciler"}],
    )


def test_a_delegated_admin_whose_role_covers_everything_passes(tmp_path, cli, google):
    server = google(tenant=with_role("USERS_ALL", "GROUPS_ALL", "ORGANIZATION_UNITS_ALL"))
    workspace = GOOGLE_WORKSPACE.replace("admin@example.com", "ana.ruiz@example.com")
    run = cli("doctor", state(tmp_path, workspace))
    assert run.code == 0, run.out + run.err
    found = by_check(run)
    assert found["admin_subject"].startswith(
        "ok   admin_subject: ana.ruiz@example.com is a delegated admin"
    )
    assert found["groups"] == "ok   groups: the tenant's groups can be listed"
    assert_no_write(server)


def test_a_delegated_admin_who_may_read_users_but_not_groups_fails_the_groups(
    tmp_path, cli, google
):
    google(tenant=with_role("USERS_RETRIEVE", "ORGANIZATION_UNITS_RETRIEVE"))
    workspace = GOOGLE_WORKSPACE.replace("admin@example.com", "ana.ruiz@example.com")
    run = cli("doctor", state(tmp_path, workspace))
    assert by_check(run)["admin_subject"].startswith("ok   admin_subject: ana.ruiz@example.com")
    line = failed_then_not_run(run, "groups")
    assert line.startswith(
        "FAIL groups: groups.list for customer my_customer: 403 forbidden: Not Authorized to "
        "access this resource/api"
    )
    assert "a delegated admin whose role allows this call" in line
    assert "admin_subject must be allowed to manage groups" in line
    assert "the Groups privileges" in line


def test_a_delegated_admin_whose_role_cannot_read_users_may_not_use_the_admin_sdk(
    tmp_path, cli, google
):
    google(tenant=with_role("GROUPS_ALL"))
    workspace = GOOGLE_WORKSPACE.replace("admin@example.com", "ana.ruiz@example.com")
    line = failed_then_not_run(cli("doctor", state(tmp_path, workspace)), "admin_subject")
    assert line.startswith(
        "FAIL admin_subject: ana.ruiz@example.com may not use the Admin SDK: Google answers "
        "403 forbidden: Not Authorized to access this resource/api"
    )


def test_a_customer_that_is_not_the_tenants_fails(tmp_path, cli, google):
    google()
    workspace = GOOGLE_WORKSPACE.replace("directory:\n", "directory:\n  customer: C0nobody\n")
    line = failed_then_not_run(cli("doctor", state(tmp_path, workspace)), "customer")
    assert "users.list for customer C0nobody: 400" in line
    assert "directory.customer must be my_customer or the tenant's customer id" in line


def test_a_domain_the_tenant_lacks_is_named(tmp_path, cli, google):
    google()
    workspace = GOOGLE_WORKSPACE.replace("[example.com]", "[example.com, example.net]")
    line = failed_then_not_run(cli("doctor", state(tmp_path, workspace)), "domains")
    assert line.startswith("FAIL domains: example.net is not a domain of the tenant (the ")
    assert "Manage domains" in line and "directory.domains" in line


def test_a_domain_alias_passes_and_is_said_to_be_one(tmp_path, cli, google):
    domains = [
        {
            "domainName": "example.com",
            "isPrimary": True,
            "domainAliases": [{"domainAliasName": "example.co"}],
        },
        "example.org",
    ]
    google(tenant=seed(domains=domains))
    workspace = GOOGLE_WORKSPACE.replace("[example.com]", "[example.com, example.co]")
    run = cli("doctor", state(tmp_path, workspace))
    assert run.code == 0, run.out
    assert by_check(run)["domains"] == (
        "ok   domains: example.com, example.co: verified (example.co is a domain alias of "
        "example.com)"
    )


def test_a_missing_ownership_schema_is_what_apply_creates(tmp_path, cli, google):
    server = google(tenant=seed_without_schema())
    run = cli("doctor", state(tmp_path))
    assert run.code == 0, run.out
    assert by_check(run)["ownership schema"] == (
        "ok   ownership schema: Reconciler does not exist yet: apply creates it before marking "
        "accounts"
    )
    assert_no_write(server)


@pytest.mark.parametrize(
    ("api", "extra", "check", "enable"),
    [
        (
            "licensing",
            "licenses:\n  product: Google-Apps\n  default: business-standard\n",
            "licensing",
            "gcloud services enable licensing.googleapis.com",
        ),
        (
            "groupssettings",
            "group_settings:\n  who_can_join: INVITED_CAN_JOIN\n",
            "group settings",
            "gcloud services enable groupssettings.googleapis.com",
        ),
        (
            "datatransfer",
            "offboarding:\n  sign_out: true\n",
            "data transfer",
            "delegate admin.datatransfer and admin.datatransfer.readonly",
        ),
    ],
)
def test_an_api_the_project_has_not_enabled_fails_its_check(
    tmp_path, cli, google, api, extra, check, enable
):
    google(disabled_apis=[api])
    line = failed_then_not_run(cli("doctor", state(tmp_path, extra=extra)), check)
    assert "403 accessNotConfigured:" in line and "has not been used in project" in line
    assert enable in line


def test_each_optional_check_is_skipped_when_not_configured(tmp_path, cli, google):
    google(disabled_apis=["licensing", "groupssettings", "datatransfer"])
    run = cli("doctor", state(tmp_path))
    assert run.code == 0, run.out
    found = by_check(run)
    assert found["licensing"] == "skip licensing: no licenses: block"
    assert found["group settings"] == "skip group settings: Git declares no group settings"
    assert found["data transfer"] == "skip data transfer: offboarding is not configured"
    assert found["onboarding"] == "skip onboarding: no onboarding: block"
    assert found["entra"] == "skip entra: no entra: block"


def test_an_entra_app_the_tenant_does_not_know_fails(tmp_path, cli, monkeypatch):
    root = copy_example(tmp_path / "state")
    monkeypatch.setenv("RECONCILER_ENTRA_CLIENT_ID", "00000000-0000-4000-8000-000000000001")
    line = failed_then_not_run_last(cli("doctor", root), "entra")
    assert "Microsoft Graph token:" in line and "docs/entra.md" in line


def failed_then_not_run_last(run: Run, check: str) -> str:
    """The FAIL line of the last check (nothing after it to be not run)."""
    assert run.code == 1, run.out + run.err
    assert "Traceback" not in run.out + run.err
    out = lines(run)
    assert out[-1].startswith(f"FAIL {check}: "), run.out
    assert all(line.startswith(("ok   ", "skip ")) for line in out[:-1]), run.out
    return out[-1]
