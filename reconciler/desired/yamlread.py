"""Safe YAML reading that keeps the line of every mapping key and sequence item.

We compose the node graph (C parser when available) and build plain Python values ourselves,
so that nothing language-specific is ever constructed, duplicate keys are caught, alias
expansion is measured before anything walks it, and every value can be traced to its line.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import CollectionEndEvent, CollectionStartEvent, StreamEndEvent
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag

from reconciler.files import FileTooLarge, RefusedFile, read_regular
from reconciler.problems import InvalidInput, Problem, excerpt

try:
    from ruamel.yaml.cyaml import CParser
except ImportError:  # ruamel.yaml.clib is not installed (it is not on PyPy)
    CParser = None

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
# Aliases may repeat a node, but the expanded document may only exceed the written one by
# this many nodes: enough for any honest use, far too few for an expansion bomb.
MAX_ALIAS_EXPANSION = 100_000
# No number in a desired state is longer (an int64 is 19 digits).
MAX_INT_CHARS = 100
# ruamel's C composer recurses on the C stack once per level: tens of thousands of levels
# (28 KB of `[`) crash the process. Text that could nest deeper than this is measured
# first with the parser's events, which need no recursion, and refused past it.
MAX_COMPOSE_DEPTH = 1000
# A cheap bound on that depth: every flow level is a `[` or `{`, and block levels need
# indentation or compact indicators (`- - -`) at the start of a line.
_MAX_FLOW_OPENERS = 500
# Every line break YAML knows (not only \n), and a byte order mark, may precede a line.
_DEEP_LINE_START = re.compile(r"(?:^|[\r\x85\u2028\u2029])\ufeff?[ \t?:-]{200}", re.MULTILINE)
# The parser's own words are quoted at most this long (they may quote the file).
MESSAGE_CHARS = 120

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


_CORE_SCALARS = re.compile(
    r"(?P<null>~|null|Null|NULL)"
    r"|(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<int>[-+]?[0-9][0-9_]*|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)"
    r"|(?P<float>[-+]?(\.[0-9]+|[0-9][0-9_]*)(\.[0-9_]*)?([eE][-+]?[0-9]+)?"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))"
)
_MAYBE_NOT_TEXT = frozenset("~nNtTfF-+.0123456789")
_TAGS = {
    name: Tag(suffix=_CORE + name) for name in ("null", "bool", "int", "float", "str", "merge")
}


class CoreResolver(VersionedResolver):
    """YAML 1.2 core schema resolution, several times faster than the generic resolver.

    Dates stay text (no timestamp type): nothing in a desired state is a date.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            if implicit[0]:
                if value == "":
                    return _TAGS["null"]
                if value == "<<":
                    return _TAGS["merge"]
                if value[0] in _MAYBE_NOT_TEXT:
                    m = _CORE_SCALARS.fullmatch(value)
                    if m:
                        return _TAGS[m.lastgroup]
            return _TAGS["str"]
        return super().resolve(kind, value, implicit)


class YMap(dict):
    """A mapping that remembers its own line and the line of each key (1-based)."""

    __slots__ = ("key_lines", "line")  # no instance dict: there is one per entry
    line: int
    key_lines: dict[str, int]


class YSeq(list):
    """A sequence that remembers its own line and the line of each item (1-based)."""

    __slots__ = ("item_lines", "line")
    line: int
    item_lines: list[int]


def read_yaml(path: Path) -> Any:
    """Read one YAML file into plain values (YMap, YSeq, scalars); None when empty."""
    return parse_yaml(read_text(path), path)


def parse_yaml(text: str, path: Path) -> Any:
    """Parse YAML text; every problem is raised as InvalidInput located in `path`."""
    node = compose_yaml(text, path)
    if node is None:
        return None
    problems: list[Problem] = []
    value = build_value(node, path, problems, 0)
    if problems:
        raise InvalidInput(problems)
    return value


def compose_yaml(text: str, path: Path) -> Node | None:
    """The checked node graph of YAML text: syntax, recursion and alias expansion."""
    try:
        _check_nesting(text, path)
        node = _compose(text)
    except MarkedYAMLError as exc:
        raise InvalidInput([_syntax_problem(exc, path)]) from None
    except ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise InvalidInput(
            [Problem(path, line, f"YAML syntax: character U+{ord(char):04X} is not allowed")]
        ) from None
    except RecursionError:
        raise InvalidInput([Problem(path, 0, "YAML nesting is too deep")]) from None
    except YAMLError as exc:  # its text may quote the file: a short excerpt only
        raise InvalidInput([Problem(path, 0, f"YAML syntax: {excerpt(str(exc))}")]) from None
    if node is not None and "&" in text:  # no anchors, no aliases: nothing can expand
        _check_expansion(node, path)
    return node


