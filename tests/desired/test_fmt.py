"""`reconciler fmt`: canonical, idempotent, comment-keeping YAML."""

import random
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.desired import load_desired
from reconciler.desired.write import format_directory, format_text, scalar_text
from reconciler.problems import InvalidInput

P = Path("users.yaml")
WORKSPACE = (
    "directory:\n  domains: [example.com]\n\nownership:\n  id: acme/identity\n\n"
    "provider:\n  kind: emulator\n"
)


def comments(text: str) -> Counter:
    return Counter(m.group(0).rstrip() for m in re.finditer(r"(?<!\S)#[^\n]*", text))


def test_sorts_entries_keys_and_lists_and_lowercases_emails():
    text = (
        "bindings:\n  - user: B@example.com\n  - group: all\n"
        "users:\n"
        "  - given_name: Zed\n    family_name: Z\n    email: Zed@Example.com\n"
        "    aliases: [z2@example.com, Z1@example.com, z1@example.com]\n"
        "  - email: amy@example.com\n    family_name: A\n    given_name: Amy\n"
    )
    assert format_text(text, P) == (
        "users:\n"
        "  - email: amy@example.com\n    given_name: Amy\n    family_name: A\n"
        "\n"
        "  - email: zed@example.com\n    given_name: Zed\n    family_name: Z\n"
        "    aliases: [z1@example.com, z2@example.com]\n"
        "\n"
        "bindings:\n  - group: all\n  - user: b@example.com\n"
    )


def test_member_lists_are_one_per_line_and_keep_group_names():
    text = "groups:\n  - name: eng\n    members: [Platform, b@example.com, a@partner.com]\n"
    assert format_text(text, P) == (
        "groups:\n  - name: eng\n    members:\n      - a@partner.com\n      - b@example.com\n"
        "      - Platform\n"
    )


def test_comments_travel_with_their_entries():
    text = (
        "# yaml-language-server: $schema=../schemas/desired-state.schema.json\n"
        "users:\n"
        "  # the last one\n"
        "  - email: z@example.com  # zed\n"
        "    given_name: Zed\n"
        "    # family comes later\n"
        "    family_name: Z\n"
        "  # the first one\n"
        "  - email: a@example.com\n"
        "    given_name: Amy  # short for Amelia\n"
        "    family_name: A\n"
        "# the end\n"
    )
    assert format_text(text, P) == (
        "# yaml-language-server: $schema=../schemas/desired-state.schema.json\n"
        "\n"
        "users:\n"
        "  # the first one\n"
        "  - email: a@example.com\n"
        "    given_name: Amy  # short for Amelia\n"
        "    family_name: A\n"
        "\n"
        "  # the last one\n"
        "  - email: z@example.com  # zed\n"
        "    given_name: Zed\n"
        "    # family comes later\n"
        "    family_name: Z\n"
        "\n"
        "# the end\n"
    )


def test_header_before_a_blank_line_stays_on_top():
    text = "# Acme people\n\nusers:\n  - email: a@example.com\n"
    assert format_text(text, P).startswith("# Acme people\n\nusers:\n")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("jo@example.com", "jo@example.com"),
        ("E-1042", "E-1042"),
        ("1042", '"1042"'),
        ("+1 555 0100", '"+1 555 0100"'),
        ("yes", '"yes"'),
        ("null", '"null"'),
        ("2024-01-01", '"2024-01-01"'),
        ("12:30", '"12:30"'),
        ("a: b", '"a: b"'),
        ("R&D #1", '"R&D #1"'),
        ("@home", '"@home"'),
        ("two\nlines", '"two\\nlines"'),
        ("O'Neil", "O'Neil"),
        ("", '""'),
        (" padded", '" padded"'),
    ],
)
def test_scalars_are_quoted_only_when_needed(value, text):
    assert scalar_text(value) == text


def test_unparseable_file_is_refused_with_location():
    with pytest.raises(InvalidInput) as exc:
        format_text("users:\n  - email: [\n", P)
    assert exc.value.problems[0].render().startswith("users.yaml:")


