"""Build a tenant from a seed (or a saved state) in the Directory API's own shapes.

Top-level keys: `domains` (names, or Domains resources with `domainAliases`: see
domains.py), `users` (User resources), `groups` (Group resources, each with
an inline `members` list of Member resources, and optionally `settings`: the Groups
Settings API's fields set, by API name, e.g. `{whoCanJoin: INVITED_CAN_JOIN,
allowExternalMembers: "true"}`; group_settings.py), `orgUnits`, `schemas`, `dataTransfers`
(DataTransfer resources: transfers.py), `licenses` (`seats`: SKU -> seats bought, the SKUs
the tenant subscribes to; `assigned`: user -> SKU or list of SKUs; licenses.py), `roles`
(the tenant's own admin roles: `{roleName, roleDescription, rolePrivileges: [{privilegeName}]}`)
and `roleAssignments` (`{assignedTo: user, roleName or roleId, scopeType, orgUnitPath}`;
role_seed.py, admin_roles.py); a saved state adds `customerId`, `rootOrgUnitId`,
`deletedUsers` and `journalSeq`. Absent keys mean empty. A user (or deleted user) entry may
also hold its security state (user_security.py): `tokens` (Token resources), `asps` (Asp
resources), `verificationCodes` (8-digit strings), `signOuts` and `lastSignOutTime`.
Ids and etags are generated unless given. Every entry goes through the same rules as the
API's inserts, and every problem is reported at once, located (file:line for YAML). One
member the API cannot insert is allowed: an address in the tenant's domains that no user or
group has, written with `status: null` (Google lists such a member without status).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from reconciler.desired.yamlread import read_yaml
from reconciler.emulator.api_groups import build_group
from reconciler.emulator.api_orgunits import build_orgunit
from reconciler.emulator.api_schemas import build_schema
from reconciler.emulator.domains import domain_record, finish
from reconciler.emulator.errors import ApiError
from reconciler.emulator.group_settings import SettingsProblems
from reconciler.emulator.group_settings import from_seed as settings_from_seed
from reconciler.emulator.ids import external_member_id, new_customer_id, new_orgunit_id, next_etag
from reconciler.emulator.licenses import SEED_KEYS as LICENSE_KEYS
from reconciler.emulator.licenses import LicenseProblems, load_licenses
from reconciler.emulator.request import parse_time
from reconciler.emulator.role_seed import (
    ASSIGNMENT_KEYS,
    ROLE_KEYS,
    load_assignments,
    load_roles,
)
from reconciler.emulator.rules import ROLES, any_address, consumer_address
from reconciler.emulator.tenant import GROUP, ROOT_PATH, Tenant
from reconciler.emulator.transfers import seeded_transfer
from reconciler.emulator.user_resource import build_user
from reconciler.emulator.user_security import SECURITY_KEYS, SecurityProblems, security_from_entry
from reconciler.files import RefusedFile, read_regular
from reconciler.gc_pause import without_gc
from reconciler.problems import InvalidInput, Problem

DEFAULT_DOMAIN = "example.com"
TOP_KEYS = frozenset(
    {
        "domains",
        "users",
        "groups",
        "orgUnits",
        "schemas",
        "customerId",
        "rootOrgUnitId",
        "deletedUsers",
        "journalSeq",
        "dataTransfers",
        "licenses",
        "roles",
        "roleAssignments",
    }
)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Property names of the discovery document's resources (tests keep these in step).
USER_KEYS = _names(
    "addresses agreedToTerms aliases archivalTime archived changePasswordAtNextLogin "
    "creationTime customSchemas customerId deletionTime emails etag externalIds gender "
    "guestAccountInfo hashFunction id ims includeInGlobalAddressList ipWhitelisted "
    "isAdmin isDelegatedAdmin isEnforcedIn2Sv isEnrolledIn2Sv isGuestUser isMailboxSetup "
    "keywords kind languages lastLoginTime locations name nonEditableAliases notes "
    "orgUnitPath organizations password phones posixAccounts primaryEmail recoveryEmail "
    "recoveryPhone relations sshPublicKeys suspended suspensionReason suspensionTime "
    "thumbnailPhotoEtag thumbnailPhotoUrl websites"
)
GROUP_KEYS = _names(
    "adminCreated aliases description directMembersCount email etag externalIds id kind "
    "name nonEditableAliases"
) | {"members", "settings"}
MEMBER_KEYS = _names("delivery_settings email etag id kind role status type")
ORGUNIT_KEYS = _names(
    "blockInheritance description etag kind name orgUnitId orgUnitPath parentOrgUnitId "
    "parentOrgUnitPath"
)
SCHEMA_KEYS = _names("displayName etag fields kind schemaId schemaName")


def read_seed(path: Path) -> Any:
    """Read a seed or state file: JSON (fast, for big tenants) or YAML, by its suffix."""
    if path.suffix.lower() != ".json":
        return read_yaml(path)  # located values and duplicate-key checks; small seeds
    try:
        raw = read_regular(path)  # no size limit: a 100k-user seed is tens of MB
    except RefusedFile as exc:  # a link, a FIFO, a device
        raise InvalidInput([Problem(path, 0, exc.strerror)]) from None
    except OSError as exc:
        raise InvalidInput([Problem(path, 0, f"cannot read: {exc.strerror}")]) from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidInput([Problem(path, exc.lineno, f"JSON syntax: {exc.msg}")]) from None
    except UnicodeDecodeError:
        raise InvalidInput([Problem(path, 0, "not valid UTF-8; save as UTF-8")]) from None


def build_tenant(doc: Any, *, source: Path, rng: Any, now: str, trusted: bool = False) -> Tenant:
    """A tenant from a seed or saved-state document (None: empty, domain example.com).

    Raise InvalidInput listing every problem, each located in `source`. `trusted`: the
    document is a state file the emulator wrote, whose users and groups are stored
    records already; they are taken as they are (twice as fast for a big tenant).
    """
    with without_gc():
        loader = _Loader(source, rng, now, trusted)
        tenant = loader.load(doc)
    if loader.problems:
        raise InvalidInput(loader.problems)
    return tenant


class _Loader:
    def __init__(self, source: Path, rng: Any, now: str, trusted: bool = False):
        self.source = source
        self.trusted = trusted
        self.rng = rng
        self.now = now
        self.problems: list[Problem] = []

    def problem(self, container: Any, index: int | None, message: str) -> None:
        self.problems.append(Problem(self.source, _line(container, index), message))

    def load(self, doc: Any) -> Tenant:
        if doc is None:
            doc = {"domains": [DEFAULT_DOMAIN]}
        if not isinstance(doc, Mapping):
            self.problem(doc, None, "a seed is a mapping: domains, users, groups, orgUnits…")
            return Tenant(new_customer_id(self.rng), [DEFAULT_DOMAIN], new_orgunit_id(self.rng))
        self.check_keys(doc, None, "the seed", TOP_KEYS)
        domains = self.domains(doc)
        tenant = Tenant(
            str(doc.get("customerId") or new_customer_id(self.rng)),
            domains,
            str(doc.get("rootOrgUnitId") or new_orgunit_id(self.rng)),
        )
        self.schemas(tenant, self.entries(doc, "schemas"))
        self.orgunits(tenant, self.entries(doc, "orgUnits"))
        # Deleted users first: they hold no addresses, so they cannot collide with anyone.
        self.users(tenant, self.entries(doc, "deletedUsers"), deleted=True)
        self.users(tenant, self.entries(doc, "users"), deleted=False)
        groups = self.entries(doc, "groups")
        ids = self.groups(tenant, groups)
        self.members(tenant, groups, ids)
        self.transfers(tenant, self.entries(doc, "dataTransfers"))
        tenant.finish_bulk_load()
        if doc.get("licenses") is not None:
            self.licenses(tenant, doc)
        self.admin_roles(tenant, doc)
        return tenant

    # ---- pieces --------------------------------------------------------------------

    def entries(self, doc: Mapping[str, Any], key: str) -> list[Any]:
        value = doc.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(doc, None, f"{key}: expected a list")
            return []
        return value

    def domains(self, doc: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Domain records: each entry a name or a Domains resource (with domainAliases)."""
        value = doc.get("domains")
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(doc, None, "domains: expected a list of domain names")
            return []
        records = []
        for i, entry in enumerate(value):
            rec = self.attempt(value, i, f"domains[{i}]", lambda e=entry: domain_record(e))
            if rec is not None:
                records.append(rec)
        try:
            return finish(records)
        except ApiError as exc:
            self.problem(doc, None, f"domains: {exc.message}")
            return []

    def check_keys(self, entry: Any, parent: Any, where: str, allowed: Any) -> bool:
        if not isinstance(entry, Mapping):
            self.problem(parent, None, f"{where}: expected a mapping")
            return False
        if entry.keys() <= allowed:
            return True
        key_lines = getattr(entry, "key_lines", {})
        for key in entry:
            if key not in allowed:
                hint = difflib.get_close_matches(str(key), list(allowed), n=1)
                also = f" (did you mean '{hint[0]}'?)" if hint else ""
                line = key_lines.get(key) or _line(entry, None)
                self.problems.append(
                    Problem(self.source, line, f"{where}: unknown field '{key}'{also}")
                )
        return True

    def attempt(self, container: Any, index: int, where: str, build: Callable[[], Any]) -> Any:
        try:
            return build()
        except ApiError as exc:
            self.problem(container, index, f"{where}: {exc.message}")
            return None

    def schemas(self, tenant: Tenant, entries: list[Any]) -> None:
        for i, entry in enumerate(entries):
            where = f"schemas[{i}]"
            if not self.check_keys(entry, entries, where, SCHEMA_KEYS):
                continue
            rec = self.attempt(
                entries,
                i,
                where,
                lambda e=entry: build_schema(tenant, e, None, replace=True, rng=self.rng),
            )
            if rec is not None:
                rec["etag"] = entry.get("etag") or next_etag(rec["schemaId"])
                tenant._put_schema(rec)

    def orgunits(self, tenant: Tenant, entries: list[Any]) -> None:
        # Parents before children, whatever order the seed lists them in.
        ordered = []
        for i, entry in enumerate(entries):
            where = f"orgUnits[{i}]"
            if not self.check_keys(entry, entries, where, ORGUNIT_KEYS):
                continue
            body = dict(entry)
            path = body.get("orgUnitPath")
            expected = None
            if isinstance(path, str) and path.strip("/"):
                expected = "/" + path.strip("/")
                parent, _, name = expected.rpartition("/")
                if body.get("name", name) != name:
                    self.problem(entries, i, f"{where}: name does not match {path}")
                    continue
                body["name"] = name
                body.setdefault("parentOrgUnitPath", parent or ROOT_PATH)
            parent_path = str(body.get("parentOrgUnitPath") or ROOT_PATH).strip("/")
            depth = parent_path.count("/") + 1 if parent_path else 0
            ordered.append((depth, i, body, expected))
        for _, i, body, expected in sorted(ordered, key=lambda item: (item[0], item[1])):
            where = f"orgUnits[{i}] ({body.get('name')})"
            rec = self.attempt(
                entries,
                i,
                where,
                lambda b=body: build_orgunit(tenant, b, old=None, rng=self.rng, seed=True),
            )
            if rec is None:
                continue
            if expected is not None and rec["orgUnitPath"].lower() != expected.lower():
                self.problem(entries, i, f"{where}: parentOrgUnitPath does not match orgUnitPath")
                continue
            rec["etag"] = body.get("etag") or next_etag(rec["orgUnitId"])
            tenant._put_orgunit(rec)

    def users(self, tenant: Tenant, entries: list[Any], *, deleted: bool) -> None:
        key = "deletedUsers" if deleted else "users"
        for i, entry in enumerate(entries):
            if not self.check_keys(entry, entries, f"{key}[{i}]", USER_KEYS | SECURITY_KEYS):
                continue
            security = {k: entry[k] for k in SECURITY_KEYS if k in entry}
            key_lines = getattr(entry, "key_lines", {})
            if security:  # held apart from the User record (user_security.py)
                entry = {k: v for k, v in entry.items() if k not in SECURITY_KEYS}
            if self.trusted and entry.keys() >= _STORED_USER_KEYS:
                rec = dict(entry)
            else:
                try:
                    rec = build_user(
                        tenant, entry, old=None, mode="seed", now=self.now, rng=self.rng
                    )
                except ApiError as exc:
                    where = _where(key, i, entry, "primaryEmail")
                    self.problem(entries, i, f"{where}: {exc.message}")
                    continue
            where = f"{key}[{i}] ({rec['primaryEmail']})"
            if rec["id"] in tenant.users or rec["id"] in tenant.deleted_users:
                self.problem(entries, i, f"{where}: id {rec['id']} is used twice")
                continue
            rec["etag"] = entry.get("etag") or next_etag(rec["id"])
            if security and not self.security(tenant, where, rec["id"], security, key_lines):
                continue
            if deleted:
                rec.setdefault("deletionTime", self.now)
                tenant.deleted_users[rec["id"]] = rec
            else:
                rec.pop("deletionTime", None)
                tenant._put_user(rec, bulk=True)

    def security(
        self,
        tenant: Tenant,
        where: str,
        user_id: str,
        given: dict[str, Any],
        key_lines: Mapping[str, int],
    ) -> bool:
        """Keep a user's tokens, ASPs, codes and sign-outs; False (and problems, each at the
        line of the key or list item it is about) if invalid."""
        now_ms = int(parse_time(self.now) * 1000)
        try:
            rec = security_from_entry(given, user_id, now_ms)
        except SecurityProblems as exc:
            for message in exc.messages:
                key = message.partition(":")[0]
                name, _, index = key.rstrip("]").partition("[")
                line = key_lines.get(name, 0)
                if index.isdigit():
                    line = _line(given.get(name), int(index)) or line
                self.problems.append(Problem(self.source, line, f"{where}: {message}"))
            return False
        if rec:
            tenant._put_security(user_id, rec)
        return True

    def transfers(self, tenant: Tenant, entries: list[Any]) -> None:
        for i, entry in enumerate(entries):
            try:
                rec = seeded_transfer(tenant, entry, now=self.now, rng=self.rng)
            except ValueError as exc:
                self.problem(entries, i, f"dataTransfers[{i}]: {exc}")
                continue
            tenant._put_transfer(rec)

    def admin_roles(self, tenant: Tenant, doc: Mapping[str, Any]) -> None:
        """The tenant's own roles, then the role assignments (users and org units loaded)."""
        for key, keys, load in (
            ("roles", ROLE_KEYS, load_roles),
            ("roleAssignments", ASSIGNMENT_KEYS, load_assignments),
        ):
            entries = self.entries(doc, key)
            valid = [
                e for i, e in enumerate(entries) if self.check_keys(e, entries, f"{key}[{i}]", keys)
            ]
            if len(valid) == len(entries):
                for container, index, message in load(tenant, entries):
                    self.problem(container, index, message)

    def licenses(self, tenant: Tenant, doc: Mapping[str, Any]) -> None:
        """Seats and assignments (users loaded first); each problem at the line of the
        seat or the user it is about."""
        value = doc["licenses"]
        if isinstance(value, Mapping):
            self.check_keys(value, doc, "licenses", LICENSE_KEYS)
        try:
            load_licenses(tenant, value)
        except LicenseProblems as exc:
            for path, message in exc.problems:
                line = _line(value, None) or _line(doc, None)
                if path and isinstance(value, Mapping):
                    inner = value.get(path[0])
                    line = getattr(value, "key_lines", {}).get(path[0]) or line
                    if len(path) > 1:
                        line = getattr(inner, "key_lines", {}).get(path[1]) or line
                self.problems.append(Problem(self.source, line, message))

    def groups(self, tenant: Tenant, entries: list[Any]) -> list[str | None]:
        ids: list[str | None] = []
        for i, entry in enumerate(entries):
            where = f"groups[{i}]"
            ids.append(None)
            if not self.check_keys(entry, entries, where, GROUP_KEYS):
                continue
            if isinstance(entry.get("email"), str):
                where += f" ({entry['email']})"
            settings = self.settings(entry, where)
            if self.trusted and entry.keys() >= _STORED_GROUP_KEYS:
                rec = {k: v for k, v in entry.items() if k not in ("members", "settings")}
            else:
                plain = {k: v for k, v in entry.items() if k != "settings"}
                rec = self.attempt(
                    entries,
                    i,
                    where,
                    lambda e=plain: build_group(tenant, e, old=None, mode="seed", rng=self.rng),
                )
                if rec is None:
                    continue
            if rec["id"] in tenant.groups or rec["id"] in tenant.users:
                self.problem(entries, i, f"{where}: id {rec['id']} is used twice")
                continue
            rec["etag"] = entry.get("etag") or next_etag(rec["id"])
            tenant._put_group(rec, bulk=True)
            if settings:
                tenant._put_group_settings(rec["id"], settings)
            ids[-1] = rec["id"]
        return ids

    def settings(self, entry: Mapping[str, Any], where: str) -> dict[str, str] | None:
        """What a group entry's `settings` stores (group_settings.py); None, and problems
        each at the line of the setting it is about, if invalid."""
        value = entry.get("settings")
        if value is None:
            return None
        try:
            return settings_from_seed(value)
        except SettingsProblems as exc:
            key_lines = getattr(entry, "key_lines", {})
            inner = getattr(value, "key_lines", {})
            for key, message in exc.problems:
                line = (inner.get(key) if key else None) or key_lines.get("settings", 0)
                line = line or _line(entry, None)
                self.problems.append(Problem(self.source, line, f"{where}: {message}"))
            return None

    def members(self, tenant: Tenant, groups: list[Any], ids: list[str | None]) -> None:
        for i, (entry, gid) in enumerate(zip(groups, ids, strict=True)):
            if gid is None:
                continue
            members = entry.get("members") or []
            if not isinstance(members, list):
                self.problem(groups, i, f"groups[{i}]: members: expected a list")
                continue
            present = tenant.members[gid]
            batch: list[tuple[str, str, str, str | None, str | None]] = []
            seen: set[str] = set()
            for j, member in enumerate(members):
                fast = _plain_member(tenant, gid, member, present, seen)
                if fast is not None:
                    batch.append(fast)
                    seen.add(fast[0])
                    continue
                if batch:  # keep the order, and let the full check see what came before
                    tenant.bulk_members(gid, batch)
                    batch = []
                where = f"groups[{i}] ({entry['email']}): members[{j}]"
                if self.check_keys(member, members, where, MEMBER_KEYS):
                    self.member(tenant, gid, members, j, member, where)
            if batch:
                tenant.bulk_members(gid, batch)

    def member(
        self, tenant: Tenant, gid: str, members: list[Any], j: int, m: Mapping[str, Any], where: str
    ) -> None:
        role = m.get("role", "MEMBER")
        if role not in ROLES:
            self.problem(members, j, f"{where}: role must be one of {', '.join(ROLES)}")
            return
        external = None
        if m.get("type") == "CUSTOMER" or (m.get("id") and m.get("id") == tenant.customer_id):
            mid, kind = tenant.customer_id, "CUSTOMER"
        elif m.get("email"):
            try:
                address = consumer_address(any_address(m["email"], "email"))
            except ApiError:
                self.problem(members, j, f"{where}: {m['email']!r} is not an email address")
                return
            hit = tenant.addresses.get(address)
            if tenant.in_domain(address) and "status" in m and m["status"] is None:
                # Listed without status: an address added before any account had it (or
                # whose account is gone). It keeps its own id, even once an account has it.
                mid, kind, external = external_member_id(address), m.get("type", "USER"), address
                if kind not in ("USER", "GROUP"):
                    self.problem(members, j, f"{where}: a member without status is a USER or GROUP")
                    return
            elif hit is not None:
                mid, kind = hit[1], "GROUP" if hit[0] == GROUP else "USER"
            elif tenant.in_domain(address):
                self.problem(
                    members,
                    j,
                    f"{where}: no user or group has the address {address} (a member Google lists "
                    "without status says status: null)",
                )
                return
            else:
                mid, kind, external = external_member_id(address), "EXTERNAL", address
        elif m.get("id"):
            found = tenant.resolve(str(m["id"]))
            if found is None:
                self.problem(members, j, f"{where}: no user or group has the id {m['id']}")
                return
            mid, kind = found[1], "GROUP" if found[0] == GROUP else "USER"
        else:
            self.problem(members, j, f"{where}: a member needs an email (or id)")
            return
        if m.get("type") not in (None, kind):
            self.problem(members, j, f"{where}: type {m['type']}, but this member is {kind}")
            return
        if mid == gid:
            self.problem(members, j, f"{where}: a group cannot be a member of itself")
            return
        if mid in tenant.members[gid]:
            self.problem(members, j, f"{where}: listed twice")
            return
        tenant.bulk_members(gid, [(mid, role, kind, m.get("delivery_settings"), external)])
        if m.get("etag"):
            tenant.members[gid][mid].etag = m["etag"]


