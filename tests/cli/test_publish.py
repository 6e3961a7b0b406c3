"""``cnnlab publish``: parses, calls cnnlab.publish, prints the file and its size."""

import json
import re

import cnnlab.publish.page as page


def test_publish_prints_the_page_and_its_size(run, tmp_path):
    out = tmp_path / "pages" / "lab.html"
    code, printed, err = run("publish", "lenet5", "--output", str(out), "--title", "Week 3", "--note", "Draw.")
    assert code == 0, err
    assert re.fullmatch(rf"{re.escape(str(out))} \(\d+ KB\): lenet5\n", printed)
    block = re.search(r'id="cnnlab-data">(.*?)</script>', out.read_text(encoding="utf-8"), re.DOTALL).group(1)
    data = json.loads(block)
    assert data["title"] == "Week 3" and data["note"] == "Draw." and data["models"][0]["name"] == "lenet5"


def test_publish_needs_an_output(fails):
    assert "--output" in fails("publish", "lenet5")


def test_a_page_too_big_is_one_line_that_points_to_the_lab(fails, tmp_path, monkeypatch):
    monkeypatch.setattr(page, "MAX_PAGE_BYTES", 1000)
    assert "(cnnlab lab)" in fails("publish", "lenet5", "--output", str(tmp_path / "lab.html"))
    assert not (tmp_path / "lab.html").exists()
