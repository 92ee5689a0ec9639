"""A user's security state: OAuth tokens, application-specific passwords (ASPs), backup
verification codes, and the sign-outs an admin asked for.

Held apart from the User record (`Tenant.security`, by user id), so no users.get or listing
can ever show it; a seed or saved state writes it on the user's entry, under the keys of
SECURITY_KEYS. Tokens and ASPs are written in the Directory API's own shapes (Token, Asp);
backup codes as a list of their 8-digit strings; `signOuts` counts users.signOut calls and
`lastSignOutTime` says when the last one came (the emulator's own keys: Google shows
neither, and tests need to see that a sign-out happened).

A stored record (every key absent when empty):

    {"tokens": [{"clientId", "displayText"?, "anonymous", "nativeApp", "scopes", "etag"}],
     "asps": [{"codeId", "name", "creationTime", "lastTimeUsed", "etag"}],
     "verificationCodes": ["12345678", ...], "signOuts": 2, "lastSignOutTime": "..."}
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Mapping
from typing import Any

from reconciler.emulator.ids import next_etag
from reconciler.emulator.request import parse_time

Record = dict[str, Any]

SECURITY_KEYS = frozenset({"tokens", "asps", "verificationCodes", "signOuts", "lastSignOutTime"})
TOKEN_KIND = "admin#directory#token"
ASP_KIND = "admin#directory#asp"
CODE_KIND = "admin#directory#verificationCode"
# Google's backup codes are 8 digits; verificationCodes.generate makes 10 at a time.
CODES_PER_SET = 10
_CODE = re.compile(r"\d{8}")
_INT64 = re.compile(r"-?\d{1,19}")
_TOKEN_KEYS = frozenset(
    {"clientId", "displayText", "anonymous", "nativeApp", "scopes", "userKey", "etag", "kind"}
)
_ASP_KEYS = frozenset({"codeId", "name", "creationTime", "lastTimeUsed", "userKey", "etag", "kind"})
MAX_CODE_ID = 2**31 - 1  # codeId is an int32 in the discovery document


class SecurityProblems(ValueError):
    """What is wrong with a seed's security entries of one user: every message."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def security_from_entry(entry: Mapping[str, Any], user_id: str, now_ms: int) -> Record:
    """The stored security record of a seed or state entry (its SECURITY_KEYS), checked
    strictly; SecurityProblems naming every problem. `now_ms`: an ASP's default creation time."""
    problems: list[str] = []
    rec: Record = {}
    tokens = _entries(entry, "tokens", problems)
    if tokens:
        rec["tokens"] = _tokens(tokens, user_id, problems)
    asps = _entries(entry, "asps", problems)
    if asps:
        rec["asps"] = _asps(asps, user_id, now_ms, problems)
    codes = _entries(entry, "verificationCodes", problems)
    if codes:
        rec["verificationCodes"] = _codes(codes, problems)
    count = entry.get("signOuts")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            problems.append("signOuts: expected a count, 0 or more")
        elif count:
            rec["signOuts"] = count
    last = entry.get("lastSignOutTime")
    if last is not None:
        if not _is_time(last):
            problems.append("lastSignOutTime: expected an RFC 3339 time")
        else:
            rec["lastSignOutTime"] = last
    if problems:
        raise SecurityProblems(problems)
    return {k: v for k, v in rec.items() if v}


def render_token(user_id: str, token: Record) -> dict[str, Any]:
    """A Token resource as Google returns it."""
    out: dict[str, Any] = {"kind": TOKEN_KIND, "etag": token["etag"], "clientId": token["clientId"]}
    if "displayText" in token:
        out["displayText"] = token["displayText"]
    out["anonymous"] = token["anonymous"]
    out["nativeApp"] = token["nativeApp"]
    out["scopes"] = list(token["scopes"])
    out["userKey"] = user_id
    return out


def render_asp(user_id: str, asp: Record) -> dict[str, Any]:
    """An Asp resource as Google returns it (times are epoch milliseconds as int64 strings;
    a `lastTimeUsed` of "0" means never used)."""
    return {
        "kind": ASP_KIND,
        "etag": asp["etag"],
        "codeId": asp["codeId"],
        "name": asp["name"],
        "creationTime": asp["creationTime"],
        "lastTimeUsed": asp["lastTimeUsed"],
        "userKey": user_id,
    }


def render_code(user_id: str, code: str) -> dict[str, Any]:
    """A VerificationCode resource as Google returns it."""
    return {
        "kind": CODE_KIND,
        "etag": next_etag(f"verificationCode/{user_id}/{code}"),
        "userId": user_id,
        "verificationCode": code,
    }


def new_codes(rng: random.Random) -> list[str]:
    """A fresh set of backup codes: 10 distinct 8-digit strings."""
    codes: list[str] = []
    while len(codes) < CODES_PER_SET:
        code = f"{rng.randrange(10**8):08d}"
        if code not in codes:
            codes.append(code)
    return codes


