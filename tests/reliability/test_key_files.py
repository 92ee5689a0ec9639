"""A malformed service-account key file is refused without quoting it: whatever shape the
file has (a private_key that is a list, a map or a number, a JSON list at the top, JSON cut
short, binary bytes, a private key that does not parse), `plan` and `apply` exit 1 with a
message in our words, no traceback, and no part of the key in stdout or stderr.

google-auth puts values into its messages ("{...} could not be converted to bytes"), so
every one of these used to print the whole key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import google.auth
import pytest
from cli_support import GOOGLE_WORKSPACE, JO, write_state

from reconciler.google.credentials import CREDENTIALS_ENV

from .test_secrets import PRIVATE_KEY_ID, secret_fragments, throwaway_key

USERS = JO + "bindings:\n  - user: jo.lei@example.com\n"
REAL_DEFAULT = google.auth.default  # before the suite's isolation replaces it
# A number standing for key material: its digits must not be shown either.
KEY_NUMBER = 31415926535897932384626433832795028841971


def malformed(info: dict, pem: str, shape: str) -> bytes:
    """The bytes of a key file of one malformed shape, made from a real key."""
    if shape == "private_key a list":
        return json.dumps({**info, "private_key": pem.splitlines()}).encode()
    if shape == "private_key a map":
        return json.dumps({**info, "private_key": {"pem": pem, "id": PRIVATE_KEY_ID}}).encode()
    if shape == "private_key a number":
        return json.dumps({**info, "private_key": KEY_NUMBER}).encode()
    if shape == "a list at the top":
        return json.dumps([info]).encode()
    if shape == "JSON cut short":
        text = json.dumps(info)
        return text[: text.index("-----END")].encode()
    if shape == "binary":
        return b"\x00\xff\xfe" + json.dumps(info).encode() + b"\x80"
    if shape == "private_key that does not parse":
        lines = pem.splitlines()
        return json.dumps({**info, "private_key": "\n".join(lines[:3] + lines[-1:])}).encode()
    if shape == "private_key_id a list":
        return json.dumps({**info, "private_key_id": [PRIVATE_KEY_ID, pem]}).encode()
    raise AssertionError(shape)


SHAPES = [
    "private_key a list",
    "private_key a map",
    "private_key a number",
    "a list at the top",
    "JSON cut short",
    "binary",
    "private_key that does not parse",
    "private_key_id a list",
]


@pytest.fixture
def google_dir(tmp_path: Path) -> Path:
    return write_state(
        tmp_path / "google", {"workspace.yaml": GOOGLE_WORKSPACE, "users.yaml": USERS}
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_a_malformed_key_file_is_refused_without_quoting_it(
    shape, google_dir, tmp_path, emulator, cli, monkeypatch
):
    tenant = emulator(seed={"domains": ["example.com"]})
    info, pem = throwaway_key(tenant.url + "/token")
    key_file = tmp_path / "secrets" / "key.json"
    key_file.parent.mkdir()
    key_file.write_bytes(malformed(info, pem, shape))
    monkeypatch.setenv(CREDENTIALS_ENV, str(key_file))
    monkeypatch.chdir(tmp_path)
    secrets = [*secret_fragments(pem), str(KEY_NUMBER), "PRIVATE KEY"]
    for args in (("plan", google_dir), ("apply", google_dir, "--auto-approve")):
        run = cli(*args)
        assert run.code == 1, run.text
        assert "Traceback" not in run.err and "internal error" not in run.err
        assert run.err.startswith(f"Error: Google credentials: the key file {key_file} "), run.err
        assert [s[:12] for s in secrets if s in run.text] == []
        assert len(run.err) < 300, run.err
    assert tenant.server.stats.api_calls == 0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_key_file_that_is_a_fifo_is_refused_without_waiting(
    google_dir, tmp_path, emulator, cli, monkeypatch
):
    emulator(seed={"domains": ["example.com"]})
    fifo = tmp_path / "key.json"
    os.mkfifo(fifo)
    monkeypatch.setenv(CREDENTIALS_ENV, str(fifo))
    run = cli("plan", google_dir)
    assert run.code == 1
    assert run.err == (
        f"Error: Google credentials: the key file {fifo} ({CREDENTIALS_ENV}) is not a regular "
        "file (a FIFO): refused\n"
    )


def test_a_key_file_behind_a_link_is_still_used(google_dir, tmp_path, emulator, cli, monkeypatch):
    """Secret mounts (Kubernetes, CI runners) are links: a link to the key is followed."""
    tenant = emulator()
    info, _ = throwaway_key(tenant.url + "/token")
    real = tmp_path / "mounted" / "key.json"
    real.parent.mkdir()
    real.write_text(json.dumps(info))
    (tmp_path / "key.json").symlink_to(real)
    monkeypatch.setenv(CREDENTIALS_ENV, str(tmp_path / "key.json"))
    run = cli("plan", google_dir)
    assert run.code == 0, run.err
    assert tenant.server.stats.token_grants == 1


@pytest.mark.parametrize("shape", ["private_key a list", "a list at the top", "JSON cut short"])
def test_application_default_credentials_are_refused_without_quoting_them(
    shape, google_dir, tmp_path, cli, monkeypatch
):
    """The same files named by GOOGLE_APPLICATION_CREDENTIALS, read by google-auth itself:
    only the first sentence of its error is shown, never the error it wraps."""
    info, pem = throwaway_key("https://oauth2.googleapis.com/token")
    key_file = tmp_path / "adc.json"
    key_file.write_bytes(malformed(info, pem, shape))
    monkeypatch.setattr(google.auth, "default", REAL_DEFAULT)  # no network: the file fails
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    run = cli("plan", google_dir)
    assert run.code == 1, run.text
    assert run.err.startswith("Error: Google credentials: "), run.err
    assert "Traceback" not in run.err and "internal error" not in run.err
    secrets = [*secret_fragments(pem), "PRIVATE KEY"]
    assert [s[:12] for s in secrets if s in run.text] == []
