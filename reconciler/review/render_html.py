"""The access review as one self-contained HTML page an auditor can open, print and sign.

Nothing outside the file: the style is inline, there is no script, and the page's Content
Security Policy lets a browser fetch nothing at all. Every value is escaped. Flags are badges
told apart by their border and text, not by colour alone, so they survive a black and white
printer. Each group's table ends with a sign-off column, and each group with a sign-off block.
"""

from __future__ import annotations

import hashlib
from html import escape

from reconciler.review.model import FLAGS, GroupReview, Review, Row
from reconciler.review.render import (
    PRIVILEGED_NOT_READ,
    PRIVILEGED_TITLE,
    applied_text,
    approvers_text,
    chain_text,
    commit_text,
    counts_text,
    header_lines,
    pull_request_text,
    since_text,
    source_text,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'"

# The access tables' columns and their share of the width: fixed, so that a long address
# wraps in its own cell instead of squeezing the others on a printed page.
COLUMNS = (
    ("Member", 15),
    ("Role", 7),
    ("Type", 7),
    ("Since", 8),
    ("Commit", 10),
    ("PR", 6),
    ("Approvers", 13),
    ("Applied", 11),
    ("Google", 6),
    ("Flags", 10),
    ("Sign-off", 7),
)

SIGN_OFF_CELL = (
    '<td class="sign-off"><span class="box">\u2610</span><span class="line"></span></td>'
)

STYLE = """
:root { color-scheme: light; }
body { font: 13px/1.4 system-ui, sans-serif; color: #111; margin: 1.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .25rem; break-after: avoid; }
dl.header { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem; }
dl.header dt { font-weight: 600; }
dl.header dd { margin: 0; }
.note { border-left: 3px solid #555; padding: .25rem .5rem; margin: .5rem 0; }
.meta { margin: 0 0 .5rem; color: #333; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #999; padding: .2rem .35rem; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
table.access { table-layout: fixed; }
code { font-size: .95em; }
thead th { background: #eee; }
td.num { text-align: right; }
.via, .unknown, .until { display: block; font-size: .85em; color: #333; }
.flag { display: inline-block; font-size: .8em; padding: 0 .3em; margin: 0 .2em .1em 0;
  border: 1px solid #000; border-radius: 3px; white-space: nowrap; }
.flag-external { border-style: double; border-width: 3px; }
.flag-expiring { border-style: dashed; }
.flag-suspended { border-width: 2px; font-weight: 700; }
.flag-owner-not-member { border-style: dotted; border-width: 2px; }
.flag-not-in-git, .flag-not-in-google, .flag-role-differs { font-weight: 700;
  text-transform: uppercase; border-width: 2px; }
.flag-not-in-git::before, .flag-not-in-google::before, .flag-role-differs::before {
  content: "\\26A0\\FE0E  "; }
td.sign-off .box { font-size: 1.2em; }
td.sign-off .line { display: block; width: 100%; margin-top: .6rem;
  border-bottom: 1px solid #000; height: 1em; }
.sign-off-block { margin: .5rem 0 1.5rem; padding: .5rem; border: 1px solid #999; }
.sign-off-block .line { display: inline-block; min-width: 12rem;
  border-bottom: 1px solid #000; margin-right: 1.5rem; height: 1em; }
.empty { font-style: italic; }
@page { margin: 12mm; }
@media print {
  body { margin: 0; font-size: 10px; }
  thead th { background: none; }
  thead { display: table-header-group; }
  tr, .sign-off-block { break-inside: avoid; }
  h2, caption, .meta { break-after: avoid; }
  section.group + section.group, section.privileged { break-before: page; }
}
"""
COLUMN_STYLE = "".join(
    f"col.w{width} {{ width: {width}%; }}\n" for width in sorted({w for _, w in COLUMNS})
)


def render_html(review: Review) -> str:
    title = f"Access review as of {review.as_of}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}{COLUMN_STYLE}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(title)}</h1>",
        '<dl class="header">',
    ]
    for label, value in header_lines(review):
        parts.append(f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>")
    parts.append("</dl>")
    parts += [f'<p class="note">{escape(note)}</p>' for note in review.notes]
    parts.append("</header>")
    parts += _summary(review)
    for group in review.groups:
        parts += _group(group)
    parts += _privileged(review)
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _head(columns: tuple[str, ...]) -> str:
    cells = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
    return f"<thead><tr>{cells}</tr></thead>"


def _summary(review: Review) -> list[str]:
    counts = review.counts()
    out = [
        '<section class="summary">',
        "<h2>Summary</h2>",
        f'<p class="meta">{counts["groups"]} groups, {escape(counts_text(counts))}; '
        f"{counts['privileged']} privileged accounts</p>",
        "<table>",
        "<caption>Rows and flags per group</caption>",
        _head(("Group", "Name", "Rows", *FLAGS)),
        "<tbody>",
    ]
    for group in review.groups:
        found = group.counts()
        numbers = "".join(f'<td class="num">{found[k]}</td>' for k in ("rows", *FLAGS))
        out.append(
            f'<tr><td><a href="#{_anchor(group)}">{escape(group.email)}</a></td>'
            f"<td>{escape(group.name)}</td>{numbers}</tr>"
        )
    out += ["</tbody>", "</table>", "</section>"]
    return out


def _anchor(group: GroupReview) -> str:
    """The group's section id: readable, and unique (a.b@x and a-b@x read alike)."""
    readable = "".join(c if c.isalnum() else "-" for c in group.email)
    return escape(f"group-{readable}-{hashlib.sha1(group.email.encode()).hexdigest()[:8]}")


def _flags(row: Row) -> str:
    badges = "".join(
        f'<span class="flag flag-{escape(flag)}">{escape(flag)}</span>' for flag in row.flags
    )
    if row.until:
        badges += f'<span class="until">until {escape(row.until)}</span>'
    badges += "".join(
        f'<span class="unknown">unknown: {escape(why)}</span>' for why in row.why_unknown
    )
    return badges


def _since(row: Row) -> str:
    return escape(since_text(row.since))


def _row(row: Row) -> str:
    member = escape(row.member)
    chain = chain_text(row)
    if chain:
        member += f'<span class="via">{escape(chain)}</span>'
    cells = [
        ("member", member),
        ("", escape(row.role)),
        ("", escape(row.type)),
        ("", _since(row)),
        ("", f"<code>{escape(commit_text(row.since))}</code>"),
        ("", escape(pull_request_text(row.since))),
        ("", escape(approvers_text(row.since))),
        ("", escape(applied_text(row))),
        ("", escape(row.google)),
        ("", _flags(row)),
    ]
    tds = "".join(f'<td class="{k}">{c}</td>' if k else f"<td>{c}</td>" for k, c in cells)
    return f"<tr>{tds}{SIGN_OFF_CELL}</tr>"


def _table(caption: str, rows: list[Row]) -> list[str]:
    return [
        '<table class="access">',
        f"<caption>{escape(caption)}</caption>",
        "<colgroup>",
        *(f'<col class="w{width}">' for _, width in COLUMNS),
        "</colgroup>",
        _head(tuple(title for title, _ in COLUMNS)),
        "<tbody>",
        *(_row(r) for r in rows),
        "</tbody>",
        "</table>",
    ]


def _sign_off_block(what: str) -> str:
    return (
        f'<div class="sign-off-block" aria-label="Sign-off for {escape(what)}">'
        'Reviewed by <span class="line"></span> Date <span class="line"></span> '
        "Decision: keep / remove</div>"
    )


def _group(group: GroupReview) -> list[str]:
    out = [
        f'<section class="group" id="{_anchor(group)}">',
        f"<h2>{escape(group.email)} \u2014 {escape(group.name)}</h2>",
        f'<p class="meta">Source: {escape(source_text(group))}; '
        f"membership: {escape(group.membership)}; {escape(counts_text(group.counts()))}</p>",
    ]
    if group.rows:
        out += _table(f"Who has access to {group.email}", group.rows)
    else:
        out.append('<p class="empty">no members</p>')
    out += [_sign_off_block(group.email), "</section>"]
    return out


def _privileged(review: Review) -> list[str]:
    out = ['<section class="privileged">', f"<h2>{escape(PRIVILEGED_TITLE)}</h2>"]
    if review.privileged is None:
        out.append(f'<p class="empty">{escape(PRIVILEGED_NOT_READ)}</p>')
    elif not review.privileged:
        out.append('<p class="empty">no privileged accounts</p>')
    else:
        out += _table(PRIVILEGED_TITLE, review.privileged)
        out.append(_sign_off_block("privileged access"))
    out.append("</section>")
    return out
