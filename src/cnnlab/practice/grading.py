"""Grade a folder of students' exercise notebooks: run each in its own kernel, then check every exercise.

This RUNS THE STUDENTS' CODE, in a Jupyter kernel on this machine, with the rights of whoever calls it. A time
limit stops a notebook that hangs; nothing stops one that deletes files or reads secrets. Run it where that is
acceptable (a container, an account of its own).

Each notebook runs top to bottom as the student left it, in its own folder (where a student's notebook reads its
files from), and a cell that raises does not stop it (the cells after it run, as a grader reading the rest
would). Then one more cell, the grader's own, calls ``cnnlab.check`` on each exercise's function *as the notebook
left it defined* (``output_size`` for ``output-size``) and shows each result, which publishes its ``to_dict()``
under :data:`cnnlab.practice._check.MIME_TYPE`; the grader reads those. So a student's check cells, edited,
deleted or never run, change nothing, and an exercise with no result still gets a row that says why: its
function is not defined (no cell defines it, or its cell raised, or the notebook ran out of time before it), or
the notebook could not be read or run at all.

nbformat and nbclient come with the ``notebook`` extra; they are imported only when a folder is graded.
"""

from __future__ import annotations

import html
import math
import numbers
import os
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cnnlab.errors import SettingError
from cnnlab.files import write_text
from cnnlab.inspection.tables import render_table
from cnnlab.practice._check import MIME_TYPE, STATUSES
from cnnlab.practice._registry import EXERCISES

__all__ = ["DEFAULT_TIMEOUT", "GRADE_STATUSES", "Grade", "Grades", "grade"]

GradeStatus = Literal["passed", "not done", "failed", "raised", "timed out", "missing", "not checked"]
GRADE_STATUSES: tuple[str, ...] = (*STATUSES, "missing", "not checked")
"""A check's statuses, then ``missing`` (the notebook defines no such function when it ends) and ``not
checked`` (the notebook could not be read or run, or the checks ran out of time)."""

DEFAULT_TIMEOUT = 300.0
"""Seconds a notebook's own cells may run, all together (the checks afterwards get as long again). The solutions
notebook runs in a few seconds; a student's loops may take much longer, and a hang is stopped here."""

_LONGEST = 200  # characters of an error message kept in a hint


@dataclass(frozen=True)
class Grade:
    """One student's result on one exercise: a row of the grades' CSV.

    Attributes:
        student: the notebook's file name, in the graded folder.
        exercise: the exercise's name.
        status: a check's status, ``missing`` or ``not checked`` (see :data:`GRADE_STATUSES`).
        hint: why it did not pass, in one line: the mistake the answer matches, else the problem (empty when it
            passed).
    """

    student: str
    exercise: str
    status: GradeStatus
    hint: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def row(self) -> list[str]:
        return [self.student, self.exercise, "yes" if self.passed else "no", self.status, self.hint]


