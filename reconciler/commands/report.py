"""`reconciler report`: drift between Git and Google, for IT and auditors.

Sections: accounts Google has that Git does not name (unmanaged), accounts Git binds that
Google lacks (missing), attribute and membership drift, accounts another repository manages,
privileged access (super and delegated admins) with whether Git names them, and
offboarding: suspended accounts of ours that still have OAuth grants, app passwords or backup
codes, or whose data no transfer since their latest suspension holds (read for every
suspended account of ours, offboarding configured or not; a finding where `transfer_to` asks
for a transfer, listed for review where nothing is said, not listed under `transfer_to:
none`), and the deletions that wait; and, with a `licenses:` block, licenses: seats used
per SKU (a finding past `licenses.seats`), accounts whose license is not the one Git's rules
give, and suspended accounts that still hold one.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from reconciler.cells import markdown_cell, no_formula, one_line
from reconciler.desired.expiry import Dated
from reconciler.plan.offboarding import covering_transfers, policy_for
from reconciler.plan.plan import Plan
from reconciler.plan.render import describe
from reconciler.plan.safety import protected_accounts
from reconciler.plan.user_changes import NO_LONGER_BOUND
from reconciler.settings import Workspace
from reconciler.skus import shown
from reconciler.state import State, User

SECTIONS = {
    "unmanaged": "Accounts in Google that Git does not name",
    "missing": "Accounts Git binds that Google lacks",
    "drift": "Attribute and membership drift",
    "orphaned": "Accounts and groups marked as ours that Git no longer binds or names",
    "other_owner": "Accounts and groups managed by another repository",
    "privileged": "Privileged access (super and delegated admins)",
    "offboarding": "Offboarding: suspended accounts with live tokens, app passwords or "
    "untransferred data, and deletions waiting",
    "licenses": "Licenses: seats used, licenses that differ from the rules, licensed "
    "suspended accounts",
    "expiring": "Access that ends soon: dated members and bindings (`until:`) within the "
    "window of --expiring-within",
}


ORPHANED = ("marked as ours but not in Git", NO_LONGER_BOUND)


def _orphaned(change) -> bool:
    """A suspension of an account Git no longer names or binds (an ended binding too)."""
    reason = change.reason or ""
    return change.kind == "user" and change.action == "suspend" and reason.startswith(ORPHANED)


@dataclass
class Row:
    key: str
    detail: str
    finding: bool = True  # False: listed for review, not a discrepancy


@dataclass
class Report:
    sections: dict[str, list[Row]] = field(default_factory=lambda: {k: [] for k in SECTIONS})

    @property
    def findings(self) -> int:
        return sum(1 for rows in self.sections.values() for r in rows if r.finding)


def build_report(desired: State, actual: State, plan: Plan, workspace: Workspace) -> Report:
    """The report of what differs between `desired` and `actual` (and who holds power)."""
    report = Report()
    ours = workspace.ownership.id
    named: set[str] = set()
    for user in desired.users.values():
        named.update({user.email, *user.previous_emails})
    addresses = {}
    for account in actual.users.values():
        for a in (account.email, *(account.aliases or ())):
            addresses[a] = account.email
    named_accounts = {addresses[a] for a in named if a in addresses}
    guarded, _ = protected_accounts(workspace, desired, actual)  # by account, not address
    for account in sorted(actual.users.values(), key=lambda u: u.email):
        state = "suspended" if account.suspended else "active"
        if account.owner not in (None, ours):
            # Listed for review, not a discrepancy: another repository keeps it as it should be.
            report.sections["other_owner"].append(
                Row(account.email, f"managed by '{one_line(account.owner)}' ({state})", False)
            )
        elif account.email not in named_accounts and account.owner is None:
            report.sections["unmanaged"].append(Row(account.email, f"not in Git ({state})"))
        if account.is_admin or account.is_delegated_admin:
            role = "super admin" if account.is_admin else "delegated admin"
            in_git = account.email in named_accounts
            protected = account.email in guarded
            detail = f"{role}; {'named in Git' if in_git else 'NOT named in Git'}"
            if protected:
                detail += "; protected"
            report.sections["privileged"].append(Row(account.email, detail, finding=not in_git))
    _groups(desired, actual, ours, report)
    for change in plan.changes:
        if change.kind == "license":
            report.sections["licenses"].append(Row(change.key, _license_detail(change)))
        elif change.kind == "user" and change.action == "create":
            report.sections["missing"].append(Row(change.key, "bound in Git, no account"))
        elif _orphaned(change):
            report.sections["orphaned"].append(Row(change.key, describe(change)))
        else:
            report.sections["drift"].append(Row(change.key, _drift_detail(change)))
    for change in plan.refused:
        report.sections["drift"].append(Row(change.key, describe(change)))
    git_users = {
        addresses[a]: u for u in desired.users.values() for a in _names(u) if a in addresses
    }
    _offboarding(actual, plan, workspace, git_users, report)
    _licenses(actual, workspace, report)
    return report


def _licenses(actual: State, workspace: Workspace, report: Report) -> None:
    """Seats used per SKU, and suspended accounts that hold a license (money spent on
    nobody). Licenses that differ from the rules are the plan's license changes."""
    licenses = workspace.licenses
    if licenses is None or actual.licenses is None:
        return
    rows = report.sections["licenses"]
    used = Counter(actual.licenses.values())
    seats_rows = []
    for sku in sorted(set(used) | set(licenses.seats)):
        count, seats = used[sku], licenses.seats.get(sku)
        detail = f"{count} used" + (f" of {seats} seats" if seats is not None else "")
        over = seats is not None and count > seats
        name = f"sku {shown(licenses.product, sku)}"
        seats_rows.append(Row(name, detail + ("; more than bought" if over else ""), over))
    rows[:0] = seats_rows  # first, before the plan's license changes
    for email, sku in sorted(actual.licenses.items()):
        account = actual.users.get(email)
        if account is not None and account.suspended:
            whose = "" if account.owner == workspace.ownership.id else "; not managed here"
            name = shown(licenses.product, sku)
            rows.append(Row(email, f"suspended, still holds {name}{whose}"))


