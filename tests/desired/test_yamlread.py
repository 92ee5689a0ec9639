"""Safe located YAML reading."""

import gc
from pathlib import Path

import pytest

from reconciler.desired import yamlread
from reconciler.desired.yamlread import YMap, YSeq, parse_yaml, read_yaml
from reconciler.problems import InvalidInput

P = Path("f.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidInput) as exc:
        parse_yaml(text, P)
    return [p.render() for p in exc.value.problems]


def test_values_keep_their_lines():
    doc = parse_yaml("users:\n  - email: a@x.com\n    given_name: A\n  - email: b@x.com\n", P)
    assert isinstance(doc, YMap) and doc.key_lines == {"users": 1}
    users = doc["users"]
    assert isinstance(users, YSeq) and users.item_lines == [2, 4]
    assert users[0].key_lines == {"email": 2, "given_name": 3}


def test_scalars_follow_yaml_1_2_core_schema():
    doc = parse_yaml("a: yes\nb: 0x1F\nc: ~\nd: true\ne: 1_000\nf: -.inf\ng: 2024-01-01\n", P)
    assert doc == {
        "a": "yes",
        "b": 31,
        "c": None,
        "d": True,
        "e": 1000,
        "f": float("-inf"),
        "g": "2024-01-01",
    }


def test_empty_document_is_none():
    assert parse_yaml("# only a comment\n", P) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\na: 2\n", "f.yaml:2: duplicate key 'a' (first at line 1)"),
        ("<<: {a: 1}\n", "f.yaml:1: merge keys (<<) are not supported"),
        ("a: !!python/object:os.system x\n", "f.yaml:1: YAML tag '!!python/object:os.system'"),
        ("a: !custom x\n", "f.yaml:1: YAML tag '!custom' is not allowed"),
        ("a: !!binary aGk=\n", "f.yaml:1: YAML tag '!!binary' is not allowed"),
        ("a: &x [*x]\n", "f.yaml:1: recursive YAML alias"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2: YAML syntax: more than one YAML document"),
        ("a: [1\n", "f.yaml:2: YAML syntax:"),
        ("? [1, 2]\n: x\n", "f.yaml:1: keys must be text"),
    ],
)
def test_refused_yaml(text, expected):
    assert any(line.startswith(expected) for line in problems(text)), problems(text)


def test_alias_bomb_fails_fast():
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        name, prev = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    found = problems("\n".join(lines) + "\n")
    assert any("alias bomb" in p for p in found)


def test_honest_aliases_are_allowed():
    doc = parse_yaml("base: &b [x@y.com, z@y.com]\nother: *b\n", P)
    assert doc["other"] == ["x@y.com", "z@y.com"]


def test_deep_nesting_is_refused():
    assert any("too deep" in p for p in problems("[" * 3000 + "]" * 3000))


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"users:\n  - email: caf\xe9@x.com\n")
    with pytest.raises(InvalidInput) as exc:
        read_yaml(path)
    (p,) = exc.value.problems
    assert p.line == 2 and "not valid UTF-8 (byte 0xe9)" in p.message


def test_huge_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlread, "MAX_FILE_BYTES", 100)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 200 + "\n")
    with pytest.raises(InvalidInput) as exc:
        read_yaml(path)
    assert "over the 0 MiB limit" in exc.value.problems[0].message


def test_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    assert read_yaml(path) == {"a": 1}


def _parser_objects() -> tuple[int, int]:
    """Loaders alive, and classes (ruamel's YAML() makes a loader class per call)."""
    objects = gc.get_objects()
    loaders = sum(type(o).__name__ in ("_CoreLoader", "XLoader") for o in objects)
    return loaders, sum(isinstance(o, type) for o in objects)


def test_nothing_of_the_parser_outlives_a_parse_with_the_collector_paused():
    # Loading a state directory pauses the cyclic collector; each file's loader (with its
    # copy of the whole text) must still go as soon as the file is parsed, and no class may
    # pile up per file (100k one-user files would keep 100k of them).
    gc.collect()
    before = _parser_objects()
    gc.disable()
    try:
        docs = [parse_yaml("users:\n  - email: a@x.com\n", P) for _ in range(3)]
        assert _parser_objects() == before
    finally:
        gc.enable()
    assert docs[0] == {"users": [{"email": "a@x.com"}]}


def test_parsed_maps_are_lean():
    # One YMap per entry at 100k users: no instance dict, and the field names shared.
    doc = parse_yaml("users:\n  - email: a@x.com\n  - email: b@x.com\n", P)
    first, second = doc["users"]
    assert not hasattr(first, "__dict__") and not hasattr(doc["users"], "__dict__")
    (k1,), (k2,) = first.keys(), second.keys()
    assert k1 is k2


def test_without_the_c_parser_the_pure_python_one_reads_the_same(monkeypatch):
    # ruamel.yaml.clib is not installed everywhere (PyPy): the same values, lines and error
    # lines (the two parsers word some syntax errors differently).
    text = "users:\n  - email: a@x.com\n    n: 0x1F\n  - email: b@x.com\n"
    with_c = parse_yaml(text, P)
    broken = problems("a: [1, 2\n")
    monkeypatch.setattr(yamlread, "CParser", None)
    pure = parse_yaml(text, P)
    assert pure == with_c and pure["users"].item_lines == with_c["users"].item_lines == [2, 4]
    (pure_broken,) = problems("a: [1, 2\n")
    assert pure_broken.startswith("f.yaml:2: YAML syntax: ") and broken[0].startswith(
        "f.yaml:2: YAML syntax: "
    )
