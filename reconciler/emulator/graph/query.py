"""OData query options as Graph reads them for the listings the tool uses.

- `$top`: 1 to 999; default page 100. `$top=1000` answers "Invalid page size specified:
  '1000'. Must be between 1 and 999 inclusive."
  (https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0 ;
  https://learn.microsoft.com/en-us/answers/questions/1129204/).
- `$skip` is not supported by `/users` nor `/groups` (same page;
  https://learn.microsoft.com/en-us/graph/api/group-list?view=graph-rest-1.0): 400. The
  exact message is UNVERIFIED.
- `$select`: a comma-separated list of properties of the type; an unknown one is a 400.
- `$filter`: only `prop eq 'value'` on the properties listed per collection is modelled
  (no headers needed for those: https://learn.microsoft.com/en-us/graph/aad-advanced-queries).
  Whether `eq` ignores case is UNVERIFIED in the docs; it is observed to (see
  https://github.com/microsoftgraph/msgraph-sdk-java/issues/1731), so the emulator compares
  without case; a value with trailing whitespace does not match a name without it.
- Paging: `@odata.nextLink` is `{graph}/v1.0/{collection}?$skiptoken=…` and is passed back
  unchanged (https://learn.microsoft.com/en-us/graph/paging); the token carries the position
  (the last id served: listings are in id order) and the first request's options.
  Options the emulator does not model (`$count`, `$search`, `$orderby`, …) are refused,
  400, saying so, rather than silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from reconciler.emulator.graph.errors import GraphError, bad_request

DEFAULT_PAGE = 100
EXPAND_PAGE = 100
MAX_PAGE = 999

_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$")


@dataclass(frozen=True)
class Query:
    select: tuple[str, ...] | None
    top: int
    filter: tuple[str, str] | None  # (property, value)
    expand: tuple[str, ...]
    after: str | None  # the id after which the page starts

    def token(self, after: str) -> str:
        data = {
            "s": list(self.select) if self.select is not None else None,
            "t": self.top,
            "f": list(self.filter) if self.filter else None,
            "e": list(self.expand),
            "a": after,
        }
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unsupported_query() -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")


def parse_query(
    query: str,
    *,
    type_name: str,
    properties: frozenset[str],
    filterable: frozenset[str] = frozenset(),
    expandable: frozenset[str] = frozenset(),
) -> Query:
    """The options of one listing or read; GraphError 400 for what Graph refuses."""
    options: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if not key.startswith("$"):
            continue  # Graph ignores parameters that are no OData option
        if key in options:
            raise bad_request(f"Query option '{key}' was specified more than once.")
        options[key] = value
    if "$skiptoken" in options:
        return _from_token(options["$skiptoken"])
    if "$skip" in options:
        raise bad_request("'$skip' is not supported by the service.")
    known = {"$select", "$top", "$filter", "$expand"}
    extra = sorted(set(options) - known)
    if extra:
        raise bad_request(
            f"Query option '{extra[0]}' is not modelled by the emulator (supported: "
            "$select, $top, $filter, $expand=extensions, $skiptoken)."
        )
    select = None
    if "$select" in options:
        names = tuple(s.strip() for s in options["$select"].split(",") if s.strip())
        for name in names:
            if name not in properties:
                raise bad_request(
                    f"Could not find a property named '{name}' on type '{type_name}'."
                )
        select = names
    top = DEFAULT_PAGE
    if "$top" in options:
        raw = options["$top"].strip()
        if not re.fullmatch(r"-?\d+", raw):
            raise bad_request(f"Invalid page size specified: '{raw}'.")
        top = int(raw)
        if not 1 <= top <= MAX_PAGE:
            raise bad_request(
                f"Invalid page size specified: '{raw}'. Must be between 1 and {MAX_PAGE} inclusive."
            )
    flt = None
    if "$filter" in options:
        match = _FILTER.match(options["$filter"])
        if match is None or match.group(1) not in filterable:
            raise unsupported_query()
        flt = (match.group(1), match.group(2).replace("''", "'"))
    expand: tuple[str, ...] = ()
    if "$expand" in options:
        expand = tuple(s.strip() for s in options["$expand"].split(",") if s.strip())
        for name in expand:
            if name not in expandable:
                raise bad_request(
                    f"Could not find a navigation property named '{name}' on type "
                    f"'{type_name}' that the emulator models."
                )
        # With $expand, Graph returns at most 100 items a page, whatever $top asks
        # (https://learn.microsoft.com/en-us/graph/query-parameters, "expand parameter").
        top = min(top, EXPAND_PAGE)
    return Query(select, top, flt, expand, None)


def _from_token(token: str) -> Query:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return Query(
            tuple(data["s"]) if data["s"] is not None else None,
            int(data["t"]),
            tuple(data["f"]) if data["f"] else None,
            tuple(data["e"]),
            str(data["a"]),
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise bad_request("Invalid skip token.") from None  # wording UNVERIFIED


def project(item: dict, select: tuple[str, ...] | None, keep: tuple[str, ...] = ()) -> dict:
    """`item` with only the selected properties (and `keep`, e.g. `@odata.type`)."""
    if select is None:
        return item
    return {k: v for k, v in item.items() if k in select or k in keep}


def context_suffix(collection: str, select: tuple[str, ...] | None) -> str:
    """`users` or `users(id,displayName)`, as in `@odata.context`."""
    return f"{collection}({','.join(select)})" if select else collection
