"""Builders for the targeted-plan tests: a small state directory (workspace.yaml, users,
groups, bindings) and its emulated tenant (the seed), as plain data that hypothesis draws
and the example tests write by hand; the tree committed to a fresh Git repository and then
changed; and the full and targeted plans of the same tenant, compared."""

from __future__ import annotations

import copy
import io
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.changed_since import load_targeted
from reconciler.desired import load_desired
from reconciler.google.marker import GROUP_MARKER_PREFIX
from reconciler.plan.plan import Plan
from reconciler.scope import Scope, touches
from reconciler.session import google_session, plan_for

OURS = "acme/identity"
THEIRS = "acme/marketing"
DOMAIN = "example.com"
EXTERNAL = "auditor@partner.com"
GHOST = "ghost@example.com"  # listed in a group, no account behind it
STATE_FILE = ".reconciler/emulator.json"


def dump(doc: Any) -> str:
    out = io.StringIO()
    writer = YAML(typ="safe")
    writer.default_flow_style = False
    writer.sort_base_mapping_type_on_output = False
    writer.dump(doc, out)
    return out.getvalue()


# -- the desired tree ------------------------------------------------------------------------


@dataclass
class Tree:
    """Git's side, as plain data: users by email, groups by name, bindings, settings."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    bound_users: list[str] = field(default_factory=list)
    bound_groups: list[str] = field(default_factory=list)
    remove_from_groups: bool = False
    transfer_to: str | None = None  # offboarding's transfer_to (None: not said)
    protected: list[str] = field(default_factory=list)

    def copy(self) -> Tree:
        return copy.deepcopy(self)

    def files(self) -> dict[str, str]:
        ws: dict[str, Any] = {
            "directory": {"domains": [DOMAIN]},
            "ownership": {"id": OURS},
            "provider": {"kind": "emulator", "seed": "tenant.yaml", "state": STATE_FILE},
        }
        offboarding: dict[str, Any] = {}
        if self.remove_from_groups:
            offboarding["remove_from_groups"] = True
        if self.transfer_to:
            offboarding["transfer_to"] = self.transfer_to
        if offboarding:
            ws["offboarding"] = offboarding
        if self.protected:
            ws["protected"] = list(self.protected)
        files = {"workspace.yaml": dump(ws)}
        users = [dict(u) for _, u in sorted(self.users.items())]
        # Two files, so a change moves between files now and then.
        half = (len(users) + 1) // 2
        for name, part in (("users/a.yaml", users[:half]), ("users/b.yaml", users[half:])):
            if part:
                files[name] = dump({"users": part})
        if self.groups:
            groups = [dict(g) for _, g in sorted(self.groups.items())]
            files["groups/groups.yaml"] = dump({"groups": groups})
        bindings = [{"user": u} for u in self.bound_users] + [
            {"group": g} for g in self.bound_groups
        ]
        if bindings:
            files["bindings.yaml"] = dump({"bindings": bindings})
        return files


def user(email: str, *, title: str = "Engineer", **more: Any) -> dict[str, Any]:
    name = email.split("@")[0]
    entry = {"email": email, "given_name": name.capitalize(), "family_name": "Test"}
    return {**entry, "title": title, **more}


def group(name: str, email: str | None, members: list[str], **more: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if email is not None:
        entry["email"] = email
    entry["members"] = list(members)
    entry.update(more)
    return entry


# -- the tenant ------------------------------------------------------------------------------


@dataclass
class Tenant:
    """The emulated tenant's seed: accounts and groups in the Directory API's shapes."""

    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[dict[str, Any]] = field(default_factory=list)  # deleted, still restorable

    def seed(self) -> str:
        doc = {
            "domains": [DOMAIN],
            "schemas": [
                {
                    "schemaName": "Reconciler",
                    "displayName": "Reconciler",
                    "fields": [{"fieldName": "ownershipId", "fieldType": "STRING"}],
                }
            ],
            "users": self.users,
            "groups": self.groups,
        }
        if self.deleted:
            doc["deletedUsers"] = self.deleted
        return dump(doc)


def account(
    email: str,
    *,
    marker: str | None = OURS,
    suspended: bool = False,
    title: str = "Engineer",
    aliases: list[str] | None = None,
    admin: bool = False,
    manager: str | None = None,
) -> dict[str, Any]:
    name = email.split("@")[0]
    entry: dict[str, Any] = {
        "primaryEmail": email,
        "name": {"givenName": name.capitalize(), "familyName": "Test"},
        "orgUnitPath": "/",
        "suspended": suspended,
        "organizations": [{"title": title, "primary": True}],
    }
    if admin:
        entry["isAdmin"] = True
    if aliases:
        entry["aliases"] = list(aliases)
    if marker is not None:
        entry["customSchemas"] = {"Reconciler": {"ownershipId": marker}}
    if manager is not None:
        entry["relations"] = [{"type": "manager", "value": manager}]
    return entry


def deleted(email: str, *, aliases: list[str] | None = None) -> dict[str, Any]:
    """An account Google deleted a day ago and can still restore, marked as ours."""
    return {**account(email, aliases=aliases), "deletionTime": "2026-12-03T10:00:00.000Z"}


def google_group(
    email: str, members: list[dict[str, Any]], *, marker: str | None = OURS, name: str = "G"
) -> dict[str, Any]:
    description = "A group"
    if marker is not None:
        description += f"\n\n{GROUP_MARKER_PREFIX}{marker}"
    return {"email": email, "name": name, "description": description, "members": members}


def member(email: str, kind: str = "USER", role: str = "MEMBER") -> dict[str, Any]:
    entry: dict[str, Any] = {"email": email, "role": role, "type": kind}
    if email == GHOST:
        entry["status"] = None
    return entry


# -- Git ---------------------------------------------------------------------------------------


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def write(root: Path, files: dict[str, str]) -> None:
    """The tree's files under root, and any YAML file it no longer has removed."""
    for old in [*root.glob("*.yaml"), *root.glob("*/*.yaml")]:
        relative = old.relative_to(root).as_posix()
        if relative not in files and relative != "tenant.yaml":
            old.unlink()
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit_then_change(root: Path, before: Tree, after: Tree, tenant: Tenant) -> None:
    """`before` and the tenant committed in a fresh repository, `after` in the working tree."""
    root.mkdir(parents=True, exist_ok=True)
    write(root, before.files())
    (root / "tenant.yaml").write_text(tenant.seed(), encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "desired state")
    write(root, after.files())


