"""The audit schema: what every run checked, in tables dbt and BI can read as sources.

- ``audit.validation_runs``: one row per suite run (GX suites of the landing gate
  and the marts, and the non-GX checks such as the reconciliation);
- ``audit.reconciliation``: per loaded file, landed = loaded + quarantined and what
  the tables hold (``loading/reconciliation.py`` writes it).
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
