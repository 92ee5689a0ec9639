"""The CLI run in-process for the live scenarios, with no actor, CI run or colour from the
caller's environment."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from apply.support import CI_VARIABLES, Run, in_process


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run `reconciler ARGS` in-process (stdin is no terminal under pytest)."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")

    return in_process(capsys)
