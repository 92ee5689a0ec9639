"""No secret leaks: plan, apply, import and report run end to end with a service-account key
(a throwaway RSA key whose token_uri is the emulator's /token), and neither the key, the
delegation assertion, the access token nor a generated password shows up in any output, log,
audit record, result file or file written anywhere but --password-file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reconciler.emulator.server import jwt_claims
from reconciler.google.credentials import CREDENTIALS_ENV

PRIVATE_KEY_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233a"


def throwaway_key(token_uri: str) -> tuple[dict[str, str], str]:
    """A service-account key file's content and its PEM private key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "throwaway-project",
        "private_key_id": PRIVATE_KEY_ID,
        "private_key": pem,
        "client_email": "directory-sync@throwaway-project.iam.gserviceaccount.com",
        "client_id": "100000000000000000001",
        "token_uri": token_uri,
    }
    return info, pem


def secret_fragments(pem: str) -> list[str]:
    """Pieces of the key that would show a leak in any encoding a log might use: every line
    of the base64 body, and the key id."""
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return [*body, PRIVATE_KEY_ID]


def files_under(*roots: Path, skip: set[Path]) -> list[Path]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.resolve() not in skip:
                found.append(path)
    return found


def test_no_secret_appears_outside_the_password_file(
    tmp_path, state_dir, emulator, cli, monkeypatch
):
    tenant = emulator()
    server = tenant.server
    tokens: list[str] = []
    assertions: list[str] = []
    scopes_seen: list[str] = []
    grant = server._token

    def recording_grant(body: bytes):
        reply = grant(body)
        form = dict(pair.split("=", 1) for pair in body.decode().split("&"))
        assertions.append(form["assertion"])
        scopes_seen.append(jwt_claims(form["assertion"])["scope"])
        tokens.append(json.loads(reply.body)["access_token"])
        return reply

    monkeypatch.setattr(server, "_token", recording_grant)

    secrets_dir = tmp_path / "secrets"  # outside the state directory, like a CI runner's temp
    secrets_dir.mkdir()
    info, pem = throwaway_key(tenant.url + "/token")
    key_file = secrets_dir / "key.json"
    key_file.write_text(json.dumps(info))
    passwords = secrets_dir / "passwords.txt"
    audit, result = tmp_path / "audit.jsonl", tmp_path / "result.json"
    monkeypatch.setenv(CREDENTIALS_ENV, str(key_file))
    monkeypatch.chdir(tmp_path)

    runs = [
        cli("plan", state_dir),
        cli(
            "apply",
            state_dir,
            "--auto-approve",
            "--password-file",
            passwords,
            "--audit-log",
            audit,
            "--result-file",
            result,
        ),
        cli("plan", state_dir, "--detailed-exitcode"),
        cli("import", state_dir, "--mode", "new", "--groups"),
        cli("report", state_dir),
        cli("report", state_dir, "--format", "json"),
        cli("report", state_dir, "--format", "markdown"),
    ]
    assert runs[0].code == 0, runs[0].err
    assert runs[1].code == 0, runs[1].err
    assert runs[2].code == 0 and runs[2].out.startswith("No changes."), runs[2].text
    assert runs[3].code == 0, runs[3].err
    assert all(r.code in (0, 2) for r in runs[4:]), [r.err for r in runs[4:]]

    # The run really used the key: the emulator granted tokens to its assertions.
    assert tokens and assertions
    generated = [line.split(",")[-1] for line in passwords.read_text().splitlines() if line.strip()]
    assert generated, "apply created accounts, so it generated passwords"
    assert passwords.stat().st_mode & 0o077 == 0, "the password file is readable by others"
    assert all(len(p) >= 12 for p in generated)
    secrets = {
        *secret_fragments(pem),
        *tokens,
        *assertions,
        *(a.split(".")[2] for a in assertions),  # the signature alone
        *generated,
    }

    outputs = {
        f"{i}:{name}": text
        for i, r in enumerate(runs)
        for name, text in (("stdout", r.out), ("stderr", r.err))
    }
    skip = {passwords.resolve(), key_file.resolve()}
    for path in files_under(tmp_path, skip=skip):
        outputs[str(path.relative_to(tmp_path))] = path.read_bytes().decode("utf-8", "replace")
    assert "audit.jsonl" in outputs and "result.json" in outputs
    assert any(name.startswith("state/") and name.endswith(".yaml") for name in outputs)

    leaks = [
        (where, secret[:12] + "...")
        for where, text in outputs.items()
        for secret in secrets
        if secret in text
    ]
    assert leaks == []
    # Nor any private key, whatever its origin.
    assert not [w for w, t in outputs.items() if re.search(r"PRIVATE KEY|private_key", t)]


def test_the_password_file_holds_only_new_accounts(tmp_path, state_dir, emulator, cli):
    emulator()
    passwords = tmp_path / "passwords.txt"
    applied = cli("apply", state_dir, "--auto-approve", "--password-file", passwords)
    assert applied.code == 0, applied.err
    created = set(re.findall(r"\+ create user (\S+)", applied.out))
    lines = [line for line in passwords.read_text().splitlines() if line.strip()]
    assert created and len(lines) == len(created)
    # One "email,password" line per new account, nothing else.
    assert {line.split(",")[0] for line in lines} == created
    assert all(len(line.split(",")[1]) >= 12 for line in lines)


@pytest.mark.parametrize("field", ["password", "private_key"])
def test_a_secret_in_git_is_refused_without_echoing_it(tmp_path, state_dir, cli, field):
    value = "hunter2-s3cr3t-value-that-must-not-print"
    users = state_dir / "users" / "engineering.yaml"
    text = users.read_text()
    first = text.index("  - email:")
    end = text.index("\n", first)
    users.write_text(text[: end + 1] + f"    {field}: {value}\n" + text[end + 1 :])
    run = cli("plan", state_dir)
    assert run.code == 1
    assert value not in run.text
    assert "Traceback" not in run.err
