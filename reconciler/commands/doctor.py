"""`reconciler doctor`: check, before a first plan, that a state directory can reach its tenant.

The checks run in order and stop at the first failure, saying what to do; those after it are
listed as not run. Nothing is written to Google: tokens are asked of the token endpoint, and
every call is a read (users.get, users.list, domains.list, schemas.get, one page of each
optional API's listing).

1. workspace.yaml and the entry files load (the loader every command uses);
2. credentials are found and parse (the code every command uses; never shown);
3. a token is granted for the scopes of each command (credentials.scopes() with the flags
   the targets ask for, session.scope_flags): on `unauthorized_client`, each scope of the
   refused set is asked for alone, to name those the delegation lacks;
4. admin_subject is a user of the tenant and an admin, and the customer can be read;
5. every domain of directory.domains is a verified domain (or domain alias) of the tenant;
6. the ownership schema exists (or apply will create it);
7. only what the workspace uses: the Licensing API, the Groups Settings API, the Data
   Transfer API, Microsoft Graph's token for the `entra:` block.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from reconciler.commands import doctor_apis
from reconciler.commands.doctor_base import (
    COMMANDS,
    DELEGATION,
    GENERIC_FIX,
    SETUP,
    Doctor,
    Failed,
    Result,
    client_of,
    read,
)
from reconciler.problems import InvalidInput, ReconcilerError, one_line

__all__ = ["STEPS", "Result", "command_scopes", "render", "run_doctor"]


def run_doctor(directory: Path) -> list[Result]:
    """Every check's Result, in order; after a failure the rest are `not run`."""
    results: list[Result] = []
    with ExitStack() as opened:
        doctor = Doctor(directory, opened)
        for i, (name, step) in enumerate(STEPS):
            try:
                results.extend(step(doctor))
            except Failed as failed:
                results.append(Result(failed.check or name, "fail", failed.detail, failed.fix))
            except (ReconcilerError, OSError) as exc:
                results.append(Result(name, "fail", one_line(str(exc)), GENERIC_FIX))
            except Exception as exc:  # never a traceback: the check fails, saying what
                detail = f"unexpected {type(exc).__name__}: {one_line(str(exc))[:200]}"
                results.append(Result(name, "fail", detail, "this is a bug; please report it"))
            if results and results[-1].status == "fail":
                results += [Result(n, "not run") for n, _ in STEPS[i + 1 :]]
                break
    return results


def render(results: list[Result], fmt: str) -> str:
    """The results as one line each (text) or a JSON list of {check, status, detail, fix}."""
    if fmt == "json":
        return json.dumps([asdict(r) for r in results], indent=2) + "\n"
    lines = []
    for r in results:
        detail = one_line(r.detail)
        if r.status == "ok":
            lines.append(f"ok   {r.check}" + (f": {detail}" if detail else ""))
        elif r.status == "skip":
            lines.append(f"skip {r.check}: {detail}")
        elif r.status == "fail":
            lines.append(f"FAIL {r.check}: {detail}; {one_line(r.fix)}")
        else:
            lines.append(f"-    {r.check}: not run (an earlier check failed)")
    return "\n".join(lines) + "\n"


# -- 1. the state directory -------------------------------------------------------------------


def _workspace(doc: Doctor) -> Iterator[Result]:
    from reconciler.desired import load_desired

    try:
        doc.desired = load_desired(doc.directory)
    except InvalidInput as exc:
        first = exc.problems[0].render() if exc.problems else "invalid"
        more = len(exc.problems) - 1
        detail = first + (f" (and {more} more problem{'s' if more != 1 else ''})" if more else "")
        raise Failed(
            detail, "run `reconciler validate` to see every problem, and fix them"
        ) from None
    tree = doc.desired.tree
    n = len(tree.files)
    yield Result("workspace", "ok", f"{n} file{'s' if n != 1 else ''} load{'' if n != 1 else 's'}")


# -- 2. credentials ----------------------------------------------------------------------------


def _credentials(doc: Doctor) -> Iterator[Result]:
    from reconciler.google.client import endpoint_for
    from reconciler.google.credentials import CredentialsError, build_credentials, describe
    from reconciler.session import google_provider, scope_flags

    desired = doc.desired
    doc.flags = scope_flags(desired)
    doc.provider, endpoint = doc.opened.enter_context(google_provider(desired))
    doc.endpoint = endpoint or endpoint_for(doc.provider)
    try:
        build_credentials(doc.provider, desired.tree.root, doc.endpoint, True, **doc.flags)
    except CredentialsError as exc:
        raise Failed(
            str(exc),
            "name a readable service-account key (provider.credentials or "
            "RECONCILER_GOOGLE_CREDENTIALS), provider.service_account for keyless delegation, "
            f"or application default credentials (docs/google.md, Credentials; {SETUP})",
        ) from None
    subject = doc.provider.admin_subject
    acting = f", acting as {subject}" if subject else ", acting as the service account itself"
    yield Result("credentials", "ok", describe(doc.provider, doc.endpoint) + acting)


