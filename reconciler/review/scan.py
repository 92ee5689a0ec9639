"""The grants of an entry file, read line by line: ten times faster than a YAML parse, for
the shape entry files have (block style, as `reconciler fmt` writes them and people edit
them). Anything outside that shape (flow mappings, anchors, tags, multi-line or typed
scalars, tabs, several documents...) gives None, and the caller parses the YAML instead:
where the scanner answers, it answers what the parse would (a test holds it to that)."""

from __future__ import annotations

import re

GrantKey = tuple[str, str, str]
# What a file holds: each grant with its `until` (None: a plain entry, no end), and the
# groups' emails -> their Git names (a member entry may name a group by either).
Grants = dict[GrantKey, "str | None"]
Emails = dict[str, str]
FileGrants = tuple[Grants, Emails]
_LINE_BREAKS = re.compile("\r(?!\n)|[\x85\u2028\u2029]")
ROLES = {"owners": "OWNER", "managers": "MANAGER", "members": "MEMBER"}
_TOP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):\s*(?:#.*)?")
_PAIR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):(?:\s+(.*))?")
_DOUBLE = re.compile(r'"([^"\\]*)"\s*(?:#.*)?')
_SINGLE = re.compile(r"'([^']*)'\s*(?:#.*)?")
# Plain scalars YAML would read as something other than text, or that need more care.
_TYPED = re.compile(
    r"[-+]?(\.?[0-9].*|\.inf|\.nan)|~|=|null|true|false|yes|no|on|off|y|n", re.IGNORECASE
)
_INDICATORS = tuple("[]{}&*!|>%@`,?:-#'\"")


class _Unsure(Exception):
    """The line is outside the shape the scanner reads."""


_GROUPS_AT = re.compile(r"^groups:[ ]*(?:#[^\n]*)?\n", re.MULTILINE)
_NEXT_TOP = re.compile(r"\n[^ #\n]")
_ITEM_AT = "\n  - "


class ChunkCache:
    """The grants of each group of a file, scanned once per distinct text: a commit that
    changes one group of a file of thousands scans that group, not the file."""

    def __init__(self, key_of):
        self.key_of = key_of
        self._known: dict[str, FileGrants | None] = {}

    def pieces(self, text: str) -> list[tuple[str, FileGrants]] | None:
        """The file cut into pieces that hold their grants alone, each with what it grants:
        the `groups:` section cut at each item (the shape `reconciler fmt` writes: items at
        two spaces), and the rest of the file (which must grant nothing). A file without
        that section is one piece. None where any piece is outside the scanner's shape."""
        start = _GROUPS_AT.search(text)
        if start is None:
            whole = self.scan(text)
            return None if whole is None else [(text, whole)]
        body_at = start.end()
        end = _NEXT_TOP.search(text, body_at - 1)
        body_end = end.start() + 1 if end else len(text)
        body = text[body_at:body_end]
        if not body.startswith("  - "):
            whole = self.scan(text)
            return None if whole is None else [(text, whole)]
        rest = text[:body_at] + text[body_end:]
        if self.scan(rest) != ({}, {}):
            return None  # a second groups section, or a file outside the shape
        found = []
        known = self._known
        for item in body[4:].split(_ITEM_AT):
            # Keyed by the item's own text: a file of thousands of groups, read again for
            # one changed group, costs a lookup per group and a scan of that one.
            grants = known[item] if item in known else self._item(item)
            if grants is None:
                return None
            found.append((item, grants))
        return found

    def _item(self, item: str) -> FileGrants | None:
        grants = scan_grants("groups:\n  - " + item, self.key_of)
        self._known[item] = grants
        return grants

    def grants(self, text: str) -> FileGrants | None:
        """As scan_grants, read piece by piece."""
        pieces = self.pieces(text)
        if pieces is None:
            return None
        grants: Grants = {}
        emails: Emails = {}
        for _, (piece_grants, piece_emails) in pieces:
            for key, until in piece_grants.items():
                merge(grants, key, until)
            emails.update(piece_emails)
        return grants, emails

    def scan(self, text: str) -> FileGrants | None:
        if text not in self._known:
            self._known[text] = scan_grants(text, self.key_of)
        return self._known[text]


