"""The CLI run in-process for the live scenarios, with no actor, CI run or colour from the
caller's environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from apply.support import CI_VARIABLES, Run

from reconciler.cli import main


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """Run `reconciler ARGS` in-process (stdin is no terminal under pytest)."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args: Any) -> Run:
        capsys.readouterr()
        with pytest.raises(SystemExit) as ended:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Run(ended.value.code, out, err)

    return run
