"""Problems found in user input: located, sortable, and reported all together."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input, at a file and line (line 0: the file as a whole)."""

    path: Path
    line: int
    message: str
    rule: str = field(default="", compare=False)
    warning: bool = field(default=False, compare=False)

    def render(self) -> str:
        """`file:LINE: message` on one line, with every control character escaped: a value
        quoted from a file must not move the cursor or recolour a terminal."""
        where = escaped(display_path(self.path))
        prefix = f"{where}:{self.line}" if self.line else where
        kind = "warning: " if self.warning else ""
        return f"{prefix}: {kind}{escaped(self.message)}"


# Unknown content (a value, a key, a parser's message) is shown at most this long.
EXCERPT_CHARS = 60


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """Text (or the repr of anything else) fit to quote in a message: at most `limit`
    characters, each control or invisible one escaped, and the length said when cut."""
    if isinstance(value, str):
        text = value
    else:
        try:
            text = repr(value)
        except ValueError:  # an int past Python's digit limit
            text = f"<{type(value).__name__} too long to show>"
    shown = escaped(text[:limit])
    if len(text) > limit:
        shown += f"... ({len(text)} characters)"
    return shown


def escaped(text: str) -> str:
    """`text` with each control or invisible character written as its escape (\\x1b)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def one_line(text: str) -> str:
    """`text` on one line: every control character escaped (\\n, \\t, \\x01)."""
    return escaped(text)


def safe_lines(text: str) -> str:
    """`text` for a terminal: control characters escaped, its line breaks kept."""
    return "\n".join(escaped(line) for line in text.split("\n"))


class ReconcilerError(Exception):
    """An expected failure (API, credentials, local state): its message is for the user."""


class InvalidInput(Exception):
    """Raised with every problem found, so the user can fix them all in one pass."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = sorted_problems(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Sort by file, line and message; drop exact duplicates."""
    seen: set[tuple[Path, int, str]] = set()
    out = []
    for p in sorted(problems):
        key = (p.path, p.line, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def what_is(path: Path | str) -> str:
    """What is at `path`, in a few words: "not found", "a file", "a directory", "a device"..."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not found"
    except NotADirectoryError:
        return "not found (a part of the path is a file, not a folder)"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    kinds = (
        (stat.S_ISREG, "a file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def not_a_file(path: Path | str) -> str:
    """Why `path` is no regular file to read ("not found", "is a directory, not a file"...);
    empty when it is one."""
    found = what_is(path)
    if found == "a file":
        return ""
    return found if found.startswith(("not found", "unreadable")) else f"is {found}, not a file"


def not_a_directory(path: Path | str) -> str:
    """Why `path` is no directory ("not found", "is a device, not a directory"...); empty when
    it is one."""
    found = what_is(path)
    if found == "a directory":
        return ""
    if found.startswith(("not found", "unreadable")):
        return found
    return f"is {found}, not a directory"


def display_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel
