"""Listings that lag writes (`listing_lag_ms`): for a while after a write, users.list,
groups.list, members.list and orgunits.list show the item as it was before; gets show it as
it is.

Google's listings are served from an index that follows the directory seconds behind (the
Directory API's guides: a group's nested members may take minutes to appear; Terraform's
provider and GAM wait and retry around it): see docs/emulator.md, "Eventual consistency
beyond creates".

The cost is O(changes), never O(tenant): the tenant tells `ListingLag.record` about each
item a write is about to change, with what listings showed of it until then (None when it
did not exist). Per item the entries within the lag are kept oldest first; a listing shows
the oldest one (the state before the first write it has not caught up with) instead of the
item as it is. Entries older than the lag are dropped as calls arrive, oldest first.

Listings built on that: an item changed within the lag is left out of the walk over the
current keys (`hidden`), and its earlier state, if it had one, is merged in at the place its
sort key gives it (`ghosts`). Page tokens still hold the last key returned, so paging stays
stable whatever mix of the two a page holds.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from reconciler.emulator.paging import decode_token, encode_token, take_page

Ghost = tuple[Any, Any]  # (sort key, the item as listings still show it)


class ListingLag:
    """Per collection, what listings still show of the items written within the lag."""

    def __init__(self) -> None:
        # collection -> item key -> [(time of the write, what listings showed before it)]
        self._items: dict[str, dict[Any, deque[tuple[float, Any]]]] = {}
        self._order: deque[tuple[float, str, Any]] = deque()  # every entry, oldest first

    def __len__(self) -> int:
        return len(self._order)

    def record(self, now: float, collection: str, key: Any, before: Any) -> None:
        """An item is about to change: until the lag passes, listings show `before`."""
        items = self._items.setdefault(collection, {})
        entries = items.get(key)
        if entries is None:
            entries = items[key] = deque()
        entries.append((now, before))
        self._order.append((now, collection, key))

    def expire(self, now: float, lag_s: float) -> None:
        """Drop what listings have caught up with (written `lag_s` or more before `now`)."""
        order = self._order
        while order and now - order[0][0] >= lag_s:
            _, collection, key = order.popleft()
            items = self._items[collection]
            entries = items[key]
            entries.popleft()  # entries and order are both oldest first
            if not entries:
                del items[key]
                if not items:
                    del self._items[collection]

    def visible(self, collection: str) -> dict[Any, Any]:
        """Item key -> what listings show of it (None: nothing), for the items of
        `collection` written within the lag; other items are listed as they are."""
        items = self._items.get(collection)
        if not items:
            return {}
        return {key: entries[0][1] for key, entries in items.items()}

    def clear(self) -> None:
        self._items.clear()
        self._order.clear()


def lagged_page(
    call: Any,
    collection: str,
    digest: str,
    keys: Sequence[Any],
    limit: int,
    match: Callable[[Any], bool],
    ghosts: list[Ghost],
    ghost_match: Callable[[Any], bool],
    descending: bool = False,
) -> tuple[list[tuple[Any, Any]], str | None]:
    """One page of a listing whose current items (`keys`, filtered by `match`, which must
    leave out the items written within the lag) are merged with `ghosts` (sorted ascending
    by key, filtered by `ghost_match`); returns [(key, ghost item or None)] and the next
    page's token."""
    cursor = decode_token(call.arg("pageToken"), digest)
    drop = call.short_listing.get(collection, 0)
    if drop > 0:  # a short read on top of a lagging one: the current items end early
        kept = [k for k in keys if match(k)]
        keys = kept[drop:] if descending else kept[: max(len(kept) - drop, 0)]
        match = _always
    current, more_current = take_page(keys, cursor, limit, match, descending=descending)
    ordered = reversed(ghosts) if descending else ghosts
    waiting = [
        (key, item)
        for key, item in ordered
        if (cursor is None or (key < cursor if descending else key > cursor)) and ghost_match(item)
    ]
    page: list[tuple[Any, Any]] = []
    i = j = 0
    while len(page) < limit and (i < len(current) or j < len(waiting)):
        take_current = j >= len(waiting) or (
            i < len(current)
            and (current[i] > waiting[j][0] if descending else current[i] <= waiting[j][0])
        )
        if take_current:
            page.append((current[i], None))
            i += 1
        else:
            page.append(waiting[j])
            j += 1
    more = i < len(current) or more_current is not None or j < len(waiting)
    token = encode_token(digest, page[-1][0]) if more and page else None
    return page, token


def _always(_key: Any) -> bool:
    return True
