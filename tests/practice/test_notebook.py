"""The exercise notebooks: built from the exercises, committed as built, run as a student and a teacher would.

Exercises as shipped: every check says "not done yet", no traceback. Solutions: every check passes. The grader on
made-up students: all right, one wrong (its hint in the CSV), one whose cells raise, one that hangs.
"""

import ast
import csv
import io
from pathlib import Path

import pytest

import cnnlab
from cnnlab.practice import EXERCISES, Grade, Grades, exercise_notebook, grade
from cnnlab.practice._check import MIME_TYPE
from cnnlab.practice.notebook import SECTION_PROSE, check_cell_source, function_cell_source, notebook_text

nbformat = pytest.importorskip("nbformat", reason="the notebook extra: pip install -e '.[notebook]'")
nbclient = pytest.importorskip("nbclient", reason="the notebook extra: pip install -e '.[notebook]'")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
HANG = 600  # seconds a notebook may run before it counts as hung (a guard, not a timing: both take seconds)


def _cell(notebook, cell_id):
    return next(cell for cell in notebook.cells if cell.get("id") == cell_id)


def write_student(folder: Path, name: str, *, change=None) -> Path:
    """A made-up student's notebook: the solutions, changed by ``change(notebook)`` (a mistake, a bad cell)."""
    notebook = exercise_notebook(solutions=True)
    if change is not None:
        change(notebook)
    path = folder / name
    path.write_text(notebook_text(notebook), encoding="utf-8")
    return path


def flip_the_kernel(notebook):
    cell = _cell(notebook, "conv2d-code")
    assert "(window * weight[m])" in cell.source
    cell.source = cell.source.replace("(window * weight[m])", "(window * weight[m].flip(-2, -1))")


def raise_in_cells(notebook):
    """A cell that raises at the top, and max-pool's cell with a syntax error (so max_pool is never defined)."""
    notebook.cells.insert(2, nbformat.v4.new_code_cell("1 / 0"))
    _cell(notebook, "max-pool-code").source += " +"


def hang_before_lenet(notebook):
    index = notebook.cells.index(_cell(notebook, "lenet-c3-code"))
    notebook.cells.insert(index, nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(0.05)"))


def _run(notebook: "nbformat.NotebookNode", folder: Path):
    notebook.cells.append(nbformat.v4.new_code_cell("import cnnlab\nprint(cnnlab.__file__)"))
    client = nbclient.NotebookClient(notebook, timeout=HANG, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})  # fmt: skip
    client.execute()
    # the kernel imported the cnnlab under test (this checkout's), not another installed one
    assert Path(notebook.cells[-1].outputs[0].text.strip()).parent == Path(cnnlab.__file__).parent
    return notebook


def _checks(notebook) -> dict[str, dict]:
    found = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if MIME_TYPE in output.get("data", {}):
                found[output.data[MIME_TYPE]["exercise"]] = output.data[MIME_TYPE]
    return found


def _shown(notebook, mime: str) -> list:
    """What the check results showed as ``mime``, in order."""
    return [o.data[mime] for cell in notebook.cells for o in cell.get("outputs", []) if MIME_TYPE in o.get("data", {})]


def _errors(notebook):
    return [o for cell in notebook.cells for o in cell.get("outputs", []) if o.output_type == "error"]


# ------------------------------------------------------------------------------------------------ the files


@pytest.mark.parametrize("solutions", [False, True], ids=["exercises", "solutions"])
def test_the_committed_notebook_is_what_the_library_builds(solutions):
    """scripts/exercise_notebooks.py (`make notebooks`) rewrites them after a change to an exercise."""
    path = NOTEBOOKS / ("solutions.ipynb" if solutions else "exercises.ipynb")
    assert path.read_text(encoding="utf-8") == notebook_text(exercise_notebook(solutions=solutions))


@pytest.mark.parametrize("solutions", [False, True], ids=["exercises", "solutions"])
def test_the_notebook_has_no_outputs_and_a_task_code_and_check_per_exercise(solutions):
    notebook = exercise_notebook(solutions=solutions)
    nbformat.validate(notebook)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    ids = [cell.id for cell in notebook.cells]
    for exercise in EXERCISES:
        at = ids.index(f"{exercise.name}-task")
        assert ids[at + 1 : at + 3] == [f"{exercise.name}-code", f"{exercise.name}-check"]
        assert _cell(notebook, f"{exercise.name}-check").source == f'cnnlab.check("{exercise.name}", ' \
            f"{exercise.function_name})"  # fmt: skip
        assert exercise.statement.split()[0] in _cell(notebook, f"{exercise.name}-task").source