def scan_grants(text: str, key_of) -> FileGrants | None:
    """The grants (keyed by `key_of`, with their `until`) and group emails of `text`, or
    None when the file is outside the scanner's shape."""
    if _LINE_BREAKS.search(text):
        return None  # line breaks YAML knows and a split on newlines does not
    try:
        return _Scanner(key_of).run(text)
    except _Unsure:
        return None


_MISSING = object()


def merge(grants: Grants, key: GrantKey, until: str | None) -> None:
    """Add a grant: listed plainly anywhere, it has no end; else the latest `until`."""
    held = grants.get(key, _MISSING)
    if held is _MISSING:
        grants[key] = until
    elif held is not None:
        grants[key] = None if until is None else max(held, until)  # type: ignore[type-var]


class _Scanner:
    def __init__(self, key_of):
        self.key_of = key_of
        self.found: Grants = {}
        self.emails: Emails = {}
        self.email: str | None = None
        self.groups = False  # inside the top-level `groups:`
        self.item_indent: int | None = None  # the `-` of the group items
        self.key_indent: int | None = None  # the keys of the current group
        self.name: str | None = None
        self.refs: list[tuple[str, str, str | None]] = []  # (role, ref, until) of the group
        self.role: str | None = None  # the role list being read
        self.role_indent: int | None = None  # the `-` of its items
        self.skip_below: int | None = None  # a key whose nested lines are not ours
        self.entry: dict[str, str] | None = None  # a dated entry's keys so far
        self.entry_indent: int | None = None
        self.top_keys: set[str] = set()
        self.group_keys: set[str] = set()

    def run(self, text: str) -> FileGrants:
        for raw in text.split("\n"):
            line = raw.rstrip(" \r")
            if "\t" in line:
                raise _Unsure
            stripped = line.lstrip(" ")
            if not stripped or stripped.startswith("#"):
                continue
            self.line(len(line) - len(stripped), stripped)
        self.end_group()
        return self.found, self.emails

    def line(self, indent: int, text: str) -> None:
        if self.entry is not None:
            if indent == self.entry_indent:
                self.entry_key(text)
                return
            self.end_entry()
        if self.skip_below is not None:
            if indent > self.skip_below:
                _check_nested(text)
                return
            self.skip_below = None
        if indent == 0 and not text.startswith("- "):
            self.top(text)
            return
        if not self.groups:
            return  # users, bindings, org units: nothing of ours
        if self.role is not None and text.startswith("- ") and self.in_role(indent):
            self.role_item(indent, text)
            return
        self.role = None
        if text.startswith("- ") and indent == self.expected_item(indent):
            self.end_group()
            rest = text[2:].lstrip(" ")
            self.key_indent = indent + len(text) - len(rest)
            self.group_key(rest)
            return
        if indent == self.key_indent:
            self.group_key(text)
            return
        raise _Unsure

    def top(self, text: str) -> None:
        match = _TOP.fullmatch(text)
        if match is None:
            raise _Unsure  # a document marker, a directive, a flow or scalar document
        if match.group(1) in self.top_keys:
            raise _Unsure  # a repeated key: the parser's rule, not ours
        self.top_keys.add(match.group(1))
        self.end_group()
        self.groups = match.group(1) == "groups"
        self.item_indent = None

    def expected_item(self, indent: int) -> int | None:
        if self.item_indent is None:
            self.item_indent = indent
        return self.item_indent

    def in_role(self, indent: int) -> bool:
        if self.role_indent is None:
            if indent < (self.key_indent or 0):
                return False
            self.role_indent = indent
        return indent == self.role_indent

    def group_key(self, text: str) -> None:
        match = _PAIR.fullmatch(text)
        if match is None:
            raise _Unsure
        key, value = match.group(1), match.group(2)
        if key in self.group_keys:
            raise _Unsure  # a repeated key: the parser's rule, not ours
        self.group_keys.add(key)
        empty = value is None or value.lstrip().startswith("#")
        if key == "name":
            if empty:
                raise _Unsure
            self.name = _scalar(value)
        elif key == "email":
            if empty:
                raise _Unsure
            self.email = _scalar(value)  # type: ignore[arg-type]
        elif key in ROLES:
            if not empty:
                raise _Unsure  # a flow list (or a scalar): the parser reads those
            self.role, self.role_indent = ROLES[key], None
        else:
            if not empty:
                _check_value(value)  # type: ignore[arg-type]
            self.skip_below = self.key_indent

    def role_item(self, indent: int, text: str) -> None:
        rest = text[2:].lstrip(" ")
        pair = _PAIR.fullmatch(rest)
        if pair is not None and not rest.startswith(("'", '"')):
            self.entry, self.entry_indent = {}, indent + len(text) - len(rest)
            self.entry_key(rest)
            return
        assert self.role is not None
        self.refs.append((self.role, _scalar(rest), None))

    def entry_key(self, text: str) -> None:
        pair = _PAIR.fullmatch(text)
        if pair is None or pair.group(2) is None or pair.group(1) in self.entry:  # type: ignore[operator]
            raise _Unsure
        assert self.entry is not None
        if pair.group(1) != "email":
            _check_value(pair.group(2))
        self.entry[pair.group(1)] = pair.group(2)

    def end_entry(self) -> None:
        entry, self.entry = self.entry, None
        assert entry is not None and self.role is not None
        if "email" not in entry:
            raise _Unsure
        until = _day(entry["until"]) if "until" in entry else None
        self.refs.append((self.role, _scalar(entry["email"]), until))

    def end_group(self) -> None:
        if self.entry is not None:
            self.end_entry()
        if self.name is not None:
            for role, ref, until in self.refs:
                merge(self.found, self.key_of(self.name, role, ref), until)
            if self.email is not None:
                self.emails[self.email.lower()] = self.name
        self.name, self.refs, self.role, self.key_indent = None, [], None, None
        self.email = None
        self.group_keys = set()


