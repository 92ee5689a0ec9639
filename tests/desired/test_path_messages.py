"""Paths in messages: what is there when it is not what was asked for (a device, a
directory, a named pipe, nothing), and names with control characters shown escaped, never
reaching the terminal raw. Through the CLI, in-process; every case exits 1 without a
traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_support import JO, WORKSPACE, write_state

from reconciler.cli import main

# An escape sequence that would clear the screen, a title change ended by BEL, and CSI (C1).
CONTROLS = "\x1b[2J\x1b]0;owned\x07\x9b31m"
ESCAPED = "\\x1b[2J\\x1b]0;owned\\x07\\x9b31m"


def run(capsys, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as ended:
        main([str(a) for a in args])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err
    return int(ended.value.code or 0), err


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return write_state(tmp_path / "state", {"workspace.yaml": WORKSPACE, "users.yaml": JO})


@pytest.mark.parametrize("command", ["validate", "plan", "fmt", "apply"])
def test_a_device_given_as_the_state_directory_is_named_as_one(capsys, command):
    code, err = run(capsys, command, os.devnull)
    assert code == 1
    assert f"{os.devnull}: is a device, not a directory: give the state directory" in err


@pytest.mark.parametrize("command", ["validate", "fmt", "apply"])
def test_a_missing_state_directory_is_not_found(capsys, tmp_path, command):
    code, err = run(capsys, command, tmp_path / "nope")
    assert code == 1
    assert "nope: not found: give the state directory" in err


def test_a_named_pipe_given_as_the_state_directory_is_named_as_one(capsys, tmp_path):
    os.mkfifo(tmp_path / "pipe")
    code, err = run(capsys, "validate", tmp_path / "pipe")
    assert code == 1
    assert "pipe: is a named pipe, not a directory" in err


def test_a_workspace_yaml_that_is_a_directory_is_named_as_one(capsys, tmp_path):
    (tmp_path / "workspace.yaml").mkdir()
    code, err = run(capsys, "validate", tmp_path)
    assert code == 1
    assert "workspace.yaml: is a directory, not a file: a state directory needs" in err


@pytest.mark.parametrize("option", ["--audit-log", "--password-file", "--result-file"])
def test_an_apply_output_file_that_is_a_directory_is_named_as_one(capsys, state, option):
    code, err = run(capsys, "apply", state, option, state.parent)
    assert code == 1
    assert f"Invalid value for '{option}'" in err and "is a directory" in err


def test_a_saved_plan_path_that_is_a_directory_without_state_says_so(capsys, tmp_path):
    """A directory is taken for a state directory; one without workspace.yaml says so."""
    (tmp_path / "plans").mkdir()
    code, err = run(capsys, "apply", tmp_path / "plans")
    assert code == 1
    assert "plans/workspace.yaml: not found: a state directory needs workspace.yaml" in err


def test_control_characters_in_a_state_directory_name_are_escaped(capsys, tmp_path):
    code, err = run(capsys, "validate", tmp_path / f"state{CONTROLS}")
    assert code == 1
    assert f"state{ESCAPED}: not found" in err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err


def test_control_characters_in_a_file_name_are_escaped_in_problems(capsys, state):
    (state / f"more{CONTROLS}.yaml").write_text("users: 5\n")
    code, err = run(capsys, "validate", state)
    assert code == 1
    assert f"more{ESCAPED}.yaml" in err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err


def test_control_characters_in_a_saved_plan_name_are_escaped(capsys, tmp_path):
    plan = tmp_path / f"plan{CONTROLS}.json"
    plan.write_text('{"x": 1}')
    code, err = run(capsys, "apply", plan)
    assert code == 1
    assert f"plan{ESCAPED}.json: not a plan file" in err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err


def test_control_characters_in_an_option_path_are_escaped(capsys, state):
    odd = state.parent / f"dir{CONTROLS}"
    odd.mkdir()
    code, err = run(capsys, "plan", state, "--out", odd)
    assert code == 1
    assert f"dir{ESCAPED}' is a directory" in err
    assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err