# A saved user or group has these; one that lacks any is checked like a seed entry.
_STORED_USER_KEYS = frozenset({"id", "primaryEmail", "name", "orgUnitPath", "creationTime", "etag"})
_STORED_GROUP_KEYS = frozenset({"id", "email", "name", "etag"})
_PLAIN_MEMBER_KEYS = frozenset({"email", "role", "type", "id", "kind", "status"})
_ROLE_SET = frozenset(ROLES)


def _plain_member(
    tenant: Tenant, gid: str, m: Any, present: Mapping[str, Any], seen: set[str]
) -> tuple[str, str, str, None, None] | None:
    """The common case, checked in a few dict lookups: a user or group named by its
    exact (lower-case) address, a valid role, nothing unusual. None: take the full path,
    which checks everything and reports problems."""
    if not isinstance(m, dict) or not m.keys() <= _PLAIN_MEMBER_KEYS or m.get("status", 1) is None:
        return None
    hit = tenant.addresses.get(m.get("email"))  # type: ignore[arg-type]
    if hit is None:
        return None
    mid = hit[1]
    kind = "GROUP" if hit[0] == GROUP else "USER"
    role = m.get("role", "MEMBER")
    if (
        role not in _ROLE_SET
        or m.get("type", kind) != kind
        or m.get("id", mid) != mid
        or mid == gid
        or mid in seen
        or mid in present
    ):
        return None
    return mid, role, kind, None, None


def _where(key: str, index: int, entry: Mapping[str, Any], name: str) -> str:
    """`users[3] (jo@example.com)`: how problems name an entry."""
    label = entry.get(name)
    return f"{key}[{index}] ({label})" if isinstance(label, str) else f"{key}[{index}]"


def _line(container: Any, index: int | None) -> int:
    """The YAML line of an entry (0 for JSON and plain dicts)."""
    if index is not None:
        lines = getattr(container, "item_lines", None)
        if lines is not None and index < len(lines):
            return lines[index]
    return getattr(container, "line", 0)
