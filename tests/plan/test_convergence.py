"""The property: applying a plan to the actual state yields a state whose plan is empty.

`simulate` applies the plan in memory as Google would (and refuses what Google would
refuse), then the plan is made again. Checked on the example (its tenant read through the
embedded emulator) and on generated desired/actual pairs that exercise every rule:
matching by primary, alias and previous email, takeover, other ownership ids, staged,
suspended and deleted users, deleted accounts Google can restore (or no longer can, their
address taken), attributes set, cleared and unmanaged, aliases, org units, renamed, nested
and additive groups, external members.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.plan.diff import make_plan
from reconciler.settings import Workspace
from reconciler.state import Group, Member, OrgUnit, State, User

from .builder import OURS, THEIRS, workspace
from .conftest import Example
from .simulate import simulate
from .test_diff import SCENARIOS


def assert_converges(desired: State, actual: State, ws: Workspace) -> None:
    plan = make_plan(desired, actual, ws)
    assert not plan.refused
    after = simulate(actual, plan, ws.ownership.id, desired)
    again = make_plan(desired, after, ws)
    assert again.changes == [], "\n".join(
        ["a second plan after applying the first still has changes:"]
        + [f"  {c.action} {c.kind} {c.key} {c.fields}" for c in again.changes]
    )
    assert not again.refused and not again.over_limits
    # What cannot be changed is still said, and nothing more.
    assert set(again.notes) <= set(plan.notes)


# -- the example -----------------------------------------------------------------------------


def test_the_example_converges(example: Example) -> None:
    assert example.plan.changes and not example.plan.unsafe
    assert_converges(example.desired.state, example.actual, example.desired.workspace)


def test_the_example_converges_without_group_management(example: Example) -> None:
    ws = example.desired.workspace.model_copy(
        update={
            "directory": example.desired.workspace.directory.model_copy(
                update={"group_management": False}
            )
        }
    )
    assert_converges(example.desired.state, example.actual, ws)


def test_a_plan_applied_twice_is_refused(example: Example) -> None:
    """The simulator is strict: the same plan a second time cannot run (creates exist)."""
    from .simulate import Refused

    after = simulate(example.actual, example.plan, OURS)
    with pytest.raises(Refused):
        simulate(after, example.plan, OURS)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_of_the_table_converges(name: str) -> None:
    scenario = SCENARIOS[name]
    assert_converges(scenario.desired, scenario.actual, scenario.ws)


# -- generated states ------------------------------------------------------------------------
# Strategies are built once, here: building them inside the draws costs most of the time.

WANTED_VALUES = {
    "given_name": st.sampled_from([None, "Ana", "Bo"]),
    "title": st.sampled_from([None, "", "Engineer", "Lead"]),
    "phone": st.sampled_from([None, "", "+1 555 0100", "+1 555 0101"]),
    "manager": st.sampled_from([None, "", "p0@x.io", "n1@x.io"]),
    "org_unit": st.sampled_from([None, "/", "/A", "/A/B", "/C"]),
}
HELD_VALUES = {
    "given_name": st.sampled_from([None, "Ana", "Bo"]),
    "title": st.sampled_from([None, "Engineer", "Lead"]),
    "phone": st.sampled_from([None, "+1 555 0100", "+1 555 0101"]),
    "manager": st.sampled_from([None, "p0@x.io", "n1@x.io"]),
}
UNIT_PATHS = ("/A", "/A/B", "/C")
DESCRIPTIONS = st.sampled_from([None, "", "one", "two"])
HELD_DESCRIPTIONS = st.sampled_from([None, "one", "two"])
NAMES = st.sampled_from(["One", "Two"])
EXTERNALS = ("e0@partner.example", "e1@partner.example")
ROLES = st.sampled_from(["MEMBER", "MEMBER", "MANAGER", "OWNER"])
OWNERS = st.sampled_from([None, OURS, OURS, THEIRS])
REASONS = st.sampled_from(["ADMIN", "ADMIN", "ABUSE"])
RESTORABLE = st.sampled_from([False, False, True])
USER_STATES = st.sampled_from(["active", "active", "staged", "suspended", "deleted"])
MOSTLY = st.sampled_from([True, True, False])
BOOLEANS = st.booleans()
MASKS = [st.integers(0, 2**n - 1) for n in range(16)]
INDEXES = [st.integers(0, max(n - 1, 0)) for n in range(16)]

# How Git's address relates to the account Google has: the same primary; Git's address is
# an alias of it; the account's primary is a previous email in Git; a previous email that
# the account holds as an alias; no relation at all (a new account, the old one stays).
LINKS = st.sampled_from(["same", "alias", "previous", "previous-alias", "unrelated"])
GROUP_LINKS = st.sampled_from(["same", "alias", "previous", "unrelated"])


class Person:
    """One person's (or group's) addresses by letter: p Google's primary, n Git's new
    primary, o an old address, a/b aliases Git may want, x an unrelated account's alias."""

    def __init__(self, i: int) -> None:
        self.i = i

    def __getattr__(self, name: str) -> str:
        return f"{name}{self.i}@x.io"


