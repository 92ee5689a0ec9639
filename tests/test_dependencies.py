"""The dependencies pyproject.toml declares are the ones the code imports, no more, no less:
the tool's own imports against `dependencies`, the tests' and benchmarks' against those plus
the `test` extra. Which distribution provides a module is read from the installed files."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]

# Declared but never imported by name, each for a reason.
NOT_IMPORTED = {
    # The C extension ruamel.yaml.cyaml loads (the fast parser); optional, see yamlread.py.
    "ruamel-yaml-clib": "reconciler",
    # A pytest plugin: tests use its `snapshot` fixture.
    "pytest-snapshot": "tests",
    # A pytest plugin: the test command runs the suite on every core with it (-n auto).
    "pytest-xdist": "tests",
}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return normalize(re.match(r"[A-Za-z0-9._-]+", requirement).group(0))


def declared(*extras: str) -> set[str]:
    names = {requirement_name(r) for r in PROJECT["dependencies"]}
    for extra in extras:
        names |= {requirement_name(r) for r in PROJECT["optional-dependencies"][extra]}
    return names - {normalize(PROJECT["name"])}


@cache
def local_names() -> set[str]:
    """Names of this project's modules, and of the folders and modules tests and benchmarks
    import one another by (tests/apply as `apply`, benchmarks/run.py as `run`)."""
    names = {"reconciler", "__future__", "tests", "benchmarks"}
    for folder in ("tests", "benchmarks"):
        for path in (ROOT / folder).rglob("*"):
            if "fixtures" not in path.parts:
                names.add(path.stem if path.suffix == ".py" else path.name)
    return names


def is_local(module: str) -> bool:
    """A module of this repository. tests/google shadows nothing: `google.auth` is found
    installed, so it is not local."""
    if module.split(".")[0] not in local_names():
        return False
    try:
        spec = importlib.util.find_spec(module)
    except ImportError:
        return True
    if spec is None or not spec.origin:
        return True
    origin = Path(spec.origin).resolve()
    return origin.is_relative_to(ROOT) and not origin.is_relative_to(sys.prefix)


def imported_modules(*folders: str) -> set[str]:
    """Every absolute import in the folders' Python files, outside the standard library and
    this repository's own modules."""
    found: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if "fixtures" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                found.update(
                    name
                    for name in names
                    if name.split(".")[0] not in sys.stdlib_module_names and not is_local(name)
                )
    return found


@cache
def files_to_distributions() -> dict[Path, str]:
    owners: dict[Path, str] = {}
    for dist in importlib.metadata.distributions():
        for file in dist.files or ():
            owners[Path(dist.locate_file(file)).resolve()] = normalize(dist.metadata["Name"])
    return owners


def distribution_of(module: str) -> str:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is imported but not installed"
    owner = files_to_distributions().get(Path(spec.origin).resolve())
    assert owner is not None, f"no installed distribution provides {module} ({spec.origin})"
    return owner


def used(*folders: str) -> set[str]:
    return {distribution_of(m) for m in imported_modules(*folders)}


def test_the_tool_imports_exactly_what_it_declares():
    uses = used("reconciler")
    runtime = declared()
    assert uses - runtime == set(), "imported but not declared in dependencies"
    unused = runtime - uses - {d for d, where in NOT_IMPORTED.items() if where == "reconciler"}
    assert unused == set(), "declared in dependencies but never imported"


def test_tests_and_benchmarks_import_only_what_is_declared_for_them():
    uses = used("tests", "benchmarks")
    assert uses - declared("test") == set(), "imported by tests but not in the test extra"
    extra = declared("test") - declared()
    unused = extra - uses - {d for d, where in NOT_IMPORTED.items() if where == "tests"}
    assert unused == set(), "in the test extra but never imported by the tests"


def test_development_tools_are_an_extra_of_their_own():
    dev = {requirement_name(r) for r in PROJECT["optional-dependencies"]["dev"]}
    assert "ruff" in dev and "ruff" not in declared("test")
    assert normalize(PROJECT["name"]) in dev  # dev includes the test extra


def test_the_distribution_name_is_ours_and_the_command_and_package_stay_reconciler():
    assert PROJECT["name"] == "gitops-workspace-reconciler"
    assert PROJECT["scripts"] == {"reconciler": "reconciler.cli:main"}
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["reconciler*"]
