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
        """One line: a value with a newline or another control character in it (a quoted
        YAML string may hold any) is shown escaped, never breaking the line."""
        where = display_path(self.path)
        prefix = f"{where}:{self.line}" if self.line else where
        kind = "warning: " if self.warning else ""
        return one_line(f"{prefix}: {kind}{self.message}")


# C0 controls, DEL and the C1 controls (U+0080-U+009F: U+009B starts an escape sequence
# on some terminals), so no name or value can move the cursor, recolour or retitle.
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_ESCAPES_BUT_NEWLINE = {c: e for c, e in _ESCAPES.items() if c != ord("\n")}


def one_line(text: str) -> str:
    """`text` with control characters escaped as in Python (\\n, \\t, \\x01)."""
    return text.translate(_ESCAPES)


def safe_lines(text: str) -> str:
    """`text` for a terminal: control characters escaped, its line breaks kept."""
    return text.translate(_ESCAPES_BUT_NEWLINE)


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
