"""What an exercise is: a task in the lecture's words, its reference answer, its cases and its known wrong answers.

An exercise is data (timm's and torchvision's habit for architectures): the section modules declare them, the
registry orders them as the lecture does, and the checker (:mod:`cnnlab.practice._check`) runs any of them the
same way. Its wrong answers are small functions, each the mistake a student makes, so that the checker can say
which one a student's answer matches, and the tests can feed each one back to the checker.
"""

from __future__ import annotations

import random
import textwrap
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from cnnlab.practice._values import Kind

__all__ = ["Case", "Exercise", "WrongAnswer", "randn"]


@dataclass(frozen=True)
class Case:
    """One call of the student's function: its arguments, in the signature's order, and what is special about it.

    Attributes:
        args: the arguments.
        note: the edge it tests ("stride larger than the kernel", "1x1 input"); empty for a random case.
    """

    args: tuple[object, ...]
    note: str = ""


@dataclass(frozen=True)
class WrongAnswer:
    """A known mistake, as a function with the exercise's signature that makes it.

    Attributes:
        mistake: what the student did, in the lecture's words; the check's hint when an answer matches it.
        fn: the wrong answer.
    """

    mistake: str
    fn: Callable[..., object]


@dataclass(frozen=True)
class Exercise:
    """A function the student writes, and everything needed to check it.

    Attributes:
        name: how ``cnnlab.check(name, fn)`` names it (kebab-case).
        section: the lecture's section it belongs to (its heading).
        title: one line: what to write.
        params: the names of the function's arguments, in order.
        returns: what it returns, in words (``"int"``, ``"tensor N x O x H' x W'"``).
        statement: the task, in full: what to compute, the arguments, an example, the lecture's words and the paper.
        reference: the right answer (PyTorch's or cnnlab's own layers and arithmetic).
        make_cases: the cases from a seeded random generator, edge cases first.
        kind: how its answers are read and compared.
        wrong_answers: the known mistakes, each with its hint.
    """

    name: str
    section: str
    title: str
    params: tuple[str, ...]
    returns: str
    statement: str
    reference: Callable[..., object]
    make_cases: Callable[[random.Random], list[Case]]
    kind: Kind
    wrong_answers: tuple[WrongAnswer, ...] = ()

    @property
    def function_name(self) -> str:
        """The name a student's function goes by in a notebook (``output_size`` for ``output-size``)."""
        return self.name.replace("-", "_")

    @property
    def signature(self) -> str:
        """``fn(i, k, p, s) -> int``."""
        return f"fn({', '.join(self.params)}) -> {self.returns}"

    @property
    def seed(self) -> int:
        """The seed of its cases: fixed per exercise, so a failure reproduces on any machine and every run."""
        return zlib.crc32(self.name.encode())

    def cases(self) -> list[Case]:
        """Its cases, the same on every call."""
        return self.make_cases(random.Random(self.seed))

    def __str__(self) -> str:
        body = textwrap.dedent(self.statement).strip()
        return f"{self.name} ({self.section}): {self.title}\n\n    {self.signature}\n\n{body}"

    def _repr_html_(self) -> str:
        import html

        return f"<pre>{html.escape(str(self))}</pre>"


def randn(rng: random.Random, *shape: int) -> torch.Tensor:
    """Normal values in float64 (so that a student's loop and PyTorch agree far below any mistake), from ``rng``."""
    generator = torch.Generator().manual_seed(rng.getrandbits(62))
    return torch.randn(*shape, generator=generator, dtype=torch.float64)
