"""The exercise notebook, built from the exercises themselves: the lecture's words, a cell to fill, a check.

``exercise_notebook()`` is what a student gets (``notebooks/exercises.ipynb``, and ``cnnlab exercises --notebook``):
for each section of the lecture, a few of its lines, then for each exercise its task, a cell with the function's
``def`` line and docstring that raises ``NotImplementedError`` until it is filled, and a check cell
(``cnnlab.check("output-size", output_size)``). Run as shipped, every check says "not done yet". With
``solutions=True`` each cell holds a worked answer (:mod:`cnnlab.practice._solutions`) and every check passes.
Both are built here and nowhere else, so the committed files cannot drift from the exercises (a test compares).

nbformat comes with the ``notebook`` extra; it is imported only when a notebook is built.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from cnnlab.errors import SettingError
from cnnlab.files import ensure_directory, write_text
from cnnlab.practice._exercise import Exercise
from cnnlab.practice._registry import EXERCISES
from cnnlab.practice._solutions import SOLUTIONS

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["NOTEBOOK_NAME", "SECTION_PROSE", "exercise_notebook", "notebook_text", "write_exercise_notebook"]

NOTEBOOK_NAME = "exercises.ipynb"
"""The file a student's copy is written to."""

# Each section's lines from the lecture (seed/), short and in its words: what the exercises under it practise.
SECTION_PROSE: dict[str, str] = {
    "Types of network": """\
A **fully connected** network: each neuron detects a different pattern, but there are too many weights for each
neuron, and features are local: only neighbouring pixels are correlated. A **locally connected** network gives each
neuron a kernel, spatially limited connections: much more efficient, as each neuron only has a small number of
pixels it relies on. Add **shared weights**: all connections in the first layer have the same weights, they all
extract the same feature at different positions in the image, and the weighted sum of the inputs is the
convolution.""",
    "Feature maps": """\
The size of a feature map along each axis depends on the input size i, the kernel size k, the zero padding p and
the stride s: **o = floor((i - k + 2p) / s) + 1**.

We can learn multiple kernels at once by stacking the output feature maps: a layer is perceived as a
multi-channel image, and deeper layers process the channels of the previous layers.""",
    "Downsampling via pooling": """\
Pooling is used to reduce the size of deeper layers; it gives invariance to small translations, and the
contraction forces the network to learn high-level features. There are several types, such as max pooling or
mean pooling, and you can also learn a pooling type via back propagation.""",
    "Upsampling": """\
Upsampling is done with a **transposed convolution**: it adds zeros between the values of the feature map, and then
blurs it with a learned convolution kernel.""",
    "LeNet": """\
LeNet was the first successful application of CNNs to a real-world problem: convolution for spatial features,
subsampling by average pooling, tanh, **sparse connectivity between S2 and C3**, and an MLP as the final
classifier.""",
    "AlexNet and VGGNet": """\
LeNet led to AlexNet (max pooling and ReLU, stacked convolutional layers, dropout, data augmentation, trained on
2 GPUs) and VGGNet: more layers, and **smaller 3x3 filters on all convolutional layers** with a stride of 1.""",
    "Network in a network": """\
CNNs can get very large (lots of parameters). The **network in a network** approach puts fully connected layers in
between the convolutional layers, so that very deep networks can be built without the number of parameters
exploding.""",
    "GoogLeNet": """\
GoogLeNet (Inception V1): 22 layers, **inception modules**, auxiliary classifiers used only during training to
help the gradient flow backwards, and **global average pooling** as the final layer. Inception V2 replaced the
7x7 and 5x5 filters with several 3x3 convolutions.""",
    "ResNet": """\
Going deeper isn't always better: solvers cannot find the solution when the network gets deeper (optimisation
difficulties). This led to **ResNet**, whose residual connections jump over weighted layers, passing $x$ as an
identity to the output, so that networks can go much deeper.""",
}

_INTRO = """\
# CNNs, the exercises

Each exercise is a function you write, in the lecture's order. Under each task is a cell with the function's first
line and its docstring: replace `raise NotImplementedError("your code here")` with your code, run the cell, then
run the check under it. `cnnlab.check` calls your function on random and edge cases, compares its answers with
PyTorch's, and stops at the first case it gets wrong: it shows the inputs, what was expected and what your function
returned, and when your answer matches a known mistake (a kernel flipped, the padding forgotten, ceil instead of
floor, ...) it names it. `fn(**result.failure.inputs)` calls your function on that case again.

Until you fill a cell its check says "not done yet". Loops are fine: the checks use small inputs. A later exercise
may call your answer to an earlier one (`conv2d` may call `output_size`), as the lecture builds on itself."""

_SOLUTIONS_INTRO = """\
# CNNs, the exercises: solutions

The exercise notebook with a worked answer in every cell, written as a student would (loops and indexing, not
PyTorch's layers); every check passes. Keep this notebook apart from the students' copies."""

_SETUP = """\
import math

import torch
import torch.nn.functional as F

import cnnlab

cnnlab.exercises()"""

