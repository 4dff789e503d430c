"""What every headless-Chromium test shares: the browser, its marks, a page fixture and polling helpers.

Test modules take ``pytestmark = BROWSER_MARKS``; the ``page`` fixture reaches them through conftest.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium "
                       "(apt-get install chromium); CI installs it"),
]


@pytest.fixture
def page():
    """A fresh 1400x900 page in headless Debian Chromium (closed after the test)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def wait_until(page, check, what: str, timeout: float = 15.0) -> None:
    """Poll ``check()`` from Python (the App's Content-Security-Policy forbids in-page eval polling)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(50)


def all_images_loaded(page) -> None:
    wait_until(page, lambda: page.evaluate(
        "() => document.images.length > 0 && "
        "[...document.images].every(i => !i.getAttribute('src') || (i.complete && i.naturalWidth > 0))"),
        "the images to load")


def shown(page) -> str:
    """The id of the sample review mode shows."""
    return page.get_attribute("[data-testid=review]", "data-sample-id") or ""


def settled(page) -> bool:
    """Whether review mode has no decision in flight."""
    return page.get_attribute("[data-testid=review]", "data-pending") in (None, "0")


def label_of(dataset, sample_id: str) -> str:
    """The stored ground-truth label of one sample (what a decision wrote)."""
    return dataset[sample_id].ground_truth.label
