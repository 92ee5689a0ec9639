"""tokens.*, asps.* and verificationCodes.*: a user's OAuth tokens, application-specific
passwords and backup verification codes (user_security.py holds the shapes).

The user is found as users.get finds it (primary address, alias or id; 404 "Resource Not
Found: userKey" for anything else, a deleted user included). A listing with nothing to list
has no `items` key at all: Google documents no empty case, GAM reads `items` as optional,
and a client that needs the key present would fail here first.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.api_users import find_user
from reconciler.emulator.errors import ApiError, invalid, not_found
from reconciler.emulator.request import Call
from reconciler.emulator.tenant import Record
from reconciler.emulator.user_security import (
    list_etag,
    new_codes,
    render_asp,
    render_code,
    render_token,
)

Answer = tuple[int, dict[str, Any] | None]
_INT32 = re.compile(r"-?[0-9]{1,10}")


def _user(call: Call, *, write: bool) -> tuple[Record, Record]:
    """The user the path names, and (a copy of) its security record."""
    rec = find_user(call, call.params["userKey"], write=write)
    return rec, dict(call.tenant.security.get(rec["id"], {}))


def _listing(kind: str, etag: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": kind, "etag": etag}
    if items:
        out["items"] = items
    return out


def _save(call: Call, user_id: str, security: Record) -> None:
    call.tenant.put_security(user_id, {k: v for k, v in security.items() if v})


# ---- tokens -----------------------------------------------------------------------------


def list_tokens(call: Call) -> Answer:
    rec, security = _user(call, write=False)
    tokens = security.get("tokens", [])
    etag = list_etag(rec["id"], "tokens", [t["etag"] for t in tokens])
    items = [render_token(rec["id"], t) for t in tokens]
    return 200, _listing("admin#directory#tokenList", etag, items)


def _token(security: Record, client_id: str) -> Record:
    for token in security.get("tokens", []):
        if token["clientId"] == client_id:
            return token
    raise not_found("clientId")


def get_token(call: Call) -> Answer:
    rec, security = _user(call, write=False)
    return 200, render_token(rec["id"], _token(security, call.params["clientId"]))


def delete_token(call: Call) -> Answer:
    rec, security = _user(call, write=True)
    gone = _token(security, call.params["clientId"])
    security["tokens"] = [t for t in security["tokens"] if t is not gone]
    _save(call, rec["id"], security)
    return 204, None


# ---- application-specific passwords -----------------------------------------------------


def list_asps(call: Call) -> Answer:
    rec, security = _user(call, write=False)
    asps = security.get("asps", [])
    etag = list_etag(rec["id"], "asps", [a["etag"] for a in asps])
    items = [render_asp(rec["id"], a) for a in asps]
    return 200, _listing("admin#directory#aspList", etag, items)


def _asp(call: Call, security: Record) -> Record:
    raw = call.params["codeId"]
    if not _INT32.fullmatch(raw) or not -(2**31) <= int(raw) < 2**31:
        # An int32 path parameter that is no such number (GAM expects invalidParameter).
        raise ApiError(
            400,
            "invalidParameter",
            f"Invalid value '{raw}'. Values must match the following regular expression: '-?\\d+'",
            location="codeId",
            location_type="parameter",
        )
    code_id = int(raw)
    for asp in security.get("asps", []):
        if asp["codeId"] == code_id:
            return asp
    # Unverified: GAM's asps.delete expects invalid, invalidParameter or forbidden, never
    # notFound; the strict reading is a 400 a client cannot take for "already gone".
    raise invalid("Invalid Input: codeId")


def get_asp(call: Call) -> Answer:
    rec, security = _user(call, write=False)
    return 200, render_asp(rec["id"], _asp(call, security))


def delete_asp(call: Call) -> Answer:
    rec, security = _user(call, write=True)
    gone = _asp(call, security)
    security["asps"] = [a for a in security["asps"] if a is not gone]
    _save(call, rec["id"], security)
    return 204, None


# ---- backup verification codes ----------------------------------------------------------


def list_codes(call: Call) -> Answer:
    rec, security = _user(call, write=False)
    codes = security.get("verificationCodes", [])
    items = [render_code(rec["id"], c) for c in codes]
    return 200, _listing(
        "admin#directory#verificationCodesList", list_etag(rec["id"], "codes", codes), items
    )


def _not_suspended(rec: Record) -> None:
    # Google refuses to generate or invalidate a suspended user's codes: 400 "Invalid Input"
    # (google-api-go-client#978; GAM refuses up front, "You must unsuspend to process").
    if rec.get("suspended"):
        raise invalid("Invalid Input")


def generate_codes(call: Call) -> Answer:
    rec, security = _user(call, write=True)
    _not_suspended(rec)
    security["verificationCodes"] = new_codes(call.rng)  # the old set is no longer valid
    _save(call, rec["id"], security)
    return 204, None


def invalidate_codes(call: Call) -> Answer:
    rec, security = _user(call, write=True)
    _not_suspended(rec)
    security.pop("verificationCodes", None)
    _save(call, rec["id"], security)
    return 204, None


# ---- sign-out -----------------------------------------------------------------------------


def sign_out(call: Call) -> Answer:
    """users.signOut: ends the user's web and device sessions. Tokens, ASPs and backup codes
    stay (Google revokes none of them here); the emulator counts the sign-out."""
    rec, security = _user(call, write=True)
    security["signOuts"] = security.get("signOuts", 0) + 1
    security["lastSignOutTime"] = call.timestamp()
    _save(call, rec["id"], security)
    return 204, None


ROUTES: list[tuple[str, str, str, Any]] = [
    ("POST", "users/{userKey}/signOut", "directory.users.signOut", sign_out),
    ("GET", "users/{userKey}/tokens", "directory.tokens.list", list_tokens),
    ("GET", "users/{userKey}/tokens/{clientId}", "directory.tokens.get", get_token),
    ("DELETE", "users/{userKey}/tokens/{clientId}", "directory.tokens.delete", delete_token),
    ("GET", "users/{userKey}/asps", "directory.asps.list", list_asps),
    ("GET", "users/{userKey}/asps/{codeId}", "directory.asps.get", get_asp),
    ("DELETE", "users/{userKey}/asps/{codeId}", "directory.asps.delete", delete_asp),
    (
        "GET",
        "users/{userKey}/verificationCodes",
        "directory.verificationCodes.list",
        list_codes,
    ),
    (
        "POST",
        "users/{userKey}/verificationCodes/generate",
        "directory.verificationCodes.generate",
        generate_codes,
    ),
    (
        "POST",
        "users/{userKey}/verificationCodes/invalidate",
        "directory.verificationCodes.invalidate",
        invalidate_codes,
    ),
]
