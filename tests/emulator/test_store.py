"""TenantStore: seeds, persistence across restarts, torn journals, compaction, reset."""

from __future__ import annotations

import errno
import json
import os
import sys
from pathlib import Path

import children
import pytest

from reconciler.emulator import store as store_module
from reconciler.emulator.api import DirectoryApi
from reconciler.emulator.journal import StateError, StateFiles, StateInUse
from reconciler.emulator.store import TenantStore
from reconciler.problems import InvalidInput

from .api_support import EXAMPLE_SEED, PASSWORD, SMALL_SEED, Client, Clock, key, make, new_user
from .big_seed import generate

JO = "users/" + key("jo@example.com")
ENG = "groups/" + key("eng@example.com")


def client_for(store: TenantStore) -> Client:
    return Client(DirectoryApi(store, clock=store.clock))


def journal(state: Path) -> Path:
    return state.with_name(state.name + ".journal")


def base(state: Path) -> Path:
    return state.with_name(state.name + ".base")


def emails(client: Client) -> list[str]:
    return [u["primaryEmail"] for u in client.list_all("users", "users", customer="my_customer")]


def crash(store: TenantStore) -> None:
    """What the death of the store's process leaves: its lock released, nothing compacted."""
    store.close(compact=False)


# ---- seeds --------------------------------------------------------------------------------


def test_no_seed_is_an_empty_tenant_on_example_com() -> None:
    client = make(None)
    assert "users" not in client.ok("GET", "users", customer="my_customer")
    assert client.ok("POST", "users", new_user("first@example.com"))["primaryEmail"]
    client.fails(404, "notFound", "POST", "users", new_user("x@example.org"))


def test_absent_keys_mean_empty() -> None:
    store = TenantStore(seed={"domains": ["acme.test"]})
    doc = store.snapshot()
    assert doc["domains"] == ["acme.test"]
    assert doc["users"] == doc["groups"] == doc["orgUnits"] == doc["schemas"] == []


