"""The Directory read of a targeted plan: the scope's accounts and groups by key, the members
of its groups, and no listing of the whole tenant.

Calls: the ownership schema 1, org units 1, recently deleted users ceil(D/500) (at least 1),
one `users.get` per address of a scope user (a `groups.get` more when no user holds it), one
`groups.get` per address of a scope group (a `users.get` more when no group holds it), one
`members.list` page per 200 members of each of its groups Git manages, and one lookup per
address those groups will hold, or hold that Git does not name or that no account is behind
(a hand-made account may hold a Git user's address as an alias). All in batches, under the
quota like every call.

A get by key is not a listing: it answers for the address asked, so a lookup that finds
nothing proves absence (what `verify.py` does for a full plan's creates), and a found
account or group is read whole. Whatever the read finds whole joins the scope (an account
holding an address a scope user wants; the member a rename, a staging or an offboarding
concerns; a protected account), so the plan covers it whole: a targeted plan never plans
half of an entity. Members are checked against the group's directMembersCount as in a full
read (a short listing is read again, then refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import NoReturn

from reconciler.google.client import Call, GoogleApiError, GoogleClient
from reconciler.google.fetch import (
    GROUPS_PAGE,
    Actual,
    ShortReadError,
    converted,
    index_found,
    list_pages,
    marker_projection,
    marker_schema_fields,
    read_deleted_users,
    read_members,
    read_org_units,
    short_members,
)
from reconciler.google.mapping import GROUP_FIELDS, USER_FIELDS, group_from_api, user_from_api
from reconciler.google.marker import FIELD
from reconciler.plan.offboarding import policy_for, recipient_of
from reconciler.progress import Progress
from reconciler.scope import Scope
from reconciler.settings import Workspace
from reconciler.state import Group, State, User

READ, HELD, ABSENT = "read", "held", "absent"
# How many rounds of widening the read allows: each round reads what the last one found it
# must (a member renamed, a nested group); a real change settles in two or three.
MAX_ROUNDS = 20


@dataclass
class _Git:
    """Git's addresses, to tell what a listed member is to Git."""

    users: dict[str, User]
    groups: dict[str, Group]
    # Any address Git gives a user or group (email, alias, previous email) -> its key.
    user_keys: dict[str, str] = field(default_factory=dict)
    group_keys: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, state: State, pending: dict[str, dict[str, str]]) -> _Git:
        git = cls(state.users, state.groups)
        for table, keys in ((state.users, git.user_keys), (state.groups, git.group_keys)):
            for key, entry in table.items():
                for address in (*(entry.aliases or ()), *entry.previous_emails):
                    keys.setdefault(address, key)
            for key in table:
                keys[key] = key
        for kind, keys in (("users", git.user_keys), ("groups", git.group_keys)):
            for new, old in pending.get(kind, {}).items():
                keys.setdefault(old, new)
        return git


def fetch_scope(
    client: GoogleClient,
    *,
    workspace: Workspace,
    desired: State,
    pending: dict[str, dict[str, str]],
    scope: Scope,
    tenant_domains: set[str] | None,
    managed: Callable[[Group], bool] | None,
    progress: Callable[[str], Progress] = Progress,
) -> Actual:
    """Read the scope (widening it to what it must read whole), into a partial Actual whose
    `state.elsewhere` holds the addresses found held without being read. `tenant_domains`:
    what the Directory target's check read (never None here: without it every lookup would
    be skipped and every user look absent)."""
    if tenant_domains is None:
        raise AssertionError("the tenant's domains are read (check) before a targeted read")
    before = (client.stats.api_calls, client.stats.http_requests, client.stats.retries)
    customer = workspace.directory.customer
    fields = marker_schema_fields(client, customer)
    actual = Actual(State(), FIELD in fields, fields)
    actual.state.org_units = read_org_units(client, customer)
    read_deleted_users(client, customer, actual.marker_schema, actual.state)
    reader = _ScopeReader(client, workspace, _Git.of(desired, pending), actual, tenant_domains)
    reader.read(scope, managed, progress)
    actual.calls = client.stats.api_calls - before[0]
    actual.http_requests = client.stats.http_requests - before[1]
    actual.retries = client.stats.retries - before[2]
    return actual


