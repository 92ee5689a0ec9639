"""`reconciler import`: bring accounts (and groups) from Google into Git.

`new` adds what Git lacks, `updates` rewrites the managed attributes of entries Git has,
`all` does both. Existing files are edited in place (only the edited values change); new
entries, with the bindings that keep imported users bound, go to one target file.

Attributes Google owns (`sync.import_attributes`): `updates` then rewrites exactly those, and
the accounts Git lacks are imported only when `import.new_users` is `pr` (otherwise listed in
the report); `summary_markdown` says what changed, per user, for the import's pull request.

Group settings: when Git declares any (workspace.yaml's `group_settings:`, a group's
`settings:`), an imported group's `settings:` holds Google's value of each key Git declares
anywhere, where it differs from workspace.yaml's default; keys Git declares nowhere are not
imported (Git does not manage them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from reconciler.desired.edit import FileEdit
from reconciler.desired.index import bound_emails
from reconciler.desired.load import DesiredTree, Located, not_loaded
from reconciler.desired.models import GroupEntry
from reconciler.google.fetch import Actual
from reconciler.group_settings_fields import FIELDS as SETTING_FIELDS
from reconciler.problems import ReconcilerError
from reconciler.state import USER_ATTRIBUTES, Group, User

Mode = Literal["all", "new", "updates"]


@dataclass
class ImportOptions:
    mode: Mode = "all"
    only_users: set[str] = field(default_factory=set)  # empty: every account
    groups: bool = False
    include_suspended: bool = False
    target: str = "imported.yaml"


@dataclass(frozen=True)
class AttributeChange:
    """One attribute of a Git user rewritten from Google's value."""

    name: str
    old: Any
    new: Any


@dataclass
class ImportReport:
    new_users: list[str] = field(default_factory=list)
    # Each updated user's rewritten attributes (email -> changes, in the file's order).
    changes: dict[str, list[AttributeChange]] = field(default_factory=dict)
    # Accounts Git lacks, left out because `import.new_users` is `report`.
    not_imported: list[str] = field(default_factory=list)
    updated_users: list[str] = field(default_factory=list)
    new_groups: list[str] = field(default_factory=list)
    updated_groups: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def check_target(tree: DesiredTree, target: str) -> None:
    """ReconcilerError unless `target` (--file) is a file the state directory loads: entries
    written anywhere else would be reported imported, yet never be planned."""
    why = not_loaded(tree.root, tree.workspace, Path(target))
    if why is not None:
        raise ReconcilerError(
            f"import --file: '{target}' {why}, which the state directory does not load as "
            "desired state: imported entries there would never be planned. Give a .yaml file "
            "in the directory, e.g. imported.yaml; nothing was imported."
        )


def plan_import(
    tree: DesiredTree, actual: Actual, options: ImportOptions
) -> tuple[dict[Path, FileEdit], ImportReport]:
    """The file edits an import makes (nothing written yet) and what they amount to."""
    check_target(tree, options.target)
    return _Importer(tree, actual, options).run()


def write_edits(
    edits: dict[Path, FileEdit], report: ImportReport, check: Callable[[], object] | None = None
) -> None:
    """Write the files that changed; none at all if one of the edits cannot be made.

    `check` (e.g. loading the directory) runs on the written files; if it raises, every
    file is put back as it was and the exception propagates: an import never leaves an
    invalid directory behind.
    """
    texts = {path: edit.text() for path, edit in edits.items()}
    written: list[tuple[Path, FileEdit]] = []
    try:
        for path, edit in edits.items():
            text = texts[path]
            if text != edit.original:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8", newline="")  # line endings as they are
                written.append((path, edit))
        if check is not None:
            check()
    except BaseException:
        for path, edit in written:
            if edit.created:
                path.unlink(missing_ok=True)
            else:
                path.write_text(edit.original, encoding="utf-8", newline="")
        raise
    report.files.extend(path for path, _ in written)


