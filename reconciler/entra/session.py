"""Opening the Microsoft Graph connection an `entra:` block names: an in-process emulator
serving the directory's Entra tenant (`provider.kind: emulator`), or Microsoft Graph."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from reconciler.entra_settings import GUID

if TYPE_CHECKING:
    from reconciler.entra.client import GraphClient
    from reconciler.entra_settings import Entra


# Another app registration for this run (a read-only one for pull-request plans: docs/entra.md).
CLIENT_ID_ENV = "RECONCILER_ENTRA_CLIENT_ID"


@contextmanager
def graph_session(
    entra: Entra, root: Path, env: Mapping[str, str] = os.environ
) -> Iterator[GraphClient]:
    """A Graph client for the block's provider, through msal's token endpoint either way; as
    the app RECONCILER_ENTRA_CLIENT_ID names when it is set, else `entra.client_id`."""
    from reconciler.entra.client import GraphClient, GraphError

    override = env.get(CLIENT_ID_ENV, "").strip()
    if override:
        if not GUID.fullmatch(override):
            raise GraphError(f"{CLIENT_ID_ENV} is not a GUID: write the app's client id there")
        entra = entra.model_copy(update={"client_id": override.lower()})
    provider = entra.provider
    if provider.kind == "emulator":
        from reconciler.emulator.embedded import open_embedded_entra

        with open_embedded_entra(root, entra) as server:
            yield GraphClient.connect(entra, root, endpoint=server.base_url)
        return
    yield GraphClient.connect(entra, root, endpoint=provider.endpoint)
