"""The audit schema: what every run checked, in tables dbt and BI can read as sources.

- ``audit.validation_runs``: one row per suite run (GX suites of the landing gate
  and the marts, and the non-GX checks such as the reconciliation);
- ``audit.reconciliation``: per loaded file, landed = loaded + quarantined and what
  the tables hold (``loading/reconciliation.py`` writes it);
- ``audit.alerts``: one row per alert of the pipeline's notifier (``include/alerts.py``):
  a task retried or failed, a DAG run failed, the daily run missed its deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from include.warehouse import Session

AUDIT_SCHEMA = "audit"
VALIDATION_RUNS_TABLE = f"{AUDIT_SCHEMA}.validation_runs"
RECONCILIATION_TABLE = f"{AUDIT_SCHEMA}.reconciliation"
ALERTS_TABLE = f"{AUDIT_SCHEMA}.alerts"

VALIDATION_RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR"),
    ("suite", "VARCHAR"),
    ("success", "BOOLEAN"),
    ("evaluated", "BIGINT"),  # expectations evaluated
    ("failed", "BIGINT"),  # expectations that failed
    ("checked_at", "TIMESTAMP"),
)

# One row per loaded file version per run that loaded it, plus a row every run for
# any file whose counts stopped adding up (every loaded file is re-checked each run).
RECONCILIATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR"),  # the run that checked
    ("file_path", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("file_checksum", "VARCHAR"),
    ("rows_landed", "BIGINT"),  # registry: records in the file
    ("rows_loaded", "BIGINT"),  # registry
    ("rows_quarantined", "BIGINT"),  # registry
    ("rows_in_raw", "BIGINT"),  # counted in raw.<system>__<entity>
    ("rows_in_quarantine", "BIGINT"),  # counted in raw._quarantine
    ("is_balanced", "BOOLEAN"),
    ("checked_at", "TIMESTAMP"),
)


# One row per alert. Written by Airflow callbacks (include/alerts.py) to the warehouse of
# WAREHOUSE_TARGET, and only there: not created by ensure_audit_schema, because on the
# postgres target the load ships the DuckDB file's audit tables to PostgreSQL run by run
# (replacing PostgreSQL's rows of the run), which would drop the alerts already written.
ALERT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("alerted_at", "TIMESTAMP"),  # UTC, when the notifier wrote it
    ("level", "VARCHAR"),  # warning (a task will retry) or error
    ("event", "VARCHAR"),  # task_retry, task_failed, dag_run_failed, deadline_missed
    ("dag_id", "VARCHAR"),
    ("task_id", "VARCHAR"),  # the failed task; for a DAG run, the task that failed it
    ("run_id", "VARCHAR"),
    ("business_date", "DATE"),  # the run's logical date (ds)
    ("logical_date", "TIMESTAMP"),  # UTC
    ("try_number", "BIGINT"),  # the task's try that failed (1 = the first)
    ("reason", "VARCHAR"),  # the exception text (head and tail when long) or why
    ("log_url", "VARCHAR"),  # the task's log (or the run) in the Airflow UI
)


def utc_now() -> datetime:
    """Audit times are naive UTC timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


def create_table(
    con: duckdb.DuckDBPyConnection | Session, table: str, columns: tuple[tuple[str, str], ...]
) -> None:
    body = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in columns)
    con.execute(f"create table if not exists {table} (\n    {body}\n)")


def ensure_audit_schema(con: duckdb.DuckDBPyConnection | Session) -> None:
    """``audit.validation_runs`` (one row per suite run) and ``audit.reconciliation``,
    on either engine (the column types are spelt portably)."""
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    create_table(con, VALIDATION_RUNS_TABLE, VALIDATION_RUN_COLUMNS)
    create_table(con, RECONCILIATION_TABLE, RECONCILIATION_COLUMNS)


def ensure_alerts_table(con: duckdb.DuckDBPyConnection | Session) -> None:
    """``audit.alerts`` (see :data:`ALERT_COLUMNS`), on either engine."""
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    create_table(con, ALERTS_TABLE, ALERT_COLUMNS)


def record_check(
    con: duckdb.DuckDBPyConnection | Session,
    run_id: str,
    suite: str,
    success: bool,
    evaluated: int,
    failed: int,
) -> None:
    """One row of ``audit.validation_runs`` (``evaluated``/``failed`` count expectations or items)."""
    con.execute(
        f"insert into {VALIDATION_RUNS_TABLE} values (?, ?, ?, ?, ?, ?)",
        [run_id, suite, success, evaluated, failed, utc_now()],
    )


def record_alert(con: duckdb.DuckDBPyConnection | Session, row: dict[str, object]) -> None:
    """One row of ``audit.alerts`` from a mapping of :data:`ALERT_COLUMNS` names."""
    names = [name for name, _ in ALERT_COLUMNS]
    con.execute(
        f"insert into {ALERTS_TABLE} ({', '.join(names)}) values ({', '.join('?' * len(names))})",
        [row.get(name) for name in names],
    )
