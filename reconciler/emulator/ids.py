"""Ids and etags shaped like Google's, and the etag chain that makes replays exact."""

from __future__ import annotations

import base64
import hashlib
import random
import string


def next_etag(previous: str) -> str:
    """The etag after `previous`: a hash chain, so a replay reproduces every etag."""
    return '"' + hashlib.blake2b(previous.encode(), digest_size=12).hexdigest() + '"'


_BASE36 = string.digits + string.ascii_lowercase


def _base36(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_BASE36) for _ in range(length))


def new_user_id(rng: random.Random) -> str:
    """A 21-digit numeric id, like Google's user ids."""
    return str(10**20 + rng.getrandbits(67) % 10**20)  # getrandbits: 10x randrange's speed


def new_group_id(rng: random.Random) -> str:
    """A 15-character id starting with 0, like Google's group ids."""
    return "0" + _base36(rng, 14)


def new_orgunit_id(rng: random.Random) -> str:
    """An `id:`-prefixed org unit id, like Google's."""
    return "id:0" + _base36(rng, 13)


def new_schema_id(rng: random.Random) -> str:
    """A 22-character id for a schema or one of its fields."""
    return base64.urlsafe_b64encode(rng.randbytes(16)).decode().rstrip("=")


def new_customer_id(rng: random.Random) -> str:
    """A customer id like Google's `C03az79cb`."""
    return "C0" + _base36(rng, 7)


def external_member_id(email: str) -> str:
    """The id of an address outside the tenant: derived from it, so it is the same in
    every group and after a restart."""
    digest = hashlib.blake2b(email.encode(), digest_size=8).digest()
    return str(10**20 + int.from_bytes(digest, "big") % (9 * 10**20))