def test_each_section_opens_with_the_lecture_s_words():
    notebook = exercise_notebook()
    sections = list(dict.fromkeys(exercise.section for exercise in EXERCISES))
    assert list(SECTION_PROSE) == sections
    headings = [cell.source.splitlines()[0] for cell in notebook.cells if cell.id.startswith("section-")]
    assert headings == [f"## {section}" for section in sections]
    assert (
        "o = floor((i - k + 2p) / s) + 1" in SECTION_PROSE["Feature maps"]
        and "shared weights" in SECTION_PROSE["Types of network"]
    )


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_the_cell_to_fill_has_the_signature_a_docstring_and_raises_until_filled(exercise):
    source = function_cell_source(exercise)
    definition = ast.parse(source).body[0]
    assert isinstance(definition, ast.FunctionDef) and definition.name == exercise.function_name
    assert tuple(arg.arg for arg in definition.args.args) == exercise.params
    assert ast.get_docstring(definition) and source.endswith('    raise NotImplementedError("your code here")')
    solved = ast.parse(function_cell_source(exercise, solution=True)).body[0]
    assert ast.get_docstring(solved) == ast.get_docstring(definition) and "NotImplementedError" not in ast.unparse(
        solved
    )


def _namespace(solutions: bool) -> dict:
    """The notebook's code cells run in one namespace, as its kernel would (without one: fast)."""
    namespace: dict = {}
    exec("import math\nimport torch\nimport torch.nn.functional as F\nimport cnnlab", namespace)
    for exercise in EXERCISES:
        exec(function_cell_source(exercise, solution=solutions), namespace)
    return namespace


def test_the_solutions_cells_pass_every_check():
    namespace = _namespace(solutions=True)
    for exercise in EXERCISES:
        result = eval(check_cell_source(exercise), namespace)
        assert result.passed, str(result)


def test_the_cells_as_shipped_are_not_done_yet():
    namespace = _namespace(solutions=False)
    for exercise in EXERCISES:
        result = eval(check_cell_source(exercise), namespace)
        assert result.status == "not done" and str(result) == f"{exercise.name}: not done yet (it raises " \
            "NotImplementedError)"  # fmt: skip


