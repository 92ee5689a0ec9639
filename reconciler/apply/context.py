"""What an apply run hands every target, and what it gets back per change."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from reconciler import clock
from reconciler.google.client import GoogleClient
from reconciler.onboarding import DEFAULT_TEMPLATE
from reconciler.plan.change import Change
from reconciler.settings import Onboarding
from reconciler.state import State

Result = Literal["applied", "failed", "skipped"]


@dataclass
class ChangeResult:
    change: Change
    result: Result
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What the executor needs besides the plan."""

    client: GoogleClient
    desired: State
    actual: State
    ownership_id: str
    customer: str
    # Called with (email, password) for every account about to be created, before on_started
    # and the create are: the password is recorded before Google has the account.
    on_password: Callable[[str, str], None] = lambda _email, _password: None
    # Called with the changes whose first write is about to be sent, before it is (intent
    # records); each gets its on_result later, unless the run is stopped first.
    on_started: Callable[[list[Change]], None] = lambda _changes: None
    # Called with each result as soon as it is known (audit records, progress).
    on_result: Callable[[ChangeResult], None] = lambda _r: None
    # Called with (kind, new, old) before the alias `new` of `old` is removed for a rename
    # that nothing else would find again if the run stopped there, and with (kind, new)
    # once that rename is done (see reconciler.apply.pending).
    on_rename_begun: Callable[[str, str, str], None] = lambda _k, _new, _old: None
    on_rename_done: Callable[[str, str], None] = lambda _k, _new: None
    # Addresses an earlier, unfinished run released: Google may not have freed them yet.
    released: frozenset[str] = frozenset()
    # The time recorded on markers (suspendedAt, signedOutAt, passwordChangeAt).
    now: Callable[[], datetime] = clock.now
    # workspace.yaml's `onboarding:` and its template's text: the sign-in messages of the
    # accounts this run creates (their passwords are kept in memory for the run only).
    onboarding: Onboarding | None = None
    onboarding_template: str = DEFAULT_TEMPLATE
