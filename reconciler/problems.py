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


_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def one_line(text: str) -> str:
    """`text` with control characters escaped as in Python (\\n, \\t, \\x01)."""
    return text.translate(_ESCAPES)


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


def not_a_file(path: Path | str) -> str:
    """Why `path` is no regular file to read, in a few words: "not found", "is a directory",
    "is a device", ... (empty when it is a regular file)."""
    import stat

    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not found"
    except NotADirectoryError:
        return "not found (a part of the path is a file, not a folder)"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


def display_path(path: Path) -> str:
    """A path relative to the working directory when it lies below it, else as given."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel
