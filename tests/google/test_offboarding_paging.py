"""Offboarding's Data Transfer reads page on: applications.list through ops.applications
(the transfers of one account beyond a page: tests/apply/test_offboarding_reads.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import CUSTOMER, connect, stats

from reconciler.google import credentials, ops

DATATRANSFER = "https://www.googleapis.com/auth/admin.datatransfer"


def test_applications_are_read_beyond_the_first_page(
    emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """ops.applications asks no page size, and the emulator's three applications fit one
    page: here each page holds one, so Calendar and Looker Studio are on later pages (a
    transfer that lacked Calendar would leave the account's events behind)."""
    wanted = [*credentials.scopes(read_only=False), DATATRANSFER]
    monkeypatch.setattr(credentials, "scopes", lambda *_args, **_kwargs: wanted)
    client = connect(emulator, tmp_path)
    service = client.transfers.service
    real = service.applications

    class OnePerPage:
        def __init__(self) -> None:
            self.inner = real()

        def list(self, **kwargs: Any) -> Any:
            return self.inner.list(maxResults=1, **kwargs)

    monkeypatch.setattr(service, "applications", OnePerPage)
    apps = ops.applications(client, CUSTOMER)
    assert [a["name"] for a in apps] == ["Drive and Docs", "Calendar", "Looker Studio"]
    assert stats(emulator)["by_method"]["datatransfer.applications.list"] == 3