def list_etag(user_id: str, what: str, items: list[Any]) -> str:
    """The etag of a listing: it changes when what it lists changes."""
    return next_etag(f"{what}/{user_id}/" + "/".join(map(str, items)))


# ---- seed checks ------------------------------------------------------------------------


def _entries(entry: Mapping[str, Any], key: str, problems: list[str]) -> list[Any]:
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list")
        return []
    return value


def _unknown(item: Mapping[str, Any], allowed: frozenset[str], where: str) -> list[str]:
    found = []
    for name in item:
        if name not in allowed:
            hint = difflib.get_close_matches(str(name), list(allowed), n=1)
            also = f" (did you mean '{hint[0]}'?)" if hint else ""
            found.append(f"{where}: unknown field '{name}'{also}")
    return found


def _common(item: Mapping[str, Any], kind: str, user_id: str, where: str) -> list[str]:
    """Problems with the fields every Token and Asp entry may carry: kind, userKey, etag."""
    found = []
    if item.get("kind", kind) != kind:
        found.append(f"{where}: kind must be {kind}")
    if item.get("userKey", user_id) != user_id:
        found.append(f"{where}: userKey must be the user's id ({user_id})")
    if not isinstance(item.get("etag", ""), str):
        found.append(f"{where}: etag must be a string")
    return found


def _tokens(items: list[Any], user_id: str, problems: list[str]) -> list[Record]:
    tokens: list[Record] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"tokens[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: expected a Token mapping (clientId, scopes, ...)")
            continue
        found = _unknown(item, _TOKEN_KEYS, where) + _common(item, TOKEN_KIND, user_id, where)
        client_id = item.get("clientId")
        if not isinstance(client_id, str) or not client_id.strip():
            found.append(f"{where}: clientId is required (a string)")
        elif client_id in seen:
            found.append(f"{where}: clientId {client_id} is listed twice")
        if not isinstance(item.get("displayText", ""), str):
            found.append(f"{where}: displayText must be a string")
        for flag in ("anonymous", "nativeApp"):
            if not isinstance(item.get(flag, False), bool):
                found.append(f"{where}: {flag} must be true or false")
        scopes = item.get("scopes", [])
        if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
            found.append(f"{where}: scopes must be a list of scope strings")
        if found:
            problems.extend(found)
            continue
        seen.add(client_id)
        token: Record = {"clientId": client_id}
        if "displayText" in item:
            token["displayText"] = item["displayText"]
        token["anonymous"] = item.get("anonymous", False)
        token["nativeApp"] = item.get("nativeApp", False)
        token["scopes"] = list(scopes)
        token["etag"] = item.get("etag") or next_etag(f"token/{user_id}/{client_id}")
        tokens.append(token)
    return tokens


def _asps(items: list[Any], user_id: str, now_ms: int, problems: list[str]) -> list[Record]:
    asps: list[Record] = []
    taken = {
        item["codeId"]
        for item in items
        if isinstance(item, Mapping) and _is_code_id(item.get("codeId"))
    }
    next_id = max(taken, default=0) + 1
    seen: set[int] = set()
    for i, item in enumerate(items):
        where = f"asps[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: expected an Asp mapping (codeId, name, ...)")
            continue
        found = _unknown(item, _ASP_KEYS, where) + _common(item, ASP_KIND, user_id, where)
        code_id = item.get("codeId")
        if code_id is None:
            code_id, next_id = next_id, next_id + 1
        elif not _is_code_id(code_id):
            found.append(f"{where}: codeId must be a whole number from 0 to {MAX_CODE_ID}")
        elif code_id in seen:
            found.append(f"{where}: codeId {code_id} is listed twice")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            found.append(f"{where}: name is required (the name the user gave the password)")
        times = {}
        for field, default in (("creationTime", str(now_ms)), ("lastTimeUsed", "0")):
            value = item.get(field, default)
            text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
            if not isinstance(text, str) or not _INT64.fullmatch(text) or int(text) < 0:
                found.append(f"{where}: {field} must be epoch milliseconds (an int64 string)")
            times[field] = text
        if found:
            problems.extend(found)
            continue
        seen.add(code_id)
        asps.append(
            {
                "codeId": code_id,
                "name": name,
                "creationTime": times["creationTime"],
                "lastTimeUsed": times["lastTimeUsed"],
                "etag": item.get("etag") or next_etag(f"asp/{user_id}/{code_id}"),
            }
        )
    return asps


def _codes(items: list[Any], problems: list[str]) -> list[str]:
    codes: list[str] = []
    for i, item in enumerate(items):
        if not isinstance(item, str) or not _CODE.fullmatch(item):
            problems.append(f"verificationCodes[{i}]: a backup code is 8 digits, as a string")
        elif item in codes:
            problems.append(f"verificationCodes[{i}]: {item} is listed twice")
        else:
            codes.append(item)
    return codes


def _is_code_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_CODE_ID


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_time(value)
    except ValueError:
        return False
    return True
