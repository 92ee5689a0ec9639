"""Named validation rules over a loaded desired tree. Every rule reports every problem it sees.

A rule is a function `(Index) -> Iterable[Problem]`, registered in RULES under its name.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from reconciler.desired.entra_checks import check_entra
from reconciler.desired.index import Index
from reconciler.desired.licenses import unmatched_rules
from reconciler.desired.load import YAML_SUFFIXES, DesiredTree, Located, Source
from reconciler.desired.models import GroupEntry, UserEntry
from reconciler.desired.restrictions import check_restrictions
from reconciler.files import LINK_REFUSED, first_link, kind_of, outside_problem
from reconciler.google.marker import group_marker_length
from reconciler.group_settings_fields import FIELDS as SETTING_FIELDS
from reconciler.onboarding import TemplateError, load_template, template_problems
from reconciler.problems import Problem, display_path, excerpt
from reconciler.settings import sku_id
from reconciler.state import MAX_ALIASES, canonical_address

# Google's rules for the local part of a user, group or alias address. Every pattern here is
# used with fullmatch: `$` would also match before a final newline ("jo\n@example.com").
_GOOGLE_LOCAL = re.compile(r"[a-z0-9_'\-]+(\.[a-z0-9_'\-]+)*")
_RESERVED_LOCAL = {"abuse", "postmaster"}
# Any deliverable address (external members): a permissive RFC 5322 dot-atom.
_ANY_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~\-]+(\.[a-z0-9!#$%&'*+/=?^_`{|}~\-]+)*")
_DOMAIN = re.compile(
    r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}|xn--[a-z0-9\-]{1,59})"
)
MAX_LOCAL = 64
MAX_PERSON_NAME = 60
MAX_GROUP_NAME = 73
MAX_DESCRIPTION = 4096
MAX_ORG_UNIT_NAME = 100
MAX_HINT_CANDIDATES = 20_000


Rule = Callable[[Index], Iterable[Problem]]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        def named(index: Index) -> Iterator[Problem]:
            for p in fn(index):
                yield Problem(p.path, p.line, p.message, name, p.warning)

        RULES[name] = named
        return fn

    return register


def run_checks(index: Index, only: Iterable[str] | None = None) -> list[Problem]:
    """Run every rule (or the named ones) over a tree's index and return all problems found."""
    names = list(only) if only is not None else list(RULES)
    return [p for name in names for p in RULES[name](index)]


# -- addresses -------------------------------------------------------------------------------


class Address(NamedTuple):
    """An email written somewhere: what it is, whose it is, and where."""

    value: str
    what: str  # e.g. "user email", "alias", "member"
    owner: str  # e.g. "user jo@example.com", "group eng"
    source: Source
    loc: tuple[str | int, ...]
    own: bool  # an address of the entry itself (primary, alias, previous)

    def problem(self, message: str) -> Problem:
        return self.source.problem(f"{self.owner}: {message}", *self.loc)


def _addresses(tree: DesiredTree, own_only: bool = False) -> Iterator[Address]:
    """Every address written in the tree; with own_only, only entries' own addresses."""
    for u in tree.users:
        e, who = u.entry, f"user {u.entry.email}"
        yield Address(e.email, "email", who, u.source, ("email",), True)
        for i, a in enumerate(e.aliases or ()):
            yield Address(a, "alias", who, u.source, ("aliases", i), True)
        for i, a in enumerate(e.previous_emails):
            yield Address(a, "previous email", who, u.source, ("previous_emails", i), True)
        if e.manager and not own_only:
            yield Address(e.manager, "manager", who, u.source, ("manager",), False)
        if e.recovery_email and not own_only:
            yield Address(
                e.recovery_email, "recovery email", who, u.source, ("recovery_email",), False
            )
    for g in tree.groups:
        e, who = g.entry, f"group {g.entry.name}"
        if e.email:
            yield Address(e.email, "email", who, g.source, ("email",), True)
        for i, a in enumerate(e.aliases or ()):
            yield Address(a, "alias", who, g.source, ("aliases", i), True)
        for i, a in enumerate(e.previous_emails):
            yield Address(a, "previous email", who, g.source, ("previous_emails", i), True)
        if own_only:
            continue
        for role in ("owners", "managers", "members"):
            for i, ref in enumerate(getattr(e, role)):
                if "@" in ref:
                    yield Address(ref, role[:-1], who, g.source, (role, i), False)
    if own_only:
        return
    for b in tree.bindings:
        if b.entry.user:
            yield Address(b.entry.user, "user", "binding", b.source, ("user",), False)
    ws = tree.workspace_source
    for i, a in enumerate(tree.workspace.protected):
        yield Address(a, "address", "protected", ws, ("protected", i), False)
    provider = tree.workspace.provider
    if provider.kind == "google" and provider.admin_subject:
        subject = provider.admin_subject
        yield Address(
            subject, "address", "provider.admin_subject", ws, ("provider", "admin_subject"), False
        )


def syntax_error(address: str, google: bool) -> str | None:
    """Why `address` is not a valid email (Google's naming rules when `google`), or None."""
    local, at, domain = address.rpartition("@")
    if not at or not local:
        return "is not an email address"
    if not _DOMAIN.fullmatch(domain):
        return f"has an invalid domain '{domain}'"
    if len(local) > MAX_LOCAL:
        return f"has a name part over {MAX_LOCAL} characters"
    if google:
        if local in _RESERVED_LOCAL:
            return f"uses the reserved name '{local}'"
        if ".." in local or local.startswith(".") or local.endswith("."):
            return "has a leading, trailing or doubled period"
        if not _GOOGLE_LOCAL.fullmatch(local):
            return "may only use letters, digits and - _ ' . before the @"
    elif not _ANY_LOCAL.fullmatch(local):
        return "is not a valid email address"
    return None


