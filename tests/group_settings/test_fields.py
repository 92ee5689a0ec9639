"""The table of group settings Git may set, against the bundled discovery document."""

from __future__ import annotations

import json
from pathlib import Path

import googleapiclient
import pytest

from reconciler.group_settings_fields import BY_KEY, FIELDS, field_named

DOCUMENT = (
    Path(googleapiclient.__file__).parent
    / "discovery_cache"
    / "documents"
    / "groupssettings.v1.json"
)


def properties() -> dict:
    return json.loads(DOCUMENT.read_text())["schemas"]["Groups"]["properties"]


def test_every_field_and_value_is_the_discovery_documents():
    props = properties()
    for field in FIELDS:
        described = props[field.api]["description"]
        assert "deprecated" not in described.lower(), field.api
        assert "read-only" not in described.lower(), field.api
        for value in field.values:
            assert value in described, (field.api, value)
        if field.boolean:
            assert "true" in described and "false" in described, field.api


def test_values_become_the_apis_strings_and_back():
    assert BY_KEY["allow_external_members"].check(False) == "false"
    assert BY_KEY["allow_external_members"].from_api("true") is True
    assert BY_KEY["who_can_join"].check("INVITED_CAN_JOIN") == "INVITED_CAN_JOIN"
    with pytest.raises(ValueError, match=r"did you mean 'INVITED_CAN_JOIN'"):
        BY_KEY["who_can_join"].check("invited_can_join")
    with pytest.raises(ValueError, match="true or false"):
        BY_KEY["allow_web_posting"].check("yes")
    with pytest.raises(ValueError, match="at most 1000 characters"):
        BY_KEY["custom_footer_text"].check("x" * 1001)
    with pytest.raises(ValueError, match=r"did you mean 'who_can_join'"):
        field_named("who_can_joins")
