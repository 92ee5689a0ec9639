"""Make docs/access-review.png: the access review of the example, in a repository with a few
pull requests merged (example_repo.make_history), rendered by headless Chromium.

    python tests/review/screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from reconciler.commands.access_review import make_review  # noqa: E402
from reconciler.review.render_html import render_html  # noqa: E402
from review.example_repo import make_history  # noqa: E402
from review.test_html_browser import chromium  # noqa: E402

OUT = HERE.parents[1] / "docs" / "access-review.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shas = make_history(Path(tmp) / "repo")
        review = make_review(Path(shas["repo"]) / "directory", as_of=None, offline=False, logs=[])
        page = Path(tmp) / "review.html"
        page.write_text(render_html(review), encoding="utf-8")
        chromium(page, Path(tmp), "--window-size=1280,1400", f"--screenshot={OUT}")
    print(f"written {OUT}")


if __name__ == "__main__":
    main()
