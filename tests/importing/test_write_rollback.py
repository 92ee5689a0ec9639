"""An import whose result would not validate writes nothing: every file is put back."""

from pathlib import Path

import pytest

from reconciler.commands.importing import ImportReport, write_edits
from reconciler.desired.edit import FileEdit
from reconciler.problems import InvalidInput, Problem


def test_a_failed_check_restores_edited_files_and_removes_new_ones(tmp_path: Path):
    existing = tmp_path / "users.yaml"
    original = "users:\n  - email: a@example.com  # keep me\n    given_name: A\n"
    existing.write_text(original)
    edit = FileEdit(existing)
    edit.set_field(edit.entries("users")[0], "given_name", "Changed")
    new = tmp_path / "imported.yaml"
    created = FileEdit(new)
    created.append_entry("users", {"email": "b@example.com", "given_name": "B"})
    report = ImportReport()

    def check():
        assert "Changed" in existing.read_text() and new.exists()  # written before checking
        raise InvalidInput([Problem(new, 1, "broken")])

    with pytest.raises(InvalidInput):
        write_edits({existing: edit, new: created}, report, check=check)
    assert existing.read_text() == original
    assert not new.exists()
    assert report.files == []


def test_a_passing_check_keeps_the_files(tmp_path: Path):
    new = tmp_path / "imported.yaml"
    created = FileEdit(new)
    created.append_entry("bindings", {"user": "b@example.com"})
    report = ImportReport()
    write_edits({new: created}, report, check=lambda: None)
    assert report.files == [new] and "b@example.com" in new.read_text()
