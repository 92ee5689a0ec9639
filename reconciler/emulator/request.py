"""One API call as the handlers see it: path keys, query parameters, JSON body, time."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.emulator.errors import ApiError, duplicate, invalid_parameter
from reconciler.emulator.paging import decode_token, encode_token, take_page
from reconciler.emulator.tenant import Tenant


@dataclass
class Call:
    """Everything a handler may use; it answers with (status, body) or raises ApiError."""

    tenant: Tenant
    params: dict[str, str]
    query: dict[str, list[str]]
    raw_body: bytes | None
    now: float
    rng: random.Random
    # Consistency delay: is this id too new for other calls? And: remember a new id.
    settling: Callable[[str], bool] = lambda _id: False
    created: Callable[[str], None] = lambda _id: None
    # Short reads: collection -> how many items every listing of it leaves out at its end.
    short_listing: dict[str, int] = field(default_factory=dict)
    # Listing lag: for a collection, item key -> what listings still show of it (None:
    # nothing) for the items written too recently for listings to have caught up (lag.py).
    lagged: Callable[[str], dict[Any, Any]] = lambda _collection: {}
    # Address hold: was this address released too recently to be claimed? And the addresses
    # this call releases (held from when its writes are saved).
    held: Callable[[str], bool] = lambda _address: False
    released: list[str] = field(default_factory=list)
    # Data transfers: how long a new one stays inProgress (seconds).
    transfer_delay_s: float = 0.0
    # Whom the call's token acts as (the user's id; None: a service account as itself),
    # and where the Gmail API keeps the messages it sends (api_gmail.py).
    subject_id: str | None = None
    sent: list[dict[str, Any]] = field(default_factory=list)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """A query parameter's value (the last one if repeated)."""
        values = self.query.get(name)
        return values[-1] if values else default

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean query parameter; clients send `true`, `True`, `false` or `False`."""
        value = self.arg(name)
        if value is None or value == "":
            return default
        lowered = value.lower()
        if lowered in ("true", "1"):
            return True
        if lowered in ("false", "0"):
            return False
        raise invalid_parameter(name, value, "Values must be true or false.")

    def integer(self, name: str, default: int, low: int, high: int | None = None) -> int:
        """An integer parameter within [low, high] (400 outside, as Google answers)."""
        value = self.arg(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            raise invalid_parameter(
                name, value, "Values must match the following regular expression: '-?\\d+'"
            ) from None
        if number < low or (high is not None and number > high):
            upper = high if high is not None else 2**31 - 1
            raise invalid_parameter(
                name, value, f"Values must be within the range: [{low}, {upper}]"
            )
        return number

    def choice(self, name: str, allowed: Collection[str], default: str | None) -> str | None:
        """An enum parameter (case-sensitive, as in the discovery document)."""
        value = self.arg(name)
        if value is None or value == "":
            return default
        if value not in allowed:
            raise invalid_parameter(
                name, value, f"Values must be one of: {', '.join(sorted(allowed))}."
            )
        return value

    def body(self) -> dict[str, Any]:
        """The JSON request body as an object; 400 parseError if it is not one."""
        if not self.raw_body:
            return {}
        try:
            value = json.loads(self.raw_body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "parseError", "Parse Error") from None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ApiError(400, "parseError", "Parse Error")
        return value

    def page(
        self,
        collection: str,
        digest: str,
        keys: Sequence[Any],
        limit: int,
        match: Callable[[Any], bool] | None = None,
        descending: bool = False,
    ) -> tuple[list[Any], str | None]:
        """One page of a listing over sorted `keys`, and the token of the next page.

        With a short listing set for `collection`, the listing behaves as if its last
        items did not exist: its page sequence ends early, without an error.
        """
        cursor = decode_token(self.arg("pageToken"), digest)
        drop = self.short_listing.get(collection, 0)
        if drop > 0:
            kept = [k for k in keys if match is None or match(k)]
            # The listing's last items: the largest keys ascending, the smallest descending.
            kept = kept[drop:] if descending else kept[: max(len(kept) - drop, 0)]
            keys, match = kept, None
        found, after = take_page(keys, cursor, limit, match, descending=descending)
        return found, (encode_token(digest, after) if after is not None else None)

    def check_not_held(self, address: str) -> None:
        """Refuse to claim an address released moments ago: `409 duplicate` "Entity already
        exists.", as Google answers while it frees the address (see DirectoryApi)."""
        if self.held(address):
            raise duplicate()

    def timestamp(self) -> str:
        """Now in Google's RFC 3339 form with milliseconds: 2024-05-01T09:30:00.000Z."""
        return format_time(self.now)


def format_time(epoch: float) -> str:
    """Epoch seconds as Google writes times: 2024-05-01T09:30:00.000Z."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> float:
    """The inverse of format_time (any RFC 3339 time with a zone)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
