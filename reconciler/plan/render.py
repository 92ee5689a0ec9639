"""Plans for people (text), pull requests (markdown) and machines (json)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from reconciler.plan.change import ACTIONS, Change
from reconciler.plan.kinds import CHANGE_TYPES
from reconciler.plan.plan import Plan

COLOURS = {"+": "green", "~": "yellow", "-": "red", "!": "magenta"}
# The actions in the order the `Plan:` line and the summary table count them.
_COUNTED = sorted(ACTIONS.values(), key=lambda a: a.line_rank)
# GitHub refuses comments over 65,536 characters; leave room for the rest of the comment.
MARKDOWN_LIMIT = 60_000
# Refusals and notes listed in a comment at most (the details and the JSON plan have all).
MARKDOWN_LISTED = 20

Style = Callable[[str, str], str]


def _plain(text: str, _colour: str) -> str:
    return text


def summary_line(plan: Plan) -> str:
    """`Plan: ...` with the counts, or `No changes. ...`."""
    if not plan.changes and not plan.refused:
        return "No changes. Google matches the desired state."
    counts = plan.summary()
    # The parts shown "always" keep their places for whoever reads the line with a pattern.
    parts = [
        f"{counts[a.name]} {a.label}"
        for a in _COUNTED
        if a.shown == "always" or (a.shown == "when planned" and counts[a.name])
    ]
    line = "Plan: " + ", ".join(parts)
    for section in ("members", "licenses"):
        counted = [
            f"{counts[a.name]} {a.label}" for a in _COUNTED if a.shown == section and counts[a.name]
        ]
        if counted:
            line += f"; {section}: " + ", ".join(counted)
    if plan.refused:
        line += f"; {len(plan.refused)} refused"
    return line + "."


def describe(change: Change) -> str:
    """One line saying what a change does to what."""
    return change.describe()


def change_lines(change: Change, symbol: str | None = None) -> list[str]:
    """The lines of one change: a head line, then one line per field."""
    return [f"{symbol or change.symbol} {describe(change)}", *change.field_lines()]


def render_text(plan: Plan, colour: bool = False, title: str | None = None) -> str:
    """Terraform-like text: legend, a block per change, the summary line."""
    style: Style = _plain
    if colour:
        import click

        def style(text: str, name: str) -> str:
            return click.style(text, fg=name)

    out: list[str] = []
    if title:
        out += [title, ""]
    if plan.scope:
        out += [plan.scope, ""]
    if not plan.changes and not plan.refused:
        out.append(summary_line(plan))
        out += [f"Note: {n}" for n in plan.notes]
        return "\n".join(out) + "\n"
    out.append(
        "Symbols: + create, undelete or add, ~ change in place (update, rename, adopt, unsuspend), "
        "- suspend, delete or remove"
    )
    out.append("")
    for change in plan.changes:
        lines = change_lines(change)
        symbol = lines[0][0]
        out.append("  " + style(lines[0], COLOURS[symbol]))
        out += ["  " + line for line in lines[1:]]
        if change.origin is not None:
            out.append(f"      # {change.origin.path.as_posix()}:{change.origin.line}")
    if plan.refused:
        out += ["", "Refused: never applied, with or without --allow-unsafe:"]
        for change in plan.refused:
            out.append("  " + style("! " + describe(change), COLOURS["!"]))
    out += ["", summary_line(plan)]
    out += [f"Note: {n}" for n in plan.notes]
    out += _safety_lines(plan)
    return "\n".join(out) + "\n"


def _safety_lines(plan: Plan) -> list[str]:
    lines: list[str] = []
    if plan.over_limits:
        lines += ["", "UNSAFE: this plan exceeds the safety limits of workspace.yaml:"]
        lines += [f"  - {why}" for why in plan.over_limits]
        seats = any("licenses.seats" in why for why in plan.over_limits)
        where = "under `safety:`" + (", or the seats under `licenses.seats`," if seats else "")
        lines.append(
            "Review every change above. To apply it anyway, run apply with --allow-unsafe "
            f"(or raise the limits {where} in workspace.yaml)."
        )
    if plan.refused:
        lines += [
            "",
            "UNSAFE: this plan would suspend, rename or delete protected accounts or super "
            "admins. That is never applied; fix Git first (bind the account, or correct it).",
        ]
    return lines


def _escape_cell(text: str) -> str:
    return re.sub(r"([\\|`*_<>\[\]])", r"\\\1", text)


def render_markdown(plan: Plan, title: str = "Reconciler plan") -> str:
    """For a pull request comment: summary table first, details folded, size capped."""
    out = [f"### {_escape_cell(title)}", ""]
    if plan.scope:
        out += ["> [!NOTE]", f"> {_escape_cell(plan.scope)}", ""]
    if not plan.changes and not plan.refused:
        out.append(summary_line(plan))
        out += [f"- {_escape_cell(note)}" for note in plan.notes[:MARKDOWN_LISTED]]
        return "\n".join(out) + "\n"
    if plan.unsafe:
        out.append("> [!WARNING]")
        for why in plan.over_limits:
            out.append(
                f"> Over a safety limit: {_escape_cell(why)}. Applying needs `--allow-unsafe`."
            )
        for change in plan.refused[:MARKDOWN_LISTED]:
            out.append(f"> Refused, never applied: {_escape_cell(describe(change))}")
        if len(plan.refused) > MARKDOWN_LISTED:
            out.append(f"> ... and {len(plan.refused) - MARKDOWN_LISTED} more refused changes.")
        out.append("")
    out += _summary_table(plan)
    out += ["", f"**{_escape_cell(summary_line(plan))}**", ""]
    lines: list[str] = []
    for change in plan.changes:
        lines += change_lines(change)
    for change in plan.refused:
        lines.append("! " + describe(change))
    notes = [f"- {_escape_cell(note)}" for note in plan.notes[:MARKDOWN_LISTED]]
    if len(plan.notes) > MARKDOWN_LISTED:
        hidden = len(plan.notes) - MARKDOWN_LISTED
        notes.append(f"- ... and {hidden} more notes; the JSON plan has them all.")
    body, shown = _fit(lines, MARKDOWN_LIMIT - sum(len(x) + 1 for x in [*out, *notes]) - 500)
    fence = "`" * max(3, _longest_backtick_run(body) + 1)
    out += [
        f"<details><summary>Details ({len(plan.changes)} changes)</summary>",
        "",
        f"{fence}diff",
        body,
        fence,
        "",
        "</details>",
    ]
    if shown < len(lines):
        out += [
            "",
            f"_Plan truncated: {len(lines) - shown} of {len(lines)} lines not shown. "
            "The JSON plan has every change._",
        ]
    out += notes
    return "\n".join(out) + "\n"


def _summary_table(plan: Plan) -> list[str]:
    """Counts by action (rows) and kind (columns); empty rows and columns are left out."""
    counts: dict[tuple[str, str], int] = {}
    for change in plan.changes:
        key = (change.action, change.kind)
        counts[key] = counts.get(key, 0) + 1
    kinds = [(t.kind, t.plural) for t in CHANGE_TYPES if any(k == t.kind for _, k in counts)]
    actions = [a.name for a in _COUNTED if any(x == a.name for x, _ in counts)]
    rows = ["| | " + " | ".join(name for _, name in kinds) + " |"]
    rows.append("| --- |" + " ---: |" * len(kinds))
    for action in actions:
        cells = [str(counts.get((action, k), "")) for k, _ in kinds]
        rows.append(f"| {action.replace('_', ' ')} | " + " | ".join(cells) + " |")
    return rows


def _fit(lines: list[str], budget: int) -> tuple[str, int]:
    used, shown = 0, 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        used += len(line) + 1
        shown += 1
    return "\n".join(lines[:shown]), shown


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in re.findall(r"`+", text)), default=0)


def render_json(plan: Plan, meta: dict[str, Any] | None = None) -> str:
    """The JSON plan (the documented contract), with any metadata (`meta`) alongside."""
    data = plan.to_json()
    if meta:
        data["meta"] = meta
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
