"""The access review's formats on the hand-built sample: json is the contract (asdict plus
counts), csv a line per row and never a formula, markdown escaped, html one self-contained,
escaped, printable page with a sign-off column."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from dataclasses import asdict

import pytest

from reconciler.review.model import FLAGS
from reconciler.review.render import (
    CSV_HEADER,
    PRIVILEGED_NOT_READ,
    PRIVILEGED_TITLE,
    render_review,
)
from review.sample import ADD_ENG, sample_review

SCRIPT = "<script>alert(1)</script>"


def test_json_is_the_dataclasses_with_counts():
    review = sample_review()
    data = json.loads(render_review(review, "json"))
    assert data["counts"] == review.counts()
    assert data["counts"]["groups"] == 3 and data["counts"]["privileged"] == 2
    assert all(data["counts"][flag] == 1 for flag in FLAGS)
    for group, written in zip(review.groups, data["groups"], strict=True):
        assert written == {**asdict(group), "counts": group.counts()}
    assert data["privileged"] == [asdict(r) for r in review.privileged or []]
    assert data["notes"] == review.notes
    assert (data["as_of"], data["shallow"], data["google"]) == ("2026-05-01", True, "read")
    assert data["groups"][0]["rows"][0]["since"]["commit"] == ADD_ENG


def test_json_keeps_non_ascii_and_says_google_was_not_read():
    data_text = render_review(sample_review(member="zoë@example.com", google="offline"), "json")
    assert "zoë@example.com" in data_text
    assert json.loads(data_text)["privileged"] is None


def test_csv_has_a_header_and_a_line_per_row():
    review = sample_review()
    lines = list(csv.reader(io.StringIO(render_review(review, "csv"))))
    assert lines[0] == list(CSV_HEADER)
    rows = [r for g in review.groups for r in g.rows] + list(review.privileged or [])
    assert len(lines) == 1 + len(rows)
    by_member = {(line[0], line[2]): dict(zip(CSV_HEADER, line, strict=True)) for line in lines[1:]}
    carl = by_member["eng@example.com", "carl@partner.example.net"]
    assert carl["flags"] == "external;expiring"
    assert carl["until"] == "2026-12-31"
    assert carl["commit"] == ADD_ENG[:12]
    assert carl["pull_request"] == "#12"
    assert carl["since"] == "2025-03-04"
    assert carl["approvers"] == "ann@example.com, dan@example.com"
    fay = by_member["eng@example.com", "fay@example.com"]
    assert fay["via"] == (
        "eng/MEMBER/platform-oncall@groups/eng.yaml:12 > "
        "platform-oncall/MEMBER/fay@example.com@groups/oncall.yaml:5"
    )
    assert fay["approval"] == "apply actor"
    gus = by_member["eng@example.com", "gus@example.com"]
    assert gus["pull_request"] == "no PR recorded"
    assert gus["approvers"].startswith("unknown (")
    hal = by_member["eng@example.com", "hal@example.com"]
    assert (hal["since"], hal["commit"], hal["flags"]) == ("", "", "not-in-git;suspended")
    assert hal["unknown"] == "Git does not grant it: added in Google directly"
    assert by_member["(privileged)", "root@example.com"]["role"] == "super admin"


@pytest.mark.parametrize("value", ["=cmd()", "+1", "-1", "@SUM(A1)"])
def test_csv_never_starts_a_cell_with_a_formula(value: str):
    lines = list(csv.reader(io.StringIO(render_review(sample_review(member=value), "csv"))))
    assert lines[1][2] == "'" + value
    assert all(cell[:1] not in ("=", "+", "-", "@") for line in lines for cell in line)


def test_markdown_escapes_pipes_and_tags():
    text = render_review(sample_review(member="a|b<img src=x>@example.com"), "markdown")
    assert "a\\|b&lt;img src=x&gt;@example.com" in text
    assert "<img" not in text
    assert "a|b" not in text


def test_markdown_has_each_group_the_summary_and_the_privileged_section():
    review = sample_review()
    text = render_review(review, "markdown")
    assert text.startswith("## Access review as of 2026-05-01\n")
    for group in review.groups:
        assert f"### {group.email} ({group.name})" in text
    assert "no members" in text  # the empty group
    assert f"### {PRIVILEGED_TITLE}" in text and "| root@example.com | super admin |" in text
    assert review.notes[0] in text
    assert "through platform-oncall (groups/eng.yaml:12)" in text
    assert "2024-11-02 or earlier (shallow history)" in text
    offline = render_review(sample_review(google="offline"), "markdown")
    assert PRIVILEGED_NOT_READ in offline and "root@example.com" not in offline


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="html, markdown, csv, json"):
        render_review(sample_review(), "pdf")


def html(**kwargs) -> str:
    return render_review(sample_review(**kwargs), "html")


def test_html_escapes_every_value():
    page = html(member=SCRIPT)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()


def test_html_reaches_for_nothing_outside_the_file():
    page = html()
    # No URL of any kind in an attribute or a style: only the page's own anchors.
    assert not re.search(r"""(?:src|href|action|data)\s*=\s*["']?\s*(?:[a-z]+:|//)""", page, re.I)
    assert not re.search(r"url\s*\(", page, re.I)
    assert not re.search(r"https?://|@import|<link|<img|<iframe|<object|<embed", page, re.I)
    links = re.findall(r'href="#([^"]*)"', page)
    assert [link.rsplit("-", 1)[0] for link in links] == [
        "group-eng-example-com",
        "group-platform-oncall-example-com",
        "group-empty-example-com",
    ]
    assert re.findall(r'href="([^"]*)"', page) == [f"#{link}" for link in links]
    assert all(f'id="{link}"' in page for link in links)  # each leads to its section
    assert (
        '<meta http-equiv="Content-Security-Policy" '
        'content="default-src &#x27;none&#x27;; style-src &#x27;unsafe-inline&#x27;">'
    ) in page
    assert '<meta charset="utf-8">' in page
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')


