"""A minimal page template for the tests of ``publish`` while the page's own (static/page.html) is written.

It has every placeholder the real one has, in the same elements, and the page's Content-Security-Policy.
"""

import shutil
from pathlib import Path

import cnnlab.publish.page as page

CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:; "
    "connect-src 'none'; base-uri 'none'; form-action 'none'"
)
TEMPLATE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title><!--CNNLAB:TITLE--></title>
<style>/*CNNLAB:CSS*/</style>
</head><body><h1><!--CNNLAB:TITLE--></h1><p class="note"><!--CNNLAB:NOTE--></p>
<script type="application/json" id="cnnlab-data"><!--CNNLAB:DATA--></script>
<script>/*CNNLAB:FORWARD*/</script>
<script>/*CNNLAB:PREPARE*/</script>
<script>/*CNNLAB:PAGE*/</script>
</body></html>
"""


def stand_in_static(folder: Path) -> Path:
    """A copy of the page's parts with the stand-in template, page.js and page.css, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for script in ("forward.js", "prepare.js"):
        shutil.copy(page.STATIC / script, folder / script)
    (folder / "page.html").write_text(TEMPLATE, encoding="utf-8")
    (folder / "page.js").write_text("window.cnnlab = {};\n", encoding="utf-8")
    (folder / "page.css").write_text("body { margin: 0 }\n", encoding="utf-8")
    return folder