@rule("email-syntax")
def check_email_syntax(index: Index) -> Iterator[Problem]:
    verdicts: dict[tuple[str, bool], str | None] = {}  # members repeat the same addresses
    for a in _addresses(index.tree):
        # Addresses in our domains must follow Google's naming rules; outside, any valid one.
        key = (a.value, a.own or index.in_domains(a.value))
        if key not in verdicts:
            verdicts[key] = syntax_error(*key)
        why = verdicts[key]
        if why:
            yield a.problem(f"{a.what} '{a.value}' {why}")


@rule("domains")
def check_domains(index: Index) -> Iterator[Problem]:
    if not index.domains_known:
        return  # workspace.yaml's own problem is reported; no address can be judged
    ws = index.tree.workspace_source
    seen: set[str] = set()
    for i, d in enumerate(index.tree.workspace.directory.domains):
        if not _DOMAIN.fullmatch(d.lower()):
            yield ws.problem(
                f"directory.domains: '{d}' is not a domain name", "directory", "domains", i
            )
        if d.lower() in seen:
            yield ws.problem(f"directory.domains: '{d}' is listed twice", "directory", "domains", i)
        seen.add(d.lower())
    configured = ", ".join(sorted(index.domains))
    for a in _addresses(index.tree, own_only=True):
        domain = a.value.rpartition("@")[2]
        if index.in_domains(a.value) or "@" not in a.value or not _DOMAIN.fullmatch(domain):
            continue  # a malformed address is reported by email-syntax
        hint = _did_you_mean(domain, index.domains)
        yield a.problem(
            f"{a.what} '{a.value}': domain '{domain}' is not in directory.domains "
            f"({configured}){hint}"
        )


# -- uniqueness and collisions ---------------------------------------------------------------


@rule("unique")
def check_unique(index: Index) -> Iterator[Problem]:
    tree = index.tree
    yield from _duplicates(tree.users, lambda e: e.email, "user")
    yield from _duplicates(tree.groups, lambda e: e.name, "group")
    first: dict[str, Located[GroupEntry]] = {}
    for g in tree.groups:
        email = g.entry.email
        if email is None:
            continue
        other = first.setdefault(email, g)
        if other is not g and other.entry.name != g.entry.name:
            yield g.source.problem(
                f"group {g.entry.name}: email '{email}' is also the email of group "
                f"{other.entry.name} ({_at(other.source)})",
                "email",
            )
    yield from _duplicates(tree.org_units, lambda e: e.path, "org unit")
    yield from _duplicates(tree.bindings, lambda e: (e.user or "", e.group or ""), "binding")


def _duplicates(items: list[Located[Any]], key: Callable[[Any], Any], noun: str):
    first: dict[Any, Source] = {}
    for item in items:
        k = key(item.entry)
        if k in first:
            label = " ".join(x for x in k if x) if isinstance(k, tuple) else k
            yield item.source.problem(f"{noun} {label} is defined twice (also at {_at(first[k])})")
        else:
            first[k] = item.source


@rule("collisions")
def check_collisions(index: Index) -> Iterator[Problem]:
    claimed: dict[str, Address] = {}
    for a in _addresses(index.tree, own_only=True):
        holder = claimed.get(a.value)
        if holder is None:
            claimed[a.value] = a
            continue
        if holder.owner == a.owner:
            if a.what == "previous email" and holder.what == "email":
                kind = a.owner.split()[0]
                yield a.problem(f"previous email '{a.value}' is the {kind}'s own email")
            elif holder.what == "email" and a.what == "alias":
                yield a.problem(f"alias '{a.value}' is also the primary email")
            continue
        both = {holder.owner.split()[0], a.owner.split()[0]}
        if both == {"user", "group"} and holder.what == a.what == "email":
            yield a.problem(
                f"email '{a.value}' is both a group's and a user's email "
                f"({holder.owner}, {_at(holder.source)}): Google allows each address once"
            )
        elif holder.what == a.what == "email":
            continue  # a duplicate definition: reported by the "unique" rule
        else:
            yield a.problem(
                f"{a.what} '{a.value}' is already the {holder.what} of {holder.owner} "
                f"({_at(holder.source)})"
            )


@rule("alias-limit")
def check_alias_limit(index: Index) -> Iterator[Problem]:
    """Google holds at most 30 aliases per user and per group (admin help)."""
    entries = [("user", u.entry.email, u) for u in index.tree.users]
    entries += [("group", g.entry.name, g) for g in index.tree.groups]
    for kind, who, located in entries:
        aliases = set(located.entry.aliases or ())
        if len(aliases) > MAX_ALIASES:
            yield located.source.problem(
                f"{kind} {who}: {len(aliases)} aliases; Google allows at most {MAX_ALIASES} "
                f"per {kind}",
                "aliases",
            )


# -- references ------------------------------------------------------------------------------


