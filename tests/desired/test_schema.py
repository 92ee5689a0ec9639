"""The committed JSON Schemas match the models, and accept what the loader accepts."""

import json
from pathlib import Path

from reconciler.cli import main
from reconciler.desired.schema import SCHEMA_FILES, schema_text

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_are_up_to_date():
    for name, kind in SCHEMA_FILES.items():
        committed = (ROOT / "schemas" / name).read_text(encoding="utf-8")
        assert committed == schema_text(kind), (
            f"schemas/{name} is out of date: run `reconciler schema --out-dir schemas`"
        )


def test_schema_rejects_unknown_fields_and_names_every_field():
    schema = json.loads(schema_text("files"))
    user = schema["$defs"]["UserEntry"]
    assert user["additionalProperties"] is False
    assert set(user["required"]) == {"email", "given_name", "family_name"}
    assert {"manager", "previous_emails", "state", "aliases"} <= set(user["properties"])
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"users", "groups", "org_units", "bindings"}


def test_schema_command_writes_a_file(tmp_path, capsys):
    out = tmp_path / "s.json"
    try:
        main(["schema", "--workspace", "--out", str(out)])
    except SystemExit as exc:
        assert exc.code == 0
    schema = json.loads(out.read_text())
    assert set(schema["required"]) == {"directory", "ownership", "provider"}
    provider = schema["properties"]["provider"]
    assert provider["discriminator"]["propertyName"] == "kind"
    for kind in ("EmulatorProvider", "GoogleProvider"):
        assert schema["$defs"][kind]["required"] == ["kind"]
        assert schema["$defs"][kind]["additionalProperties"] is False


def test_committed_yaml_reference_is_up_to_date():
    from reconciler.desired.reference import reference_markdown

    committed = (ROOT / "docs" / "yaml-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), (
        "docs/yaml-reference.md is out of date: run "
        "`reconciler schema --reference --out docs/yaml-reference.md`"
    )


def test_yaml_reference_lists_every_field():
    from reconciler.desired.models import ENTRY_MODELS
    from reconciler.desired.reference import reference_markdown
    from reconciler.settings import Workspace

    text = reference_markdown()
    for model in [Workspace, *ENTRY_MODELS.values()]:
        for name, field in model.model_fields.items():
            key = field.alias or name  # as YAML writes it (`import`)
            assert f"| `{key}` |" in text, key


def test_sync_attributes_are_the_state_attributes_and_aliases():
    from reconciler.settings import SYNCABLE_ATTRIBUTES
    from reconciler.state import USER_ATTRIBUTES

    assert (*USER_ATTRIBUTES, "aliases") == SYNCABLE_ATTRIBUTES


def test_every_user_attribute_is_a_field_of_the_yaml_model_and_of_the_state():
    """The one list names fields that exist on both sides, or resolving would fail."""
    from dataclasses import fields

    from reconciler.desired.models import UserEntry
    from reconciler.state import USER_ATTRIBUTES, User

    state_fields = {f.name for f in fields(User)}
    for name in USER_ATTRIBUTES:
        assert name in UserEntry.model_fields, name
        assert name in state_fields, name