def test_yaml_and_json_seeds_load_alike(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    path.write_text(json.dumps(SMALL_SEED))
    from_json = TenantStore(seed=path).snapshot()
    from_dict = TenantStore(seed=SMALL_SEED).snapshot()
    assert [u["primaryEmail"] for u in from_json["users"]] == [
        u["primaryEmail"] for u in from_dict["users"]
    ]
    example = TenantStore(seed=EXAMPLE_SEED).snapshot()
    assert len(example["users"]) == 20 and len(example["groups"]) == 7
    assert {g["email"]: len(g["members"]) for g in example["groups"]}["dev@example.com"] == 5


def test_seed_generates_ids_and_etags_and_keeps_given_ones() -> None:
    seed = {
        "domains": ["example.com"],
        "users": [
            {
                "id": "111111111111111111111",
                "etag": '"given"',
                "primaryEmail": "a@example.com",
                "name": {"givenName": "A", "familyName": "B"},
                "password": PASSWORD,
            }
        ],
    }
    doc = TenantStore(seed=seed).snapshot()
    user = doc["users"][0]
    assert user["id"] == "111111111111111111111" and user["etag"] == '"given"'
    assert "password" not in user


def test_seed_problems_are_all_reported_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "tenant.yaml"
    path.write_text(
        "domains: [example.com]\n"
        "users:\n"
        "  - primaryEmail: a@example.com\n"
        "    name: {givenName: A, familyName: B}\n"
        "    orgUnitPath: /\n"
        "  - primaryemail: b@example.com\n"
        "  - primaryEmail: a@example.com\n"
        "    name: {givenName: A, familyName: C}\n"
        "  - primaryEmail: c@other.com\n"
        "    name: {givenName: C, familyName: D}\n"
        "    orgUnitPath: /Nowhere\n"
        "groups:\n"
        "  - email: g@example.com\n"
        "    members:\n"
        "      - {email: ghost@example.com}\n"
        "      - {email: g@example.com}\n"
        "      - {email: x@outside.net, type: USER}\n"
        "      - {email: x@outside.net, role: BOSS}\n"
        "bogus: 1\n"
    )
    with pytest.raises(InvalidInput) as caught:
        TenantStore(seed=path)
    rendered = str(caught.value)
    for expected in (
        "tenant.yaml:6: users[1]: unknown field 'primaryemail' (did you mean 'primaryEmail'?)",
        "tenant.yaml:6: users[1]: Missing required field: primaryEmail",
        "tenant.yaml:7: users[2] (a@example.com): Entity already exists.",
        "tenant.yaml:9: users[3] (c@other.com): Domain not found.",
        "members[0]: no user or group has the address ghost@example.com",
        "members[1]: a group cannot be a member of itself",
        "members[2]: type USER, but this member is EXTERNAL",
        "members[3]: role must be one of OWNER, MANAGER, MEMBER",
        "tenant.yaml:19: the seed: unknown field 'bogus'",
    ):
        assert expected in rendered, rendered


def test_seed_org_units_any_order_and_consistency() -> None:
    seed = {
        "domains": ["example.com"],
        "orgUnits": [
            {"orgUnitPath": "/A/B/C"},
            {"orgUnitPath": "/A"},
            {"name": "B", "parentOrgUnitPath": "/A"},
        ],
    }
    doc = TenantStore(seed=seed).snapshot()
    assert [u["orgUnitPath"] for u in doc["orgUnits"]] == ["/A", "/A/B", "/A/B/C"]
    bad = {"domains": ["example.com"], "orgUnits": [{"orgUnitPath": "/A", "name": "Z"}]}
    with pytest.raises(InvalidInput, match="name does not match"):
        TenantStore(seed=bad)


# ---- persistence --------------------------------------------------------------------------


def test_tenant_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("PATCH", JO, {"primaryEmail": "jo.renamed@example.com"})
    client.ok("POST", "users", new_user("new@example.com"))
    client.ok("POST", ENG + "/members", {"email": "new@example.com", "role": "MANAGER"})
    client.ok("DELETE", "users/" + key("sam@example.org"))
    client.ok("POST", "customer/my_customer/orgunits", {"name": "Ops", "parentOrgUnitPath": "/"})
    before = store.snapshot()
    store.close()

    again = TenantStore(seed=SMALL_SEED, state=state)
    assert again.snapshot() == before
    client = client_for(again)
    assert client.ok("GET", JO)["primaryEmail"] == "jo.renamed@example.com"
    deleted = client.ok("GET", "users", customer="my_customer", showDeleted="true")["users"]
    assert [u["primaryEmail"] for u in deleted] == ["sam@example.org"]
    client.ok("POST", f"users/{deleted[0]['id']}/undelete", {})


def test_a_crash_loses_nothing_that_was_answered(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("one@example.com"))  # the base snapshot + a line
    client.ok("POST", "users", new_user("two@example.com"))
    client.ok("PATCH", ENG, {"description": "after"})
    assert len(journal(state).read_text().splitlines()) == 3
    before = store.snapshot()
    crash(store)
    assert TenantStore(state=state).snapshot() == before


def test_every_kind_of_write_replays_exactly(tmp_path: Path) -> None:
    clock = Clock()
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state, clock=clock)
    client = Client(DirectoryApi(store, clock=clock))
    client.ok("POST", "users", new_user("first@example.com"))  # the base snapshot
    units = "customer/my_customer/orgunits"
    schemas = "customer/my_customer/schemas"
    steps = [
        ("POST", "users", new_user("u1@example.com", orgUnitPath="/Sales")),
        ("PATCH", "users/" + key("u1@example.com"), {"primaryEmail": "u1.new@example.com"}),
        ("POST", "users/" + key("u1.new@example.com") + "/aliases", {"alias": "u1a@example.com"}),
        ("POST", "users/" + key("u1.new@example.com") + "/makeAdmin", {"status": True}),
        ("POST", "groups", {"email": "g1@example.com"}),
        ("POST", "groups/" + key("g1@example.com") + "/members", {"email": "u1a@example.com"}),
        ("POST", "groups/" + key("g1@example.com") + "/members", {"email": "x@outside.net"}),
        (
            "PATCH",
            "groups/" + key("g1@example.com") + "/members/" + key("x@outside.net"),
            {"role": "OWNER"},
        ),
        ("DELETE", "groups/" + key("eng@example.com") + "/members/" + key("jo@example.com"), None),
        ("POST", "groups/" + key("all@example.com") + "/members", {"email": "g1@example.com"}),
        ("PUT", "groups/" + key("all@example.com"), {"email": "everyone@example.com"}),
        ("DELETE", "groups/" + key("eng@example.com"), None),
        ("POST", units, {"name": "Tokyo", "parentOrgUnitPath": "/Sales"}),
        ("PATCH", units + "/Sales", {"name": "Revenue"}),
        ("DELETE", units + "/Revenue/Tokyo", None),
        (
            "POST",
            schemas,
            {"schemaName": "HR", "fields": [{"fieldName": "badge", "fieldType": "INT64"}]},
        ),
        ("PATCH", "users/" + key("sam@example.org"), {"customSchemas": {"HR": {"badge": 7}}}),
        ("DELETE", schemas + "/HR", None),
        ("DELETE", JO, None),
        ("DELETE", "users/" + key("sam@example.org"), None),
    ]
    for method, path, body in steps:
        client.ok(method, path, body)
    sam = client.ok("GET", "users", customer="my_customer", showDeleted="true")["users"]
    client.ok("POST", f"users/{sam[-1]['id']}/undelete", {})
    clock.now += 21 * 86400
    client.ok("GET", "users", customer="my_customer", showDeleted="true")  # purges jo@
    before = store.snapshot()
    assert len(journal(state).read_text().splitlines()) == len(steps) + 3
    crash(store)
    assert TenantStore(state=state).snapshot() == before  # replayed


