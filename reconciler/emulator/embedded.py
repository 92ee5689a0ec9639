"""The emulators a state directory runs on: Google's when `provider.kind: emulator`, and
Microsoft Graph's when `entra.provider.kind: emulator`."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.emulator.journal import StateError, StateFiles
from reconciler.emulator.server import EmulatorServer
from reconciler.files import LINK_REFUSED, create_exclusive, first_link, outside_problem
from reconciler.problems import excerpt
from reconciler.settings import Workspace

if TYPE_CHECKING:
    from reconciler.emulator.graph.server import GraphServer
    from reconciler.entra_settings import Entra

# Keeps the local state out of Git even where the repository forgot to ignore it.
_IGNORE_ALL = "# Local state of reconciler (the emulated tenant); never commit it.\n*\n"


def open_embedded(root: Path, workspace: Workspace) -> EmulatorServer:
    """An in-process emulator over the directory's tenant: its state file when one exists,
    else its seed (`provider.seed`; an absent default seed means an empty tenant).

    The seed is read and the state written only inside `root`, never through a symbolic
    link (validation says so first, with the line; this is the check at the time of use):
    StateError otherwise."""
    root = Path(root)
    provider = workspace.provider
    assert provider.kind == "emulator", "only an emulator provider has an embedded tenant"
    seed = _seed_file(root, provider.seed, "provider.seed")
    state = _state_file(root, provider.state, "provider.state")
    return EmulatorServer.open(seed=seed, state=state)


def _seed_file(root: Path, setting: str | None, name: str) -> Path | None:
    """root/setting for an emulator's seed; None without one, or when the file is not there
    (validation already refused an explicitly named seed that is missing)."""
    if not setting:
        return None
    seed = _inside(root, setting, name)
    return seed if seed.is_file() else None


def _state_file(root: Path, setting: str, name: str) -> Path:
    """root/setting for an emulator's state, its folder made (and kept out of Git)."""
    state = _inside(root, setting, name)
    state.parent.mkdir(parents=True, exist_ok=True)
    _inside(root, setting, name)  # no link appeared while making folders
    if state.parent != root:
        with contextlib.suppress(FileExistsError):  # a link there is left alone, not followed
            fd = create_exclusive(state.parent / ".gitignore", 0o666, exact=False)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(_IGNORE_ALL)
    return state


def _inside(root: Path, setting: str, name: str) -> Path:
    """root/setting, when it stays inside root and no part of it is a symbolic link."""
    outside = outside_problem(setting)
    if outside:
        raise StateError(f"{name}: '{excerpt(setting)}' {outside}")
    link = first_link(root, setting)
    if link is not None:
        raise StateError(f"{name}: {link} is {LINK_REFUSED}")
    return root / setting


@contextlib.contextmanager
def open_embedded_entra(root: Path, entra: Entra) -> Iterator[GraphServer]:
    """An in-process Graph emulator over the directory's Entra tenant (`entra.provider`, kind
    emulator), serving for the `with`: its state file when one exists, else its seed (an
    absent default seed means an empty tenant), read and written only inside `root`, as for
    Google's, and held by one process at a time (`STATE.lock`, as Google's: a second plan or
    apply on the same state is refused, naming the holder). StateError for a seed or state
    it cannot use; StateInUse for one another process holds."""
    from reconciler.emulator.graph.api import GraphApi
    from reconciler.emulator.graph.server import GraphServer
    from reconciler.emulator.graph.tenant import GraphTenant, SeedError

    root = Path(root)
    provider = entra.provider
    assert provider.kind == "emulator", "only an emulator provider has an embedded tenant"
    seed = _seed_file(root, provider.seed, "entra.provider.seed")
    state = _state_file(root, provider.state, "entra.provider.state")
    files = StateFiles(state)
    files.lock()  # also refuses a state, or lock, that is a link or not a regular file
    try:
        try:
            tenant = GraphTenant.open(seed, state)
        except SeedError as exc:
            raise StateError(f"the emulated Entra tenant: {exc}") from None
        with GraphServer(GraphApi(tenant)) as server:
            yield server
    finally:
        files.close()
