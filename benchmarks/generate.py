"""Generate a synthetic tenant (an emulator seed) and the desired state that manages it.

    python benchmarks/generate.py OUT_DIR --size M --changes 0.01

writes OUT_DIR/seed.json (Directory API shapes, every account marked with the ownership id)
and OUT_DIR/state/ (workspace.yaml, users, groups, bindings). With `--changes 0` the plan is
empty; with a share c, about c of the users get another title in the tenant, c of them are
missing from the tenant (created by apply), and c of the memberships are missing from the
tenant (added) or extra in it (removed), half each.

With `--entra`, every group is exported to Microsoft Entra ID too (`entra: true`;
display names are the groups' unique names) and OUT_DIR/entra-seed.json holds an Entra
tenant with every generated user (userPrincipalName and mail: the email) and the app
registration; OUT_DIR/entra-app.pem is its certificate and key (self-signed: the emulator
checks no signature), outside the state directory as validation requires. With changes,
the even groups are in Entra already without their first member (an add), those whose
number is a multiple of 4 marked as ours and holding one member too many (a removal), the
others unmarked (adopted); the odd groups are missing (created, with all their members).
Without changes, Entra holds every group, marked, with exactly its members.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.entra.marker import GIT_NAME_PROPERTY as GIT_NAME
from reconciler.entra.marker import MARKER_EXTENSION, MARKER_PROPERTY
from reconciler.google.marker import group_marker_line

OWNERSHIP_ID = "bench/identity"
ENTRA_TENANT_ID = "5b0c6a1e-2f4d-4c8b-9e7a-3d1f0b2c4e6a"
ENTRA_CLIENT_ID = "9d3e7f1a-6b2c-4a5d-8e0f-1c2b3a4d5e6f"
# workspace.yaml's Graph endpoint until the runner writes the emulator's own.
ENTRA_ENDPOINT_PLACEHOLDER = "http://127.0.0.1:9"
GRAPH_PAGE = 999  # users and members: $top=999
# Groups are listed with $expand=extensions (their markers), and Graph pages an expanded
# listing at 100 whatever $top asks.
GROUPS_PAGE = 100
GRAPH_BATCH = 20  # requests in a JSON $batch
DOMAINS = ("example.com", "example.org")
DEPARTMENTS = ("Engineering", "Sales", "Operations", "Finance", "Support", "Marketing")


@dataclass(frozen=True)
class Size:
    users: int
    groups: int
    members: int


SIZES = {
    "XS": Size(200, 20, 1_000),
    "S": Size(1_000, 100, 5_000),
    "M": Size(10_000, 1_000, 50_000),
    "L": Size(100_000, 10_000, 500_000),
}


@dataclass(frozen=True)
class Expected:
    """What the generated pair should cost and change, for the runner to compare against."""

    tenant_users: int
    tenant_groups: int
    member_pages: int  # members.list pages of the managed groups (every group here)
    title_updates: int
    creates: int
    member_adds: int
    member_removals: int
    desired_users: int = 0
    desired_member_pages: int = 0  # after apply, when the tenant matches Git
    # With --licenses: the tenant's license assignments (every user it has), read 100 a page
    # (Google's licensing limits page; the emulator's pages hold no more).
    licensed: int = 0
    licensed_after_apply: int = 0
    # With --entra: the Entra tenant's users and groups, the member pages of the groups the
    # export reads (every group with a Git group's name: one GET each, more past 999
    # members), the Entra changes, and the same reads once apply has made Entra match Git.
    entra_users: int = 0
    entra_groups: int = 0
    entra_member_pages: int = 0
    entra_group_creates: int = 0
    entra_group_adopts: int = 0
    entra_member_adds: int = 0
    entra_member_removals: int = 0
    entra_groups_after_apply: int = 0
    entra_member_pages_after_apply: int = 0

    @property
    def entra(self) -> bool:
        return self.entra_users > 0

    @property
    def entra_changes(self) -> int:
        return (
            self.entra_group_creates
            + self.entra_group_adopts
            + self.entra_member_adds
            + self.entra_member_removals
        )

    @property
    def minimum_graph_plan_calls(self) -> int:
        """The fewest Graph calls a plan allows: users and groups 999 a page (one page says
        a listing is empty), a member read per group read, and one `$filter` lookup per
        group it plans to create (proving it absent: listings may lag)."""
        if not self.entra:
            return 0
        return (
            _pages(self.entra_users, GRAPH_PAGE)
            + _pages(self.entra_groups, GROUPS_PAGE)
            + self.entra_member_pages
            + self.entra_group_creates
        )

    @property
    def minimum_graph_apply_calls(self) -> int:
        """Apply plans again, then one call per change, and a second per created group (the
        marker, which a create cannot carry)."""
        if not self.entra:
            return 0
        return self.minimum_graph_plan_calls + self.entra_changes + self.entra_group_creates

    @property
    def minimum_graph_plan_calls_after_apply(self) -> int:
        if not self.entra:
            return 0
        return (
            _pages(self.entra_users, GRAPH_PAGE)
            + _pages(self.entra_groups_after_apply, GROUPS_PAGE)
            + self.entra_member_pages_after_apply
        )

    @property
    def license_pages(self) -> int:
        """The listing's pages, and one users.get for the customer's id."""
        return math.ceil(self.licensed / 100) + 1 if self.licensed else 0

    @property
    def minimum_read_calls(self) -> int:
        """The fewest API calls a full read allows: users 500 a page, one for the recently
        deleted users (the generated tenant has none, and one call says so), groups 200 a
        page, one for org units, one for the ownership schema, members 200 a page."""
        return (
            math.ceil(self.tenant_users / 500)
            + 1
            + math.ceil(self.tenant_groups / 200)
            + 1
            + 1
            + self.member_pages
            + self.license_pages
        )

    @property
    def minimum_read_calls_after_apply(self) -> int:
        licensed = self.licensed_after_apply
        pages = math.ceil(licensed / 100) + 1 if licensed else 0
        return (
            math.ceil(self.desired_users / 500)
            + 1
            + math.ceil(self.tenant_groups / 200)
            + 2
            + self.desired_member_pages
            + pages
        )

    @property
    def minimum_plan_calls(self) -> int:
        """A plan: one domains.list, the read, then one users.get per planned create (each
        must be checked absent; generated users have no previous emails)."""
        return 1 + self.minimum_read_calls + self.creates

    @property
    def minimum_plan_calls_after_apply(self) -> int:
        """Nothing left to create: one domains.list and the read."""
        return 1 + self.minimum_read_calls_after_apply

    @property
    def changes(self) -> int:
        """Every planned change; with licenses, each new account's license assignment too."""
        licenses = self.creates if self.licensed else 0
        return (
            self.title_updates
            + self.creates
            + self.member_adds
            + self.member_removals
            + licenses
            + self.entra_changes
        )


