"""Fixtures: a copy of the example state directory, the CLI run in-process, and emulators the
test starts itself. Nothing here reaches beyond loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.faults import EmulatorConfig
from reconciler.emulator.server import EmulatorServer
from reconciler.google.client import ENDPOINT_ENV

from .support import CI_VARIABLES, Run, Tenant, copy_example, in_process


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No actor or CI run from the caller's environment, no colour, and no git repository
    above the test's folder (loopback only, no endpoint from the environment and no
    application default credentials: tests/conftest.py)."""
    for name in CI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A fresh copy of examples/desired-state."""
    return copy_example(tmp_path / "state")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run `reconciler ARGS` in-process (stdin is no terminal under pytest)."""

    return in_process(capsys)


@pytest.fixture
def emulator(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Tenant]]:
    """Start an emulator (seed: the state directory's tenant.yaml unless given; tenant kept
    in memory) and point RECONCILER_GOOGLE_ENDPOINT at it, for this process and the children
    it starts."""
    servers: list[EmulatorServer] = []

    def start(seed: Path | dict[str, Any] | None = None, **config: Any) -> Tenant:
        server = EmulatorServer.open(
            seed=seed if seed is not None else state_dir / "tenant.yaml",
            config=EmulatorConfig(**config),
        )
        servers.append(server)
        monkeypatch.setenv(ENDPOINT_ENV, server.start())
        return Tenant(server)

    yield start
    for server in servers:
        server.stop()
