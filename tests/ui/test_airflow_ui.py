"""The Airflow UI of `bin/airflow-ui`, in headless Chromium: log in, open the daily DAG,
see its tasks. Starts Airflow's services in a temporary AIRFLOW_HOME and always stops them.

Needs the Debian packages `chromium` and `chromium-driver` (bin/setup installs them);
without them the test fails, it never skips. A screenshot of the DAG page is kept in
TEST_ARTIFACTS_DIR (default: test-artifacts/ in the repository).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from include.config import REPO_ROOT
from tests.browser import artifacts_dir, headless_chromium
from tests.conftest import pipeline_environment, run_command

DAG_ID = "customer_operations_daily"
TASKS = ("load_landing_files", "validate_marts", "publish_for_bi")
USER = "admin"
STARTUP_TIMEOUT = 240  # seconds; the machine may be busy
T = TypeVar("T")


@dataclass(frozen=True)
class AirflowUI:
    url: str
    password: str
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """The services `bin/airflow-ui` started: each leads a process group of its own."""
    with suppress(OSError):
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return []


def stop(process: subprocess.Popen, services: list[int]) -> None:
    """SIGTERM to the script's process group (it stops its services); then SIGKILL to
    every process group left, the services' included."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        pass
    for group in (process.pid, *services):
        with suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
    process.wait(timeout=10)


def get_json(url: str, token: str | None = None, data: dict | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait_for(what: str, check: Callable[[], T | None], process: subprocess.Popen, log: Path) -> T:
    """Poll ``check`` until it returns a value; fail with the script's output if it dies."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bin/airflow-ui exited {process.returncode}:\n{log.read_text()[-4000:]}")
        with suppress(OSError, ValueError):
            if (value := check()) is not None:
                return value
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}; bin/airflow-ui said:\n{log.read_text()[-4000:]}")


@pytest.fixture(scope="module")
def airflow_ui(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> Iterator[AirflowUI]:
    data_dir = tmp_path_factory.mktemp("airflow-ui")
    env = pipeline_environment(data_dir)
    env["AIRFLOW_UI_PORT"] = str(free_port())
    url = f"http://localhost:{env['AIRFLOW_UI_PORT']}"
    # What bin/setup does for Airflow (the rest of it is the shared environment and manifest).
    airflow = str(Path(sys.executable).with_name("airflow"))
    run_command([airflow, "db", "migrate"], env)
    run_command([airflow, "pools", "set", "duckdb_writer", "1", "warehouse writers"], env)

    log = data_dir / "airflow-ui.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(REPO_ROOT / "bin" / "airflow-ui"), "--no-setup"],
            env=env,
            cwd=REPO_ROOT,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    services: list[int] = []
    try:
        wait_for(
            "the API server's health endpoint",
            lambda: get_json(f"{url}/api/v2/monitor/health"),
            process,
            log,
        )
        services = children(process.pid)
        passwords = Path(env["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
        password = json.loads(passwords.read_text())[USER]
        token = get_json(f"{url}/auth/token", data={"username": USER, "password": password})[
            "access_token"
        ]

        def parsed() -> dict | None:
            try:
                return get_json(f"{url}/api/v2/dags/{DAG_ID}", token)
            except urllib.error.HTTPError as error:
                if error.code != 404:  # 404: not parsed by the dag-processor yet
                    raise
            errors = get_json(f"{url}/api/v2/importErrors", token)["import_errors"]
            if errors:
                pytest.fail(f"the dag-processor could not import the DAGs: {errors}")
            return None

        wait_for(f"the dag-processor to parse {DAG_ID}", parsed, process, log)
        yield AirflowUI(url=url, password=password, log=log)
    finally:
        services = services or children(process.pid)
        stop(process, services)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with headless_chromium("--window-size=1600,1000") as driver:
        yield driver


def page_text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def submit_login(driver: WebDriver, password: str) -> bool:
    """Fill in and send the login form; the wait retries it whole if the form re-renders,
    and not once an earlier try's click has left the login page."""
    if "/auth/login" not in driver.current_url:
        return True
    for name, value in (("username", USER), ("password", password)):
        field = driver.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    return True


def test_log_in_and_see_the_daily_dag_tasks(airflow_ui: AirflowUI, browser: WebDriver) -> None:
    # The UI is a React app: an element found may be re-rendered (stale) before it is read,
    # and a command sent while the login redirects is aborted by the navigation
    # ("Inspected target navigated or closed"); the wait tries again in each case.
    wait = WebDriverWait(browser, 90, ignored_exceptions=(WebDriverException,))
    screenshot = artifacts_dir() / f"airflow-ui-{DAG_ID}.png"
    try:
        browser.get(f"{airflow_ui.url}/dags/{DAG_ID}")
        # Not logged in: the SimpleAuthManager's login form, then back to the DAG's page.
        wait.until(lambda d: d.find_element(By.NAME, "username"))
        assert "/auth/login" in browser.current_url
        wait.until(lambda d: submit_login(d, airflow_ui.password))
        wait.until(lambda d: all(task in page_text(d) for task in TASKS))
        assert browser.current_url.endswith(f"/dags/{DAG_ID}")
        assert DAG_ID in page_text(browser)
    finally:
        browser.save_screenshot(str(screenshot))