def test_html_anchors_of_look_alike_addresses_differ():
    review = sample_review()
    twin = copy.deepcopy(review.groups[0])
    twin.email = twin.email.replace("eng@", "eng.@") if "eng@" in twin.email else "x." + twin.email
    review.groups[0].email = twin.email.replace(".@", "-@")
    review.groups.append(twin)
    links = re.findall(r'href="#([^"]*)"', render_review(review, "html"))
    assert len(links) == len(set(links)) == len(review.groups)


def test_html_has_a_section_per_group_with_a_sign_off_column():
    review = sample_review()
    page = html()
    sections = re.findall(r'<section class="group".*?</section>', page, re.S)
    assert len(sections) == len(review.groups)
    for group, section in zip(review.groups, sections, strict=True):
        assert f"<h2>{group.email} \u2014 {group.name}</h2>" in section
        assert f"Source: {group.source}; membership: {group.membership}" in section
        assert "Reviewed by" in section and "Decision: keep / remove" in section
        tables = re.findall(r"<table[ >].*?</table>", section, re.S)
        if not group.rows:
            assert tables == [] and "no members" in section
            continue
        (table,) = tables
        assert "<caption>" in table
        assert '<th scope="col">Sign-off</th>' in table
        assert table.count('<td class="sign-off">') == len(group.rows)
        assert table.count("\u2610") == len(group.rows)
    privileged = re.search(r'<section class="privileged">.*?</section>', page, re.S)
    assert privileged and PRIVILEGED_TITLE in privileged.group()
    assert privileged.group().count('<td class="sign-off">') == 2
    assert PRIVILEGED_NOT_READ in html(google="as-of")


def test_html_shows_flags_as_badges_and_the_chain_of_a_nested_grant():
    page = html()
    for flag in FLAGS:
        assert f'<span class="flag flag-{flag}">{flag}</span>' in page
        assert f".flag-{flag}" in page  # a style of its own
    assert "through platform-oncall (groups/eng.yaml:12)" in page
    assert "until 2026-12-31" in page
    assert "no PR recorded" in page and "#12" in page and ADD_ENG[:12] in page
    assert ADD_ENG not in page
    assert "unknown (no Reviewed-by or Approved-by trailer, no apply record)" in page


def test_html_prints():
    page = html()
    style = re.search(r"<style>(.*?)</style>", page, re.S)
    assert style
    css = style.group(1)
    assert "@page { margin: 12mm; }" in css
    print_css = css[css.index("@media print") :]
    assert "thead { display: table-header-group; }" in print_css
    assert "break-inside: avoid" in print_css
    assert "section.group + section.group" in print_css and "break-before: page" in print_css
