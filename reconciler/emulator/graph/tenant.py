"""`GraphTenant`: an Entra ID tenant in memory (app registrations, users, groups).

What it holds, as Graph shows it (https://learn.microsoft.com/en-us/graph/api/resources/group
?view=graph-rest-1.0 ; https://learn.microsoft.com/en-us/graph/api/resources/user
?view=graph-rest-1.0):
- app registrations allowed to get tokens (`client_id`, the application permissions granted
  to them by admin consent as `roles`, an optional `secret`);
- users (`id`, `userPrincipalName`, `mail`, `displayName`); the tool only reads them;
- groups (`id`, `displayName`, `description`, `mailEnabled`, `mailNickname`,
  `securityEnabled`, `groupTypes`, `createdDateTime`), each with its direct members (ids of
  users and groups), owners, and open extensions (each remembers the app that made it: Graph
  allows two per app per object).

Object ids are GUID strings. Seeded objects without an id get a deterministic uuid5 (so a
seed always gives the same ids); a group made through the API gets a fresh uuid4.

One lock (`lock`, re-entrant) guards everything; the API holds it for a whole request.
`save()` writes the state file (JSON) atomically: a temporary file in the same directory,
mode 0600, then `os.replace`.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

DEFAULT_TENANT_ID = "00000000-0000-4000-8000-000000000001"
# The namespace of the deterministic ids of seeded objects.
SEED_NAMESPACE = uuid.UUID("6f1c1f6e-5a55-4a8b-9a43-9b0c1d2e3f40")
STATE_VERSION = 1

TOP_KEYS = frozenset({"tenant_id", "applications", "users", "groups"})
APP_KEYS = frozenset({"client_id", "roles", "secret"})
USER_KEYS = frozenset({"userPrincipalName", "mail", "displayName", "id"})
GROUP_KEYS = frozenset(
    {
        "displayName",
        "description",
        "securityEnabled",
        "mailEnabled",
        "groupTypes",
        "mailNickname",
        "id",
        "members",
        "extensions",
        "onPremisesSyncEnabled",
        "isAssignableToRole",
    }
)


class SeedError(ValueError):
    """A seed (or state file) that cannot be loaded: names the file and the problem."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass
class App:
    client_id: str
    roles: frozenset[str]
    secret: str | None = None


@dataclass
class User:
    id: str
    userPrincipalName: str
    mail: str | None = None
    displayName: str | None = None


@dataclass
class Extension:
    """An open extension: its name, its custom properties, the app that made it."""

    extensionName: str
    properties: dict[str, Any]
    app: str | None = None  # client id; None for a seeded one


@dataclass
class Group:
    id: str
    displayName: str
    mailNickname: str
    description: str | None = None
    securityEnabled: bool = True
    mailEnabled: bool = False
    groupTypes: list[str] = field(default_factory=list)
    createdDateTime: str = ""
    members: list[str] = field(default_factory=list)  # ids, in the order they were added
    owners: list[str] = field(default_factory=list)
    extensions: dict[str, Extension] = field(default_factory=dict)
    # Synced from on-premises Active Directory (its members are changed there), and
    # role-assignable (its members are changed only with RoleManagement permissions).
    onPremisesSyncEnabled: bool | None = None
    isAssignableToRole: bool = False

    @property
    def unified(self) -> bool:
        return "Unified" in self.groupTypes


