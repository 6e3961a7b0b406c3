"""Errors about settings: whole numbers are checked and worded once, and every front end says it the same way."""

import argparse

import pytest

import cnnlab
from cnnlab.cli._parser import non_negative_int, positive_int
from cnnlab.errors import SettingError, expected_whole_number, read_whole_number, whole_number
from cnnlab.training.config import setting_problem


@pytest.mark.parametrize(
    ("value", "minimum", "says"),
    [
        (0, 1, "k: expected a positive whole number, got 0"),
        (-1, 0, "k: expected a whole number >= 0, got -1"),
        (2, 3, "k: expected a whole number >= 3, got 2"),
        (2.0, 1, "k: expected a positive whole number, got 2.0"),
        ("3", 1, "k: expected a positive whole number, got '3'"),
        (True, 0, "k: expected a whole number >= 0, got True"),  # a bool is an int to Python, not to cnnlab
        (None, 1, "k: expected a positive whole number, got None"),
    ],
)
def test_what_is_not_a_whole_number_is_refused_by_name(value, minimum, says):
    with pytest.raises(SettingError) as caught:
        whole_number("k", value, minimum=minimum)
    assert str(caught.value) == says and caught.value.settings == ["k"]


def test_whole_numbers_pass_through():
    assert whole_number("k", 1) == 1 and whole_number("seed", 0, minimum=0) == 0
    assert read_whole_number("12") == 12 and read_whole_number("0", minimum=0) == 0


def test_written_whole_numbers_are_refused_as_written():
    with pytest.raises(ValueError, match=r"^expected a positive whole number, got 'two'$"):
        read_whole_number("two")
    with pytest.raises(ValueError, match=r"^expected a whole number >= 0, got -3$"):
        read_whole_number("-3", minimum=0)


def test_whole_numbers_start_at_zero():
    with pytest.raises(ValueError, match="whole numbers start at 0"):
        expected_whole_number(-1)


def test_every_front_end_words_a_whole_number_the_same_way():
    said = []
    for call in (
        lambda: cnnlab.summary("lenet5", depth=0),
        lambda: cnnlab.experiment("degradation", epochs=0),
        lambda: cnnlab.create_model("lenet5", num_classes=0),
    ):
        with pytest.raises(SettingError) as caught:
            call()
        said.append(str(caught.value).split(": ", 1)[1])
    said.append(setting_problem("epochs", 0))
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        positive_int("0")
    said.append(str(caught.value))
    assert set(said) == {"expected a positive whole number, got 0"}
    with pytest.raises(argparse.ArgumentTypeError, match=r"^expected a whole number >= 0, got -1$"):
        non_negative_int("-1")
    assert setting_problem("seed", -1) == "expected a whole number >= 0, got -1"


@pytest.mark.parametrize(
    ("seeds", "says"), [([], "expected at least one seed"), ([0, -1], "got -1"), ([True], "got True")]
)
def test_an_experiment_refuses_bad_seeds_before_it_runs(seeds, says, tmp_path):
    with pytest.raises(SettingError, match=f"seeds: .*{says}"):
        cnnlab.experiment("degradation", seeds=seeds, out=tmp_path)
    assert not any(tmp_path.iterdir())
