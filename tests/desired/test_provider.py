"""workspace.yaml names its provider: `kind` is required (no silent emulator), and each kind
takes only its own settings. Plan and apply refuse a directory without a kind before they
start anything, and say what to write for Google and for the emulator."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import children
import pytest

from reconciler.desired.write import format_text
from reconciler.settings import EmulatorProvider, GoogleProvider

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desired-state"
HEAD = "directory:\n  domains: [example.com]\nownership:\n  id: acme/identity\n"


def reconciler(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return children.run(
        [sys.executable, "-m", "reconciler", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def example_without_provider(tmp_path: Path) -> Path:
    """The example company as it would have been written before kind was required: no
    provider block, its tenant.yaml next to it."""
    root = tmp_path / "directory"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    workspace = root / "workspace.yaml"
    text = workspace.read_text()
    start = text.index("provider:\n")
    end = text.index("\n\n", start) + 1
    workspace.write_text(text[:start] + text[end:])
    return root


@pytest.mark.parametrize(
    "command",
    [["validate"], ["plan"], ["apply", "--auto-approve"], ["report"], ["import"]],
)
def test_a_workspace_without_provider_is_refused_before_anything_runs(tmp_path, command):
    root = example_without_provider(tmp_path)
    run = reconciler(*command, root, cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    line = next(ln for ln in run.stderr.splitlines() if "provider" in ln)
    # Located at the settings' first line (the example opens with comments).
    assert line.startswith("directory/workspace.yaml:7: workspace: provider: required field")
    assert "`provider: {kind: google, admin_subject:" in line
    assert "docs/google-setup.md" in line and "`provider: {kind: emulator}`" in line
    assert "Traceback" not in run.stderr
    assert "Plan:" not in run.stdout and "No changes" not in run.stdout
    assert not (root / ".reconciler").exists()  # no emulated tenant was started


def test_a_provider_without_kind_is_located_at_the_provider_block(tmp_path):
    (tmp_path / "workspace.yaml").write_text(HEAD + "provider:\n  seed: tenant.yaml\n")
    run = reconciler("validate", ".", cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.splitlines()[0] == (
        "workspace.yaml:5: workspace: provider.kind: required field is missing: for Google "
        "Workspace write `kind: google` (with `admin_subject: <an admin of your domain>`; see "
        "docs/google-setup.md); to try it on a local emulated tenant that is not Google, "
        "write `kind: emulator`"
    )


@pytest.mark.parametrize(
    ("kind", "setting", "belongs_to"),
    [
        ("emulator", "admin_subject: admin@example.com", "google"),
        ("emulator", "credentials: /secure/key.json", "google"),
        ("emulator", "service_account: sa@p.iam.gserviceaccount.com", "google"),
        ("emulator", "endpoint: http://127.0.0.1:9", "google"),
        ("google", "seed: tenant.yaml", "emulator"),
        ("google", "state: .reconciler/emulator.json", "emulator"),
    ],
)
def test_each_kind_refuses_the_other_kinds_settings(tmp_path, kind, setting, belongs_to):
    text = f"{HEAD}provider:\n  kind: {kind}\n  {setting}\n"
    (tmp_path / "workspace.yaml").write_text(text)
    run = reconciler("validate", ".", cwd=tmp_path)
    assert run.returncode == 1
    name = setting.split(":")[0]
    assert run.stderr.splitlines()[0].startswith(
        f"workspace.yaml:7: workspace: provider.{name}: '{name}' is a setting of kind: "
        f"{belongs_to}; with kind: {kind} the allowed fields are kind, "
    )


@pytest.mark.parametrize(
    "provider",
    [
        "provider:\n  kind: emulator\n",
        "provider:\n  kind: emulator\n  seed: null\n  quota_per_minute: 100\n",
        "provider:\n  kind: google\n  admin_subject: admin@example.com\n",
        "provider:\n  kind: google\n  service_account: sa@p.iam.gserviceaccount.com\n"
        "  endpoint: http://127.0.0.1:9\n  batch_size: 10\n",
    ],
)
def test_each_kind_with_its_own_settings_is_valid(tmp_path, provider):
    (tmp_path / "workspace.yaml").write_text(HEAD + provider)
    run = reconciler("validate", ".", cwd=tmp_path)
    assert run.returncode == 0, run.stderr


def test_fmt_keeps_the_provider_keys_in_the_models_order():
    """Both kinds' keys in the order the settings used to have: kind, the kind's own
    settings, then the shared ones."""
    text = (
        HEAD + "provider:\n  batch_size: 10\n  quota_per_minute: 100\n  service_account: sa@x.io\n"
        "  admin_subject: admin@example.com\n  kind: google\n"
    )
    formatted = format_text(text, Path("workspace.yaml"), workspace=True)
    provider = formatted[formatted.index("provider:") :].splitlines()
    keys = [line.split(":")[0].strip() for line in provider[1:]]
    assert keys == ["kind", "admin_subject", "service_account", "quota_per_minute", "batch_size"]


def test_the_embedded_emulator_is_reached_with_its_pacing_and_no_credentials():
    emulator = EmulatorProvider(kind="emulator", quota_per_minute=50, batch_size=7)
    google = emulator.as_google()
    assert isinstance(google, GoogleProvider)
    assert (google.quota_per_minute, google.batch_size) == (50, 7)
    assert (google.admin_subject, google.credentials, google.service_account) == (None,) * 3
    assert google.endpoint is None  # the session gives the emulator's loopback address
