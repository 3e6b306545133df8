"""A backfill through Airflow's scheduler ends where the sequential runs did.

From the shared tiny bank as it was before its next business day (first day run, model
trained), ``airflow backfill create`` re-runs the first day and runs the next one
(``--reprocess-behavior completed``), and the scheduler (LocalExecutor, with the
triggerer for the dbt node sensors) runs them one at a time, in date order
(``--max-active-runs 1``: a backfill's limit is its own, not the DAG's). Every layer of the warehouse and the published copy must then equal
the shared run's, which ran the same two days one by one with ``airflow dags test``, and
the load audit names the backfill's run for the day's files.

The scheduler creates no run of its own (``[scheduler] use_job_schedule = False``): the
DAG must be unpaused for the backfill's tasks to be scheduled, and with the cron schedule
on it would also queue today's run. Slow (a process per task) and timing-dependent on a
loaded machine: run by hand, ``bin/test -n 0 -m scheduler tests/dags/test_backfill.py``.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from benchmarks.run import copy_bank
from tests.airflow_services import (
    SERVICES,
    airflow,
    running_services,
    services_log_dir,
    wait_for,
)
from tests.conftest import FIRST_RUN_DATE, RUN_DATE, pipeline_environment, run_command
from tests.fingerprints import RUN_STAMPS, schema_fingerprints, warehouse_fingerprints

DAILY = "customer_operations_daily"
BACKFILL_TIMEOUT_SECONDS = 3600


def backfill_runs(env: dict[str, str]) -> list[tuple[str, str, str]]:
    with closing(sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        return db.execute(
            "select substr(logical_date, 1, 10), state, run_id from dag_run"
            " where dag_id = ? and run_type = 'backfill' order by logical_date",
            [DAILY],
        ).fetchall()


@pytest.mark.scheduler
def test_a_backfill_of_two_days_equals_the_runs_one_by_one(
    pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory
) -> None:
    copy = tmp_path_factory.mktemp("backfill") / "bank"
    copy_bank(pipeline_run["before_next_day"], copy)
    env = pipeline_environment(copy) | {"AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False"}
    # Created before the services start: the DAG is in the metadata database since the
    # runs of the snapshot, and SQLite takes one writer (beside the scheduler it can
    # refuse the backfill's writes with "database is locked").
    run_command([airflow(), "dags", "unpause", DAILY], env)
    run_command(
        [airflow(), "backfill", "create", "--dag-id", DAILY,
         "--from-date", FIRST_RUN_DATE, "--to-date", RUN_DATE,
         "--reprocess-behavior", "completed", "--max-active-runs", "1"],
        env,
    )  # fmt: skip
    with running_services(env, (*SERVICES, "triggerer")) as services:
        logs = services_log_dir(services)

        def finished() -> list | None:
            runs = backfill_runs(services)
            done = len(runs) == 2 and all(state in ("success", "failed") for _, state, _ in runs)
            return runs if done else None

        runs = wait_for(finished, BACKFILL_TIMEOUT_SECONDS, "finished backfill", logs, every=10)
    assert [(day, state) for day, state, _ in runs] == [
        (FIRST_RUN_DATE, "success"),
        (RUN_DATE, "success"),
    ]
    clean = pipeline_run["env"]
    # the backfill's first day scores with the model trained since; compare the last day's
    assert warehouse_fingerprints(
        env["WAREHOUSE_PATH"], score_date=RUN_DATE
    ) == warehouse_fingerprints(clean["WAREHOUSE_PATH"], score_date=RUN_DATE)
    published = {}
    for name, bank_env in (("backfill", env), ("sequential", clean)):
        with duckdb.connect(bank_env["PUBLISHED_PATH"], read_only=True) as con:
            published[name] = schema_fingerprints(con, "marts", RUN_STAMPS, RUN_DATE)
    assert published["backfill"] == published["sequential"]
    # the day's files were loaded by the backfill's run of that day
    with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
        loaded_by = {
            run_id
            for (run_id,) in con.execute(
                "select distinct run_id from raw._load_registry where business_date = ?",
                [RUN_DATE],
            ).fetchall()
        }
    assert loaded_by == {runs[1][2]}
