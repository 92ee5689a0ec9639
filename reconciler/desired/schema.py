"""JSON Schema of the desired-state files and of workspace.yaml, generated from the models."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from reconciler.desired.models import BindingEntry, GroupEntry, OrgUnitEntry, UserEntry
from reconciler.fields import STRICT
from reconciler.settings import Workspace

SCHEMA_FILES = {
    "desired-state.schema.json": "files",
    "workspace.schema.json": "workspace",
}


class DesiredFile(BaseModel):
    """A desired-state file: any of these keys, each a list of entries."""

    model_config = STRICT

    org_units: list[OrgUnitEntry] | None = None
    users: list[UserEntry] | None = None
    groups: list[GroupEntry] | None = None
    bindings: list[BindingEntry] | None = Field(None, description="Who gets a Google account.")


def schema_for(kind: str) -> dict[str, Any]:
    """The JSON Schema of a desired-state file ("files") or of workspace.yaml ("workspace")."""
    model: type[BaseModel] = DesiredFile if kind == "files" else Workspace
    schema = model.model_json_schema(mode="validation")
    name = "desired-state" if kind == "files" else "workspace"
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{name}.schema.json",
        **schema,
    }


def schema_text(kind: str = "files") -> str:
    """The schema as stable, diff-friendly JSON text."""
    return json.dumps(schema_for(kind), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
