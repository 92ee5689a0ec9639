"""Page tokens and page walks over sorted keys: O(page), stable under concurrent writes.

A listing walks a sorted sequence of keys (emails, member ids…). A page token holds the
last key returned, so the next page starts strictly after it wherever that key now sits:
writes between pages never repeat an item nor skip one that existed throughout (an item
created or renamed behind the cursor is missed, as with Google). The token also carries a
digest of the listing's parameters, so a token cannot be replayed against another listing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from typing import Any

from reconciler.emulator.errors import ApiError

_VERSION = 1


def listing_digest(*parts: object) -> str:
    """A short digest of the parameters that define a listing."""
    text = json.dumps(parts, default=str, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()


def encode_token(digest: str, cursor: Any) -> str:
    """An opaque page token for the page after `cursor`."""
    raw = json.dumps([_VERSION, digest, cursor], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, digest: str) -> Any:
    """The cursor in `token` (None for the first page); 400 if it is not one of ours."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        version, token_digest, cursor = json.loads(raw)
    except (ValueError, TypeError):
        raise _bad_token() from None
    if version != _VERSION or token_digest != digest:
        raise _bad_token()
    # JSON has no tuples: composite sort keys travel as lists.
    return tuple(cursor) if isinstance(cursor, list) else cursor


def take_page(
    keys: Sequence[Any],
    cursor: Any,
    limit: int,
    match: Callable[[Any], bool] | None = None,
    *,
    descending: bool = False,
) -> tuple[list[Any], Any]:
    """Up to `limit` matching keys after `cursor`, and the next cursor (None at the end).

    `keys` must be sorted ascending. The next cursor is set only when another matching
    key exists, so a listing never ends with an empty page.
    """
    found: list[Any] = []
    if descending:
        i = (bisect_left(keys, cursor) if cursor is not None else len(keys)) - 1
        step, stop = -1, -1
    else:
        i = bisect_right(keys, cursor) if cursor is not None else 0
        step, stop = 1, len(keys)
    while i != stop:
        key = keys[i]
        if match is None or match(key):
            if len(found) == limit:
                return found, found[-1]
            found.append(key)
        i += step
    return found, None


def _bad_token() -> ApiError:
    return ApiError(
        400, "invalid", "Invalid page token.", location="pageToken", location_type="parameter"
    )
