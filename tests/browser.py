"""Headless Chromium for the browser tests (the run report, the Airflow UI).

Needs the Debian packages ``chromium`` and ``chromium-driver`` (bin/setup installs them
as root); without them a browser test fails, it never skips. Selenium is given both
binaries and SE_OFFLINE, so Selenium Manager never tries to download a driver.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from include.config import REPO_ROOT


def artifacts_dir() -> Path:
    """Where browser tests keep their screenshots (TEST_ARTIFACTS_DIR, default test-artifacts/)."""
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO_ROOT / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def headless_chromium(*arguments: str, console_log: bool = False) -> Iterator[webdriver.Chrome]:
    """A headless Chromium driven by selenium, quit when the block ends."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        pytest.fail(
            "headless Chromium is missing: install the Debian packages chromium and "
            "chromium-driver (bin/setup does it as root: apt-get install chromium chromium-driver)"
        )
    options = Options()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", *arguments):
        options.add_argument(argument)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")
        driver = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    try:
        yield driver
    finally:
        driver.quit()
