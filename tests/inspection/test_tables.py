import csv
import io
import json

import pytest

from cnnlab.inspection.tables import render_table

HEADERS = ["layer", "params", "ratio"]
ROWS = [["conv1", 156, 0.5], ["fc", 48120, None]]


def test_text_aligns_and_separates_thousands():
    lines = render_table(HEADERS, ROWS).splitlines()
    assert lines[0].split() == HEADERS
    assert lines[2].split() == ["fc", "48,120", "-"]
    assert len({line.index("params") + len("params") for line in lines[:1]}) == 1
    assert lines[1].index("156") + 3 == lines[2].index("48,120") + 6  # right-aligned numbers


def test_markdown_right_aligns_number_columns():
    lines = render_table(HEADERS, ROWS, "markdown").splitlines()
    assert lines[0].startswith("| layer")
    assert lines[1].replace(" ", "").startswith("|-----|-----:|")
    assert "| 48,120 |" in lines[3]


def test_csv_and_json_keep_plain_numbers():
    rows = list(csv.reader(io.StringIO(render_table(HEADERS, ROWS, "csv"))))
    assert rows == [HEADERS, ["conv1", "156", "0.5"], ["fc", "48120", ""]]
    assert json.loads(render_table(HEADERS, ROWS, "json"))[1] == {
        "layer": "fc",
        "params": 48120,
        "ratio": None,
    }


def test_bad_input_raises():
    with pytest.raises(ValueError, match="one cell per header"):
        render_table(HEADERS, [["x"]])
    with pytest.raises(ValueError, match="unknown table format"):
        render_table(HEADERS, ROWS, "yaml")
