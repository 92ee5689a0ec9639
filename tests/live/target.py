"""Where the live scenarios run: a `Target` (an emulator on loopback, or a real Google tenant
named by RECONCILER_LIVE_* variables), the guard that refuses any planned change outside the
run's address prefix and org unit, and the cleanup of everything with the prefix.

Both kinds write `provider: kind: google`: against the emulator, RECONCILER_GOOGLE_ENDPOINT
points the very same code at a loopback server, so the scenarios, the CLI and the read helpers
take one path whichever tenant answers.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from googleapiclient.errors import HttpError

from reconciler.google.client import Call, GoogleClient
from reconciler.settings import GoogleProvider

# The variables that name a test tenant; all four, or the live run is skipped.
LIVE_VARIABLES = (
    "RECONCILER_LIVE_ADMIN_SUBJECT",
    "RECONCILER_LIVE_DOMAIN",
    "RECONCILER_LIVE_ORG_UNIT",
    "RECONCILER_LIVE_PREFIX",
)
# Optional: the customer (default my_customer), a SKU of Google-Apps to assign and revoke
# (absent: the license scenario is skipped on Google), and the service account for keyless
# delegation (absent: RECONCILER_GOOGLE_CREDENTIALS names a key file).
CUSTOMER_VARIABLE = "RECONCILER_LIVE_CUSTOMER"
LICENSE_VARIABLE = "RECONCILER_LIVE_LICENSE_SKU"
SERVICE_ACCOUNT_VARIABLE = "RECONCILER_LIVE_SERVICE_ACCOUNT"
LICENSE_PRODUCT = "Google-Apps"


# The only module whose tests may leave loopback (tests/conftest.py), and only in live mode.
LIVE_MODULE = Path(__file__).resolve().with_name("test_google.py")


def live_settings(env: Mapping[str, str] = os.environ) -> dict[str, str] | None:
    """The live variables, when every required one is set (None otherwise)."""
    if not all(env.get(name) for name in LIVE_VARIABLES):
        return None
    return {name: env[name] for name in LIVE_VARIABLES}


def leaves_loopback(test_file: Path, env: Mapping[str, str]) -> bool:
    """Whether a test in `test_file` may reach beyond loopback: only tests/live/test_google.py,
    and only when `env` names a test tenant."""
    return Path(test_file).resolve() == LIVE_MODULE and live_settings(env) is not None


# A prefix narrow enough that nothing but test accounts starts with it: 3 or more of
# lower-case letters, digits, dots and hyphens, ending with a hyphen or a dot.
PREFIX_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,}[-.]")


def live_problems(settings: dict[str, str]) -> list[str]:
    """What makes the live variables unsafe to run with (empty: they are fine)."""
    problems = []
    prefix = settings["RECONCILER_LIVE_PREFIX"]
    if not PREFIX_PATTERN.fullmatch(prefix):
        problems.append(
            f"RECONCILER_LIVE_PREFIX {prefix!r}: 3 or more lower-case letters, digits, dots or "
            "hyphens, ending with a hyphen or a dot (e.g. rl-)"
        )
    unit = settings["RECONCILER_LIVE_ORG_UNIT"]
    if not unit.startswith("/") or unit.rstrip("/") == "":
        problems.append(
            f"RECONCILER_LIVE_ORG_UNIT {unit!r}: a dedicated org unit's path, not the root"
        )
    subject = settings["RECONCILER_LIVE_ADMIN_SUBJECT"].lower()
    if subject.startswith(prefix.lower()):
        problems.append(
            "RECONCILER_LIVE_ADMIN_SUBJECT starts with the prefix: cleanup would delete it"
        )
    return problems


class OutsideScope(AssertionError):
    """A planned change, or a cleanup, would touch something outside the prefix or org unit."""


def within_unit(path: str | None, unit: str) -> bool:
    """`path` is `unit` or below it (org unit paths ignore case)."""
    if path is None:
        return True
    path, unit = path.lower().rstrip("/") or "/", unit.lower().rstrip("/") or "/"
    return path == unit or path.startswith(unit + "/") or unit == "/"


def check_plan(plan: dict[str, Any], prefix: str, org_unit: str) -> None:
    """Raise OutsideScope unless every change of a JSON plan keeps to addresses starting with
    `prefix` and to `org_unit` (and below): its key, group, member and `from`, every address
    in its fields, and every org unit named old or new."""
    prefix = prefix.lower()
    for change in plan["changes"]:
        where = f"{change['action']} {change['kind']} {change['key']}"
        if change["kind"] not in ("user", "group", "membership", "license", "group_settings"):
            raise OutsideScope(f"{where}: a live test changes only users and groups")
        for name in ("key", "group", "member", "from"):
            value = change.get(name)
            if value is not None and not str(value).lower().startswith(prefix):
                raise OutsideScope(f"{where}: {name} {value} is outside the prefix {prefix}")
        for name, values in (change.get("fields") or {}).items():
            for value in (values.get("old"), values.get("new")):
                if name == "org_unit" and not within_unit(value, org_unit):
                    raise OutsideScope(f"{where}: org unit {value} is outside {org_unit}")
                listed = value if isinstance(value, list) else [value]
                for item in listed:
                    if (
                        isinstance(item, str)
                        and "@" in item
                        and not item.lower().startswith(prefix)
                    ):
                        raise OutsideScope(f"{where}: {name} names {item}, outside the prefix")


@dataclass
class Target:
    """One tenant and one scenario's corner of it: addresses `prefix`..., org unit
    `org_unit`, state directories under `workdir`, the CLI run by `cli`."""

    kind: str  # "emulator" or "google"
    domain: str
    org_unit: str
    prefix: str  # this scenario's own (base_prefix + a random part)
    base_prefix: str  # what cleanup may delete: everything starting with it
    admin_subject: str
    workdir: Path
    cli: Callable[..., Any]
    customer: str = "my_customer"
    license_sku: str | None = None
    service_account: str | None = None
    applies: int = 0
    _dirs: int = field(default=0, repr=False)
    _client: GoogleClient | None = field(default=None, repr=False)

    @staticmethod
    def scenario_prefix(base: str) -> str:
        return f"{base}{secrets.token_hex(3)}-"

    def addr(self, name: str) -> str:
        return f"{self.prefix}{name}@{self.domain}".lower()

    # -- state directories and the CLI ---------------------------------------------------

    def workspace(self, extra: str = "") -> str:
        provider = f"provider:\n  kind: google\n  admin_subject: {self.admin_subject}\n"
        if self.service_account:
            provider += f"  service_account: {self.service_account}\n"
        return (
            f"directory:\n  customer: {self.customer}\n  domains: [{self.domain}]\n"
            # An ownership id of this scenario's own: no other account of the tenant is ever
            # ours, so a plan never suspends what an earlier run or anyone else left.
            f"ownership:\n  id: live/{self.prefix.rstrip('-')}\n"
            f"{provider}protected: [{self.admin_subject}]\n{extra}"
        )

    def state(self, entries: str, workspace: str = "") -> Path:
        """A fresh state directory: workspace.yaml (plus `workspace`) and entries.yaml."""
        self._dirs += 1
        root = self.workdir / f"state{self._dirs}"
        root.mkdir(parents=True)
        (root / "workspace.yaml").write_text(self.workspace(workspace), encoding="utf-8")
        (root / "entries.yaml").write_text(entries, encoding="utf-8")
        return root

    def rewrite(self, root: Path, entries: str, workspace: str = "") -> None:
        (root / "workspace.yaml").write_text(self.workspace(workspace), encoding="utf-8")
        (root / "entries.yaml").write_text(entries, encoding="utf-8")

    def run(self, *args: Any) -> Any:
        return self.cli(*args)

    def plan(self, root: Path) -> dict[str, Any]:
        """The JSON plan of `root`, checked by the guard."""
        run = self.run("plan", root, "--format", "json")
        assert run.code == 0, run.text
        plan = json.loads(run.out)
        check_plan(plan, self.prefix, self.org_unit)
        return plan

    def apply(self, root: Path) -> dict[str, Any]:
        """Plan to a file, check it with the guard, apply exactly that plan; the plan."""
        saved = root.parent / f"{root.name}-plan{self.applies}.json"
        self.applies += 1
        run = self.run("plan", root, "--out", saved)
        assert run.code == 0, run.text
        plan = json.loads(saved.read_text(encoding="utf-8"))
        check_plan(plan, self.prefix, self.org_unit)
        done = self.run("apply", saved, "--auto-approve")
        assert done.code == 0, done.text
        return plan

    def no_changes(self, root: Path) -> None:
        after = self.run("plan", root, "--detailed-exitcode")
        assert after.code == 0 and after.out.startswith("No changes."), after.text

    # -- reading (and, for setup and cleanup, writing) through the project's client --------

    @property
    def client(self) -> GoogleClient:
        if self._client is None:
            provider = GoogleProvider(
                kind="google",
                admin_subject=self.admin_subject,
                service_account=self.service_account,
            )
            self._client = GoogleClient.connect(
                provider,
                self.workdir,
                read_only=False,
                offboarding=True,
                licenses=self.license_sku is not None,
                group_settings=True,
            )
        return self._client

    def _get(self, request: Any) -> dict[str, Any] | None:
        """The answer of a read, None for a 404."""
        try:
            return request.execute(num_retries=3)
        except HttpError as exc:
            if exc.resp.status == 404:
                return None
            raise

    def user(self, email: str) -> dict[str, Any] | None:
        users = self.client.service.users()
        return self._get(users.get(userKey=email, projection="full"))

    def group(self, email: str) -> dict[str, Any] | None:
        return self._get(self.client.service.groups().get(groupKey=email))

    def members(self, group: str) -> dict[str, str]:
        """email -> role of a group's members."""
        listed = self.client.must(
            Call(self.client.service.members().list(groupKey=group), f"members.list {group}")
        )
        return {m["email"].lower(): m["role"] for m in listed.get("members", [])}

    def settings(self, group: str) -> dict[str, Any]:
        service = self.client.groupssettings.groups()
        return self.client.must(Call(service.get(groupUniqueId=group), f"settings {group}"))

    def license(self, email: str) -> str | None:
        service = self.client.licensing.licenseAssignments()
        request = service.get(productId=LICENSE_PRODUCT, skuId=self.license_sku, userId=email)
        found = self._get(request)
        return found.get("skuId") if found else None

    def insert_user(self, email: str, given: str, family: str) -> dict[str, Any]:
        """An account made behind the reconciler's back, as an admin would (no marker)."""
        self._guard_address(email)
        body = {
            "primaryEmail": email,
            "name": {"givenName": given, "familyName": family},
            "password": secrets.token_urlsafe(24),
            "changePasswordAtNextLogin": True,
            "orgUnitPath": self.org_unit,
        }
        users = self.client.service.users()
        return self.client.must(Call(users.insert(body=body), f"users.insert {email}"))

    def _guard_address(self, email: str) -> None:
        if not email.lower().startswith(self.prefix.lower()):
            raise OutsideScope(f"{email} is outside the prefix {self.prefix}")

    # -- cleanup -------------------------------------------------------------------------

    def _pages(self, make: Callable[..., Any], key: str, **params: Any) -> Iterator[dict]:
        token = None
        while True:
            page = self.client.must(Call(make(pageToken=token, **params), f"list {key}"))
            yield from page.get(key, [])
            token = page.get("nextPageToken")
            if not token:
                return

    def cleanup(self) -> list[str]:
        """Delete every user in the org unit and every group whose address starts with the
        base prefix (this run's and any earlier aborted run's); the addresses deleted.
        Nothing outside the prefix, and no user outside the org unit, is ever touched."""
        prefix = self.base_prefix.lower()
        gone: list[str] = []
        service = self.client.service
        users = self._pages(
            service.users().list,
            "users",
            customer=self.customer,
            query=f"orgUnitPath='{self.org_unit}'",
            maxResults=500,
        )
        for user in list(users):
            email = user["primaryEmail"].lower()
            if email.startswith(prefix) and within_unit(user.get("orgUnitPath"), self.org_unit):
                self.client.must(Call(service.users().delete(userKey=email), f"delete {email}"))
                gone.append(email)
        groups = self._pages(
            service.groups().list, "groups", customer=self.customer, maxResults=200
        )
        for group in list(groups):
            email = group["email"].lower()
            if email.startswith(prefix):
                self.client.must(Call(service.groups().delete(groupKey=email), f"delete {email}"))
                gone.append(email)
        return gone
