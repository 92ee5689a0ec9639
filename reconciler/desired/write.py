"""Canonical YAML for desired-state files (`reconciler fmt`), keeping every comment.

Canonical form: keys in model order, users sorted by email, groups by name, org units by
path, bindings groups-then-users, member and address lists sorted and de-duplicated,
emails lower-case, two-space indentation, a blank line between entries of top-level lists,
and text quoted only where YAML would otherwise read it as something else. Aliases (&/*)
are written out in full.

Comments stay with what they describe: a comment line belongs to the key or list item that
follows it, an end-of-line comment to the key (or item) on its line, and comments before a
blank line at the top of a file form the file's header.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from reconciler.desired.expiry import has_ended
from reconciler.desired.load import (
    WORKSPACE_FILE,
    _load_workspace,
    _model_at,
    _models_at,
    desired_files,
)
from reconciler.desired.models import ENTRY_MODELS
from reconciler.desired.yamlread import _scalar, build_value, compose_yaml, read_text
from reconciler.files import replace_regular
from reconciler.problems import InvalidInput, Problem, not_a_directory
from reconciler.settings import Workspace

INDENT = "  "
MAX_FLOW_WIDTH = 100
# Lists written one item per line whatever their length: one member per line diffs best.
BLOCK_LISTS = {"members", "owners", "managers"}
SORTED_LISTS = {"aliases", "previous_emails", "members", "owners", "managers", "protected"}
EMAIL_KEYS = {"email", "manager", "user", "admin_subject"}
EMAIL_LISTS = {"aliases", "previous_emails", "protected"}
MEMBER_LISTS = {"members", "owners", "managers"}
ENTRY_SORT_KEYS = {"users": "email", "groups": "name", "org_units": "path"}
MODELINE = "yaml-language-server:"

_YAML11_SPECIAL = re.compile(
    r"(y|n|yes|no|on|off|true|false|null|~|[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?"
    r"|[-+]?\d[\d_]*(:[0-5]?\d)+(\.\d*)?|\d{4}-\d\d?-\d\d?.*|[-+]?\.(inf|nan)|0[xob].*)",
    re.IGNORECASE,
)
# Both used with fullmatch (`$` would also match before a final newline).
_PLAIN_SAFE = re.compile(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^\x00-\x1f\x7f]*")
_FLOW_INDICATORS = re.compile(r"[,\[\]{}]")
_resolver = VersionedResolver(version=(1, 2))


@dataclass(frozen=True)
class Pruned:
    """An entry `fmt --prune-expired` took out: its access ended (desired/expiry.py)."""

    path: Path
    line: int
    what: str  # "member x@y of group audit", "binding of user x@y"
    until: str


def format_directory(
    root: Path,
    write: bool = True,
    prune_before: date | None = None,
    pruned: list[Pruned] | None = None,
) -> list[Path]:
    """Format every desired-state file under root; return those that changed (or would).

    With `prune_before`, member entries and bindings whose `until:` day is before it are
    taken out (with their own comments), each recorded in `pruned`."""
    root = Path(root)
    problems: list[Problem] = []
    why = not_a_directory(root)
    if why:
        raise InvalidInput([Problem(root, 0, f"{why}: give the state directory")])
    workspace, _ = _load_workspace(root / WORKSPACE_FILE, problems)
    if workspace is None:
        raise InvalidInput(problems or [Problem(root / WORKSPACE_FILE, 0, "cannot read")])
    changed = []
    for path in [root / WORKSPACE_FILE, *desired_files(root, workspace, problems)]:
        try:
            text = read_text(path)
            is_workspace = path.name == WORKSPACE_FILE
            formatted = format_text(
                text,
                path,
                workspace=is_workspace,
                prune_before=None if is_workspace else prune_before,
                pruned=pruned,
            )
        except InvalidInput as exc:
            problems.extend(exc.problems)
            continue
        if formatted != text:
            changed.append(path)
            if write:
                # Never through a link: a new file renamed over this regular one (files.py).
                replace_regular(path, formatted.encode("utf-8"))
    if problems:
        raise InvalidInput(problems)
    return changed


def format_text(
    text: str,
    path: Path,
    workspace: bool = False,
    prune_before: date | None = None,
    pruned: list[Pruned] | None = None,
) -> str:
    """The canonical form of one file's text (without the entries that ended before
    `prune_before`, recorded in `pruned`)."""
    node = compose_yaml(text, path)
    if node is None:
        return _only_comments(text)
    problems: list[Problem] = []
    build_value(node, path, problems, 0)  # tags, duplicate keys, merge keys
    if problems:
        raise InvalidInput(problems)
    comments = _Comments.collect(text, node)
    writer = _Writer(comments, Workspace if workspace else None)
    if prune_before is not None:
        writer.prune = _Pruner(path, prune_before, pruned if pruned is not None else [])
    writer.header()
    writer.document(node)
    writer.trailer()
    return "".join(writer.out)


def _only_comments(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("#")]
    return "".join(ln + "\n" for ln in lines)


# -- comments --------------------------------------------------------------------------------


@dataclass
class _Comments:
    """Comments of one file, attached to anchors (mapping keys and sequence items)."""

    header: list[str] = field(default_factory=list)
    trailer: list[str] = field(default_factory=list)
    leading: dict[int, list[str]] = field(default_factory=dict)
    eol: dict[int, str] = field(default_factory=dict)

    @classmethod
    def collect(cls, text: str, root: Node) -> _Comments:
        lines = text.splitlines()
        occupied: dict[int, list[tuple[int, int]]] = {}
        anchors: list[tuple[int, int, int, bool, int]] = []  # line, col, depth, is_key, id
        for node, depth, anchor_kind in _walk(root):
            if isinstance(node, ScalarNode):
                _occupy(occupied, node, lines)
            if anchor_kind is not None:
                m = node.start_mark
                anchors.append((m.line, m.column, depth, anchor_kind == "key", id(node)))
        anchors.sort()
        by_line: dict[int, list[tuple[int, int, int, bool, int]]] = {}
        for a in anchors:
            by_line.setdefault(a[0], []).append(a)
        first_line = anchors[0][0] if anchors else len(lines)
        # Comments above the last blank line before the first key form the header.
        header_end = max((n for n in range(first_line) if not lines[n].strip()), default=-1)
        found = cls()
        cursor = 0
        for number, line in enumerate(lines):
            col = _comment_column(line, occupied.get(number, ()))
            if col is None:
                continue
            comment = line[col:].rstrip()
            if line[:col].strip():
                # End of line: the innermost key on the line, else the innermost item.
                here = by_line.get(number, [])
                keys = [a for a in here if a[3]]
                if here:
                    owner = max(keys or here, key=lambda a: a[2])
                    found.eol[owner[4]] = comment
                continue
            if number < header_end or (number < first_line and MODELINE in comment):
                found.header.append(comment)
                continue
            # A comment line belongs to the next anchor below it, the outermost on its line.
            while cursor < len(anchors) and anchors[cursor][0] <= number:
                cursor += 1
            if cursor < len(anchors):
                outer = min(by_line[anchors[cursor][0]], key=lambda a: (a[1], a[2]))
                found.leading.setdefault(outer[4], []).append(comment)
            else:
                found.trailer.append(comment)
        return found


def _walk(root: Node) -> Iterator[tuple[Node, int, str | None]]:
    stack: list[tuple[Node, int, str | None]] = [(root, 0, None)]
    seen: set[int] = set()
    while stack:
        node, depth, kind = stack.pop()
        yield node, depth, kind
        if id(node) in seen:
            continue  # an alias: its comments were taken where it was written
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for k, v in node.value:
                stack.append((k, depth + 1, "key"))
                stack.append((v, depth + 1, None))
        elif isinstance(node, SequenceNode):
            for item in node.value:
                stack.append((item, depth + 1, "item"))


def _occupy(occupied: dict[int, list[tuple[int, int]]], node: ScalarNode, lines: list[str]):
    start, end = node.start_mark, node.end_mark
    for number in range(start.line, end.line + 1):
        lo = start.column if number == start.line else 0
        hi = end.column if number == end.line else 1 << 30
        occupied.setdefault(number, []).append((lo, hi))


def _comment_column(line: str, spans) -> int | None:
    col = line.find("#")
    while col != -1:
        inside = any(lo <= col < hi for lo, hi in spans)
        if not inside and (col == 0 or line[col - 1] in " \t"):
            return col
        col = line.find("#", col + 1)
    return None


# -- writing ---------------------------------------------------------------------------------


class _Writer:
    def __init__(self, comments: _Comments, model: type[BaseModel] | None):
        self.comments = comments
        self.root_model = model
        self.out: list[str] = []
        self.prune: _Pruner | None = None

    def header(self) -> None:
        for c in self.comments.header:
            self.out.append(c + "\n")
        if self.comments.header:
            self.out.append("\n")

    def trailer(self) -> None:
        if self.comments.trailer:
            self.out.append("\n")
        for c in self.comments.trailer:
            self.out.append(c + "\n")

    def document(self, node: Node) -> None:
        if isinstance(node, MappingNode):
            self.mapping(node, (), 0, top=True)
        elif isinstance(node, SequenceNode):
            self.block_sequence(node, (), 0)
        else:
            self.out.append(self.scalar(node, ()) + "\n")

    # Mappings -----------------------------------------------------------------------------

    def mapping(self, node: MappingNode, path: tuple[str, ...], level: int, top=False) -> None:
        pairs = self.ordered_pairs(node, path)
        if not pairs:
            return
        for i, (key, value) in enumerate(pairs):
            if top and i > 0:
                self.out.append("\n")
            self.leading(key, level)
            self.pair(key, value, path, level, prefix=INDENT * level)

    def pair(self, key: ScalarNode, value: Node, path, level: int, prefix: str) -> None:
        name = str(key.value)
        sub = (*path, name)
        eol = self.eol(key)
        head = f"{prefix}{self.key_text(name)}:"
        if isinstance(value, ScalarNode):
            self.out.append(f"{head} {self.scalar(value, sub)}{eol}\n")
        elif isinstance(value, MappingNode):
            if not value.value:
                self.out.append(f"{head} {{}}{eol}\n")
            else:
                self.out.append(f"{head}{eol}\n")
                self.mapping(value, sub, level + 1)
        else:
            items = self.ordered_items(value, sub)
            flow = self.flow_list(items, sub, len(head) + 1)
            if flow is not None:
                self.out.append(f"{head} {flow}{eol}\n")
            else:
                self.out.append(f"{head}{eol}\n")
                self.block_items(items, sub, level + 1, spaced=len(path) == 0)

    def ordered_pairs(self, node: MappingNode, path: tuple[str, ...]):
        order = self.key_order(path)
        rank = {k: i for i, k in enumerate(order)}
        pairs = list(node.value)
        return sorted(
            pairs, key=lambda kv: (rank.get(str(kv[0].value), len(rank)), str(kv[0].value))
        )

    def key_order(self, path: tuple[str, ...]) -> list[str]:
        fields = [p for p in path if p != "*"]
        if self.root_model is not None:
            return _field_order(_models_at(self.root_model, tuple(fields)))
        if not fields:
            return list(ENTRY_MODELS)
        entry = ENTRY_MODELS.get(fields[0])
        if entry is None:
            return []
        model = _model_at(entry, tuple(fields[1:]))
        return list(model.model_fields) if model else []

    # Sequences ----------------------------------------------------------------------------

    def block_sequence(self, node: SequenceNode, path, level: int) -> None:
        self.block_items(self.ordered_items(node, path), path, level, spaced=False)

    def block_items(self, items: list[Node], path, level: int, spaced: bool) -> None:
        sub = (*path, "*")
        pad = INDENT * level
        for i, item in enumerate(items):
            lead = list(self.comments.leading.get(id(item), []))
            if isinstance(item, MappingNode) and item.value:
                pairs = self.ordered_pairs(item, sub)
                first_key = pairs[0][0]
                # Nothing may stand between "- " and the first key: lift its comments.
                lead += self.comments.leading.get(id(first_key), [])
                multi_line = len(pairs) > 1 or (i > 0 and _is_multi_key(items[i - 1]))
                if i > 0 and ((spaced and multi_line) or lead):
                    self.out.append("\n")
                self.out.extend(f"{pad}{c}\n" for c in lead)
                for j, (key, value) in enumerate(pairs):
                    if j > 0:
                        self.leading(key, level + 1)
                    prefix = f"{pad}- " if j == 0 else INDENT * (level + 1)
                    self.pair(key, value, sub, level + 1, prefix)
                continue
            if i > 0 and lead and spaced:
                self.out.append("\n")
            self.out.extend(f"{pad}{c}\n" for c in lead)
            eol = self.eol(item)
            if isinstance(item, ScalarNode):
                self.out.append(f"{pad}- {self.scalar(item, sub)}{eol}\n")
            elif isinstance(item, MappingNode):
                self.out.append(f"{pad}- {{}}{eol}\n")
            else:
                inner = self.ordered_items(item, sub)
                flow = self.flow_list(inner, sub, len(pad) + 2)
                if flow is not None:
                    self.out.append(f"{pad}- {flow}{eol}\n")
                else:
                    self.out.append(f"{pad}-{eol}\n")
                    self.block_items(inner, sub, level + 1, spaced=False)

    def ordered_items(self, node: SequenceNode, path: tuple[str, ...]) -> list[Node]:
        items = list(node.value)
        name = path[-1] if path else ""
        top_level_list = len(path) == 1 and self.root_model is None
        if self.prune is not None:
            items = self.prune.kept(items, path, self.comments)
        if top_level_list and name in ENTRY_SORT_KEYS:
            return sorted(items, key=lambda n: _entry_key(n, ENTRY_SORT_KEYS[name]))
        if top_level_list and name == "bindings":
            return sorted(items, key=_binding_key)
        if name in MEMBER_LISTS and any(isinstance(n, MappingNode) for n in items):
            # Dated entries among plain ones: all in the order of who they name, a plain
            # entry written twice once (a dated one is never merged: its day says something).
            unique: list[Node] = []
            plain: dict[str, Node] = {}
            for n in items:
                if isinstance(n, ScalarNode):
                    key = self._member_key(n, path)
                    if key in plain:
                        self._merge_comments(plain[key], n)
                        continue
                    plain[key] = n
                unique.append(n)
            return sorted(unique, key=lambda n: self._member_key(n, path))
        if name in SORTED_LISTS and all(isinstance(n, ScalarNode) for n in items):
            unique: dict[str, Node] = {}
            for n in items:
                text = self.scalar_value(n, path)
                key = str(text).lower()
                if key in unique:
                    # Keep the first spelling, but not the comments of the dropped copy.
                    self._merge_comments(unique[key], n)
                    continue
                unique[key] = n
            return [unique[k] for k in sorted(unique)]
        return items

    def _member_key(self, node: Node, path: tuple[str, ...]) -> str:
        if isinstance(node, ScalarNode):
            return str(self.scalar_value(node, path)).lower()
        return (_field_text(node, "email") or "").strip().lower()

    def _merge_comments(self, kept: Node, dropped: Node) -> None:
        lead = self.comments.leading.pop(id(dropped), [])
        if lead:
            self.comments.leading.setdefault(id(kept), []).extend(lead)
        eol = self.comments.eol.pop(id(dropped), None)
        if eol and id(kept) not in self.comments.eol:
            self.comments.eol[id(kept)] = eol

    def flow_list(self, items: list[Node], path, width_used: int) -> str | None:
        if not items:
            return "[]"
        name = path[-1] if path else ""
        if name in BLOCK_LISTS or (len(path) == 1 and self.root_model is None):
            return None
        if not all(isinstance(n, ScalarNode) for n in items):
            return None
        if any(id(n) in self.comments.leading or id(n) in self.comments.eol for n in items):
            return None
        text = "[" + ", ".join(self.scalar(n, (*path, "*"), flow=True) for n in items) + "]"
        return text if width_used + len(text) <= MAX_FLOW_WIDTH else None

    # Scalars and comments -----------------------------------------------------------------

    def scalar_value(self, node: ScalarNode, path: tuple[str, ...]) -> Any:
        value = _scalar(node, Path(), [])
        if isinstance(value, str) and _is_email_position(path, value):
            value = value.strip().lower()
        return value

    def scalar(self, node: Node, path: tuple[str, ...], flow: bool = False) -> str:
        if not isinstance(node, ScalarNode):
            return "null"
        return scalar_text(self.scalar_value(node, path), flow)

    def key_text(self, name: str) -> str:
        return scalar_text(name)

    def leading(self, node: Node, level: int) -> None:
        for c in self.comments.leading.get(id(node), []):
            self.out.append(f"{INDENT * level}{c}\n")

    def eol(self, node: Node) -> str:
        c = self.comments.eol.get(id(node))
        return f"  {c}" if c else ""


@dataclass
class _Pruner:
    """Takes ended entries out of member lists and `bindings` (fmt --prune-expired)."""

    path: Path
    before: date
    pruned: list[Pruned]

    def kept(self, items: list[Node], path: tuple[str, ...], comments: _Comments) -> list[Node]:
        names = [p for p in path if p != "*"]
        role = names[-1] if names else ""
        in_group = names[:1] == ["groups"] and role in MEMBER_LISTS and len(names) == 2
        if not in_group and names != ["bindings"]:
            return items
        out = []
        for item in items:
            until = _field_text(item, "until")
            if until is None or not has_ended(until, self.before):
                out.append(item)
                continue
            if in_group:
                what = f"{role[:-1]} {_field_text(item, 'email')}"
            else:
                kind = "user" if _field_text(item, "user") is not None else "group"
                what = f"binding of {kind} {_field_text(item, kind)}"
            self.pruned.append(Pruned(self.path, item.start_mark.line + 1, what, until))
            comments.leading.pop(id(item), None)
            comments.eol.pop(id(item), None)
            for key, value in item.value if isinstance(item, MappingNode) else ():
                for node in (key, value):
                    comments.leading.pop(id(node), None)
                    comments.eol.pop(id(node), None)
        return out


def _field_text(node: Node, name: str) -> str | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if k.value == name and isinstance(v, ScalarNode):
                return str(v.value)
    return None


def _is_email_position(path: tuple[str, ...], value: str) -> bool:
    names = [p for p in path if p != "*"]
    if not names:
        return False
    last = names[-1]
    in_list = path[-1] == "*"
    if in_list:
        return last in EMAIL_LISTS or (last in MEMBER_LISTS and "@" in value)
    return last in EMAIL_KEYS


def _is_multi_key(node: Node) -> bool:
    return isinstance(node, MappingNode) and len(node.value) > 1


def _entry_key(node: Node, field_name: str) -> tuple[int, str]:
    text = _field_text(node, field_name)
    return (0, text.strip().lower()) if text is not None else (1, "")


def _binding_key(node: Node) -> tuple[int, str]:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(v, ScalarNode) and k.value in ("group", "user"):
                return (0 if k.value == "group" else 1, str(v.value).strip().lower())
    return (2, "")


def scalar_text(value: Any, flow: bool = False) -> str:
    """A scalar as YAML text that reads back as the same value under YAML 1.1 and 1.2."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    text = str(value)
    if _plain_ok(text) and not (flow and _FLOW_INDICATORS.search(text)):
        return text
    return json.dumps(text, ensure_ascii=False)


def _plain_ok(text: str) -> bool:
    if not text or text != text.strip() or not _PLAIN_SAFE.fullmatch(text):
        return False
    if text[0] in "+-.0123456789":
        return False  # looks numeric (phone numbers, ids): quoting keeps it text for every reader
    if ": " in text or " #" in text or text.endswith(":"):
        return False
    if _YAML11_SPECIAL.fullmatch(text):
        return False
    tag = _resolver.resolve(ScalarNode, text, (True, False))
    return tag == "tag:yaml.org,2002:str"


def _field_order(models: list[type[BaseModel]]) -> list[str]:
    """The fields of one model in its order; of the models of a discriminated union (the
    provider kinds), all their fields with each model's order kept: kind, seed, state,
    admin_subject, ..., then the fields they share."""
    order: list[str] = []
    for model in models:
        names = [f.alias or n for n, f in model.model_fields.items()]
        for i, name in enumerate(names):
            if name not in order:
                after = [order.index(n) for n in names[i + 1 :] if n in order]
                order.insert(min(after, default=len(order)), name)
    return order