# -- the property ------------------------------------------------------------------------------


def canonical(changes: list[Any]) -> list[str]:
    """Changes as sorted canonical JSON, their `source` left out (as `Plan.checksum`)."""
    records = [{k: v for k, v in c.to_json().items() if k != "source"} for c in changes]
    return sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records)


@dataclass
class Compared:
    full: Plan
    targeted: Plan | None
    scope: Scope | None
    why_full: str | None
    expected: list[str] = field(default_factory=list)
    got: list[str] = field(default_factory=list)
    expected_refused: list[str] = field(default_factory=list)
    got_refused: list[str] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return self.expected == self.got and self.expected_refused == self.got_refused

    def explain(self) -> str:
        lines = ["the targeted plan differs from the full plan restricted to its scope"]
        if self.scope is not None:
            lines.append(f"  final scope: {json.dumps(self.scope.to_json())}")
        for title, want, got in (
            ("changes", self.expected, self.got),
            ("refused", self.expected_refused, self.got_refused),
        ):
            for c in sorted(set(want) - set(got)):
                lines.append(f"  {title} only in the full plan: {c}")
            for c in sorted(set(got) - set(want)):
                lines.append(f"  {title} only in the targeted plan: {c}")
        return "\n".join(lines)


def compare(root: Path) -> Compared:
    """The full plan and the targeted plan (since HEAD) of the state directory at root, over
    the same tenant; the full plan's changes restricted to the targeted plan's final scope."""
    desired = load_desired(root)
    with google_session(desired, read_only=True) as client:
        full, _ = plan_for(desired, client)
    state = root / STATE_FILE
    saved = state.read_bytes() if state.exists() else None
    desired, targeting = load_targeted(root, "HEAD")
    assert targeting is not None
    if targeting.scope is None:
        return Compared(full, None, None, targeting.why_full)
    with google_session(desired, read_only=True) as client:
        targeted, _ = plan_for(desired, client)
    assert (state.read_bytes() if state.exists() else None) == saved, "a plan wrote the tenant"
    scope = desired.scope
    assert scope is not None
    return Compared(
        full,
        targeted,
        scope,
        None,
        expected=canonical([c for c in full.changes if touches(c, scope)]),
        got=canonical(targeted.changes),
        expected_refused=canonical([c for c in full.refused if touches(c, scope)]),
        got_refused=canonical(targeted.refused),
    )
