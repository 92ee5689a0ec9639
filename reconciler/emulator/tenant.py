"""The emulated tenant in memory: resources in the Directory API's shapes, with indexes.

Every write goes through a few primitive mutations (put/delete of a user, group, member,
org unit or schema). Each one is deterministic given the tenant's state and its arguments
(ids and times are chosen by the caller; etags are a hash chain of the previous etag), and
each one is logged as one JSON value, so replaying the log over a snapshot rebuilds the
same tenant exactly. Stored records are never shared with callers: handlers build new
dicts and put them; responses are rendered into new dicts.
"""

from __future__ import annotations

import json
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.emulator.domains import domain_record, finish, seed_entry, usable
from reconciler.emulator.ids import next_etag

USER = "user"
GROUP = "group"
# In what a lagging listing still shows of a deleted group: its members when it was deleted.
LAST_COUNT = "directMembersCount"
ROOT_PATH = "/"

Record = dict[str, Any]


@dataclass(slots=True)
class Member:
    """One membership; the member's id is its key in the group's member map."""

    role: str
    type: str  # USER | GROUP | EXTERNAL | CUSTOMER
    etag: str | None  # None until the membership first changes: see member_etag()
    delivery_settings: str | None = None


# A membership as a lagging listing still shows it: (group id, member, address, status).
MemberSeen = tuple[str, Member, str | None, str | None]


def member_etag(group_id: str, member_id: str, member: Member) -> str:
    """A membership's etag. A membership never changed since it was added has none
    stored (half a million hashes saved on a big load): it is derived from its ids."""
    return member.etag or next_etag(f"{group_id}/{member_id}")


def user_addresses(rec: Record | None) -> list[str]:
    """Every address that finds a user: primary email, then aliases."""
    if rec is None:
        return []
    return [rec["primaryEmail"], *rec.get("aliases", ())]


def group_addresses(rec: Record | None) -> list[str]:
    """Every address that finds a group: its email, then aliases."""
    if rec is None:
        return []
    return [rec["email"], *rec.get("aliases", ())]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]


