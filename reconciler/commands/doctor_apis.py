"""The last checks of `reconciler doctor`: the APIs the workspace uses besides the Directory
API, each with one read (the Licensing API, the Groups Settings API, the Data Transfer API)
or a token (the Gmail API's as `onboarding.from`, Microsoft Graph's); a feature the
workspace does not use is a `skip`."""

from __future__ import annotations

from collections.abc import Iterator

from reconciler.commands.doctor_base import GENERIC_FIX, SETUP, Doctor, Failed, Result, read
from reconciler.problems import ReconcilerError, one_line


def _api_failed(what: str, error: str | None, enable: str) -> Failed:
    return Failed(f"{what}: {error}", enable)


def licensing(doc: Doctor) -> Iterator[Result]:
    licenses = doc.desired.workspace.licenses
    if licenses is None:
        yield Result("licensing", "skip", "no licenses: block")
        return
    customer = doc.customer_id or doc.customer
    label = f"licenseAssignments.listForProduct {licenses.product}"
    got = read(
        doc,
        lambda s: s.licenseAssignments().listForProduct(
            productId=licenses.product, customerId=customer, maxResults=1
        ),
        label,
        "licenses",
    )
    if not got.ok:
        raise _api_failed(
            label,
            got.error,
            "enable the Enterprise License Manager API in the service account's project "
            "(gcloud services enable licensing.googleapis.com) and delegate apps.licensing "
            f"({SETUP}, step 3)",
        )
    yield Result("licensing", "ok", f"the {licenses.product} license assignments can be read")


def group_settings(doc: Doctor) -> Iterator[Result]:
    if not doc.flags.get("group_settings"):
        yield Result("group settings", "skip", "Git declares no group settings")
        return
    listed = read(
        doc,
        lambda s: s.groups().list(customer=doc.customer, maxResults=1, fields="groups(email)"),
        "groups.list",
    )
    if not listed.ok:
        raise Failed(f"groups.list: {listed.error}", GENERIC_FIX)
    groups = (listed.body or {}).get("groups") or []
    email = groups[0].get("email") if groups and isinstance(groups[0], dict) else None
    if not email:
        yield Result("group settings", "skip", "the tenant has no group to read settings of")
        return
    label = f"groupsSettings groups.get {email}"
    got = read(doc, lambda s: s.groups().get(groupUniqueId=email), label, "settings")
    if not got.ok:
        raise _api_failed(
            label,
            got.error,
            "enable the Groups Settings API in the service account's project (gcloud services "
            f"enable groupssettings.googleapis.com) and delegate apps.groups.settings ({SETUP})",
        )
    yield Result("group settings", "ok", f"the settings of {email} can be read")


def data_transfer(doc: Doctor) -> Iterator[Result]:
    if not doc.flags.get("offboarding"):
        yield Result("data transfer", "skip", "offboarding is not configured")
        return
    customer = doc.customer_id or doc.customer
    got = read(
        doc,
        lambda s: s.applications().list(customerId=customer, maxResults=1),
        "applications.list",
        "transfers",
    )
    if not got.ok:
        raise _api_failed(
            "Data Transfer applications.list",
            got.error,
            "enable the Admin SDK API in the service account's project and delegate "
            f"admin.datatransfer and admin.datatransfer.readonly ({SETUP}, step 3)",
        )
    yield Result("data transfer", "ok", "the Data Transfer applications can be listed")


def onboarding(doc: Doctor) -> Iterator[Result]:
    """A token for gmail.send acting as `onboarding.from` (domain-wide delegation): what
    apply asks for to mail a new account's sign-in details. Nothing is sent."""
    policy = doc.desired.workspace.onboarding
    if policy is None or policy.sender is None:
        why = "no onboarding: block" if policy is None else "onboarding.from is not set"
        yield Result("onboarding", "skip", why)
        return
    sender = policy.sender
    from google.auth.exceptions import RefreshError, TransportError
    from google.auth.transport.requests import Request

    from reconciler.google.credentials import build_credentials, token_refused
    from reconciler.onboarding import GMAIL_SEND_SCOPE

    creds = build_credentials(doc.provider, doc.desired.tree.root, doc.endpoint, True)
    if creds is None or not hasattr(creds, "with_subject"):
        raise Failed(
            f"the credentials cannot act as {sender} (onboarding.from)",
            f"use a service account with domain-wide delegation ({SETUP})",
        )
    creds = creds.with_subject(sender)
    if hasattr(creds, "with_scopes"):
        creds = creds.with_scopes([GMAIL_SEND_SCOPE])
    try:
        creds.refresh(Request())
    except RefreshError as exc:
        raise Failed(
            f"no token for {GMAIL_SEND_SCOPE} as {sender}: {token_refused(exc)}",
            f"delegate {GMAIL_SEND_SCOPE} to the service account's client id ({SETUP}, "
            "step 3), and make onboarding.from an active user of the tenant",
        ) from None
    except TransportError as exc:
        raise Failed(
            f"the token endpoint could not be reached ({type(exc).__name__})", GENERIC_FIX
        ) from None
    yield Result("onboarding", "ok", f"a token for gmail.send as {sender}")


def entra(doc: Doctor) -> Iterator[Result]:
    entra = doc.desired.workspace.entra
    if entra is None:
        yield Result("entra", "skip", "no entra: block")
        return
    from reconciler.entra.session import graph_session

    fix = "see docs/entra.md (app registration, permissions, federated credential)"
    try:
        graph = doc.opened.enter_context(graph_session(entra, doc.desired.tree.root))
        graph.tokens(fresh=True)
    except ReconcilerError as exc:
        raise Failed(f"Microsoft Graph token: {one_line(str(exc))}", fix) from None
    yield Result("entra", "ok", f"a Microsoft Graph token for tenant {entra.tenant_id}")