class _Importer:
    def __init__(self, tree: DesiredTree, actual: Actual, options: ImportOptions):
        self.tree = tree
        self.actual = actual
        self.options = options
        self.ws = tree.workspace
        self.domains = {d.lower() for d in self.ws.directory.domains}
        imported = set(self.ws.sync.import_attributes)
        # The attributes Git holds: those it writes to Google, and those Google owns.
        self.synced = set(self.ws.sync.attributes) | imported
        # The attributes an update rewrites: with attributes Google owns, `--mode updates`
        # (the scheduled import) rewrites those only.
        self.updated = imported if imported and options.mode == "updates" else self.synced
        # `--mode updates` imports the accounts Git lacks too when `import.new_users: pr`.
        self.adds = options.mode in ("new", "all") or (
            options.mode == "updates" and self.ws.import_.new_users == "pr"
        )
        self.report = ImportReport()
        self.edits: dict[Path, FileEdit] = {}
        self.target = tree.root / options.target
        # Every address Git already uses for a user -> the entry's email.
        self.git_users: dict[str, str] = {}
        for u in tree.users:
            for address in (u.entry.email, *(u.entry.aliases or ()), *u.entry.previous_emails):
                self.git_users.setdefault(address, u.entry.email)
        # Every address Google has for a user -> its primary email.
        self.primaries = {a: u.email for u in actual.state.users.values() for a in u.aliases or ()}
        self.git_groups: dict[str, str] = {}
        for g in tree.groups:
            if g.entry.email:
                for address in (g.entry.email, *(g.entry.aliases or ()), *g.entry.previous_emails):
                    self.git_groups.setdefault(address, g.entry.name)
        self.known_groups = set(self.git_groups)  # addresses of the groups Git already has
        self.group_emails = {g.entry.name: g.entry.email for g in tree.groups if g.entry.email}
        self.group_names = {g.entry.name for g in tree.groups}
        self.new_members: dict[str, dict[str, list[str]]] = {}  # updated group -> role lists
        # The group settings Git manages: workspace.yaml's defaults, and every key a group
        # declares (in the table's order).
        self.default_settings = (
            self.ws.group_settings.declared() if self.ws.group_settings is not None else {}
        )
        declared = set(self.default_settings)
        for g in tree.groups:
            if g.entry.settings is not None:
                declared |= set(g.entry.settings.declared())
        self.setting_keys = [f.key for f in SETTING_FIELDS if f.key in declared]
        self.nameable: dict[str, bool] = {}

    def run(self) -> tuple[dict[Path, FileEdit], ImportReport]:
        accounts = self._accounts()
        incoming = {u.email for u in accounts if self._git_email(u) is None}
        if self.adds:
            # Known to Git after this import: references to them are valid.
            self.known = set(self.git_users) | incoming
        else:
            self.known = set(self.git_users)
        for user in accounts:
            git_email = self._git_email(user)
            if git_email is None and self.adds:
                self._add_user(user)
            elif git_email is None and self.options.mode == "updates":
                self.report.not_imported.append(user.email)
            elif git_email is not None and self.options.mode in ("updates", "all"):
                self._update_user(git_email, user)
        if self.options.groups:
            for group in sorted(self.actual.state.groups.values(), key=lambda g: g.email):
                self._import_group(group)
            self._keep_bound()
        return self.edits, self.report

    # -- users -----------------------------------------------------------------------------

    def _accounts(self) -> list[User]:
        chosen = []
        ours = self.ws.ownership.id
        unmatched = set(self.options.only_users)
        for user in sorted(self.actual.state.users.values(), key=lambda u: u.email):
            # An account goes by its addresses in Google, or by the one Git gives it.
            names = {user.email, *(user.aliases or ()), self._git_email(user)}
            if self.options.only_users and not names & self.options.only_users:
                continue
            unmatched -= names
            if user.owner is not None and user.owner != ours:
                self.report.notes.append(f"{user.email}: managed by '{user.owner}'; not imported")
                continue
            if user.email.rpartition("@")[2] not in self.domains:
                self.report.notes.append(f"{user.email}: not in directory.domains; not imported")
                continue
            new = self._git_email(user) is None
            if user.suspended and new and not self.options.include_suspended:
                self.report.notes.append(f"{user.email}: suspended; not imported")
                continue
            chosen.append(user)
        for name in sorted(unmatched):
            self.report.notes.append(f"--user {name}: no account in Google has that address")
        return chosen

    def _git_email(self, user: User) -> str | None:
        for address in (user.email, *(user.aliases or ())):
            if address in self.git_users:
                return self.git_users[address]
        return None

    def _values(self, user: User) -> dict[str, Any]:
        """The attributes Git would hold for this account (synced ones, non-empty)."""
        values: dict[str, Any] = {}
        for name in USER_ATTRIBUTES:
            if name not in self.synced and name not in ("given_name", "family_name"):
                continue
            value = getattr(user, name)
            if name == "org_unit" and value == "/":
                value = None
            if name == "manager" and value:
                value = self.primaries.get(value, value)  # Google keeps the address as typed
            if name == "manager" and value and value not in self.known:
                self.report.notes.append(
                    f"{user.email}: manager {value} is not in Git; manager left out"
                )
                value = None
            if name == "manager" and value:
                value = self.git_users.get(value, value)  # Git names users by primary email
            if value not in (None, ""):
                values[name] = value
        return values

    def _aliases(
        self, who: str, found: User | Group, email: str, previous: Iterable[str] = ()
    ) -> list[str] | None:
        """The aliases Git writes for an account or group it calls `email`; None: leave them
        unmanaged (Git cannot name addresses outside directory.domains).

        One that Git calls by an alias is renamed to it, and Google then holds the old
        primary as an alias. Addresses of earlier renames stay in previous_emails.
        """
        addresses = {*(found.aliases or ()), found.email} - {email} - set(previous)
        outside = sorted(a for a in addresses if a.rpartition("@")[2] not in self.domains)
        if outside:
            self.report.notes.append(
                f"{who}: alias {outside[0]} is not in directory.domains; aliases not imported"
            )
            return None
        return sorted(addresses)

    def _add_user(self, user: User) -> None:
        data: dict[str, Any] = {"email": user.email, **self._values(user)}
        aliases = self._aliases(user.email, user, user.email) if "aliases" in self.synced else None
        if aliases:
            data["aliases"] = aliases
        if user.suspended:
            data["state"] = "suspended"
        edit = self._edit(self.target)
        edit.append_entry("users", data)
        # Suspended accounts are bound too: they keep their account (suspended) and their
        # group memberships, exactly as Google has them.
        edit.append_entry("bindings", {"user": user.email})
        self.report.new_users.append(user.email)

    def _update_user(self, git_email: str, user: User) -> None:
        located = next(u for u in self.tree.users if u.entry.email == git_email)
        edit = self._edit(located.source.path)
        node = next(
            (
                n
                for n in edit.entries("users")
                if (edit.scalar(n, "email") or "").lower() == git_email
            ),
            None,
        )
        if node is None or node.flow_style:
            self.report.notes.append(f"{git_email}: written in flow style; not updated")
            return
        entry = located.entry
        wanted = self._values(user)
        changed = False
        for name in USER_ATTRIBUTES:
            if name not in self.updated:
                continue
            have = getattr(entry, name)
            want = wanted.get(name)
            if name == "manager" and want is None and have is not None and user.manager:
                continue  # Google's manager is not in Git: keep Git's
            if name == "org_unit" and (have or "/").lower() == (user.org_unit or "/").lower():
                continue  # "/" and no org unit are the same place; paths ignore case
            if (have or None) != (want or None):
                edit.set_field(node, name, want)
                self._changed(git_email, name, have, want)
                changed = True
        want_aliases = (
            self._aliases(git_email, user, git_email, entry.previous_emails)
            if "aliases" in self.updated
            else None
        )
        if want_aliases is not None:
            have_aliases = sorted(entry.aliases) if entry.aliases is not None else None
            if have_aliases != want_aliases and (have_aliases is not None or want_aliases):
                edit.set_field(node, "aliases", want_aliases)
                self._changed(git_email, "aliases", have_aliases, want_aliases)
                changed = True
        if changed:
            self.report.updated_users.append(git_email)

    def _changed(self, email: str, name: str, old: Any, new: Any) -> None:
        self.report.changes.setdefault(email, []).append(AttributeChange(name, old, new))

    # -- groups ----------------------------------------------------------------------------

    def _import_group(self, group: Group) -> None:
        existing = next(
            (
                self.git_groups[a]
                for a in (group.email, *(group.aliases or ()))
                if a in self.git_groups
            ),
            None,
        )
        if existing is None and group.email.rpartition("@")[2] not in self.domains:
            self.report.notes.append(f"group {group.email}: not in directory.domains; not imported")
            return
        if group.owner not in (None, self.ws.ownership.id):
            # Another repository's group: Git here could never manage it (plans leave it alone).
            self.report.notes.append(
                f"group {group.email}: managed by '{group.owner}'; not imported"
            )
            return
        if existing is None and self.options.mode in ("new", "all"):
            self._add_group(group)
        elif existing is not None and self.options.mode in ("updates", "all"):
            self._update_group(existing, group)

    def _settings(self, group: Group, own: dict[str, Any]) -> dict[str, Any] | None:
        """A group's own `settings:` as Google has them: of each key Git manages, Google's
        value where it differs from workspace.yaml's default (a key Google did not answer
        keeps Git's own value); None when none were read, or Git manages none."""
        read = group.settings
        if read is None or not self.setting_keys:
            return None
        want: dict[str, Any] = {}
        for key in self.setting_keys:
            if key not in read:
                if key in own:
                    want[key] = own[key]
            elif key not in self.default_settings or read[key] != self.default_settings[key]:
                want[key] = read[key]
        return want

    def _group_data(
        self,
        group: Group,
        name: str,
        email: str,
        previous: Iterable[str] = (),
        settings: dict[str, Any] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Fields of a group entry Git calls `email` (aliases absent: leave them unmanaged),
        and whether members had to be left out. With `settings` (the group's own, as they
        will be written) saying external members are not allowed, Google's external members
        are left out too: Google keeps the ones it had before the setting was turned off,
        which Git could not list (see the external-members rule)."""
        effective = {**self.default_settings, **(settings or {})}
        no_externals = effective.get("allow_external_members") is False
        roles: dict[str, list[str]] = {"OWNER": [], "MANAGER": [], "MEMBER": []}
        left_out = False
        for member in group.members.values():
            ref = self._member_ref(member.email, member.type)
            if ref is not None and no_externals and self._external(ref):
                self.report.notes.append(
                    f"group {group.email}: external member {member.email} while "
                    "allow_external_members is false; left out (Google keeps it)"
                )
                ref = None
            if ref is None:
                left_out = True
                continue
            roles[member.role].append(ref)
        data: dict[str, Any] = {"name": name, "email": group.email}
        if group.name and group.name != name:
            data["display_name"] = group.name
        if group.description:
            data["description"] = group.description
        aliases = self._aliases(f"group {group.email}", group, email, previous)
        if aliases is not None:
            data["aliases"] = aliases
        for role, key in (("OWNER", "owners"), ("MANAGER", "managers"), ("MEMBER", "members")):
            if roles[role]:
                data[key] = sorted(roles[role])
        if left_out:
            data["membership"] = "additive"
        if settings:
            data["settings"] = settings
        return data, left_out

    def _external(self, ref: str) -> bool:
        return "@" in ref and ref.rpartition("@")[2] not in self.domains

    def _member_ref(
        self, email: str, member_type: str, seen: frozenset[str] = frozenset()
    ) -> str | None:
        if member_type == "CUSTOMER":
            return None
        in_domains = email.rpartition("@")[2] in self.domains
        if member_type == "GROUP":
            if email in self.known_groups or (
                self.adds and in_domains and self._nameable(email, seen)
            ):
                return email
            return None
        if not in_domains or email in self.known:
            return self.git_users.get(email, email) if in_domains else email
        return None  # a user Git does not have (and is not importing)

    def _nameable(self, email: str, seen: frozenset[str]) -> bool:
        """Whether the imported group would name anyone: one that names no one is not
        exported, so as a member of another group it would be removed from it."""
        if not seen and email in self.nameable:
            return self.nameable[email]
        group = self.actual.state.groups.get(email)
        found = (
            group is not None
            and email not in seen
            and any(
                self._member_ref(m.email, m.type, seen | {email}) is not None
                for m in group.members.values()
            )
        )
        if not seen:
            self.nameable[email] = found
        return found

    def _add_group(self, group: Group) -> None:
        name = self._free_name(group.email.partition("@")[0])
        settings = self._settings(group, {})
        data, left_out = self._group_data(group, name, group.email, settings=settings)
        if not data.get("aliases"):
            data.pop("aliases", None)
        if left_out:
            self.report.notes.append(
                f"group {group.email}: some members are not in Git; imported as additive"
            )
        self._edit(self.target).append_entry("groups", data)
        self.group_names.add(name)
        self.git_groups[group.email] = name
        self.report.new_groups.append(group.email)

    def _dated_within(self, name: str) -> bool:
        """Whether the Git group `name`, or a group kept in Git only that is flattened into
        it (however deep), has a dated member entry, ended or not."""
        holders = {d.holder for d in self.tree.dated if d.kind != "binding"}
        groups = {g.entry.name: g.entry for g in self.tree.groups}
        seen: set[str] = set()
        pending = [name]
        while pending:
            current = pending.pop()
            if current in seen or current not in groups:
                continue
            seen.add(current)
            if current in holders:
                return True
            for ref in _member_refs(groups[current]):
                child = groups.get(self.git_groups.get(ref, ref))
                if child is not None and not child.email:
                    pending.append(child.name)
        return False

    def _update_group(self, name: str, group: Group) -> None:
        located = next(g for g in self.tree.groups if g.entry.name == name)
        edit = self._edit(located.source.path)
        node = next((n for n in edit.entries("groups") if edit.scalar(n, "name") == name), None)
        if node is None or node.flow_style:
            self.report.notes.append(f"group {name}: written in flow style; not updated")
            return
        entry = located.entry
        own = entry.settings.declared() if entry.settings is not None else {}
        settings = self._settings(group, own)
        data, left_out = self._group_data(
            group, name, entry.email or "", entry.previous_emails, settings
        )
        # Git may name a member group by its name: keep Git's spelling of every member.
        spelling = {self.group_emails.get(ref, ref): ref for ref in _member_refs(entry)}
        for key in ("owners", "managers", "members"):
            if key in data:
                data[key] = sorted(spelling.get(ref, ref) for ref in data[key])
        changed = False
        keys = ["display_name", "description", "aliases", "owners", "managers", "members"]
        dated = self._dated_within(name)
        if dated:
            # Rewritten from Google, a dated entry would lose its end (access made lasting),
            # or one that ended would come back.
            keys = keys[:3]
            self.report.notes.append(
                f"group {group.email}: has dated members (until:); its members are not "
                "imported, edit them in Git"
            )
        for key in keys:
            have = getattr(entry, key)
            have = sorted(have) if isinstance(have, list) else have
            want = data.get(key)
            if key == "display_name" and want is None and have is None:
                continue
            if key == "aliases" and key not in data:
                continue  # aliases outside directory.domains: Git leaves them unmanaged
            if (have or None) != (want or None):
                edit.set_field(node, key, want)
                changed = True
        if settings is not None and settings != own:
            edit.set_map(node, "settings", settings)
            changed = True
        if dated:
            if changed:
                self.report.updated_groups.append(group.email)
            return
        self.new_members[name] = {k: data.get(k, []) for k in ("owners", "managers", "members")}
        if left_out and entry.membership != "additive":
            # Members Git cannot name would be removed from an authoritative group.
            edit.set_field(node, "membership", "additive")
            self.report.notes.append(
                f"group {group.email}: some members are not in Git; membership set to additive"
            )
            changed = True
        if changed:
            self.report.updated_groups.append(group.email)

    def _keep_bound(self) -> None:
        """Users Git bound before the import stay bound. Bindings flow through groups, so a
        membership Google lacks must not take an account away (or stop one being created)."""
        if not self.new_members:
            return
        groups = [
            Located(g.entry.model_copy(update=self.new_members[g.entry.name]), g.source)
            if g.entry.name in self.new_members
            else g
            for g in self.tree.groups
        ]
        lost = bound_emails(self.tree) - bound_emails(replace(self.tree, groups=groups))
        for email in sorted(lost):
            self._edit(self.target).append_entry("bindings", {"user": email})
            self.report.notes.append(
                f"{email}: no longer bound through a group Google changed; bound directly in "
                f"{self.options.target}"
            )

    def _free_name(self, base: str) -> str:
        name, n = base, 2
        while name in self.group_names:
            name, n = f"{base}-{n}", n + 1
        return name

    def _edit(self, path: Path) -> FileEdit:
        if path not in self.edits:
            self.edits[path] = FileEdit(path)
        return self.edits[path]


def _member_refs(entry: GroupEntry) -> list[str]:
    return [*entry.owners, *entry.managers, *entry.members]


# -- the summary of a scheduled import (the pull request's body) -------------------------------


def summary_markdown(report: ImportReport, imported: Iterable[str], new_users: str) -> str:
    """What an import changed, as Markdown: per user, each attribute Google changed (old ->
    new); the accounts imported as new entries, or (`import.new_users: report`) those left
    out. Says "No changes" when the YAML is as Google has it."""
    owned = ", ".join(imported) or "none (sync.import_attributes is empty)"
    lines = ["## Import from Google", "", f"Attributes Google owns: {owned}.", ""]
    if not report.changes and not report.new_users:
        lines += ["No changes: Git holds Google's values.", ""]
    if report.changes:
        lines += [f"### Changed in Google ({_count(report.changes, 'user')})", ""]
        for email in sorted(report.changes):
            lines.append(f"- **{_cell(email)}**")
            for change in report.changes[email]:
                old, new = _value(change.old), _value(change.new)
                lines.append(f"  - {change.name}: {old} \u2192 {new}")
        lines.append("")
    if report.new_users:
        lines += [f"### New in Google, imported ({_count(report.new_users, 'account')})", ""]
        lines += [f"- {_cell(email)}" for email in sorted(report.new_users)]
        lines.append("")
    if report.not_imported and new_users == "report":
        lines += [
            f"### In Google, not in Git ({_count(report.not_imported, 'account')})",
            "",
            "Not imported: set `import.new_users: pr` in workspace.yaml to bring them in.",
            "",
        ]
        lines += [f"- {_cell(email)}" for email in sorted(report.not_imported)]
        lines.append("")
    if report.notes:
        lines += ["### Notes", ""]
        lines += [f"- {_cell(note)}" for note in report.notes]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _count(items: Any, noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _cell(text: str) -> str:
    """Text as Markdown shows it literally, on one line: no markup, links, HTML or @mention
    from Google's values (anyone who can edit a profile writes them), control characters
    shown escaped, at most MAX_SHOWN characters."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > MAX_SHOWN:
        text = text[:MAX_SHOWN] + "…"
    text = "".join(f"\\{c}" if c in "\\`*_[]<>|#!~" else c for c in text)
    return _MENTION.sub("\\1@\u200b", text)


# How much of one value the summary shows, and an @ that would mention someone on GitHub.
MAX_SHOWN = 200
_MENTION = re.compile(r"(^|[^\w.+-])@")


def _value(value: Any) -> str:
    if value in (None, "", []):
        return "*none*"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    return f'"{_cell(str(value))}"'
