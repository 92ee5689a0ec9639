"""workspace.yaml's `restrictions:`: which files may define which groups and users, and who
reviews them (CODEOWNERS). The rule that enforces them is reconciler/desired/restrictions.py;
the paths' glob syntax (one shared with CODEOWNERS) is here, so that a path is judged when
workspace.yaml is read.

A path is a glob relative to the state directory, always anchored there (a leading `/` is
accepted and means the same): `*` matches within one path segment, `**` (a whole segment)
any number of segments, `?` one character. It must match a file's whole path."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, field_validator

from reconciler.fields import STRICT

# Characters a CODEOWNERS line and this glob cannot share a meaning for: GitHub takes no
# escapes, negation or character ranges, and a space or `#` would end the path.
_REFUSED_CHARACTERS = "\\[]!#"
_GITHUB_USER = r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_GITHUB_TEAM = r"@[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9][A-Za-z0-9_.-]*"
_REVIEWER_EMAIL = r"[^@\s]+@[^@\s]+\.[^@\s]+"
_REVIEWER = re.compile(rf"{_GITHUB_USER}|{_GITHUB_TEAM}|{_REVIEWER_EMAIL}")


def path_problem(path: str) -> str | None:
    """Why `path` is no restriction path, or None."""
    if not path.strip():
        return (
            "must not be empty: give a glob relative to the state directory, e.g. groups/sales/**"
        )
    if any(c.isspace() for c in path):
        return "holds whitespace, which a CODEOWNERS line cannot hold"
    refused = sorted({c for c in path if c in _REFUSED_CHARACTERS})
    if refused:
        return (
            f"holds {' and '.join(repr(c) for c in refused)}, which CODEOWNERS does not read as "
            "this glob does: use only *, ** and ?"
        )
    body = path.removeprefix("/")
    if not body:
        return "is the state directory itself: for every file in it, write **"
    if body.endswith("/"):
        return f"ends with '/': for every file below that folder, write {body}**"
    segments = body.split("/")
    if "" in segments:
        return "holds an empty segment ('//')"
    if ".." in segments:
        return "holds '..': paths are relative to the state directory and stay inside it"
    if "." in segments:
        return "holds a '.' segment: write the path without it"
    if any("**" in s and s != "**" for s in segments):
        return "uses '**' inside a segment: '**' must be a whole segment (e.g. groups/**/a.yaml)"
    return None


@lru_cache(maxsize=1024)
def glob_regex(path: str) -> re.Pattern[str]:
    """The regular expression (for fullmatch against a posix path relative to the state
    directory) of a valid restriction path."""
    segments = path.removeprefix("/").split("/")
    out = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "**":
            out.append(".+" if last else "(?:[^/]+/)*")
            continue
        text = "".join(
            "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in segment
        )
        out.append(text if last else text + "/")
    return re.compile("".join(out))


def glob_matches(path: str, relative: str) -> bool:
    """Whether the restriction path `path` matches the file `relative` (posix, relative to
    the state directory)."""
    return glob_regex(path).fullmatch(relative) is not None


def has_wildcard(path: str) -> bool:
    return "*" in path or "?" in path


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from None
    return value


def _reviewer(value: str) -> str:
    if not _REVIEWER.fullmatch(value):
        raise ValueError(
            f"{value!r} is no reviewer: write a GitHub user (@name), a team (@org/team) or an "
            "email address"
        )
    return value


GroupPattern = Annotated[str, AfterValidator(_pattern)]
Reviewer = Annotated[str, AfterValidator(_reviewer)]


class Restriction(BaseModel):
    """What the files one path matches may define, and who reviews them; the last match wins.

    They may define only the groups `groups` allows, and users only when `users` is true;
    `reviewers` own them in the generated CODEOWNERS. When several restrictions match a
    file, the last one applies (as in CODEOWNERS)."""

    model_config = STRICT

    path: str = Field(
        description="A glob relative to the state directory: `*` within one path segment, "
        "`**` any number of segments, `?` one character; e.g. groups/sales/**."
    )
    groups: list[GroupPattern] = Field(
        default_factory=list,
        description="Regular expressions (searched, ignoring case): every address of a group "
        "defined in these files (email, aliases, previous_emails; the name of a group without "
        "email; the Entra display name of an `entra: true` group) must match one. Empty: no "
        "groups.",
    )
    users: bool = Field(True, description="false: these files may define no users.")
    bindings: bool = Field(
        True,
        description="false: these files may hold no bindings (a binding gives anyone an "
        "account: with `users: false`, say `bindings: false` too).",
    )
    reviewers: list[Reviewer] = Field(
        default_factory=list,
        description="Owners of these files in the generated CODEOWNERS (`reconciler "
        "codeowners`): GitHub users (@name), teams (@org/team) or emails.",
    )

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        why = path_problem(value)
        if why:
            raise ValueError(why)
        return value

    def allows(self, value: str) -> bool:
        """Whether a group's address or name matches one of `groups`."""
        return any(re.search(p, value, re.IGNORECASE) for p in self.groups)
