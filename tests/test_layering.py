"""The Git side's modules (reconciler/desired/, with the settings and field types below them)
import one another in one direction: no module reaches back up to one that imports it, not
even from inside a function. Read from the source with `ast`, so the test sees every import
whether or not it has run."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reconciler"
CHECKED = (
    "reconciler.desired",
    "reconciler.settings",
    "reconciler.entra_settings",
    "reconciler.restriction_settings",
    "reconciler.fields",
)


def modules(package: Path) -> dict[str, Path]:
    """Every module of a package by dotted name (a package by its __init__)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def packages_of(name: str) -> list[str]:
    """The packages Python imports before `name`: reconciler.desired for reconciler.desired.x."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def imported(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of the package that importing `name` runs. Importing a.b.c runs the
    packages a and a.b first, except those `name` lies in: those are running already when it
    is imported. `from a.b import x` runs a.b's submodule x when there is one, else a.b's
    __init__ (which then must have finished, even if `name` lies in a.b)."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        else:
            continue
        for target in names:
            running = set(packages_of(name))
            targets |= {p for p in packages_of(target) if p not in running}
            targets.add(target)
    return {t for t in targets if t in known and t != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    number: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        number[node] = low[node] = len(number)
        stack.append(node)
        for child in sorted(graph[node]):
            if child not in number:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in stack:
                low[node] = min(low[node], number[child])
        if low[node] == number[node]:
            component = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in number:
            visit(node)
    return found


def import_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module of a package, with the modules of the package importing it runs."""
    known = modules(package)
    return {name: imported(name, path, known) for name, path in known.items()}


def test_the_git_side_imports_in_one_direction():
    involved = [
        component
        for component in cycles(import_graph())
        if any(m == c or m.startswith(c + ".") for m in component for c in CHECKED)
    ]
    assert involved == []


def test_a_cycle_is_seen():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_a_cycle_through_a_package_face_is_seen(tmp_path):
    """A module below a package's face, imported by a module outside that package that one of
    the package's modules imports: importing the outside module first would run the face,
    which reaches the outside module again before it has finished."""
    files = {
        "top/__init__.py": "",
        "top/sub/__init__.py": "from top.sub.face import f\n",
        "top/sub/face.py": "from top.sub.low import low\nfrom top.other import other\n",
        "top/sub/low.py": "def low(): ...\n",
        "top/other.py": "from top.sub.low import low\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path / "top")
    assert graph["top.other"] == {"top.sub", "top.sub.low"}
    assert graph["top.sub.face"] == {"top.sub.low", "top.other"}  # its package runs already
    assert cycles(graph) == [["top.other", "top.sub", "top.sub.face"]]


def test_the_package_face():
    from reconciler.desired import Desired, load_desired
    from reconciler.desired.pipeline import Desired as Defined
    from reconciler.desired.pipeline import load_desired as defined

    assert (Desired, load_desired) == (Defined, defined)