# -- 3. a token for each command's scopes ------------------------------------------------------


def command_scopes(desired: Any) -> list[tuple[str, list[str]]]:
    """(commands, the scopes they ask for) for this state directory: credentials.scopes()
    with the flags its targets ask for, as the session asks for them."""
    from reconciler.google.credentials import scopes
    from reconciler.session import scope_flags

    flags = scope_flags(desired)
    return [(names, scopes(read_only, **flags)) for names, read_only in COMMANDS]


def _tokens(doc: Doctor) -> Iterator[Result]:
    from reconciler.google.credentials import SCOPE_ROOT

    for names, wanted in command_scopes(doc.desired):
        check = f"token for {names}"
        refused = _token(doc, wanted)
        short = ", ".join(s.removeprefix(SCOPE_ROOT) for s in wanted)
        if refused is None:
            yield Result(check, "ok", f"granted {len(wanted)} scopes: {short}")
            continue
        error, words = refused
        if error == "unauthorized_client" and len(wanted) > 1:
            lacking = [s for s in wanted if _token(doc, [s]) is not None]
            if lacking:
                raise Failed(
                    "the token endpoint refuses unauthorized_client: not delegated: "
                    + ", ".join(lacking),
                    f"add {'it' if len(lacking) == 1 else 'them'} to the service account's "
                    f"client id under {DELEGATION} (the full list: {SETUP}, step 3)",
                    check,
                )
        raise Failed(words, _token_fix(error), check)


def _token(doc: Doctor, wanted: list[str]) -> tuple[str, str] | None:
    """None when the token endpoint grants `wanted`, else (OAuth error, what to say)."""
    from google.auth.exceptions import RefreshError, TransportError
    from google.auth.transport.requests import Request

    from reconciler.google.credentials import build_credentials, token_refused

    creds = build_credentials(doc.provider, doc.desired.tree.root, doc.endpoint, True)
    if creds is None:
        return None
    if hasattr(creds, "with_scopes"):
        creds = creds.with_scopes(wanted)
    try:
        creds.refresh(Request())
    except RefreshError as exc:
        words = str(exc.args[0]) if exc.args else str(exc)
        return words.split(":", 1)[0].strip(), token_refused(exc)
    except TransportError as exc:
        return "unreachable", f"the token endpoint could not be reached ({type(exc).__name__})"
    return None


def _token_fix(error: str) -> str:
    if error == "invalid_grant":
        return (
            "provider.admin_subject must be a user of the tenant (the admin delegation acts "
            f"as), and the key the service account's ({SETUP}, step 1)"
        )
    if error == "unreachable":
        return "check the network, or provider.endpoint / RECONCILER_GOOGLE_ENDPOINT"
    return f"check the service account's client id and scopes under {DELEGATION} ({SETUP})"


# -- 4. the admin, and the customer -------------------------------------------------------------


def _admin(doc: Doctor) -> Iterator[Result]:
    subject = doc.provider.admin_subject
    if not subject:
        yield Result("admin_subject", "skip", "none named: the service account acts as itself")
        return
    got = read(
        doc,
        lambda s: s.users().get(
            userKey=subject, fields="primaryEmail,isAdmin,isDelegatedAdmin,suspended,customerId"
        ),
        f"users.get {subject}",
    )
    role = f"give {subject} an admin role (super admin is simplest: {SETUP}, step 1)"
    if not got.ok:
        if (got.status, got.reason) == (403, "forbidden"):
            raise Failed(
                f"{subject} may not use the Admin SDK: Google answers {got.error}",
                role + ", or name another admin as provider.admin_subject",
            )
        if got.status == 404:
            raise Failed(f"{subject} is no user of the tenant", "name an admin of the tenant")
        raise Failed(f"users.get {subject}: {got.error}", GENERIC_FIX)
    body = got.body or {}
    if body.get("suspended"):
        raise Failed(f"{subject} is suspended", f"unsuspend {subject}, or name another admin")
    doc.customer_id = body.get("customerId") or None
    if body.get("isAdmin"):
        yield Result("admin_subject", "ok", f"{subject} is a super admin")
    elif body.get("isDelegatedAdmin"):
        yield Result(
            "admin_subject",
            "ok",
            f"{subject} is a delegated admin (its role must manage users, groups, org units "
            "and schemas)",
        )
    else:
        raise Failed(f"{subject} is a user of the tenant but no admin", role)


