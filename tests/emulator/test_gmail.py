"""The Gmail API's users.messages.send through the real googleapiclient over loopback: who
may send as whom, what a message must hold, Google's refusals, and the messages the emulator
keeps for tests (`EmulatorServer.messages()`, `/_emulator/messages`)."""

from __future__ import annotations

import base64
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from reconciler.emulator.server import EmulatorServer

from .real_client import checked, emulator_json, real_service, refusal

SEND_SCOPE = "https://www.googleapis.com/auth/gmail.send"
USER_SCOPE = "https://www.googleapis.com/auth/admin.directory.user"
ADMIN = "admin@example.com"
BOB = "bob@example.com"
SEND = "gmail.users.messages.send"

SEED: dict[str, Any] = {
    "domains": ["example.com"],
    "users": [
        {
            "primaryEmail": ADMIN,
            "id": "100000000000000000001",
            "name": {"givenName": "Ada", "familyName": "Admin"},
            "isAdmin": True,
            "aliases": ["it@example.com"],
        },
        {
            "primaryEmail": BOB,
            "id": "100000000000000000002",
            "name": {"givenName": "Bob", "familyName": "Test"},
        },
        {
            "primaryEmail": "gone@example.com",
            "id": "100000000000000000003",
            "name": {"givenName": "Gone", "familyName": "Away"},
            "suspended": True,
        },
    ],
}


@pytest.fixture
def server(tmp_path: Path):
    with EmulatorServer.open(seed=SEED, state=tmp_path / "state.json") as running:
        yield running


def raw(sender: str | None = ADMIN, to: str | None = BOB, **headers: str) -> dict[str, str]:
    message = EmailMessage()
    if sender:
        message["From"] = sender
    if to:
        message["To"] = to
    for name, value in headers.items():
        message[name] = value
    message["Subject"] = "Your new Google account"
    message.set_content("Hello Bob\nYour password: s3cret\n")
    return {"raw": base64.urlsafe_b64encode(message.as_bytes()).decode().rstrip("=")}


def gmail(server: EmulatorServer, subject: str | None = ADMIN, scopes: list[str] | None = None):
    return real_service(server, "gmail_v1", scopes or [SEND_SCOPE], subject=subject)


def test_a_message_sent_as_the_delegated_user_is_kept_for_tests(server):
    answer = checked(SEND, gmail(server).users().messages().send(userId="me", body=raw()))
    assert answer["labelIds"] == ["SENT"]
    assert answer["threadId"] and answer["id"]
    [kept] = server.messages()
    assert kept["id"] == answer["id"]
    assert (kept["from"], kept["to"], kept["subject"]) == (
        ADMIN,
        [BOB],
        "Your new Google account",
    )
    assert kept["body"] == "Hello Bob\nYour password: s3cret\n"
    status, listed = emulator_json(server, "GET", "messages")
    assert status == 200 and listed == {"messages": [kept]}


def test_the_sender_may_be_named_by_its_address_or_id_and_write_from_an_alias(server):
    service = gmail(server)
    for user_id in (ADMIN, "100000000000000000001"):
        checked(SEND, service.users().messages().send(userId=user_id, body=raw()))
    checked(SEND, service.users().messages().send(userId="me", body=raw("it@example.com")))
    # No From header: the message is the sender's.
    checked(SEND, service.users().messages().send(userId="me", body=raw(None, cc=ADMIN)))
    assert [m["from"] for m in server.messages()] == [ADMIN, ADMIN, "it@example.com", ADMIN]


def test_another_users_mailbox_is_delegation_denied(server):
    request = gmail(server).users().messages().send(userId=BOB, body=raw())
    assert refusal(request) == (403, "forbidden", f"Delegation denied for {ADMIN}")
    assert server.messages() == []


def test_a_from_header_that_is_not_the_sender_is_refused(server):
    request = gmail(server).users().messages().send(userId="me", body=raw(BOB, ADMIN))
    assert refusal(request) == (400, "invalidArgument", "Invalid From header")


def test_a_message_without_any_recipient_is_refused(server):
    request = gmail(server).users().messages().send(userId="me", body=raw(to=None))
    assert refusal(request) == (400, "invalidArgument", "Invalid To header")


def test_a_body_without_raw_is_refused_in_googles_words(server):
    request = gmail(server).users().messages().send(userId="me", body={})
    status, reason, message = refusal(request)
    assert (status, reason) == (400, "invalidArgument")
    assert message.startswith("'raw' RFC822 payload message string")


def test_a_service_account_acting_as_itself_or_a_suspended_user_has_no_mailbox(server):
    for subject in (None, "gone@example.com"):
        request = gmail(server, subject).users().messages().send(userId="me", body=raw())
        assert refusal(request) == (400, "failedPrecondition", "Precondition check failed.")
    assert server.messages() == []


def test_sending_needs_a_gmail_scope(server):
    request = gmail(server, scopes=[USER_SCOPE]).users().messages().send(userId="me", body=raw())
    assert refusal(request)[:2] == (403, "insufficientPermissions")


def test_a_disabled_gmail_api_refuses_as_google_does(server):
    server.configure(disabled_apis=["gmail"])
    status, reason, message = refusal(
        gmail(server).users().messages().send(userId="me", body=raw())
    )
    assert (status, reason) == (403, "accessNotConfigured")
    assert message.startswith("Gmail API has not been used in project")


def test_a_reset_forgets_the_messages(server):
    checked(SEND, gmail(server).users().messages().send(userId="me", body=raw()))
    server.reset()
    assert server.messages() == []
