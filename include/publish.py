"""Publish a read-only copy of the BI-facing schemas, swapped in atomically.

BI tools never open the warehouse file (DuckDB allows one writer, and a reader
would block the pipeline). They read a separate file that is rebuilt beside the
old one and renamed over it in one step: a reader sees the old copy or the new
one, never half of either.

Write-audit-publish: a copy is published only when the run's latest mart
validation (``expectations/marts.py``, recorded in ``audit.validation_runs``)
passed. The DAG already stops before ``publish_for_bi`` when validation fails;
the gate also holds when the task is run by hand or validation was marked
successful, so the published copy stays at the last good version.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

import duckdb

from include.audit import VALIDATION_RUNS_TABLE, ensure_audit_schema
from include.config import Settings
from include.warehouse import connect

PUBLISHED_SCHEMAS = ("marts",)
# Suites written by ``expectations.marts.validate_marts`` (SQL LIKE patterns).
GATE_SUITES = ("marts__%", "warehouse__%")


class PublishRefusedError(Exception):
    """The run's marts did not pass validation; the published copy was left as it was."""


def gate_failures(con: duckdb.DuckDBPyConnection, run_id: str) -> list[str]:
    """Why ``run_id`` may not publish: no mart validation, or a suite whose latest result failed."""
    patterns = " or ".join("suite like ?" for _ in GATE_SUITES)
    rows = con.execute(
        f"select suite, success from {VALIDATION_RUNS_TABLE} "
        f"where run_id = ? and ({patterns}) "
        "qualify row_number() over (partition by suite order by checked_at desc) = 1 "
        "order by suite",
        [run_id, *GATE_SUITES],
    ).fetchall()
    if not rows:
        return [f"no mart validation recorded for run {run_id}"]
    return [f"{suite} failed" for suite, success in rows if not success]


def publish_marts(settings: Settings, run_id: str, require_validation: bool = True) -> dict:
    """Copy every table of the published schemas into a new file and swap it in.

    Raises :class:`PublishRefusedError` (publishing nothing) unless the run's
    marts passed validation; ``require_validation=False`` is for tools and tests.
    """
    target = settings.published_path
    target.parent.mkdir(parents=True, exist_ok=True)
    staging_file = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging_file.unlink(missing_ok=True)

    row_counts: dict[str, int] = {}
    con = connect(settings.warehouse_path)
    try:
        if require_validation:
            ensure_audit_schema(con)
            refused = gate_failures(con, run_id)
            if refused:
                raise PublishRefusedError(
                    f"not publishing run {run_id}, the published copy stays as it was: "
                    + "; ".join(refused)
                )
        con.execute(f"attach '{staging_file}' as published (read_only false)")
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"create schema published.{schema}")
            for (table,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = current_database() and table_schema = ? "
                "order by table_name",
                [schema],
            ).fetchall():
                con.execute(
                    f"create table published.{schema}.{table} as select * from {schema}.{table}"
                )
                (count,) = con.execute(f"select count(*) from {schema}.{table}").fetchone()
                row_counts[f"{schema}.{table}"] = count
        con.execute(
            "create table published.main.publication as "
            "select ? as run_id, ?::timestamp as published_at",
            [run_id, datetime.now(UTC).replace(tzinfo=None)],
        )
        con.execute("detach published")
    finally:
        con.close()
    os.replace(staging_file, target)
    return {"published_path": str(target), "tables": row_counts}
