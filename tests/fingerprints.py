"""Content hashes of warehouse tables, for tests that prove a run changed nothing.

A table's fingerprint is its row count and an order-independent hash of every row's
text, so two runs that wrote the same rows in another order agree. Columns that
record when or by which run something happened (``scored_at``, ``published_at``...)
are left out by name: a re-run may stamp them anew without changing a figure.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb


def fingerprint(
    con: duckdb.DuckDBPyConnection, relation: str, columns: Iterable[str] | None = None
) -> tuple[int, str]:
    """Row count and order-independent hash of ``columns`` (default: all) of ``relation``."""
    row = f"row({', '.join(columns)})" if columns is not None else "hashed_table"
    return con.execute(
        "select count(*), md5(coalesce(string_agg(row_hash, '' order by row_hash), '')) "
        f"from (select md5({row}::varchar) as row_hash from {relation} as hashed_table) as hashed"
    ).fetchone()


def schema_fingerprints(
    con: duckdb.DuckDBPyConnection,
    schema: str,
    ignored_columns: Iterable[str] = (),
    score_date: str | None = None,
) -> dict[str, tuple[int, str]]:
    """Fingerprint of every table and view of ``schema``, without ``ignored_columns``; with
    ``score_date``, of a table with a ``score_date`` column only its rows of that date."""
    ignored = set(ignored_columns)
    columns: dict[str, list[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? "
        "order by table_name, ordinal_position",
        [schema],
    ).fetchall():
        if column not in ignored:
            columns.setdefault(table, []).append(f'"{column}"')

    def relation(table: str) -> str:
        if score_date and '"score_date"' in columns[table]:
            return f"(select * from {schema}.\"{table}\" where score_date = date '{score_date}')"
        return f'{schema}."{table}"'

    return {table: fingerprint(con, relation(table), kept) for table, kept in columns.items()}


# Columns that say when or by which run a row was loaded, scored or measured: a re-run,
# or a run after a crash, stamps them anew without changing a figure.
RUN_STAMPS = (
    "_loaded_at", "_run_id", "loaded_at", "first_loaded_at", "quarantined_at",
    "run_id", "scoring_run_id", "scored_at", "computed_at", "published_at",
)  # fmt: skip
WAREHOUSE_LAYERS = ("raw", "staging", "intermediate", "marts", "scores")


def warehouse_fingerprints(
    warehouse: str, ignored_columns: Iterable[str] = RUN_STAMPS, score_date: str | None = None
) -> dict[str, dict[str, tuple[int, str]]]:
    """Fingerprints of every table of every layer (the load registry apart: it records
    runs, not data). With ``score_date``, scores of that date only: a re-run of an earlier
    date rewrites that date's scores with what is known now, which a first run did not know."""
    with duckdb.connect(warehouse, read_only=True) as con:
        hashes = {
            schema: schema_fingerprints(con, schema, ignored_columns, score_date)
            for schema in WAREHOUSE_LAYERS
        }
    hashes["raw"].pop("_load_registry", None)
    return hashes


def published_fingerprints(published: str) -> dict[str, tuple[int, str]]:
    """Fingerprints of the marts of a published DuckDB copy (its stable path)."""
    with duckdb.connect(published, read_only=True) as con:
        return schema_fingerprints(con, "marts", RUN_STAMPS)