if CParser is not None:

    class _CoreLoader(CParser, CoreResolver):  # type: ignore[misc]
        """ruamel's C parser composing with the core resolver, one class for every file:
        `YAML().compose` builds a new loader class per call, and a class outlives its use
        until the cyclic collector runs."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            self._parser = self._composer = self
            CoreResolver.__init__(self, loadumper=self)


def _check_nesting(text: str, path: Path) -> None:
    """Refuse text nested deeper than MAX_COMPOSE_DEPTH before the C composer sees it.

    Text that cannot nest that deep (few brackets, no deeply indented line) is not parsed
    twice; other text is walked event by event (the C parser keeps its own stack, so this
    cannot crash) and refused at the line of the first node past the limit.
    """
    if CParser is None:  # the pure-Python composer raises RecursionError instead
        return
    openers = text.count("[") + text.count("{")
    if openers <= _MAX_FLOW_OPENERS and not _DEEP_LINE_START.search(text):
        return
    loader = _CoreLoader(text)
    depth = 0
    try:
        while True:
            event = loader.get_event()
            if event is None or isinstance(event, StreamEndEvent):
                return
            if isinstance(event, CollectionStartEvent):
                depth += 1
                if depth > MAX_COMPOSE_DEPTH:
                    line = event.start_mark.line + 1
                    raise InvalidInput(
                        [
                            Problem(
                                path,
                                line,
                                f"YAML nesting is too deep (over {MAX_COMPOSE_DEPTH} levels)",
                            )
                        ]
                    )
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
    finally:
        loader.dispose()
        loader.__dict__.clear()


def _compose(text: str) -> Node | None:
    if CParser is None:  # no C extension (PyPy): ruamel's pure-Python loader
        yaml = YAML(typ="safe", pure=True)
        yaml.Resolver = CoreResolver
        return yaml.compose(text)
    loader = _CoreLoader(text)
    try:
        return loader.get_single_node()
    finally:
        # The loader refers to itself (it is its own parser, composer and resolver), so
        # only the cyclic collector would free it and its copy of the whole text; that
        # collector is paused while a state directory loads (gc_pause.without_gc around
        # load_desired). Cut the knot so each file's buffers go as soon as its nodes are built.
        loader.dispose()
        loader.__dict__.clear()


def _syntax_problem(exc: MarkedYAMLError, path: Path) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else 0
    # The parser's words, which may quote the file (an alias's name, a token): bounded.
    problem = excerpt(str(exc.problem or "").strip(), MESSAGE_CHARS)
    context = excerpt(str(exc.context or "").strip(), MESSAGE_CHARS)
    start = exc.context_mark.line + 1 if exc.context_mark else 0
    if "but found another document" in problem:
        what = "more than one YAML document (---): keep one document per file"
    elif "duplicate anchor" in context:
        what = f"anchor defined twice (first at line {start})"
    elif context and start and start != line:
        what = f"{problem} ({context}, which starts at line {start})"
    else:
        what = " ".join(x for x in (context, problem) if x)
    return Problem(path, line, f"YAML syntax: {what}")


def read_text(path: Path) -> str:
    """The text of a YAML file, refusing huge files, invalid UTF-8 and anything but a regular
    file reached without a symbolic link (files.py) with a located error."""
    try:
        raw = read_regular(path, MAX_FILE_BYTES)
    except FileTooLarge as exc:
        limit = MAX_FILE_BYTES // (1024 * 1024)
        raise InvalidInput(
            [Problem(path, 0, f"file is {exc.size} bytes, over the {limit} MiB limit; split it")]
        ) from None
    except RefusedFile as exc:
        raise InvalidInput([Problem(path, 0, exc.strerror)]) from None
    except OSError as exc:
        raise InvalidInput([Problem(path, 0, f"cannot read: {exc.strerror}")]) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            [Problem(path, line, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x}); save as UTF-8")]
        ) from None


def _check_expansion(root: Node, path: Path) -> None:
    """Refuse documents whose aliases expand far beyond their written size, or recurse."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in sizes:
            stack.pop()
            continue
        children = _children(node)
        pending = [c for c in children if id(c) not in sizes]
        if pending and key not in open_nodes:
            open_nodes.add(key)
            stack.extend(pending)
            continue
        line = node.start_mark.line + 1
        if pending:  # a child is still open: the alias refers to its own ancestor
            raise InvalidInput([Problem(path, line, "recursive YAML alias: refused")])
        stack.pop()
        open_nodes.discard(key)
        sizes[key] = 1 + sum(sizes[id(c)] for c in children)
        if sizes[key] > len(sizes) + MAX_ALIAS_EXPANSION:
            raise InvalidInput(
                [Problem(path, line, "YAML aliases expand too far (an alias bomb?): refused")]
            )


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def build_value(node: Node, path: Path, problems: list[Problem], depth: int) -> Any:
    line = node.start_mark.line + 1
    if depth > MAX_DEPTH:
        problems.append(Problem(path, line, "YAML nesting is too deep"))
        return None
    if isinstance(node, ScalarNode):
        return _scalar(node, path, problems)
    if isinstance(node, SequenceNode):
        if node.tag != _CORE + "seq":
            problems.append(_tag_problem(node, path))
        seq = YSeq(build_value(item, path, problems, depth + 1) for item in node.value)
        seq.line = line
        seq.item_lines = [item.start_mark.line + 1 for item in node.value]
        return seq
    if isinstance(node, MappingNode):
        if node.tag != _CORE + "map":
            problems.append(_tag_problem(node, path))
        mapping = YMap()
        mapping.line = line
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _CORE + "merge":
                problems.append(
                    Problem(path, key_line, "merge keys (<<) are not supported: write fields out")
                )
                continue
            key = build_value(key_node, path, problems, depth + 1)
            if not isinstance(key, str):
                problems.append(Problem(path, key_line, f"keys must be text, not {excerpt(key)}"))
                continue
            key = sys.intern(key)  # a few field names, repeated in every entry
            if key in mapping.key_lines:
                first = mapping.key_lines[key]
                problems.append(
                    Problem(
                        path, key_line, f"duplicate key '{excerpt(key)}' (first at line {first})"
                    )
                )
                continue
            mapping.key_lines[key] = key_line
            mapping[key] = build_value(value_node, path, problems, depth + 1)
        return mapping
    problems.append(Problem(path, line, "unsupported YAML node"))
    return None


