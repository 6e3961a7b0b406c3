"""The lecture as exercises a student writes and cnnlab checks: ``cnnlab.check(name, fn)``, ``cnnlab.exercises()``.

Each exercise is a function the student writes (the size of a feature map, a convolution with loops, max
pooling, LeNet-5's C3, a residual block, ...), checked on random and edge cases against PyTorch's or cnnlab's own
answer, with a hint that names the mistake when the answer matches a known one. The exercises follow the
lecture's order; each module of this package holds one part of it.
"""

from cnnlab.practice._check import CheckResult, Failure
from cnnlab.practice._exercise import Case, Exercise, WrongAnswer
from cnnlab.practice._registry import DEFAULT_TIME_LIMIT, EXERCISES, ExerciseList, check, exercises, find

__all__ = [
    "DEFAULT_TIME_LIMIT",
    "EXERCISES",
    "Case",
    "CheckResult",
    "Exercise",
    "ExerciseList",
    "Failure",
    "WrongAnswer",
    "check",
    "exercises",
    "find",
]
