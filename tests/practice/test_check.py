"""cnnlab.check never raises because of the student's code: whatever the function does is its result, said plainly."""

import html.parser
import json
import signal
import sys
import threading
import time

import pytest
import torch

import cnnlab
from cnnlab.practice import CheckResult, ExerciseList, find
from cnnlab.practice._limit import call_with_limit

LIMIT = 0.3  # seconds: small, so that a hang costs the suite little


def right_size(i, k, p, s):
    return (i - k + 2 * p) // s + 1


def test_a_passing_check_says_so_in_every_form():
    result = cnnlab.check("output-size", right_size)
    assert isinstance(result, CheckResult) and result.passed and result.status == "passed"
    assert str(result) == f"output-size: passed ({result.total} of {result.total} cases)"
    assert "#1e7e34" in result._repr_html_() and "passed" in result._repr_html_()
    assert result.to_dict()["passed"] is True and result.to_dict()["failure"] is None


def test_a_wrong_value_gives_the_case_its_inputs_the_two_answers_and_the_hint():
    result = cnnlab.check("output-size", lambda i, k, p, s: (i - k + 2 * p) // s)
    assert result.status == "failed" and not result.passed and result.cases == result.failure.case == 1
    failure = result.failure
    assert failure.inputs == {"i": 32, "k": 5, "p": 0, "s": 1} and failure.expected == 28 and failure.received == 27
    assert failure.problem == "returned 27 where 28 was expected"
    assert failure.hint == "the +1 is forgotten: the first position of the window counts too"
    assert right_size(**failure.inputs) == failure.expected  # the inputs reproduce the case
    text = str(result)
    assert text.startswith("output-size: failed on case 1 of ") and "  received: 27" in text and "hint:" in text
    assert "#b02a37" in result._repr_html_()


def test_an_unknown_mistake_fails_without_a_hint():
    result = cnnlab.check("output-size", lambda i, k, p, s: 7)
    assert result.status == "failed" and result.failure.hint is None and "hint:" not in str(result)


def test_the_hint_is_kept_for_the_mistake_that_explains_every_case_so_far():
    """ceil and floor agree where the windows fit: the checker names ceil only once a case tells them apart."""
    import math

    result = cnnlab.check("output-size", lambda i, k, p, s: math.ceil((i - k + 2 * p) / s) + 1)
    assert result.failure.case > 1 and result.failure.hint.startswith("ceil instead of floor")


def raises_not_implemented(*args):
    raise NotImplementedError


def test_not_done_yet_is_its_own_status_without_a_traceback():
    result = cnnlab.check("conv2d", raises_not_implemented)
    assert result.status == "not done" and not result.passed
    assert str(result) == "conv2d: not done yet (it raises NotImplementedError)"
    assert "Traceback" not in result._repr_html_() and "#6c757d" in result._repr_html_()


def test_not_done_for_some_cases_names_the_case():
    def partly(x, weight, bias, stride, padding):
        if stride > 1:
            raise NotImplementedError("strides later")
        return torch.nn.functional.conv2d(x, weight, bias, stride, padding)

    result = cnnlab.check("conv2d", partly)
    assert result.status == "not done" and result.failure.case > 1
    assert str(result).startswith(f"conv2d: not done yet for case {result.failure.case} of {result.total} (it raises")
    assert "stride = " in str(result) and "not done yet" in str(result)


def test_an_exception_is_named_with_the_line_that_raised_it():
    def broken(i, k, p, s):
        return (i - k + 2 * p) // (s - s) + 1

    result = cnnlab.check("output-size", broken)
    assert result.status == "raised" and result.failure.received is None
    line = broken.__code__.co_firstlineno + 1
    assert result.failure.problem == f"raised ZeroDivisionError: integer division or modulo by zero (line {line} of " \
        f"{__file__})"  # fmt: skip
    assert "received:" not in str(result)


@pytest.mark.parametrize(
    ("name", "fn", "problem"),
    [
        ("output-size", lambda i, k, p, s: None, "returned None (did you forget to return the result?); expected a "
                                                 "whole number (an int)"),
        ("output-size", lambda i, k, p, s: "28", "returned '28', a str; expected a whole number (an int)"),
        ("output-size", lambda i, k, p, s: 28.0, "returned 28.0, a float, where the whole number 28 was expected (use "
                                                 "// or int())"),
        ("conv2d", lambda x, w, b, s, p: [[0.0]], "returned [[0.0]], a list; expected a tensor (torch.Tensor)"),
        ("conv2d", lambda x, w, b, s, p: torch.zeros(1, 1), "returned a tensor of shape 1x1 where 1x1x1x1 was "
                                                           "expected"),
        ("max-pool", lambda x, k, s: torch.full_like(x, float("nan")), "returned a tensor holding NaN"),
        ("layer-weights", lambda shape, o, k: (1, 2), "returned (1, 2), a tuple; expected a tuple of 3 whole numbers "
                                                      "(fully connected, locally connected, convolution)"),
        ("output-size", lambda i, k: 28, "your function takes (i, k); the exercise calls it as fn(i, k, p, s) -> int"),
    ],
    ids=["None", "str", "float", "list", "shape", "nan", "short-tuple", "signature"],
)  # fmt: skip
def test_a_wrong_type_or_shape_or_none_is_a_clear_failure(name, fn, problem):
    result = cnnlab.check(name, fn)
    assert result.status == "failed" and result.failure.problem == problem, str(result)


def test_a_numpy_array_or_a_numpy_integer_is_taken():
    import numpy as np

    assert cnnlab.check("conv2d", lambda x, w, b, s, p: torch.nn.functional.conv2d(x, w, b, s, p).numpy()).passed
    assert cnnlab.check("output-size", lambda i, k, p, s: np.int64(right_size(i, k, p, s))).passed


def test_a_function_that_changes_its_inputs_changes_no_other_case():
    def in_place(x, kernel, stride):
        out = torch.nn.functional.max_pool2d(x, kernel, stride)
        x.zero_()
        return out

    result = cnnlab.check("max-pool", in_place)
    assert result.passed, str(result)


def sleeps(i, k, p, s):
    time.sleep(30)


def swallows_then_sleeps(i, k, p, s):
    try:
        time.sleep(30)
    except BaseException:  # a student's bare except swallows the first alarm: the next one stops the loop below
        time.sleep(0)
    while True:
        pass


@pytest.mark.parametrize("fn", [sleeps, swallows_then_sleeps], ids=["sleep", "bare-except"])
def test_a_hang_is_stopped_at_the_time_limit(fn):
    result = cnnlab.check("output-size", fn, time_limit=LIMIT)
    assert result.status == "timed out" and result.failure.case == 1
    assert result.failure.problem == f"took longer than {LIMIT:g} s"
    assert "timed out on case 1" in str(result)


def test_the_timer_and_handler_in_place_before_are_put_back():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *_: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 60)
        cnnlab.check("output-size", sleeps, time_limit=LIMIT)
        assert signal.getitimer(signal.ITIMER_REAL)[0] > 50  # the outer timer goes on with what it had left
        assert signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None) and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_off_the_main_thread_a_hang_is_reported_and_left_running():
    results = []
    thread = threading.Thread(target=lambda: results.append(cnnlab.check("output-size", sleeps, time_limit=LIMIT)))
    thread.start()
    thread.join(30)
    (result,) = results
    assert result.status == "timed out"
    assert result.failure.problem == f"took longer than {LIMIT:g} s and is still running in the background (no " \
        "timer signal can stop a function here: off the main thread, or on Windows)"  # fmt: skip


