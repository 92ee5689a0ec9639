"""The Gmail API's `users.messages.send`, over the same tenant: who may send as whom, and
what a message must say.

Routes are relative to `/gmail/v1/` (the bundled gmail.v1 document's paths, servicePath
""). Google's rules (Gmail API reference, users.messages.send; docs/emulator.md, "Gmail"):
- the token must act as a user of the tenant (domain-wide delegation with a `sub`); a
  service account acting as itself has no mailbox: `400 failedPrecondition` "Precondition
  check failed.", as Google answers it; so does a suspended sender (the emulator's choice:
  Google documents none);
- `userId` is `me` or the sender's own address or id: another user's is `403 forbidden`
  "Delegation denied for <sender>", as Google's client libraries show it;
- the body is a Message whose `raw` is the whole RFC 2822 message, base64url: no `raw` is
  `400 invalidArgument` "'raw' RFC822 payload message string or uploading message via
  /upload/* URL required"; the media upload form (`/upload/gmail/v1/...`) is not served
  (404);
- the From header, when given, must be the sender's address or one of its aliases (Gmail
  would otherwise rewrite it or refuse a send-as address not set up): the emulator refuses
  `400 invalidArgument` "Invalid From header"; none means the sender;
- at least one recipient among To, Cc and Bcc: else `400 invalidArgument` "Invalid To
  header".
The answer is the sent Message: `{id, threadId, labelIds: ["SENT"]}`. Received messages are
kept in memory only (`DirectoryApi.sent`), never in the saved tenant.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from reconciler.emulator.errors import ApiError
from reconciler.emulator.request import Call

RAW_REQUIRED = "'raw' RFC822 payload message string or uploading message via /upload/* URL required"
PRECONDITION = "Precondition check failed."


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalidArgument", message)


def send_message(call: Call) -> tuple[int, dict[str, Any]]:
    tenant = call.tenant
    sender = tenant.users.get(call.subject_id or "")
    if sender is None or sender.get("suspended"):
        raise ApiError(400, "failedPrecondition", PRECONDITION)
    address = str(sender["primaryEmail"]).lower()
    user_id = call.params.get("userId", "")
    if user_id != "me" and user_id.lower() != address and user_id != call.subject_id:
        raise ApiError(403, "forbidden", f"Delegation denied for {address}")
    raw = call.body().get("raw")
    if not isinstance(raw, str) or not raw:
        raise _invalid(RAW_REQUIRED)
    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):
        raise _invalid("Invalid value for ByteString: raw") from None
    message = message_from_bytes(data, policy=policy.default)
    own = {address, *(a.lower() for a in sender.get("aliases", ()))}
    senders = [a.lower() for _, a in getaddresses(message.get_all("From", []))]
    if senders and (len(senders) != 1 or senders[0] not in own):
        raise _invalid("Invalid From header")
    recipients = {
        name: [a for _, a in getaddresses(message.get_all(name, [])) if a]
        for name in ("To", "Cc", "Bcc")
    }
    if not any(recipients.values()):
        raise _invalid("Invalid To header")
    message_id = secrets.token_hex(8)
    call.sent.append(
        {
            "id": message_id,
            "from": senders[0] if senders else address,
            "to": recipients["To"],
            "cc": recipients["Cc"],
            "bcc": recipients["Bcc"],
            "subject": str(message.get("Subject", "")),
            "body": _text(message),
        }
    )
    return 200, {"id": message_id, "threadId": message_id, "labelIds": ["SENT"]}


def _text(message: Any) -> str:
    """The message's plain text body ('' when it has none)."""
    if isinstance(message, EmailMessage):
        part = message.get_body(preferencelist=("plain",))
        if part is not None:
            return str(part.get_content())
    return ""


ROUTES: list[tuple[str, str, str, Any]] = [
    ("POST", "users/{userId}/messages/send", "gmail.users.messages.send", send_message),
]
