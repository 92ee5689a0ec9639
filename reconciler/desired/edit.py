"""Minimal edits to desired-state files: change a field, add a field, append an entry.

Edits splice the file's text at the positions the YAML parser reports, so every byte outside
an edited value (comments, order, quoting, blank lines of untouched entries) stays the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.desired.models import ENTRY_MODELS
from reconciler.desired.write import BLOCK_LISTS, MAX_FLOW_WIDTH, format_text, scalar_text
from reconciler.desired.yamlread import build_value, compose_yaml
from reconciler.problems import InvalidInput, Problem

INDENT = "  "


@dataclass
class _Splice:
    start: int
    end: int
    text: str


class FileEdit:
    """Pending edits to one file; `text()` returns the result."""

    def __init__(self, path: Path, text: str | None = None):
        self.path = path
        self.original = text if text is not None else _read(path)
        self.root = compose_yaml(self.original, path) if self.original.strip() else None
        self._starts = [0]
        for i, ch in enumerate(self.original):
            if ch == "\n":
                self._starts.append(i + 1)
        self._splices: list[_Splice] = []
        self._appended: dict[str, list[dict[str, Any]]] = {}

    @property
    def created(self) -> bool:
        return not self.original.strip()

    # -- reading ---------------------------------------------------------------------------

    def entries(self, key: str) -> list[MappingNode]:
        """The mapping nodes of the entries under a top-level key."""
        seq = self._top(key)
        if not isinstance(seq, SequenceNode):
            return []
        return [n for n in seq.value if isinstance(n, MappingNode)]

    @staticmethod
    def scalar(entry: MappingNode, field: str) -> Any:
        for k, v in entry.value:
            if k.value == field and isinstance(v, ScalarNode):
                return v.value
        return None

    # -- editing ---------------------------------------------------------------------------

    def set_field(self, entry: MappingNode, field: str, value: Any) -> None:
        """Give `field` a new value (None removes the field)."""
        if entry.flow_style:
            raise ValueError("flow-style entries are rewritten whole, not edited")
        for k, v in entry.value:
            if k.value != field:
                continue
            if value is None:
                self._remove_pair(entry, k, v)
            else:
                self._replace_value(field, k, v, value)
            return
        if value is not None:
            self._add_pair(entry, field, value)

    def set_map(self, entry: MappingNode, field: str, value: dict[str, Any]) -> None:
        """Make the map `field` (e.g. a group's `settings:`) hold exactly `value` (empty:
        remove the field). A block map is edited key by key, so its untouched keys and their
        comments stay as they are; a missing or flow-style map is written whole."""
        if entry.flow_style:
            raise ValueError("flow-style entries are rewritten whole, not edited")
        node = next((v for k, v in entry.value if k.value == field), None)
        if not value or not isinstance(node, MappingNode) or node.flow_style or not node.value:
            self.set_field(entry, field, dict(value) or None)
            return
        have = {k.value: build_value(v, self.path, [], 0) for k, v in node.value}
        for key in have.keys() - value.keys():
            self.set_field(node, key, None)
        for key, v in value.items():
            if key not in have or have[key] != v or type(have[key]) is not type(v):
                self.set_field(node, key, v)

    def append_entry(self, key: str, data: dict[str, Any]) -> None:
        """Add an entry at the end of the top-level list `key` (created if missing)."""
        self._appended.setdefault(key, []).append(data)

    def text(self) -> str:
        out = self.original
        # From the end backwards; of two insertions at one place, the later goes in first so
        # that the fields come out in the order they were set.
        order = sorted(enumerate(self._splices), key=lambda p: (p[1].start, p[1].end, p[0]))
        for _, s in reversed(order):
            out = out[: s.start] + s.text + out[s.end :]
        if self._appended:
            out = self._with_appended(out)
        if self.created:
            out = format_text(out, self.path)
        elif "\r\n" in self.original and "\n" not in self.original.replace("\r\n", ""):
            out = re.sub(r"(?<!\r)\n", "\r\n", out)  # new lines end as the file's lines do
        return out

    # -- internals -------------------------------------------------------------------------

    def _top(self, key: str) -> Node | None:
        if not isinstance(self.root, MappingNode):
            return None
        for k, v in self.root.value:
            if k.value == key:
                return v
        return None

    def _offset(self, mark) -> int:
        return self._starts[mark.line] + mark.column

    def _line_start(self, line: int) -> int:
        return self._starts[line] if line < len(self._starts) else len(self.original)

    def _replace_value(self, field: str, key: ScalarNode, value_node: Node, value: Any) -> None:
        column = key.start_mark.column
        if isinstance(value, (list, tuple)) and (
            isinstance(value_node, SequenceNode) and not value_node.flow_style
        ):
            # A block list: replace its lines with the new list, one item per line.
            start = self._line_start(key.start_mark.line)
            end = self._line_start(_last_line(value_node) + 1)
            self._splices.append(_Splice(start, end, _pair_text(field, value, column)))
            return
        rendered = _inline_value(field, value, column)
        if rendered is None:  # a long list: write the pair as a block
            start = self._line_start(key.start_mark.line)
            end = self._line_start(_last_line(value_node) + 1)
            self._splices.append(_Splice(start, end, _pair_text(field, value, column)))
            return
        start, end = self._offset(value_node.start_mark), self._offset(value_node.end_mark)
        if isinstance(value_node, ScalarNode) and value_node.style in ("|", ">"):
            # A block scalar ends at the start of the line after its text: keep that newline
            # (and any blank lines it took in) so the next key stays on its own line.
            while end > start and self.original[end - 1] in " \t\r\n":
                end -= 1
        if isinstance(value_node, ScalarNode) and value_node.value == "" and start == end:
            rendered = " " + rendered if self.original[start - 1 : start] == ":" else rendered
        self._splices.append(_Splice(start, end, rendered))

    def _remove_pair(self, entry: MappingNode, key: ScalarNode, value_node: Node) -> None:
        start = self._line_start(key.start_mark.line)
        end = self._line_start(max(_last_line(value_node), key.start_mark.line) + 1)
        following = [k for k, _ in entry.value if k.start_mark.line > key.start_mark.line]
        if self.original[start : self._offset(key.start_mark)].strip() and following:
            # The pair shares its line with the entry's "- ": the next key moves up to it.
            start, end = self._offset(key.start_mark), self._offset(following[0].start_mark)
        self._splices.append(_Splice(start, end, ""))

    def _add_pair(self, entry: MappingNode, field: str, value: Any) -> None:
        column = entry.value[0][0].start_mark.column
        at = self._line_start(_last_line(entry) + 1)
        text = _pair_text(field, value, column)
        if at == len(self.original) and not self.original.endswith("\n"):
            text = "\n" + text
        self._splices.append(_Splice(at, at, text))

    def _with_appended(self, text: str) -> str:
        for key in [k for k in ENTRY_MODELS if k in self._appended]:
            items = "".join(_entry_text(data, 1) for data in self._appended[key])
            root = compose_yaml(text, self.path) if text.strip() else None
            name, seq = None, None
            if isinstance(root, MappingNode):
                for k, v in root.value:
                    if k.value == key:
                        name, seq = k, v
            starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]
            if isinstance(seq, SequenceNode) and not seq.flow_style and seq.value:
                dash = seq.start_mark.column  # the first item's "-"
                items = "".join(_entry_text(d, 0, dash) for d in self._appended[key])
                at = _at_line(starts, _last_line(seq) + 1, text)
                if not text[:at].endswith("\n"):
                    items = "\n" + items
                text = text[:at] + items + text[at:]
            elif name is not None and seq is not None and _empty(seq):
                # `key: []` or `key:` alone: the list starts here, in block style.
                column = name.start_mark.column
                items = "".join(
                    _entry_text(d, 0, column + len(INDENT)) for d in self._appended[key]
                )
                start = starts[name.start_mark.line] + column
                end = _at_line(starts, max(_last_line(seq), name.start_mark.line) + 1, text)
                text = text[:start] + f"{key}:\n{items}" + text[end:]
            elif name is not None and seq is not None:
                raise InvalidInput(
                    [
                        Problem(
                            self.path,
                            name.start_mark.line + 1,
                            f"'{key}' is not a block list, so entries cannot be appended to it: "
                            "write it one '- ' entry per line",
                        )
                    ]
                )
            else:
                if text and not text.endswith("\n"):
                    text += "\n"
                if text.strip():
                    text += "\n"
                text += f"{key}:\n{items}"
        return text


def _at_line(starts: list[int], line: int, text: str) -> int:
    """The offset where a line starts (the end of the text past its last line)."""
    return starts[line] if line < len(starts) else len(text)


def _empty(node: Node) -> bool:
    """An empty list (`[]`) or no value at all (`key:`, `key: ~`, `key: null`)."""
    if isinstance(node, SequenceNode):
        return not node.value
    return isinstance(node, ScalarNode) and not node.style and node.value in ("", "~", "null")


def _last_line(node: Node) -> int:
    """The last line (0-based) holding any of the node's own text."""
    if isinstance(node, ScalarNode) or node.flow_style or not node.value:
        mark = node.end_mark
        # A plain scalar ends where its text ends; a flow collection right after its bracket.
        return mark.line if mark.column else max(mark.line - 1, node.start_mark.line)
    last = node.value[-1]
    if isinstance(node, MappingNode):
        key, value = last
        return max(_last_line(key), _last_line(value))
    return _last_line(last)


