"""A write a killed apply sent can land after the next apply read Google: the crash suite's
`most-users` kill point once failed that way (the rerun planned `aliases: [] -> [u030@...]`
for user030 and got `409 duplicate`: the alias insert the killed run sent landed between the
rerun's read and its write). Google (and the emulator) finishes a request whose client is
gone; each write is atomic, but nothing orders it before the next run's read. So an alias
insert answered 409 counts as done when a fresh read shows its owner holds the address, and
only then.

The emulator holds the killed run's alias insert until the rerun has listed the users, then
lets it land: the same interleaving, every time.
"""

from __future__ import annotations

import json
import signal

from apply.company import assert_tenant_is_the_company, email, write_company
from apply.held import USER_ALIAS_INSERT, USERS_LIST, HeldWrite, after_first
from apply.support import apply_stopped_when

PEOPLE = 40
BATCH = 10
LATE = email(30)  # every tenth user has an alias: user030's is the fourth insert


def test_an_alias_the_killed_run_sent_lands_after_the_rerun_read(tmp_path, emulator, cli):
    root = tmp_path / "company"
    tenant = emulator(seed=write_company(root, people=PEOPLE, batch_size=BATCH))
    held = HeldWrite(tenant.server, USER_ALIAS_INSERT, nth=4)
    code = None
    try:
        code = apply_stopped_when(held.arrived.is_set, root, signal.SIGKILL, cwd=tmp_path)
    finally:
        if code != -signal.SIGKILL:
            held.release()
    assert code == -signal.SIGKILL
    assert "u030@example.com" not in tenant.users()[LATE].get("aliases", [])

    # The rerun lists the users, then the killed run's insert lands, then the rerun adds it.
    after_first(tenant.server, USERS_LIST, held.release)
    audit = tmp_path / "audit.jsonl"
    rerun = cli("apply", root, "--auto-approve", "--audit-log", audit)
    assert rerun.code == 0, rerun.text
    assert "aliases: [] -> [u030@example.com]" in rerun.out  # planned before it landed
    outcome = next(
        r
        for r in map(json.loads, audit.read_text().splitlines())
        if r["key"] == LATE and r["result"] != "started"
    )
    assert outcome["result"] == "applied"
    assert outcome["notes"] == [
        f"users.aliases.insert {LATE} u030@example.com: {LATE} holds u030@example.com already"
    ]
    after = cli("plan", root, "--detailed-exitcode")
    assert after.code == 0 and after.out.startswith("No changes."), after.out
    assert_tenant_is_the_company(tenant.snapshot(), PEOPLE)


def test_an_alias_someone_else_holds_still_fails(tmp_path, emulator, cli):
    """The 409 of an address another account holds is a real conflict, not done."""
    root = tmp_path / "company"
    tenant = emulator(seed=write_company(root, people=PEOPLE, batch_size=BATCH))
    assert cli("apply", root, "--auto-approve").code == 0
    tenant.api("DELETE", "users/user030@example.com/aliases/u030@example.com")
    tenant.api("POST", "users/user031@example.com/aliases", {"alias": "u030@example.com"})
    rerun = cli("apply", root, "--auto-approve")
    assert rerun.code == 1
    assert "users.aliases.insert user030@example.com u030@example.com: 409" in rerun.err
    assert "holds u030@example.com already" not in rerun.text