def _pages(items: int, page: int) -> int:
    """Pages of a listing: at least one, which says it is empty."""
    return max(1, math.ceil(items / page))


def user_email(i: int) -> str:
    return f"user{i:06d}@{DOMAINS[i % 10 == 9]}"


def _every(share: float) -> int:
    """1 in how many objects changes; 0: none."""
    return max(1, round(1 / share)) if share > 0 else 0


# --licenses: Sales on Business Starter, everyone else on the default, Business Standard.
LICENSES = (
    "licenses:\n  default: business-standard\n  rules:\n"
    "    - when: {department: Sales}\n      sku: business-starter\n"
)


def _sku(dept: str) -> str:
    return "business-starter" if dept == "Sales" else "business-standard"


def generate(
    out: Path,
    size: Size,
    changes: float = 0.0,
    quota_per_minute: int = 2400,
    licenses: bool = False,
    entra: bool = False,
) -> Expected:
    """Write `out/seed.json` and `out/state/`; return what a plan of them should hold.
    `quota_per_minute` goes to workspace.yaml: the reconciler paces reads and writes under it.
    `licenses`: a `licenses:` block, every account of the tenant already holding the license
    the rules give it (seats for everyone), so the plan's license changes are the new
    accounts' assignments."""
    every = _every(changes)
    state = out / "state"
    (state / "users").mkdir(parents=True, exist_ok=True)
    (state / "workspace.yaml").write_text(
        "directory:\n  domains: [example.com, example.org]\n\n"
        f"ownership:\n  id: {OWNERSHIP_ID}\n\n"
        "provider:\n  kind: google\n  endpoint: http://127.0.0.1:9\n"
        f"  quota_per_minute: {quota_per_minute}\n\n"
        # Benchmarks change more than the default limits allow; the limits are not measured.
        "safety:\n  max_suspend: null\n  max_delete: null\n  max_member_removals: null\n"
        + ("\n" + LICENSES if licenses else "")
        + (_entra_block(out / "entra-app.pem") if entra else "")
    )
    seed: dict[str, Any] = {
        "domains": list(DOMAINS),
        "schemas": [
            {
                "schemaName": "Reconciler",
                "fields": [{"fieldName": "ownershipId", "fieldType": "STRING"}],
            }
        ],
        "orgUnits": [{"orgUnitPath": f"/{d}", "name": d} for d in DEPARTMENTS],
        "users": [],
        "groups": [],
    }
    (state / "org_units.yaml").write_text(
        "org_units:\n" + "".join(f"  - path: /{d}\n" for d in DEPARTMENTS)
    )
    by_dept: dict[str, list[str]] = {d: [] for d in DEPARTMENTS}
    titles = creates = 0
    missing: set[int] = set()  # users only Git has
    for i in range(users := size.users):
        email, dept = user_email(i), DEPARTMENTS[i % len(DEPARTMENTS)]
        title = f"Title {i % 40}"
        by_dept[dept].append(
            f"  - email: {email}\n    given_name: Given{i}\n    family_name: Family{i}\n"
            f"    org_unit: /{dept}\n    title: {title}\n    department: {dept}\n"
            f'    employee_id: "E-{i:06d}"\n'
        )
        # Odd multiples of `every` are missing from the tenant, even ones have another title.
        kind = (i // every) % 2 if every and i % every == every // 2 else -1
        if kind == 1:
            creates += 1
            missing.add(i)
            continue
        if kind == 0:
            titles += 1
            title = "Old title"
        seed["users"].append(
            {
                "primaryEmail": email,
                "name": {"givenName": f"Given{i}", "familyName": f"Family{i}"},
                "orgUnitPath": f"/{dept}",
                "organizations": [{"title": title, "department": dept, "primary": True}],
                "externalIds": [{"type": "organization", "value": f"E-{i:06d}"}],
                "customSchemas": {"Reconciler": {"ownershipId": OWNERSHIP_ID}},
            }
        )
    for dept, entries in by_dept.items():
        (state / "users" / f"{dept.lower()}.yaml").write_text("users:\n" + "".join(entries))
    (state / "bindings.yaml").write_text(
        "bindings:\n" + "".join(f"  - user: {user_email(i)}\n" for i in range(users))
    )

    per_group, extra = divmod(size.members, size.groups) if size.groups else (0, 0)
    adds = removals = member_pages = desired_pages = n = 0
    group_lines = []
    wanted_by_group: list[list[int]] = []
    removal_every = max(1, round(2 * every / max(per_group, 1))) if every else 0
    for g in range(size.groups):
        count = min(users, per_group + (1 if g < extra else 0))
        # (g*37 + k*1009) mod users never repeats within a group while 1009 does not divide
        # users; the next index after the last is a member of the tenant only (a removal).
        picked = sorted({(g * 37 + k * 1009) % users for k in range(count + 1)})
        wanted, spare = picked[:count], picked[count:]
        have: list[int] = []
        for idx in wanted:
            n += 1
            if idx in missing or (every and n % every == 0 and n // every % 2 == 1):
                adds += 1  # wanted, not yet in the tenant
            else:
                have.append(idx)
        # Half the changed memberships are removals: the spare member stays in the tenant
        # in one group out of `removal_every`.
        if every and spare and g % removal_every == 0 and spare[0] not in missing:
            have.extend(spare)
            removals += 1
        member_pages += math.ceil(len(have) / 200)
        desired_pages += math.ceil(len(wanted) / 200)
        email = f"group{g:05d}@example.com"
        seed["groups"].append(
            {
                "email": email,
                "name": f"group{g:05d}",
                "description": group_marker_line(OWNERSHIP_ID),
                "members": [{"email": user_email(i), "role": "MEMBER"} for i in have],
            }
        )
        group_lines.append(
            f"  - name: group{g:05d}\n    email: {email}\n"
            + ("    entra: true\n" if entra else "")
            + "    members:\n"
            + "".join(f"      - {user_email(i)}\n" for i in wanted)
        )
        wanted_by_group.append(wanted)
    (state / "groups.yaml").write_text("groups:\n" + "".join(group_lines))
    if licenses:
        seats = {"business-starter": size.users, "business-standard": size.users}
        assigned = {}
        for user in seed["users"]:
            assigned[user["primaryEmail"]] = _sku(user["organizations"][0]["department"])
        seed["licenses"] = {"seats": seats, "assigned": assigned}
    (out / "seed.json").write_text(json.dumps(seed))
    entra_counts = _entra_tenant(out, users, wanted_by_group, bool(every)) if entra else {}
    expected = Expected(
        tenant_users=len(seed["users"]),
        tenant_groups=size.groups,
        member_pages=member_pages,
        title_updates=titles,
        creates=creates,
        member_adds=adds,
        member_removals=removals,
        desired_users=users,
        desired_member_pages=desired_pages,
        licensed=len(seed["users"]) if licenses else 0,
        licensed_after_apply=users if licenses else 0,
        **entra_counts,
    )
    recorded = dict(expected.__dict__)
    if entra:
        recorded |= {
            "entra_changes": expected.entra_changes,
            "minimum_graph_plan_calls": expected.minimum_graph_plan_calls,
            "minimum_graph_apply_calls": expected.minimum_graph_apply_calls,
            "minimum_graph_plan_calls_after_apply": expected.minimum_graph_plan_calls_after_apply,
        }
    (out / "expected.json").write_text(json.dumps(recorded, indent=2))
    return expected


def _entra_block(pem: Path) -> str:
    """workspace.yaml's `entra:` block: the emulated tenant over Graph, the certificate
    outside the state directory (an absolute path)."""
    return (
        f"\nentra:\n  tenant_id: {ENTRA_TENANT_ID}\n  client_id: {ENTRA_CLIENT_ID}\n"
        f"  provider:\n    kind: graph\n    endpoint: {ENTRA_ENDPOINT_PLACEHOLDER}\n"
        f"    credentials: {pem.resolve()}\n"
    )


def _entra_tenant(
    out: Path, users: int, wanted_by_group: list[list[int]], changes: bool
) -> dict[str, int]:
    """Write `out/entra-seed.json` and `out/entra-app.pem`; the Expected fields they give
    (see the module docstring for what differs)."""
    _write_certificate(out / "entra-app.pem")
    groups = []
    creates = adopts = adds = removals = member_pages = 0
    for g, wanted in enumerate(wanted_by_group):
        name = f"group{g:05d}"  # Git's name and display name alike
        marker = [
            {"extensionName": MARKER_EXTENSION, MARKER_PROPERTY: OWNERSHIP_ID, GIT_NAME: name}
        ]
        if not changes:
            groups.append({"displayName": name, "members": [user_email(i) for i in wanted]})
            groups[-1]["extensions"] = marker
            member_pages += _pages(len(wanted), GRAPH_PAGE)
            continue
        if g % 2 == 1:  # missing: created, then each member added
            creates += 1
            adds += len(wanted)
            continue
        have = wanted[1:]  # the first member is missing: an add
        adds += 1
        entry: dict[str, Any] = {"displayName": name}
        if g % 4 == 0:  # ours already, with one member Git does not have: a removal
            members = set(wanted)
            extra = next(i for i in range(users) if i not in members)
            have = [*have, extra]
            removals += 1
            entry["extensions"] = marker
        else:
            adopts += 1
        entry["members"] = [user_email(i) for i in have]
        groups.append(entry)
        member_pages += _pages(len(have), GRAPH_PAGE)
    seed = {
        "tenant_id": ENTRA_TENANT_ID,
        "applications": [
            {"client_id": ENTRA_CLIENT_ID, "roles": ["Group.ReadWrite.All", "User.Read.All"]}
        ],
        "users": [
            {"userPrincipalName": user_email(i), "mail": user_email(i)} for i in range(users)
        ],
        "groups": groups,
    }
    (out / "entra-seed.json").write_text(json.dumps(seed))  # YAML, as JSON is
    return {
        "entra_users": users,
        "entra_groups": len(groups),
        "entra_member_pages": member_pages,
        "entra_group_creates": creates,
        "entra_group_adopts": adopts,
        "entra_member_adds": adds,
        "entra_member_removals": removals,
        "entra_groups_after_apply": len(wanted_by_group),
        "entra_member_pages_after_apply": sum(_pages(len(w), GRAPH_PAGE) for w in wanted_by_group),
    }


def _write_certificate(pem: Path) -> None:
    """A self-signed certificate and its unencrypted RSA key in one PEM file (mode 0600)."""
    from reconciler.entra.credentials import self_signed_pem

    pem.write_bytes(self_signed_pem("reconciler benchmark", days=30))
    pem.chmod(0o600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", choices=SIZES, default="S")
    parser.add_argument("--users", type=int, help="override the size's users")
    parser.add_argument("--groups", type=int, help="override the size's groups")
    parser.add_argument("--members", type=int, help="override the size's memberships")
    parser.add_argument("--changes", type=float, default=0.01, help="share that differs")
    parser.add_argument("--quota-per-minute", type=int, default=2400, help="for workspace.yaml")
    parser.add_argument("--licenses", action="store_true", help="a licenses: block and seats")
    parser.add_argument(
        "--entra", action="store_true", help="export every group to Entra; an Entra seed"
    )
    args = parser.parse_args()
    base = SIZES[args.size]
    size = Size(args.users or base.users, args.groups or base.groups, args.members or base.members)
    expected = generate(
        args.out, size, args.changes, args.quota_per_minute, args.licenses, args.entra
    )
    minimums = {
        "minimum_read_calls": expected.minimum_read_calls,
        "minimum_plan_calls": expected.minimum_plan_calls,
    }
    if args.entra:
        minimums["minimum_graph_plan_calls"] = expected.minimum_graph_plan_calls
    print(json.dumps(expected.__dict__ | minimums))


if __name__ == "__main__":
    main()
