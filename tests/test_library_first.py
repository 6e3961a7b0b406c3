"""cnnlab is a library first: its modules return values, and only the command line prints or names flags.

Every module of the package but ``cli/`` (and ``__main__``) is read as Python source: it must call no
``print``, word no error with a command-line flag (the CLI spells a library's settings as its flags; see
``cnnlab.errors``), and name no file of the run directory, which belongs to ``cnnlab/run_directory.py`` alone.
"""

import ast
import re
from pathlib import Path

import pytest

import cnnlab

PACKAGE = Path(cnnlab.__file__).parent
LIBRARY = sorted(
    path
    for path in PACKAGE.rglob("*.py")
    if "cli" not in path.relative_to(PACKAGE).parts and path.name != "__main__.py"
)
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
RUN_FILES = ("run.json", "config.json", "metrics.csv", "last.pt", "best.pt", "summary.json", "curves.png")


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


def _strings(node: ast.AST) -> list[str]:
    """Every string literal under ``node``, f-strings' literal parts included."""
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _error_messages(tree: ast.AST) -> list[tuple[int, str]]:
    """The strings of ``raise`` statements and of calls to exception classes (``...Error(...)``)."""
    found = []
    for node in ast.walk(tree):
        is_error_call = (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name | ast.Attribute)
            and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr).endswith(("Error", "Exception"))
        )
        if isinstance(node, ast.Raise) or is_error_call:
            found += [(node.lineno, text) for text in _strings(node)]
    return sorted(set(found))  # a raise of an error call holds its strings twice


def test_the_walk_sees_the_whole_library():
    names = {_name(path) for path in LIBRARY}
    assert {
        "cnnlab/run.py",
        "cnnlab/run_directory.py",
        "cnnlab/show.py",
        "cnnlab/training/loop.py",
        "cnnlab/layers/shapes.py",
    } <= names
    assert not any("/cli/" in name for name in names) and len(names) > 60


@pytest.mark.parametrize("path", LIBRARY, ids=_name)
def test_library_modules_do_not_print(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    prints = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]
    assert not prints, f"{_name(path)} prints on line(s) {prints}: return a value and let the caller present it"


@pytest.mark.parametrize("path", LIBRARY, ids=_name)
def test_library_errors_name_no_command_line_flag(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    flagged = [(line, text) for line, text in _error_messages(tree) if FLAG.search(text)]
    assert not flagged, f"{_name(path)} names a flag in an error (write <setting> instead): {flagged}"


@pytest.mark.parametrize("path", [p for p in LIBRARY if p.name != "run_directory.py"], ids=_name)
def test_only_the_run_directory_module_names_the_run_directorys_files(path):
    """A file name in code (a string without spaces that ends with one); prose in docstrings may mention them."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    named = [text for text in _strings(tree) if " " not in text and text.endswith(RUN_FILES)]
    assert not named, f"{_name(path)} names run files {named}: ask cnnlab.run_directory.RunDirectory where they are"


def test_the_checks_catch_what_they_look_for(tmp_path):
    """The three rules fail on code that breaks them (so a passing run means something)."""
    bad = ast.parse(
        "def f(run_dir):\n"
        "    print('hi')\n"
        "    raise ValueError(f'try a smaller --lr in {run_dir}')\n"
        "    return run_dir / 'last.pt'\n"
    )
    assert any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "print" for n in ast.walk(bad))
    assert [text for _, text in _error_messages(bad) if FLAG.search(text)] == ["try a smaller --lr in "]
    assert [t for t in _strings(bad) if " " not in t and t.endswith(RUN_FILES)] == ["last.pt"]