def _names(user: User) -> tuple[str, ...]:
    return (user.email, *user.previous_emails)


def _offboarding(
    actual: State, plan: Plan, workspace: Workspace, git_users: dict[str, User], report: Report
) -> None:
    """Suspended accounts of ours with what still lets someone in, or data no transfer since
    the latest suspension holds (an account the plan brings back is not listed)."""
    rows = report.sections["offboarding"]
    back = {c.key for c in plan.changes if c.kind == "user" and c.action == "unsuspend"}
    for account in sorted(actual.users.values(), key=lambda u: u.email):
        if account.owner != workspace.ownership.id or not account.suspended:
            continue
        user = git_users.get(account.email)
        if user is not None and user.email in back:
            continue
        creds = account.credentials
        if creds is not None and creds.any:
            parts = [f"{len(creds.tokens)} OAuth grant(s)"] if creds.tokens else []
            parts += [f"{len(creds.asps)} app password(s)"] if creds.asps else []
            parts += ["backup codes"] if creds.backup_codes else []
            rows.append(Row(account.email, "suspended, still has " + ", ".join(parts)))
        to = policy_for(workspace, user).transfer_to
        if account.transfers is None or to == "none":
            continue
        covering = covering_transfers(account)
        if not any(t.status.lower() == "completed" for t in covering):
            shown = ", ".join(f"{t.id} {t.status}" for t in covering) or "none"
            detail = f"suspended, data not transferred (transfers since the suspension: {shown})"
            if to is None:  # nothing asks for a transfer (someone on leave): for review
                rows.append(Row(account.email, detail + "; no `transfer_to` is said", False))
            else:
                rows.append(Row(account.email, detail))
    for note in plan.notes:
        if note.startswith("delete of ") and " waits: " in note:
            head, _, why = note.partition(" waits: ")
            rows.append(Row(head.removeprefix("delete of "), f"delete waits: {why}"))