def _customer(doc: Doctor) -> Iterator[Result]:
    customer = doc.customer
    got = read(
        doc,
        lambda s: s.users().list(
            customer=customer, maxResults=1, fields="users(primaryEmail,customerId)"
        ),
        f"users.list customer {customer}",
    )
    if not got.ok:
        raise Failed(
            f"users.list for customer {customer}: {got.error}",
            "directory.customer must be my_customer or the tenant's customer id (Admin "
            "console > Account > Account settings)",
        )
    users = (got.body or {}).get("users") or []
    if users and isinstance(users[0], dict) and not doc.customer_id:
        doc.customer_id = users[0].get("customerId") or None
    shown = f" (id {doc.customer_id})" if doc.customer_id and doc.customer_id != customer else ""
    yield Result("customer", "ok", f"{customer}{shown} can be read")


# -- 5. domains ---------------------------------------------------------------------------------


def _domains(doc: Doctor) -> Iterator[Result]:
    from reconciler.google.domains import read_domains

    tenant = read_domains(client_of(doc), doc.customer)
    usable = tenant.usable()
    notes, wrong = [], []
    for name in (d.lower() for d in doc.desired.workspace.directory.domains):
        known = tenant.get(name)
        if name in usable:
            if known is not None and known.alias_of is not None:
                notes.append(f"{name} is a domain alias of {known.alias_of}")
            continue
        wrong.append(f"{name} is {'not verified' if known else 'not a domain of the tenant'}")
    if wrong:
        raise Failed(
            "; ".join(wrong) + f" (the tenant's domains: {tenant.describe()})",
            "add and verify the domain in the Admin console (Account > Domains > Manage "
            "domains), or take it out of directory.domains",
        )
    listed = ", ".join(doc.desired.workspace.directory.domains)
    yield Result(
        "domains", "ok", f"{listed}: verified" + (f" ({'; '.join(notes)})" if notes else "")
    )


# -- 6. the ownership schema --------------------------------------------------------------------


def _schema(doc: Doctor) -> Iterator[Result]:
    from reconciler.google.fetch import marker_schema_fields
    from reconciler.google.marker import FIELD, SCHEMA

    fields = marker_schema_fields(client_of(doc), doc.customer)
    if not fields:
        detail = f"{SCHEMA} does not exist yet: apply creates it before marking accounts"
    elif FIELD not in fields:
        detail = f"{SCHEMA} exists without {FIELD}: apply adds it before marking accounts"
    else:
        detail = f"{SCHEMA}.{FIELD} exists"
    yield Result("ownership schema", "ok", detail)


# -- 7. groups and the quota --------------------------------------------------------------------


def _groups(doc: Doctor) -> Iterator[Result]:
    if not doc.desired.workspace.directory.group_management:
        yield Result("groups", "skip", "directory.group_management is off: no group is read")
        return
    customer = doc.customer
    got = read(
        doc,
        lambda s: s.groups().list(customer=customer, maxResults=1, fields="groups(email)"),
        f"groups.list customer {customer}",
    )
    if not got.ok:
        raise Failed(
            f"groups.list for customer {customer}: {got.error}",
            "admin_subject must be allowed to manage groups (a super admin, or a role with "
            "the Groups privileges), or set directory.group_management: false",
        )
    yield Result("groups", "ok", "the tenant's groups can be listed")


# Google's default quota of the Admin SDK Directory API: 2,400 queries a minute per user per
# project (the API's quota page in the Cloud console).
DEFAULT_QUOTA = 2400


def _quota(doc: Doctor) -> Iterator[Result]:
    per_minute = doc.desired.workspace.provider.quota_per_minute
    said = f"calls are paced at {per_minute:,} a minute (provider.quota_per_minute)"
    if per_minute > DEFAULT_QUOTA:
        said += (
            f", above Google's default of {DEFAULT_QUOTA:,}: raise the project's quota for the "
            "Admin SDK API first (Cloud console > APIs & Services > Admin SDK API > Quotas), "
            "or plans and applies meet rate-limit errors and wait"
        )
    yield Result("quota", "ok", said)


STEPS: list[tuple[str, Callable[[Doctor], Iterator[Result]]]] = [
    ("workspace", _workspace),
    ("credentials", _credentials),
    ("tokens", _tokens),
    ("admin_subject", _admin),
    ("customer", _customer),
    ("domains", _domains),
    ("ownership schema", _schema),
    ("groups", _groups),
    ("quota", _quota),
    ("licensing", doctor_apis.licensing),
    ("group settings", doctor_apis.group_settings),
    ("data transfer", doctor_apis.data_transfer),
    ("onboarding", doctor_apis.onboarding),
    ("entra", doctor_apis.entra),
]