def test_off_the_main_thread_a_right_answer_passes():
    results = []
    thread = threading.Thread(target=lambda: results.append(cnnlab.check("output-size", right_size)))
    thread.start()
    thread.join(60)
    assert results[0].passed


def test_ctrl_c_in_the_student_s_function_stops_the_check():
    def interrupted(i, k, p, s):
        raise KeyboardInterrupt

    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(KeyboardInterrupt):
        cnnlab.check("output-size", interrupted)
    assert signal.getsignal(signal.SIGALRM) == before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_exit_in_the_student_s_function_is_its_result():
    result = cnnlab.check("output-size", lambda i, k, p, s: sys.exit(3))
    assert result.status == "raised" and result.failure.problem.startswith("raised SystemExit: 3 (line ")


def test_call_with_limit_returns_what_the_function_did():
    assert call_with_limit(lambda a: a + 1, (1,), LIMIT).value == 2
    assert isinstance(call_with_limit(lambda: 1 / 0, (), LIMIT).error, ZeroDivisionError)
    assert call_with_limit(time.sleep, (30,), LIMIT).timed_out


class _Html(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open.pop() == tag

    def handle_data(self, data):
        self.text.append(data)


def test_the_failure_is_json_and_well_formed_html():
    result = cnnlab.check("conv2d", lambda x, w, b, s, p: torch.nn.functional.conv2d(x, w, None, s, p))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "failed" and data["failure"]["hint"].startswith("the bias is forgotten")
    assert data["failure"]["inputs"]["stride"] == 1 and data["failure"]["expected"]["shape"] == [1, 1, 1, 1]
    parser = _Html()
    parser.feed(result._repr_html_())
    assert not parser.open and "the bias is forgotten" in "".join(parser.text)


def test_a_bad_exercise_name_is_one_line_with_the_closest_names():
    with pytest.raises(ValueError, match=r"^no exercise called 'maxpool'; did you mean max-pool or "):
        cnnlab.check("maxpool", right_size)
    with pytest.raises(ValueError, match=r"^no exercise called 'zzz'; exercises\(\) lists them$"):
        cnnlab.check("zzz", right_size)
    with pytest.raises(TypeError, match=r"^name: expected an exercise's name such as 'conv2d'"):
        cnnlab.check(right_size, "output-size")
    with pytest.raises(TypeError, match=r"^fn: expected the function you wrote for output-size \(fn\(i, k, p, s\) -> "
                                        r"int\), got None$"):  # fmt: skip
        cnnlab.check("output-size", None)
    for limit in (0, -1, float("nan"), float("inf"), True, "5"):
        with pytest.raises(ValueError, match=r"^time_limit: expected a positive number of seconds"):
            cnnlab.check("output-size", right_size, time_limit=limit)
    with pytest.raises(ValueError, match="did you mean conv2d"):
        cnnlab.exercises()["conv2"]


def test_the_list_prints_a_line_each_in_order_and_shows_as_a_table():
    listing = cnnlab.exercises()
    assert isinstance(listing, ExerciseList) and len(listing) >= 12
    lines = str(listing).splitlines()
    assert len(lines) == len(listing) + 1 and lines[0].split() == ["#", "exercise", "section", "write"]
    assert [line.split()[1] for line in lines[1:]] == listing.names
    assert listing[0].name == listing.names[0] and listing["conv2d"] is find("conv2d")
    assert "conv2d" in listing and find("max-pool") in listing and "conv3d" not in listing
    assert listing[1:3].names == listing.names[1:3] and isinstance(listing[1:3], ExerciseList)
    assert listing._repr_html_().count("<tr") == len(listing) + 1
    assert [row["name"] for row in listing.to_dict()] == listing.names
    assert "fn(x, weight, bias, stride, padding)" in listing.to_dict()[listing.names.index("conv2d")]["signature"]


def test_a_long_error_message_is_one_line():
    def shapes_wrong(x, weight, bias, stride, padding):
        return torch.nn.functional.conv2d(x, weight.transpose(0, 1), bias, stride, padding)

    result = cnnlab.check("conv2d", shapes_wrong)
    assert result.status == "raised" and result.failure.problem.startswith("raised RuntimeError: ")
    assert "\n" not in result.failure.problem and len(result.failure.problem) < 500


def test_a_sigalrm_handler_set_outside_python_is_left_alone(monkeypatch):
    """getsignal is None for a handler set from C: it could not be put back, so the check uses no signal at all."""
    import cnnlab.practice._limit as limit

    monkeypatch.setattr(limit.signal, "getsignal", lambda signum: None)
    monkeypatch.setattr(limit.signal, "signal", lambda *args: pytest.fail("the handler was replaced"))
    result = cnnlab.check("output-size", sleeps, time_limit=LIMIT)
    assert result.status == "timed out" and "still running in the background" in result.failure.problem
    assert cnnlab.check("output-size", right_size).passed