def subset(draw: st.DrawFn, pool: list[str]) -> list[str]:
    mask = draw(MASKS[len(pool)])
    return [item for k, item in enumerate(pool) if mask >> k & 1]


def one_of(draw: st.DrawFn, pool: list[str]) -> str:
    return pool[draw(INDEXES[len(pool)])]


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:k]) for k in range(1, len(parts) + 1)]


def people(
    draw: st.DrawFn, count: int, held_units: list[str]
) -> tuple[list[User], list[User], list[User]]:
    """Desired users, the accounts Google holds for the same people, and the deleted ones it
    can still restore (at the address Git wants, some with an alias another account holds)."""
    desired: list[User] = []
    actual: list[User] = []
    deleted: list[User] = []
    for i in range(count):
        p = Person(i)
        link = draw(LINKS)
        if draw(RESTORABLE):
            suspended = draw(BOOLEANS)
            deleted.append(
                User(
                    email=p.p if link == "same" else p.n,
                    aliases=tuple(sorted(subset(draw, [p.c, Person(i - 1).x]))),
                    org_unit=one_of(draw, ["/", "/Closed", *held_units]),
                    suspended=suspended,
                    suspension_reason=draw(REASONS) if suspended else None,
                    owner=draw(OWNERS),
                    id=f"gone{i}",
                    deletion_time="2026-03-02T10:00:00.000Z",
                    **{name: draw(values) for name, values in HELD_VALUES.items()},
                )
            )
        if draw(MOSTLY):
            owner = draw(OWNERS)
            if owner == THEIRS and link not in ("same", "unrelated"):
                # Git naming another repository's account by one of its aliases: that
                # account is left alone, so memberships through the alias cannot settle.
                link = "same"
            aliases = set(subset(draw, [p.a, p.b] if link != "unrelated" else [p.x]))
            if link == "alias":
                aliases.add(p.n)
            if link == "previous-alias":
                aliases.add(p.o)
            suspended = draw(BOOLEANS)
            actual.append(
                User(
                    email=p.p,
                    aliases=tuple(sorted(aliases)),
                    org_unit=one_of(draw, ["/", *held_units]),
                    suspended=suspended,
                    suspension_reason=draw(REASONS) if suspended else None,
                    owner=owner,
                    id=f"id{i}",
                    **{name: draw(values) for name, values in HELD_VALUES.items()},
                )
            )
        if draw(MOSTLY):
            previous = {"previous": (p.p,), "previous-alias": (p.o,)}.get(link, ())
            pool = [p.a, p.b] + ([p.p] if link in ("alias", "previous") else [])
            aliases = tuple(sorted(subset(draw, pool))) if draw(MOSTLY) else None
            user_state = draw(USER_STATES)
            bound = draw(MOSTLY)
            desired.append(
                User(
                    email=p.p if link == "same" else p.n,
                    aliases=aliases,
                    suspended=user_state == "suspended" or (user_state == "active" and not bound),
                    state=user_state,
                    bound=bound,
                    previous_emails=previous,
                    **{name: draw(values) for name, values in WANTED_VALUES.items()},
                )
            )
    return desired, actual, deleted


def _is_member(user: User) -> bool:
    """Whom resolve() makes a group member: bound users that are active or suspended (a
    suspended one may have no account: the diff then leaves them out)."""
    return user.bound and user.state in ("active", "suspended")


def groups(
    draw: st.DrawFn, count: int, desired_users: list[User], actual_users: list[User]
) -> tuple[list[Group], list[Group]]:
    """Exported Git groups and Google's groups; members only among those that exist."""
    eligible = sorted(u.email for u in desired_users if _is_member(u))
    existing = sorted(u.email for u in actual_users)
    desired: list[Group] = []
    actual: list[Group] = []
    for j in range(count):
        g = Person(j)
        link = draw(GROUP_LINKS)
        if draw(MOSTLY):
            aliases = set(subset(draw, [g.ga, g.gb] if link != "unrelated" else [g.gx]))
            if link == "alias":
                aliases.add(g.h)
            actual.append(
                Group(
                    email=g.g,
                    name=draw(NAMES),
                    description=draw(HELD_DESCRIPTIONS),
                    aliases=tuple(sorted(aliases)),
                    # Earlier groups only as members: no cycles.
                    members=_members(draw, existing, [a.email for a in actual]),
                    id=f"g{j}",
                )
            )
        if draw(MOSTLY):
            members = _members(draw, eligible, [d.email for d in desired])
            if not members:
                continue  # not exported: Google would hold an empty group
            aliases = tuple(sorted(subset(draw, [g.ga, g.gb]))) if draw(MOSTLY) else None
            desired.append(
                Group(
                    email=g.g if link == "same" else g.h,
                    name=draw(NAMES),
                    description=draw(DESCRIPTIONS),
                    aliases=aliases,
                    members=members,
                    previous_emails=(g.g,) if link == "previous" else (),
                    additive=draw(BOOLEANS),
                )
            )
    return desired, actual


