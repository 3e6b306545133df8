"""The scoring run's report, rendered in headless Chromium with the network cut off.

Uses the session's shared pipeline run (tests/conftest.py ``pipeline_run``): its last
daily run scored, so every section of the report has data except upgrade sources
(the tiny bank has 4 months, less than the 12-month lookback).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from reporting.reshape import PERSONAL_DATA_COLUMNS
from tests.browser import artifacts_dir, headless_chromium
from tests.conftest import latest_daily_report

# Every chart the scored tiny bank has data for (upgrade sources needs 12 months).
EXPECTED_CHARTS = {
    "chart-tiers",
    "chart-tier-migrations",
    "chart-churn-rate",
    "chart-churn-reasons",
    "chart-risk-bands",
    "chart-loads",
}
# Words of personal-data fields (docs/metrics.md "Personal data") a header must not have.
PERSONAL_DATA_WORDS = ("name", "national", "phone", "mail", "address", "birth", "id number")
# A tag that would fetch from the network: <script src=http...>, <link href=//...>, ...
REMOTE_REFERENCE = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//",
    re.IGNORECASE,
)
DIALOG_SPY = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt", "print"]) {
  window[name] = (...args) => { window.__dialogs.push([name, ...args.map(String)]); };
}
"""
INLINE_SCRIPT = re.compile(r"(<script\b[^>]*>).*?(</script>)", re.IGNORECASE | re.DOTALL)


@pytest.fixture(scope="module")
def report(pipeline_run: dict) -> Path:
    """The report of the daily run that scored (the next business day's, the latest)."""
    path = latest_daily_report(pipeline_run["env"])
    assert path.is_file(), f"no report at {path}"
    return path


@pytest.fixture(scope="module")
def browser(report: Path) -> Iterator[webdriver.Chrome]:
    with headless_chromium(
        "--window-size=1400,1000",
        # No network: any http(s) request goes to a closed local port and fails.
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--disable-background-networking",
        console_log=True,
    ) as driver:
        # Record every script dialog instead of showing it: a value of the data that
        # ran as script (the tiny bank has <script>alert(1)</script> in its free text)
        # would call one.
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": DIALOG_SPY})
        driver.get(report.as_uri())
        WebDriverWait(driver, 60).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        yield driver


def drawn_charts(driver: webdriver.Chrome) -> dict[str, int]:
    """Chart id -> traces drawn in its main svg (plotly.js: g.trace, g.hm for heatmaps),
    0 when it has no drawn svg of non-zero size."""
    return driver.execute_script(
        """
        const drawn = {};
        for (const chart of document.querySelectorAll('div.chart')) {
          const plot = chart.querySelector('.js-plotly-plot');
          const svg = plot && plot.querySelector('svg.main-svg');
          const box = svg && svg.getBoundingClientRect();
          drawn[chart.dataset.chart] = svg && box.width > 0 && box.height > 0
            ? svg.querySelectorAll('g.trace, g.hm').length : 0;
        }
        return drawn;
        """
    )


def test_every_chart_is_drawn_without_console_errors(browser: webdriver.Chrome) -> None:
    declared = int(
        browser.find_element(By.CSS_SELECTOR, 'meta[name="report-charts"]').get_attribute("content")
    )
    WebDriverWait(browser, 60).until(lambda d: all(drawn_charts(d).values()))
    drawn = drawn_charts(browser)
    assert set(drawn) == EXPECTED_CHARTS
    assert declared == len(drawn) == len(EXPECTED_CHARTS)
    assert all(count > 0 for count in drawn.values()), drawn
    # the upgrade-sources section says why it is empty instead
    assert "full lookback" in browser.find_element(By.TAG_NAME, "body").text
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
    save_screenshot(browser, artifacts_dir() / "run-report.png")


def test_no_script_dialog_was_opened(browser: webdriver.Chrome) -> None:
    """No value of the data ran as script (alert, confirm, prompt, print)."""
    WebDriverWait(browser, 60).until(lambda d: all(drawn_charts(d).values()))
    assert browser.execute_script("return window.__dialogs") == []


def test_nothing_is_fetched_from_the_network(browser: webdriver.Chrome, report: Path) -> None:
    fetched = browser.execute_script(
        "return performance.getEntriesByType('resource').map(entry => entry.name)"
    )
    assert [url for url in fetched if not url.startswith(("file:", "data:", "blob:"))] == []
    # nor could it be: no tag outside the inline scripts points at a remote address
    page = INLINE_SCRIPT.sub(r"\1\2", report.read_text(encoding="utf-8"))
    assert REMOTE_REFERENCE.findall(page) == []
    assert page.count("<script") == len(EXPECTED_CHARTS) + 1  # plotly.js once, one per chart


def test_the_at_risk_list_has_masked_ids_and_no_personal_data(
    browser: webdriver.Chrome, pipeline_run: dict
) -> None:
    table = browser.find_element(By.ID, "at-risk-table")
    headers = [th.text.strip().lower() for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
    assert "customer" in headers and "next best action" in headers
    assert "下一步最佳行动" in headers
    assert not PERSONAL_DATA_COLUMNS & set(headers)
    assert not [h for h in headers if any(word in h for word in PERSONAL_DATA_WORDS)], headers
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    masked = [row.find_elements(By.TAG_NAME, "td")[0].text for row in rows]
    assert all(re.fullmatch(r"\w{2}\*+\w{2}", text) for text in masked), masked
    with duckdb.connect(pipeline_run["env"]["PUBLISHED_PATH"], read_only=True) as con:
        published = con.execute("select customer_id from marts.mart_customer_360").fetchall()
    ids = {customer_id for (customer_id,) in published}
    assert ids
    page_text = browser.find_element(By.TAG_NAME, "body").text
    assert not [cid for cid in ids if cid in page_text]


def save_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    """The whole page, not only the window (Chrome DevTools protocol)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