def test_an_unknown_journal_operation_is_an_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client_for(store).ok("POST", "users", new_user("one@example.com"))
    crash(store)
    journal(state).write_text('{"seq":5,"ops":[["drop_table",1]]}\n')
    with pytest.raises(StateError, match="entry 5 cannot be replayed"):
        TenantStore(state=state)


def test_torn_last_journal_line_is_ignored_and_cut(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("one@example.com"))
    client.ok("POST", "users", new_user("two@example.com"))
    before = store.snapshot()
    crash(store)
    with open(journal(state), "ab") as f:
        f.write(b'{"seq":99,"ops":[["put_user",{"id":"1","primaryE')
    again = TenantStore(state=state)
    assert again.snapshot() == before
    assert journal(state).read_bytes().endswith(b"]}\n")
    client_for(again).ok("POST", "users", new_user("three@example.com"))
    crash(again)
    third = TenantStore(state=state)
    assert "three@example.com" in [u["primaryEmail"] for u in third.snapshot()["users"]]


def test_damage_before_the_last_line_is_an_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    for name in ("one", "two", "three"):
        client.ok("POST", "users", new_user(f"{name}@example.com"))
    crash(store)
    lines = journal(state).read_bytes().splitlines(keepends=True)
    lines[0] = b"garbage\n"
    journal(state).write_bytes(b"".join(lines))
    with pytest.raises(StateError, match="line 1 is damaged"):
        TenantStore(state=state)
    state.write_text("not json")
    with pytest.raises(StateError, match="cannot read"):
        TenantStore(state=state)


def test_a_crash_between_snapshot_and_journal_truncation(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("one@example.com"))
    client.ok("DELETE", "users/" + key("one@example.com"))  # not idempotent if replayed
    client.ok("DELETE", JO)
    old_journal = journal(state).read_bytes()
    assert old_journal
    store.compact()
    assert journal(state).read_bytes() == b""
    crash(store)
    journal(state).write_bytes(old_journal)  # the truncation never happened
    again = TenantStore(state=state)
    assert again.snapshot() == store.snapshot()


def test_reading_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("GET", "users", customer="my_customer")
    client.request("PATCH", JO, {"primaryEmail": "admin@example.com"})  # refused: no write
    store.close()
    assert not state.exists() and not journal(state).exists() and not base(state).exists()


def test_journal_is_compacted(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state, compact_after=3)
    client = client_for(store)
    for i in range(7):
        client.ok("POST", "users", new_user(f"u{i}@example.com"))
    assert len(journal(state).read_text().splitlines()) < 3
    saved = json.loads(state.read_text())
    assert saved["journalSeq"] >= 4
    store.close()
    assert journal(state).read_text() == ""
    assert len(TenantStore(state=state).snapshot()["users"]) == 11


