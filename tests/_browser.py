"""Debian's Chromium for the tests that open pages: where it is, the marks of a test that needs it, and a launch
through Playwright (pointed at that executable: nothing downloads a browser of its own)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scripts.lab_screenshot import ARGS

CHROMIUM = next((shutil.which(name) for name in ("chromium", "chromium-browser") if shutil.which(name)), None)

NEEDS_CHROMIUM = [
    pytest.mark.slow,  # a headless Chromium
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed: `.ci/run` installs Debian's chromium (apt-get install chromium)",
    ),
]
"""A module's ``pytestmark`` when its tests open Chromium."""


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright's ``Browser``), closed afterwards; skips the test where Chromium or
    Playwright's Python package is missing."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed: `.ci/run` installs Debian's chromium (apt-get install chromium)")
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="Playwright's Python package: pip install playwright"
    )
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


class OpenedPage:
    """A page opened from disk in ``browser``, with what it tried to reach (every request but ``file:``, ``data:``
    and ``blob:`` is aborted and recorded) and the errors it wrote on the console; :meth:`close` asserts there
    were none of either."""

    def __init__(self, browser: Any, path: Path, width: int = 1400, height: int = 1000) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.route("**/*", self._route)
        self.page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready=true]", state="attached")

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.split(":", 1)[0] in ("file", "data", "blob"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def check_clean(self) -> None:
        assert self.blocked == [], f"the page tried to reach {self.blocked}"
        assert self.errors == [], self.errors

    def close(self) -> None:
        self.check_clean()
        self.page.close()
