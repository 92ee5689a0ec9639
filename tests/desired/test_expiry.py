"""Expiring access: member entries `{email, until}` and bindings with `until:` end by
themselves at the start of the day after `until` (UTC): validation, resolution with the
reasons the plan shows, the warnings, `fmt --prune-expired` and `report --expiring-within`."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from cli_support import WORKSPACE, write_state

from reconciler.cli import main
from reconciler.desired import load_desired
from reconciler.desired.expiry import expiring_within, today
from reconciler.desired.write import Pruned, format_directory
from reconciler.problems import InvalidInput

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desired-state"

PEOPLE = """\
users:
  - {email: ana@example.com, given_name: Ana, family_name: Ruiz}
  - {email: jo@example.com, given_name: Jo, family_name: Lei}
  - {email: kim@example.com, given_name: Kim, family_name: Park}
groups:
  - name: eng
    email: eng@example.com
    owners:
      - {email: ana@example.com, until: "2026-06-30"}
    members:
      - {email: contractor@partner.com, until: 2026-06-15}
      - jo@example.com
      - {email: helpers, until: "2026-07-01"}
  - name: helpers
    members: [kim@example.com]
bindings:
  - group: eng
  - {user: ana@example.com, until: "2026-06-30"}
"""


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch):
    """Set the day the tool sees (RECONCILER_NOW), at noon UTC."""

    def set_day(day: str) -> None:
        monkeypatch.setenv("RECONCILER_NOW", f"{day}T12:00:00Z")

    return set_day


def state_dir(tmp_path: Path, people: str = PEOPLE) -> Path:
    return write_state(tmp_path, {"workspace.yaml": WORKSPACE, "people.yaml": people})


def members(root: Path) -> dict[str, str]:
    group = load_desired(root).state.groups["eng@example.com"]
    return {email: m.role for email, m in group.members.items()}


def test_access_lasts_through_its_day_and_ends_the_day_after(tmp_path, at):
    root = state_dir(tmp_path)
    at("2026-06-15")  # the contractor's last day: still in
    assert members(root) == {
        "ana@example.com": "OWNER",
        "contractor@partner.com": "MEMBER",
        "jo@example.com": "MEMBER",
        "kim@example.com": "MEMBER",
    }
    at("2026-06-16")
    assert "contractor@partner.com" not in members(root)
    at("2026-07-02")  # every dated entry has ended; Jo's plain entry stays
    assert members(root) == {"jo@example.com": "MEMBER"}


def test_the_reasons_name_the_day_and_the_line(tmp_path, at):
    root = state_dir(tmp_path)
    at("2026-07-02")
    desired = load_desired(root)
    eng = desired.state.groups["eng@example.com"]
    assert eng.expired == {
        "ana@example.com": "expired after 2026-06-30, people.yaml:9",
        "contractor@partner.com": "expired after 2026-06-15, people.yaml:11",
    }
    # Ana is still bound through eng? No: her owner entry ended too, and so did her own
    # binding, so she is unbound, and the suspension says why.
    ana = desired.state.users["ana@example.com"]
    assert not ana.bound and ana.suspended
    assert ana.unbound_by == "its binding ended after 2026-06-30, people.yaml:18"
    # Kim came in through the nested group entry that ended: unbound too, with no binding
    # of her own to name.
    assert not desired.state.users["kim@example.com"].bound
    assert desired.state.users["kim@example.com"].unbound_by is None


def test_a_binding_that_ended_leaves_the_user_bound_by_another_way(tmp_path, at):
    root = state_dir(
        tmp_path,
        PEOPLE.replace(
            '      - {email: ana@example.com, until: "2026-06-30"}', "      - ana@example.com"
        ),
    )
    at("2026-07-02")
    ana = load_desired(root).state.users["ana@example.com"]
    assert ana.bound and not ana.suspended and ana.unbound_by is None


def test_validate_warns_about_each_ended_entry_and_the_plan_does_not(tmp_path, at, capsys):
    root = state_dir(tmp_path)
    at("2026-06-20")
    desired = load_desired(root)
    assert [(w.line, w.rule, w.message) for w in desired.warnings] == [
        (
            11,
            "expired",
            "group eng: member contractor@partner.com: expired after 2026-06-15; the plan "
            "takes this access away, and `reconciler fmt --prune-expired` deletes the "
            "entries that ended",
        )
    ]
    assert desired.plan_warnings == []
    with pytest.raises(SystemExit) as exc:
        main(["validate", str(root)])
    assert exc.value.code == 0
    assert "people.yaml:11: warning: group eng: member contractor@partner.com" in (
        capsys.readouterr().err
    )


def test_problems_after_an_ended_entry_name_their_own_line(tmp_path, at):
    """Ended entries are taken out of the lists: a problem found by position later must
    still point at the line it is about."""
    people = PEOPLE.replace("      - jo@example.com\n", "      - nobody@example.com\n")
    root = state_dir(tmp_path, people)
    at("2026-07-02")
    with pytest.raises(InvalidInput) as exc:
        load_desired(root)
    [problem] = exc.value.problems
    assert problem.line == 12 and "nobody@example.com" in problem.message


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{email: x@partner.com, until: 2026-02-30}", "'2026-02-30' is not a day written"),
        ("{email: x@partner.com, until: 30.06.2026}", "'30.06.2026' is not a day written"),
        ("{email: x@partner.com, until: '2026-6-1'}", "'2026-6-1' is not a day written"),
        ("{email: x@partner.com}", "until"),
        ("{email: x@partner.com, until: 2026-06-30, role: OWNER}", "role"),
        ("{until: 2026-06-30}", "email"),
    ],
)
def test_a_bad_dated_entry_is_a_located_error(tmp_path, entry, message):
    people = PEOPLE.replace("      - jo@example.com\n", f"      - {entry}\n")
    root = state_dir(tmp_path, people)
    with pytest.raises(InvalidInput) as exc:
        load_desired(root)
    rendered = [p.render() for p in exc.value.problems]
    assert len(rendered) == 1, rendered
    assert "people.yaml:12:" in rendered[0] and message in rendered[0]
    assert "Traceback" not in rendered[0]


def test_a_binding_with_a_bad_day_is_a_located_error(tmp_path):
    people = PEOPLE.replace(
        '  - {user: ana@example.com, until: "2026-06-30"}',
        "  - {user: ana@example.com, until: soon}",
    )
    with pytest.raises(InvalidInput) as exc:
        load_desired(state_dir(tmp_path, people))
    [problem] = exc.value.problems
    assert problem.line == 18 and "'soon' is not a day written YYYY-MM-DD" in problem.render()


def test_expiring_within_lists_the_live_entries_soonest_first(tmp_path, at):
    root = state_dir(tmp_path)
    at("2026-06-16")
    dated = load_desired(root).tree.dated
    soon = expiring_within(dated, date(2026, 6, 16), 14)
    assert [(d.kind, d.ref, d.until) for d in soon] == [
        ("binding", "ana@example.com", "2026-06-30"),
        ("OWNER", "ana@example.com", "2026-06-30"),
    ]
    assert expiring_within(dated, date(2026, 6, 16), 13) == []
    later = expiring_within(dated, date(2026, 6, 16), 30)
    assert [d.ref for d in later][-1] == "helpers"


def test_prune_expired_deletes_ended_entries_and_keeps_comments(tmp_path, at, capsys):
    people = PEOPLE.replace(
        "      - {email: contractor@partner.com, until: 2026-06-15}\n",
        "      # the contractor, for the migration\n"
        "      - {email: contractor@partner.com, until: 2026-06-15}  # ends with it\n",
    ).replace("      - jo@example.com\n", "      - jo@example.com  # lead\n")
    root = state_dir(tmp_path, "# people of eng\n\n" + people)
    at("2026-07-01")  # the contractor, Ana's owner entry and binding have ended
    with pytest.raises(SystemExit) as exc:
        main(["fmt", str(root), "--prune-expired", "--check"])
    out = capsys.readouterr().out
    assert exc.value.code == 1
    assert "would delete" in out and "contractor@partner.com (ended after 2026-06-15)" in out
    before = (root / "people.yaml").read_text()
    assert (root / "people.yaml").read_text() == before  # --check writes nothing

    with pytest.raises(SystemExit) as exc:
        main(["fmt", str(root), "--prune-expired"])
    assert exc.value.code == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[1] for line in out if line.startswith("deleted")] == [
        "owner ana@example.com (ended after 2026-06-30)",
        "member contractor@partner.com (ended after 2026-06-15)",
        "binding of user ana@example.com (ended after 2026-06-30)",
    ]
    text = (root / "people.yaml").read_text()
    assert "contractor" not in text and "ends with it" not in text
    assert text.startswith("# people of eng\n")
    assert "- jo@example.com  # lead" in text
    assert 'until: "2026-07-01"' in text  # helpers' last day is today: kept
    assert "owners: []" in text
    desired = load_desired(root)
    assert desired.warnings == []
    assert [d.ref for d in desired.tree.dated] == ["helpers"]


def test_prune_expired_keeps_what_has_not_ended(tmp_path, at):
    root = state_dir(tmp_path)
    at("2026-06-01")
    pruned: list[Pruned] = []
    format_directory(root, prune_before=today(), pruned=pruned)
    assert pruned == []
    # Written in canonical form (block maps, in the order of whom they name), every dated
    # entry is still there, on the line the warnings and reasons name.
    text = (root / "people.yaml").read_text()
    assert '      - email: contractor@partner.com\n        until: "2026-06-15"\n' in text
    dated = load_desired(root).tree.dated
    assert len(dated) == 4 and not any(d.expired for d in dated)
    assert format_directory(root, write=False) == []


def test_report_lists_access_ending_within_the_window(tmp_path, at, capsys):
    """On the example, some days before its interim auditor's last day."""
    root = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    at("2026-03-21")

    def report(*args: str) -> list[str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main(["report", str(root), "--format", "csv", *args])
        assert exc.value.code == 0
        return [r for r in capsys.readouterr().out.splitlines() if r.startswith("expiring,")]

    assert report() == [
        "expiring,interim.auditor@partner-firm.com,member of group audit: ends after "
        "2026-03-31 (groups/finance.yaml:17),no",
    ]
    assert report("--expiring-within", "10") == report()
    assert report("--expiring-within", "9") == []


def example_plan(root: Path, capsys) -> dict:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["plan", str(root), "--format", "json"])
    out = capsys.readouterr().out
    assert exc.value.code == 0, out
    return json.loads(out)


