"""The Git side's entry point: read a state directory, check it, resolve it into a State."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.desired.checks import run_checks
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


def load_desired(root: Path) -> Desired:
    """Load, check and resolve a state directory; raise InvalidInput with every problem."""
    with without_gc():
        return _load_desired(root)


def _load_desired(root: Path) -> Desired:
    # One pass: the checks run on whatever was read, so every problem is reported at once.
    tree, problems = read_tree(root)
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


def _forget_raw(tree: DesiredTree) -> None:
    """Drop each entry's parsed YAML (kept only to locate problems, all found by now): at
    100k users it is hundreds of MB that the read of the tenant can use instead."""
    for entries in (tree.org_units, tree.users, tree.groups, tree.bindings):
        for located in entries:
            object.__setattr__(located.source, "raw", None)  # Source is frozen
