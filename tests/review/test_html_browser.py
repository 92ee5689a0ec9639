"""The access review's HTML page in a real browser: headless Chromium renders it (its DOM
holds every group and member, the sign-off column, and a value's markup as text), takes a
screenshot of it, and prints it to a PDF of several pages.

Debian's chromium package provides the browser (CI installs it when it can); without one the
test is skipped, saying so. The browser runs as a child of the test, with default signal
handling, always reaped, and cannot resolve a name: the page must not need the network."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import children
import pytest

from reconciler.review.render import render_review
from review.sample import sample_review

SCRIPT = "<script>alert(1)</script>"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
# A hang guard, not a measure: a browser that has not ended by then never will.
BROWSER_TIMEOUT_S = 120.0


def browser() -> str:
    found = os.environ.get("RECONCILER_CHROMIUM") or next(
        (path for name in BROWSERS if (path := shutil.which(name))), None
    )
    if not found:
        pytest.skip(
            "headless Chromium not found: install Debian's chromium package "
            "(apt-get install chromium) to run the browser test"
        )
    return found


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample review, long enough for several printed pages, with markup in a value."""
    path = tmp_path_factory.mktemp("review") / "review.html"
    review = sample_review(member=SCRIPT, extra_rows=80)
    path.write_text(render_review(review, "html"), encoding="utf-8")
    return path


def chromium(page: Path, tmp_path: Path, *args: str) -> str:
    """Run headless Chromium on the page with `args`; its stdout. It must end, and well."""
    command = [
        browser(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path / 'profile'}",
        *args,
        page.as_uri(),
    ]
    proc = children.start(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    with children.reaped(proc):
        try:
            out, err = proc.communicate(timeout=BROWSER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"headless Chromium did not end within {BROWSER_TIMEOUT_S:.0f} s; killed"
            ) from None
    assert proc.returncode == 0, f"chromium exited {proc.returncode}: {err[-2000:]}"
    return out


def test_the_browser_renders_every_group_member_and_the_sign_off_column(
    page: Path, tmp_path: Path
) -> None:
    dom = chromium(page, tmp_path, "--dump-dom")
    review = sample_review(member=SCRIPT, extra_rows=80)
    assert "<h1>Access review as of 2026-05-01</h1>" in dom
    for group in review.groups:
        assert f"<h2>{group.email} \u2014 {group.name}</h2>" in dom
    members = [r.member for g in review.groups for r in g.rows] + [
        r.member for r in review.privileged or []
    ]
    for member in members:
        if member != SCRIPT:
            assert f'<td class="member">{member}' in dom, member
    assert dom.count('<th scope="col">Sign-off</th>') == 3  # two groups with rows, privileged
    assert dom.count("\u2610") == len(members)
    # The markup in a value is text of its cell: the browser made no element of it.
    assert '<td class="member">&lt;script&gt;alert(1)&lt;/script&gt;</td>' in dom
    assert "<script" not in dom


def test_the_browser_takes_a_screenshot_of_the_page(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,1600")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1280 and height > 0


def test_the_browser_prints_the_review_on_several_pages(page: Path, tmp_path: Path) -> None:
    pdf = tmp_path / "review.pdf"
    chromium(page, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", data))
    # The summary, a page break before each group after the first and before the
    # privileged accounts, and eng's 86 rows over several pages.
    assert pages > 3, f"{pages} page(s)"


def test_the_example_review_opens_in_a_browser_with_every_row_naming_its_commit_and_pr(
    tmp_path: Path,
) -> None:
    """Done when: the example, with a few pull requests merged, gives a review whose every
    row names its commit and PR, and it opens in a browser."""
    from reconciler.commands.access_review import make_review
    from review.example_repo import make_history

    shas = make_history(tmp_path / "repo")
    review = make_review(Path(shas["repo"]) / "directory", as_of=None, offline=True, logs=[])
    rows = [r for g in review.groups for r in g.rows]
    assert rows and all(r.since is not None for r in rows)
    page = tmp_path / "review.html"
    page.write_text(render_review(review, "html"), encoding="utf-8")
    dom = chromium(page, tmp_path, "--dump-dom")
    for r in rows:
        assert r.member in dom
        assert r.since.commit[:12] in dom
    prs = {r.since.pull_request for r in rows} - {None}
    assert prs == {1, 2, 5, 6}  # PR 3 only moved lines: their age is older
    for number in prs:
        assert f"#{number}" in dom
    assert "no PR recorded" in dom  # the rebase-merged commit names none
