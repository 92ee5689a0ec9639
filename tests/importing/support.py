"""Test data and helpers shared by the import and report tests: emulated tenants in the
Directory API's own shapes, state directories over them, and the CLI run in-process.

Tenants are written as JSON seeds next to workspace.yaml, so each CLI call starts the
embedded emulator over the directory's own tenant (its state lives in `.reconciler/`).
"""

from __future__ import annotations

import copy
import difflib
import json
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from reconciler.cli import main
from reconciler.desired import Desired, load_desired
from reconciler.desired.write import format_text
from reconciler.emulator.server import EmulatorServer
from reconciler.google.client import ENDPOINT_ENV, GoogleClient
from reconciler.settings import GoogleProvider

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "desired-state"
OURS = "acme/identity"
THEIRS = "acme/marketing-sites"
DOMAINS = ("example.com", "example.org")
SEED = "tenant.json"


# -- tenants (seeds) ---------------------------------------------------------------------------


def example_tenant() -> dict[str, Any]:
    """The example tenant (examples/desired-state/tenant.yaml) as a seed document."""
    return YAML(typ="safe").load((EXAMPLE / "tenant.yaml").read_text(encoding="utf-8"))


def marker(owner: str = OURS) -> dict[str, Any]:
    return {"Reconciler": {"ownershipId": owner}}