@dataclass(frozen=True)
class Grades:
    """Every student's result on every exercise, in the exercises' order: a CSV row each, a table by student.

    Attributes:
        folder: the graded folder.
        timeout: the seconds each notebook's cells had.
        rows: one :class:`Grade` per notebook and exercise.
        notes: per notebook, what went wrong in it as a whole (a cell that raised, a time-out), in order.
    """

    folder: Path
    timeout: float
    rows: tuple[Grade, ...]
    notes: dict[str, tuple[str, ...]] = field(default_factory=dict)

    HEADERS = ("student", "exercise", "passed", "status", "hint")

    def __iter__(self) -> Iterator[Grade]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def students(self) -> list[str]:
        return list(dict.fromkeys(row.student for row in self.rows))

    def of(self, student: str) -> list[Grade]:
        """The rows of one notebook."""
        return [row for row in self.rows if row.student == student]

    def to_csv(self) -> str:
        """The rows as CSV: ``student,exercise,passed,status,hint`` (passed is ``yes`` or ``no``)."""
        return render_table(list(self.HEADERS), [row.row() for row in self.rows], "csv")

    def write_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_csv` to ``path`` (atomically); returns it."""
        return write_text(Path(path).expanduser(), self.to_csv())

    def _summary(self) -> list[list[str | int]]:
        table = []
        for student in self.students:
            rows = self.of(student)
            wrong = [f"{r.exercise} ({r.status})" for r in rows if r.status in ("failed", "raised", "timed out")]
            undone = sum(r.status in ("not done", "missing") for r in rows)
            unchecked = sum(r.status == "not checked" for r in rows)
            notes = "; ".join(self.notes.get(student, ()))
            passed = f"{sum(r.passed for r in rows)} of {len(rows)}"
            table.append([student, passed, ", ".join(wrong) or "-", undone, unchecked, notes or "-"])
        return table

    _SUMMARY = ("student", "passed", "wrong", "not done", "not checked", "notebook")

    def render(self, fmt: str = "text") -> str:
        """The table by student (``text``, ``markdown``, ``html``); ``csv`` and ``json`` give every row."""
        if fmt in ("csv", "json"):
            return render_table(list(self.HEADERS), [row.row() for row in self.rows], fmt)
        return render_table(list(self._SUMMARY), self._summary(), fmt)

    def __str__(self) -> str:
        return self.render()

    def _repr_html_(self) -> str:
        about = f"{len(self.students)} notebooks in {self.folder}, {len(EXERCISES)} exercises each"
        return f"<div><p>{html.escape(about)}</p>{self.render('html')}</div>"

    def to_dict(self) -> dict[str, object]:
        return {"folder": str(self.folder), "timeout": self.timeout,
                "rows": [dict(zip(self.HEADERS, row.row(), strict=True)) for row in self.rows],
                "notes": {student: list(notes) for student, notes in self.notes.items()}}  # fmt: skip


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _LONGEST else text[: _LONGEST - 3] + "..."


def _grader_cell() -> str:
    """The cell the grader adds: check every exercise's function as the notebook left it (names kept apart from
    the student's by their prefix)."""
    pairs = [(exercise.name, exercise.function_name) for exercise in EXERCISES]
    return (
        "import cnnlab as _cnnlab_grader\n"
        "from IPython.display import display as _cnnlab_display\n"
        f"for _cnnlab_name, _cnnlab_function in {pairs!r}:\n"
        "    if callable(globals().get(_cnnlab_function)):\n"
        "        _cnnlab_display(_cnnlab_grader.check(_cnnlab_name, globals()[_cnnlab_function]))\n"
    )


def _results(cell: Any) -> dict[str, dict[str, Any]]:
    """The check results the grader's cell showed, by exercise."""
    found = {}
    for output in cell.get("outputs", []):
        result = output.get("data", {}).get(MIME_TYPE)
        if isinstance(result, dict) and isinstance(result.get("exercise"), str):
            found[result["exercise"]] = result
    return found


def _from_result(student: str, result: dict[str, Any]) -> Grade:
    status = result.get("status")
    failure = result.get("failure") or {}
    if status not in STATUSES:
        return Grade(student, str(result.get("exercise")), "not checked", f"an unreadable result: {status!r}")
    if status in ("passed", "not done"):
        return Grade(student, result["exercise"], status)
    hint = failure.get("hint") or failure.get("problem") or ""
    case = f"case {failure.get('case')}: " if failure.get("case") else ""
    return Grade(student, result["exercise"], status, _one_line(f"{case}{hint}"))


def _error_of(cell: Any) -> str | None:
    """``ZeroDivisionError: division by zero`` when the cell raised."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return _one_line(f"{output.get('ename')}: {output.get('evalue')}")
    return None


def _why_missing(cells: list[Any], function: str, stopped_at: int | None) -> str:
    """Why ``function`` is not defined when the notebook ends, from where its ``def`` is and how its cell ran."""
    pattern = re.compile(rf"^\s*def\s+{re.escape(function)}\s*\(", re.MULTILINE)
    where = [i for i, cell in enumerate(cells) if cell.get("cell_type") == "code" and pattern.search(cell.source)]
    if not where:
        return f"no cell defines {function} (deleted or renamed?)"
    index = where[-1]
    if stopped_at is not None and index > stopped_at:
        return f"not reached: the notebook was stopped at cell {stopped_at + 1}, before {function}'s cell {index + 1}"
    error = _error_of(cells[index])
    if error is not None:
        return f"{function} is not defined: its cell {index + 1} raised {error}"
    return f"{function} is not a function when the notebook ends"


def _not_checked(student: str, why: str) -> list[Grade]:
    return [Grade(student, exercise.name, "not checked", _one_line(why)) for exercise in EXERCISES]


def _import_notebook_tools() -> tuple[Any, Any]:
    try:
        import nbclient
        import nbformat
    except ImportError:
        raise ImportError("grading needs nbformat and nbclient: pip install 'cnnlab[notebook]'") from None
    return nbformat, nbclient


class _KernelDied(Exception):
    """The kernel died (out of memory, or the student's code ended its process): ``str()`` says where."""


def _run_cells(client: Any, cells: list[Any], timeout: float) -> int | None:
    """Run the student's code cells in order, within ``timeout`` seconds together; the index of the cell where the
    notebook was stopped, or ``None`` when it ran to its end."""
    from nbclient.exceptions import DeadKernelError

    deadline = time.monotonic() + timeout
    client.timeout_func = lambda _cell: max(1, math.ceil(deadline - time.monotonic()))
    for index, cell in enumerate(cells):
        if cell.cell_type != "code":
            continue
        try:
            client.execute_cell(cell, index)
        except DeadKernelError:
            raise _KernelDied(f"the kernel died in cell {index + 1} (out of memory, or the code ended it)") from None
        if time.monotonic() >= deadline:
            return index
    return None


def _run_checks(client: Any, grader: Any, index: int, timeout: float, stopped_at: int | None) -> str | None:
    """Run the grader's cell (at ``index``) within ``timeout`` seconds; what kept it from checking, or ``None``."""
    from nbclient.exceptions import DeadKernelError

    client.timeout_func = lambda _cell: max(1, math.ceil(timeout))
    deadline = time.monotonic() + timeout
    try:
        client.execute_cell(grader, index)
    except DeadKernelError:
        return "the kernel died during the checks"
    if time.monotonic() >= deadline:
        busy = f": cell {stopped_at + 1} still ran, deaf to its interrupt" if stopped_at is not None else ""
        return f"the checks ran past {timeout:g} s{busy}"
    error = _error_of(grader)
    return None if error is None else f"the checks raised {error}"


def _grade_notebook(path: Path, timeout: float) -> tuple[list[Grade], list[str]]:
    """One notebook's rows, and what went wrong in it as a whole."""
    nbformat, nbclient = _import_notebook_tools()
    student = path.name
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # JSON, a notebook format nbformat does not know, an unreadable file: all one row
        why = _one_line(f"cannot read the notebook: {type(error).__name__}: {error}")
        return _not_checked(student, why), [why]
    cells = list(notebook.cells)
    grader = nbformat.v4.new_code_cell(_grader_cell())
    notebook.cells.append(grader)  # last, after the student's cells (nbclient keeps each cell's place)
    # A cell past the time is interrupted (a loop or a sleep stops, and the checks can still run), and nbclient does
    # not wait for its reply: one that ignores the interrupt (a bare `except:` in a loop) cannot hold the grader.
    stop = {"ename": "TimeoutError", "evalue": "the grader's time limit", "traceback": []}
    client = nbclient.NotebookClient(notebook, kernel_name="python3", allow_errors=True, shutdown_kernel="immediate",
                                     interrupt_on_timeout=True, error_on_timeout=stop,
                                     resources={"metadata": {"path": str(path.parent)}})  # fmt: skip
    # The kernel's own lines on stderr (its transport warnings) would be read as the grader's: quiet them.
    with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        try:
            stopped_at = _run_cells(client, cells, timeout)
        except _KernelDied as died:
            return _not_checked(student, str(died)), [str(died)]
        problem = _run_checks(client, grader, len(cells), timeout, stopped_at)
    notes = [f"ran past {timeout:g} s; stopped in cell {stopped_at + 1}"] if stopped_at is not None else []
    notes += [
        f"cell {i + 1} raised {error}" for i, c in enumerate(cells) if (error := _error_of(c)) and i != stopped_at
    ]
    notes += [problem] if problem is not None else []
    results = _results(grader)
    rows = []
    for exercise in EXERCISES:
        if exercise.name in results:
            rows.append(_from_result(student, results[exercise.name]))
        elif problem is not None:  # its function may exist: the checks did not reach it
            rows.append(Grade(student, exercise.name, "not checked", problem))
        else:
            rows.append(
                Grade(student, exercise.name, "missing", _why_missing(cells, exercise.function_name, stopped_at))
            )
    return rows, notes


def _kernel_problem() -> str | None:
    """Why no ``python3`` Jupyter kernel can start here, or ``None``."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        return "grading needs Jupyter's python3 kernel: pip install ipykernel"
    return None


def grade(
    folder: str | os.PathLike[str],
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[int, int, str], None] | None = None,
) -> Grades:
    """Run every notebook (``*.ipynb``) in ``folder`` and check each exercise's function in it.

    This RUNS THE STUDENTS' CODE, in a Jupyter kernel (``python3``) on this machine, with your rights: see the
    module's docstring. Each notebook gets its own kernel, started in ``folder``; its cells get ``timeout``
    seconds together (a notebook past them is stopped, and the functions it defined so far are checked), the
    checks as long again.

    Args:
        folder: the folder of notebooks, one per student (files in its subfolders are not read).
        timeout: seconds a notebook's cells may run, all together.
        progress: called as ``progress(number, count, name)`` before each notebook is run (a class of thirty
            takes minutes; the command line says which one it is at).

    Returns:
        A row per notebook and exercise, even for a notebook that could not be read or run (it says why).

    Raises:
        ValueError: ``folder`` is not a folder, holds no notebook, ``timeout`` is not a positive number, or
            Jupyter has no ``python3`` kernel here.
        ImportError: nbformat or nbclient is not installed (the ``notebook`` extra).
    """
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < timeout < math.inf:
        raise SettingError(f"<timeout>: expected a positive number of seconds, got {timeout!r}")
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValueError(f"{root} is not a folder" if root.exists() else f"no folder {root}")
    notebooks = sorted(path for path in root.glob("*.ipynb") if path.is_file())
    if not notebooks:
        raise ValueError(f"no notebook (*.ipynb) in {root}")
    _import_notebook_tools()  # before the first notebook: a missing extra is one error, not a row each
    if (problem := _kernel_problem()) is not None:
        raise ValueError(problem)
    rows: list[Grade] = []
    notes: dict[str, tuple[str, ...]] = {}
    for number, path in enumerate(notebooks, start=1):
        if progress is not None:
            progress(number, len(notebooks), path.name)
        found, said = _grade_notebook(path, float(timeout))
        rows += found
        if said:
            notes[path.name] = tuple(said)
    return Grades(root, float(timeout), tuple(rows), notes)
