"""Fixtures for the plan: the example's first plan, made once per run by the real pipeline
(load the example, read its tenant from the embedded emulator over HTTP, diff)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.desired import Desired, load_desired
from reconciler.google.client import ENDPOINT_ENV
from reconciler.plan.plan import Plan
from reconciler.session import google_session, plan_for
from reconciler.state import State

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desired-state"


def copy_example(into: Path) -> Path:
    """A copy of examples/desired-state (without local state), so the embedded emulator's
    state file lands in the copy."""
    root = into / "desired-state"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    return root


@dataclass
class Example:
    desired: Desired
    actual: State
    plan: Plan


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Example]:
    """The example's first plan, as `reconciler plan examples/desired-state` makes it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ENDPOINT_ENV, raising=False)
        desired = load_desired(copy_example(tmp_path_factory.mktemp("example")))
        with google_session(desired, read_only=True) as client:
            plan, actual = plan_for(desired, client)
    yield Example(desired, actual.state, plan)
