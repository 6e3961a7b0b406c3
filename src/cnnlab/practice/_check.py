"""Check a student's function against an exercise's reference, case by case, and name the mistake when it fails.

The student's code is never trusted: whatever it does (raises, returns None or the wrong type or shape, hangs)
ends in a :class:`CheckResult` that says so, never in an exception. On the first failing case the checker tries
the exercise's known wrong answers and keeps those that behave as the student's function did on every case so
far (right on the cases it passed, the same value on the one it failed); if several remain, it calls the
student's function on the next cases until one is left. That wrong answer's mistake is the hint.
"""

from __future__ import annotations

import copy
import html
import inspect
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cnnlab.practice._exercise import Case, Exercise, WrongAnswer
from cnnlab.practice._limit import Outcome, call_with_limit
from cnnlab.practice._values import describe, plain

__all__ = ["MIME_TYPE", "STATUSES", "CheckResult", "Failure", "Status", "run_check"]

Status = Literal["passed", "not done", "failed", "raised", "timed out"]
STATUSES: tuple[Status, ...] = ("passed", "not done", "failed", "raised", "timed out")

# How many more cases the checker may call the student's function on to tell two matching mistakes apart.
_MORE_CASES = 20
# The longest exception message shown, in characters (the case and the line are what a student needs first).
_LONGEST = 300
MIME_TYPE = "application/vnd.cnnlab.check+json"
"""The type under which a result shown in Jupyter also publishes its ``to_dict()``, for programs that read an
executed notebook (the grader): the HTML box is for people."""
_COLOURS = {"passed": ("#1e7e34", "#e6f4ea"), "not done": ("#6c757d", "#f1f3f5")}
_RED = ("#b02a37", "#fbe9eb")


@dataclass(frozen=True)
class Failure:
    """The first case the student's function did not pass.

    Attributes:
        case: its number, from 1.
        note: what is special about it ("stride larger than the kernel"), or empty.
        inputs: the arguments by name: ``fn(**failure.inputs)`` calls the function on it again.
        expected: the right answer.
        received: what the function returned (``None`` when it raised or ran out of time).
        problem: what went wrong, in one line.
        hint: the mistake the answer matches, when it matches a known one.
        answered: whether the function returned (``received`` is what it returned, ``None`` included).
    """

    case: int
    note: str
    inputs: dict[str, object]
    expected: object
    received: object
    problem: str
    hint: str | None = None
    answered: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"case": self.case, "note": self.note, "inputs": plain(self.inputs), "expected": plain(self.expected),
                "received": plain(self.received), "answered": self.answered, "problem": self.problem,
                "hint": self.hint}  # fmt: skip


@dataclass(frozen=True)
class CheckResult:
    """What :func:`cnnlab.check` found: prints as a few lines, shows as a green or red box in Jupyter.

    Attributes:
        exercise: the exercise's name.
        status: ``passed``; ``not done`` (it raises NotImplementedError); ``failed`` (a wrong value, type or
            shape, or a signature the exercise cannot call); ``raised`` (another exception); ``timed out``.
        cases: how many cases were tried (up to and including the failing one).
        total: how many cases the exercise has.
        failure: the first failing case, or ``None``.
        time_limit: seconds allowed per case.
    """

    exercise: str
    status: Status
    cases: int
    total: int
    failure: Failure | None
    time_limit: float

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def headline(self) -> str:
        """One line: ``conv2d: passed (30 of 30 cases)``, ``conv2d: failed on case 4 of 30``."""
        if self.status == "passed":
            return f"{self.exercise}: passed ({self.cases} of {self.total} cases)"
        if self.status == "not done":
            case = self.failure.case if self.failure is not None else 1
            where = f" for case {case} of {self.total}" if case > 1 else ""
            return f"{self.exercise}: not done yet{where} (it raises NotImplementedError)"
        assert self.failure is not None
        return f"{self.exercise}: {self.status} on case {self.failure.case} of {self.total}"

    def lines(self) -> list[str]:
        """The headline, then the failing case: its inputs, what was expected and received, the hint."""
        lines = [self.headline()]
        failure = self.failure
        if failure is None or (self.status == "not done" and failure.case == 1):
            return lines
        if failure.note:
            lines.append(f"  case:     {failure.note}")
        lines += [f"  input:    {name} = {describe(value)}" for name, value in failure.inputs.items()]
        lines.append(f"  expected: {describe(failure.expected)}")
        if failure.answered:
            lines.append(f"  received: {describe(failure.received)}")
        lines.append(f"  problem:  {failure.problem}")
        if failure.hint:
            lines.append(f"  hint:     {failure.hint}")
        lines.append("  (call your function on this case again with fn(**result.failure.inputs))")
        return lines

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:
        ink, paper = _COLOURS.get(self.status, _RED)
        head, *rest = self.lines()
        wrapped = "margin: 0.4em 0 0 0; white-space: pre-wrap; overflow-wrap: anywhere"  # a long tensor stays inside
        details = f'<pre style="{wrapped}">{html.escape(chr(10).join(rest))}</pre>' if rest else ""
        return (
            f'<div style="border: 2px solid {ink}; background: {paper}; color: #212529; padding: 0.5em 0.8em; '
            f'border-radius: 4px"><strong style="color: {ink}">{html.escape(head)}</strong>{details}</div>'
        )

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, object]:
        """Jupyter's text (this result's lines, not the dataclass's repr) and :data:`MIME_TYPE`'s JSON; IPython adds
        the HTML box from ``_repr_html_``."""
        return {"text/plain": str(self), MIME_TYPE: self.to_dict()}

    def to_dict(self) -> dict[str, object]:
        return {"exercise": self.exercise, "status": self.status, "passed": self.passed, "cases": self.cases,
                "total": self.total, "time_limit": self.time_limit,
                "failure": None if self.failure is None else self.failure.to_dict()}  # fmt: skip


