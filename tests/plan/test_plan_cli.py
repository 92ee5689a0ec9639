"""`reconciler plan`: the example's first plan, exit codes, formats, the saved plan, the
endpoint override, and the guards (invalid input and short reads stop it, without a
traceback). The CLI runs in-process against emulators on loopback."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import children
import pytest
from cli_support import EXAMPLE_CHANGES
from ruamel.yaml import YAML

from reconciler import __version__
from reconciler.cli import main
from reconciler.emulator.server import EmulatorServer
from reconciler.google.client import ENDPOINT_ENV, SETTLE_ENV

from .conftest import EXAMPLE, copy_example

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the CLI in-process: (exit code, stdout, stderr)."""

    def invoke(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(list(args))
        out, err = capsys.readouterr()
        return exc.value.code, out, err

    return invoke


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def example_tenant() -> dict[str, Any]:
    return YAML(typ="safe").load((EXAMPLE / "tenant.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[Callable[[Any], EmulatorServer]]:
    """Start emulators apart from the CLI (as `reconciler emulator serve` would)."""
    servers: list[EmulatorServer] = []

    def start(seed: Any) -> EmulatorServer:
        server = EmulatorServer.open(seed=seed, state=tmp_path / f"served-{len(servers)}.json")
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# -- the example's first plan ----------------------------------------------------------------

# One line for every row of examples/desired-state/README.md "What the first plan will show".
EXAMPLE_LINES = [
    "  + create org unit /Engineering/Platform",
    "  + create user kenji.watanabe@example.com",
    "  + create user omar.haddad@example.com",
    "  ~ update user priya.natarajan@example.com",
    '      title:    "Senior Software Engineer" -> "Platform Team Lead"',
    '      org_unit: "/Engineering" -> "/Engineering/Platform"',
    "  ~ update user emma.johnson@example.com",
    '      phone: "+1 555 0132" -> "+1 555 0137"',
    "  ~ rename user maria.costa@example.com -> maria.silva@example.com",
    "  ~ update user maria.silva@example.com",
    '      family_name: "Costa" -> "Silva"',
    "  ~ adopt user hannah.lee@example.com",
    "  ~ update user hannah.lee@example.com",
    '      phone:       (none) -> "+1 555 0150"',
    '      employee_id: (none) -> "E-1004"',
    "  ~ rename user rfischer@example.com -> robert.fischer@example.com (found by its alias)",
    "  ~ adopt user robert.fischer@example.com",
    "  ~ unsuspend user tom.becker@example.com",
    "  - suspend user sam.okafor@example.com",
    "  - suspend user james.wright@example.com (state: suspended)",
    "  + create group platform@example.com",
    '      name:        "Platform Team"',
    "  ~ rename group dev@example.com -> eng@example.com",
    "  ~ adopt group leadership@example.com (takeover of an existing group)",
    "  ~ update group sales@example.com",
    '      description: "Sales team" -> "Sales team: quotes, renewals and customer escalations"',
    "  + add platform@example.com to eng@example.com as MEMBER",
    "  + add priya.natarajan@example.com to platform@example.com as OWNER",
    "  + add kenji.watanabe@example.com to platform@example.com as MEMBER",
    "  + add omar.haddad@example.com to finance@example.com as MEMBER",
    "  + add robert.fischer@example.com to finance@example.com as MEMBER",
    "  + add sofia.rossi@example.com to sales@example.com as MEMBER",
    "  ~ change the role of hannah.lee@example.com in finance@example.com",
    '      role: "MEMBER" -> "OWNER"',
    "  - remove james.wright@example.com from sales@example.com",
    # Its `until:` day has passed (docs/state-directory.md, "Expiring access").
    "  - remove interim.auditor@partner-firm.com from audit@example.com (expired after "
    "2026-03-31, groups/finance.yaml:17)",
    # Entra ID, after Google: Sales created, Engineering taken over by its name.
    '  + create Entra security group "Sales"',
    '  ~ adopt Entra security group "Engineering" (an unmarked security group with this name',
    '  ~ update Entra security group "Engineering"',
    '      description: "Engineering (made by hand)" -> "All engineers"',
    '  + add kenji.watanabe@example.com to Entra group "Engineering"',
    '  + add lucas.moreau@example.org to Entra group "Sales"',
    '  - remove sam.okafor@example.com from Entra group "Engineering" (not in Git)',
]
# README "No change, on purpose": none of these is the subject of a change.
UNTOUCHED = [
    "admin@example.com",
    "lena.hoffmann@example.com",
    "info@example.com",
    "cms-publisher@example.com",
    "social@example.com",
    "helpdesk@example.com",
    "nora.baker@example.com",
]


def test_plan_of_the_example_shows_every_planted_change(run: Run, example_dir: Path) -> None:
    code, out, err = run("plan", str(example_dir))
    assert code == 0, err
    lines = out.splitlines()
    missing = [line for line in EXAMPLE_LINES if not any(x.startswith(line) for x in lines)]
    assert missing == []
    plan_line = next(i for i, line in enumerate(lines) if line.startswith("Plan:"))
    changes = "\n".join(lines[:plan_line])
    for address in UNTOUCHED:
        assert address not in changes
    assert lines[plan_line].startswith("Plan: 5 to create, 3 to rename, 4 to adopt, 8 to update")
    # Lena has no Entra account yet: the export says it skips her.
    assert lines[plan_line + 1 :] == [
        'Note: Entra group "Engineering": 1 member (lena.hoffmann@example.com) has no Entra '
        "account (by userPrincipalName or mail), so the export skips them; it does not create "
        "users."
    ]
    assert "UNSAFE" not in out and "\x1b[" not in out
    # The embedded emulator keeps its state in the copy, git-ignored.
    assert (example_dir / ".reconciler" / ".gitignore").is_file()


def test_readme_table_rows_all_appear(run: Run, example_dir: Path) -> None:
    """Every address the README's table of planted changes names shows up in the plan."""
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    table = readme.split("## What the first plan will show", 1)[1].split("No change, on")[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) == 26
    code, out, _ = run("plan", str(example_dir))
    assert code == 0
    for line in rows:
        objects = line.split("|")[2]  # | Change | Object | Why |
        for name in re.findall(r"`([^`]+)`", objects):
            name = name.split(" ")[0].rstrip("@")  # `priya.natarajan@` (OWNER)
            assert name in out, (name, line)


def test_plan_runs_as_a_program(example_dir: Path) -> None:
    """The README's main-job command, as a user types it (a subprocess, no tty)."""
    # The console script installed next to this interpreter (CI does not put the
    # virtual environment on PATH).
    script = Path(sys.executable).parent / "reconciler"
    proc = children.run(
        [str(script), "plan", str(example_dir)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "  + create user kenji.watanabe@example.com" in proc.stdout
    assert "\x1b[" not in proc.stdout


def test_colour_on_a_terminal_unless_no_color(
    run: Run, example_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    _, out, _ = run("plan", str(example_dir))
    assert "\x1b[32m+ create user kenji.watanabe@example.com" in out
    monkeypatch.setenv("NO_COLOR", "1")
    _, out, _ = run("plan", str(example_dir))
    assert "\x1b[" not in out


# -- exit codes ------------------------------------------------------------------------------

TINY_WORKSPACE = """\
directory:
  domains: [example.com]
ownership:
  id: tiny/identity
provider:
  kind: emulator
"""
TINY_TENANT = """\
domains: [example.com]
schemas:
  - schemaName: Reconciler
    fields: [{fieldName: ownershipId, fieldType: STRING}]
users:
  - primaryEmail: admin@example.com
    name: {givenName: Ada, familyName: Admin}
    isAdmin: true
    customSchemas: {Reconciler: {ownershipId: tiny/identity}}
"""


def tiny(root: Path, given_name: str = "Ada") -> Path:
    """A state directory whose tenant already matches it (with given_name Ada)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "workspace.yaml").write_text(TINY_WORKSPACE)
    (root / "tenant.yaml").write_text(TINY_TENANT)
    (root / "users.yaml").write_text(
        f"users:\n  - email: admin@example.com\n    given_name: {given_name}\n"
        "    family_name: Admin\n"
    )
    (root / "bindings.yaml").write_text("bindings:\n  - user: admin@example.com\n")
    return root


def test_detailed_exitcode_is_2_with_changes(run: Run, example_dir: Path) -> None:
    code, out, _ = run("plan", str(example_dir), "--detailed-exitcode")
    assert code == 2 and any(line.startswith("Plan:") for line in out.splitlines())


def test_detailed_exitcode_is_0_without_changes(run: Run, tmp_path: Path) -> None:
    root = tiny(tmp_path / "tiny")
    code, out, err = run("plan", str(root), "--detailed-exitcode")
    assert (code, err) == (0, "")
    assert out == "No changes. Google matches the desired state.\n"
    code, out, _ = run("plan", str(root))
    assert code == 0


def test_exit_0_with_changes_without_detailed_exitcode(run: Run, tmp_path: Path) -> None:
    root = tiny(tmp_path / "tiny", given_name="Adele")
    code, out, _ = run("plan", str(root))
    assert code == 0
    assert '      given_name: "Ada" -> "Adele"' in out
    assert run("plan", str(root), "--detailed-exitcode")[0] == 2


def test_invalid_input_exits_1_before_any_api_call(
    run: Run, example_dir: Path, start_emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sales = example_dir / "users" / "sales.yaml"
    sales.write_text(sales.read_text().replace("    title: VP Sales", "    titel: VP Sales"))
    code, out, err = run("plan", str(example_dir))
    assert code == 1 and out == ""
    assert re.search(r"users/sales\.yaml:\d+", err) and "titel" in err
    assert "Traceback" not in err
    assert not (example_dir / ".reconciler").exists()  # no embedded emulator ever started
    # Against a running emulator: not one request reaches it.
    server = start_emulator(EXAMPLE / "tenant.yaml")
    monkeypatch.setenv(ENDPOINT_ENV, server.base_url)
    code, _, err = run("plan", str(example_dir), "--detailed-exitcode")
    assert code == 1 and "titel" in err
    stats = server.stats_json()
    assert stats["http_requests"] == 0 and stats["api_calls"] == 0


def test_usage_errors_exit_1(run: Run, example_dir: Path) -> None:
    code, _, err = run("plan", str(example_dir), "--format", "html")
    assert code == 1 and "Traceback" not in err


# -- formats and the saved plan --------------------------------------------------------------


def test_format_json(run: Run, example_dir: Path) -> None:
    code, out, _ = run("plan", str(example_dir), "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["format_version"] == 1
    assert data["summary"]["create"] == 5 and data["summary"]["remove_member"] == 3
    kinds = {c["kind"] for c in data["changes"]}
    assert {"entra_group", "entra_membership"} <= kinds
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", data["checksum"])
    assert set(data["meta"]) >= {"state_digest", "git_commit", "tool_version", "created"}


def test_format_markdown(run: Run, example_dir: Path) -> None:
    code, out, _ = run("plan", str(example_dir), "--format", "markdown")
    assert code == 0
    assert out.startswith("### Reconciler plan\n\n| | users | groups | org units | members |")
    assert f"<details><summary>Details ({EXAMPLE_CHANGES} changes)</summary>" in out


def test_out_saves_the_json_plan_with_meta(run: Run, example_dir: Path) -> None:
    if shutil.which("git"):
        git = ["git", "-C", str(example_dir), "-c", "user.name=t", "-c", "user.email=t@x.io"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "state"], check=True)
        head = subprocess.run(
            [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    else:
        head = None
    saved = example_dir / "out" / "plan.json"
    code, out, err = run("plan", str(example_dir), "--out", str(saved))
    assert code == 0 and any(line.startswith("Plan:") for line in out.splitlines())
    assert "Saved the plan to" in err
    data = json.loads(saved.read_text())
    meta = data["meta"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", meta["state_digest"])
    assert meta["git_commit"] == head
    assert meta["tool_version"] == __version__
    created = dt.datetime.fromisoformat(meta["created"])
    assert created.tzinfo is not None
    assert len(data["changes"]) == EXAMPLE_CHANGES
    # Saved twice: the same checksum and digest; only `created` may move.
    again = example_dir / "again.json"
    assert run("plan", str(example_dir), "--format", "json", "--out", str(again))[0] == 0
    second = json.loads(again.read_text())
    assert second["checksum"] == data["checksum"]
    assert second["meta"]["state_digest"] == meta["state_digest"]


# -- where the tenant comes from -------------------------------------------------------------


def test_endpoint_from_the_environment_replaces_the_embedded_emulator(
    run: Run, example_dir: Path, start_emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = example_tenant()
    for user in tenant["users"]:
        if user["primaryEmail"] == "tom.becker@example.com":
            user["suspended"] = False  # back from leave in this tenant: no unsuspend
    server = start_emulator(tenant)
    monkeypatch.setenv(ENDPOINT_ENV, server.base_url)
    code, out, err = run("plan", str(example_dir))
    assert code == 0, err
    assert "unsuspend user" not in out and "  + create user kenji.watanabe@example.com" in out
    assert server.stats_json()["api_calls"] > 0
    # Google's tenant is the one at the endpoint (Entra ID's stays the embedded emulator's).
    assert not (example_dir / ".reconciler" / "emulator.json").exists()


def test_a_short_read_stops_the_plan(
    run: Run, example_dir: Path, start_emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_emulator(copy.deepcopy(example_tenant()))
    server.configure(short_listing={"members": 1})
    monkeypatch.setenv(ENDPOINT_ENV, server.base_url)
    monkeypatch.setenv(SETTLE_ENV, "0")  # no waiting for a listing to catch up
    code, out, err = run("plan", str(example_dir), "--detailed-exitcode")
    assert code == 1 and out == ""
    assert err.startswith("Error: members.list ")
    assert "refusing to plan from a partial listing" in err
    assert "Traceback" not in err and "internal error" not in err


def test_a_short_user_listing_stops_the_plan(
    run: Run, example_dir: Path, start_emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user listing that ends early would make the unlisted look gone (and suspended)."""
    server = start_emulator(example_tenant())
    server.configure(short_listing={"users": 5})
    monkeypatch.setenv(ENDPOINT_ENV, server.base_url)
    monkeypatch.setenv(SETTLE_ENV, "0")
    code, out, err = run("plan", str(example_dir))
    assert code == 1 and out == ""
    assert "partial" in err and "Traceback" not in err
