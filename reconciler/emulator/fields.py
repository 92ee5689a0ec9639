"""Partial responses: parse the `fields` parameter and select from a response body.

Syntax (Google's): `a,b/c,d(e,f/g)`; commas separate selections, `/` walks into an object,
parentheses select several sub-fields, `*` selects everything at its level. A selection
applied to a list applies to each item. Names absent from the body are simply absent; names
the response schema cannot have are refused before the call runs (discovery.py).
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.emulator.errors import ApiError

# A selection tree: name -> sub-selection, or None for "the whole value".
Selection = dict[str, "Selection | None"]

_TOKEN = re.compile(r"\s*([A-Za-z0-9_$#.*@-]+|[,/()])")


def parse_fields(spec: str) -> Selection:
    """Parse a `fields` value; raise a 400 `invalidParameter` ApiError if malformed."""
    tokens = _tokenize(spec)
    pos, tree = _parse_list(tokens, 0, spec)
    if pos != len(tokens):
        raise _bad(spec)
    return tree


def select(value: Any, selection: Selection) -> Any:
    """The parts of `value` named by `selection` (lists: item by item)."""
    if isinstance(value, list):
        return [select(item, selection) for item in value]
    if not isinstance(value, dict):
        return value
    everything = "*" in selection and selection["*"] is None
    picked = dict(value) if everything else {}
    for name, sub in selection.items():
        if name == "*":
            continue
        if name in value:
            picked[name] = value[name] if sub is None else select(value[name], sub)
    return picked


def _tokenize(spec: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = spec.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _bad(spec)
        tokens.append(m.group(1))
        pos = m.end()
    if not tokens:
        raise _bad(spec)
    return tokens


def _parse_list(tokens: list[str], pos: int, spec: str) -> tuple[int, Selection]:
    tree: Selection = {}
    while True:
        pos, path, sub = _parse_item(tokens, pos, spec)
        _merge(tree, path, sub)
        if pos < len(tokens) and tokens[pos] == ",":
            pos += 1
            continue
        return pos, tree


def _parse_item(tokens: list[str], pos: int, spec: str) -> tuple[int, list[str], Selection | None]:
    path = []
    while True:
        if pos >= len(tokens) or tokens[pos] in ",/()":
            raise _bad(spec)
        path.append(tokens[pos])
        pos += 1
        if pos < len(tokens) and tokens[pos] == "/":
            pos += 1
            continue
        break
    sub: Selection | None = None
    if pos < len(tokens) and tokens[pos] == "(":
        pos, sub = _parse_list(tokens, pos + 1, spec)
        if pos >= len(tokens) or tokens[pos] != ")":
            raise _bad(spec)
        pos += 1
    return pos, path, sub


def _merge(tree: Selection, path: list[str], sub: Selection | None) -> None:
    """Add one selection; `a` and `a/b` together select all of `a`."""
    node = tree
    for i, name in enumerate(path):
        last = i == len(path) - 1
        if name in node and node[name] is None:
            return  # already selected whole
        if last:
            if sub is None or name not in node:
                node[name] = sub
            else:
                existing = node[name]
                assert existing is not None
                for key, value in sub.items():
                    _merge(existing, [key], value)
            return
        child = node.get(name)
        if child is None:
            child = {}
            node[name] = child
        node = child


def _bad(spec: str) -> ApiError:
    return ApiError(
        400,
        "invalidParameter",
        f"Invalid field selection {spec}",
        location="fields",
        location_type="parameter",
    )
