"""The lecture notebook runs top to bottom, with the public API only, and shows what each section promises."""

import base64
import re
from pathlib import Path

import pytest

import cnnlab

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "lecture.ipynb"
# Seconds a cell may run before it counts as hung: this stops a hang, it does not time the notebook (a slow machine
# is not a failure). benchmarks/notebook.py measures how long it takes, and the README reports that.
HANG = 1800

nbformat = pytest.importorskip("nbformat", reason="the notebook extra: pip install -e '.[notebook]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook extra: pip install -e '.[notebook]'")


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook, run in a scratch directory (its runs and experiments go there)."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=HANG,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}},
    )
    client.execute()
    return notebook


def _outputs(cell):
    return cell.get("outputs", [])


def test_the_committed_notebook_has_no_outputs():
    """Outputs are made by running it, not stored: the file stays small and reviewable."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not _outputs(cell) for cell in notebook.cells if cell.cell_type == "code")


def test_it_uses_the_public_api_only():
    source = "\n".join(cell.source for cell in nbformat.read(NOTEBOOK, as_version=4).cells if cell.cell_type == "code")
    assert not re.search(r"from cnnlab\.(?!layers\b)|import cnnlab\.", source)  # cnnlab, cnnlab.layers, cnnlab.show
    assert set(re.findall(r"\bcnnlab\.(\w+)", source)) <= {*cnnlab.__all__, "layers", "__version__"}


@pytest.mark.slow
def test_it_runs_top_to_bottom_without_errors(executed):
    errors = [o for cell in executed.cells for o in _outputs(cell) if o.output_type == "error"]
    assert not errors, errors[0]


@pytest.mark.slow
def test_each_section_shows_its_table_or_picture(executed):
    shown = [output for cell in executed.cells for output in _outputs(cell)]
    pictures = [base64.b64decode(o.data["image/png"]) for o in shown if "image/png" in o.get("data", {})]
    tables = [o.data["text/html"] for o in shown if "text/html" in o.get("data", {})]
    pictures += [base64.b64decode(uri) for t in tables for uri in re.findall(r"data:image/png;base64,([^\"]+)", t)]
    assert len(pictures) >= 6  # 5 figures and the experiment's, inlined in its table
    assert all(p.startswith(b"\x89PNG") and len(p) > 5_000 for p in pictures)
    text = (
        "\n".join(tables)
        + "\n".join(o.get("text", "") for o in shown)
        + "\n".join(o.data.get("text/plain", "") for o in shown if "data" in o)
    )
    for expected in ("784x", "o = floor((32 - 5 + 2*1) / 2) + 1 = 15", "60,000", "<table", "largest difference",
                     "ResNet-56", "the claim"):  # fmt: skip
        assert expected in text, expected


@pytest.mark.slow
def test_the_arithmetic_moves_and_lenet_is_drawn(executed):
    shown = [output for cell in executed.cells for output in _outputs(cell)]
    pages = [o.data["text/html"] for o in shown if "text/html" in o.get("data", {})]
    movies = [base64.b64decode(uri) for page in pages for uri in re.findall(r"data:image/gif;base64,([^\"]+)", page)]
    assert len(movies) == 2 and all(movie.startswith(b"GIF89a") for movie in movies)  # conv, transposed
    drawings = [o.data["image/svg+xml"] for o in shown if "image/svg+xml" in o.get("data", {})]
    assert len(drawings) == 1 and "C1" in drawings[0] and "6@28x28" in drawings[0]
