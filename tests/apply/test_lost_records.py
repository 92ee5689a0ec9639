"""A run stopped while a batch of account creations is on the wire loses no record: the
passwords are in the password file and the audit log has a `started` record for each before
the batch goes out; Ctrl-C and SIGTERM leave a result file saying `interrupted`; and the next
apply names the accounts created with a password nobody saw confirmed.

The apply is a child process; the emulator (in this process) holds the second batch of
creations until the child is stopped, then lets it land (or loses it), as Google finishes a
request whose client is gone.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from .company import email, write_company
from .held import USERS_INSERT, HeldWrite
from .support import Tenant, apply_stopped_when

PEOPLE = 40
BATCH = 10
IN_FLIGHT = {email(i) for i in range(BATCH, 2 * BATCH)}  # the second batch
SIGNALS = {"SIGKILL": signal.SIGKILL, "SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM}


@pytest.fixture
def company(tmp_path, emulator) -> tuple[Path, Tenant]:
    root = tmp_path / "company"
    return root, emulator(seed=write_company(root, people=PEOPLE, batch_size=BATCH))


def stopped_apply(root: Path, tenant: Tenant, sig: int, *args, lose: bool = False) -> int:
    """Run apply in a child, stop it with `sig` while the second batch of creations is held,
    reap it, then let that batch land in Google (or lose it). Returns the exit status."""
    held = HeldWrite(tenant.server, USERS_INSERT, nth=2)
    try:
        return apply_stopped_when(held.arrived.is_set, root, sig, *args, cwd=root.parent)
    finally:
        held.lose() if lose else held.release()


def created_users(tenant: Tenant) -> set[str]:
    return {e for e in tenant.users() if e.startswith("user")}


def records(audit: Path) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines()]


def password_lines(path: Path) -> list[tuple[str, str]]:
    return [tuple(line.split(",", 1)) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("name", SIGNALS)
def test_creations_on_the_wire_keep_their_passwords_and_records(company, tmp_path, cli, name):
    root, tenant = company
    audit, result, passwords = (tmp_path / n for n in ("audit.jsonl", "result.json", "pw.csv"))
    files = ("--audit-log", audit, "--result-file", result, "--password-file", passwords)
    code = stopped_apply(root, tenant, SIGNALS[name], *files)
    err = (tmp_path / "err.txt").read_text()
    assert "Traceback" not in err

    # Google made the accounts of the batch in flight: each has its password and records.
    made = created_users(tenant)
    assert made >= IN_FLIGHT and len(made) == 2 * BATCH
    lines = password_lines(passwords)
    assert {e for e, _ in lines} == made and len(lines) == len(made)
    assert passwords.stat().st_mode & 0o777 == 0o600
    log = records(audit)
    creates = [r for r in log if (r["kind"], r["action"]) == ("user", "create")]
    started = {r["key"] for r in creates if r["result"] == "started"}
    confirmed = {r["key"] for r in creates if r["result"] == "applied"}
    assert made <= started and confirmed == made - IN_FLIGHT

    if name == "SIGKILL":
        assert code == -signal.SIGKILL
        assert not result.exists()
    else:
        assert code == 1
        assert "Interrupted." in err
        assert f"The creation of {email(BATCH)} was sent but not answered" in err
        outcome = json.loads(result.read_text())
        assert outcome["status"] == "interrupted"
        assert {c["key"] for c in outcome["in_flight"]} == IN_FLIGHT
        assert outcome["applied"] == len(outcome["results"]) < 2 * BATCH + 4
    # Where the unconfirmed creations are kept: addresses only, git-ignored.
    kept = root / ".reconciler" / "unconfirmed-creations.json"
    assert set(json.loads(kept.read_text())["users"]) == IN_FLIGHT
    assert (root / ".reconciler" / ".gitignore").read_text().endswith("*\n")

    # The next apply names each account whose password nobody saw confirmed, and where it is.
    result2, passwords2 = tmp_path / "result2.json", tmp_path / "pw2.csv"
    # A new password file: one that exists is refused (it may be open elsewhere).
    rerun = cli(
        "apply", root, "--auto-approve", "--result-file", result2, "--password-file", passwords2
    )
    assert rerun.code == 0, rerun.text
    for address in IN_FLIGHT:
        assert (
            f"Warning: {address} was created by an earlier apply that stopped before Google "
            f"confirmed it"
        ) in rerun.err
    assert f"its one-time password is the last line for it in {passwords}" in rerun.err
    earlier = json.loads(result2.read_text())["unconfirmed_earlier"]
    assert {e["email"] for e in earlier} == IN_FLIGHT
    assert all(e["exists"] and e["password_kept"] for e in earlier)
    # The in-flight accounts kept their one line in the first file; the rest got theirs now.
    lines = password_lines(passwords) + password_lines(passwords2)
    assert {e for e, _ in password_lines(passwords)} >= IN_FLIGHT
    assert not IN_FLIGHT & {e for e, _ in password_lines(passwords2)}
    assert sorted(e for e, _ in lines) == sorted(created_users(tenant))
    assert len(created_users(tenant)) == PEOPLE
    # Said once: the record is gone, the next run is quiet.
    assert not kept.exists()
    again = cli("apply", root, "--auto-approve")
    assert again.code == 0 and "earlier apply" not in again.err

    # Never a password anywhere but the password file.
    secrets = [p for _, p in lines]
    texts = [rerun.text, again.text, *(p.read_text() for p in tmp_path.glob("*.*") if p.is_file())]
    texts = [t for t in texts if t not in (passwords.read_text(), passwords2.read_text())]
    assert not [s for s in secrets if any(s in t for t in texts)]


def test_without_a_password_file_the_next_apply_says_whose_password_nobody_saw(
    company, tmp_path, cli
):
    root, tenant = company
    assert stopped_apply(root, tenant, signal.SIGKILL) == -signal.SIGKILL
    assert created_users(tenant) >= IN_FLIGHT
    rerun = cli("apply", root, "--auto-approve")
    assert rerun.code == 0, rerun.text
    for address in IN_FLIGHT:
        assert (
            f"Warning: {address} was created by an earlier apply that stopped before Google "
            "confirmed it"
        ) in rerun.err
    assert "with a random password nobody saw (no --password-file): reset its password" in (
        rerun.err
    )


def test_a_creation_that_never_reached_google_is_made_afresh(company, tmp_path, cli):
    root, tenant = company
    passwords = tmp_path / "pw.csv"
    code = stopped_apply(root, tenant, signal.SIGKILL, "--password-file", passwords, lose=True)
    assert code == -signal.SIGKILL
    assert not IN_FLIGHT & created_users(tenant)
    passwords2 = tmp_path / "pw2.csv"
    rerun = cli("apply", root, "--auto-approve", "--password-file", passwords2)
    assert rerun.code == 0, rerun.text
    assert (
        f"Note: an earlier apply stopped before Google answered the creation of {email(BATCH)}"
    ) in rerun.err
    assert f"The password written for it to {passwords} was never used." in rerun.err
    # Made now, with a new password in this run's own new file.
    assert created_users(tenant) >= IN_FLIGHT
    first, second = password_lines(passwords), password_lines(passwords2)
    for address in IN_FLIGHT:
        old = [p for e, p in first if e == address]
        new = [p for e, p in second if e == address]
        assert len(old) == len(new) == 1 and old != new
