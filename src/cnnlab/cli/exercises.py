"""``cnnlab exercises``: the lecture's exercises, each one's task, a student's notebook, and a teacher's grades."""

from __future__ import annotations

import argparse
import sys

from cnnlab.inspection.tables import TABLE_FORMATS

# cnnlab.practice.grading.DEFAULT_TIMEOUT (a test holds them equal): importing it here would import torch for
# every command's --help.
DEFAULT_TIMEOUT = 300.0

DESCRIPTION = """The lecture as exercises: each is a function you write (the size of a feature map, a convolution
with loops, max pooling, LeNet-5's C3, a residual block, ...), which cnnlab checks against PyTorch on random and
edge cases, naming the mistake when your answer matches a known one. Check one from Python or Jupyter:

    import cnnlab
    cnnlab.check("conv2d", my_conv2d)

--notebook DIR writes the exercise notebook (DIR/exercises.ipynb): the lecture's words, a cell to fill and a
check for each exercise. A teacher grades a folder of them with `grade DIR`.

WARNING: `grade` RUNS THE STUDENTS' CODE: every cell of every notebook in DIR, in a Jupyter kernel on this
machine, with your rights (it can read, change and delete whatever you can). --timeout stops a notebook that
hangs, nothing else is stopped. Grade in a container or an account of its own.

examples:
  cnnlab exercises                  the exercises in the lecture's order, a line each
  cnnlab exercises list --format markdown
  cnnlab exercises conv2d           what to write for one of them: the signature, an example, the paper
  cnnlab exercises --notebook ~/cnn a fresh exercise notebook, ~/cnn/exercises.ipynb
  cnnlab exercises grade submitted/ --timeout 120 --output grades.csv
                                    run every notebook in submitted/ and write a row per student and exercise"""

NAME = "exercises"
HELP = "the lecture's exercises: list them, show one, write the notebook, grade students' notebooks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="?", default="list", metavar="list|EXERCISE|grade",
                        help="list (the default), an exercise's name to show its task, or grade DIR")  # fmt: skip
    parser.add_argument("folder", nargs="?", metavar="DIR", help="grade: the folder of the students' notebooks")
    parser.add_argument("--format", choices=TABLE_FORMATS, default="text", help="format of the list or the grades")
    notebook = parser.add_argument_group("the student's notebook")
    notebook.add_argument("--notebook", metavar="DIR", help="write a fresh exercise notebook, DIR/exercises.ipynb")
    notebook.add_argument("--force", dest="overwrite", action="store_true",
                          help="replace an existing DIR/exercises.ipynb (and the work in it)")  # fmt: skip
    grading = parser.add_argument_group("grade (RUNS THE STUDENTS' CODE)")
    grading.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                         help="seconds for each notebook's cells, all together (the checks: as long)")  # fmt: skip
    grading.add_argument("--output", default="grades.csv", metavar="FILE",
                         help="the CSV: student, exercise, passed, status, hint")  # fmt: skip
    parser.set_defaults(handler=run, prog=parser.prog)


def run(args: argparse.Namespace) -> int:
    if args.notebook is not None:
        return _notebook(args)
    if args.what == "grade":
        return _grade(args)
    if args.folder is not None:
        raise ValueError(f"DIR is for grade: `cnnlab exercises grade {args.folder}`")
    return _show(args)


def _show(args: argparse.Namespace) -> int:
    from cnnlab.practice import exercises, find

    if args.what == "list":
        print(exercises().render(args.format))
        return 0
    try:
        exercise = find(args.what)
    except ValueError as error:  # the library points at its own call; here the command lists them
        raise ValueError(str(error).replace("exercises() lists them", "`cnnlab exercises` lists them")) from None
    print(exercise)
    return 0


def _notebook(args: argparse.Namespace) -> int:
    from cnnlab.practice import write_exercise_notebook

    if args.what != "list" or args.folder is not None:
        raise ValueError("--notebook writes the whole notebook: leave out the exercise or grade")
    print(write_exercise_notebook(args.notebook, overwrite=args.overwrite))
    return 0


def _grade(args: argparse.Namespace) -> int:
    from cnnlab.practice import grade

    if args.folder is None:
        raise ValueError("grade needs DIR, the folder of the students' notebooks: `cnnlab exercises grade DIR`")

    def say(number: int, count: int, name: str) -> None:  # on stderr: the table on stdout stays the result
        print(f"running {number} of {count}: {name}", file=sys.stderr, flush=True)

    grades = grade(args.folder, args.timeout, progress=say)
    path = grades.write_csv(args.output)
    print(grades.render(args.format))
    print(f"grades: {path}")
    return 0