def removals(plan: dict) -> set[tuple[str, str | None]]:
    return {(c["key"], c.get("reason")) for c in plan["changes"] if c["action"] == "remove_member"}


def test_an_ended_entry_leaves_an_additive_group_and_its_entra_group_too(tmp_path, capsys):
    """`membership: additive` keeps the members Git does not list, not those whose dated
    entry has ended: in Google and in the Entra export alike."""
    root = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    finance = root / "groups" / "finance.yaml"
    text = finance.read_text()
    finance.write_text(
        text.replace(
            "    settings:\n      who_can_post",
            "    membership: additive\n    settings:\n      who_can_post",
            1,
        )
    )
    eng = root / "groups" / "engineering.yaml"
    eng.write_text(
        eng.read_text()
        .replace(
            "      - jo.lei@example.com\n",
            '      - {email: jo.lei@example.com, until: "2026-01-31"}\n',
            1,
        )
        .replace("    entra: true", "    membership: additive\n    entra: true", 1)
    )
    found = removals(example_plan(root, capsys))
    assert (
        "audit@example.com/interim.auditor@partner-firm.com",
        "expired after 2026-03-31, groups/finance.yaml:17",
    ) in found
    assert (
        "eng@example.com/jo.lei@example.com",
        "expired after 2026-01-31, groups/engineering.yaml:17",
    ) in found
    # Entra: Jo goes; Sam (not in Git) stays, the group being additive.
    assert {(k, why) for k, why in found if k.startswith("Engineering/")} == {
        ("Engineering/jo.lei@example.com", "its dated entry in Git has ended")
    }


