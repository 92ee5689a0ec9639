"""Every part of a state directory is read, or the run stops: a folder or file that cannot be
read is an error, never an absence (its users would look unbound, and be suspended), and only
regular files inside the directory are read or written. Symbolic links (to a file or folder
outside, to /dev/zero, to a FIFO, in a loop) are refused, not followed, and no error quotes
more than a short, escaped excerpt of what a file holds.

Symbolic links and FIFOs cannot live in Git as corpus fixtures, so these tests build them in
temporary folders. The tests run as root in CI, where `chmod 000` does not stop a read: an
unreadable folder is made by refusing os.scandir for it (the call every directory walk makes);
the real `chmod` test runs where it can (as another user) and says why it skips otherwise."""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import threading
from pathlib import Path

import children
import pytest
from apply.support import Run, child_env, reconciler_command

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]

from reconciler.desired.load import LOCAL_STATE_DIR

EXAMPLE_WORKSPACE = Path(__file__).resolve().parents[2] / "examples/desired-state/workspace.yaml"
# The line of `provider.seed` in the example's workspace.yaml, where its problems point.
SEED_LINE = next(
    n
    for n, line in enumerate(EXAMPLE_WORKSPACE.read_text(encoding="utf-8").splitlines(), 1)
    if line.strip().startswith("seed:")
)

SECRET_LINE = "root:$6$Zq8Q1qSecretSaltHash0123456789abcdefABCDEF:19000:0:99999:7:::"
SECRET_PARTS = ("Zq8Q1qSecretSaltHash", "root:$6$")
LINK_REFUSED = (
    "a symbolic link: refused (files are read and written only inside the state directory, "
    "never through a link)"
)
MUTATING = (".insert", ".update", ".patch", ".delete", ".undelete", ".makeAdmin")


def writes(tenant) -> int:
    """API calls made so far that change something."""
    return sum(n for m, n in tenant.server.stats.by_method.items() if m.endswith(MUTATING))


def problems(run) -> list[str]:
    """The problem lines of a run refused for bad input (its summary line dropped)."""
    lines = run.err.splitlines()
    assert lines and lines[-1].endswith("nothing was changed."), run.err
    return lines[:-1]