@rule("references")
def check_references(index: Index) -> Iterator[Problem]:
    tree = index.tree
    broken = tree.broken_keys
    # With a file or entry that could not be read, a reference may name what is in it.
    complete = tree.entries_complete
    for u in tree.users:
        m = u.entry.manager
        if m is None:
            continue
        if m == u.entry.email:
            yield u.source.problem(f"user {u.entry.email}: is their own manager", "manager")
        elif complete and m not in index.users and m not in broken:
            hint = _did_you_mean(m, index.users)
            yield u.source.problem(
                f"user {u.entry.email}: manager '{m}' is not a user in Git{hint}", "manager"
            )
    for g in tree.groups:
        for role in ("owners", "managers", "members"):
            for i, ref in enumerate(getattr(g.entry, role)):
                why = _unknown_member(index, ref)
                if why:
                    yield g.source.problem(f"group {g.entry.name}: {role[:-1]} {why}", role, i)
    if not complete:
        return
    for b in tree.bindings:
        e = b.entry
        if e.group is not None and e.group not in index.groups and e.group not in broken:
            hint = _did_you_mean(e.group, index.groups)
            yield b.source.problem(f"binding: group '{e.group}' is not defined{hint}", "group")
        if e.user is not None and e.user not in index.users and e.user not in broken:
            hint = _did_you_mean(e.user, index.users)
            yield b.source.problem(f"binding: user '{e.user}' is not a user in Git{hint}", "user")


def _unknown_member(index: Index, ref: str) -> str | None:
    if ref in index.tree.broken_keys or not index.tree.entries_complete:
        return None
    if "@" not in ref:
        if ref in index.groups:
            return None
        return f"'{ref}' is not a group in Git{_did_you_mean(ref, index.groups)}"
    if ref in index.users or ref in index.group_emails or not index.in_domains(ref):
        return None  # a user, an exported group, or an external address
    hint = _did_you_mean(ref, [*index.users, *index.group_emails])
    return (
        f"'{ref}' is in a managed domain but is not a user or group in Git{hint}; "
        "add it to Git (state: staged leaves an existing account alone)"
    )


@rule("group-cycles")
def check_group_cycles(index: Index) -> Iterator[Problem]:
    edges: dict[str, list[str]] = {}
    for name, g in index.groups.items():
        targets = []
        for ref in (*g.entry.owners, *g.entry.managers, *g.entry.members):
            target = index.group_ref(ref)
            if target is not None:
                targets.append(target.entry.name)
        edges[name] = targets
    for cycle in _cycles(edges):
        g = index.groups[cycle[0]]
        path = " -> ".join([*cycle, cycle[0]])
        yield g.source.problem(f"group {cycle[0]}: groups contain each other: {path}")


