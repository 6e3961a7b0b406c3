"""Debian's Chromium for the tests that open pages: where it is, the marks of a test that needs it, and a launch
through Playwright (pointed at that executable: nothing downloads a browser of its own)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
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