def assert_clean_refusal(run) -> None:
    assert run.code == 1, run.text
    assert "Traceback" not in run.err and "internal error" not in run.err
    for part in SECRET_PARTS:
        assert part not in run.text


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside the state directory with a line that must never be shown."""
    path = tmp_path / "outside" / "shadow"
    path.parent.mkdir()
    path.write_text(f"{SECRET_LINE}\n", encoding="utf-8")
    return path


# -- an unreadable folder or file ------------------------------------------------------------


@pytest.fixture
def unreadable(monkeypatch):
    """Make os.scandir refuse some folders as if they were `chmod 000` for a non-root user."""
    refused: set[str] = set()
    real_scandir = os.scandir

    def scandir(path=".", *args, **kwargs):
        if os.path.abspath(os.fspath(path)) in refused:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", scandir)
    return lambda folder: refused.add(os.path.abspath(folder))


def test_an_unreadable_folder_stops_plan_and_apply(
    state_dir, emulator, cli, unreadable, monkeypatch
):
    """A team's folder holds its people and their bindings. Once it cannot be listed, its
    people are not "gone from Git" (they would be suspended as unbound): they are unknown.
    validate, plan and apply name the folder, and nothing reaches Google."""
    tenant = emulator()
    team = state_dir / "contractors"
    team.mkdir()
    (team / "cai.yaml").write_text(
        "users:\n"
        "  - email: cai.brandt@example.com\n"
        "    given_name: Cai\n"
        "    family_name: Brandt\n"
        "    onboarding: {notify: none}\n"  # no manager to mail her sign-in details to
        "bindings:\n"
        "  - user: cai.brandt@example.com\n"
    )
    monkeypatch.chdir(state_dir)
    first = cli("apply", ".", "--auto-approve")
    assert first.code == 0, first.err
    assert tenant.users()["cai.brandt@example.com"]["suspended"] is False
    before, calls = tenant.snapshot(), tenant.server.stats.api_calls

    unreadable(team)
    for args in (("validate", "."), ("plan", "."), ("apply", ".", "--auto-approve")):
        run = cli(*args)
        assert_clean_refusal(run)
        assert problems(run) == [
            "contractors: cannot read this folder (Permission denied): the files in it may "
            "hold desired state, so it must be readable (or hidden, with a name starting "
            "with '.')"
        ], args
    assert tenant.server.stats.api_calls == calls
    assert tenant.snapshot() == before


def test_an_unreadable_nested_folder_is_named_and_the_rest_still_checked(
    state_dir, cli, unreadable, monkeypatch
):
    nested = state_dir / "users" / "contractors"
    nested.mkdir()
    (nested / "c.yaml").write_text("users: []\n")
    unreadable(nested)
    (state_dir / "users" / "sales.yaml").write_text(
        (state_dir / "users" / "sales.yaml").read_text().replace("title:", "titel:", 1)
    )
    monkeypatch.chdir(state_dir)
    run = cli("validate", ".")
    assert_clean_refusal(run)
    found = problems(run)
    assert any(p.startswith("users/contractors: cannot read this folder") for p in found)
    assert any(p.startswith("users/sales.yaml:") and "titel" in p for p in found), found


def test_an_unreadable_file_stops_plan(state_dir, emulator, cli, monkeypatch):
    tenant = emulator()
    target = os.path.abspath(state_dir / "users" / "sales.yaml")
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if os.path.abspath(os.fspath(path)) == target:
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.chdir(state_dir)
    run = cli("plan", ".")
    assert_clean_refusal(run)
    assert problems(run) == ["users/sales.yaml: cannot read: Permission denied"]
    assert tenant.server.stats.api_calls == 0


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="chmod 000 does not stop root from reading (the scandir test above covers this)",
)
def test_a_chmod_000_folder_stops_plan(state_dir, emulator, cli, monkeypatch):
    tenant = emulator()
    folder = state_dir / "users"
    folder.chmod(0)
    try:
        monkeypatch.chdir(state_dir)
        run = cli("apply", ".", "--auto-approve")
    finally:
        folder.chmod(0o755)
    assert_clean_refusal(run)
    assert problems(run)[0].startswith("users: cannot read this folder (Permission denied)")
    assert writes(tenant) == 0


# -- symbolic links and special files among the YAML files -----------------------------------


def test_a_yaml_link_to_a_file_outside_is_refused_unread(state_dir, secret_file, cli, monkeypatch):
    (state_dir / "users" / "extra.yaml").symlink_to(secret_file)
    monkeypatch.chdir(state_dir)
    for args in (("validate", "."), ("plan", "."), ("fmt", "."), ("fmt", ".", "--check")):
        run = cli(*args)
        assert_clean_refusal(run)
        assert problems(run) == [f"users/extra.yaml: {LINK_REFUSED}"], args
    assert secret_file.read_text() == f"{SECRET_LINE}\n"


def test_the_same_file_outside_inside_is_quoted_only_in_a_short_escaped_excerpt(
    state_dir, cli, monkeypatch
):
    """Had such content been read (a regular file in the directory), the errors quote at
    most a short excerpt, with control characters escaped."""
    long_key = "k" * 500
    (state_dir / "odd.yaml").write_text(
        f'"{long_key}\\e[2J": 1\n"{long_key}\\e[2J": 2\n', encoding="utf-8"
    )
    monkeypatch.chdir(state_dir)
    run = cli("validate", ".")
    assert run.code == 1
    [line] = [p for p in problems(run) if p.startswith("odd.yaml:2:")]
    assert "\x1b" not in run.err
    assert long_key not in line and len(line) < 200, line
    assert "... (504 characters)" in line


def run_bounded(*args: str, cwd: Path) -> Run:
    """The CLI in a child process that may neither hang (60 s) nor take more than 2 GiB of
    address space: reading /dev/zero fails fast with MemoryError instead of taking the
    machine, and a FIFO that blocks ends in a timeout, not a stuck test run."""

    def limit_memory() -> None:
        children.default_signals()
        if resource is not None:
            resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    try:
        proc = subprocess.run(
            reconciler_command(*args),
            cwd=cwd,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=limit_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reconciler {' '.join(args)} hung")
    return Run(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")
def test_a_yaml_link_to_dev_zero_is_refused_at_once(state_dir):
    (state_dir / "zero.yaml").symlink_to("/dev/zero")
    for command in ("validate", "plan", "fmt"):
        run = run_bounded(command, ".", cwd=state_dir)
        assert_clean_refusal(run)
        assert problems(run) == [f"zero.yaml: {LINK_REFUSED}"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("how", ["fifo", "link to a fifo"])
def test_a_fifo_never_hangs_a_run(state_dir, tmp_path, how):
    """A FIFO nobody writes to would block a plain open() for ever: the child process must
    end, refusing it, well within the timeout."""
    if how == "fifo":
        os.mkfifo(state_dir / "pipe.yaml")
        expected = "pipe.yaml: not a regular file (a FIFO): refused"
    else:
        os.mkfifo(tmp_path / "pipe")
        (state_dir / "pipe.yaml").symlink_to(tmp_path / "pipe")
        expected = f"pipe.yaml: {LINK_REFUSED}"
    for command in ("validate", "fmt"):
        run = run_bounded(command, ".", cwd=state_dir)
        assert_clean_refusal(run)
        assert problems(run) == [expected]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_behind_an_open_race_is_refused_unread(tmp_path):
    """A path that turns into a FIFO after the directory was listed: the read itself checks
    the file it opened (without waiting for a writer) before reading a byte."""
    from reconciler.desired.yamlread import read_text
    from reconciler.problems import InvalidInput

    fifo = tmp_path / "users.yaml"
    os.mkfifo(fifo)
    done = threading.Event()

    def rescue() -> None:
        # Should the read wait for a writer after all, be that writer (an empty one) so
        # that the test fails instead of hanging.
        if not done.wait(10):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    rescuer = threading.Thread(target=rescue, daemon=True)
    rescuer.start()
    try:
        with pytest.raises(InvalidInput) as refused:
            read_text(fifo)
    finally:
        done.set()
        rescuer.join()
    assert refused.value.problems[0].message == "not a regular file (a FIFO): refused"


def test_linked_folders_and_loops_are_refused(state_dir, tmp_path, secret_file, cli, monkeypatch):
    """A link to a folder outside, to one inside (its files would be read twice), and links
    that loop: each named, none followed; a link to a non-YAML file is no desired state."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "more.yaml").write_text("users: []\n")
    (state_dir / "vendor").symlink_to(outside)
    (state_dir / "users-again").symlink_to(state_dir / "users")
    (state_dir / "loop").symlink_to(state_dir / "loop")
    (state_dir / "a").symlink_to(state_dir / "b")
    (state_dir / "b").symlink_to(state_dir / "a")
    (state_dir / "NOTES.md").symlink_to(secret_file)  # not YAML: never read, no problem
    monkeypatch.chdir(state_dir)
    run = cli("validate", ".")
    assert_clean_refusal(run)
    loop = "a symbolic link that leads round in a loop: refused; remove it"
    folder = (
        "a symbolic link to a folder: refused (only folders inside the state directory are "
        "read, never through a link); put the folder itself here, or remove the link"
    )
    assert problems(run) == [
        f"a: {loop}",
        f"b: {loop}",
        f"loop: {loop}",
        f"users-again: {folder}",
        f"vendor: {folder}",
    ]


