"""Reconciliation: every loaded file, every run, landed = loaded + quarantined.

The registry says how many records each loaded file version had and where they
went; the raw tables and the quarantine are counted independently and must hold
exactly that. Any difference (a crash between writes, a manual edit, a bug)
fails the run, naming the file.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from include.audit import RECONCILIATION_TABLE, record_check, utc_now
from include.landing.entities import ENTITIES
from include.warehouse import transaction
from loading.registry import LOADING_STATUSES, QUARANTINE_TABLE, RAW_SCHEMA, REGISTRY_TABLE


class ReconciliationError(Exception):
    """Row counts of a loaded file do not add up."""


RECONCILIATION_CHECK = "landing__reconciliation"


def reconciliation_query() -> str:
    """Every loaded file version against what the tables hold, plus rows no loaded file explains.

    Raw rows are matched by (file, checksum); quarantined rows by (file, run that
    loaded it), since a file version is loaded by exactly one run.
    """
    raw_counts = " union all ".join(
        f"select _source_file, _file_checksum, count(*) as rows_in_raw "
        f"from {RAW_SCHEMA}.{entity.raw_table} group by all"
        for entity in ENTITIES
    )
    return f"""
        with registry as (
            select file_path, entity, file_checksum, run_id as loaded_by,
                   rows_landed, rows_loaded, rows_quarantined
            from {REGISTRY_TABLE}
            where status in ({", ".join(f"'{status}'" for status in LOADING_STATUSES)})
        ),
        in_raw as ({raw_counts}),
        in_quarantine as (
            select source_file, run_id, count(*) as rows_in_quarantine
            from {QUARANTINE_TABLE} group by all
        ),
        by_file as (
            select
                coalesce(r.file_path, q.source_file, w._source_file) as file_path,
                r.entity,
                coalesce(r.file_checksum, w._file_checksum) as file_checksum,
                r.loaded_by,
                r.rows_landed, r.rows_loaded, r.rows_quarantined,
                coalesce(w.rows_in_raw, 0) as rows_in_raw,
                coalesce(q.rows_in_quarantine, 0) as rows_in_quarantine
            from registry as r
            full join in_raw as w
                on w._source_file = r.file_path and w._file_checksum = r.file_checksum
            full join in_quarantine as q
                on q.source_file = r.file_path and q.run_id = r.loaded_by
        )
        select *,
            coalesce(rows_landed = rows_loaded + rows_quarantined
                     and rows_in_raw = rows_loaded
                     and rows_in_quarantine = rows_quarantined, false) as is_balanced
        from by_file
        order by file_path
    """


def reconcile(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Every loaded file, every run: landed = loaded + quarantined, and the tables hold just that.

    Writes one row to ``audit.reconciliation`` per file this run loaded and per
    file that is off (whenever it was loaded), and a summary row to
    ``audit.validation_runs``; raises :class:`ReconciliationError` when any file
    is off. Returns the number of files checked.
    """
    checked = con.execute(reconciliation_query()).df()
    off = checked[~checked["is_balanced"]]
    audited = checked[(checked["loaded_by"] == run_id) | ~checked["is_balanced"]]
    audited = audited.drop(columns="loaded_by").assign(run_id=run_id, checked_at=utc_now())
    with transaction(con):
        if len(audited):
            con.register("_reconciliation", audited)
            con.execute(f"insert into {RECONCILIATION_TABLE} by name select * from _reconciliation")
            con.unregister("_reconciliation")
        record_check(con, run_id, RECONCILIATION_CHECK, not len(off), len(checked), len(off))
    if len(off):
        problems = [
            f"{row.file_path}: landed {_count(row.rows_landed)}, registry loaded "
            f"{_count(row.rows_loaded)} + quarantined {_count(row.rows_quarantined)}, "
            f"tables hold {row.rows_in_raw} + {row.rows_in_quarantine}"
            for row in off.itertuples()
        ]
        raise ReconciliationError("row counts do not reconcile:\n  " + "\n  ".join(problems))
    return len(checked)


def _count(value: object) -> str:
    """A registry count, or a note that no loaded file explains the rows."""
    return "(no loaded file)" if pd.isna(value) else str(int(value))
