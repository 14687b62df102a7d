"""Playwright for Python driving Debian's chromium: never a downloaded browser, never the network."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Headless, sandbox-free (containers), and silent: no update, sync or background traffic.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]


@contextmanager
def chromium(executable: str = CHROMIUM) -> Iterator[Any]:
    """A launched browser (playwright's own browser download is never used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, base: str, token: str, path: str = "/console") -> None:
    page.goto(f"{base}{path}")
    page.fill("#token", token)
    page.click("form[action='/console/login'] button[type=submit]")
    page.wait_for_load_state("load")