def _signature_problem(fn: Any, exercise: Exercise, case: Case) -> str | None:
    """Why the exercise cannot call ``fn`` with its arguments (a function of the wrong shape), or ``None``."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or C function without one: the call itself will say
        return None
    try:
        signature.bind(*case.args)
    except TypeError:
        return f"your function takes {signature}; the exercise calls it as {exercise.signature}"
    return None


def _where(error: BaseException, fn: Any) -> str:
    """`` (line 7 of your function)``: the deepest line of the student's own file in the traceback."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == code.co_filename]
    if not lines:
        return ""
    # A cell's code has no file of its own: "<stdin>", "<string>", or IPython's /tmp/ipykernel_PID/HASH.py.
    yours = code.co_filename.startswith("<") or "ipykernel_" in Path(code.co_filename).parent.name
    return f" (line {lines[-1]} of {'your code' if yours else code.co_filename})"


def _gives(exercise: Exercise, fn: Any, case: Case, value: object) -> bool:
    """Whether the wrong answer ``fn`` returns ``value`` on ``case`` (a wrong answer that raises gives nothing)."""
    try:
        answer = fn(*copy.deepcopy(case.args))
    except Exception:  # (a mistake may not apply to every case: it then matches nothing there)
        return False
    read, problem = exercise.kind.read(answer)
    return problem is None and exercise.kind.same(read, value)


def _student_value(exercise: Exercise, fn: Any, case: Case, limit: float) -> tuple[bool, object]:
    """``(True, value)`` when the student's function returns a readable value on ``case`` in time."""
    outcome = call_with_limit(fn, copy.deepcopy(case.args), limit)
    if outcome.error is not None or outcome.timed_out:
        return False, None
    value, problem = exercise.kind.read(outcome.value)
    return problem is None, value


def diagnose(exercise: Exercise, fn: Any, cases: list[Case], expected: list[object], received: object,
             limit: float) -> WrongAnswer | None:  # fmt: skip
    """The known mistake that explains the student's answers: right on every case before the last of
    ``expected``, ``received`` on the case after them. Ties are settled on the next cases (see the module)."""
    failing = len(expected)
    matching = [
        wrong
        for wrong in exercise.wrong_answers
        if _gives(exercise, wrong.fn, cases[failing], received)
        and all(_gives(exercise, wrong.fn, case, want) for case, want in zip(cases, expected, strict=False))
    ]
    deadline = time.monotonic() + limit  # a slow (not hung) function may not make the check wait much longer
    for case in cases[failing + 1 : failing + 1 + _MORE_CASES]:
        if len(matching) < 2 or time.monotonic() > deadline:
            break
        answered, value = _student_value(exercise, fn, case, limit)
        if answered:
            matching = [wrong for wrong in matching if _gives(exercise, wrong.fn, case, value)] or matching
    return matching[0] if matching else None


def _failed(exercise: Exercise, fn: Any, cases: list[Case], expected: list[object], outcome: Outcome,
            limit: float) -> tuple[Status, str, object, str | None] | None:  # fmt: skip
    """``(status, problem, received, hint)`` of the case after ``expected``'s, or ``None`` when it passed."""
    want = expected[-1]
    if outcome.timed_out:
        running = (
            " and is still running in the background (no timer signal can stop a function here: off the main thread, "
            "or on Windows)"
        )
        return "timed out", f"took longer than {limit:g} s{running if outcome.still_running else ''}", None, None
    if isinstance(outcome.error, NotImplementedError):
        return "not done", "raises NotImplementedError on this case: not done yet", None, None
    if outcome.error is not None:
        error = outcome.error
        message = " ".join(str(error).split())  # one line: PyTorch's messages run over several
        message = message if len(message) <= _LONGEST else message[: _LONGEST - 3] + "..."
        text = f"{type(error).__name__}: {message}" if message else type(error).__name__
        return "raised", f"raised {text}{_where(error, fn)}", None, None
    received, problem = exercise.kind.read(outcome.value)
    if problem is None:
        problem = exercise.kind.differ(want, received)
        if problem is None:
            return None
        wrong = diagnose(exercise, fn, cases, expected[:-1], received, limit)
        return "failed", problem, received, wrong.mistake if wrong else None
    return "failed", problem, outcome.value, None


def run_check(exercise: Exercise, fn: Any, time_limit: float) -> CheckResult:
    """Run ``fn`` on every case of ``exercise`` until one fails (see :func:`cnnlab.check`)."""
    cases = exercise.cases()
    expected: list[object] = []
    for number, case in enumerate(cases, start=1):
        inputs = dict(zip(exercise.params, copy.deepcopy(case.args), strict=True))
        expected.append(exercise.reference(*copy.deepcopy(case.args)))
        mismatch = _signature_problem(fn, exercise, case) if number == 1 else None  # every case has the same arity
        if mismatch is not None:
            failure = Failure(number, case.note, inputs, expected[-1], None, mismatch)
            return CheckResult(exercise.name, "failed", number, len(cases), failure, time_limit)
        outcome = call_with_limit(fn, copy.deepcopy(case.args), time_limit)
        found = _failed(exercise, fn, cases, expected, outcome, time_limit)
        if found is not None:
            status, problem, received, hint = found
            failure = Failure(
                number,
                case.note,
                inputs,
                expected[-1],
                received,
                problem,
                hint,
                answered=outcome.error is None and not outcome.timed_out,
            )
            return CheckResult(exercise.name, status, number, len(cases), failure, time_limit)
    return CheckResult(exercise.name, "passed", len(cases), len(cases), None, time_limit)
