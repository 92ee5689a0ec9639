"""Every live scenario against a real Google Workspace test tenant, only when the
RECONCILER_LIVE_* variables name one (docs/development.md, "Live tests against a test
tenant"); otherwise the whole module is skipped with one line saying which to set.

Run it alone and serially: `pytest tests/live/test_google.py -p no:xdist`. Each scenario
starts by deleting whatever an earlier, aborted run left under the prefix in the org unit,
and ends by deleting what it made; every plan is checked by the guard before it is applied.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .scenarios import SCENARIOS
from .target import (
    CUSTOMER_VARIABLE,
    LICENSE_VARIABLE,
    LIVE_VARIABLES,
    SERVICE_ACCOUNT_VARIABLE,
    Target,
    live_problems,
    live_settings,
)

SETTINGS = live_settings()
if SETTINGS is None:
    pytest.skip(
        f"live tests against Google: set {', '.join(LIVE_VARIABLES)} (and credentials: "
        f"RECONCILER_GOOGLE_CREDENTIALS or {SERVICE_ACCOUNT_VARIABLE}) to run them",
        allow_module_level=True,
    )


@pytest.fixture
def target(tmp_path: Path, cli: Callable[..., Any]) -> Iterator[Target]:
    assert SETTINGS is not None
    problems = live_problems(SETTINGS)
    assert not problems, "; ".join(problems)
    base = SETTINGS["RECONCILER_LIVE_PREFIX"]
    t = Target(
        kind="google",
        domain=SETTINGS["RECONCILER_LIVE_DOMAIN"],
        org_unit=SETTINGS["RECONCILER_LIVE_ORG_UNIT"],
        prefix=Target.scenario_prefix(base),
        base_prefix=base,
        admin_subject=SETTINGS["RECONCILER_LIVE_ADMIN_SUBJECT"],
        workdir=tmp_path,
        cli=cli,
        customer=os.environ.get(CUSTOMER_VARIABLE) or "my_customer",
        license_sku=os.environ.get(LICENSE_VARIABLE) or None,
        service_account=os.environ.get(SERVICE_ACCOUNT_VARIABLE) or None,
    )
    t.cleanup()  # what an earlier, aborted run left
    try:
        yield t
    finally:
        t.cleanup()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str, target: Target) -> None:
    SCENARIOS[name](target)
