"""``cnnlab exercises --notebook DIR`` and ``cnnlab exercises grade DIR``: a student's copy, a teacher's grades."""

import csv

import pytest

from cnnlab.cli import exercises as command
from cnnlab.practice import exercise_notebook
from cnnlab.practice.grading import DEFAULT_TIMEOUT
from cnnlab.practice.notebook import notebook_text
from tests.practice.test_notebook import flip_the_kernel, write_student

pytest.importorskip("nbformat", reason="the notebook extra: pip install -e '.[notebook]'")


def test_notebook_writes_the_library_s_exercise_notebook(run, tmp_path):
    code, out, err = run("exercises", "--notebook", str(tmp_path / "me"))
    path = tmp_path / "me" / "exercises.ipynb"
    assert (code, out, err) == (0, f"{path}\n", "")
    assert path.read_text(encoding="utf-8") == notebook_text(exercise_notebook())


def test_notebook_keeps_a_student_s_work_unless_forced(run, fails, tmp_path):
    path = tmp_path / "exercises.ipynb"
    path.write_text("my work", encoding="utf-8")
    assert fails("exercises", "--notebook", str(tmp_path)) == (
        f"cnnlab exercises: error: {path} exists already; --force replaces it (and the work in it)"
    )
    assert path.read_text(encoding="utf-8") == "my work"
    assert run("exercises", "--notebook", str(tmp_path), "--force")[0] == 0
    assert path.read_text(encoding="utf-8") == notebook_text(exercise_notebook())


def test_bad_folders_and_arguments_are_one_line(fails, tmp_path):
    (tmp_path / "file").write_text("x")
    assert fails("exercises", "--notebook", str(tmp_path / "file")).endswith("it is a file")
    assert fails("exercises", "conv2d", "--notebook", str(tmp_path)).endswith("leave out the exercise or grade")
    assert fails("exercises", "grade").endswith("grade needs DIR, the folder of the students' notebooks: "
                                                "`cnnlab exercises grade DIR`")  # fmt: skip
    assert fails("exercises", "grade", str(tmp_path / "nowhere")) == f"cnnlab exercises: error: no folder " \
        f"{tmp_path / 'nowhere'}"  # fmt: skip
    assert fails("exercises", "grade", str(tmp_path)).endswith(f"no notebook (*.ipynb) in {tmp_path}")
    assert fails("exercises", "grade", str(tmp_path), "--timeout", "0").endswith(
        "--timeout: expected a positive number of seconds, got 0.0"
    )
    assert fails("exercises", "conv2d", str(tmp_path)).endswith(
        f"DIR is for grade: `cnnlab exercises grade {tmp_path}`"
    )


def test_the_help_says_grade_runs_the_students_code(run):
    code, out, _ = run("exercises", "--help")
    assert code == 0 and "RUNS THE STUDENTS' CODE" in out and "with your rights" in out
    assert command.DEFAULT_TIMEOUT == DEFAULT_TIMEOUT


@pytest.mark.slow
def test_grade_writes_the_csv_and_prints_a_line_per_student(run, tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    write_student(folder, "ada.ipynb")
    write_student(folder, "bob.ipynb", change=flip_the_kernel)
    output = tmp_path / "grades.csv"
    code, out, err = run("exercises", "grade", str(folder), "--timeout", "60", "--output", str(output))
    assert code == 0 and err == "running 1 of 2: ada.ipynb\nrunning 2 of 2: bob.ipynb\n"  # nothing else on stderr
    lines = out.splitlines()
    assert lines[1].split()[:4] == ["ada.ipynb", "17", "of", "17"]
    assert lines[2].split()[:6] == ["bob.ipynb", "15", "of", "17", "conv2d", "(failed),"]
    assert lines[-1] == f"grades: {output}"
    rows = list(csv.DictReader(output.open(encoding="utf-8")))
    assert len(rows) == 2 * 17 and {row["student"] for row in rows} == {"ada.ipynb", "bob.ipynb"}
    wrong = [row for row in rows if row["passed"] == "no"]
    assert [(row["student"], row["exercise"]) for row in wrong] == [
        ("bob.ipynb", "conv2d"),
        ("bob.ipynb", "transposed-conv"),
    ]
    assert "the kernel is flipped" in wrong[0]["hint"]


def test_grade_says_which_notebook_it_is_running_on_stderr(run, tmp_path):
    for name in ("bob.ipynb", "alice.ipynb"):  # unreadable: graded without a kernel, each "not checked"
        (tmp_path / name).write_text("not a notebook", encoding="utf-8")
    code, out, err = run("exercises", "grade", str(tmp_path), "--output", str(tmp_path / "grades.csv"))
    assert code == 0
    assert err.splitlines() == ["running 1 of 2: alice.ipynb", "running 2 of 2: bob.ipynb"]
    assert "running" not in out and "cannot read the notebook" in out
