"""Crash anywhere in the daily run, re-run the date, get the clean run's answer.

Starts from the tiny bank as it was before the shared run's next business day
(``pipeline_run["before_next_day"]``, copied), and crashes that day again and again
with SIGKILL (no exception, no clean-up): inside the load, the dbt build, the
publication, the mart checks and the scoring. The load, the dbt build and the
publication are hit inside whole runs of the date (``airflow dags test``), each
attempt being the re-run after the crash before it; the mart checks and the scoring,
which need a whole dbt build before them, are hit in the task alone (``airflow tasks
test``) right after the run that crashed in the publication had built everything up
to it, which saves two whole runs. The dbt build is killed on a timer, its process
group and dbt with it, mid-way through its models; the others kill themselves at a
named moment (include/crash_points.py), so the kill lands inside a short task on any
machine. The attempt after the last crash re-runs the date to the end. Every layer of
the warehouse, the scores and the published copy must then equal the shared run's,
which ran the same day without a crash (content hash per table, provenance stamps
apart: tests/fingerprints.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from benchmarks.run import copy_bank
from include.crash_points import CRASH_POINT_VARIABLE
from tests.conftest import RUN_DATE, pipeline_environment, run_command
from tests.fingerprints import published_fingerprints, warehouse_fingerprints

pytestmark = pytest.mark.faults

DAILY = "customer_operations_daily"
ATTEMPT_TIMEOUT_SECONDS = 600


class CrashPoint(NamedTuple):
    task_id: str
    whole_run: bool  # the daily run of the date, else the task alone
    named_point: str | None = None  # include/crash_points.py; None: a timer
    seconds_after_start: float = 0.0  # the timer, from the task's start


# In the order hit.
CRASH_POINTS = (
    CrashPoint("load_landing_files", True, "load_landing_files:entity_loaded"),
    CrashPoint("transform.dbt_producer_watcher", True, seconds_after_start=15.0),
    CrashPoint("publish_for_bi", True, "publish_for_bi:release_written"),
    CrashPoint("validate_marts", False, "validate_marts:results_recorded"),
    CrashPoint("score_customers", False, "score_customers:scores_written"),
)


def run_and_kill_inside(airflow: str, env: dict[str, str], point: CrashPoint) -> str:
    """Run the date (or the task alone) until the crash point kills it; the output.
    Fails unless the run died of SIGKILL inside the task."""
    started = f"[DAG TEST] starting task_id={point.task_id} "
    ended = f"[DAG TEST] end task task_id={point.task_id} "
    command = (
        ["dags", "test", DAILY] if point.whole_run else ["tasks", "test", DAILY, point.task_id]
    )
    crash = {CRASH_POINT_VARIABLE: point.named_point} if point.named_point else {}
    process = subprocess.Popen(
        [airflow, *command, RUN_DATE],
        env=env | crash | {"PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a kill takes every child
    )
    output: list[str] = []
    deadline = time.monotonic() + ATTEMPT_TIMEOUT_SECONDS
    for line in process.stdout:
        output.append(line)
        if started in line and not point.named_point:
            time.sleep(point.seconds_after_start)
            os.killpg(process.pid, signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.stdout.close()
    returncode = process.wait(timeout=60)
    log = "".join(output)
    assert returncode == -signal.SIGKILL, f"{point}: not killed (exit {returncode})\n{log[-3000:]}"
    assert started in log and ended not in log, f"{point}: not killed inside the task"
    return log


@pytest.fixture(scope="module")
def crashed_and_rerun(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    copy = tmp_path_factory.mktemp("crashed") / "bank"
    copy_bank(pipeline_run["before_next_day"], copy)
    env = pipeline_environment(copy)
    reports_before = len(list(Path(env["REPORTS_PATH"]).glob("*/report.html")))
    crashes = [
        point.task_id
        for point in CRASH_POINTS
        if run_and_kill_inside(pipeline_run["airflow"], env, point)
    ]
    run_command([pipeline_run["airflow"], "dags", "test", DAILY, RUN_DATE], env)
    return {"env": env, "crashes": crashes, "reports_before": reports_before}


def test_every_crash_point_was_hit(crashed_and_rerun: dict) -> None:
    assert crashed_and_rerun["crashes"] == [point.task_id for point in CRASH_POINTS]


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