def _groups(desired: State, actual: State, ours: str, report: Report) -> None:
    """Groups of another repository (a finding when Git names one: it cannot manage it),
    and groups marked as ours that Git no longer names (they keep their members)."""
    named: set[str] = set()
    for group in desired.groups.values():
        named.update({group.email, *(group.aliases or ()), *group.previous_emails})
    for group in sorted(actual.groups.values(), key=lambda g: g.email):
        in_git = bool({group.email, *(group.aliases or ())} & named)
        count = group.direct_members_count
        members = f"{count} member{'' if count == 1 else 's'}" if count is not None else "members"
        if group.owner not in (None, ours):
            detail = f"group managed by '{one_line(group.owner)}'"
            if in_git:
                detail += "; named in Git, so left alone by this repository"
            report.sections["other_owner"].append(Row(group.email, detail, finding=in_git))
        elif group.owner == ours and not in_git:
            report.sections["orphaned"].append(
                Row(group.email, f"group marked as ours but not in Git (keeps its {members})")
            )


def add_expiring(report: Report, soon: list[Dated], root: Path) -> None:
    """List, for review, the access that ends within the window (not a finding: Git says
    so, and the plan takes it away on the day)."""
    for d in soon:
        where = d.where(root)
        if d.kind == "binding":
            detail = f"binding of {d.holder} {d.ref}"
        else:
            detail = f"{d.kind.lower()} of group {d.holder}"
        key = d.ref
        report.sections["expiring"].append(
            Row(key, f"{detail}: ends after {d.until} ({where})", finding=False)
        )


def _drift_detail(change) -> str:
    text = describe(change)
    # The fields a plan shows (an Entra removal's object id is for the apply alone).
    if change.fields and change.field_lines():
        parts = [f"{n}: {_short(fc.old)} -> {_short(fc.new)}" for n, fc in change.fields.items()]
        text += ": " + "; ".join(parts)
    return text


def _license_detail(change) -> str:
    """A license change with its SKUs by name: what the rules give against what it holds."""
    sku = change.fields["sku"]
    return (
        f"{describe(change)}: {shown(change.product, sku.old)} -> {shown(change.product, sku.new)}"
    )


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"  # as YAML writes it
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value) + "]"
    return one_line(str(value))


def render_report(report: Report, fmt: str) -> str:
    if fmt == "json":
        data = {
            "findings": report.findings,
            "sections": {k: [asdict(r) for r in rows] for k, rows in report.sections.items()},
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "key", "detail", "finding"])
        for section, rows in report.sections.items():
            for r in rows:
                row = [section, r.key, r.detail, "yes" if r.finding else "no"]
                writer.writerow([no_formula(cell) for cell in row])
        return out.getvalue()
    markdown = fmt == "markdown"
    lines = ["## Reconciliation report" if markdown else "Reconciliation report", ""]
    for section, title in SECTIONS.items():
        rows = report.sections[section]
        lines.append(f"### {title} ({len(rows)})" if markdown else f"{title}: {len(rows)}")
        if markdown and rows:
            lines += ["", "| account | detail |", "| --- | --- |"]
            lines += [f"| {markdown_cell(r.key)} | {markdown_cell(r.detail)} |" for r in rows]
        else:
            lines += [f"  {r.key}: {r.detail}" for r in rows]
        lines.append("")
    verdict = (
        "Clean: Google matches Git."
        if report.findings == 0
        else f"{report.findings} finding(s) to review."
    )
    lines.append(f"**{verdict}**" if markdown else verdict)
    return "\n".join(lines) + "\n"
