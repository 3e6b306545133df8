"""Defaults shared by the project's DAGs. Cheap to import: no database work here."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.sdk import DeadlineAlert, DeadlineReference, SyncCallback

from include.alerts import WarehouseAlertNotifier
from include.config import Settings, load_settings
from include.warehouse import WRITER_POOL

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, TaskGroup


def default_args(settings: Settings) -> dict:
    """Every task's retries (exponential back-off, TASK_RETRY_* settings) and alerts: a try
    that will be retried records a warning, a task that failed for good an error
    (include/alerts.py). Cosmos's dbt producer task keeps these callbacks and adds its own."""
    retry = settings.retry
    return {
        "owner": "data-engineering",
        "retries": retry.retries,
        "retry_delay": retry.delay,
        "retry_exponential_backoff": retry.backoff,
        "max_retry_delay": retry.max_delay,
        "on_retry_callback": [WarehouseAlertNotifier("task_retry")],
        "on_failure_callback": [WarehouseAlertNotifier("task_failed")],
    }


DEFAULT_ARGS = default_args(load_settings())

# The DAG's own callback: a run that failed records one error naming its last failed task.
DAG_FAILURE_CALLBACKS = [WarehouseAlertNotifier("dag_run_failed")]


def hours(span: timedelta) -> str:
    """A duration in hours, as the settings give it: ``6 h``, ``1.5 h``."""
    return f"{span.total_seconds() / 3600:g} h"


def run_by_dags_test() -> bool:
    """Whether this process is ``airflow dags test`` (it parses the DAG file itself)."""
    return sys.argv[1:3] == ["dags", "test"]


def daily_run_deadline(settings: Settings) -> DeadlineAlert | None:
    """The daily run must have finished DAILY_RUN_DEADLINE_HOURS after it was queued, or an
    Airflow Deadline Alert records a ``deadline_missed`` error through the same notifier.

    Counted from when the run was queued, not from its logical date: a scheduled run is
    queued at its logical date (00:00 UTC), so the default means "done by 06:00 UTC",
    while a backfill or a re-run of an old date gets the same hours from its start
    rather than a deadline already past. The scheduler checks deadlines; the
    executor runs the callback (``SyncCallback``). ``airflow dags test`` runs no
    scheduler, so it never fires there; and there a DAG with a deadline fails after its
    run succeeded (apache/airflow#73428, open in 3.3.2), so under ``airflow dags test``
    the DAG has none.
    """
    if run_by_dags_test():
        return None
    window = settings.alerts.daily_run_deadline
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=window,
        callback=SyncCallback(
            WarehouseAlertNotifier,
            kwargs={"event": "deadline_missed", "note": f"due {hours(window)} after being queued"},
        ),
        name="daily_run_finished_in_time",
    )


# Every task that writes the DuckDB warehouse runs in this one-slot pool.
WRITER_TASK_ARGS = {"pool": WRITER_POOL}

# How cosmos runs dbt, from the environment variable DBT_EXECUTION_MODE:
#   "watcher" (default): one `dbt build` per task group (the producer task); one
#       sensor task per model, seed, snapshot and test shows its status and, on
#       retry, re-runs that node alone.
#   "local": one task per node, each starting dbt (`dbt build --select <node>`).
# BENCHMARKS.md "Orchestration" has the figures behind the default.
DBT_EXECUTION_MODES = ("watcher", "local")


def dbt_execution_mode(environ: dict[str, str] | None = None) -> str:
    """The configured execution mode, refused with the allowed values when unknown."""
    env = os.environ if environ is None else environ
    mode = env.get("DBT_EXECUTION_MODE", "watcher").strip().lower()
    if mode not in DBT_EXECUTION_MODES:
        allowed = ", ".join(DBT_EXECUTION_MODES)
        raise ValueError(f"DBT_EXECUTION_MODE={mode!r} is not one of: {allowed}")
    return mode


def watch_after_the_build(group: TaskGroup, after: BaseOperator) -> TaskGroup:
    """Start a watcher task group's sensors once its `dbt build` (the producer) has ended,
    and only when the task before the group (``after``) succeeded.

    Cosmos starts the first sensors of a task group beside the producer, to show each
    node as dbt finishes it. Here every task of the group is in the one-slot writer
    pool, so the producer holds the slot for the whole build and no sensor could run
    meanwhile anyway; and where tasks run one after the other (``airflow dags test``)
    a sensor started first would wait for a producer that never starts. So the root
    sensors run after the producer, whether it succeeded or skipped: a node that failed
    fails its task, which on retry runs dbt for that node alone (cosmos's fallback), and
    a producer on its second try (a retry, a cleared run, a backfill reprocessing a date)
    skips, so the sensors fall back the same way. They also wait for ``after``
    ("none_failed_min_one_success" over the two): when ``after`` failed (a refused
    landing file), the producer never ran and neither do they, instead of each building
    its node on yesterday's data. ("all_done_min_one_success" would skip them after a
    skipped producer: a re-run that rebuilds nothing and reports success.)
    """
    tasks = list(group.iter_tasks())
    producers = [task for task in tasks if task.task_id.endswith(".dbt_producer_watcher")]
    if not producers:
        return group
    (producer,) = producers
    in_group = {task.task_id for task in tasks}
    after >> producer
    for task in tasks:
        if task is producer or task.task_id in producer.downstream_task_ids:
            continue
        if not set(task.upstream_task_ids) & in_group:
            [after, producer] >> task
            task.trigger_rule = "none_failed_min_one_success"
    return group