_TODO = 'raise NotImplementedError("your code here")'
_WIDTH = 116  # of a docstring's lines, indented (the notebook's cells keep the house's 120)


def _nbformat() -> ModuleType:
    """nbformat, imported where it is needed (see the module's docstring)."""
    try:
        import nbformat
    except ImportError:
        raise ImportError("the exercise notebooks need nbformat: pip install 'cnnlab[notebook]'") from None
    return nbformat


def _docstring(exercise: Exercise) -> str:
    """The cell's docstring: the exercise's title as a sentence, and what the function returns."""
    title = exercise.title[0].upper() + exercise.title[1:] + "."
    lines = [*textwrap.wrap(title, _WIDTH - 7), "", f"Returns {exercise.returns}."]  # 7: indent and quotes
    body = "\n".join(f"    {line}" if line else "" for line in lines)
    return f'    """{body.lstrip()}\n    """'


def _solution_body(exercise: Exercise) -> str:
    """The worked answer's body, as written in :mod:`cnnlab.practice._solutions`, indented as in the cell."""
    fn = SOLUTIONS[exercise.name]
    source = textwrap.dedent(inspect.getsource(fn))
    definition = ast.parse(source).body[0]
    assert isinstance(definition, ast.FunctionDef)
    params = tuple(arg.arg for arg in definition.args.args)
    if params != exercise.params:  # a mistake in this package: the cell's def line would not fit the body
        raise RuntimeError(f"the solution to {exercise.name} takes {params}, the exercise {exercise.params}")
    lines = source.splitlines()
    return "\n".join(lines[definition.body[0].lineno - 1 :])


def function_cell_source(exercise: Exercise, *, solution: bool = False) -> str:
    """The cell a student fills: the ``def`` line, the docstring, and ``raise NotImplementedError`` or an answer."""
    head = f"def {exercise.function_name}({', '.join(exercise.params)}):\n{_docstring(exercise)}\n"
    return head + (_solution_body(exercise) if solution else f"    {_TODO}")


def check_cell_source(exercise: Exercise) -> str:
    """``cnnlab.check("output-size", output_size)``."""
    return f'cnnlab.check("{exercise.name}", {exercise.function_name})'


def _task(number: int, exercise: Exercise) -> str:
    statement = textwrap.dedent(exercise.statement).strip()
    return f"### {number}. `{exercise.name}`: {exercise.title}\n\n`{exercise.signature}`\n\n{statement}"


def exercise_notebook(*, solutions: bool = False) -> NotebookNode:
    """The exercise notebook (``solutions=True``: with the worked answers) as an nbformat notebook, no outputs.

    Cell ids are fixed (``output-size-code``), so that the same exercises always build the same file.

    Raises:
        ImportError: nbformat is not installed (the ``notebook`` extra).
    """
    nbformat = _nbformat()
    v4 = nbformat.v4
    cells = [v4.new_markdown_cell(_SOLUTIONS_INTRO if solutions else _INTRO, id="intro"),
             v4.new_code_cell(_SETUP, id="setup")]  # fmt: skip
    section = None
    for number, exercise in enumerate(EXERCISES, start=1):
        if exercise.section != section:
            section = exercise.section
            slug = section.lower().replace(" ", "-")
            cells.append(v4.new_markdown_cell(f"## {section}\n\n{SECTION_PROSE[section]}", id=f"section-{slug}"))
        cells += [
            v4.new_markdown_cell(_task(number, exercise), id=f"{exercise.name}-task"),
            v4.new_code_cell(function_cell_source(exercise, solution=solutions), id=f"{exercise.name}-code"),
            v4.new_code_cell(check_cell_source(exercise), id=f"{exercise.name}-check"),
        ]
    metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    return v4.new_notebook(cells=cells, metadata=metadata)


def notebook_text(notebook: NotebookNode) -> str:
    """The notebook as its file holds it (nbformat's JSON, one newline at the end)."""
    return _nbformat().writes(notebook).rstrip("\n") + "\n"


def write_exercise_notebook(folder: str | os.PathLike[str], *, solutions: bool = False,
                            overwrite: bool = False) -> Path:  # fmt: skip
    """Write a fresh exercise notebook (``exercises.ipynb``; ``solutions.ipynb`` with ``solutions``) into
    ``folder``, made if missing; returns its path.

    Raises:
        SettingError: the file exists and ``overwrite`` is not set (a student's work is never replaced unasked).
        OSError: ``folder`` cannot be a directory, or the file cannot be written (one line).
    """
    path = ensure_directory(Path(folder).expanduser()) / ("solutions.ipynb" if solutions else NOTEBOOK_NAME)
    if path.is_dir():
        raise OSError(f"cannot write {path}: it is a directory")
    if path.exists() and not overwrite:
        raise SettingError(f"{path} exists already; <overwrite> replaces it (and the work in it)")
    return write_text(path, notebook_text(exercise_notebook(solutions=solutions)))
