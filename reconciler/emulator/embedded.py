"""The emulator a state directory runs on when `provider.kind: emulator`."""

from __future__ import annotations

from pathlib import Path

from reconciler.emulator.server import EmulatorServer
from reconciler.settings import Workspace

# Keeps the local state out of Git even where the repository forgot to ignore it.
_IGNORE_ALL = "# Local state of reconciler (the emulated tenant); never commit it.\n*\n"


def open_embedded(root: Path, workspace: Workspace) -> EmulatorServer:
    """An in-process emulator over the directory's tenant: its state file when one exists,
    else its seed (`provider.seed`; an absent default seed means an empty tenant)."""
    provider = workspace.provider
    assert provider.kind == "emulator", "only an emulator provider has an embedded tenant"
    seed = Path(root) / provider.seed if provider.seed else None
    if seed is not None and not seed.is_file():
        seed = None  # validation already refused an explicitly named seed that is missing
    state = Path(root) / provider.state
    state.parent.mkdir(parents=True, exist_ok=True)
    ignore = state.parent / ".gitignore"
    if state.parent != Path(root) and not ignore.exists():
        ignore.write_text(_IGNORE_ALL, encoding="utf-8")
    return EmulatorServer.open(seed=seed, state=state)