def _cycles(edges: dict[str, list[str]]) -> Iterator[list[str]]:
    """One cycle per strongly connected component that has one (Tarjan, iterative)."""
    counter = 0
    number: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in edges:
        if start in number:
            continue
        work = [(start, iter(edges.get(start, ())))]
        number[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in number:
                    number[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], number[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == number[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                members = set(component)
                if len(component) > 1 or node in edges.get(node, ()):
                    yield _one_cycle(min(component), members, edges)


def _one_cycle(start: str, members: set[str], edges: dict[str, list[str]]) -> list[str]:
    """A concrete cycle through `start` inside one strongly connected component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for node in frontier:
            for child in edges.get(node, ()):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return list(reversed(path))
                if child in members and child not in previous:
                    previous[child] = node
                    nxt.append(child)
        frontier = nxt
    return [start]


# -- names and paths -------------------------------------------------------------------------


def _name_problem(value: str, limit: int) -> str | None:
    if not value.strip():
        return "must not be empty"
    if value != value.strip():
        return "must not start or end with spaces"
    if len(value) > limit:
        return f"is {len(value)} characters; Google allows {limit}"
    if "<" in value or ">" in value:
        return "must not contain < or >"
    return None


@rule("names")
def check_names(index: Index) -> Iterator[Problem]:
    for u in index.tree.users:
        for f in ("given_name", "family_name"):
            why = _name_problem(getattr(u.entry, f), MAX_PERSON_NAME)
            if why:
                yield u.source.problem(f"user {u.entry.email}: {f} {why}", f)
    workspace = index.tree.workspace
    marker = group_marker_length(workspace.ownership.id) if workspace is not None else 0
    room = MAX_DESCRIPTION - marker
    for g in index.tree.groups:
        e = g.entry
        who = f"group {e.name}"
        if "@" in e.name:
            yield g.source.problem(
                f"{who}: name must not contain @ (put addresses in email)", "name"
            )
        shown, f = (
            (e.display_name, "display_name") if e.display_name is not None else (e.name, "name")
        )
        why = _name_problem(shown, MAX_GROUP_NAME)
        if why:
            yield g.source.problem(f"{who}: {f} {why}", f)
        if e.description is not None and len(e.description) > room:
            yield g.source.problem(
                f"{who}: description is {len(e.description)} characters; Google allows "
                f"{MAX_DESCRIPTION}, of which the ownership marker takes {MAX_DESCRIPTION - room}",
                "description",
            )


def org_unit_path_problem(path: str) -> str | None:
    """Why `path` is not a valid org unit path, or None."""
    if not path.startswith("/"):
        return "must start with /"
    if path == "/":
        return None
    if path.endswith("/"):
        return "must not end with /"
    for part in path[1:].split("/"):
        if not part:
            return "has an empty part (//)"
        if part != part.strip():
            return "has a part that starts or ends with spaces"
        if len(part) > MAX_ORG_UNIT_NAME:
            return f"has a part over {MAX_ORG_UNIT_NAME} characters, more than Google allows"
    return None


_E164 = re.compile(r"\+[1-9][0-9]{6,14}")


@rule("phones")
def check_phones(index: Index) -> Iterator[Problem]:
    for u in index.tree.users:
        phone = u.entry.recovery_phone
        if phone is not None and not _E164.fullmatch(phone):
            yield u.source.problem(
                f"user {u.entry.email}: recovery_phone '{phone}' must be in E.164 form "
                '(+ then country code and number, no spaces), e.g. "+15550100100"',
                "recovery_phone",
            )


@rule("org-units")
def check_org_units(index: Index) -> Iterator[Problem]:
    for o in index.tree.org_units:
        why = org_unit_path_problem(o.entry.path)
        if why:
            yield o.source.problem(f"org unit '{o.entry.path}': path {why}", "path")
        elif o.entry.path == "/":
            yield o.source.problem("org unit '/': the root exists already; remove it", "path")
    for u in index.tree.users:
        if u.entry.org_unit is not None:
            why = org_unit_path_problem(u.entry.org_unit)
            if why:
                yield u.source.problem(
                    f"user {u.entry.email}: org_unit '{u.entry.org_unit}' {why}", "org_unit"
                )
    yield from org_unit_spellings(index.tree).problems


@dataclass
class Spellings:
    """How Git spells each org unit: lower-case path -> path. Google's org unit paths ignore
    case (`/engineering` is `/Engineering`), so Git must spell each unit one way."""

    paths: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def of(self, path: str) -> str:
        """Git's spelling of `path` (itself when Git names no such unit)."""
        return self.paths.get(path.lower(), path)


def org_unit_spellings(tree: DesiredTree) -> Spellings:
    """Each unit's spelling, from `org_units` (and every unit above one), then from users'
    org_unit. Two units in `org_units` that differ only by case are an error, and so are two
    users' spellings of a unit `org_units` does not declare; a user's spelling of a declared
    unit is simply that unit."""
    found = Spellings()
    declared: dict[str, tuple[str, Source]] = {}
    for o in tree.org_units:
        path = o.entry.path
        if path == "/" or org_unit_path_problem(path):
            continue
        for prefix in _prefixes(path):
            other = declared.get(prefix.lower())
            if other is None:
                declared[prefix.lower()] = (prefix, o.source)
                found.paths[prefix.lower()] = prefix
            elif other[0] != prefix:
                what = f"org unit '{path}'" + ("" if prefix == path else f": '{prefix}'")
                found.problems.append(
                    o.source.problem(
                        f"{what} differs only by case from org unit '{other[0]}' "
                        f"({_at(other[1])}): Google's org unit paths ignore case, so both name "
                        "one unit; spell it one way",
                        "path",
                    )
                )
                break
    if "org_unit" not in tree.workspace.sync.attributes:
        return found
    named_by: dict[str, tuple[str, Located[UserEntry]]] = {}
    for u in tree.users:
        path = u.entry.org_unit
        if path is None or path == "/" or org_unit_path_problem(path):
            continue
        spelled = ""
        for prefix in _prefixes(path):
            key = prefix.lower()
            mine = spelled + "/" + prefix.rsplit("/", 1)[1]
            if key in declared:
                spelled = declared[key][0]
                continue
            other = named_by.get(key)
            if other is None:
                named_by[key] = (mine, u)
                found.paths[key] = spelled = mine
            elif other[0].rsplit("/", 1)[1] != mine.rsplit("/", 1)[1]:
                what = f"org_unit '{path}'" + ("" if prefix == path else f": '{prefix}'")
                found.problems.append(
                    u.source.problem(
                        f"user {u.entry.email}: {what} differs only by case from "
                        f"'{other[0]}' (user {other[1].entry.email}, {_at(other[1].source)}): "
                        "Google's org unit paths ignore case; spell the unit one way, or "
                        "declare it under org_units",
                        "org_unit",
                    )
                )
                break
            else:
                spelled = other[0]
    return found


def _prefixes(path: str) -> list[str]:
    """`/a/b/c` -> [`/a`, `/a/b`, `/a/b/c`]."""
    parts = path.split("/")[1:]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


# -- workspace -------------------------------------------------------------------------------


@rule("workspace")
def check_workspace(index: Index) -> Iterator[Problem]:
    tree = index.tree
    ws, src = tree.workspace, tree.workspace_source
    yield from _entra_file_problems(tree)
    raw_provider = src.raw.get("provider") if src.raw else None
    if not tree.has_setting("provider.kind"):
        return  # which provider is meant is unknown; workspace.yaml's problem says why
    if ws.provider.kind == "emulator":
        named = raw_provider if isinstance(raw_provider, dict) else {}
        yield from _emulator_file_problems(tree, "seed" in named)
    credentials = ws.provider.credentials if ws.provider.kind == "google" else None
    if credentials and _inside(tree.root, credentials):
        yield src.problem(
            "provider.credentials: the key file lies inside the state directory, where it "
            "may be committed; keep it outside the repository or use keyless delegation",
            "provider",
            "credentials",
        )


def _inside(root: Path, setting: str) -> bool:
    """Whether a path setting (relative to the state directory, or absolute) lies in it."""
    return (root / setting).resolve().is_relative_to(root.resolve())


def _entra_file_problems(tree: DesiredTree) -> Iterator[Problem]:
    """The files `entra.provider` names: the emulator's seed and state as the Google
    emulator's (and not the same files as that emulator's), Graph's certificate outside the
    state directory."""
    entra, src = tree.workspace.entra, tree.workspace_source
    if entra is None or not tree.has_setting("entra"):
        return
    provider = entra.provider
    if provider.kind == "graph":
        if provider.credentials and _inside(tree.root, provider.credentials):
            yield src.problem(
                "entra.provider.credentials: the certificate and key file lies inside the "
                "state directory, where it may be committed; keep it outside the repository, "
                "or leave credentials out for workload identity federation",
                "entra",
                "provider",
                "credentials",
            )
        return
    raw = src.raw.get("entra") if src.raw else None
    raw_provider = raw.get("provider") if isinstance(raw, dict) else None
    named = isinstance(raw_provider, dict) and "seed" in raw_provider
    # The Google emulator's files, where they are known: the Entra emulator's own must differ.
    google = tree.workspace.provider
    taken: list[tuple[str, str]] = []
    if google.kind == "emulator" and tree.has_setting("provider.kind"):
        if tree.has_setting("provider.state"):
            taken.append((google.state, "provider.state"))
        if google.seed and tree.has_setting("provider.seed"):
            taken.append((google.seed, "provider.seed"))
    for path, setting in taken:
        if provider.seed and Path(provider.seed) == Path(path):
            yield src.problem(
                f"entra.provider.seed: {_quoted(provider.seed)} is {setting}, the Google "
                "emulator's: give the Entra tenant a file of its own, such as "
                "entra-tenant.yaml",
                "entra",
                "provider",
                "seed",
            )
            return
    yield from _local_file_problems(
        tree,
        ("entra", "provider"),
        provider.seed,
        provider.state,
        named,
        example=".reconciler/entra.json",
        seed_for_state=provider.seed,
        taken=tuple(taken),
    )


@rule("onboarding")
def check_onboarding(index: Index) -> Iterator[Problem]:
    """workspace.yaml's `onboarding:`: `from` on one of directory.domains, a template that
    reads and has only known placeholders; a user's own `onboarding: {notify: ...}` needs
    the block, and the manager or recovery email it chooses. (Whether a user that Git
    leaves to workspace.yaml's `notify` has a recipient is judged when its account is to be
    created: plan/diff_onboarding.py.)"""
    tree = index.tree
    src = tree.workspace_source
    policy = tree.workspace.onboarding if tree.has_setting("onboarding") else None
    if policy is not None:
        domains = {d.lower() for d in tree.workspace.directory.domains}
        sender = policy.sender
        outside = sender and sender.rpartition("@")[2] not in domains
        if outside and tree.has_setting("directory.domains"):
            yield src.problem(
                f"onboarding.from: '{sender}' is not on a domain of directory.domains "
                f"({', '.join(sorted(domains))}): the message is sent as an account of "
                "the tenant",
                "onboarding",
                "from",
                rule="onboarding",
            )
        if sender is None and any(
            u.entry.onboarding is not None and u.entry.onboarding.notify != "none"
            for u in tree.users
        ):
            yield src.problem(
                "onboarding.from: users choose their own `notify`, so a sender is needed: "
                "set `from:` (an account of the tenant)",
                "onboarding",
                rule="onboarding",
            )
        try:
            text = load_template(tree.root, policy.template)
        except TemplateError as exc:
            yield src.problem(
                f"onboarding.template: {exc}", "onboarding", "template", rule="onboarding"
            )
        else:
            for problem in template_problems(text):
                yield src.problem(
                    f"onboarding.template: {policy.template}, {problem}",
                    "onboarding",
                    "template",
                    rule="onboarding",
                )
    elif tree.has_setting("onboarding"):
        for u in tree.users:
            if u.entry.onboarding is not None:
                yield u.source.problem(
                    "onboarding: a user's own `notify` needs workspace.yaml's `onboarding:` "
                    "block (who sends the message, and as whom)",
                    "onboarding",
                    rule="onboarding",
                )
        return
    for u in tree.users:
        own = u.entry.onboarding
        if own is None:
            continue
        if own.notify == "manager" and u.entry.manager is None:
            yield u.source.problem(
                f"onboarding.notify: manager, but user {u.entry.email} has no `manager:`: "
                "set one, or `onboarding: {notify: none}`",
                "onboarding",
                "notify",
                rule="onboarding",
            )
        if own.notify == "recovery_email" and u.entry.recovery_email is None:
            yield u.source.problem(
                f"onboarding.notify: recovery_email, but user {u.entry.email} has no "
                "`recovery_email:`: set one, or choose `manager` or `none`",
                "onboarding",
                "notify",
                rule="onboarding",
            )


@rule("protected")
def check_protected(index: Index) -> Iterator[Problem]:
    """A protected address must be able to name a user account: a group's never can."""
    tree = index.tree
    if not tree.has_setting("protected"):
        return
    groups: dict[str, Located[GroupEntry]] = {}
    for g in tree.groups:
        for address in (g.entry.email, *(g.entry.aliases or ()), *g.entry.previous_emails):
            if address:
                groups.setdefault(address, g)
    for i, address in enumerate(tree.workspace.protected):
        g = groups.get(address)
        if g is not None:
            yield tree.workspace_source.problem(
                f"protected: '{address}' is an address of group {g.entry.name} "
                f"({_at(g.source)}); protected lists user accounts, so it would protect nothing",
                "protected",
                i,
            )


@rule("licenses")
def check_licenses(index: Index) -> Iterator[Problem]:
    """Users' `license:` names a SKU of `licenses.product` (and needs the block); a rule's
    `group:` names a group in Git; a rule that matches no user is a warning. The block's own
    SKUs are checked as it loads."""
    tree = index.tree
    if not tree.has_setting("licenses"):
        return  # the block's own problem is reported; what a SKU means is not known
    policy = tree.workspace.licenses
    for u in tree.users:
        text = u.entry.license
        if text is None:
            continue
        who = f"user {u.entry.email}: license"
        if policy is None:
            yield u.source.problem(
                f"{who}: workspace.yaml has no `licenses:` block, which says the product and "
                "how everyone else is licensed: add one (e.g. `licenses: {product: "
                "Google-Apps}`), or remove this key",
                "license",
            )
            continue
        try:
            sku_id(text, policy.product)
        except ValueError as exc:
            yield u.source.problem(f"{who}: {exc}", "license")
    if policy is None or not tree.entries_complete:
        return  # with entries unread, a group named may be in them
    # Lower-case path -> a spelling, of every unit Git declares or puts a user in (synced
    # or not: rules match what the entries say), and of every unit above one.
    written = [*org_unit_spellings(tree).paths.values()]
    written += [u.entry.org_unit for u in tree.users if u.entry.org_unit]
    units = {prefix.lower(): prefix for path in written for prefix in _prefixes(path)}
    for i in unmatched_rules(index):
        group = policy.rules[i].when.group
        if group is not None and index.group_ref(group) is None:
            continue  # the error below says why
        # A warning, not an error: a rule may wait for its first user (an import into an
        # empty directory, say). But a typo sends its users on to the rules below it.
        unit = policy.rules[i].when.org_unit
        hint = _did_you_mean(unit, units.values()) if unit and unit.lower() not in units else ""
        yield tree.workspace_source.problem(
            f"licenses.rules.{i}: matches no user in Git{hint}; its users, if any were meant, "
            "get what the rules below it or the default give",
            "licenses",
            "rules",
            i,
            warning=True,
        )
    for i, r in enumerate(policy.rules):
        ref = r.when.group
        if ref is None or index.group_ref(ref) is not None or ref in tree.broken_keys:
            continue
        known = index.group_emails if "@" in ref else index.groups
        yield tree.workspace_source.problem(
            f"licenses.rules.{i}.when.group: '{ref}' is not a group in Git"
            f"{_did_you_mean(ref, known)}",
            "licenses",
            "rules",
            i,
            "when",
            "group",
        )


# -- group settings --------------------------------------------------------------------------

GROUP_SETTINGS_KEY = "group_settings"
# Who may post, of who_can_post_message's values, besides the group's members.
NON_MEMBERS_POST = ("ANYONE_CAN_POST", "ALL_IN_DOMAIN_CAN_POST")


@dataclass(frozen=True, slots=True)
class SettingSaid:
    """A group setting as Git declares it for a group, and where: the group's own
    `settings:` or workspace.yaml's `group_settings:`."""

    key: str
    value: Any
    source: Source
    own: bool

    @property
    def loc(self) -> tuple[str, ...]:
        return ("settings", self.key) if self.own else (GROUP_SETTINGS_KEY, self.key)

    @property
    def line(self) -> int:
        return self.source.line_of(*self.loc)

    @property
    def written(self) -> str:
        value = str(self.value).lower() if isinstance(self.value, bool) else self.value
        return f"{self.key}: {value}"

    @property
    def where(self) -> str:
        place = f"{display_path(self.source.path)}:{self.line}"
        return (
            f"the group's settings, {place}" if self.own else f"workspace.yaml's default, {place}"
        )


def declared_settings(
    tree: DesiredTree, group: Located[GroupEntry] | None
) -> dict[str, SettingSaid]:
    """The settings Git declares for a group (None: workspace.yaml's defaults alone), by YAML
    key in the table's order: the group's own over workspace.yaml's `group_settings:`."""
    said: dict[str, SettingSaid] = {}
    defaults = tree.workspace.group_settings
    if defaults is not None:
        for key, value in defaults.declared().items():
            said[key] = SettingSaid(key, value, tree.workspace_source, own=False)
    own = group.entry.settings if group is not None else None
    if own is not None:
        for key, value in own.declared().items():
            said[key] = SettingSaid(key, value, group.source, own=True)  # type: ignore[union-attr]
    return {f.key: said[f.key] for f in SETTING_FIELDS if f.key in said}


def group_settings_of(tree: DesiredTree, group: Located[GroupEntry]) -> dict[str, Any] | None:
    """A group's settings as Git writes them, by YAML key (None: Git declares none)."""
    said = declared_settings(tree, group)
    return {key: s.value for key, s in said.items()} or None


def _conflicts(said: dict[str, SettingSaid]) -> Iterator[tuple[tuple[SettingSaid, ...], str]]:
    """Settings Google refuses together, or that would undo each other at every apply: the
    settings involved (the first is where the problem is said) and what is wrong, in the
    discovery document's words."""
    post = said.get("who_can_post_message")
    archive = said.get("archive_only")
    moderation = said.get("message_moderation_level")
    archived = archive is not None and archive.value is True
    if post is not None and post.value == "NONE_CAN_POST" and not archived:
        involved = (post, archive) if archive is not None else (post,)
        now = f"{archive.written} ({archive.where})" if archive else "archive_only is not given"
        yield (
            involved,
            f'{post.written} needs `archive_only: true` ({now}); Google: "When archiveOnly is '
            'false, updating whoCanPostMessage to NONE_CAN_POST, results in an error"',
        )
    if archived and post is not None and post.value != "NONE_CAN_POST":
        yield (
            (archive, post),  # type: ignore[arg-type]
            f'archive_only: true with {post.written} ({post.where}); Google: "If true, the '
            'whoCanPostMessage property is set to NONE_CAN_POST": write '
            "`who_can_post_message: NONE_CAN_POST`, or leave it out",
        )
    if (
        moderation is not None
        and moderation.value == "MODERATE_NON_MEMBERS"
        and post is not None
        and post.value not in NON_MEMBERS_POST
    ):
        yield (
            (moderation, post),
            f"{moderation.written} moderates the messages of non-members, but {post.written} "
            f"({post.where}) lets no non-member post (only {' or '.join(NON_MEMBERS_POST)} do): "
            "choose another moderation level, or let non-members post",
        )


@rule("group-settings")
def check_group_settings(index: Index) -> Iterator[Problem]:
    """Only exported groups have settings; settings Google refuses together (or that it would
    change back) are errors: NONE_CAN_POST without archive_only: true, archive_only: true with
    another post permission, MODERATE_NON_MEMBERS where non-members cannot post."""
    tree = index.tree
    for g in tree.groups:
        if g.entry.settings is not None and not g.entry.email:
            yield g.source.problem(
                f"group {g.entry.name}: settings: a user group (no `email`) is no Google group "
                "and has no settings: give it an email to export it, or remove `settings:`",
                "settings",
            )
    if not tree.has_setting(GROUP_SETTINGS_KEY):
        return  # workspace.yaml's problem is reported; what a group inherits is not known
    ws = tree.workspace_source
    for involved, message in _conflicts(declared_settings(tree, None)):
        yield ws.problem(f"{GROUP_SETTINGS_KEY}: {message}", *involved[0].loc)
    for g in tree.groups:
        if g.entry.settings is None or not g.entry.email:
            continue
        for involved, message in _conflicts(declared_settings(tree, g)):
            own = [s for s in involved if s.own]
            if own:  # else workspace.yaml's defaults alone, said above
                where = own[0]
                yield g.source.problem(f"group {g.entry.name}: settings: {message}", *where.loc)


@rule("external-members")
def check_external_members(index: Index) -> Iterator[Problem]:
    """A group whose `allow_external_members` is false (its own or workspace.yaml's) lists no
    address outside the organization: directly, or through a user group nested in it (its
    people become the group's own members in Google)."""
    tree = index.tree
    if not tree.has_setting(GROUP_SETTINGS_KEY) or not index.domains_known:
        return

    def external(ref: str) -> bool:
        return (
            "@" in ref
            and not index.in_domains(ref)
            and ref not in index.users
            and index.group_ref(ref) is None
        )

    for g in tree.groups:
        if not g.entry.email:
            continue
        allow = declared_settings(tree, g).get("allow_external_members")
        if allow is None or allow.value is not False:
            continue
        pending: list[tuple[Located[GroupEntry], tuple[str, ...]]] = [(g, ())]
        seen = {g.entry.name}
        while pending:
            at, via = pending.pop(0)
            for role in ("owners", "managers", "members"):
                for i, ref in enumerate(getattr(at.entry, role)):
                    if external(ref):
                        through = f" (through user group {' > '.join(via)})" if via else ""
                        yield at.source.problem(
                            f"group {g.entry.name}: {role[:-1]} '{ref}'{through} is outside the "
                            f"organization, but allow_external_members is false ({allow.where}): "
                            "Google refuses external members; remove it, or set "
                            "`allow_external_members: true` in the group's settings",
                            role,
                            i,
                        )
                        continue
                    inner = index.group_ref(ref)
                    if inner is None or inner.entry.email or inner.entry.name in seen:
                        continue  # a user, or an exported group: a member of its own
                    seen.add(inner.entry.name)
                    pending.append((inner, (*via, inner.entry.name)))


def _emulator_file_problems(tree: DesiredTree, seed_named: bool) -> Iterator[Problem]:
    """The emulator reads its seed and writes its state only inside the state directory, in
    regular files reached without a symbolic link: a seed elsewhere would be read (and
    quoted in errors), a state elsewhere, or behind a link, written over. One problem per
    setting, the first found."""
    provider = tree.workspace.provider
    yield from _local_file_problems(
        tree,
        ("provider",),
        provider.seed if tree.has_setting("provider.seed") else None,
        provider.state if tree.has_setting("provider.state") else None,
        seed_named,
        example=".reconciler/emulator.json",
        seed_for_state=provider.seed,
    )


def _local_file_problems(
    tree: DesiredTree,
    loc: tuple[str, ...],
    seed: str | None,
    state: str | None,
    seed_named: bool,
    example: str,
    seed_for_state: str | None,
    taken: tuple[tuple[str, str], ...] = (),
) -> Iterator[Problem]:
    """An emulator's seed and state (None: not judged) under the settings at `loc`: inside
    the state directory, reached without a symbolic link, a seed that is a regular file (and
    exists when named), a state that is no desired-state file, not the seed, and none of the
    `taken` files (path, the setting that names it)."""
    root, src = tree.root, tree.workspace_source
    name = ".".join(loc)
    if seed:
        why = (
            _outside(seed, "the emulator reads only files inside it")
            or _linked(root, seed)
            or _seed_file_problem(root, seed, seed_named)
        )
        if why:
            yield src.problem(f"{name}.seed: {why}", *loc, "seed")
    if state:
        why = (
            _outside(state, "local state is written only inside it")
            or _state_name_problem(state, seed_for_state, example)
            or _taken(state, taken, example)
            or _linked(root, state)
        )
        if why:
            yield src.problem(f"{name}.state: {why}", *loc, "state")


def _taken(state: str, taken: tuple[tuple[str, str], ...], example: str) -> str | None:
    """A state file another setting names already: two emulators would write over each
    other's tenant."""
    for path, setting in taken:
        if Path(state) == Path(path):
            return f"{_quoted(state)} is {setting} too: name another file, such as {example}"
    return None


def _outside(setting: str, inside_only: str) -> str | None:
    """A path setting that names no place inside the state directory."""
    outside = outside_problem(setting)
    return f"{_quoted(setting)} {outside}: {inside_only}" if outside else None


def _linked(root: Path, setting: str) -> str | None:
    """A path setting reached through a symbolic link."""
    link = first_link(root, setting)
    return f"{_shown(link, root)} is {LINK_REFUSED}" if link is not None else None


def _seed_file_problem(root: Path, seed: str, named: bool) -> str | None:
    """A seed inside the directory that is no regular file, or that was named and is missing."""
    path = root / seed
    if path.exists() and not path.is_file():
        return f"{_quoted(seed)} is not a regular file ({kind_of(os.lstat(path).st_mode)})"
    if named and not path.exists():
        return f"{_quoted(seed)} does not exist"
    return None


def _state_name_problem(state: str, seed: str | None, example: str) -> str | None:
    """A state file the loader would read as desired state, or that is the seed."""
    if state.lower().endswith(YAML_SUFFIXES) and not any(
        part.startswith(".") for part in Path(state).parts
    ):
        return (
            f"{_quoted(state)} would be read as desired state: name a JSON file, such as {example}"
        )
    if seed and Path(state) == Path(seed):
        return (
            f"{_quoted(state)} is the seed, which the state would overwrite: name another "
            f"file, such as {example}"
        )
    return None


def _shown(path: Path, root: Path) -> str:
    return _quoted(path.relative_to(root).as_posix())


def _quoted(setting: str) -> str:
    """A path setting, quoted: long enough for any honest path, escaped."""
    return f"'{excerpt(setting, 200)}'"


# -- Entra -----------------------------------------------------------------------------------

# `entra: true` needs workspace.yaml's `entra:`; exported names are unique and findable by
# Graph's displayName filter (desired/entra_checks.py).
rule("entra")(check_entra)

# -- restrictions ----------------------------------------------------------------------------

# The groups and users each file may define, by path (workspace.yaml's `restrictions:`,
# desired/restrictions.py).
rule("restrictions")(check_restrictions)


# -- warnings --------------------------------------------------------------------------------


@rule("unbound-members")
def check_unbound_members(index: Index) -> Iterator[Problem]:
    bound = index.bound
    for g in index.tree.groups:
        if not g.entry.email:
            continue
        for role in ("owners", "managers", "members"):
            for i, ref in enumerate(getattr(g.entry, role)):
                if ref in index.users and ref not in bound:
                    yield Problem(
                        g.source.path,
                        g.source.line_of(role, i),
                        f"group {g.entry.name}: {role[:-1]} '{ref}' has no binding, so no "
                        "Google account, and is left out of the Google group",
                        warning=True,
                    )


@rule("gmail-spellings")
def check_gmail_spellings(index: Index) -> Iterator[Problem]:
    """Two spellings of one consumer Gmail account in one group (John.Doe@gmail.com and
    johndoe+news@googlemail.com). A warning, not an error: Google keeps one membership and
    the plan makes one (the higher role wins, as for an address listed twice), so nothing
    goes wrong in Google; but it is almost surely a slip, and one entry does nothing."""
    for g in index.tree.groups:
        first: dict[str, tuple[str, str, int]] = {}
        for role in ("owners", "managers", "members"):
            for i, ref in enumerate(getattr(g.entry, role)):
                if "@" not in ref:
                    continue
                seen = first.setdefault(canonical_address(ref), (ref, role, i))
                if seen[0] == ref:
                    continue  # the first, or the very same address again
                yield g.source.problem(
                    f"group {g.entry.name}: {role[:-1]} '{ref}' is the same Gmail account as "
                    f"'{seen[0]}' (line {g.source.line_of(seen[1], seen[2])}); Google keeps one "
                    "membership, under the account's own spelling: list it once",
                    role,
                    i,
                    warning=True,
                )


def _did_you_mean(value: str, known: Iterable[str]) -> str:
    """A close match for a misspelt name or address, as a hint; empty when none is close."""
    if "@" in value:
        return _did_you_mean_email(value, known)
    candidates = list(known)
    if len(candidates) > MAX_HINT_CANDIDATES:
        return ""  # fuzzy matching is quadratic; a large directory gets no hint
    close = difflib.get_close_matches(value, candidates, n=1, cutoff=0.8)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _did_you_mean_email(value: str, known: Iterable[str]) -> str:
    # Compare the part that differs: a shared domain makes any two addresses look alike.
    local, _, domain = value.rpartition("@")
    candidates = [k for k in known if "@" in k]
    if len(candidates) > MAX_HINT_CANDIDATES:
        return ""
    same_domain = {k.rpartition("@")[0]: k for k in candidates if k.endswith("@" + domain)}
    close = difflib.get_close_matches(local, list(same_domain), n=1, cutoff=0.8)
    if close:
        return f" (did you mean '{same_domain[close[0]]}'?)"
    same_local = {k.rpartition("@")[2]: k for k in candidates if k.startswith(local + "@")}
    close = difflib.get_close_matches(domain, list(same_local), n=1, cutoff=0.8)
    return f" (did you mean '{same_local[close[0]]}'?)" if close else ""


def _at(source: Source) -> str:
    return f"{display_path(source.path)}:{source.line}"