def test_workspace_yaml_as_a_link_is_refused(state_dir, tmp_path, cli, monkeypatch):
    real = tmp_path / "workspace.yaml"
    (state_dir / "workspace.yaml").rename(real)
    (state_dir / "workspace.yaml").symlink_to(real)
    monkeypatch.chdir(state_dir)
    run = cli("validate", ".")
    assert_clean_refusal(run)
    assert f"workspace.yaml: {LINK_REFUSED}" in problems(run)


def test_hidden_and_excluded_links_are_left_alone(state_dir, secret_file, cli, monkeypatch):
    (state_dir / ".cache").symlink_to(secret_file.parent)
    (state_dir / "docs").mkdir()
    (state_dir / "docs" / "notes.yaml").symlink_to(secret_file)
    with (state_dir / "workspace.yaml").open("a") as f:
        f.write("exclude: [docs/*.yaml]\n")
    monkeypatch.chdir(state_dir)
    run = cli("validate", ".")
    assert run.code == 0, run.err


# -- the emulator's seed ---------------------------------------------------------------------


@pytest.mark.parametrize("form", ["absolute", "climbing"])
def test_a_seed_outside_the_directory_is_refused_unread(
    state_dir, secret_file, cli, monkeypatch, form
):
    seed = str(secret_file) if form == "absolute" else "../outside/shadow"
    workspace = state_dir / "workspace.yaml"
    workspace.write_text(workspace.read_text().replace("seed: tenant.yaml", f"seed: {seed}"))
    (state_dir / "tenant.yaml").unlink()  # no longer the seed: it would read as desired state
    monkeypatch.chdir(state_dir)
    for command in ("validate", "plan"):
        run = cli(command, ".")
        assert_clean_refusal(run)
        [problem] = problems(run)
        assert problem.startswith(f"workspace.yaml:{SEED_LINE}: provider.seed: "), problem
        assert "the emulator reads only files inside it" in problem
    assert not (state_dir / LOCAL_STATE_DIR).exists()


