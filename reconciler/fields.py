"""Field types shared by the settings of workspace.yaml and the desired-state models."""

from __future__ import annotations

import re
import sys
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field


def _lower(value: Any) -> Any:
    # Google lower-cases addresses; we store them the same way so both sides compare equal.
    if not isinstance(value, str):
        return value
    # One string per address, however many groups and bindings name it.
    return sys.intern(value.strip().lower())


def _lower_if_email(value: Any) -> Any:
    return _lower(value) if isinstance(value, str) and "@" in value else value


Email = Annotated[
    str,
    BeforeValidator(_lower),
    Field(description="An email address; compared case-insensitively and stored lower-case."),
]

MemberRef = Annotated[
    str,
    BeforeValidator(_lower_if_email),
    Field(
        description="A user's email, a group's name (from Git) or email, or an external "
        "address outside the configured domains."
    ),
]

GroupRef = Annotated[
    str,
    BeforeValidator(_lower_if_email),
    Field(description="A group's name in Git, or an exported group's email."),
]


def _day(value: str) -> str:
    # YAML 1.2 keeps 2027-01-31 as text (desired/yamlread.py): a day is checked, not parsed.
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            date.fromisoformat(value)
            return value
    except ValueError:
        pass
    raise ValueError(f"{value[:40]!r} is not a day written YYYY-MM-DD, e.g. 2027-01-31")


Day = Annotated[
    str,
    AfterValidator(_day),
    Field(
        description="A UTC day, YYYY-MM-DD: the access ends at the start of the day after it.",
        json_schema_extra={"format": "date"},
    ),
]

STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
"""Unknown fields are errors, and types are never coerced: 1042 is not "1042"."""