def _read(path: Path) -> str:
    # As bytes, not text: text mode would turn CRLF into LF, and the write change every line.
    return path.read_bytes().decode("utf-8") if path.exists() else ""


def _inline_value(field: str, value: Any, column: int) -> str | None:
    if isinstance(value, dict):
        return None if value else "{}"  # a map is written as a block, one key per line
    if isinstance(value, (list, tuple)):
        if field in BLOCK_LISTS and value:
            return None
        flow = "[" + ", ".join(scalar_text(v, flow=True) for v in value) + "]"
        return flow if column + len(field) + 2 + len(flow) <= MAX_FLOW_WIDTH else None
    return scalar_text(value)


def _pair_text(field: str, value: Any, column: int) -> str:
    pad = " " * column
    inline = _inline_value(field, value, column)
    if inline is not None:
        return f"{pad}{field}: {inline}\n"
    if isinstance(value, dict):
        inner = column + len(INDENT)
        return f"{pad}{field}:\n" + "".join(_pair_text(k, v, inner) for k, v in value.items())
    items = "".join(f"{pad}{INDENT}- {scalar_text(v)}\n" for v in value)
    return f"{pad}{field}:\n{items}"


def _entry_text(data: dict[str, Any], level: int, dash_column: int | None = None) -> str:
    """One list entry in canonical style; keys in the order given."""
    dash = " " * (dash_column if dash_column is not None else len(INDENT) * level)
    column = len(dash) + 2
    lines = []
    for i, (field, value) in enumerate(data.items()):
        pair = _pair_text(field, value, column)
        if i == 0:
            pair = dash + "- " + pair[column:]
        lines.append(pair)
    return "".join(lines)