def test_a_staged_account_loses_a_membership_git_ended(tmp_path, capsys):
    """A staged account keeps the memberships Google gives it, but not one whose dated
    entry in Git has ended."""
    root = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".reconciler"))
    eng = root / "groups" / "engineering.yaml"
    eng.write_text(
        eng.read_text().replace(
            "      - jo.lei@example.com\n",
            '      - {email: jo.lei@example.com, until: "2026-01-31"}\n',
            1,
        )
    )
    users = root / "users" / "engineering.yaml"
    text = users.read_text()
    start = text.index("  - email: jo.lei@example.com")
    end = text.index("\n\n", start)
    users.write_text(text[:start] + text[start:end] + "\n    state: staged" + text[end:])
    found = removals(example_plan(root, capsys))
    assert (
        "eng@example.com/jo.lei@example.com",
        "expired after 2026-01-31, groups/engineering.yaml:17",
    ) in found


def test_a_dated_entry_the_group_also_lists_plainly_is_a_warning(tmp_path, at, capsys):
    people = PEOPLE.replace(
        "      - jo@example.com\n", "      - jo@example.com\n      - contractor@partner.com\n"
    )
    root = state_dir(tmp_path, people)
    at("2026-07-01")  # the dated entry has ended, but the plain one keeps the access
    desired = load_desired(root)
    assert "contractor@partner.com" in desired.state.groups["eng@example.com"].members
    lasting = [w for w in desired.warnings if "contractor" in w.message]
    assert [(w.line, w.rule) for w in lasting] == [(11, "dated-and-plain")]
    assert "the access does not end" in lasting[0].message
    assert lasting[0] in desired.plan_warnings  # the plan shows it too
    # fmt keeps both (which to keep is the reviewer's call) but a plain entry once.
    eng = root / "people.yaml"
    eng.write_text(
        eng.read_text().replace(
            "      - jo@example.com\n", "      - jo@example.com\n      - JO@example.com\n"
        )
    )
    format_directory(root)
    text = eng.read_text()
    assert text.count("jo@example.com") == 2  # the user entry and one member
    assert text.count("contractor@partner.com") == 2
