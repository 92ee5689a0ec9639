"""`import --file` takes only a file the state directory loads as desired state: entries
written to the emulator's seed, outside the directory, to a hidden, excluded or non-YAML
file would be reported imported and then never planned. Such a target is refused (exit 1)
before Google is read, and nothing is written anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import cli, copy_example, user_entry


def files_under(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("tenant.yaml", "is the emulator's tenant (provider.seed)"),
        ("./tenant.yaml", "is the emulator's tenant (provider.seed)"),
        ("../imported.yaml", "is outside the state directory"),
        ("users/../../imported.yaml", "is outside the state directory"),
        ("{outside}", "is outside the state directory"),
        (".imported.yaml", "is hidden (a name that starts with '.')"),
        (".reconciler/imported.yaml", "is hidden (a name that starts with '.')"),
        ("users/.drafts/imported.yaml", "is hidden (a name that starts with '.')"),
        ("notes.txt", "is not a .yaml or .yml file"),
        ("users", "is not a .yaml or .yml file"),
        ("docs/imported.yaml", "matches exclude 'docs/*.yaml' of workspace.yaml"),
        ("workspace.yaml", "is the settings file"),
    ],
)
def test_a_target_the_directory_does_not_load_is_refused(tmp_path, capsys, target, why):
    root = copy_example(tmp_path / "state")
    with (root / "workspace.yaml").open("a", encoding="utf-8") as ws:
        ws.write("exclude: [docs/*.yaml]\n")
    target = target.format(outside=tmp_path / "elsewhere" / "imported.yaml")
    before = files_under(tmp_path)

    run = cli(capsys, "import", root, "--file", target)

    assert run.code == 1, run.out + run.err
    assert f"Error: import --file: '{target}' {why}, which the state directory does not " in (
        run.err
    )
    assert "nothing was imported" in run.err and "Traceback" not in run.err
    assert "Imported" not in run.out and "wrote" not in run.out
    # Nothing written, not even the embedded emulator's state: Google was never read.
    assert files_under(tmp_path) == before


def test_a_new_file_in_a_subfolder_is_a_fine_target(tmp_path, capsys):
    root = copy_example(tmp_path / "state")
    run = cli(capsys, "import", root, "--file", "people/imported.yaml")
    assert run.code == 0, run.err
    assert "wrote people/imported.yaml" in run.out.replace(str(root) + "/", "")
    imported = root / "people" / "imported.yaml"
    assert "bindings:" in imported.read_text(encoding="utf-8")
    # The directory loads it: what was imported is desired state now.
    assert user_entry(root, "info@example.com").given_name == "Acme"
