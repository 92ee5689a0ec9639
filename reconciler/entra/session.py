"""Opening the Microsoft Graph connection an `entra:` block names: an in-process emulator
serving the directory's Entra tenant (`provider.kind: emulator`), or Microsoft Graph."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.entra.client import GraphClient
    from reconciler.entra_settings import Entra


@contextmanager
def graph_session(entra: Entra, root: Path) -> Iterator[GraphClient]:
    """A Graph client for the block's provider, through msal's token endpoint either way."""
    from reconciler.entra.client import GraphClient

    provider = entra.provider
    if provider.kind == "emulator":
        from reconciler.emulator.embedded import open_embedded_entra

        with open_embedded_entra(root, entra) as server:
            yield GraphClient.connect(entra, root, endpoint=server.base_url)
        return
    yield GraphClient.connect(entra, root, endpoint=provider.endpoint)