def test_a_result_publishes_its_dict_for_programs_and_its_lines_as_text():
    result = cnnlab.check("output-size", lambda i, k, p, s: (i - k + 2 * p) // s)
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"] == str(result) and bundle[MIME_TYPE] == result.to_dict()
    assert bundle[MIME_TYPE]["failure"]["hint"].startswith("the +1 is forgotten")


def test_the_readme_shows_what_the_check_prints(capsys):
    """The README's section for students: its snippet, run as written, prints the output shown under it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exercises, for students and teachers", 1)[1]
    snippet = section.split("```python\n", 1)[1].split("```", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    exec(compile(snippet, "README.md", "exec"), {})
    assert capsys.readouterr().out == shown


def test_write_exercise_notebook_refuses_to_replace_a_student_s_work(tmp_path):
    from cnnlab.practice import write_exercise_notebook

    path = write_exercise_notebook(tmp_path / "new")
    assert path == tmp_path / "new" / "exercises.ipynb"
    path.write_text("my work", encoding="utf-8")
    with pytest.raises(ValueError, match=r"exists already; overwrite replaces it"):
        write_exercise_notebook(tmp_path / "new")
    assert path.read_text(encoding="utf-8") == "my work"
    assert write_exercise_notebook(tmp_path / "new", overwrite=True).read_text(encoding="utf-8") == notebook_text(
        exercise_notebook()
    )


# ------------------------------------------------------------------------------------------- run in a kernel


@pytest.mark.slow
def test_the_exercise_notebook_runs_and_every_check_is_not_done_yet(tmp_path):
    notebook = _run(nbformat.read(NOTEBOOKS / "exercises.ipynb", as_version=4), tmp_path)
    assert not _errors(notebook), _errors(notebook)[:1]
    checks = _checks(notebook)
    assert list(checks) == [exercise.name for exercise in EXERCISES]
    assert all(check["status"] == "not done" for check in checks.values())
    texts = _shown(notebook, "text/plain")
    assert all(text.endswith("not done yet (it raises NotImplementedError)") for text in texts)


@pytest.mark.slow
def test_the_solutions_notebook_runs_and_every_check_passes(tmp_path):
    notebook = _run(nbformat.read(NOTEBOOKS / "solutions.ipynb", as_version=4), tmp_path)
    assert not _errors(notebook), _errors(notebook)[:1]
    checks = _checks(notebook)
    assert list(checks) == [exercise.name for exercise in EXERCISES]
    assert all(check["passed"] for check in checks.values()), [c for c in checks.values() if not c["passed"]]
    boxes = _shown(notebook, "text/html")
    assert len(boxes) == len(EXERCISES) and all("#1e7e34" in box for box in boxes)  # the green box


# ------------------------------------------------------------------------------------------------ the grader


def test_grade_says_in_one_line_what_is_wrong_with_its_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"^no folder .*nowhere$"):
        grade(tmp_path / "nowhere")
    with pytest.raises(ValueError, match=r"^no notebook \(\*\.ipynb\) in "):
        grade(tmp_path)
    with pytest.raises(ValueError, match=r"^timeout: expected a positive number of seconds, got 0$"):
        grade(tmp_path, timeout=0)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(ValueError, match=r"is not a folder$"):
        grade(tmp_path / "file.txt")


def test_a_notebook_that_cannot_be_read_gets_a_row_per_exercise_saying_so(tmp_path):
    (tmp_path / "broken.ipynb").write_text("{not json", encoding="utf-8")
    grades = grade(tmp_path, timeout=5)
    assert [row.exercise for row in grades] == [exercise.name for exercise in EXERCISES]
    assert {(row.status, row.hint.split(":")[0]) for row in grades} == {("not checked", "cannot read the notebook")}


def test_grades_as_csv_and_as_a_table_by_student():
    rows = (
        Grade("a.ipynb", "conv2d", "passed"),
        Grade("a.ipynb", "max-pool", "failed", "mean instead of max"),
        Grade("b.ipynb", "conv2d", "missing", "no cell defines conv2d"),
        Grade("b.ipynb", "max-pool", "not done"),
    )
    grades = Grades(Path("class"), 60.0, rows, {"b.ipynb": ("cell 3 raised ZeroDivisionError: division by zero",)})
    assert grades.to_csv().splitlines() == [
        "student,exercise,passed,status,hint",
        "a.ipynb,conv2d,yes,passed,",
        "a.ipynb,max-pool,no,failed,mean instead of max",
        "b.ipynb,conv2d,no,missing,no cell defines conv2d",
        "b.ipynb,max-pool,no,not done,",
    ]
    table = str(grades).splitlines()
    assert table[0].split() == ["student", "passed", "wrong", "not", "done", "not", "checked", "notebook"]
    assert table[1].split()[:6] == ["a.ipynb", "1", "of", "2", "max-pool", "(failed)"]
    assert table[2].split()[:7] == ["b.ipynb", "0", "of", "2", "-", "2", "0"]
    assert "cell 3 raised ZeroDivisionError" in table[2] and grades.students == ["a.ipynb", "b.ipynb"]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Three made-up students (all right, one mistake, cells that raise) and one whose notebook hangs."""
    folder = tmp_path_factory.mktemp("class")
    write_student(folder, "ada.ipynb")
    write_student(folder, "bob.ipynb", change=flip_the_kernel)
    write_student(folder, "cat.ipynb", change=raise_in_cells)
    write_student(folder, "dan.ipynb", change=hang_before_lenet)
    return grade(folder, timeout=20)


def _rows(grades, student):
    return {row.exercise: row for row in grades.of(student)}


@pytest.mark.slow
def test_the_grader_passes_a_student_with_every_answer_right(graded):
    assert graded.students == ["ada.ipynb", "bob.ipynb", "cat.ipynb", "dan.ipynb"]
    assert all(row.passed for row in graded.of("ada.ipynb")) and "ada.ipynb" not in graded.notes


@pytest.mark.slow
def test_the_grader_names_a_student_s_mistake_in_the_csv(graded):
    rows = list(csv.DictReader(io.StringIO(graded.to_csv())))
    bob = {row["exercise"]: row for row in rows if row["student"] == "bob.ipynb"}
    assert bob["conv2d"]["passed"] == "no" and bob["conv2d"]["status"] == "failed"
    assert "the kernel is flipped" in bob["conv2d"]["hint"]
    # transposed-conv calls conv2d: it inherits the mistake; the rest are right
    assert {name for name, row in bob.items() if row["passed"] == "no"} == {"conv2d", "transposed-conv"}


@pytest.mark.slow
def test_the_grader_goes_on_past_cells_that_raise_and_says_why_a_function_is_missing(graded):
    cat = _rows(graded, "cat.ipynb")
    assert cat["max-pool"].status == "missing"
    assert (
        cat["max-pool"].hint.startswith("max_pool is not defined: its cell ")
        and "raised SyntaxError" in cat["max-pool"].hint
    )
    assert cat["mixed-pool"].status == "raised" and "NameError" in cat["mixed-pool"].hint  # it calls max_pool
    assert all(cat[name].passed for name in cat if name not in ("max-pool", "mixed-pool"))
    assert graded.notes["cat.ipynb"][0] == "cell 3 raised ZeroDivisionError: division by zero"


@pytest.mark.slow
def test_the_grader_stops_a_notebook_that_hangs_and_checks_what_it_defined(graded):
    dan = _rows(graded, "dan.ipynb")
    before = [exercise.name for exercise in EXERCISES][: [e.name for e in EXERCISES].index("lenet-c3")]
    assert all(dan[name].passed for name in before)
    after = [name for name in dan if name not in before]
    assert all(dan[name].status == "missing" and dan[name].hint.startswith("not reached") for name in after)
    assert graded.notes["dan.ipynb"][0].startswith("ran past 20 s; stopped in cell ")
