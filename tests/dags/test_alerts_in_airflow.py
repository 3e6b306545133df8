"""Alerts recorded by Airflow itself: a task that fails runs through `airflow dags test`,
and a run that outlasts its deadline runs under Airflow's scheduler. Both DAGs use the
project's defaults (dags/pipeline_defaults.py) from a temporary DAGs folder, with a
throwaway AIRFLOW_HOME and warehouse."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from include.config import REPO_ROOT
from tests.airflow_services import airflow, dag_parsed, running_services, services_log_dir, wait_for
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


@pytest.fixture
def airflow_services(airflow_env: dict[str, str]) -> Iterator[dict[str, str]]:
    """The API server, the scheduler (it checks deadlines) and the DAG processor."""
    with running_services(airflow_env) as env:
        yield env


# Run by hand (`bin/test -m scheduler`), not in CI: on a loaded machine the late probe task
# can still hold the DuckDB file when the deadline fires, and the alert then goes to the
# log only (include/alerts.py); the callback path itself is tested in test_dag_integrity.py.
@pytest.mark.scheduler
def test_a_run_past_its_deadline_records_an_alert(airflow_services: dict[str, str]) -> None:
    env = airflow_services
    logs = services_log_dir(env)

    # bounded waits for the scheduler's work, generous for a busy machine (CI on two workers)
    wait_for(
        lambda: dag_parsed(env, "deadline_probe"),
        300,
        "deadline_probe parsed by the DAG processor",
        logs,
    )
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