_FLOW = re.compile(r"\[[^\[\]{}\"'&*!|>#:]*\]\s*(?:#.*)?")


def _check_value(value: str) -> None:
    """_Unsure unless the value of a key the scanner skips is one the parser reads: a
    one-line scalar of any type, or a flow list of plain scalars."""
    if value.startswith("["):
        if _FLOW.fullmatch(value) is None:
            raise _Unsure
        return
    if value.startswith(("'", '"')):
        _scalar(value)
        return
    plain = value.split(" #", 1)[0].rstrip()
    if not plain or plain.startswith(_INDICATORS) or ": " in plain or plain.endswith(":"):
        raise _Unsure


def _check_nested(text: str) -> None:
    """_Unsure unless a line nested under a skipped key is `key: value`, `key:`, `- value`
    or `- key: value`, with values the parser reads."""
    if text.startswith("- "):
        text = text[2:].lstrip(" ")
        if _PAIR.fullmatch(text) is None:
            _check_value(text)
            return
    pair = _PAIR.fullmatch(text)
    if pair is None:
        raise _Unsure
    value = pair.group(2)
    if value is not None and not value.lstrip().startswith("#"):
        _check_value(value)


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(value: str) -> str:
    """An entry's `until` as text: quoted, or a plain YYYY-MM-DD (a date to the parser)."""
    plain = value.split(" #", 1)[0].rstrip()
    if _DAY.fullmatch(plain):
        return plain
    return _scalar(value)


def _scalar(value: str) -> str:
    """A one-line scalar as text, or _Unsure when the parser would read it otherwise."""
    if value.startswith('"'):
        match = _DOUBLE.fullmatch(value)
    elif value.startswith("'"):
        match = _SINGLE.fullmatch(value)
    else:
        plain = value.split(" #", 1)[0].rstrip()
        if (
            not plain
            or plain.startswith(_INDICATORS)
            or ": " in plain
            or plain.endswith(":")
            or _TYPED.fullmatch(plain)
        ):
            raise _Unsure
        return plain
    if match is None:
        raise _Unsure
    return match.group(1)