def now_utc() -> str:
    """A `createdDateTime` as Graph writes it: UTC, seconds, `Z`."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _guid(value: Any, source: str, where: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise SeedError(source, f"{where}: id {value!r} is not a GUID") from None


def _check_keys(entry: Any, allowed: frozenset[str], source: str, where: str) -> dict:
    if not isinstance(entry, dict):
        raise SeedError(source, f"{where} must be a mapping, not {type(entry).__name__}")
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise SeedError(source, f"{where}: unknown key(s) {', '.join(map(str, unknown))}")
    return entry


def _string(entry: dict, key: str, source: str, where: str, *, required: bool = False):
    value = entry.get(key)
    if value is None:
        if required:
            raise SeedError(source, f"{where}: {key} is required")
        return None
    if not isinstance(value, str) or not value:
        raise SeedError(source, f"{where}: {key} must be a non-empty string")
    return value


def _bool(entry: dict, key: str, default: bool, source: str, where: str) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise SeedError(source, f"{where}: {key} must be true or false")
    return value


class GraphTenant:
    """An Entra tenant in memory; see the module docstring."""

    def __init__(self, tenant_id: str = DEFAULT_TENANT_ID, state: Path | None = None) -> None:
        self.tenant_id = tenant_id
        self.state = state
        self.lock = threading.RLock()
        self.apps: dict[str, App] = {}
        self.users: dict[str, User] = {}
        self.groups: dict[str, Group] = {}

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def from_seed(cls, data: dict, *, source: str = "seed", state: Path | None = None):
        """A tenant from a parsed seed document (the `entra-tenant.yaml` format).

        Raises SeedError (a ValueError) naming `source` and the problem.
        """
        if data is None:
            data = {}
        top = _check_keys(data, TOP_KEYS, source, "the document")
        tenant = cls(_guid(top.get("tenant_id", DEFAULT_TENANT_ID), source, "tenant_id"), state)
        for i, raw in enumerate(top.get("applications") or []):
            where = f"applications[{i}]"
            entry = _check_keys(raw, APP_KEYS, source, where)
            client_id = _guid(
                _string(entry, "client_id", source, where, required=True), source, where
            )
            roles = entry.get("roles") or []
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise SeedError(source, f"{where}: roles must be a list of permission names")
            if client_id in tenant.apps:
                raise SeedError(source, f"{where}: duplicate client_id {client_id}")
            secret = _string(entry, "secret", source, where)
            tenant.apps[client_id] = App(client_id, frozenset(roles), secret)
        upns: dict[str, str] = {}
        for i, raw in enumerate(top.get("users") or []):
            where = f"users[{i}]"
            entry = _check_keys(raw, USER_KEYS, source, where)
            upn = _string(entry, "userPrincipalName", source, where, required=True)
            if "@" not in upn:
                raise SeedError(source, f"{where}: userPrincipalName {upn!r} has no '@'")
            if upn.lower() in upns:
                raise SeedError(source, f"{where}: duplicate userPrincipalName {upn}")
            default_id = uuid.uuid5(SEED_NAMESPACE, "user:" + upn.lower())
            user_id = _guid(entry.get("id", default_id), source, where)
            tenant._claim_id(user_id, source, where)
            tenant.users[user_id] = User(
                user_id,
                upn,
                _string(entry, "mail", source, where),
                _string(entry, "displayName", source, where),
            )
            upns[upn.lower()] = user_id
        pending: list[tuple[Group, list, str]] = []
        names: dict[str, list[str]] = {}
        for i, raw in enumerate(top.get("groups") or []):
            where = f"groups[{i}]"
            entry = _check_keys(raw, GROUP_KEYS, source, where)
            name = _string(entry, "displayName", source, where, required=True)
            default_id = uuid.uuid5(SEED_NAMESPACE, f"group:{name}:{len(names.get(name, []))}")
            group_id = _guid(entry.get("id", default_id), source, where)
            tenant._claim_id(group_id, source, where)
            group_types = entry.get("groupTypes") or []
            if not isinstance(group_types, list) or not all(
                isinstance(t, str) for t in group_types
            ):
                raise SeedError(source, f"{where}: groupTypes must be a list of strings")
            nickname = _string(entry, "mailNickname", source, where) or default_nickname(group_id)
            group = Group(
                id=group_id,
                displayName=name,
                mailNickname=nickname,
                description=_string(entry, "description", source, where),
                securityEnabled=_bool(entry, "securityEnabled", True, source, where),
                mailEnabled=_bool(entry, "mailEnabled", False, source, where),
                groupTypes=list(group_types),
                createdDateTime=now_utc(),
                onPremisesSyncEnabled=True
                if _bool(entry, "onPremisesSyncEnabled", False, source, where)
                else None,
                isAssignableToRole=_bool(entry, "isAssignableToRole", False, source, where),
            )
            for j, ext in enumerate(entry.get("extensions") or []):
                ext_where = f"{where}.extensions[{j}]"
                if not isinstance(ext, dict):
                    raise SeedError(source, f"{ext_where} must be a mapping")
                ext_name = _string(ext, "extensionName", source, ext_where, required=True)
                if ext_name in group.extensions:
                    raise SeedError(source, f"{ext_where}: duplicate extensionName {ext_name}")
                props = {k: v for k, v in ext.items() if k != "extensionName"}
                group.extensions[ext_name] = Extension(ext_name, props)
            members = entry.get("members") or []
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise SeedError(source, f"{where}: members must be a list of names")
            tenant.groups[group_id] = group
            names.setdefault(name, []).append(group_id)
            pending.append((group, members, where))
        for group, members, where in pending:
            for member in members:
                if member.lower() in upns:
                    member_id = upns[member.lower()]
                elif len(names.get(member, [])) == 1:
                    member_id = names[member][0]
                elif member in names:
                    raise SeedError(source, f"{where}: member {member!r} names more than one group")
                else:
                    raise SeedError(
                        source, f"{where}: member {member!r} names no user (by UPN) or group"
                    )
                if member_id == group.id:
                    raise SeedError(source, f"{where}: a group cannot be a member of itself")
                if member_id in group.members:
                    raise SeedError(source, f"{where}: member {member!r} listed twice")
                group.members.append(member_id)
        return tenant

    def _claim_id(self, object_id: str, source: str, where: str) -> None:
        if object_id in self.users or object_id in self.groups:
            raise SeedError(source, f"{where}: id {object_id} is used twice")

    @classmethod
    def open(cls, seed: Path | None, state: Path | None) -> GraphTenant:
        """The tenant in `state` if that file exists; else `seed` (YAML) if given; else an
        empty tenant with the default tenant id. It saves to `state` (None: kept in memory
        only)."""
        state = Path(state) if state is not None else None
        if state is not None and state.exists():
            try:
                data = json.loads(state.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SeedError(str(state), f"unreadable state file: {exc}") from None
            return cls.from_state(data, source=str(state), state=state)
        if seed is not None:
            try:
                with open(seed, encoding="utf-8") as handle:
                    data = YAML(typ="safe").load(handle)
            except OSError as exc:
                raise SeedError(str(seed), f"cannot read the seed: {exc}") from None
            except Exception as exc:  # ruamel's parse errors share no base class worth naming
                raise SeedError(str(seed), f"not valid YAML: {exc}") from None
            return cls.from_seed(data, source=str(seed), state=state)
        return cls(state=state)

    # -- state file --------------------------------------------------------------------------

    def to_state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "version": STATE_VERSION,
                "tenant_id": self.tenant_id,
                "applications": [
                    {"client_id": a.client_id, "roles": sorted(a.roles), "secret": a.secret}
                    for a in self.apps.values()
                ],
                "users": [vars(u).copy() for u in self.users.values()],
                "groups": [
                    {
                        **{k: v for k, v in vars(g).items() if k != "extensions"},
                        "members": list(g.members),
                        "owners": list(g.owners),
                        "groupTypes": list(g.groupTypes),
                        "extensions": [vars(e).copy() for e in g.extensions.values()],
                    }
                    for g in self.groups.values()
                ],
            }

    @classmethod
    def from_state(cls, data: dict, *, source: str, state: Path | None = None) -> GraphTenant:
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise SeedError(source, f"not a state file of version {STATE_VERSION}")
        try:
            tenant = cls(data["tenant_id"], state)
            for a in data["applications"]:
                tenant.apps[a["client_id"]] = App(
                    a["client_id"], frozenset(a["roles"]), a.get("secret")
                )
            for u in data["users"]:
                tenant.users[u["id"]] = User(**u)
            for g in data["groups"]:
                exts = {e["extensionName"]: Extension(**e) for e in g.pop("extensions")}
                tenant.groups[g["id"]] = Group(**g, extensions=exts)
        except (KeyError, TypeError) as exc:
            raise SeedError(source, f"malformed state file: {exc!r}") from None
        return tenant

    def save(self) -> None:
        """Write the state file atomically (no-op for a tenant without one)."""
        if self.state is None:
            return
        with self.lock:
            text = json.dumps(self.to_state(), indent=1, sort_keys=True)
            directory = self.state.parent
            directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.state.name}.", dir=directory)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.state)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise

    # -- lookups -----------------------------------------------------------------------------

    def object(self, object_id: str) -> User | Group | None:
        """The user or group with that id (ids compare case-insensitively, as GUIDs)."""
        key = object_id.lower()
        return self.users.get(key) or self.groups.get(key)


def default_nickname(group_id: str) -> str:
    """A generated `mailNickname`, `xxxxxxxx-x` hex as the portal and Terraform make one."""
    return f"{group_id[:8]}-{group_id[9]}"
