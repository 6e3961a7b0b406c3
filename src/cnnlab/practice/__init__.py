"""The lecture as exercises a student writes and cnnlab checks: ``cnnlab.check(name, fn)``, ``cnnlab.exercises()``.

Each exercise is a function the student writes (the size of a feature map, a convolution with loops, max
pooling, LeNet-5's C3, a residual block, ...), checked on random and edge cases against PyTorch's or cnnlab's own
answer, with a hint that names the mistake when the answer matches a known one. The exercises follow the
lecture's order; each module of this package holds one part of it. ``exercise_notebook()`` builds the notebook a
student fills (:mod:`cnnlab.practice.notebook`), and ``grade(folder)`` runs a folder of them and checks each
(:mod:`cnnlab.practice.grading`: it runs the students' code).
"""

from cnnlab.practice._check import CheckResult, Failure
from cnnlab.practice._exercise import Case, Exercise, WrongAnswer
from cnnlab.practice._registry import DEFAULT_TIME_LIMIT, EXERCISES, ExerciseList, check, exercises, find
from cnnlab.practice.grading import Grade, Grades, grade
from cnnlab.practice.notebook import exercise_notebook, write_exercise_notebook

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "EXERCISES",
    "Case",
    "CheckResult",
    "Exercise",
    "ExerciseList",
    "Failure",
    "Grade",
    "Grades",
    "WrongAnswer",
    "check",
    "exercise_notebook",
    "exercises",
    "find",
    "grade",
    "write_exercise_notebook",
]