def test_check_names_files_and_exits_1(tmp_path, monkeypatch, capsys):
    (tmp_path / "workspace.yaml").write_text(WORKSPACE)
    (tmp_path / "users.yaml").write_text("users:\n- email: B@example.com\n  given_name: B\n")
    before = (tmp_path / "users.yaml").read_text()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["fmt", ".", "--check"])
    assert exc.value.code == 1
    out = capsys.readouterr().out
    assert "would reformat users.yaml" in out and "workspace.yaml" not in out
    assert (tmp_path / "users.yaml").read_text() == before
    with pytest.raises(SystemExit) as exc:
        main(["fmt", "."])
    assert exc.value.code == 0
    with pytest.raises(SystemExit) as exc:
        main(["fmt", ".", "--check"])
    assert exc.value.code == 0
    assert "All files are in canonical form." in capsys.readouterr().out


# -- property: idempotent, keeps every comment, keeps the meaning ----------------------------


def _random_state(rng: random.Random) -> tuple[str, str]:
    """A random valid state with comments, styles and spellings all over the place."""
    n_users = rng.randint(1, 12)
    emails = [f"user{i}@example.com" for i in range(n_users)]
    lines = [f"# file header {rng.randint(0, 99)}", ""] if rng.random() < 0.5 else []

    def cmt(tag: str) -> str:
        return f"  # {tag}" if rng.random() < 0.3 else ""

    def spell(email: str) -> str:
        return email.upper() if rng.random() < 0.2 else email

    def listing(items: list[str], indent: str, tag: str) -> list[str]:
        if rng.random() < 0.5:
            return [f"[{', '.join(items)}]{cmt(tag)}"]
        return [""] + [f"{indent}- {x}{cmt(f'{tag} {x}')}" for x in items]

    sections = ["users", "groups", "bindings"]
    rng.shuffle(sections)
    for section in sections:
        if rng.random() < 0.3:
            lines.append(f"# before {section}")
        lines.append(f"{section}:{cmt(section)}")
        if section == "users":
            order = list(range(n_users))
            rng.shuffle(order)
            for i in order:
                if rng.random() < 0.4:
                    lines.append(f"  # about user {i}")
                fields = [
                    f"email: {spell(emails[i])}{cmt(f'email {i}')}",
                    f"given_name: Given{i}{cmt(f'given {i}')}",
                    f"family_name: Family{i}",
                ]
                if rng.random() < 0.5:
                    fields.append(f'title: "Engineer {i}"')
                if rng.random() < 0.5:
                    aliases = [spell(f"alias{i}.{k}@example.com") for k in range(rng.randint(0, 3))]
                    head, *rest = listing(aliases, "      ", f"aliases {i}")
                    fields.append(f"aliases: {head}" + "".join("\n" + r for r in rest if r))
                rng.shuffle(fields)
                for j, f in enumerate(fields):
                    if j > 0 and rng.random() < 0.15:
                        lines.append(f"    # before field {i}.{j}")
                    lines.append(("  - " if j == 0 else "    ") + f)
                if rng.random() < 0.2:
                    lines.append("")
        elif section == "groups":
            members = [*rng.sample(emails, rng.randint(1, n_users)), "ext@partner.com"]
            head, *rest = listing([spell(m) for m in members], "      ", "member")
            lines.append("  - name: everyone")
            lines.append("    email: everyone@example.com" + cmt("group email"))
            lines.append(f"    members: {head}" + "".join("\n" + r for r in rest if r))
        else:
            bindings = ["  - group: everyone" + cmt("binding group")]
            bindings += [
                f"  - user: {spell(e)}" for e in rng.sample(emails, rng.randint(0, min(2, n_users)))
            ]
            rng.shuffle(bindings)
            lines.extend(bindings)
    if rng.random() < 0.3:
        lines.append("# trailing comment")
    return "\n".join(lines) + "\n", WORKSPACE


def _state_without_origins(root: Path):
    state = load_desired(root).state
    return (
        {k: replace(u, origin=None) for k, u in state.users.items()},
        {k: replace(g, origin=None) for k, g in state.groups.items()},
    )


@pytest.mark.parametrize("seed", range(40))
def test_fmt_is_idempotent_keeps_comments_and_meaning(seed, tmp_path):
    text, workspace = _random_state(random.Random(seed))
    (tmp_path / "workspace.yaml").write_text(workspace)
    (tmp_path / "people.yaml").write_text(text)
    before = _state_without_origins(tmp_path)

    format_directory(tmp_path)
    once = (tmp_path / "people.yaml").read_text()
    assert comments(once) == comments(text), once
    assert _state_without_origins(tmp_path) == before
    assert format_directory(tmp_path) == []
    assert (tmp_path / "people.yaml").read_text() == once
