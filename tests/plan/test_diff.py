"""The diff as a table of scenarios: tiny desired and actual States -> the expected changes.

Every rule of the plan's semantics (docs/plans-and-apply.md, "Plans") has a row; rows are
(action, kind, key[, from | role][, {field: (old, new)}]) as builder.row() writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from reconciler.entra.state import EntraActual, EntraGroup, EntraGroupRecord, EntraMember
from reconciler.plan.diff import changes_of, make_plan
from reconciler.plan.kinds import PHASE_RANK, PHASES
from reconciler.settings import Workspace
from reconciler.state import Member, Origin, State, canonical_address

from .builder import (
    OURS,
    THEIRS,
    Row,
    addr,
    gone,
    group,
    have,
    haves,
    heads,
    member,
    row,
    rows,
    state,
    unit,
    want,
    wants,
    workspace,
)


def gmail(address: str, role: str = "MEMBER") -> Member:
    """An external member by its full address."""
    return member(address, role, "EXTERNAL")


@dataclass
class Scenario:
    desired: State
    actual: State
    expected: list[Row]
    ws: Workspace = field(default_factory=workspace)
    notes: tuple[str, ...] = ()  # each must be part of some note; no notes when empty


# A rename to an own alias carries the aliases before and after: the alias goes first.
RENAME_ROBERT = (
    "rename",
    "user",
    "robert@x.io",
    "rfischer@x.io",
    {"aliases": (("robert@x.io",), ("rfischer@x.io",))},
)
RENAME_ENG = (
    "rename",
    "group",
    "eng@x.io",
    "dev@x.io",
    {"aliases": (("eng@x.io",), ("dev@x.io",))},
)

USERS: dict[str, Scenario] = {
    # -- create ------------------------------------------------------------------------------
    "create a bound active user": Scenario(
        state(want("new", given_name="New", family_name="Hire", title="Eng", aliases=("n",))),
        state(),
        [
            (
                "create",
                "user",
                "new@x.io",
                {
                    "given_name": (None, "New"),
                    "family_name": (None, "Hire"),
                    "title": (None, "Eng"),
                    "aliases": (None, ("n@x.io",)),
                },
            )
        ],
    ),
    "create leaves empty and unmanaged attributes out": Scenario(
        state(want("new", given_name="New", title="", phone=None, aliases=())),
        state(),
        [("create", "user", "new@x.io", {"given_name": (None, "New")})],
    ),
    "no create: staged": Scenario(state(want("new", state="staged")), state(), []),
    "no create: unbound": Scenario(state(want("new", bound=False)), state(), []),
    "no create: suspended without an account": Scenario(
        state(want("new", state="suspended")), state(), []
    ),
    "no create: deleted without an account": Scenario(
        state(want("new", state="deleted")), state(), []
    ),
    # -- matching ----------------------------------------------------------------------------
    "match by primary: nothing to do": Scenario(
        state(want("jo", given_name="Jo", aliases=("j",))),
        state(have("jo", given_name="Jo", aliases=("j",))),
        [],
    ),
    "match by alias: rename from the old primary": Scenario(
        state(want("robert")),
        state(have("rfischer", aliases=("robert",))),
        [RENAME_ROBERT],
    ),
    "match by alias, aliases managed: the old primary becomes an extra alias": Scenario(
        state(want("robert", aliases=())),
        state(have("rfischer", aliases=("robert",))),
        [
            RENAME_ROBERT,
            ("update", "user", "robert@x.io", {"aliases": (("rfischer@x.io",), ())}),
        ],
    ),
    "match by alias, aliases managed: keeping the old primary as alias": Scenario(
        state(want("robert", aliases=("rfischer",))),
        state(have("rfischer", aliases=("robert",))),
        [RENAME_ROBERT],
    ),
    "match by alias, aliases managed: other aliases": Scenario(
        state(want("robert", aliases=("bob", "rfischer"))),
        state(have("rfischer", aliases=("robert", "rf"))),
        [
            (
                "rename",
                "user",
                "robert@x.io",
                "rfischer@x.io",
                {"aliases": (("rf@x.io", "robert@x.io"), ("rf@x.io", "rfischer@x.io"))},
            ),
            (
                "update",
                "user",
                "robert@x.io",
                {"aliases": (("rf@x.io", "rfischer@x.io"), ("bob@x.io", "rfischer@x.io"))},
            ),
        ],
    ),
    "match by previous email: rename, and update": Scenario(
        state(want("maria.silva", previous=("maria.costa",), family_name="Silva")),
        state(have("maria.costa", family_name="Costa")),
        [
            ("rename", "user", "maria.silva@x.io", "maria.costa@x.io"),
            ("update", "user", "maria.silva@x.io", {"family_name": ("Costa", "Silva")}),
        ],
    ),
    "match by previous email, aliases managed: the previous email stays an alias": Scenario(
        state(want("maria.silva", previous=("maria.costa",), aliases=())),
        state(have("maria.costa")),
        [("rename", "user", "maria.silva@x.io", "maria.costa@x.io")],
    ),
    "match by a previous email that Google holds as an alias": Scenario(
        state(want("new", previous=("old",))),
        state(have("current", aliases=("old",))),
        [("rename", "user", "new@x.io", "current@x.io")],
    ),
    "match by primary before previous email": Scenario(
        state(want("new", previous=("old",))),
        state(have("new"), have("old", owner=None)),
        [],
    ),
    "two Git users find one account: the primary match wins, no rename": Scenario(
        state(want("pat"), want("jo", title="New hire")),
        state(have("pat", aliases=("jo",))),
        [],
        notes=("user jo@x.io: found the account pat@x.io, which is also pat@x.io's in Git",),
    ),
    "two Git users find one account: the primary match wins, no delete": Scenario(
        state(want("pat"), want("jo", state="deleted")),
        state(have("pat", aliases=("jo",))),
        [],
        notes=("user jo@x.io: found the account pat@x.io",),
    ),
    # -- takeover ----------------------------------------------------------------------------
    "adopt an unmarked account Git binds, and update it": Scenario(
        state(want("hannah", phone="+1 555 0150")),
        state(have("hannah", owner=None)),
        [
            ("adopt", "user", "hannah@x.io"),
            ("update", "user", "hannah@x.io", {"phone": (None, "+1 555 0150")}),
        ],
    ),
    "adopt an unmarked account found by its alias: rename and adopt": Scenario(
        state(want("robert")),
        state(have("rfischer", owner=None, aliases=("robert",))),
        [
            RENAME_ROBERT,
            ("adopt", "user", "robert@x.io"),
        ],
    ),
    "adopt an unmarked account Git wants suspended": Scenario(
        state(want("x", bound=False, state="suspended")),
        state(have("x", owner=None)),
        [("adopt", "user", "x@x.io"), ("suspend", "user", "x@x.io")],
    ),
    "adopt an unmarked account Git wants deleted": Scenario(
        state(want("x", state="deleted")),
        state(have("x", owner=None)),
        [("adopt", "user", "x@x.io"), ("delete", "user", "x@x.io")],
    ),
    "no adopt: unmarked, unbound and active": Scenario(
        state(want("x", bound=False, title="T")),
        state(have("x", owner=None, title="Old")),
        [],
    ),
    "no adopt: unmarked and staged": Scenario(
        state(want("x", state="staged", title="T")),
        state(have("x", owner=None, title="Old")),
        [],
    ),
    "staged with a marked account: left as it is": Scenario(
        state(want("x", state="staged", title="T")),
        state(have("x", title="Old", suspended=True)),
        [],
    ),
    # -- ownership ---------------------------------------------------------------------------
    "marked by another ownership id: untouched, with a note": Scenario(
        state(want("cms", title="T", state="deleted")),
        state(have("cms", owner=THEIRS, title="Old")),
        [],
        notes=("user cms@x.io: the account is managed by 'acme/marketing-sites'",),
    ),
    "marked by another ownership id, not in Git: untouched": Scenario(
        state(), state(have("cms", owner=THEIRS)), []
    ),
    "unmarked and not in Git: untouched": Scenario(state(), state(have("info", owner=None)), []),
    "marked and not in Git: suspended, never deleted": Scenario(
        state(), state(have("sam")), [("suspend", "user", "sam@x.io")]
    ),
    "marked and not in Git, already suspended: nothing": Scenario(
        state(), state(have("sam", suspended=True)), []
    ),
    "marked and unbound: suspended, never deleted": Scenario(
        state(want("sam", bound=False)), state(have("sam")), [("suspend", "user", "sam@x.io")]
    ),
    # -- suspension and deletion -------------------------------------------------------------
    "state suspended: suspend": Scenario(
        state(want("james", state="suspended")),
        state(have("james")),
        [("suspend", "user", "james@x.io")],
    ),
    "state suspended, already suspended: nothing": Scenario(
        state(want("james", state="suspended")), state(have("james", suspended=True)), []
    ),
    "unsuspend a bound active user": Scenario(
        state(want("tom")),
        state(have("tom", suspended=True)),
        [("unsuspend", "user", "tom@x.io")],
    ),
    "suspended by Google (ABUSE): no unsuspend, a note": Scenario(
        state(want("abe")),
        state(have("abe", suspended=True, reason="ABUSE")),
        [],
        notes=("user abe@x.io: suspended by Google (ABUSE)",),
    ),
    "state deleted: delete": Scenario(
        state(want("x", state="deleted")), state(have("x")), [("delete", "user", "x@x.io")]
    ),
    "state deleted, found by a previous email: delete that account": Scenario(
        state(want("new", state="deleted", previous=("old",))),
        state(have("old")),
        [("delete", "user", "old@x.io")],
    ),
    "state deleted, unmarked, found by a previous email: adopt and delete that account": (
        Scenario(
            state(want("new", state="deleted", previous=("old",))),
            state(have("old", owner=None)),
            [("adopt", "user", "old@x.io"), ("delete", "user", "old@x.io")],
        )
    ),
    # -- restoring a deleted account ----------------------------------------------------------
    "a deleted account Git wants back is restored, not created": Scenario(
        state(want("jo")),
        state(gone("jo")),
        [("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")})],
    ),
    "restored into Git's org unit, then updated where it differs": Scenario(
        state(want("jo", org_unit="/A", title="Lead", aliases=("j",))),
        state(unit("/A"), gone("jo", org_unit="/B", title="Eng")),
        [
            ("undelete", "user", "jo@x.io", {"org_unit": ("/B", "/A")}),
            ("update", "user", "jo@x.io", {"title": ("Eng", "Lead"), "aliases": ((), ("j@x.io",))}),
        ],
    ),
    "restored where it was if Git does not manage the unit, at the root if that unit is gone": (
        Scenario(
            state(want("jo"), want("al")),
            state(unit("/A"), gone("jo", org_unit="/A"), gone("al", org_unit="/Closed")),
            [
                ("undelete", "user", "al@x.io", {"org_unit": ("/Closed", "/")}),
                ("undelete", "user", "jo@x.io", {"org_unit": ("/A", "/A")}),
            ],
        )
    ),
    "restored with its aliases: only what Git changes is updated": Scenario(
        state(want("jo", aliases=("j",))),
        state(gone("jo", aliases=("j", "jl"))),
        [
            ("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")}),
            ("update", "user", "jo@x.io", {"aliases": (("j@x.io", "jl@x.io"), ("j@x.io",))}),
        ],
    ),
    "an unmarked deleted account is restored and adopted": Scenario(
        state(want("jo")),
        state(gone("jo", owner=None)),
        [
            ("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")}),
            ("adopt", "user", "jo@x.io"),
        ],
    ),
    "state suspended: restored, then suspended": Scenario(
        state(want("jo", state="suspended")),
        state(gone("jo")),
        [
            ("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")}),
            ("suspend", "user", "jo@x.io"),
        ],
    ),
    "deleted while suspended: restored suspended, then unsuspended": Scenario(
        state(want("jo")),
        state(gone("jo", suspended=True)),
        [
            ("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")}),
            ("unsuspend", "user", "jo@x.io"),
        ],
    ),
    "deleted while suspended, Git wants it suspended: restored, nothing more": Scenario(
        state(want("jo", state="suspended")),
        state(gone("jo", suspended=True)),
        [("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")})],
    ),
    "deleted while suspended by Google (ABUSE): restored, no unsuspend, a note": Scenario(
        state(want("jo")),
        state(gone("jo", suspended=True, reason="ABUSE")),
        [("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")})],
        notes=("user jo@x.io: suspended by Google (ABUSE)",),
    ),
    "no restore: unbound": Scenario(state(want("jo", bound=False)), state(gone("jo")), []),
    "no restore: staged": Scenario(state(want("jo", state="staged")), state(gone("jo")), []),
    "no restore: state deleted": Scenario(
        state(want("jo", state="deleted")), state(gone("jo")), []
    ),
    "no restore: not in Git": Scenario(state(), state(gone("jo")), []),
    "a deleted account of another repository: neither restored nor replaced, a note": Scenario(
        state(want("jo")),
        state(gone("jo", owner=THEIRS)),
        [],
        notes=(
            "user jo@x.io: the deleted account (deleted 2026-03-02; restorable until "
            "2026-03-22) is managed by 'acme/marketing-sites'",
        ),
    ),
    "the address taken by a live account since: that account is the user, with a note": Scenario(
        state(want("jo")),
        state(have("jo", owner=None), gone("jo")),
        [("adopt", "user", "jo@x.io")],
        notes=(
            "user jo@x.io: the deleted account that had this address (deleted 2026-03-02; "
            "restorable until 2026-03-22) cannot be restored while another account or group "
            "holds one of its addresses",
        ),
    ),
    "the address now an alias of another account: renamed from it as usual, with a note": (
        Scenario(
            state(want("jo")),
            state(have("jl", aliases=("jo",)), gone("jo")),
            # Found by its alias: the alias goes first, and the old primary becomes one.
            [("rename", "user", "jo@x.io", "jl@x.io", {"aliases": (("jo@x.io",), ("jl@x.io",))})],
            notes=("user jo@x.io: the deleted account that had this address",),
        )
    ),
    "an alias of the deleted account taken since: created instead, with a note": Scenario(
        state(want("jo")),
        state(have("ann", owner=None, aliases=("j",)), gone("jo", aliases=("j",))),
        [("create", "user", "jo@x.io")],
        notes=(
            "user jo@x.io: the deleted account that had this address (deleted 2026-03-02; "
            "restorable until 2026-03-22) cannot be restored while another account or group "
            "holds one of its addresses",
            "user jo@x.io: j@x.io now belongs to the user ann@x.io; a new account is created "
            "instead",
        ),
    ),
    "an alias of the deleted account now a group's: suspended in Git, nothing to create": (
        Scenario(
            state(want("jo", state="suspended")),
            state(group("eng", aliases=("j",), owner=None), gone("jo", aliases=("j",))),
            [],
            notes=(
                "cannot be restored while",
                "user jo@x.io: j@x.io now belongs to the group eng@x.io",
            ),
        )
    ),
    "restoring a protected account or a super admin is not refused": Scenario(
        state(want("jo")),
        state(gone("jo", admin=True)),
        [("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")})],
        ws=workspace(protected=("jo",)),
    ),
    # -- attributes --------------------------------------------------------------------------
    "update every attribute with old and new values": Scenario(
        state(
            want(
                "jo",
                given_name="Jo",
                family_name="Lei",
                org_unit="/Eng",
                title="Lead",
                department="Eng",
                cost_center="CC-2",
                manager="ana@x.io",
                phone="+1 555 0111",
                employee_id="E-2",
                recovery_email="jo@home.net",
                recovery_phone="+15550111",
            ),
            unit("/Eng"),
        ),
        state(
            have(
                "jo",
                given_name="Joe",
                family_name="Ley",
                org_unit="/",
                title="Engineer",
                department="R&D",
                cost_center="CC-1",
                manager="bo@x.io",
                phone="+1 555 0100",
                employee_id="E-1",
                recovery_email=None,
                recovery_phone="+15550100",
            ),
            unit("/Eng"),
        ),
        [
            (
                "update",
                "user",
                "jo@x.io",
                {
                    "given_name": ("Joe", "Jo"),
                    "family_name": ("Ley", "Lei"),
                    "org_unit": ("/", "/Eng"),
                    "title": ("Engineer", "Lead"),
                    "department": ("R&D", "Eng"),
                    "cost_center": ("CC-1", "CC-2"),
                    "manager": ("bo@x.io", "ana@x.io"),
                    "phone": ("+1 555 0100", "+1 555 0111"),
                    "employee_id": ("E-1", "E-2"),
                    "recovery_email": (None, "jo@home.net"),
                    "recovery_phone": ("+15550100", "+15550111"),
                },
            )
        ],
    ),
    "unmanaged attributes (None) are left as Google has them": Scenario(
        state(want("jo", title=None, phone=None, org_unit=None)),
        state(have("jo", title="Engineer", phone="+1 555 0100", org_unit="/Eng")),
        [],
    ),
    "an empty string clears": Scenario(
        state(want("jo", title="", phone="")),
        state(have("jo", title="Engineer", phone="+1 555 0100")),
        [("update", "user", "jo@x.io", {"title": ("Engineer", ""), "phone": ("+1 555 0100", "")})],
    ),
    "an empty string where Google has nothing: no change": Scenario(
        state(want("jo", title="", phone="")), state(have("jo")), []
    ),
    "no org unit in Google is the root": Scenario(
        state(want("jo", org_unit="/")), state(have("jo", org_unit=None)), []
    ),
    "aliases: add the missing, remove the extra": Scenario(
        state(want("jo", aliases=("j", "jo2"))),
        state(have("jo", aliases=("j", "old"))),
        [
            (
                "update",
                "user",
                "jo@x.io",
                {"aliases": (("j@x.io", "old@x.io"), ("j@x.io", "jo2@x.io"))},
            )
        ],
    ),
    "aliases: previous_emails are kept as aliases": Scenario(
        state(want("jo", aliases=("j",), previous=("jl",))),
        state(have("jo", aliases=("j", "jl"))),
        [],
    ),
    "aliases unmanaged (None): untouched": Scenario(
        state(want("jo")), state(have("jo", aliases=("whatever",))), []
    ),
}

ORG_UNITS: dict[str, Scenario] = {
    "create missing units, parents first": Scenario(
        state(unit("/Eng"), unit("/Eng/Platform", "Infra"), unit("/Sales")),
        state(unit("/Sales")),
        [
            ("create", "org_unit", "/Eng"),
            ("create", "org_unit", "/Eng/Platform", {"description": (None, "Infra")}),
        ],
    ),
    "create a unit a new user needs": Scenario(
        state(want("new", org_unit="/Eng"), unit("/Eng")),
        state(),
        [
            ("create", "org_unit", "/Eng"),
            ("create", "user", "new@x.io", {"org_unit": (None, "/Eng")}),
        ],
    ),
    "update a description": Scenario(
        state(unit("/Eng", "Product engineering")),
        state(unit("/Eng", "Engineering")),
        [("update", "org_unit", "/Eng", {"description": ("Engineering", "Product engineering")})],
    ),
    "an unmanaged description (None) is left alone, an empty one clears": Scenario(
        state(unit("/Eng"), unit("/Ops", "")),
        state(unit("/Eng", "Engineering"), unit("/Ops", "Operations")),
        [("update", "org_unit", "/Ops", {"description": ("Operations", "")})],
    ),
    "units Git does not name are left alone": Scenario(state(), state(unit("/Legacy", "old")), []),
    # Google's org unit paths ignore case: /eng is /Eng, renamed to Git's spelling.
    "a unit spelt in another case is renamed, not created": Scenario(
        state(unit("/engineering")),
        state(unit("/Engineering")),
        [("update", "org_unit", "/engineering", {"name": ("Engineering", "engineering")})],
    ),
    "a case rename and a new description are one update": Scenario(
        state(unit("/OPS", "Operations")),
        state(unit("/Ops", "Ops")),
        [
            (
                "update",
                "org_unit",
                "/OPS",
                {"name": ("Ops", "OPS"), "description": ("Ops", "Operations")},
            )
        ],
    ),
    "only the unit whose own name differs is renamed; units below follow it": Scenario(
        state(unit("/engineering"), unit("/engineering/Platform", "Infra")),
        state(unit("/Engineering"), unit("/Engineering/Platform", "Infra")),
        [("update", "org_unit", "/engineering", {"name": ("Engineering", "engineering")})],
    ),
    "a new unit under a unit spelt otherwise is created, the parent renamed": Scenario(
        state(unit("/engineering"), unit("/engineering/Web")),
        state(unit("/Engineering")),
        [
            ("create", "org_unit", "/engineering/Web"),
            ("update", "org_unit", "/engineering", {"name": ("Engineering", "engineering")}),
        ],
    ),
    "a user in a unit spelt otherwise is not moved: the unit's rename covers it": Scenario(
        state(want("jo", org_unit="/engineering"), unit("/engineering")),
        state(have("jo", org_unit="/Engineering"), unit("/Engineering")),
        [("update", "org_unit", "/engineering", {"name": ("Engineering", "engineering")})],
    ),
    "a user moved to another unit still moves": Scenario(
        state(want("jo", org_unit="/sales"), unit("/sales")),
        state(have("jo", org_unit="/Engineering"), unit("/Engineering"), unit("/Sales")),
        [
            ("update", "org_unit", "/sales", {"name": ("Sales", "sales")}),
            ("update", "user", "jo@x.io", {"org_unit": ("/Engineering", "/sales")}),
        ],
    ),
}

GROUPS: dict[str, Scenario] = {
    "create a group with its members": Scenario(
        state(
            *wants("priya", "kenji"),
            group(
                "platform",
                member("priya", "OWNER"),
                member("kenji"),
                title="Platform Team",
                description="Infra",
                aliases=("plat",),
            ),
        ),
        state(*haves("priya", "kenji")),
        [
            (
                "create",
                "group",
                "platform@x.io",
                {
                    "name": (None, "Platform Team"),
                    "description": (None, "Infra"),
                    "aliases": ((), ("plat@x.io",)),
                },
            ),
            ("add_member", "membership", "platform@x.io/kenji@x.io", "MEMBER"),
            ("add_member", "membership", "platform@x.io/priya@x.io", "OWNER"),
        ],
    ),
    "update name and description": Scenario(
        state(want("dan"), group("sales", member("dan"), title="Sales", description="Quotes")),
        state(have("dan"), group("sales", member("dan"), title="Sales team", description="Old")),
        [
            (
                "update",
                "group",
                "sales@x.io",
                {"name": ("Sales team", "Sales"), "description": ("Old", "Quotes")},
            )
        ],
    ),
    "an unmanaged description (None) is left alone, an empty one clears": Scenario(
        state(want("dan"), group("a", member("dan")), group("b", member("dan"), description="")),
        state(
            have("dan"),
            group("a", member("dan"), description="A"),
            group("b", member("dan"), description="B"),
        ),
        [("update", "group", "b@x.io", {"description": ("B", "")})],
    ),
    "rename a group found by its alias": Scenario(
        state(want("jo"), group("eng", member("jo"))),
        state(have("jo"), group("dev", member("jo"), aliases=("eng",))),
        [RENAME_ENG],
    ),
    "rename a group found by a previous email": Scenario(
        state(want("jo"), group("eng", member("jo"), previous=("dev",))),
        state(have("jo"), group("dev", member("jo"))),
        [("rename", "group", "eng@x.io", "dev@x.io")],
    ),
    "rename a group, aliases managed: the previous email stays, the rest goes": Scenario(
        state(want("jo"), group("eng", member("jo"), previous=("dev",), aliases=("engineering",))),
        state(have("jo"), group("dev", member("jo"), aliases=("developers",))),
        [
            ("rename", "group", "eng@x.io", "dev@x.io"),
            (
                "update",
                "group",
                "eng@x.io",
                {
                    "aliases": (
                        ("dev@x.io", "developers@x.io"),
                        ("dev@x.io", "engineering@x.io"),
                    )
                },
            ),
        ],
    ),
    "rename a group found by its alias, aliases managed: the old address goes": Scenario(
        state(want("jo"), group("eng", member("jo"), aliases=())),
        state(have("jo"), group("dev", member("jo"), aliases=("eng",))),
        [
            RENAME_ENG,
            ("update", "group", "eng@x.io", {"aliases": (("dev@x.io",), ())}),
        ],
    ),
    "group aliases: add the missing, remove the extra; unmanaged left alone": Scenario(
        state(want("jo"), group("a", member("jo"), aliases=("a1",)), group("b", member("jo"))),
        state(
            have("jo"),
            group("a", member("jo"), aliases=("a2",)),
            group("b", member("jo"), aliases=("b1",)),
        ),
        [("update", "group", "a@x.io", {"aliases": (("a2@x.io",), ("a1@x.io",))})],
    ),
    "authoritative membership: add, change role, remove": Scenario(
        state(
            *wants("hannah", "omar", "james"),
            group("fin", member("hannah", "OWNER"), member("omar")),
        ),
        state(
            *haves("hannah", "omar", "james"),
            group("fin", member("hannah"), member("james", "MANAGER")),
        ),
        [
            ("add_member", "membership", "fin@x.io/omar@x.io", "MEMBER"),
            (
                "update_member",
                "membership",
                "fin@x.io/hannah@x.io",
                "OWNER",
                {"role": ("MEMBER", "OWNER")},
            ),
            ("remove_member", "membership", "fin@x.io/james@x.io", "MANAGER"),
        ],
    ),
    "additive membership: adds and role changes, no removals": Scenario(
        state(
            *wants("felix", "grace", "nora"),
            group("help", member("felix", "OWNER"), member("grace"), additive=True),
        ),
        state(
            *haves("felix", "grace", "nora"),
            group("help", member("felix"), member("nora")),
        ),
        [
            ("add_member", "membership", "help@x.io/grace@x.io", "MEMBER"),
            (
                "update_member",
                "membership",
                "help@x.io/felix@x.io",
                "OWNER",
                {"role": ("MEMBER", "OWNER")},
            ),
        ],
    ),
    "nested group as a GROUP member, created first": Scenario(
        state(
            want("jo"),
            group("eng", member("jo"), member("platform", type="GROUP")),
            group("platform", member("jo")),
        ),
        state(have("jo"), group("eng", member("jo"))),
        [
            ("create", "group", "platform@x.io", {"name": (None, "Team")}),
            ("add_member", "membership", "eng@x.io/platform@x.io", "MEMBER"),
            ("add_member", "membership", "platform@x.io/jo@x.io", "MEMBER"),
        ],
    ),
    "external members: added, kept, removed like any other": Scenario(
        state(
            group("audit", member("auditor@partner.com", type="EXTERNAL")),
            group("legal", member("counsel@law.example", type="EXTERNAL")),
        ),
        state(
            group("audit", member("old-auditor@partner.com", type="EXTERNAL")),
            group("legal", member("counsel@law.example", type="EXTERNAL")),
        ),
        [
            ("add_member", "membership", "audit@x.io/auditor@partner.com", "MEMBER"),
            ("remove_member", "membership", "audit@x.io/old-auditor@partner.com", "MEMBER"),
        ],
    ),
    "members follow a user rename: no remove and add": Scenario(
        state(
            want("maria.silva", previous=("maria.costa",)),
            group("eng", member("maria.silva")),
        ),
        state(have("maria.costa"), group("eng", member("maria.costa"))),
        [("rename", "user", "maria.silva@x.io", "maria.costa@x.io")],
    ),
    "members follow a user rename by alias, role change kept": Scenario(
        state(want("robert"), group("fin", member("robert", "OWNER"))),
        state(have("rfischer", aliases=("robert",)), group("fin", member("rfischer"))),
        [
            RENAME_ROBERT,
            (
                "update_member",
                "membership",
                "fin@x.io/robert@x.io",
                "OWNER",
                {"role": ("MEMBER", "OWNER")},
            ),
        ],
    ),
    "members follow a user rename: a removal names the address it will have": Scenario(
        state(want("robert", aliases=()), want("hannah"), group("fin", member("hannah"))),
        state(
            have("rfischer", aliases=("robert",)),
            have("hannah"),
            group("fin", member("hannah"), member("rfischer")),
        ),
        [
            RENAME_ROBERT,
            ("update", "user", "robert@x.io", {"aliases": (("rfischer@x.io",), ())}),
            ("remove_member", "membership", "fin@x.io/robert@x.io", "MEMBER"),
        ],
    ),
    "members follow a group rename: a removal names the address it will have": Scenario(
        state(
            want("jo"),
            group("all", member("jo")),
            group("eng", member("jo"), aliases=(), previous=()),
        ),
        state(
            have("jo"),
            group("all", member("jo"), member("dev", type="GROUP")),
            group("dev", member("jo"), aliases=("eng",)),
        ),
        [
            RENAME_ENG,
            ("update", "group", "eng@x.io", {"aliases": (("dev@x.io",), ())}),
            ("remove_member", "membership", "all@x.io/eng@x.io", "MEMBER"),
        ],
    ),
    "members follow a group rename: a nested group keeps its place": Scenario(
        state(
            want("jo"),
            group("all", member("eng", type="GROUP")),
            group("eng", member("jo"), previous=("dev",)),
        ),
        state(
            have("jo"),
            group("all", member("dev", type="GROUP")),
            group("dev", member("jo")),
        ),
        [("rename", "group", "eng@x.io", "dev@x.io")],
    ),
    "a restored user is added back to its groups (Google drops memberships on delete)": Scenario(
        state(want("jo"), want("al"), group("team", member("jo", "OWNER"), member("al"))),
        state(have("al"), gone("jo"), group("team", member("al"))),
        [
            ("undelete", "user", "jo@x.io", {"org_unit": ("/", "/")}),
            ("add_member", "membership", "team@x.io/jo@x.io", "OWNER"),
        ],
    ),
    "a user suspended in Git before any account existed is not added": Scenario(
        state(
            want("ada"),
            want("bob", state="suspended"),
            want("cy", state="suspended"),
            group("team", member("ada"), member("bob"), member("cy")),
        ),
        state(have("ada"), have("cy", suspended=True), group("team", member("ada"))),
        [("add_member", "membership", "team@x.io/cy@x.io", "MEMBER")],
    ),
    "groups Git does not name are left alone": Scenario(
        state(),
        state(
            have("jo", owner=None),
            group("social", member("jo"), description="Lunches", owner=None),
        ),
        [],
    ),
    # -- access Git removes ends (empty groups), ownership, staged users --------------------
    "a managed group Git empties loses every member, and stays": Scenario(
        state(want("jo"), group("audit")),
        state(
            have("jo"),
            group("audit", member("jo", "OWNER"), member("auditor@firm.com", type="EXTERNAL")),
        ),
        [
            ("remove_member", "membership", "audit@x.io/auditor@firm.com", "MEMBER"),
            ("remove_member", "membership", "audit@x.io/jo@x.io", "OWNER"),
        ],
    ),
    "an empty group that does not exist is not created, with a note": Scenario(
        state(want("jo"), group("later")),
        state(have("jo")),
        [],
        notes=("group later@x.io: not created while it has no members",),
    ),
    "an empty exported group is a GROUP member once it exists, and not before": Scenario(
        state(
            want("jo"),
            group(
                "parent", member("jo"), member("here", type="GROUP"), member("gone", type="GROUP")
            ),
            group("here"),
            group("gone"),
        ),
        state(have("jo"), group("parent", member("jo")), group("here")),
        [("add_member", "membership", "parent@x.io/here@x.io", "MEMBER")],
        notes=("group gone@x.io: not created while it has no members",),
    ),
    "an unmarked group Git names is adopted, then managed": Scenario(
        state(want("jo"), group("eng", member("jo"), description="All")),
        state(
            have("jo"),
            group("eng", member("bo@firm.com", type="EXTERNAL"), description="Old", owner=None),
        ),
        [
            ("adopt", "group", "eng@x.io"),
            ("update", "group", "eng@x.io", {"description": ("Old", "All")}),
            ("add_member", "membership", "eng@x.io/jo@x.io", "MEMBER"),
            ("remove_member", "membership", "eng@x.io/bo@firm.com", "MEMBER"),
        ],
    ),
    "an unmarked group found by a previous email is renamed and adopted": Scenario(
        state(want("jo"), group("eng", member("jo"), previous=("dev",))),
        state(have("jo"), group("dev", member("jo"), owner=None)),
        [
            ("rename", "group", "eng@x.io", "dev@x.io"),
            ("adopt", "group", "eng@x.io"),
        ],
    ),
    "a group managed by another repository is left alone, naming its owner": Scenario(
        state(want("jo"), group("web", member("jo"), description="Ours now?")),
        state(have("jo"), group("web", member("bo"), owner=THEIRS)),
        [],
        notes=(f"group web@x.io: the group web@x.io is managed by '{THEIRS}'",),
    ),
    "another repository's group found by a previous email is not renamed or created": Scenario(
        state(want("jo"), group("eng", member("jo"), previous=("dev",))),
        state(have("jo"), group("dev", member("jo"), owner=THEIRS)),
        [],
        notes=(f"group eng@x.io: the group dev@x.io is managed by '{THEIRS}'",),
    ),
    "a staged user's memberships stay as Google has them": Scenario(
        state(
            want("jo"),
            want("lena", state="staged"),
            group("team", member("jo")),
        ),
        state(
            have("jo"),
            have("lena", owner=None),
            group("team", member("jo"), member("lena", "MANAGER")),
        ),
        [],
    ),
    "a staged user found by a previous email keeps the memberships of that account": Scenario(
        state(want("jo"), want("lena.new", state="staged", previous=("lena",)), group("team")),
        state(have("jo"), have("lena"), group("team", member("jo"), member("lena"))),
        [("remove_member", "membership", "team@x.io/jo@x.io", "MEMBER")],
    ),
    "a group of ours that Git no longer names is noted with its member count": Scenario(
        state(want("jo"), group("eng", member("jo"))),
        state(have("jo"), group("eng", member("jo")), group("old", member("jo"), member("bo"))),
        [],
        notes=(
            "group old@x.io is managed by this repository but no longer in Git; it keeps its "
            "2 members: if its email changed, add old@x.io to the group's previous_emails",
        ),
    ),
    "a group whose email changed without previous_emails: created, the old one noted": Scenario(
        state(want("jo"), group("eng", member("jo"), title="Engineering")),
        state(have("jo"), group("dev", member("jo"), title="Engineering", owner=None)),
        [
            ("create", "group", "eng@x.io", {"name": (None, "Engineering")}),
            ("add_member", "membership", "eng@x.io/jo@x.io", "MEMBER"),
        ],
        notes=("group dev@x.io has the name of eng@x.io, which the plan creates",),
    ),
    # -- consumer Gmail: one account, many spellings; Google lists its own -----------------
    "a Gmail member Google lists under another spelling: no change": Scenario(
        state(group("ext", gmail("john.doe+news@googlemail.com"), gmail("ann@gmail.com"))),
        state(group("ext", gmail("johndoe@gmail.com"), gmail("a.n.n@googlemail.com"))),
        [],
    ),
    "a Gmail member missing in Google is added by Git's spelling": Scenario(
        state(group("ext", gmail("john.doe+news@googlemail.com"))),
        state(group("ext", gmail("ann@gmail.com"))),
        [
            ("add_member", "membership", "ext@x.io/john.doe+news@googlemail.com", "MEMBER"),
            ("remove_member", "membership", "ext@x.io/ann@gmail.com", "MEMBER"),
        ],
    ),
    "a Gmail member Git drops is removed by the spelling Google lists": Scenario(
        state(group("ext", gmail("johndoe@gmail.com"))),
        state(group("ext", gmail("john.doe@gmail.com"), gmail("a.n.n@gmail.com"))),
        [("remove_member", "membership", "ext@x.io/a.n.n@gmail.com", "MEMBER")],
    ),
    "a Gmail member's role changes by the spelling Google lists": Scenario(
        state(group("ext", gmail("john.doe@googlemail.com", "MANAGER"))),
        state(group("ext", gmail("johndoe@gmail.com"))),
        [
            (
                "update_member",
                "membership",
                "ext@x.io/johndoe@gmail.com",
                "MANAGER",
                {"role": ("MEMBER", "MANAGER")},
            )
        ],
    ),
    "two spellings of one Gmail account in Git are one member, with the higher role": Scenario(
        state(group("ext", gmail("john.doe@gmail.com"), gmail("johndoe@gmail.com", "OWNER"))),
        state(group("ext")),
        [("add_member", "membership", "ext@x.io/john.doe@gmail.com", "OWNER")],
    ),
    "dots and +tags matter outside gmail.com and googlemail.com": Scenario(
        state(group("ext", gmail("john.doe@gmail.co"), gmail("ann+x@partner.com"))),
        state(group("ext", gmail("johndoe@gmail.co"), gmail("ann@partner.com"))),
        [
            ("add_member", "membership", "ext@x.io/ann+x@partner.com", "MEMBER"),
            ("add_member", "membership", "ext@x.io/john.doe@gmail.co", "MEMBER"),
            ("remove_member", "membership", "ext@x.io/ann@partner.com", "MEMBER"),
            ("remove_member", "membership", "ext@x.io/johndoe@gmail.co", "MEMBER"),
        ],
    ),
    # -- members Google lists that name no account Git could mean ---------------------------
    "a member in our domains with no account behind it is kept, with a note": Scenario(
        state(want("jo"), group("eng", member("jo"))),
        state(have("jo"), group("eng", member("jo"), member("pending"), member("gone@y.io"))),
        [],
        notes=(
            "group eng@x.io: member pending@x.io is kept: listed by Google with no user or "
            "group behind it, so Git cannot name it; remove it in the Admin console",
            "group eng@x.io: member gone@y.io is kept",
        ),
    ),
    "the customer as a member is kept, with a note": Scenario(
        state(want("jo"), group("all", member("jo"))),
        state(have("jo"), group("all", member("jo"), Member("c03az79cb", "MEMBER", "CUSTOMER"))),
        [],
        notes=("group all@x.io: member c03az79cb is kept: the customer (every user",),
    ),
    "a member with no account behind it that Git names is left as it is": Scenario(
        state(want("jo"), want("pending"), group("eng", member("jo"), member("pending"))),
        state(have("jo"), group("eng", member("jo"), member("pending"))),
        [("create", "user", "pending@x.io")],
    ),
    "a USER member outside our domains (another customer's) is removed when Git drops it": Scenario(
        state(want("jo"), group("eng", member("jo"))),
        state(have("jo"), group("eng", member("jo"), member("someone@other.example"))),
        [("remove_member", "membership", "eng@x.io/someone@other.example", "MEMBER")],
    ),
    "an additive group keeps unresolved members without a note": Scenario(
        state(want("jo"), group("eng", member("jo"), additive=True)),
        state(have("jo"), group("eng", member("pending"), Member("c01", "MEMBER", "CUSTOMER"))),
        [("add_member", "membership", "eng@x.io/jo@x.io", "MEMBER")],
    ),
    "group_management false: no group or membership changes at all": Scenario(
        state(
            want("jo", title="Lead"),
            group("new", member("jo")),
            group("eng", member("jo"), description="All", previous=("dev",)),
        ),
        state(have("jo"), group("dev", member("bo"), description="Old")),
        [("update", "user", "jo@x.io", {"title": (None, "Lead")})],
        ws=workspace(group_management=False),
    ),
}

SCENARIOS = {
    **{f"user: {k}": v for k, v in USERS.items()},
    **{f"org unit: {k}": v for k, v in ORG_UNITS.items()},
    **{f"group: {k}": v for k, v in GROUPS.items()},
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name: str) -> None:
    s = SCENARIOS[name]
    plan = make_plan(s.desired, s.actual, s.ws)
    assert rows(plan) == s.expected
    assert not plan.refused and not plan.over_limits
    for wanted in s.notes:
        assert any(wanted in note for note in plan.notes), plan.notes
    if not s.notes:
        assert plan.notes == []


# -- renames and the alias cap ---------------------------------------------------------------

THIRTY = tuple(f"a{i}" for i in range(30))


def test_a_rename_that_would_pass_30_aliases_is_left_alone_with_a_note() -> None:
    # Found by a previous email: the old address becomes a 31st alias.
    desired = state(want("new", previous=("old",), title="T"), group("g", member("new")))
    actual = state(have("old", aliases=(*THIRTY[:29], "extra")), group("g", member("old")))
    plan = make_plan(desired, actual, workspace())
    assert rows(plan) == []
    (note,) = plan.notes
    assert note.startswith("user new@x.io: not renamed from old@x.io")
    assert "31 aliases, over Google's limit of 30" in note
    # Exactly 30 after the rename is fine.
    actual = state(have("old", aliases=THIRTY[:29]), group("g", member("old")))
    assert heads(make_plan(desired, actual, workspace()).changes) == [
        ("rename", "user", "new@x.io"),
        ("update", "user", "new@x.io"),
    ]


def test_a_rename_to_an_own_alias_at_the_cap_fits() -> None:
    # The alias becomes the primary and the old address takes its place: still 30.
    desired = state(want("a0"))
    actual = state(have("old", aliases=THIRTY))
    (rename,) = make_plan(desired, actual, workspace()).changes
    assert (rename.action, rename.from_) == ("rename", "old@x.io")
    assert len(rename.fields["aliases"].new) == 30


def test_aliases_git_drops_are_removed_before_the_rename_so_they_make_room() -> None:
    desired = state(want("new", previous=("old",), aliases=("a1", "a2")))
    actual = state(have("old", aliases=THIRTY))
    plan = make_plan(desired, actual, workspace())
    assert rows(plan) == [
        ("rename", "user", "new@x.io", "old@x.io"),
        (
            "update",
            "user",
            "new@x.io",
            {
                "aliases": (
                    tuple(sorted(addr(a) for a in (*THIRTY, "old"))),
                    (addr("a1"), addr("a2"), addr("old")),
                )
            },
        ),
    ]
    assert plan.notes == []


def test_a_group_rename_past_30_aliases_is_left_alone_with_a_note() -> None:
    desired = state(want("jo"), group("eng", member("jo"), previous=("dev",), description="D"))
    actual = state(have("jo"), group("dev", member("jo"), aliases=THIRTY))
    plan = make_plan(desired, actual, workspace())
    assert rows(plan) == []
    (note,) = plan.notes
    assert note.startswith("group eng@x.io: not renamed from dev@x.io")


def test_a_rename_an_earlier_apply_began_finds_the_account() -> None:
    """The alias is gone and Git does not list the old address: the record finds it."""
    desired = state(want("robert"), group("eng", member("robert")))
    actual = state(have("rfischer", owner=None), group("dev", member("rfischer")))
    assert heads(make_plan(desired, actual, workspace()).changes)[0] == (
        "create",
        "user",
        "robert@x.io",
    )
    pending = {"users": {addr("robert"): addr("rfischer")}, "groups": {addr("eng"): addr("dev")}}
    plan = make_plan(desired, actual, workspace(), pending)
    assert rows(plan) == [
        ("rename", "user", "robert@x.io", "rfischer@x.io"),
        ("rename", "group", "eng@x.io", "dev@x.io"),
        ("adopt", "user", "robert@x.io"),
    ]
    assert plan.changes[0].reason == "found by the rename an earlier apply began"
    # The record never wins over what Google shows, and names only an account's primary.
    actual = state(have("rfischer", aliases=("robert",)), have("other", aliases=("x",)))
    pending = {"users": {addr("robert"): addr("rfischer"), addr("y"): addr("x")}}
    plan = make_plan(state(want("robert"), want("y")), actual, workspace(), pending)
    assert plan.changes[0].reason == "found by its alias"
    assert ("create", "user", "y@x.io") in heads(plan.changes)


# -- reasons, origins, member types ----------------------------------------------------------


def test_reasons_say_why() -> None:
    desired = state(
        want("robert"),
        want("maria", previous=("mc",)),
        want("hannah"),
        want("james", state="suspended"),
        want("sam", bound=False),
        want("del", state="deleted"),
    )
    actual = state(
        have("rfischer", aliases=("robert",)),
        have("mc"),
        have("hannah", owner=None),
        have("james"),
        have("sam"),
        have("del", owner=None),
        have("gone"),
        gone("back", owner=None, deleted="2026-02-27T23:30:00.000Z"),
    )
    desired.users["back@x.io"] = want("back")
    plan = make_plan(desired, actual, workspace())
    reasons = {(c.action, c.key): c.reason for c in plan.changes}
    assert reasons == {
        ("undelete", "back@x.io"): "deleted 2026-02-27; restorable until 2026-03-19",
        ("adopt", "back@x.io"): "takeover of a restored account",
        ("rename", "robert@x.io"): "found by its alias",
        ("rename", "maria@x.io"): "found by a previous email",
        ("adopt", "hannah@x.io"): "takeover of an existing account",
        ("adopt", "del@x.io"): "to delete it",
        ("delete", "del@x.io"): None,
        ("suspend", "james@x.io"): "state: suspended",
        ("suspend", "sam@x.io"): "no longer bound",
        ("suspend", "gone@x.io"): "marked as ours but not in Git",
    }


def test_changes_carry_the_origin_of_the_desired_entry() -> None:
    where = Origin(Path("users/eng.yaml"), 7)
    desired = state(replace(want("jo", title="Lead"), origin=where))
    plan = make_plan(desired, state(have("jo")), workspace())
    assert [c.origin for c in plan.changes] == [where]


def test_member_changes_name_the_member_type() -> None:
    desired = state(
        group(
            "eng",
            member("jo"),
            member("platform", type="GROUP"),
            member("a@b.example", type="EXTERNAL"),
        ),
        group("platform", member("jo")),
    )
    plan = make_plan(desired, state(have("jo")), workspace())
    added = {
        (c.group, c.member): c.member_type for c in changes_of(plan, "membership", ["add_member"])
    }
    assert added == {
        ("eng@x.io", "jo@x.io"): "USER",
        ("eng@x.io", "platform@x.io"): "GROUP",
        ("eng@x.io", "a@b.example"): "EXTERNAL",
        ("platform@x.io", "jo@x.io"): "USER",
    }


# -- two repositories side by side -----------------------------------------------------------


def test_two_ownership_ids_never_touch_each_other() -> None:
    """Two repositories over one tenant: each plans only for the accounts it marked."""
    actual = state(
        have("ana", owner=OURS, title="Old"),
        have("cms", owner=THEIRS, title="Old"),
        have("left-ours", owner=OURS),
        have("left-theirs", owner=THEIRS),
    )
    everyone = state(want("ana", title="New"), want("cms", title="New"))
    ours = make_plan(everyone, actual, workspace(ownership=OURS))
    theirs = make_plan(everyone, actual, workspace(ownership=THEIRS))
    assert heads(ours.changes) == [
        ("update", "user", "ana@x.io"),
        ("suspend", "user", "left-ours@x.io"),
    ]
    assert heads(theirs.changes) == [
        ("update", "user", "cms@x.io"),
        ("suspend", "user", "left-theirs@x.io"),
    ]
    assert any("managed by 'acme/marketing-sites'" in n for n in ours.notes)
    assert any("managed by 'acme/identity'" in n for n in theirs.notes)


# -- protected accounts and super admins ----------------------------------------------------

PROTECTED: dict[str, tuple[State, State, list[Row]]] = {
    "suspend a protected account": (
        state(want("admin", state="suspended")),
        state(have("admin")),
        [("suspend", "user", "admin@x.io")],
    ),
    "rename a protected account": (
        state(want("root")),
        state(have("admin", aliases=("root",))),
        [
            (
                "rename",
                "user",
                "root@x.io",
                "admin@x.io",
                {"aliases": (("root@x.io",), ("admin@x.io",))},
            )
        ],
    ),
    "delete a protected account": (
        state(want("admin", state="deleted")),
        state(have("admin")),
        [("delete", "user", "admin@x.io")],
    ),
    "suspend a super admin not in Git": (
        state(),
        state(have("boss", admin=True)),
        [("suspend", "user", "boss@x.io")],
    ),
    "suspend a super admin Git no longer binds": (
        state(want("boss", bound=False)),
        state(have("boss", admin=True)),
        [("suspend", "user", "boss@x.io")],
    ),
    "rename a super admin": (
        state(want("chief", previous=("boss",))),
        state(have("boss", admin=True)),
        [("rename", "user", "chief@x.io", "boss@x.io")],
    ),
    "delete a super admin": (
        state(want("boss", state="deleted")),
        state(have("boss", admin=True)),
        [("delete", "user", "boss@x.io")],
    ),
}


@pytest.mark.parametrize("name", PROTECTED)
def test_protected_accounts_and_super_admins_are_refused(name: str) -> None:
    desired, actual, refused = PROTECTED[name]
    # Everything else is fine: a harmless change alongside, and no limit anywhere near.
    desired.users["new@x.io"] = want("new")
    # Only where admin@ exists: a protected address that finds no account refuses the plan.
    protected = ("admin",) if "protected" in name else ()
    plan = make_plan(desired, actual, workspace(protected=protected))
    assert [row(c) for c in plan.refused] == refused
    assert all(c.reason and c.reason.startswith("refused: ") for c in plan.refused)
    assert plan.unsafe and plan.over_limits == []
    assert heads(plan.changes)[0] == ("create", "user", "new@x.io")
    assert not {(c.action, c.key) for c in plan.refused} & {(c.action, c.key) for c in plan.changes}


def test_protected_accounts_may_still_be_updated() -> None:
    plan = make_plan(
        state(want("admin", title="Admin")),
        state(have("admin", admin=True)),
        workspace(protected=("admin",)),
    )
    assert rows(plan) == [("update", "user", "admin@x.io", {"title": (None, "Admin")})]
    assert not plan.unsafe


# -- safety limits ---------------------------------------------------------------------------


def _leavers(n: int, managed: int) -> tuple[State, State]:
    """`managed` marked accounts, of which Git still names all but `n`."""
    names = [f"u{i:02d}" for i in range(managed)]
    return state(*(want(x) for x in names[n:])), state(*(have(x) for x in names))


def _doomed(n: int, managed: int) -> tuple[State, State]:
    names = [f"u{i:02d}" for i in range(managed)]
    desired = [want(x, state="deleted") for x in names[:n]] + [want(x) for x in names[n:]]
    return state(*desired), state(*(have(x) for x in names))


def _removals(n: int, members: int) -> tuple[State, State]:
    names = [f"u{i:02d}" for i in range(members)]
    desired = state(*(want(x) for x in names), group("g", *(member(x) for x in names[n:])))
    actual = state(*(have(x) for x in names), group("g", *(member(x) for x in names)))
    return desired, actual


LIMITS = [
    # (states, limits, expected over_limits)
    (_leavers(2, 20), {"max_suspend": 2}, []),
    (_leavers(3, 20), {"max_suspend": 2}, ["3 suspensions planned; the limit is 2"]),
    (_doomed(1, 20), {"max_delete": 1}, []),
    (_doomed(2, 20), {"max_delete": 1}, ["2 deletions planned; the limit is 1"]),
    (_removals(3, 20), {"max_member_removals": 3}, []),
    (_removals(4, 20), {"max_member_removals": 3}, ["4 member removals planned; the limit is 3"]),
    (_leavers(2, 20), {"max_suspend_percent": 10}, []),
    (
        _leavers(3, 20),
        {"max_suspend_percent": 10},
        ["3 suspensions planned, 15.0% of 20; the limit is 10%"],
    ),
    (
        _doomed(3, 20),
        {"max_delete_percent": 10},
        ["3 deletions planned, 15.0% of 20; the limit is 10%"],
    ),
    (
        _removals(5, 20),
        {"max_member_removals_percent": 20},
        ["5 member removals planned, 25.0% of 20; the limit is 20%"],
    ),
    # Percent limits apply only from percent_floor existing objects on.
    (_leavers(2, 9), {"max_suspend_percent": 10}, []),
    (
        _leavers(2, 9),
        {"max_suspend_percent": 10, "percent_floor": 9},
        ["2 suspensions planned, 22.2% of 9; the limit is 10%"],
    ),
    (_removals(5, 9), {"max_member_removals_percent": 10}, []),
    # Both kinds of limit, both exceeded.
    (
        _leavers(4, 20),
        {"max_suspend": 3, "max_suspend_percent": 10},
        [
            "4 suspensions planned; the limit is 3",
            "4 suspensions planned, 20.0% of 20; the limit is 10%",
        ],
    ),
]


@pytest.mark.parametrize(("states", "limits", "expected"), LIMITS)
def test_safety_limits(states: tuple[State, State], limits: dict, expected: list[str]) -> None:
    desired, actual = states
    plan = make_plan(desired, actual, workspace(**limits))
    assert plan.over_limits == expected
    assert plan.unsafe == bool(expected)
    assert not plan.refused


def test_the_default_limits_apply() -> None:
    """workspace.yaml without `safety:` still limits suspensions (10)."""
    desired, actual = _leavers(11, 30)
    ws = Workspace.model_validate(
        {
            "directory": {"domains": ["x.io"]},
            "ownership": {"id": OURS},
            "provider": {"kind": "emulator"},
        }
    )
    assert make_plan(desired, actual, ws).over_limits == ["11 suspensions planned; the limit is 10"]


def test_percent_limits_count_only_accounts_marked_as_ours() -> None:
    desired, actual = _leavers(2, 10)
    for i in range(30):
        actual.users[f"info{i}@x.io"] = have(f"info{i}", owner=None)
    plan = make_plan(desired, actual, workspace(max_suspend_percent=10))
    assert plan.over_limits == ["2 suspensions planned, 20.0% of 10; the limit is 10%"]


# -- ordering --------------------------------------------------------------------------------


def test_changes_follow_the_phases() -> None:
    """One change of every phase the diff makes, listed in PHASES order, then by key."""
    desired = state(
        unit("/Eng", "Engineering"),
        unit("/New"),
        want("b-new"),
        want("a-new"),
        want("robert"),
        want("hannah", title="T", license="1010020025"),
        want("tom"),
        want("james", state="suspended"),
        want("del", state="deleted"),
        want("back"),
        group("platform", member("a-new")),
        group("eng", member("jo"), previous=("dev",)),
        replace(
            group("sales", member("jo", "OWNER"), member("hannah"), description="New"),
            settings={"who_can_join": "INVITED_CAN_JOIN"},
        ),
        want("jo", license="1010020025"),
    )
    actual = state(
        unit("/Eng", "Old"),
        have("rfischer", aliases=("robert",)),
        have("hannah", owner=None),
        have("tom", suspended=True),
        have("james"),
        have("del"),
        have("jo"),
        have("sam"),
        gone("back"),
        group("dev", member("jo")),
        replace(
            group("sales", member("jo"), member("sam"), description="Old"),
            settings={"who_can_join": "ANYONE_CAN_JOIN"},
        ),
    )
    actual.licenses = {"james@x.io": "1010020027", "jo@x.io": "1010020028"}
    # Entra ID: one group created, one adopted with a new description, a member out.
    desired.entra_groups = {
        "New": EntraGroup("New", users=("jo@x.io",)),
        "Team": EntraGroup("Team", "New", users=("jo@x.io",)),
    }
    actual.entra = EntraActual(
        users_by_upn={"jo@x.io": "u-jo", "sam@x.io": "u-sam"},
        groups=[EntraGroupRecord("g-team", "Team", "Old")],
        members={"g-team": (EntraMember("u-sam", "user", "sam@x.io"),)},
    )
    plan = make_plan(desired, actual, workspace(licenses={"on_suspend": "revoke"}))
    phases = [(c.kind, c.action) for c in plan.changes]
    assert phases == sorted(phases, key=PHASE_RANK.__getitem__)
    made = list(dict.fromkeys(phases))
    offboarding = {("user", a) for a in ("sign_out", "revoke_tokens", "transfer_data")}
    offboarding.add(("user", "require_password_change"))  # tests/plan/test_offboarding.py
    onboarding = {("user", "notify")}  # tests/plan/test_onboarding.py
    skipped = {("group", "adopt"), ("group", "delete"), *offboarding, *onboarding}
    assert made == [p for p in PHASES if p not in skipped]
    assert heads(plan.changes)[:6] == [
        ("create", "org_unit", "/New"),
        ("update", "org_unit", "/Eng"),
        ("rename", "user", "robert@x.io"),
        ("rename", "group", "eng@x.io"),
        ("create", "user", "a-new@x.io"),
        ("create", "user", "b-new@x.io"),
    ]
    suspends = [c.key for c in changes_of(plan, "user", ["suspend"])]
    assert suspends == ["james@x.io", "sam@x.io"]


def test_plan_does_not_depend_on_input_order() -> None:
    desired = state(want("b"), want("a", title="T"), group("g", member("b"), member("a")))
    actual = state(have("a"), have("c"), group("g", member("c")))
    reversed_desired = state(*reversed([*desired.groups.values(), *desired.users.values()]))
    reversed_actual = state(*reversed([*actual.groups.values(), *actual.users.values()]))
    one = make_plan(desired, actual, workspace())
    two = make_plan(reversed_desired, reversed_actual, workspace())
    assert rows(one) == rows(two)
    assert one.checksum() == two.checksum()


# -- normalization: Google's shapes against Git's ----------------------------------------------


def test_google_spelling_case_order_and_defaults_make_no_changes() -> None:
    """Mixed case, unsorted aliases, absent org unit and empty description as Google returns
    them match the normalized desired state exactly."""
    from reconciler.google.mapping import group_from_api, member_from_api, user_from_api

    account = user_from_api(
        {
            "primaryEmail": "Jo.Lei@X.io",
            "name": {"givenName": "Jo", "familyName": "Lei"},
            "aliases": ["JO@x.io", "j@X.IO"],
            "organizations": [{"title": "Lead", "department": "Eng", "primary": True}],
            "relations": [{"type": "manager", "value": " Ana@X.io "}],
            "phones": [{"type": "home", "value": "+1 555 0000"}],
            "recoveryEmail": "Jo@Home.net",
            "customSchemas": {"Reconciler": {"ownershipId": OURS}},
        }
    )
    shared = group_from_api(
        {
            "email": "Eng@X.io",
            "name": "Engineering",
            # An empty description and the marker, as this tool writes them.
            "description": f"Managed in Git by reconciler, ownership id: {OURS}",
            "aliases": ["DEV@x.io"],
        },
        {
            m.email: m
            for m in map(
                member_from_api,
                [
                    {"email": "JO.LEI@x.io", "role": "OWNER", "type": "USER"},
                    {"email": "Auditor@Partner.com", "role": "MEMBER", "type": "EXTERNAL"},
                ],
            )
        },
    )
    desired = state(
        want(
            "jo.lei",
            given_name="Jo",
            family_name="Lei",
            org_unit="/",
            title="Lead",
            department="Eng",
            manager="ana@x.io",
            phone="",
            recovery_email="jo@home.net",
            aliases=("j", "jo"),
        ),
        group(
            "eng",
            member("jo.lei", "OWNER"),
            member("auditor@partner.com", type="EXTERNAL"),
            title="Engineering",
            description="",
            aliases=("dev",),
        ),
    )
    plan = make_plan(desired, state(account, shared), workspace())
    assert rows(plan) == []


# -- consumer Gmail addresses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "canonical"),
    [
        ("johndoe@gmail.com", "johndoe@gmail.com"),
        ("John.Doe@Gmail.com", "johndoe@gmail.com"),
        ("john.doe+news@googlemail.com", "johndoe@gmail.com"),
        ("j.o.h.n.d.o.e+a+b@GoogleMail.com", "johndoe@gmail.com"),
        # Only the consumer domains fold dots and +tags; elsewhere they are part of the name.
        ("john.doe+news@partner.com", "john.doe+news@partner.com"),
        ("John.Doe@gmail.co", "john.doe@gmail.co"),
        ("john.doe@mail.gmail.com", "john.doe@mail.gmail.com"),
        ("Jo@X.io", "jo@x.io"),
        # Nothing left of the name: kept as written, never folded into another address.
        ("+news@gmail.com", "+news@gmail.com"),
        ("c03az79cb", "c03az79cb"),
    ],
)
def test_canonical_address(address: str, canonical: str) -> None:
    assert canonical_address(address) == canonical


def test_every_spelling_of_a_gmail_account_is_one_member_both_ways() -> None:
    """Whatever spelling each side uses, the plan is empty, and it stays empty once Google
    lists the spelling it chose."""
    spellings = ["johndoe@gmail.com", "john.doe@gmail.com", "john.doe+x@googlemail.com"]
    for git in spellings:
        for google in spellings:
            desired = state(group("ext", gmail(git)))
            actual = state(group("ext", gmail(google)))
            assert rows(make_plan(desired, actual, workspace())) == [], (git, google)
