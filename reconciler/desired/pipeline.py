"""The Git side's entry point: read a state directory, check it, resolve it into a State."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from reconciler.desired.checks import run_checks
from reconciler.desired.expiry import EXPIRED_RULE, expire, expired_warnings, today
from reconciler.desired.index import Index
from reconciler.desired.load import DesiredTree, read_tree
from reconciler.desired.resolve import resolve
from reconciler.gc_pause import without_gc
from reconciler.problems import InvalidInput, Problem
from reconciler.settings import Workspace
from reconciler.state import State


@dataclass
class Desired:
    """A validated state directory: its settings and files, the State, and any warnings."""

    tree: DesiredTree
    state: State
    warnings: list[Problem] = field(default_factory=list)
    # A targeted plan's scope (reconciler/scope.py: what a Git change touches), set by the
    # command; None for a full plan. The Directory target reads only it.
    scope: Any = None

    @property
    def workspace(self) -> Workspace:
        return self.tree.workspace

    @property
    def plan_warnings(self) -> list[Problem]:
        """The warnings a plan or apply shows: not those of ended access, which the plan
        shows as its changes (with their reason); `validate` shows every warning."""
        return [w for w in self.warnings if w.rule != EXPIRED_RULE]


def load_desired(root: Path, *, expiry: bool = True, day: date | None = None) -> Desired:
    """Load, check and resolve a state directory; raise InvalidInput with every problem.

    Access whose `until:` day has passed is left out (docs/state-directory.md, "Expiring
    access"); with `expiry=False` every dated entry is kept, as when an old revision is
    loaded to compare with: what expired since then is then a difference. `day`: the day
    access is judged on (default today; an access review of a past day gives that day)."""
    with without_gc():
        return _load_desired(root, (day or today()) if expiry else None)


def _load_desired(root: Path, day: date | None) -> Desired:
    # One pass: the checks run on whatever was read, so every problem is reported at once.
    tree, problems = read_tree(root)
    expire(tree, day)
    problems += expired_warnings(tree.dated)
    # One index for the checks and resolution alike: at 100k users each build is a pass
    # over every entry.
    index = Index.build(tree)
    problems += run_checks(index)
    errors = [p for p in problems if not p.warning]
    if errors:
        raise InvalidInput(errors)
    warnings = [p for p in problems if p.warning]
    desired = Desired(tree, resolve(index), warnings)
    _forget_raw(tree)
    return desired


def state_without_expiry(desired: Desired) -> State | None:
    """The State Git would ask for had no dated entry ended (None when none has): the
    difference from `desired.state` is everything an ended entry reaches, through nested
    groups and bindings (a targeted plan takes it all in). Raises whatever resolution does
    on entries the checks never saw (an ended entry may name someone no longer in Git)."""
    tree = desired.tree
    if tree.unexpired is None:
        return None
    groups, bindings = tree.unexpired
    with without_gc():
        return resolve(Index.build(replace(tree, groups=groups, bindings=bindings)))


def _forget_raw(tree: DesiredTree) -> None:
    """Drop each entry's parsed YAML (kept only to locate problems, all found by now): at
    100k users it is hundreds of MB that the read of the tenant can use instead."""
    every = tree.unexpired or ((), ())
    for entries in (tree.org_units, tree.users, tree.groups, tree.bindings, *every):
        for located in entries:
            object.__setattr__(located.source, "raw", None)  # Source is frozen