class Tenant:
    """Everything one customer holds, with O(1) lookups by id, email or alias."""

    def __init__(
        self, customer_id: str, domains: Iterable[str | Record], root_orgunit_id: str
    ) -> None:
        """`domains`: names, or records from `domains.domain_record` (with their aliases)."""
        self.customer_id = customer_id
        self.domain_records: list[Record] = finish(
            [d if isinstance(d, dict) else domain_record(d) for d in domains]
        )
        self.domains: list[str] = [d["domainName"] for d in self.domain_records]
        # What addresses may use: verified domains and their verified aliases.
        self.domain_set = usable(self.domain_records)
        self.root_orgunit_id = root_orgunit_id
        self.users: dict[str, Record] = {}
        self.user_order: list[str] = []  # primary emails of active users, sorted
        self.deleted_users: dict[str, Record] = {}
        self.groups: dict[str, Record] = {}
        self.group_order: list[str] = []  # group emails, sorted
        self.members: dict[str, dict[str, Member]] = {}  # group id -> member id -> Member
        self.member_order: dict[str, list[str]] = {}  # group id -> member ids, sorted
        self.member_of: dict[str, set[str]] = {}  # member id -> ids of groups holding it
        self.external_emails: dict[str, str] = {}  # external member id -> address
        self.addresses: dict[str, tuple[str, str]] = {}  # email or alias -> (kind, id)
        self.orgunits: dict[str, Record] = {}  # lower-case path -> OrgUnit (root excluded)
        self.orgunit_ids: dict[str, str] = {}  # orgUnitId -> lower-case path
        self.schemas: dict[str, Record] = {}  # lower-case schemaName -> Schema
        # user id -> tokens, ASPs, backup codes and sign-outs (user_security.py); kept apart
        # from the User record so no users.get or listing can show it. Deleted users keep
        # theirs (a restored account comes back with them); a purge forgets it.
        self.security: dict[str, Record] = {}
        # Data Transfer API: transfer id -> stored DataTransfer (transfers.py).
        self.transfers: dict[str, Record] = {}
        # Licensing API (licenses.py): the seats bought, productId -> skuId -> seats (the
        # SKUs the tenant subscribes to; set by the seed only), and the assignments, user id
        # -> productId -> skuId (by id: a renamed user keeps them; a deleted one frees them).
        self.license_seats: dict[str, dict[str, int]] = {}
        self.licenses: dict[str, dict[str, str]] = {}
        # Groups Settings API (group_settings.py): group id -> the settings that differ from
        # the defaults (by id: a renamed group keeps them; a deleted one's go with it).
        self.group_settings: dict[str, dict[str, str]] = {}
        # Admin roles (admin_roles.py; set by the seed only): the tenant's own roles, roleId ->
        # Role; role assignments, roleAssignmentId -> RoleAssignment (assignedTo a user id,
        # orgUnitId the tenant's `id:` form); user id -> the ids of its assignments.
        self.roles: dict[str, Record] = {}
        self.role_assignments: dict[str, Record] = {}
        self.assignments_of: dict[str, list[str]] = {}
        # Bumped by every mutation: caches of derived orderings key on it.
        self.generation = 0
        self.cache: dict[str, tuple[int, Any]] = {}
        self._journal: list[str] | None = None
        # Told of every change before it happens: (collection, key, what listings showed
        # until now, None if absent). The API sets it while listings lag writes (lag.py).
        self.on_change: Callable[[str, Any, Any], None] | None = None

    # ---- lookups -------------------------------------------------------------------

    def in_domain(self, address: str) -> bool:
        """Whether an address belongs to one of the tenant's domains."""
        return domain_of(address) in self.domain_set

    def resolve(self, key: str) -> tuple[str, str] | None:
        """(kind, id) of the user or group an email, alias or id names; None if nothing."""
        hit = self.addresses.get(key.lower())
        if hit is not None:
            return hit
        if key in self.users:
            return USER, key
        if key in self.groups:
            return GROUP, key
        return None

    def member_email(self, member_id: str, member_type: str) -> str | None:
        """A member's current address (a renamed user shows its new address); a member with
        no user or group behind it keeps the address it was added by."""
        if member_type == "USER":
            rec = self.users.get(member_id)
            if rec:
                return rec["primaryEmail"]
        elif member_type == "GROUP":
            rec = self.groups.get(member_id)
            if rec:
                return rec["email"]
        return self.external_emails.get(member_id)

    def unresolved_member(self, member_id: str, member_type: str) -> bool:
        """A USER or GROUP member that is no user or group of the tenant (a seed's member
        with `status: null`): Google lists it without status."""
        table = self.users if member_type == "USER" else self.groups
        return member_type in ("USER", "GROUP") and member_id not in table

    def orgunit(self, path_or_id: str) -> Record | None:
        """An org unit by path (any case, leading slash optional) or `id:…`; root: None."""
        if path_or_id.startswith("id:"):
            key = self.orgunit_ids.get(path_or_id)
            return self.orgunits.get(key) if key else None
        path = "/" + path_or_id.strip("/")
        return self.orgunits.get(path.lower())

    @property
    def primary_domain(self) -> str | None:
        return next((d["domainName"] for d in self.domain_records if d["isPrimary"]), None)

    def orgunit_exists(self, path: str) -> bool:
        return path == ROOT_PATH or self.orgunit(path) is not None

    def root_orgunit(self) -> Record:
        """The root org unit, which Google never lists except with allIncludingParent."""
        return {
            "name": self.primary_domain or "root",
            "orgUnitPath": ROOT_PATH,
            "orgUnitId": self.root_orgunit_id,
            "etag": next_etag(self.root_orgunit_id),
        }

    def schema(self, key: str) -> Record | None:
        """A schema by name (any case) or id."""
        rec = self.schemas.get(key.lower())
        if rec is not None:
            return rec
        for rec in self.schemas.values():
            if rec["schemaId"] == key:
                return rec
        return None

    def nested_groups(self, group_id: str) -> Iterator[str]:
        """Ids of groups reachable as members of members… of `group_id` (each once)."""
        seen = {group_id}
        stack = [group_id]
        while stack:
            gid = stack.pop()
            for mid, member in self.members.get(gid, {}).items():
                if member.type == "GROUP" and mid not in seen and mid in self.groups:
                    seen.add(mid)
                    stack.append(mid)
                    yield mid

    # ---- journal -------------------------------------------------------------------

    def begin(self) -> None:
        """Start recording mutations (one API call's worth)."""
        self._journal = []

    def end(self) -> list[str]:
        """Stop recording; the JSON of every mutation since begin(), in order."""
        ops, self._journal = self._journal or [], None
        return ops

    def _log(self, *op: Any) -> None:
        # Serialized now, not at commit: later changes to a record must not leak back.
        if self._journal is not None:
            self._journal.append(json.dumps(op, separators=(",", ":")))

    def replay(self, ops: Iterable[list[Any]]) -> None:
        """Apply logged mutations again (restart)."""
        for name, *args in ops:
            if name not in _OPS:
                raise ValueError(f"unknown journal operation {name!r}")
            getattr(self, "_" + name)(*args)

    # ---- users ---------------------------------------------------------------------

    def put_user(self, rec: Record) -> Record:
        """Create or replace a user (by id); indexes follow its addresses."""
        old = self.users.get(rec["id"])
        rec["etag"] = next_etag(old["etag"] if old else rec["id"])
        self._log("put_user", rec)
        self._put_user(rec)
        return rec

    def _put_user(self, rec: Record, bulk: bool = False) -> None:
        uid = rec["id"]
        old = self.users.get(uid)
        if self.on_change is not None:
            self.on_change("users", uid, old)
        self.users[uid] = rec
        email = rec["primaryEmail"]
        if old is None:
            if bulk:
                self.user_order.append(email)  # sorted once at the end of a load
            else:
                insort(self.user_order, email)
        elif old["primaryEmail"] != email:
            _remove_sorted(self.user_order, old["primaryEmail"])
            insort(self.user_order, email)
        self._reindex(USER, uid, user_addresses(old), user_addresses(rec))
        self.generation += 1

    def delete_user(self, user_id: str, deletion_time: str) -> None:
        """Delete a user: its addresses are freed, its memberships removed; it is kept
        among deleted users so that it can be undeleted."""
        self._log("delete_user", user_id, deletion_time)
        self._delete_user(user_id, deletion_time)

    def _delete_user(self, user_id: str, deletion_time: str) -> None:
        if self.on_change is not None:
            self.on_change("users", user_id, self.users[user_id])
        # Memberships first, while they still have the user's address to show.
        for gid in sorted(self.member_of.get(user_id, ())):
            self._delete_member(gid, user_id)
        rec = self.users.pop(user_id)
        self.licenses.pop(user_id, None)  # a deleted account's licenses are free again
        for assignment_id in self.assignments_of.pop(user_id, ()):  # and its admin roles
            del self.role_assignments[assignment_id]
        _remove_sorted(self.user_order, rec["primaryEmail"])
        self._reindex(USER, user_id, user_addresses(rec), [])
        gone = dict(rec, deletionTime=deletion_time, etag=next_etag(rec["etag"]))
        self.deleted_users[user_id] = gone
        self.generation += 1

    def undelete_user(self, user_id: str, org_unit_path: str) -> None:
        """Bring a deleted user back (its group memberships are not restored)."""
        self._log("undelete_user", user_id, org_unit_path)
        self._undelete_user(user_id, org_unit_path)

    def _undelete_user(self, user_id: str, org_unit_path: str) -> None:
        rec = self.deleted_users.pop(user_id)
        back = {k: v for k, v in rec.items() if k != "deletionTime"}
        back["orgUnitPath"] = org_unit_path
        back["etag"] = next_etag(rec["etag"])
        self._put_user(back)

    def purge_user(self, user_id: str) -> None:
        """Forget a deleted user for good (past Google's undelete window)."""
        self._log("purge_user", user_id)
        self._purge_user(user_id)

    def _purge_user(self, user_id: str) -> None:
        self.deleted_users.pop(user_id, None)
        self.security.pop(user_id, None)
        self.generation += 1

    def put_security(self, user_id: str, rec: Record) -> None:
        """Replace a user's security record (tokens, ASPs, codes, sign-outs); an empty one
        removes it."""
        self._log("put_security", user_id, rec)
        self._put_security(user_id, rec)

    def _put_security(self, user_id: str, rec: Record) -> None:
        if rec:
            self.security[user_id] = rec
        else:
            self.security.pop(user_id, None)

    def is_delegated_admin(self, rec: Record) -> bool:
        """A user holding an admin role who is no super admin (users' isDelegatedAdmin)."""
        return not rec.get("isAdmin") and bool(self.assignments_of.get(rec["id"]))

    # ---- admin roles (loaded from a seed or a state only) -------------------------

    def _put_role(self, rec: Record) -> None:
        self.roles[rec["roleId"]] = rec
        self.generation += 1

    def _put_role_assignment(self, rec: Record) -> None:
        self.role_assignments[rec["roleAssignmentId"]] = rec
        self.assignments_of.setdefault(rec["assignedTo"], []).append(rec["roleAssignmentId"])
        self.generation += 1

    # ---- data transfers ------------------------------------------------------------

    def put_transfer(self, rec: Record) -> None:
        """Create or replace a data transfer (by id)."""
        self._log("put_transfer", rec)
        self._put_transfer(rec)

    def _put_transfer(self, rec: Record) -> None:
        self.transfers[rec["id"]] = rec

    # ---- licenses ------------------------------------------------------------------

    def put_license(self, user_id: str, product: str, sku: str | None) -> None:
        """Assign a user `sku` of `product`, replacing the one it held (None: none)."""
        self._log("put_license", user_id, product, sku)
        self._put_license(user_id, product, sku)

    def _put_license(self, user_id: str, product: str, sku: str | None) -> None:
        held = self.licenses.setdefault(user_id, {})
        if sku is None:
            held.pop(product, None)
        else:
            held[product] = sku
        if not held:
            del self.licenses[user_id]
        self.generation += 1

    def license_of(self, user_id: str, product: str) -> str | None:
        """The SKU of `product` a user holds, if any."""
        return self.licenses.get(user_id, {}).get(product)

    def seats_used(self, product: str, sku: str) -> int:
        """How many users hold `sku` of `product`."""
        return sum(1 for held in self.licenses.values() if held.get(product) == sku)

    def license_holders(self, product: str) -> list[str]:
        """The ids of the users holding a SKU of `product`, sorted (cached per generation)."""
        key = "licenses/" + product
        cached = self.cache.get(key)
        if cached is not None and cached[0] == self.generation:
            return cached[1]
        holders = sorted(uid for uid, held in self.licenses.items() if product in held)
        self.cache[key] = (self.generation, holders)
        return holders

    # ---- group settings ------------------------------------------------------------

    def put_group_settings(self, group_id: str, values: dict[str, str]) -> None:
        """Set what a group keeps of its settings (those unlike the defaults; {}: none)."""
        self._log("put_group_settings", group_id, values)
        self._put_group_settings(group_id, values)

    def _put_group_settings(self, group_id: str, values: dict[str, str]) -> None:
        if values:
            self.group_settings[group_id] = dict(values)
        else:
            self.group_settings.pop(group_id, None)
        self.generation += 1

    # ---- groups --------------------------------------------------------------------

    def put_group(self, rec: Record) -> Record:
        """Create or replace a group (by id); a new group starts with no members."""
        old = self.groups.get(rec["id"])
        rec["etag"] = next_etag(old["etag"] if old else rec["id"])
        self._log("put_group", rec)
        self._put_group(rec)
        return rec

    def _put_group(self, rec: Record, bulk: bool = False) -> None:
        gid = rec["id"]
        old = self.groups.get(gid)
        if self.on_change is not None:
            self.on_change("groups", gid, old)
        self.groups[gid] = rec
        email = rec["email"]
        if old is None:
            self.members[gid] = {}
            self.member_order[gid] = []
            if bulk:
                self.group_order.append(email)
            else:
                insort(self.group_order, email)
        elif old["email"] != email:
            _remove_sorted(self.group_order, old["email"])
            insort(self.group_order, email)
        self._reindex(GROUP, gid, group_addresses(old), group_addresses(rec))
        self.generation += 1

    def delete_group(self, group_id: str) -> None:
        """Delete a group, its memberships, and its place in other groups."""
        self._log("delete_group", group_id)
        self._delete_group(group_id)

    def _delete_group(self, group_id: str) -> None:
        # Its own members in one pass: removing them one by one from the sorted order
        # would be quadratic for a large group.
        # A listing behind still shows the group as it was, its member count included (its
        # members cannot be listed any more: no lag to keep for them).
        if self.on_change is not None:
            count = len(self.members[group_id])
            self.on_change("groups", group_id, {**self.groups[group_id], LAST_COUNT: count})
        for mid in self.member_order.get(group_id, ()):
            holders = self.member_of.get(mid)
            if holders is not None:
                holders.discard(group_id)
                if not holders:
                    del self.member_of[mid]
                    self.external_emails.pop(mid, None)
        for parent in sorted(self.member_of.get(group_id, ())):
            self._delete_member(parent, group_id)
        rec = self.groups.pop(group_id)
        self.group_settings.pop(group_id, None)
        del self.members[group_id], self.member_order[group_id]
        _remove_sorted(self.group_order, rec["email"])
        self._reindex(GROUP, group_id, group_addresses(rec), [])
        self.generation += 1

    # ---- members -------------------------------------------------------------------

    def put_member(
        self,
        group_id: str,
        member_id: str,
        role: str,
        member_type: str,
        delivery_settings: str | None = None,
        external_email: str | None = None,
    ) -> Member:
        """Add a member or change its role or delivery settings."""
        args = (group_id, member_id, role, member_type, delivery_settings, external_email)
        self._log("put_member", *args)
        self._put_member(*args)
        return self.members[group_id][member_id]

    def _put_member(
        self,
        group_id: str,
        member_id: str,
        role: str,
        member_type: str,
        delivery_settings: str | None = None,
        external_email: str | None = None,
    ) -> None:
        members = self.members[group_id]
        old = members.get(member_id)
        if self.on_change is not None:
            seen = self._member_seen(group_id, member_id) if old is not None else None
            self.on_change(members_collection(group_id), member_id, seen)
        etag = next_etag(member_etag(group_id, member_id, old)) if old else None
        members[member_id] = Member(role, member_type, etag, delivery_settings)
        if external_email is not None:
            self.external_emails[member_id] = external_email
        if old is None:
            holders = self.member_of.get(member_id)
            if holders is None:
                holders = self.member_of[member_id] = set()
            holders.add(group_id)
            insort(self.member_order[group_id], member_id)
            self._bump_group(group_id)  # directMembersCount changed
        self.generation += 1

    def bulk_members(
        self, group_id: str, items: list[tuple[str, str, str, str | None, str | None]]
    ) -> None:
        """Add many new memberships to a group while loading: (id, role, type, delivery
        settings, external address). The caller has checked them; call
        finish_bulk_load() afterwards."""
        members = self.members[group_id]
        order = self.member_order[group_id]
        member_of = self.member_of
        for mid, role, member_type, delivery, external in items:
            members[mid] = Member(role, member_type, None, delivery)
            order.append(mid)
            holders = member_of.get(mid)
            if holders is None:
                member_of[mid] = {group_id}
            else:
                holders.add(group_id)
            if external is not None:
                self.external_emails[mid] = external
        self.generation += 1

    def delete_member(self, group_id: str, member_id: str) -> None:
        """Remove one membership."""
        self._log("delete_member", group_id, member_id)
        self._delete_member(group_id, member_id)

    def _delete_member(self, group_id: str, member_id: str) -> None:
        if self.on_change is not None and member_id in self.members[group_id]:
            self.on_change(
                members_collection(group_id), member_id, self._member_seen(group_id, member_id)
            )
        if self.members[group_id].pop(member_id, None) is None:
            return
        _remove_sorted(self.member_order[group_id], member_id)
        holders = self.member_of.get(member_id)
        if holders is not None:
            holders.discard(group_id)
            if not holders:
                del self.member_of[member_id]
                self.external_emails.pop(member_id, None)
        self._bump_group(group_id)
        self.generation += 1

    def _member_seen(self, group_id: str, member_id: str) -> MemberSeen:
        """A membership as a listing shows it: (group id, member, its address and its
        status now)."""
        member = self.members[group_id][member_id]
        email = self.member_email(member_id, member.type)
        return group_id, member, email, self.member_status(member_id, member.type)

    def member_status(self, member_id: str, member_type: str) -> str | None:
        """A member's `status` as Google shows it: SUSPENDED for a suspended user, ACTIVE
        for other users, groups and the customer. None (no `status` at all) for an external
        address (GAM 4.65.52: members with no status are "typically non-domain addresses")
        and for a member in the tenant's domains with no user or group behind it (GAM
        4.93.00: members "added to the group before the user or group that they represent
        was created")."""
        if member_type == "EXTERNAL" or self.unresolved_member(member_id, member_type):
            return None
        if member_type == "USER" and self.users[member_id].get("suspended"):
            return "SUSPENDED"
        return "ACTIVE"

    def _bump_group(self, group_id: str) -> None:
        rec = self.groups[group_id]
        rec["etag"] = next_etag(rec["etag"])

    # ---- org units -----------------------------------------------------------------

    def put_orgunit(self, rec: Record, old_path: str | None = None) -> Record:
        """Create or change an org unit; moving or renaming it moves its sub-units and
        users along (their orgUnitPath changes)."""
        old = self.orgunits.get((old_path or rec["orgUnitPath"]).lower())
        rec["etag"] = next_etag(old["etag"] if old else rec["orgUnitId"])
        self._log("put_orgunit", rec, old_path)
        self._put_orgunit(rec, old_path)
        return rec

    def _put_orgunit(self, rec: Record, old_path: str | None = None) -> None:
        new_path = rec["orgUnitPath"]
        if self.on_change is not None:
            old = self.orgunits.get((old_path or new_path).lower())
            self.on_change("orgunits", rec["orgUnitId"], old)
        if old_path is not None and old_path != new_path:
            self._move_orgunit_subtree(old_path, new_path)
        self.orgunits[new_path.lower()] = rec
        self.orgunit_ids[rec["orgUnitId"]] = new_path.lower()
        self.generation += 1

    def _move_orgunit_subtree(self, old_path: str, new_path: str) -> None:
        old_key = old_path.lower()
        self.orgunits.pop(old_key, None)

        def moved(path: str) -> str | None:
            low = path.lower()
            if low == old_key or low.startswith(old_key + "/"):
                return new_path + path[len(old_path) :]
            return None

        for key in [k for k in self.orgunits if k.startswith(old_key + "/")]:
            child = self.orgunits.pop(key)
            if self.on_change is not None:
                self.on_change("orgunits", child["orgUnitId"], child)
            path = moved(child["orgUnitPath"]) or child["orgUnitPath"]
            parent = moved(child["parentOrgUnitPath"]) or child["parentOrgUnitPath"]
            new = dict(child, orgUnitPath=path, parentOrgUnitPath=parent)
            new["etag"] = next_etag(child["etag"])
            self.orgunits[path.lower()] = new
            self.orgunit_ids[new["orgUnitId"]] = path.lower()
        # An O(users) scan, but only when an org unit is renamed or moved: rare.
        for user in list(self.users.values()):
            path = moved(user["orgUnitPath"])
            if path is not None:
                self._put_user(dict(user, orgUnitPath=path, etag=next_etag(user["etag"])))
        for uid, user in list(self.deleted_users.items()):
            path = moved(user["orgUnitPath"])
            if path is not None:
                self.deleted_users[uid] = dict(user, orgUnitPath=path)

    def delete_orgunit(self, path: str) -> None:
        """Delete an (empty) org unit."""
        self._log("delete_orgunit", path)
        self._delete_orgunit(path)

    def _delete_orgunit(self, path: str) -> None:
        if self.on_change is not None:
            rec = self.orgunits[path.lower()]
            self.on_change("orgunits", rec["orgUnitId"], rec)
        rec = self.orgunits.pop(path.lower())
        self.orgunit_ids.pop(rec["orgUnitId"], None)
        self.generation += 1

    # ---- schemas -------------------------------------------------------------------

    def put_schema(self, rec: Record) -> Record:
        """Create or replace a custom user schema."""
        old = self.schemas.get(rec["schemaName"].lower())
        rec["etag"] = next_etag(old["etag"] if old else rec["schemaId"])
        self._log("put_schema", rec)
        self._put_schema(rec)
        return rec

    def _put_schema(self, rec: Record) -> None:
        self.schemas[rec["schemaName"].lower()] = rec
        self.generation += 1

    def delete_schema(self, name: str) -> None:
        """Delete a schema and every user's values for it."""
        self._log("delete_schema", name)
        self._delete_schema(name)

    def _delete_schema(self, name: str) -> None:
        rec = self.schemas.pop(name.lower())
        for user in list(self.users.values()):
            custom = user.get("customSchemas")
            if custom and rec["schemaName"] in custom:
                rest = {k: v for k, v in custom.items() if k != rec["schemaName"]}
                new = {k: v for k, v in user.items() if k != "customSchemas"}
                if rest:
                    new["customSchemas"] = rest
                new["etag"] = next_etag(user["etag"])
                self._put_user(new)
        self.generation += 1

    # ---- loading and saving ------------------------------------------------------

    def finish_bulk_load(self) -> None:
        """Sort the orderings that a bulk load appended to without sorting."""
        self.user_order.sort()
        self.group_order.sort()
        for order in self.member_order.values():
            order.sort()

    def to_document(self) -> dict[str, Any]:
        """The whole tenant in the seed format (ids and etags included, no secrets)."""
        groups = []
        for email in self.group_order:
            gid = self.addresses[email][1]
            members = []
            for mid in self.member_order[gid]:
                m = self.members[gid][mid]
                address = self.member_email(mid, m.type)
                # The address identifies a member (the id only for the customer); etags
                # are saved only once they differ from the derived one.
                doc: dict[str, Any] = {"email": address} if address else {"id": mid}
                doc["role"] = m.role
                doc["type"] = m.type
                if self.unresolved_member(mid, m.type):
                    doc["status"] = None  # listed without status: see seed.py
                if m.delivery_settings:
                    doc["delivery_settings"] = m.delivery_settings
                if m.etag:
                    doc["etag"] = m.etag
                members.append(doc)
            members.sort(key=lambda d: d.get("email", ""))
            entry = {**self.groups[gid], "members": members}
            if gid in self.group_settings:  # the seed's shape (group_settings.py)
                entry["settings"] = dict(sorted(self.group_settings[gid].items()))
            groups.append(entry)
        deleted = sorted(self.deleted_users.values(), key=lambda u: (u["primaryEmail"], u["id"]))
        users = [self.users[self.addresses[e][1]] for e in self.user_order]
        if self.security:  # written on the user's entry, as a seed gives it
            users = [self._with_security(u) for u in users]
            deleted = [self._with_security(u) for u in deleted]
        transfers = sorted(self.transfers.values(), key=lambda t: (t["requestTime"], t["id"]))
        doc: dict[str, Any] = {
            "customerId": self.customer_id,
            "rootOrgUnitId": self.root_orgunit_id,
            "domains": [seed_entry(d, i == 0) for i, d in enumerate(self.domain_records)],
            "schemas": [self.schemas[k] for k in sorted(self.schemas)],
            "orgUnits": [self.orgunits[k] for k in sorted(self.orgunits)],
            "users": users,
            "deletedUsers": deleted,
            "groups": groups,
            "dataTransfers": transfers,
        }
        if self.license_seats:  # the seed's shape, by SKU id (licenses.py)
            doc["licenses"] = self._licenses_document()
        if self.roles:
            doc["roles"] = [self.roles[k] for k in sorted(self.roles)]
        if self.role_assignments:
            doc["roleAssignments"] = [
                self.role_assignments[k] for k in sorted(self.role_assignments)
            ]
        return doc

    def _licenses_document(self) -> dict[str, Any]:
        seats = {
            sku: count
            for product in sorted(self.license_seats)
            for sku, count in sorted(self.license_seats[product].items())
        }
        assigned: dict[str, Any] = {}
        for uid in sorted(self.licenses, key=lambda u: self.users[u]["primaryEmail"]):
            held = [self.licenses[uid][p] for p in sorted(self.licenses[uid])]
            assigned[self.users[uid]["primaryEmail"]] = held[0] if len(held) == 1 else held
        return {"seats": seats, "assigned": assigned}

    def _with_security(self, user: Record) -> Record:
        security = self.security.get(user["id"])
        return {**user, **security} if security else user

    # ---- internals -----------------------------------------------------------------

    def _reindex(self, kind: str, id_: str, old: list[str], new: list[str]) -> None:
        target = (kind, id_)
        keep = set(new)
        for address in old:
            # Only drop what still points here: a replay may have re-pointed it already.
            if address not in keep and self.addresses.get(address) == target:
                del self.addresses[address]
        for address in new:
            self.addresses[address] = target


_OPS = frozenset(
    {
        "put_user",
        "delete_user",
        "undelete_user",
        "purge_user",
        "put_group",
        "delete_group",
        "put_member",
        "delete_member",
        "put_orgunit",
        "delete_orgunit",
        "put_schema",
        "delete_schema",
        "put_security",
        "put_transfer",
        "put_license",
        "put_group_settings",
    }
)


def members_collection(group_id: str) -> str:
    """The name under which a group's memberships are watched (see Tenant.on_change)."""
    return "members/" + group_id


def _remove_sorted(order: list[str], key: str) -> None:
    i = bisect_left(order, key)
    if i < len(order) and order[i] == key:
        del order[i]