def test_a_seed_that_is_a_link_is_refused_unread(state_dir, secret_file, cli, monkeypatch):
    """The default seed as much as a named one: tenant.yaml pointing at a file elsewhere."""
    (state_dir / "tenant.yaml").unlink()
    (state_dir / "tenant.yaml").symlink_to(secret_file)
    monkeypatch.chdir(state_dir)
    run = cli("plan", ".")
    assert_clean_refusal(run)
    assert problems(run) == [
        f"workspace.yaml:{SEED_LINE}: provider.seed: 'tenant.yaml' is {LINK_REFUSED}"
    ]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_seed_is_refused_without_waiting(state_dir):
    (state_dir / "tenant.yaml").unlink()
    os.mkfifo(state_dir / "tenant.yaml")
    run = run_bounded("plan", ".", cwd=state_dir)
    assert_clean_refusal(run)
    assert problems(run) == [
        f"workspace.yaml:{SEED_LINE}: provider.seed: 'tenant.yaml' is not a regular file (a FIFO)"
    ]


# -- fmt never writes outside ----------------------------------------------------------------


def test_fmt_does_not_rewrite_a_linked_file_outside(state_dir, tmp_path, cli, monkeypatch):
    outside = tmp_path / "people.yaml"
    messy = "users:\n- {email: Jo.Lei@Example.com, given_name: Jo, family_name: Lei}\n"
    outside.write_text(messy)
    (state_dir / "people.yaml").symlink_to(outside)
    monkeypatch.chdir(state_dir)
    run = cli("fmt", ".")
    assert_clean_refusal(run)
    assert problems(run) == [f"people.yaml: {LINK_REFUSED}"]
    assert outside.read_text() == messy


def test_fmt_replaces_a_file_it_formats_keeping_its_mode(tmp_path, cli, monkeypatch):
    (tmp_path / "workspace.yaml").write_text(
        "directory: {domains: [example.com]}\nownership: {id: acme/identity}\n"
        "provider: {kind: emulator}\n"
    )
    people = tmp_path / "people.yaml"
    people.write_text("users:\n- {email: jo@example.com, given_name: Jo, family_name: Lei}\n")
    people.chmod(0o640)
    monkeypatch.chdir(tmp_path)
    run = cli("fmt", ".")
    assert run.code == 0, run.err
    assert "  - email: jo@example.com\n" in people.read_text()
    assert stat.S_IMODE(people.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["people.yaml", "workspace.yaml"]
