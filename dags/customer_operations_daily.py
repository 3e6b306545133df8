"""Daily customer-operations run, keyed on the run's logical date (the business date).

landing files -> GX checks -> raw (idempotent) -> dbt build -> GX mart checks
-> scoring -> dbt models over the scores -> published read-only copy for BI.

WAREHOUSE_TARGET (include/config.py) picks the warehouse: the DuckDB file, or
PostgreSQL (the load ships to it; dbt, checks, scoring and publication run there).

Retries and alerts: every task retries with exponential back-off (TASK_RETRY_*); a retry,
a failed task, a failed run and a missed deadline each record a row in `audit.alerts` and
a log line (e-mail or chat when configured; docs/data_engineer.md, "Alerts and retries").
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import BaseOperator, dag, task
from cosmos import (
    DbtTaskGroup,
    ExecutionConfig,
    ProfileConfig,
    ProjectConfig,
    RenderConfig,
)
from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior
from pipeline_defaults import (
    DAG_FAILURE_CALLBACKS,
    DEFAULT_ARGS,
    WRITER_TASK_ARGS,
    daily_run_deadline,
    dbt_execution_mode,
    hours,
    watch_after_the_build,
)
from watcher_events import push_only_what_the_sensors_read

from include.config import DBT_PROJECT_DIR, load_settings

SETTINGS = load_settings()
# The run's expectation, shown with the DAG's docs in the UI (Details tab).
DEADLINE_DOC = (
    f"\n**Deadline**: a run must finish {hours(SETTINGS.alerts.daily_run_deadline)} after being "
    "queued (DAILY_RUN_DEADLINE_HOURS); a scheduled run is queued at 00:00 UTC of its "
    "logical date. A run that is later records a `deadline_missed` alert in `audit.alerts`.\n"
)
DBT_PROJECT = ProjectConfig(
    dbt_project_path=DBT_PROJECT_DIR,
    manifest_path=DBT_PROJECT_DIR / "target" / "manifest.json",
    install_dbt_deps=False,
    # Marts are computed as of the business date, never as of "now": the var as_of_date,
    # given through the environment so that dbt re-parses only the files that read it
    # (dbt_project/macros/date_var_literal.sql).
    # No dbt.log: cosmos runs dbt in a temporary copy of the project, deleted after the
    # task, so the file was written only to be thrown away (its debug-level JSON lines
    # were 2 s of a tiny bank's build); dbt's messages still reach the task's log.
    env_vars={
        **SETTINGS.dbt_env_vars(),
        "WAREHOUSE_AS_OF_DATE": "{{ ds }}",
        "DBT_LOG_LEVEL_FILE": "none",
    },
)
DBT_PROFILE = ProfileConfig(
    profile_name="bank_customer_ops",
    target_name=SETTINGS.warehouse_target,
    profiles_yml_filepath=DBT_PROJECT_DIR / "profiles.yml",
)
# Watcher: one `dbt build` per group (its producer task), tests included, and one
# sensor task per node for status and retries; a retried node runs dbt alone (like
# local mode). Local: one task starting dbt per node, tests run with their model.
WATCHER = dbt_execution_mode() == "watcher"
DBT_EXECUTION = ExecutionConfig(
    execution_mode=ExecutionMode.WATCHER if WATCHER else ExecutionMode.LOCAL,
    invocation_mode=InvocationMode.DBT_RUNNER,
)
# Watcher mode has no per-node `dbt build` task: each test gets its own sensor task.
TEST_BEHAVIOR = TestBehavior.AFTER_EACH if WATCHER else TestBehavior.BUILD
# dbt's advice: unit tests have fixed inputs, so they run in development and CI
# (tests/dbt), not in each production run (at 150 customers they were 22 s of a 60 s build).
PRODUCTION_EXCLUDE = ["resource_type:unit_test"]
DBT_OPERATOR_ARGS = {**WRITER_TASK_ARGS}


def dbt_task_group(
    group_id: str,
    after: BaseOperator,
    select: list[str] | None = None,
    exclude: list[str] | None = None,
) -> DbtTaskGroup:
    """A cosmos task group over part of the project, rendered from the pre-built manifest.

    One task per dbt node, in the writer pool. A test over two models
    (relationships) becomes its own task, run once both models exist. Unit tests
    are left out (PRODUCTION_EXCLUDE). Runs after the task ``after``.
    """
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=DBT_PROJECT,
        profile_config=DBT_PROFILE,
        execution_config=DBT_EXECUTION,
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TEST_BEHAVIOR,
            should_detach_multiple_parents_tests=True,
            select=select or [],
            exclude=[*(exclude or []), *PRODUCTION_EXCLUDE],
        ),
        operator_args=DBT_OPERATOR_ARGS,
    )
    if WATCHER:
        return watch_after_the_build(group, after)
    after >> group
    return group


@dag(
    dag_id="customer_operations_daily",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    on_failure_callback=DAG_FAILURE_CALLBACKS,
    deadline=daily_run_deadline(SETTINGS),
    tags=["customer-operations", "daily", SETTINGS.warehouse_target],
    doc_md=__doc__ + DEADLINE_DOC,
)
def customer_operations_daily() -> None:
    @task(**WRITER_TASK_ARGS)
    def load_landing_files(ds: str, run_id: str) -> dict:
        """Find files not loaded yet, check them with GX, load good rows, quarantine bad ones
        (in DuckDB; on the postgres target then shipped to PostgreSQL)."""
        from datetime import date

        from loading.loader import load_into_warehouse

        summary = load_into_warehouse(load_settings(), date.fromisoformat(ds), run_id)
        return summary.as_dict()

    @task(**WRITER_TASK_ARGS)
    def validate_marts(run_id: str) -> dict:
        """GX checks on the marts; a failure stops the run. Run again once the score marts
        exist: publishing needs the latest validation of this run to have passed."""
        from expectations.marts import validate_marts as run_mart_suites

        return run_mart_suites(load_settings(), run_id)

    @task(**WRITER_TASK_ARGS)
    def score_customers(ds: str, run_id: str) -> dict:
        """Score with the approved models (DAG churn_model_training); never trains."""
        from datetime import date

        from scoring.score import score_customers as run_scoring

        return run_scoring(load_settings(), date.fromisoformat(ds), run_id)

    @task(**WRITER_TASK_ARGS)
    def publish_for_bi(run_id: str) -> dict:
        """Swap in a fresh read-only copy of the marts for BI readers (on PostgreSQL: a
        copy swapped in as schema published)."""
        from include.publish import publish_marts

        return publish_marts(load_settings(), run_id)

    @task(**WRITER_TASK_ARGS)
    def write_run_report(run_id: str) -> str:
        """The run's HTML report (charts of the published marts, the load audit) beside
        its Data Docs. A writer task: it reads the warehouse's audit tables."""
        from reporting import write_run_report as write_report

        return str(write_report(load_settings(), run_id))

    load = load_landing_files()
    transform = dbt_task_group("transform", after=load, exclude=["tag:needs_scores"])
    scores = score_customers()
    transform >> validate_marts() >> scores
    scored_marts = dbt_task_group("scored_marts", after=scores, select=["tag:needs_scores"])
    (
        scored_marts
        >> validate_marts.override(task_id="validate_scored_marts")()
        >> publish_for_bi()
        >> write_run_report()
    )


DAILY = customer_operations_daily()
if WATCHER:
    push_only_what_the_sensors_read(DAILY)
