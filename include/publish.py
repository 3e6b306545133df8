"""Publish a read-only copy of the BI-facing schemas, swapped in atomically.

BI tools never open the warehouse file (DuckDB allows one writer, and a reader
would block the pipeline). They read a separate file that is rebuilt beside the
old one and renamed over it in one step: a reader sees the old copy or the new
one, never half of either.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from include.config import Settings
from include.warehouse import connect

PUBLISHED_SCHEMAS = ("marts",)


def publish_marts(settings: Settings, run_id: str) -> dict:
    """Copy every table of the published schemas into a new file and swap it in."""
    target = settings.published_path
    target.parent.mkdir(parents=True, exist_ok=True)
    staging_file = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging_file.unlink(missing_ok=True)

    row_counts: dict[str, int] = {}
    con = connect(settings.warehouse_path)
    try:
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