def _tag_problem(node: Node, path: Path) -> Problem:
    tag = node.tag
    if tag.startswith(_CORE):
        tag = "!!" + tag[len(_CORE) :]
    return Problem(
        path,
        node.start_mark.line + 1,
        f"YAML tag '{excerpt(tag)}' is not allowed: only plain text, numbers, booleans, lists "
        "and maps",
    )


def _scalar(node: ScalarNode, path: Path, problems: list[Problem]) -> Any:
    tag, text = node.tag, node.value
    if tag not in _SCALAR_TAGS:
        problems.append(_tag_problem(node, path))
        return text
    if tag == _CORE + "str" or tag == _CORE + "timestamp":
        return text
    kind = tag[len(_CORE) :]
    if kind == "int" and len(text) > MAX_INT_CHARS:
        # Python refuses to print an int of more than 4300 digits, and no field holds one.
        line = node.start_mark.line + 1
        shown = f"{text[:20]}…" if len(text) > 20 else text
        problems.append(
            Problem(
                path,
                line,
                f"'{shown}' ({len(text)} characters) is too long for a number: "
                "put it in quotes if it is text",
            )
        )
        return text
    try:
        if kind == "null":
            if text not in ("", "~", "null", "Null", "NULL"):
                raise ValueError
            return None
        if kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError
            return text.lower() == "true"
        return _int(text) if kind == "int" else _float(text)
    except ValueError:
        line = node.start_mark.line + 1
        problems.append(
            Problem(path, line, f"'{excerpt(text)}' is not a valid {_KIND_NAMES[kind]}")
        )
        return text


_KIND_NAMES = {
    "null": "null",
    "bool": "boolean (true or false)",
    "int": "integer",
    "float": "number",
}


def _int(text: str) -> int:
    t = text.replace("_", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    if t.startswith(("0x", "0o", "0b")):
        return sign * int(t, 0)
    return sign * int(t, 10)


def _float(text: str) -> float:
    t = text.replace("_", "").lower()
    if t.endswith(".inf"):
        return -math.inf if t.startswith("-") else math.inf
    if t.endswith(".nan"):
        return math.nan
    return float(t)
