"""workspace.yaml's `entra:` block: the Microsoft Entra ID tenant the groups marked
`entra: true` are exported to, as security groups, and where that tenant is reached (a local
emulator, or Microsoft Graph)."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from reconciler.entra.endpoint import endpoint_problem
from reconciler.fields import STRICT
from reconciler.problems import excerpt

# A GUID as Entra writes its ids: 8-4-4-4-12 hexadecimal digits.
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
ENTRA_STATE = ".reconciler/entra.json"
ENTRA_SEED = "entra-tenant.yaml"


class EntraEmulatorProvider(BaseModel):
    """kind: emulator: a local emulated Entra tenant; nothing reaches Microsoft.

    For trying the export and for tests: plans and applies change only the local state file."""

    model_config = STRICT

    kind: Literal["emulator"] = Field(
        description="emulator: export to a local emulated Entra tenant, not Microsoft Graph."
    )
    seed: str | None = Field(
        ENTRA_SEED,
        description="The file of Graph-shaped users and groups the emulated tenant starts "
        "from, inside the state directory (never read as desired state).",
    )
    state: str = Field(
        ENTRA_STATE,
        description="Where the emulated tenant persists, inside the state directory.",
    )


class EntraGraphProvider(BaseModel):
    """kind: graph: the real Entra tenant, through Microsoft Graph."""

    model_config = STRICT

    kind: Literal["graph"] = Field(description="graph: the real tenant, through Microsoft Graph.")
    credentials: str | None = Field(
        None,
        description="A PEM file holding the app registration's certificate and private key. "
        "Absent: workload identity federation from the CI's OIDC token (GitHub Actions). "
        "Never commit it.",
    )
    endpoint: str | None = Field(
        None, description="Base URL of Microsoft Graph, e.g. a running emulator's URL."
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        problem = endpoint_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


# Where the Entra tenant is reached. `kind` is required, as for the Google provider: nothing
# defaults to the emulator.
EntraProvider = Annotated[EntraEmulatorProvider | EntraGraphProvider, Field(discriminator="kind")]


def _guid(value: Any) -> Any:
    if isinstance(value, str) and not GUID.fullmatch(value):
        raise ValueError(
            f"{excerpt(repr(value))} is not a GUID: copy it from the app registration's "
            "overview in the Entra admin center (8-4-4-4-12 hexadecimal digits, e.g. "
            "00000000-0000-0000-0000-000000000000)"
        )
    return value.lower() if isinstance(value, str) else value


class Entra(BaseModel):
    """Microsoft Entra ID: the tenant the groups marked `entra: true` are exported to.

    Each is exported as a security group, matched by display name. Absent: nothing is
    exported, and a group's `entra: true` is an error."""

    model_config = STRICT

    tenant_id: str = Field(description="The Entra tenant's id (a GUID).")
    client_id: str = Field(
        description="The application (client) id of the app registration the export signs "
        "in as (a GUID)."
    )
    provider: EntraProvider = Field(
        description="Where the Entra tenant is reached: `kind: graph` or `kind: emulator`; "
        "required, never assumed."
    )

    @field_validator("tenant_id", "client_id", mode="before")
    @classmethod
    def _guids(cls, value: Any) -> Any:
        return _guid(value)

    # What to write when a required key is missing, by its dotted path below workspace.yaml
    # (Workspace.missing_help takes these in).
    missing_help: ClassVar[dict[str, str]] = {
        "entra.tenant_id": "write the Directory (tenant) ID shown on the app registration's "
        "overview in the Entra admin center",
        "entra.client_id": "write the Application (client) ID shown on the app "
        "registration's overview in the Entra admin center",
        "entra.provider": "say where the Entra tenant is reached: `provider: {kind: graph}` "
        "for Microsoft Graph, or `provider: {kind: emulator}` to try it on a local emulated "
        "tenant",
        "entra.provider.kind": "write `kind: graph` for Microsoft Graph, or `kind: emulator` "
        "for a local emulated tenant",
    }