def _members(draw: st.DrawFn, users: list[str], nested: list[str]) -> dict[str, Member]:
    chosen = [Member(e, draw(ROLES), "USER") for e in subset(draw, users)]
    chosen += [Member(e, draw(ROLES), "GROUP") for e in subset(draw, nested)]
    chosen += [Member(e, draw(ROLES), "EXTERNAL") for e in subset(draw, list(EXTERNALS))]
    return {m.email: m for m in sorted(chosen, key=lambda m: m.email)}


@st.composite
def worlds(draw: st.DrawFn) -> tuple[State, State, Workspace]:
    """A desired State, an actual State and a workspace, small enough to read."""
    # Google's units: closed under ancestors (Google has no orphan units).
    held_units = sorted({a for u in subset(draw, list(UNIT_PATHS)) for a in _ancestors(u)})
    desired_users, actual_users, deleted_users = people(draw, draw(st.integers(1, 6)), held_units)
    desired_groups, actual_groups = groups(
        draw, draw(st.integers(1, 3)), desired_users, actual_users
    )
    desired = State(
        users={u.email: u for u in desired_users},
        groups={g.email: g for g in desired_groups},
    )
    actual = State(
        users={u.email: u for u in actual_users},
        groups={g.email: g for g in actual_groups},
        deleted_users={u.email: u for u in deleted_users},
    )
    for path in held_units:
        actual.org_units[path] = OrgUnit(path, draw(HELD_DESCRIPTIONS))
    # Git's units: those declared, those users name, and their ancestors (as resolve()).
    wanted = set(subset(draw, list(UNIT_PATHS)))
    wanted |= {u.org_unit for u in desired_users if u.org_unit not in (None, "/")}
    for path in sorted({a for w in wanted for a in _ancestors(w)}):
        desired.org_units[path] = OrgUnit(path, draw(DESCRIPTIONS))
    return desired, actual, workspace(group_management=draw(MOSTLY))


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(worlds())
def test_generated_states_converge(world: tuple[State, State, Workspace]) -> None:
    desired, actual, ws = world
    assert_converges(desired, actual, ws)


@settings(max_examples=50, deadline=None, database=None)
@given(worlds(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_of_entries(
    world: tuple[State, State, Workspace], rng
) -> None:
    """Entries in other files or on other lines (another order) make the same plan."""
    desired, actual, ws = world

    def shuffled(s: State) -> State:
        users, groups_, units, deleted = (
            list(s.users.items()),
            list(s.groups.items()),
            list(s.org_units.items()),
            list(s.deleted_users.items()),
        )
        for items in (users, groups_, units, deleted):
            rng.shuffle(items)
        return State(dict(users), dict(groups_), dict(units), dict(deleted))

    one = make_plan(desired, actual, ws)
    two = make_plan(shuffled(desired), shuffled(actual), ws)
    assert [c.to_json() for c in one.changes] == [c.to_json() for c in two.changes]
    assert one.checksum() == two.checksum()
    assert sorted(one.notes) == sorted(two.notes)


def test_the_generator_reaches_every_kind_of_change() -> None:
    """The generated states are not all trivial: together they make every action.
    Derandomized: the same states every run, so this cannot flake."""
    seen: set[tuple[str, str]] = set()

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(worlds())
    def collect(world: tuple[State, State, Workspace]) -> None:
        desired, actual, ws = world
        seen.update((c.kind, c.action) for c in make_plan(desired, actual, ws).changes)

    collect()
    expected = {
        ("org_unit", "create"),
        ("org_unit", "update"),
        ("user", "create"),
        ("user", "undelete"),
        ("user", "rename"),
        ("user", "adopt"),
        ("user", "update"),
        ("user", "unsuspend"),
        ("user", "suspend"),
        ("user", "delete"),
        ("group", "create"),
        ("group", "rename"),
        ("group", "update"),
        ("membership", "add_member"),
        ("membership", "update_member"),
        ("membership", "remove_member"),
    }
    assert expected <= seen, expected - seen


def test_a_user_renamed_and_regrouped_converges() -> None:
    """A hand-made case of everything at once on one person."""
    desired = State(
        users={
            "n0@x.io": User(
                "n0@x.io", title="Lead", aliases=("a0@x.io",), bound=True, previous_emails=()
            )
        },
        groups={
            "h0@x.io": Group(
                "h0@x.io",
                "One",
                members={"n0@x.io": Member("n0@x.io", "OWNER")},
                previous_emails=("g0@x.io",),
            )
        },
    )
    actual = State(
        users={
            "p0@x.io": User(
                "p0@x.io", aliases=("n0@x.io", "b0@x.io"), owner=None, org_unit="/", id="1"
            )
        },
        groups={
            "g0@x.io": Group(
                "g0@x.io", "Two", members={"p0@x.io": Member("p0@x.io")}, aliases=(), id="2"
            )
        },
    )
    assert_converges(desired, actual, workspace())
