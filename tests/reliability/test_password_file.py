"""--password-file is always a new file that this run creates, mode 0600, never through a
link. A file that exists already may be open in another process, which would read every
password written to it, and a link would send the passwords (and the chmod) wherever it
points: both are refused before anything is applied."""

from __future__ import annotations

import json
import os
import stat

import pytest

from reconciler.commands import apply as apply_run

MUTATING = (".insert", ".update", ".patch", ".delete", ".undelete", ".makeAdmin")


def writes(tenant) -> int:
    return sum(n for m, n in tenant.server.stats.by_method.items() if m.endswith(MUTATING))


def refused(run, path, what: str) -> None:
    assert run.code == 1, run.text
    assert "Traceback" not in run.err and "internal error" not in run.err
    assert (
        f"Error: refused: --password-file {path} exists already ({what}): passwords go only "
        "to a new file that this run creates, readable by you only; choose a new name, or "
        "delete it first"
    ) in run.err


def test_an_existing_file_is_refused_before_anything_is_read_or_applied(
    state_dir, tmp_path, emulator, cli
):
    tenant = emulator()
    before = tenant.snapshot()
    passwords = tmp_path / "passwords.txt"
    passwords.write_text("someone opened this earlier\n")
    passwords.chmod(0o644)
    run = cli("apply", state_dir, "--auto-approve", "--password-file", passwords)
    refused(run, passwords, "a file")
    assert tenant.server.stats.api_calls == 0
    assert tenant.snapshot() == before
    assert passwords.read_text() == "someone opened this earlier\n"
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o644  # not even narrowed


@pytest.mark.parametrize("target", ["a file elsewhere", "nothing yet"])
def test_a_symbolic_link_is_refused_and_its_target_left_alone(
    state_dir, tmp_path, emulator, cli, target
):
    tenant = emulator()
    elsewhere = tmp_path / "elsewhere" / "collected.txt"
    elsewhere.parent.mkdir()
    if target == "a file elsewhere":
        elsewhere.write_text("")
        elsewhere.chmod(0o644)
    link = tmp_path / "passwords.txt"
    link.symlink_to(elsewhere)
    run = cli("apply", state_dir, "--auto-approve", "--password-file", link)
    refused(run, link, "a symbolic link")
    assert tenant.server.stats.api_calls == 0
    if target == "a file elsewhere":
        assert elsewhere.read_text() == ""
        assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644
    else:
        assert not elsewhere.exists()


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_the_file_is_created_with_mode_0600_whatever_the_umask(
    state_dir, tmp_path, emulator, cli, umask
):
    emulator()
    passwords = tmp_path / "new" / "passwords.txt"
    previous = os.umask(umask)
    try:
        run = cli("apply", state_dir, "--auto-approve", "--password-file", passwords)
    finally:
        os.umask(previous)
    assert run.code == 0, run.err
    assert stat.S_IMODE(passwords.stat().st_mode) == 0o600
    assert not passwords.is_symlink()
    assert len(passwords.read_text().splitlines()) == 2  # the two accounts created


def test_a_file_that_appears_while_planning_is_refused_before_the_first_write(
    state_dir, tmp_path, emulator, cli, monkeypatch
):
    """Someone creates the file between the first look and the writes: creating it
    exclusively fails, and nothing is applied."""
    tenant = emulator()
    passwords = tmp_path / "passwords.txt"
    result = tmp_path / "result.json"
    planned = apply_run.plan_for

    def plan_then_plant(*args, **kwargs):
        answer = planned(*args, **kwargs)
        passwords.write_text("planted\n")
        return answer

    monkeypatch.setattr(apply_run, "plan_for", plan_then_plant)
    run = cli(
        "apply", state_dir, "--auto-approve", "--password-file", passwords, "--result-file", result
    )
    refused(run, passwords, "a file")
    assert writes(tenant) == 0
    assert passwords.read_text() == "planted\n"
    outcome = json.loads(result.read_text())
    assert outcome["status"] == "refused" and "--password-file" in outcome["reason"]


def test_no_file_is_made_when_no_account_is_created(state_dir, tmp_path, emulator, cli):
    emulator()
    first = cli("apply", state_dir, "--auto-approve", "--password-file", tmp_path / "first.txt")
    assert first.code == 0, first.err
    again = cli("apply", state_dir, "--auto-approve", "--password-file", tmp_path / "again.txt")
    assert again.code == 0, again.err
    assert not (tmp_path / "again.txt").exists()
