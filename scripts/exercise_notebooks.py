"""Write notebooks/exercises.ipynb and notebooks/solutions.ipynb from the exercises (`make notebooks`).

Both are built by ``cnnlab.practice.notebook.exercise_notebook``, without outputs; run this after changing an
exercise, its statement, a section's prose or a worked answer, and commit the two files (a test fails while
they differ from what the library builds). Run:

    .venv/bin/python scripts/exercise_notebooks.py [--out notebooks]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cnnlab.practice.notebook import write_exercise_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=NOTEBOOKS, help="the folder they go to")
    args = parser.parse_args(argv)
    return [write_exercise_notebook(args.out, solutions=solutions, overwrite=True) for solutions in (False, True)]


if __name__ == "__main__":
    for path in main():
        print(path)
