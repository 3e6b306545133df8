"""Crash anywhere in the daily run, re-run the date, get the clean run's answer.

Starts from the tiny bank as it was before the shared run's next business day
(``pipeline_run["before_next_day"]``, copied), and runs that day through
``airflow dags test`` again and again: each time the whole process group is killed
(SIGKILL, no clean-up) shortly after the next crash point's task started (the load,
the dbt build, the mart checks, the scoring, the publication); the next attempt is the
re-run after that crash. The attempt after the last crash runs to the
end. Every layer of the warehouse, the scores and the published copy must then equal
the shared run's, which ran the same day without a crash (content hash per table,
provenance stamps apart: tests/fingerprints.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from benchmarks.run import copy_bank
from tests.conftest import RUN_DATE, pipeline_environment, run_command
from tests.fingerprints import RUN_STAMPS, schema_fingerprints, warehouse_fingerprints

DAILY = "customer_operations_daily"
# (task, seconds after it started): each kill lands inside the task, the dbt build
# mid-way through its models. One crash point per stage: each attempt runs the day from
# its start, so every point costs the run up to it.
CRASH_POINTS = (
    ("load_landing_files", 1.0),
    ("transform.dbt_producer_watcher", 15.0),
    ("validate_marts", 1.0),
    ("score_customers", 1.0),
    ("publish_for_bi", 0.2),
)
ATTEMPT_TIMEOUT_SECONDS = 600


def run_and_kill_inside(airflow: str, env: dict[str, str], task_id: str, delay: float) -> str:
    """Start the daily run; SIGKILL its process group ``delay`` seconds after ``task_id``
    started. Returns the run's output; fails if the task ended before the kill."""
    started = f"[DAG TEST] starting task_id={task_id} "
    ended = f"[DAG TEST] end task task_id={task_id} "
    process = subprocess.Popen(
        [airflow, "dags", "test", DAILY, RUN_DATE],
        env=env | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the kill takes every child
    )
    output: list[str] = []
    deadline = time.monotonic() + ATTEMPT_TIMEOUT_SECONDS
    for line in process.stdout:
        output.append(line)
        if started in line:
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            break
    process.stdout.close()
    returncode = process.wait(timeout=60)
    log = "".join(output)
    assert returncode == -signal.SIGKILL, (
        f"{task_id}: not killed (exit {returncode})\n{log[-3000:]}"
    )
    assert ended not in log, f"{task_id} ended before the kill"
    return log


def published_fingerprints(published: str) -> dict[str, tuple[int, str]]:
    with duckdb.connect(published, read_only=True) as con:
        return schema_fingerprints(con, "marts", RUN_STAMPS)


@pytest.fixture(scope="module")
def crashed_and_rerun(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    copy = tmp_path_factory.mktemp("crashed") / "bank"
    copy_bank(pipeline_run["before_next_day"], copy)
    env = pipeline_environment(copy)
    reports_before = len(list(Path(env["REPORTS_PATH"]).glob("*/report.html")))
    crashes = [
        task_id
        for task_id, delay in CRASH_POINTS
        if run_and_kill_inside(pipeline_run["airflow"], env, task_id, delay)
    ]
    run_command([pipeline_run["airflow"], "dags", "test", DAILY, RUN_DATE], env)
    return {"env": env, "crashes": crashes, "reports_before": reports_before}


def test_every_crash_point_was_hit(crashed_and_rerun: dict) -> None:
    assert crashed_and_rerun["crashes"] == [task_id for task_id, _ in CRASH_POINTS]


def test_the_run_after_the_crashes_equals_the_clean_run(
    crashed_and_rerun: dict, pipeline_run: dict
) -> None:
    clean, recovered = pipeline_run["env"], crashed_and_rerun["env"]
    expected = warehouse_fingerprints(clean["WAREHOUSE_PATH"])
    assert warehouse_fingerprints(recovered["WAREHOUSE_PATH"]) == expected
    assert published_fingerprints(recovered["PUBLISHED_PATH"]) == published_fingerprints(
        clean["PUBLISHED_PATH"]
    )
    # the run that finished wrote its report
    reports = list(Path(recovered["REPORTS_PATH"]).glob("*/report.html"))
    assert len(reports) > crashed_and_rerun["reports_before"]
