"""What the checks of `reconciler doctor` share (commands/doctor.py runs them): a check's
Result, a Failed check, and what the checks learn in order, with the client they read
through."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SETUP = "docs/google-setup.md"
DELEGATION = "Admin console > Security > API controls > Domain-wide delegation"
# Each command, and whether its scopes are the read-only ones (credentials.scopes()).
COMMANDS = (("plan, report, import, access-review", True), ("apply", False))


# What to read when a check fails in a way it has no words of its own for.
GENERIC_FIX = f"see {SETUP} and docs/google.md"


@dataclass
class Result:
    """One check's outcome: status ok, fail, skip (not configured) or not run."""

    check: str
    status: str
    detail: str = ""
    fix: str = ""


class Failed(Exception):
    """A check failed: what is wrong, and what to do."""

    def __init__(self, detail: str, fix: str, check: str | None = None):
        super().__init__(detail)
        self.detail, self.fix, self.check = detail, fix, check


@dataclass
class Doctor:
    """What the checks learn, in order."""

    directory: Path
    opened: ExitStack
    desired: Any = None
    provider: Any = None
    endpoint: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    client: Any = None
    customer_id: str | None = None

    @property
    def customer(self) -> str:
        return self.desired.workspace.directory.customer


def client_of(doc: Doctor) -> Any:
    if doc.client is None:
        from reconciler.google.client import GoogleClient
        from reconciler.google.retry import RetryPolicy

        doc.client = GoogleClient.connect(
            doc.provider,
            doc.desired.tree.root,
            read_only=True,
            endpoint=doc.endpoint,
            retry=RetryPolicy(max_attempts=3),
            **doc.flags,
        )
    return doc.client


def read(doc: Doctor, make: Callable[[Any], Any], label: str, api: str = "") -> Any:
    """The outcome of one read (on the Directory API's client, or a sibling's)."""
    from reconciler.google.client import Call

    client = client_of(doc)
    client = getattr(client, api) if api else client
    return client.execute(Call(make(client.service), label))