class _ScopeReader:
    def __init__(
        self,
        client: GoogleClient,
        workspace: Workspace,
        git: _Git,
        actual: Actual,
        tenant_domains: set[str],
    ):
        self.client = client
        self.workspace = workspace
        self.git = git
        self.actual = actual
        self.domains = tenant_domains
        # What each address asked is known to be: READ (its holder read whole), HELD (held,
        # its holder not read) or ABSENT (no user or group holds it).
        self.known: dict[str, str] = {}
        self.taken: set[str] = set()  # keys read whole (or found absent) already
        self.members_read: set[str] = set()  # groups whose members were read
        self.member_groups_read: set[str] = set()  # users whose groups were listed
        self.wanted_done: set[str] = set()  # Git groups whose wanted members were judged

    # -- the rounds ------------------------------------------------------------------------

    def read(self, scope: Scope, managed: Callable[[Group], bool] | None, progress) -> None:
        users_todo = set(scope.users) | self._protected()
        groups_todo = set(scope.groups) if managed is not None else set()
        for _ in range(MAX_ROUNDS):
            users_todo, groups_todo = self._lookup_whole(users_todo, groups_todo, scope)
            users_todo |= self._offboarding_reach(scope)
            if managed is not None:
                groups_todo |= self._groups_of_leavers(scope, managed)
                fresh = [
                    g
                    for g in self.actual.state.groups.values()
                    if g.email not in self.members_read and managed(g)
                ]
                self._members(fresh, progress)
                more_users, more_groups = self._members_reach(fresh, scope)
                users_todo |= more_users
                groups_todo |= more_groups
            # Each key is taken up once (each address is asked once: `known`).
            users_todo -= self.taken
            groups_todo -= self.taken
            if not users_todo and not groups_todo:
                break
        else:
            raise ShortReadError(
                f"the targeted read kept finding more to read after {MAX_ROUNDS} rounds; "
                "run a full plan (without --changed-since)"
            )
        scope.members_listed = len(self.members_read)

    def _lookup_whole(
        self, users: set[str], groups: set[str], scope: Scope
    ) -> tuple[set[str], set[str]]:
        """Read whole the users and groups holding these addresses (a user's address first
        as a user, a group's as a group, then as the other), and put them in the scope; the
        Git users and groups the found ones' addresses name, to read next."""
        self.taken.update(users | groups)
        user_addresses = self._addresses(users, self.git.users)
        group_addresses = self._addresses(groups, self.git.groups)
        found = self._get("user", user_addresses)
        missed = [a for a in user_addresses if found.get(a) is None]
        found_groups = self._get("group", [*group_addresses, *missed])
        missed_groups = [a for a in group_addresses if found_groups.get(a) is None]
        found.update(self._get("user", missed_groups))
        for address in [*user_addresses, *group_addresses]:
            held = found.get(address) or found_groups.get(address)
            self.known[address] = READ if held is not None else ABSENT
        # Git's entries for what was asked: their desired side is planned too.
        scope.users.update(k for k in users if k in self.git.users)
        scope.groups.update(k for k in groups if k in self.git.groups)
        reached_users: set[str] = set()
        reached_groups: set[str] = set()
        for entity in [*found.values(), *found_groups.values()]:
            if entity is None:
                continue
            more_users, more_groups = self._git_keys_of(entity)
            reached_users |= more_users
            reached_groups |= more_groups
            if isinstance(entity, User):
                index_found(entity, self.actual.state.users, self.actual.user_addresses)
                scope.users.add(entity.email)
            else:
                index_found(entity, self.actual.state.groups, self.actual.group_addresses)
                scope.groups.add(entity.email)
        return reached_users - scope.users, reached_groups - scope.groups

    def _protected(self) -> set[str]:
        """The addresses `protected` lists, and the Git users they name (protection finds
        an account through Git's entry too: plan/safety.py)."""
        found = {a.lower() for a in self.workspace.protected}
        return found | {self.git.user_keys[a] for a in found if a in self.git.user_keys}

    def _offboarding_reach(self, scope: Scope) -> set[str]:
        """What the scope's accounts need read whole for a full plan's judgement: the
        addresses of an account deleted under a scope user's address (a restore is refused
        when another holds one of them), and where offboarding sends a leaving account's
        data (`transfer_to`: the recipient must be an active account)."""
        state, git = self.actual.state, self.git
        found: set[str] = set()
        for email in sorted(scope.users):
            gone = state.deleted_users.get(email)
            if gone is not None:
                found.update(gone.aliases or ())
            account = state.users.get(email)
            user = git.users.get(git.user_keys.get(email, email))
            if account is None or (user is not None and _settled(user)):
                continue
            transfer_to = policy_for(self.workspace, user).transfer_to
            if transfer_to and transfer_to != "none":
                to = recipient_of(account, user, transfer_to)
                if to:
                    found.add(to.lower())
        return {a for a in found if self.known.get(a) not in (READ, ABSENT)} - scope.users

    def _git_keys_of(self, entity: User | Group) -> tuple[set[str], set[str]]:
        """The Git users and groups that would find this user or group by one of its
        addresses (as the key, an alias, a previous email): a full plan judges them by it."""
        addresses = (entity.email, *(entity.aliases or ()))
        git = self.git
        return (
            {git.user_keys[a] for a in addresses if a in git.user_keys},
            {git.group_keys[a] for a in addresses if a in git.group_keys},
        )

    def _addresses(self, keys: Iterable[str], entries: dict) -> list[str]:
        """Every address of these keys Git knows (the key, aliases, previous emails), on the
        tenant's domains, whose holder is not read yet nor known to be absent (one found
        held by a lookup is asked again: now it is read whole)."""
        out: list[str] = []
        for key in keys:
            entry = entries.get(key)
            found = [key]
            if entry is not None:
                found += [*(entry.aliases or ()), *entry.previous_emails]
            for address in found:
                if (
                    self.known.get(address) in (READ, ABSENT)
                    or _domain(address) not in self.domains
                ):
                    continue
                out.append(address)
        return list(dict.fromkeys(out))

    # -- gets ------------------------------------------------------------------------------

    def _get(self, kind: str, addresses: list[str]) -> dict[str, User | Group | None]:
        """Each address's holder of one kind, read whole (None: no such holder)."""
        if not addresses:
            return {}
        marker = self.actual.marker_schema
        if kind == "user":
            api = self.client.service.users()
            calls = [
                Call(
                    api.get(userKey=a, fields=USER_FIELDS, **marker_projection(marker)),
                    f"users.get {a}",
                )
                for a in addresses
            ]
            convert = user_from_api
        else:
            api = self.client.service.groups()
            calls = [
                Call(api.get(groupKey=a, fields=GROUP_FIELDS), f"groups.get {a}") for a in addresses
            ]
            convert = group_from_api
        found: dict[str, User | Group | None] = {}
        for address, outcome in zip(addresses, self.client.execute_all(calls), strict=True):
            if outcome.ok:
                found[address] = converted(convert, outcome.body or {}, outcome.call.label)
            elif outcome.status == 404:
                found[address] = None
            else:
                raise GoogleApiError(f"{outcome.call.label}: {outcome.error}")
        return found

    def _exists(self, addresses: list[str]) -> tuple[set[str], set[str]]:
        """Whether Google holds these addresses (a user, else a group), without reading the
        holders into the plan (`state.elsewhere`); the Git users and groups a holder's
        addresses name, to read whole (a full plan finds them by it)."""
        todo = [a for a in dict.fromkeys(addresses) if a not in self.known]
        todo = [a for a in todo if _domain(a) in self.domains]
        users = self._get("user", todo)
        groups = self._get("group", [a for a in todo if users.get(a) is None])
        elsewhere = self.actual.state.elsewhere
        reached_users: set[str] = set()
        reached_groups: set[str] = set()
        for address in todo:
            found = users.get(address) or groups.get(address)
            self.known[address] = HELD if found is not None else ABSENT
            if found is None:
                continue
            kind = "USER" if isinstance(found, User) else "GROUP"
            for alias in (address, found.email, *(found.aliases or ())):
                elsewhere.setdefault(alias, kind)
            # A Git entry the holder has under another primary address: the full plan
            # matches them (an alias, a previous email), so it is read whole.
            more_users, more_groups = self._git_keys_of(found)
            reached_users |= {k for k in more_users if k != found.email}
            reached_groups |= {k for k in more_groups if k != found.email}
        return reached_users, reached_groups

    # -- members ---------------------------------------------------------------------------

    def _members(self, groups: list[Group], progress) -> None:
        """Read the members of these groups, checked against their counts: a short listing
        is read again (listings lag writes), then refused."""
        if not groups:
            return
        state = self.actual.state
        gone = read_members(self.client, groups, state, progress("Reading members"))
        self.members_read.update(g.email for g in groups)
        waits = self.client.retry.settle_delays()
        while True:
            short = [
                state.groups[g.email]
                for g in groups
                if g.email not in gone
                and len(state.groups[g.email].members) != (g.direct_members_count or 0)
            ]
            if not short and not gone:
                return
            wait = next(waits, None)
            if wait is None:
                _refuse(short, gone)
            self.client.retry.sleep(wait)
            groups = self._fresh([*short, *(state.groups[e] for e in gone)])
            gone = read_members(self.client, groups, state, progress("Reading members again"))

    def _fresh(self, groups: list[Group]) -> list[Group]:
        """These groups got again, with a fresh count."""
        found = self._get("group", [g.id or g.email for g in groups])
        fresh: list[Group] = []
        for group in groups:
            got = found.get(group.id or group.email)
            if got is None:
                raise ShortReadError(
                    f"group {group.email}: gone while its members were read; run again"
                )
            assert isinstance(got, Group)
            self.actual.state.groups[group.email] = got
            fresh.append(got)
        return fresh

    def _members_reach(self, groups: list[Group], scope: Scope) -> tuple[set[str], set[str]]:
        """What members make the plan read, of the groups just read (as Google lists them)
        and of the scope's Git groups (as Git wants them): Git's users and groups whose
        membership the full plan judges by more than the listing (renamed, staged, leaving,
        or not in Google yet) are read whole; any other address is only looked up."""
        users: set[str] = set()
        groups_: set[str] = set()
        lookups: list[str] = []
        for group in groups:
            self._listed_reach(self.actual.state.groups[group.email], users, groups_, lookups)
        for key in sorted(scope.groups - self.wanted_done):
            entry = self.git.groups.get(key)
            if entry is None:
                continue
            self.wanted_done.add(key)
            held = self._held_group(entry)
            listed_ = set(held.members) if held is not None else set()
            for address, member in entry.members.items():
                if member.type == "USER" and address in self.git.users:
                    if not _settled(self.git.users[address]):
                        users.add(address)
                    elif address not in listed_:
                        lookups.append(address)
                elif address not in listed_ and member.type in ("USER", "GROUP"):
                    lookups.append(address)
        reached_users, reached_groups = self._exists(lookups)
        users |= reached_users
        groups_ |= reached_groups
        # Git's users and groups to add that Google lacks: the full plan creates them (or
        # finds them renamed), so they are read whole.
        for address in lookups:
            if address not in self.actual.state.elsewhere:
                if address in self.git.users:
                    users.add(address)
                elif address in self.git.groups:
                    groups_.add(address)
        return users - scope.users, groups_ - scope.groups

    def _held_group(self, entry: Group) -> Group | None:
        """The group Google holds for a Git group, by any of its addresses."""
        addresses = self.actual.group_addresses
        for address in (entry.email, *(entry.aliases or ()), *entry.previous_emails):
            if address in addresses:
                return self.actual.state.groups[addresses[address]]
        return None

    def _listed_reach(
        self, held: Group, users: set[str], groups: set[str], lookups: list[str]
    ) -> None:
        """What one group's listed members make the plan read (see `_members_reach`)."""
        git, elsewhere = self.git, self.actual.state.elsewhere
        offboarding = self.workspace.offboarding
        leaving_others = bool(offboarding and offboarding.remove_from_groups)
        for address, member in held.members.items():
            if member.type == "USER":
                key = git.user_keys.get(address)
                if key is not None and (key != address or not _settled(git.users[key])):
                    users.add(key)
                elif key is None and leaving_others and member.status is not None:
                    users.add(address)  # marked as ours? it would leave every group
                elif key is not None and member.status is not None:
                    elsewhere.setdefault(address, "USER")
                else:
                    # An account Git knows by none of its addresses may still hold one of
                    # Git's as an alias (the full plan finds it so): looked up.
                    lookups.append(address)
            elif member.type == "GROUP":
                key = git.group_keys.get(address)
                if key is not None and key != address:
                    groups.add(key)
                elif key is not None and member.status is not None:
                    elsewhere.setdefault(address, "GROUP")
                else:
                    lookups.append(address)

    def _groups_of_leavers(self, scope: Scope, managed: Callable[[Group], bool]) -> set[str]:
        """The managed groups of scope accounts offboarding may take out of every group
        (`remove_from_groups`): the full plan removes them from groups no Git change names."""
        found: set[str] = set()
        for email in sorted(scope.users):
            if email in self.member_groups_read:
                continue
            account = self.actual.state.users.get(email)
            user = self.git.users.get(email)
            if account is None or (user is not None and _settled(user)):
                continue
            if not policy_for(self.workspace, user).remove_from_groups:
                continue
            self.member_groups_read.add(email)

            def page(token: str | None, key: str = account.id or email):
                return self.client.service.groups().list(
                    userKey=key,
                    maxResults=GROUPS_PAGE,
                    pageToken=token,
                    fields=f"nextPageToken,groups({GROUP_FIELDS})",
                )

            for resource in list_pages(self.client, page, "groups"):
                group = converted(group_from_api, resource, "groups.list")
                if managed(group) and group.email not in scope.groups:
                    found.add(group.email)
        return found


def _settled(user: User) -> bool:
    """A Git user whose memberships a full plan judges by the listing alone: bound, active,
    and not renamed from another address (a staged, suspended, deleted or unbound user is
    judged by its account)."""
    return user.bound and user.state == "active" and not user.previous_emails


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _refuse(short: list[Group], gone: Iterable[str]) -> NoReturn:
    if short:
        raise short_members(short[0], len(short[0].members))
    raise ShortReadError(
        f"group {', '.join(sorted(gone))}: gone while its members were read; run again"
    )
