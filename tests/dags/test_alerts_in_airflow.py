"""Alerts recorded by Airflow itself: a task that fails runs through `airflow dags test`,
and a run that outlasts its deadline runs under Airflow's scheduler. Both DAGs use the
project's defaults (dags/pipeline_defaults.py) from a temporary DAGs folder, with a
throwaway AIRFLOW_HOME and warehouse."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import date
from pathlib import Path

import duckdb
import pytest

from include.config import REPO_ROOT
from tests.conftest import pipeline_environment, run_command

RUN_DATE = "2025-04-30"
REASON = "landing file customers_20250430.csv is truncated"

FAILING_DAG = f'''
from datetime import datetime

from airflow.sdk import dag, task
from pipeline_defaults import DAG_FAILURE_CALLBACKS, DEFAULT_ARGS


@dag(
    dag_id="alert_probe",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    default_args=DEFAULT_ARGS,
    on_failure_callback=DAG_FAILURE_CALLBACKS,
)
def alert_probe():
    @task
    def load_landing_files():
        raise RuntimeError("{REASON}")

    load_landing_files()


alert_probe()
'''

SLOW_DAG = """
import time
from datetime import datetime

from airflow.sdk import dag, task
from pipeline_defaults import DAG_FAILURE_CALLBACKS, DEFAULT_ARGS, daily_run_deadline

from include.config import load_settings


@dag(
    dag_id="deadline_probe",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    default_args=DEFAULT_ARGS,
    on_failure_callback=DAG_FAILURE_CALLBACKS,
    deadline=daily_run_deadline(load_settings()),
)
def deadline_probe():
    @task
    def take_too_long():
        time.sleep(60)

    take_too_long()


deadline_probe()
"""


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A throwaway Airflow: its DAGs folder holds the project's pipeline_defaults.py and the
    two probe DAGs; one retry without delay; a deadline of 3.6 s; the metadata DB migrated."""
    data_dir = tmp_path_factory.mktemp("alerts")
    dags = data_dir / "dags"
    dags.mkdir()
    shutil.copy(REPO_ROOT / "dags" / "pipeline_defaults.py", dags)
    (dags / "alert_probe.py").write_text(FAILING_DAG)
    (dags / "deadline_probe.py").write_text(SLOW_DAG)
    env = pipeline_environment(data_dir) | {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "TASK_RETRIES": "1",
        "TASK_RETRY_DELAY_SECONDS": "0",
        "DAILY_RUN_DEADLINE_HOURS": "0.001",
    }
    env.pop("WAREHOUSE_TARGET", None)
    run_command([airflow(), "db", "migrate"], env)
    return env


def airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def alerts(env: dict[str, str], dag_id: str) -> list[tuple]:
    path = Path(env["WAREHOUSE_PATH"])
    if not path.exists():
        return []
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(
                "select level, event, task_id, business_date, try_number, reason, log_url"
                " from audit.alerts where dag_id = ? order by alerted_at",
                [dag_id],
            ).fetchall()
    except duckdb.Error:  # not created yet, or being written
        return []


def test_a_failing_task_records_one_alert_per_failed_try_and_one_for_the_run(
    airflow_env: dict[str, str],
) -> None:
    result = subprocess.run(
        [airflow(), "dags", "test", "alert_probe", RUN_DATE],
        env=airflow_env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = result.stdout + result.stderr
    assert result.returncode != 0, "the run should have failed"
    rows = alerts(airflow_env, "alert_probe")
    business_date = date.fromisoformat(RUN_DATE)
    assert [row[:5] for row in rows] == [
        ("warning", "task_retry", "load_landing_files", business_date, 1),
        ("error", "task_failed", "load_landing_files", business_date, 2),
        ("error", "dag_run_failed", "load_landing_files", business_date, 2),
    ]
    assert rows[0][5] == rows[1][5] == f"RuntimeError: {REASON}"
    assert rows[2][5] == "DAG run failed (task_failure); the last task to fail: load_landing_files"
    assert "/dags/alert_probe/runs/" in rows[1][6] and rows[1][6].endswith("try_number=2")
    assert (
        "ALERT ERROR task_failed alert_probe.load_landing_files business date 2025-04-30 try 2"
        in log
    )
    assert "ALERT WARNING task_retry alert_probe.load_landing_files" in log
    assert "ALERT not written" not in log


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def airflow_services(airflow_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The API server (tasks and callbacks report to it), the scheduler (LocalExecutor; it
    checks deadlines) and the DAG processor, each in a process group of its own; always
    stopped."""
    port = free_port()
    env = airflow_env | {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    }
    logs = Path(env["AIRFLOW_HOME"]) / "logs" / "services"
    logs.mkdir(parents=True, exist_ok=True)
    services = []
    try:
        for name in ("api-server", "scheduler", "dag-processor"):
            with (logs / f"{name}.log").open("w") as out:
                services.append(
                    subprocess.Popen(
                        [airflow(), name],
                        env=env,
                        cwd=REPO_ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        yield env
    finally:
        for process in services:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in services:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for(check, timeout: float, what: str, logs: Path):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if found := check():
            return found
        time.sleep(2)
    tails = "\n".join(
        f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(logs.glob("*.log"))
    )
    pytest.fail(f"no {what} after {timeout:.0f} s\n{tails}")


# Run by hand (`bin/test -m scheduler`), not in CI: on a loaded machine the late probe task
# can still hold the DuckDB file when the deadline fires, and the alert then goes to the
# log only (include/alerts.py); the callback path itself is tested in test_dag_integrity.py.
@pytest.mark.scheduler
def test_a_run_past_its_deadline_records_an_alert(airflow_services: dict[str, str]) -> None:
    env = airflow_services
    logs = Path(env["AIRFLOW_HOME"]) / "logs" / "services"

    def parsed() -> bool:
        listed = subprocess.run(
            [airflow(), "dags", "list", "-o", "plain"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return "deadline_probe" in listed.stdout

    # bounded waits for the scheduler's work, generous for a busy machine (CI on two workers)
    wait_for(parsed, 300, "deadline_probe parsed by the DAG processor", logs)
    run_command([airflow(), "dags", "trigger", "deadline_probe"], env)
    rows = wait_for(lambda: alerts(env, "deadline_probe"), 300, "deadline alert", logs)
    ((level, event, task_id, _, try_number, reason, log_url),) = rows
    assert (level, event, task_id, try_number) == ("error", "deadline_missed", None, None)
    # The run's state when the scheduler noticed: still queued on a busy machine, or running.
    assert re.fullmatch(
        r"the run had not finished by \S+ \S+ UTC \(due 0\.001 h after being queued\);"
        r" it was (queued|running) \(a manual run, queued at \S+ \S+ UTC\)",
        reason,
    ), reason
    assert "/dags/deadline_probe/runs/manual__" in log_url
