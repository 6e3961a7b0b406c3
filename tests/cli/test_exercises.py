"""``cnnlab exercises``: the list in the lecture's order, one exercise's task, and a one-line error for a bad name."""

import json

import cnnlab


def test_the_list_is_the_library_s_list(run):
    code, out, err = run("exercises")
    assert code == 0 and err == ""
    assert out == str(cnnlab.exercises()) + "\n"
    assert run("exercises", "list") == (0, out, "")


def test_the_list_as_json(run):
    code, out, _ = run("exercises", "list", "--format", "json")
    assert code == 0 and [row["exercise"] for row in json.loads(out)] == cnnlab.exercises().names


def test_one_exercise_s_task_in_full(run):
    code, out, _ = run("exercises", "conv2d")
    assert code == 0 and out == str(cnnlab.exercises()["conv2d"]) + "\n"
    assert "fn(x, weight, bias, stride, padding) -> tensor N x O x H' x W'" in out and "Example:" in out


def test_a_bad_name_is_one_line_with_the_closest_names(fails):
    assert fails("exercises", "max-pol") == (
        "cnnlab exercises: error: no exercise called 'max-pol'; did you mean max-pool or mean-pool or mixed-pool?"
    )
    assert fails("exercises", "zzzz") == "cnnlab exercises: error: no exercise called 'zzzz'; `cnnlab exercises` " \
        "lists them"  # fmt: skip