def account(
    email: str,
    given: str = "Given",
    family: str = "Family",
    *,
    owner: str | None = None,
    org_unit: str = "/",
    title: str | None = None,
    department: str | None = None,
    phone: str | None = None,
    employee_id: str | None = None,
    manager: str | None = None,
    aliases: Iterable[str] = (),
    suspended: bool = False,
    admin: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """A User resource for a seed."""
    user: dict[str, Any] = {
        "primaryEmail": email,
        "name": {"givenName": given, "familyName": family},
        "orgUnitPath": org_unit,
        "suspended": suspended,
    }
    if title or department:
        org = {"primary": True, **({"title": title} if title else {})}
        if department:
            org["department"] = department
        user["organizations"] = [org]
    if phone:
        user["phones"] = [{"type": "work", "value": phone}]
    if employee_id:
        user["externalIds"] = [{"type": "organization", "value": employee_id}]
    if manager:
        user["relations"] = [{"type": "manager", "value": manager}]
    if aliases:
        user["aliases"] = list(aliases)
    if owner:
        user["customSchemas"] = marker(owner)
    if admin:
        user["isAdmin"] = True
    user.update(extra)
    return user


def google_group(
    email: str,
    name: str,
    *,
    owners: Iterable[str] = (),
    managers: Iterable[str] = (),
    members: Iterable[str] = (),
    groups: Iterable[str] = (),
    external: Iterable[str] = (),
    aliases: Iterable[str] = (),
    description: str | None = None,
) -> dict[str, Any]:
    """A Group resource for a seed, with inline members (users unless said otherwise)."""
    listed: list[dict[str, Any]] = []
    for role, emails in (("OWNER", owners), ("MANAGER", managers), ("MEMBER", members)):
        listed += [{"email": e, "role": role, "type": "USER"} for e in emails]
    listed += [{"email": e, "role": "MEMBER", "type": "GROUP"} for e in groups]
    listed += [{"email": e, "role": "MEMBER", "type": "EXTERNAL"} for e in external]
    group: dict[str, Any] = {"email": email, "name": name, "members": listed}
    if aliases:
        group["aliases"] = list(aliases)
    if description:
        group["description"] = description
    return group


def tenant(
    users: list[dict[str, Any]],
    groups: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    domains: Iterable[str] = DOMAINS,
    org_units: Iterable[str] = (),
) -> dict[str, Any]:
    """A seed document with the ownership schema, the org units users sit in, and more."""
    units = {u["orgUnitPath"] for u in users if u.get("orgUnitPath", "/") != "/"}
    units |= set(org_units)
    for path in list(units):
        while path.count("/") > 1:
            path = path.rsplit("/", 1)[0]
            units.add(path)
    return {
        "domains": list(domains),
        "schemas": [
            {
                "schemaName": "Reconciler",
                "fields": [{"fieldName": "ownershipId", "fieldType": "STRING"}],
            }
        ],
        "orgUnits": [
            {
                "name": p.rsplit("/", 1)[1],
                "orgUnitPath": p,
                "parentOrgUnitPath": p.rsplit("/", 1)[0] or "/",
            }
            for p in sorted(units)
        ],
        "users": copy.deepcopy(users),
        "groups": copy.deepcopy(list(groups)),
    }


# -- state directories -------------------------------------------------------------------------


def workspace_text(
    *,
    domains: Iterable[str] = DOMAINS,
    ownership: str = OURS,
    sync: Iterable[str] | None = None,
    protected: Iterable[str] = (),
    seed: str = SEED,
    safety: str = "",
) -> str:
    lines = [
        "directory:",
        f"  domains: [{', '.join(domains)}]",
        "ownership:",
        f"  id: {ownership}",
        "provider:",
        "  kind: emulator",
        f"  seed: {seed}",
    ]
    if sync is not None:
        lines += ["sync:", f"  attributes: [{', '.join(sync)}]"]
    if protected:
        lines.append(f"protected: [{', '.join(protected)}]")
    if safety:
        lines.append(safety.rstrip("\n"))
    return "\n".join(lines) + "\n"


def state_dir(
    root: Path,
    seed: dict[str, Any],
    files: dict[str, str] | None = None,
    **workspace: Any,
) -> Path:
    """A state directory at `root`: workspace.yaml, the seed, and the given desired files."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / "workspace.yaml"
    path.write_text(format_text(workspace_text(**workspace), path, workspace=True), "utf-8")
    (root / SEED).write_text(json.dumps(seed), encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def copy_example(root: Path) -> Path:
    """The example state directory (its seed included), without any local emulator state."""
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    return root


def desired_texts(root: Path) -> dict[str, str]:
    """Every YAML file of a state directory (but the emulator's state) by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.rglob("*.yaml"))
        if ".reconciler" not in p.parts
    }


def load(root: Path) -> Desired:
    return load_desired(root)


def user_entry(root: Path, email: str) -> Any:
    return next(u.entry for u in load(root).tree.users if u.entry.email == email)


def group_entry(root: Path, name: str) -> Any:
    return next(g.entry for g in load(root).tree.groups if g.entry.name == name)


# -- the command line --------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Run:
    """Run `reconciler ARGS` in-process: exit code, standard output, standard error."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def plan_json(capsys: pytest.CaptureFixture[str], root: Path) -> dict[str, Any]:
    run = cli(capsys, "plan", root, "--format", "json")
    assert run.code == 0, run.err
    return json.loads(run.out)


def plan_actions(capsys: pytest.CaptureFixture[str], root: Path) -> list[tuple[str, str]]:
    """(action, key) of every change and refused change a plan of `root` holds, sorted."""
    data = plan_json(capsys, root)
    rows = [(c["action"], c["key"]) for c in (*data["changes"], *data.get("refused", []))]
    return sorted(rows)


# -- a separately started emulator -------------------------------------------------------------


def serve(
    monkeypatch: pytest.MonkeyPatch, seed: dict[str, Any], state: Path
) -> tuple[EmulatorServer, GoogleClient]:
    """An emulator on loopback that every CLI call of the test talks to, and a client that
    changes its tenant as an admin would. Stop the server at the end of the test."""
    server = EmulatorServer.open(seed=copy.deepcopy(seed), state=state)
    server.start()
    monkeypatch.setenv(ENDPOINT_ENV, server.base_url)
    client = GoogleClient.connect(
        GoogleProvider(kind="google"), state.parent, read_only=False, endpoint=server.base_url
    )
    return server, client


def changed_lines(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines only in before, lines only in after), by a line diff."""
    gone, new = [], []
    for line in difflib.ndiff(before.splitlines(True), after.splitlines(True)):
        if line.startswith("- "):
            gone.append(line[2:])
        elif line.startswith("+ "):
            new.append(line[2:])
    return gone, new