def test_state_file_wins_over_the_seed_and_reset_returns_to_it(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("DELETE", JO)
    store.close()
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.fails(404, "notFound", "GET", JO)
    client.api.reset()
    assert client.ok("GET", JO)["primaryEmail"] == "jo@example.com"
    crash(store)
    assert TenantStore(seed=SMALL_SEED, state=state).snapshot() == store.snapshot()


def test_ids_and_etags_are_stable_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("PATCH", ENG + "/members/" + key("jo@example.com"), {"role": "MANAGER"})
    first = {
        "user": client.ok("GET", JO),
        "group": client.ok("GET", ENG),
        "members": client.ok("GET", ENG + "/members"),
    }
    store.close()
    client = client_for(TenantStore(state=state))
    assert client.ok("GET", JO) == first["user"]
    assert client.ok("GET", ENG) == first["group"]
    assert client.ok("GET", ENG + "/members")["members"] == first["members"]["members"]


def test_passwords_are_never_written(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    seed = {"domains": ["example.com"], "users": [new_user("seeded@example.com")]}
    store = TenantStore(seed=seed, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("typed@example.com", password="Secret-Typed-1"))
    client.ok("PATCH", "users/" + key("typed@example.com"), {"password": "Secret-Typed-2"})
    store.close()
    for path in (state, journal(state)):
        text = path.read_text()
        assert PASSWORD not in text and "Secret-Typed" not in text


def test_snapshot_is_a_seed_of_the_same_tenant() -> None:
    store = TenantStore(seed=EXAMPLE_SEED)
    doc = store.snapshot()
    assert set(doc) >= {"domains", "users", "groups", "orgUnits", "schemas"}
    assert TenantStore(seed=doc).snapshot() == doc


def test_clock_sets_creation_times() -> None:
    clock = Clock(1_700_000_000.0)
    doc = TenantStore(seed=SMALL_SEED, clock=clock).snapshot()
    assert doc["users"][0]["creationTime"] == "2023-11-14T22:13:20.000Z"


# ---- scale --------------------------------------------------------------------------------


def test_a_big_seed_loads_and_round_trips(tmp_path: Path) -> None:
    # A tenth of the 100k/10k/500k benchmark (its timings: tests/emulator/big_seed.py).
    doc = generate(10_000, 1_000, 50_000)
    store = TenantStore(seed=doc, state=tmp_path / "state.json")
    assert sum(len(m) for m in store.tenant.members.values()) == 50_000
    client = client_for(store)
    page = client.ok("GET", "groups/" + key("group00000@example.com") + "/members")
    assert len(page["members"]) == 50
    store.compact()
    crash(store)
    assert TenantStore(state=tmp_path / "state.json").snapshot() == store.snapshot()


# ---- one process per state file ------------------------------------------------------------


def test_a_state_file_is_held_by_one_store_at_a_time(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client_for(store).ok("POST", "users", new_user("one@example.com"))
    me = os.getpid()
    with pytest.raises(StateInUse, match=f"tenant at {state} is in use by process {me}"):
        TenantStore(seed=SMALL_SEED, state=state)
    assert issubclass(StateInUse, StateError)
    other = children.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from reconciler.emulator.store import "
            "TenantStore; TenantStore(state=Path(sys.argv[1]))",
            str(state),
        ],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert other.returncode != 0
    assert f"is in use by process {me}" in other.stderr, other.stderr
    store.close()
    again = TenantStore(seed=SMALL_SEED, state=state)  # free once closed
    assert "one@example.com" in emails(client_for(again))
    again.close()


def test_a_run_that_only_reads_leaves_the_files_as_they_are(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    writer = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(writer)
    client.ok("POST", "users", new_user("one@example.com"))
    client.ok("POST", "users", new_user("two@example.com"))
    crash(writer)  # its journal is not folded in
    snapshot, lines = state.read_bytes(), journal(state).read_bytes()
    assert lines.count(b"\n") == 2
    reader = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(reader)
    assert {"one@example.com", "two@example.com"} <= set(emails(client))
    client.request("PATCH", JO, {"primaryEmail": "admin@example.com"})  # refused: no write
    reader.close()
    assert (state.read_bytes(), journal(state).read_bytes()) == (snapshot, lines)
    writer = TenantStore(state=state)  # a run that writes folds the journal in on close
    client_for(writer).ok("POST", "users", new_user("three@example.com"))
    writer.close()
    assert journal(state).read_bytes() == b"" and b"three@example.com" in state.read_bytes()


# ---- a write that cannot be saved ------------------------------------------------------------


def test_a_write_that_cannot_be_saved_is_undone_and_answers_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("first@example.com"))
    real_write = os.write

    def disk_full(fd: int, data: bytes) -> int:
        if not os.readlink(f"/proc/self/fd/{fd}").endswith(".journal"):
            return real_write(fd, data)
        real_write(fd, bytes(data[: len(data) // 2]))  # half a line, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    message = client.fails(503, "backendError", "POST", "users", new_user("lost@example.com"))
    assert "No space left on device" in message
    client.fails(404, "notFound", "GET", "users/" + key("lost@example.com"))  # undone
    client.fails(503, "backendError", "POST", ENG + "/members", {"email": "first@example.com"})
    assert client.ok("GET", ENG + "/members")["members"]  # reads still answer
    monkeypatch.setattr(os, "write", real_write)

    client.ok("POST", "users", new_user("lost@example.com"))
    client.ok("POST", ENG + "/members", {"email": "lost@example.com"})
    before = store.snapshot()
    crash(store)
    again = TenantStore(state=state)  # the journal holds whole lines only
    assert again.snapshot() == before
    again.close()  # compacts
    assert TenantStore(state=state).snapshot() == before


def test_while_the_tenant_cannot_be_reloaded_every_call_answers_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("first@example.com"))
    monkeypatch.setattr(store_module, "RECOVERY_INTERVAL_S", 0.0)

    def fail(*_args: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    def unreadable(*_args: object) -> None:
        raise StateError("cannot read the emulator state")

    monkeypatch.setattr(StateFiles, "append", fail)
    monkeypatch.setattr(StateFiles, "read_snapshot", unreadable)
    client.fails(503, "backendError", "POST", "users", new_user("lost@example.com"))
    assert "nor reloaded" in client.fails(503, "backendError", "GET", JO)  # reads too
    monkeypatch.undo()
    client.fails(404, "notFound", "GET", "users/" + key("lost@example.com"))  # recovered
    client.ok("POST", "users", new_user("lost@example.com"))


# ---- the same seed, the same ids ----------------------------------------------------------


def ids(client: Client) -> dict[str, str]:
    found = {
        u["primaryEmail"]: u["id"]
        for u in client.list_all("users", "users", customer="my_customer")
    }
    found.update(
        {g["email"]: g["id"] for g in client.ok("GET", "groups", customer="my_customer")["groups"]}
    )
    return found


def test_the_same_seed_gives_the_same_ids_on_every_run(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    seed = tmp_path / "tenant.json"
    seed.write_text(json.dumps(SMALL_SEED))
    runs = []
    for _ in range(2):  # read-only runs: no state is kept between them
        store = TenantStore(seed=seed, state=state)
        runs.append((store.snapshot()["customerId"], ids(client_for(store))))
        store.close()
    assert runs[0] == runs[1] and not state.exists()
    clock = Clock()
    assert (
        TenantStore(seed=SMALL_SEED, clock=clock).snapshot()
        == TenantStore(seed=SMALL_SEED, clock=clock).snapshot()
    )
    other = dict(SMALL_SEED, domains=["example.com", "example.org", "example.net"])
    customer = TenantStore(seed=SMALL_SEED).snapshot()["customerId"]
    assert TenantStore(seed=other).snapshot()["customerId"] != customer

    store = TenantStore(seed=seed, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("new@example.com"))
    client.api.reset()  # back to the seed: its ids again
    assert ids(client) == runs[0][1]
    client.ok("POST", "users", new_user("new@example.com"))
    store.close()
    store = TenantStore(seed=seed, state=state)  # from the state: new ids are new
    client = client_for(store)
    for n in range(5):
        client.ok("POST", "users", new_user(f"later{n}@example.com"))
    found = ids(client)
    assert len(set(found.values())) == len(found) == len(runs[0][1]) + 6
    store.close()


# ---- the base snapshot ----------------------------------------------------------------------


def test_the_first_write_renames_the_base_snapshot_and_appends_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    seeded = emails(client)
    assert not state.exists()  # a run that reads leaves no state (test_reading_writes_nothing)
    client.ok("POST", "users", new_user("one@example.com"))
    saved = json.loads(state.read_text())
    assert saved["journalSeq"] == 0
    assert [u["primaryEmail"] for u in saved["users"]] == seeded  # the seed's tenant
    assert [json.loads(line)["seq"] for line in journal(state).read_text().splitlines()] == [1]
    assert not base(state).exists()
    before = store.snapshot()
    crash(store)
    assert TenantStore(state=state).snapshot() == before


def test_a_stale_journal_is_not_replayed_over_a_new_base(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    store = TenantStore(seed=SMALL_SEED, state=state)
    client_for(store).ok("POST", "users", new_user("one@example.com"))
    crash(store)
    state.unlink()  # start again from the seed, an old journal left beside it
    store = TenantStore(seed=SMALL_SEED, state=state)
    client = client_for(store)
    client.ok("POST", "users", new_user("two@example.com"))
    before = store.snapshot()
    crash(store)
    after = TenantStore(state=state).snapshot()
    assert after == before
    assert "one@example.com" not in [u["primaryEmail"] for u in after["users"]]
