"""The house's floors: every import of the package goes down or sideways, never up, and never in a circle.

The order of the floors is written here, once. Every import counts: at the top of a module, inside a function,
under ``TYPE_CHECKING``. A module imports its own floor or the floors below it; no two files, and no two rooms
(a top-level module or folder of ``cnnlab``), import each other, directly or through others. A new module whose
room has no floor fails until it is given one here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

import cnnlab

PACKAGE = Path(cnnlab.__file__).parent

FLOORS: list[tuple[str, tuple[str, ...]]] = [
    # Bottom to top. A room is cnnlab.NAME for cnnlab/NAME.py or the folder cnnlab/NAME/.
    ("ground: errors and atomic files", ("cnnlab", "cnnlab._lazy", "cnnlab.errors", "cnnlab.files")),
    ("layers", ("cnnlab.layers",)),
    ("data", ("cnnlab.data",)),
    ("models", ("cnnlab.models",)),
    ("the run directory's record", ("cnnlab.run_records", "cnnlab.checkpoint", "cnnlab.run_directory")),
    ("inspection", ("cnnlab.inspection",)),
    ("viz", ("cnnlab.viz",)),
    ("training", ("cnnlab.training",)),
    # The published page sits beside the run: Run.publish is one of its verbs (and the page resolves its
    # subjects and draws with cnnlab.subjects and cnnlab.api, on this floor too, never through cnnlab.run).
    (
        "the user-facing run and show",
        (
            "cnnlab.subjects",
            "cnnlab.show",
            "cnnlab.attribution",
            "cnnlab.report",
            "cnnlab.publish",
            "cnnlab.run",
            "cnnlab.api",
        ),
    ),
    # The exercises check a student's functions against the layers, models and arithmetic below them.
    ("experiments and exercises", ("cnnlab.experiments", "cnnlab.practice")),
    ("the lab", ("cnnlab.lab",)),
    ("the command line", ("cnnlab.cli", "cnnlab.__main__")),
]


def modules_of(package: Path) -> dict[str, Path]:
    """Every module of the package by dotted name (a folder's ``__init__.py`` is the folder's name)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom, top: str) -> list[str]:
    """The dotted names an import statement reaches (``from a import b``: ``a.b`` and ``a``), within ``top``."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == top]
    if node.level:  # relative: from the module's package (a package's __init__ is its own package)
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base.split(".")[0] != top:
        return []
    return [f"{base}.{alias.name}" for alias in node.names] + [base]


def import_edges(package: Path) -> dict[str, dict[str, int]]:
    """``module -> {module it imports: line}`` over every import statement, wherever it stands."""
    modules, top = modules_of(package), package.name
    edges: dict[str, dict[str, int]] = defaultdict(dict)
    for module, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            names = _imported(module, path, node, top)
            if isinstance(node, ast.ImportFrom) and names:  # from a import b: the module a.b if it is one, else a
                names = [name for name in names[:-1] if name in modules] or [names[-1]]
            for name in names:
                while name not in modules and "." in name:
                    name = name.rsplit(".", 1)[0]
                if name in modules and name != module:
                    edges[module].setdefault(name, node.lineno)
    return edges


def room(module: str) -> str:
    return ".".join(module.split(".")[:2])


def floor_of(module: str, floors: list[tuple[str, tuple[str, ...]]]) -> int | None:
    for level, (_, rooms) in enumerate(floors):
        if room(module) in rooms:
            return level
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    nodes = sorted(set(graph) | {t for targets in graph.values() for t in targets})
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    part.append(member)
                    if member == node:
                        break
                if len(part) > 1:
                    found.append(sorted(part))
    return found


def problems(package: Path, floors: list[tuple[str, tuple[str, ...]]]) -> list[str]:
    """Every broken rule, one line each, naming both files of an import."""
    modules, edges = modules_of(package), import_edges(package)

    def where(module: str, line: int | None = None) -> str:
        text = str(modules[module].relative_to(package.parent))
        return f"{text}:{line}" if line else text

    found = []
    for module in sorted(modules):
        if floor_of(module, floors) is None:
            found.append(f"{where(module)}: its room {room(module)} has no floor (add it to FLOORS)")
    for module, targets in sorted(edges.items()):
        mine = floor_of(module, floors)
        for target, line in sorted(targets.items()):
            theirs = floor_of(target, floors)
            if mine is not None and theirs is not None and theirs > mine:
                found.append(
                    f"{where(module, line)} ({floors[mine][0]}) imports {where(target)} ({floors[theirs][0]}), "
                    "a floor above it"
                )
    file_graph = {module: set(targets) for module, targets in edges.items()}
    for part in cycles(file_graph):
        found.append("files import each other in a circle: " + ", ".join(where(m) for m in part))
    room_graph: dict[str, set[str]] = defaultdict(set)
    for module, targets in edges.items():
        room_graph[room(module)].update(room(t) for t in targets if room(t) != room(module))
    for part in cycles(room_graph):
        found.append("rooms import each other in a circle: " + ", ".join(part))
    return found


def test_every_import_goes_down_or_sideways_and_none_goes_round():
    found = problems(PACKAGE, FLOORS)
    assert not found, "\n".join(found)


def test_the_walk_sees_the_whole_package_and_its_imports():
    modules, edges = modules_of(PACKAGE), import_edges(PACKAGE)
    assert {"cnnlab", "cnnlab.run", "cnnlab.run_directory", "cnnlab.training.loop", "cnnlab.cli.main"} <= set(modules)
    assert "cnnlab.run_directory" in edges["cnnlab.training.loop"]  # a top-level import
    assert "cnnlab.training.trained" in edges["cnnlab.run"]  # one inside a method, and one under TYPE_CHECKING
    assert sum(len(targets) for targets in edges.values()) > 300


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "pkg"


TOY_FLOORS = [("low", ("pkg", "pkg.low")), ("high", ("pkg.high",))]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"low.py": "def f():\n    from pkg.high import g\n"},
         "pkg/low.py:2 (low) imports pkg/high.py (high), a floor above"),
        ({"low.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .high import g\n"}, "a floor above"),
        ({"high/__init__.py": "", "high/a.py": "from pkg.high import b\n", "high/b.py": "import pkg.high.a\n"},
         "files import each other in a circle: pkg/high/a.py, pkg/high/b.py"),
        ({"low.py": "from pkg import other\n", "other.py": "from pkg.low import x\n"}, "pkg/other.py: its room"),
    ],
    ids=["upward-in-a-function", "upward-type-only-relative", "file-circle", "room-without-a-floor"],
)  # fmt: skip
def test_the_rules_catch_what_they_forbid(tmp_path, files, expected):
    package = _package(tmp_path, {"__init__.py": "", "high.py": "def g(): ...\n", **files})
    found = problems(package, TOY_FLOORS)
    assert any(expected in line for line in found), found


def test_rooms_in_a_circle_are_caught_even_when_their_files_are_not(tmp_path):
    package = _package(
        tmp_path,
        {"__init__.py": "", "a/__init__.py": "", "a/x.py": "from pkg.b import y\n", "a/z.py": "",
         "b/__init__.py": "", "b/y.py": "from pkg.a import z\n"},
    )  # fmt: skip
    assert problems(package, [("one floor", ("pkg", "pkg.a", "pkg.b"))]) == [
        "rooms import each other in a circle: pkg.a, pkg.b"
    ]


def test_a_clean_toy_package_passes(tmp_path):
    package = _package(tmp_path, {"__init__.py": "", "low.py": "X = 1\n", "high.py": "from pkg.low import X\n"})
    assert problems(package, TOY_FLOORS) == []
