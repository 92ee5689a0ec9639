"""The line scanner of entry files (reconciler/review/scan.py) against the YAML parse: for
every file it answers for, it gives exactly the grants the parse gives; it answers for the
shape `reconciler fmt` writes; and it declines (None) what it does not read, so the history
parses those instead."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.review.history import key_of, parsed_grants
from reconciler.review.scan import ChunkCache, scan_grants

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "desired-state"
_yaml = YAML(typ="safe", pure=False)


def parsed(text: str):
    """What the history's YAML path gives (None: the parser refuses the file)."""
    try:
        doc = _yaml.load(text)
    except Exception:
        return None
    return parsed_grants(doc)


def entry_files() -> list[Path]:
    seeds = {"tenant.yaml", "entra-tenant.yaml", "workspace.yaml"}
    return [p for p in sorted(EXAMPLE.rglob("*.yaml")) if p.name not in seeds]


@pytest.mark.parametrize("path", entry_files(), ids=lambda p: p.relative_to(EXAMPLE).as_posix())
def test_the_example_files_are_scanned_as_parsed(path: Path):
    text = path.read_text(encoding="utf-8")
    assert scan_grants(text, key_of) == parsed(text)
    assert ChunkCache(key_of).grants(text) == parsed(text)


NAMES = st.sampled_from(["eng", "platform", "on-call", "sales-emea", "ops_team", "x"])
ADDRESSES = st.sampled_from(
    ["ana@example.com", "Jo.Lei@Example.com", "auditor@partner-firm.com", "platform", "x"]
)
# Pieces a person may write, some outside the scanner's shape (it must then decline).
ODD = st.sampled_from(
    [
        "{email: a@example.com, until: '2026-01-01'}",
        "&anchor a@example.com",
        "*anchor",
        "!!str a@example.com",
        '"quoted\\"escape@example.com"',
        "'it''s@example.com'",
        "123",
        "yes",
        "null",
        "[a@example.com]",
        "a@example.com: x",
        "",
        "- nested",
        "-dash@example.com",
        "a@example.com # a comment",
        "'single@example.com'  # quoted, then a comment",
        '"double@example.com"',
        "a@example.com:",
        "=",
        "a@example.com\r      - b@example.com",
        "a@example.com\u2028      - b@example.com",
        "email: a@example.com\n        until: a: b",
        "email: a@example.com\n        until: *nope",
        "email: a@example.com\n        until: 2026-03-31",
        "email: a@example.com\n        until: '2026-04-30'",
        "email: a@example.com\n        until: [1, {",
    ]
)


@st.composite
def entry_file(draw) -> str:
    """An entry file: groups (and sometimes users) in block style, with the variations
    people write: comments, quotes, dated entries, compact lists, other keys, odd pieces."""
    lines: list[str] = []
    if draw(st.booleans()):
        lines += ["# a comment", ""]
    if draw(st.booleans()):
        lines += ["users:", "  - email: u@example.com", "    given_name: U", "    family_name: V"]
    top = draw(st.sampled_from(["groups:", "groups:  # all of them", "groups: []"]))
    lines.append(top)
    item = draw(st.sampled_from([0, 2, 4]))
    for _ in range(draw(st.integers(0, 4))):
        pad = " " * item
        keys: list[list[str]] = []
        name = draw(NAMES)
        spelled = draw(st.sampled_from([name, repr(name), '"' + name + '"']))
        keys.append([f"name: {spelled}"])
        if draw(st.booleans()):
            keys.append([f"email: {name}@example.com"])
        if draw(st.booleans()):
            keys.append(["settings:", "  who_can_join: INVITED_CAN_JOIN", "  nested:", "    - x"])
        for attr in draw(st.lists(st.sampled_from(["owners", "managers", "members"]), max_size=3)):
            block = [f"{attr}:"]
            compact = draw(st.booleans())
            indent = "" if compact else "  "
            for _ in range(draw(st.integers(0, 4))):
                kind = draw(st.integers(0, 9))
                if kind < 5:
                    block.append(f"{indent}- {draw(ADDRESSES)}")
                elif kind < 7:
                    email, until = draw(ADDRESSES), "'2026-03-31'"
                    first, second = (
                        (f"email: {email}", f"until: {until}")
                        if draw(st.booleans())
                        else (f"until: {until}", f"email: {email}")
                    )
                    block += [f"{indent}- {first}", f"{indent}  {second}"]
                elif kind < 8:
                    block.append("  # a comment inside the list")
                else:
                    block.append(f"{indent}- {draw(ODD)}")
            keys.append(block)
        if draw(st.booleans()):
            keys.append([f"description: {draw(st.sampled_from(['Plain', 'With: colon', '1']))}"])
        order = draw(st.permutations(keys))
        first = True
        for block in order:
            for i, line in enumerate(block):
                if first and i == 0:
                    lines.append(f"{pad}- {line}")
                    first = False
                else:
                    lines.append(f"{pad}  {line}")
    if draw(st.booleans()):
        lines += ["bindings:", "  - group: eng"]
    if draw(st.integers(0, 9)) == 0:
        lines.append(draw(st.sampled_from(["---", "groups: again", "\tmembers: x", "%YAML 1.2"])))
    return "\n".join(lines) + "\n"


@settings(max_examples=400, deadline=None)
@given(entry_file())
def test_where_the_scanner_answers_it_answers_as_the_parse(text: str):
    scanned = scan_grants(text, key_of)
    if scanned is not None:
        assert scanned == parsed(text), text
    by_groups = ChunkCache(key_of).grants(text)
    if by_groups is not None:
        assert by_groups == parsed(text), text


def test_the_canonical_shape_is_scanned_not_parsed():
    text = (
        "groups:\n"
        "  - name: eng  # engineers\n"
        "    email: eng@example.com\n"
        "    owners:\n"
        "      - ana@example.com\n"
        "    members:\n"
        "      - Jo.Lei@example.com\n"
        "      - email: temp@partner.com\n"
        '        until: "2026-03-31"\n'
        "      - platform\n"
        "    settings:\n"
        "      who_can_join: INVITED_CAN_JOIN\n"
    )
    assert ChunkCache(key_of).grants(text) == scan_grants(text, key_of)
    assert scan_grants(text, key_of) == (
        {
            ("eng", "OWNER", "ana@example.com"): None,
            ("eng", "MEMBER", "jo.lei@example.com"): None,
            ("eng", "MEMBER", "temp@partner.com"): "2026-03-31",
            ("eng", "MEMBER", "platform"): None,
        },
        {"eng@example.com": "eng"},
    )


@pytest.mark.parametrize(
    "text",
    [
        "groups:\n  - name: eng\n    members: [a@example.com]\n",
        "groups:\n  - name: eng\n    members:\n      - &a a@example.com\n",
        "groups:\n  - name: eng\n    members:\n      - {email: a@example.com, until: x}\n",
        "--- \ngroups: []\n",
        "groups:\n  - name: 2024\n",
        "groups:\n  - name: eng\n    members:\n      - a@example.com\n  continued\n",
        "groups:\n  - name: eng\n    members:\n      - a\n    members:\n      - b\n",
    ],
    ids=["flow list", "anchor", "flow map", "document marker", "typed name", "continued", "dup"],
)
def test_what_it_does_not_read_it_leaves_to_the_parse(text: str):
    assert scan_grants(text, key_of) is None
    assert ChunkCache(key_of).grants(text) is None
