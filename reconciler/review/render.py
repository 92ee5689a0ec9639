"""The access review as a file an auditor keeps: json (the contract: the dataclasses as
`asdict` gives them, plus counts), csv (a line per row), markdown, or html (one
self-contained page, `render_html`). The cell texts every format but json shares are here."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from reconciler.cells import markdown_cell, no_formula, one_line
from reconciler.review.model import FLAGS, Change, GroupReview, Review, Row

FORMATS = ("html", "markdown", "csv", "json")

CSV_HEADER = (
    "group",
    "group_name",
    "member",
    "role",
    "type",
    "since",
    "commit",
    "pull_request",
    "approvers",
    "approval",
    "applied",
    "applied_by",
    "google",
    "flags",
    "until",
    "via",
    "unknown",
)

PRIVILEGED_TITLE = "Privileged access: super and delegated admins"
PRIVILEGED_NOT_READ = "Google was not read (offline or --as-of): privileged access not shown"
PRIVILEGED_GROUP = "(privileged)"


def render_review(review: Review, fmt: str) -> str:
    if fmt == "json":
        return _json(review_data(review))
    if fmt == "csv":
        return _csv(review)
    if fmt == "markdown":
        return _markdown(review)
    if fmt == "html":
        from reconciler.review.render_html import render_html

        return render_html(review)
    raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def review_data(review: Review) -> dict[str, Any]:
    """The JSON contract: the review's fields as `asdict` gives them, each group with its
    counts, and the review's counts. Made field by field (at 500,000 rows `asdict`, which
    copies deeply, takes most of a minute); a test holds it equal to `asdict`."""
    changes: dict[int, dict[str, Any]] = {}  # rows share their Change objects
    return {
        "as_of": review.as_of,
        "generated": review.generated,
        "directory": review.directory,
        "git_commit": review.git_commit,
        "google": review.google,
        "shallow": review.shallow,
        "counts": review.counts(),
        "groups": [
            {
                "email": group.email,
                "name": group.name,
                "git_name": group.git_name,
                "source": group.source,
                "membership": group.membership,
                "rows": [_row_data(row, changes) for row in group.rows],
                "counts": group.counts(),
            }
            for group in review.groups
        ],
        "privileged": None
        if review.privileged is None
        else [_row_data(row, changes) for row in review.privileged],
        "notes": list(review.notes),
    }


def _row_data(row: Row, changes: dict[int, dict[str, Any]]) -> dict[str, Any]:
    since = row.since
    if since is not None and id(since) not in changes:
        changes[id(since)] = {
            "commit": since.commit,
            "date": since.date,
            "author": since.author,
            "subject": since.subject,
            "pull_request": since.pull_request,
            "approvers": list(since.approvers),
            "approval": since.approval,
            "exact": since.exact,
        }
    return {
        "group": row.group,
        "member": row.member,
        "role": row.role,
        "type": row.type,
        "via": [
            {"group": g.group, "role": g.role, "ref": g.ref, "source": g.source} for g in row.via
        ],
        "since": changes[id(since)] if since is not None else None,
        "until": row.until,
        "applied": row.applied,
        "applied_by": row.applied_by,
        "google": row.google,
        "flags": list(row.flags),
        "why_unknown": list(row.why_unknown),
    }


def _json(data: dict[str, Any]) -> str:
    """The review as JSON, a group per line: indenting every row would make the file half
    again as large and take six times as long to write (json's indenting encoder is
    Python, its compact one C)."""
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key == "groups" and value:
            lines.append(f"  {json.dumps(key)}: [")
            groups = [json.dumps(g, ensure_ascii=False) for g in value]
            lines.append(",\n".join(f"    {g}" for g in groups))
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


# The cell texts, one way for csv, markdown and html.


def since_text(change: Change | None) -> str:
    """The day the access began in Git (the date part of the commit's date)."""
    if change is None:
        return "not in Git's history"
    day = change.date[:10]
    return day if change.exact else f"{day} or earlier (shallow history)"


def commit_text(change: Change | None) -> str:
    return change.commit[:12] if change is not None else "none"


def pull_request_text(change: Change | None) -> str:
    if change is None or change.pull_request is None:
        return "no PR recorded"
    return f"#{change.pull_request}"


def approvers_text(change: Change | None) -> str:
    """Who approved the change, and how the review knows; or unknown, saying why."""
    if change is None:
        return "unknown (no commit of Git's history grants it)"
    if change.approvers:
        return f"{', '.join(change.approvers)} ({change.approval})"
    return "unknown (no Reviewed-by or Approved-by trailer, no apply record)"


def applied_text(row: Row) -> str:
    if row.applied is None:
        return "no apply record"
    return f"{row.applied} by {row.applied_by}" if row.applied_by else row.applied


def grant_text(grant: Any) -> str:
    return f"{grant.group}/{grant.role}/{grant.ref}@{grant.source or 'not in the tree'}"


def chain_text(row: Row) -> str | None:
    """The groups a nested access goes through, outermost first; None for a direct one."""
    if len(row.via) < 2:
        return None
    steps = [f"{g.ref} ({g.source or 'not in the tree'})" for g in row.via[:-1]]
    return "through " + " > ".join(steps)


def source_text(group: GroupReview) -> str:
    return group.source or "not in Git"


def counts_text(counts: dict[str, int]) -> str:
    """`3 rows; 1 external, 2 expiring`: the flags that occur, in FLAGS' order."""
    rows = counts.get("rows", 0)
    text = f"{rows} row{'' if rows == 1 else 's'}"
    flagged = [f"{counts[f]} {f}" for f in FLAGS if counts.get(f)]
    return text + ("; " + ", ".join(flagged) if flagged else "; no flags")


def _cells(row: Row, group_name: str) -> list[str]:
    change = row.since
    return [
        row.group,
        group_name,
        row.member,
        row.role,
        row.type,
        change.date[:10] if change else "",
        change.commit[:12] if change else "",
        pull_request_text(change),
        ", ".join(change.approvers) if change and change.approvers else approvers_text(change),
        change.approval if change else "unknown",
        row.applied or "",
        row.applied_by or "",
        row.google,
        ";".join(row.flags),
        row.until or "",
        " > ".join(grant_text(g) for g in row.via),
        "; ".join(row.why_unknown),
    ]


def _csv(review: Review) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    lines = [(row, group.name) for group in review.groups for row in group.rows]
    lines += [(row, PRIVILEGED_GROUP) for row in review.privileged or []]
    for row, name in lines:
        writer.writerow([no_formula(one_line(cell)) for cell in _cells(row, name)])
    return out.getvalue()


def _md(text: str) -> str:
    return markdown_cell(one_line(text))


MARKDOWN_COLUMNS = (
    "member",
    "role",
    "type",
    "since",
    "commit",
    "PR",
    "approvers",
    "applied",
    "Google",
    "flags",
)


def _flags_text(row: Row) -> str:
    parts = list(row.flags)
    if row.until:
        parts.append(f"until {row.until}")
    parts += [f"unknown: {why}" for why in row.why_unknown]
    return ", ".join(parts)


def _markdown_row(row: Row) -> str:
    member = row.member
    chain = chain_text(row)
    if chain:
        member += f" ({chain})"
    cells = [
        member,
        row.role,
        row.type,
        since_text(row.since),
        commit_text(row.since),
        pull_request_text(row.since),
        approvers_text(row.since),
        applied_text(row),
        row.google,
        _flags_text(row),
    ]
    return "| " + " | ".join(_md(c) for c in cells) + " |"


def _markdown_table(rows: list[Row]) -> list[str]:
    return [
        "| " + " | ".join(MARKDOWN_COLUMNS) + " |",
        "|" + " --- |" * len(MARKDOWN_COLUMNS),
        *(_markdown_row(r) for r in rows),
    ]


def header_lines(review: Review) -> list[tuple[str, str]]:
    """The review's header: what it was made from (label, value)."""
    google = {
        "read": "read",
        "offline": "not read (offline)",
        "as-of": "not read (a past day: --as-of)",
    }.get(review.google, review.google)
    found = [
        ("Directory", review.directory),
        ("Git commit", review.git_commit or "none (not a Git repository)"),
        ("Google", google),
        ("Generated", review.generated),
    ]
    if review.shallow:
        found.append(
            ("History", "a shallow clone's: a grant older than its oldest commit is dated by it")
        )
    return found


def _markdown(review: Review) -> str:
    lines = [f"## Access review as of {_md(review.as_of)}", ""]
    lines += [f"- {label}: {_md(value)}" for label, value in header_lines(review)]
    lines.append("")
    lines += [f"> {_md(note)}" for note in review.notes]
    if review.notes:
        lines.append("")
    counts = review.counts()
    groups = counts["groups"]
    lines += [
        f"**{groups} group{'' if groups == 1 else 's'}, {_md(counts_text(counts))}; "
        f"{counts['privileged']} privileged**",
        "",
        "| group | name | " + " | ".join(("rows", *FLAGS)) + " |",
        "|" + " --- |" * (3 + len(FLAGS)),
    ]
    for group in review.groups:
        found = group.counts()
        numbers = " | ".join(str(found[k]) for k in ("rows", *FLAGS))
        lines.append(f"| {_md(group.email)} | {_md(group.name)} | {numbers} |")
    lines.append("")
    for group in review.groups:
        lines += [
            f"### {_md(group.email)} ({_md(group.name)})",
            "",
            f"Source: {_md(source_text(group))}; membership: {_md(group.membership)}; "
            f"{_md(counts_text(group.counts()))}",
            "",
        ]
        lines += _markdown_table(group.rows) if group.rows else ["no members"]
        lines.append("")
    lines += [f"### {PRIVILEGED_TITLE}", ""]
    if review.privileged is None:
        lines.append(PRIVILEGED_NOT_READ)
    elif review.privileged:
        lines += _markdown_table(review.privileged)
    else:
        lines.append("no privileged accounts")
    return "\n".join(lines) + "\n"
