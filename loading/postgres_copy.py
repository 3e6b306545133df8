"""Ship tables loaded into DuckDB to a PostgreSQL warehouse.

The loader writes landed rows into DuckDB (its staging, GX checks and registry run
there). A PostgreSQL deployment then copies the loaded schemas (``raw``, with
``_load_registry`` and ``_quarantine``, and ``audit``) into PostgreSQL, where
``dbt build --target postgres`` reads them. Each table goes over as CSV: DuckDB
writes it to a temporary file, PostgreSQL reads it with ``COPY ... FROM STDIN``
(the fastest bulk path of both engines, and no row passes through Python).

Copying is idempotent: each table is replaced in one PostgreSQL transaction, so
a reader sees either the old rows or the new ones, and a failed copy leaves the
old table. A table whose columns did not change is emptied and refilled, which
keeps the views dbt built on it and the grants on it; otherwise it is dropped
and re-created (PostgreSQL refuses while dbt views depend on it: rebuild them).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from psycopg2 import sql
from psycopg2.extensions import connection as PgConnection

from include.audit import AUDIT_SCHEMA
from include.config import Settings
from include.warehouse import connect, connect_postgres

# What the loader writes: the raw schema (entity tables, _load_registry, _quarantine),
# copied whole; and the audit tables, copied by run (PostgreSQL adds rows of its own).
LOADED_SCHEMAS = ("raw",)

# DuckDB type -> PostgreSQL type of the same values, spelt as PostgreSQL's
# format_type() spells it, so an existing table's columns compare equal.
_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38,0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20,0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time without time zone",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "jsonb",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str

    @property
    def postgres_type(self) -> str:
        """The PostgreSQL type holding this column's values; ValueError if none does."""
        decimal = _DECIMAL.fullmatch(self.duckdb_type)
        if decimal:
            return f"numeric({decimal[1]},{decimal[2]})"
        if self.duckdb_type not in _TYPES:
            raise ValueError(f"column {self.name}: no PostgreSQL type for {self.duckdb_type}")
        return _TYPES[self.duckdb_type]


def duckdb_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The base tables of a DuckDB schema, sorted (empty when the schema is absent)."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_catalog ="
        " current_database() and table_schema = ? and table_type = 'BASE TABLE' order by 1",
        [schema],
    ).fetchall()
    return [name for (name,) in rows]


def duckdb_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[Column]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog ="
        " current_database() and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    return [Column(name, data_type) for name, data_type in rows]


def _postgres_columns(pg: PgConnection, schema: str, table: str) -> list[tuple[str, str]]:
    with pg.cursor() as cur:
        cur.execute(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute"
            " where attrelid = to_regclass(%s) and attnum > 0 and not attisdropped"
            " order by attnum",
            [sql.Identifier(schema, table).as_string(pg)],
        )
        return list(cur.fetchall())


def _export_csv(
    con: duckdb.DuckDBPyConnection, schema: str, table: str, path: Path, where: str = "true"
) -> None:
    # Every value quoted: an unquoted empty field is then NULL and "" an empty string,
    # which is how PostgreSQL's CSV format tells them apart.
    source = f'"{schema}"."{table}"'
    target = str(path).replace("'", "''")
    con.execute(
        f"copy (select * from {source} where {where}) to '{target}' (header false, force_quote *)"
    )


def _copy_in(pg: PgConnection, schema: str, table: str, csv_path: Path) -> None:
    target = sql.Identifier(schema, table)
    copy = sql.SQL("copy {} from stdin with (format csv, null '')").format(target)
    with pg.cursor() as cur, csv_path.open("rb") as rows:
        cur.copy_expert(copy.as_string(pg), rows)


def _create_table(pg: PgConnection, schema: str, table: str, columns: list[Column]) -> None:
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(column.name), sql.SQL(column.postgres_type))
        for column in columns
    )
    with pg.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL("create table {} ({})").format(sql.Identifier(schema, table), definition)
        )


def _replace_table(
    pg: PgConnection, schema: str, table: str, columns: list[Column], csv_path: Path
) -> None:
    target = sql.Identifier(schema, table)
    wanted = [(column.name, column.postgres_type) for column in columns]
    existing = _postgres_columns(pg, schema, table)
    with pg.cursor() as cur:
        if existing == wanted:
            cur.execute(sql.SQL("truncate table {}").format(target))
        else:
            cur.execute(sql.SQL("drop table if exists {}").format(target))
    if existing != wanted:
        _create_table(pg, schema, table, columns)
    _copy_in(pg, schema, table, csv_path)


def copy_table(con: duckdb.DuckDBPyConnection, pg: PgConnection, schema: str, table: str) -> int:
    """Replace PostgreSQL's ``schema.table`` with DuckDB's, in one transaction.

    Returns the rows copied. Commits on success; rolls back and raises on failure.
    """
    columns = duckdb_columns(con, schema, table)
    with tempfile.TemporaryDirectory(prefix="pgcopy-") as scratch:
        csv_path = Path(scratch) / "rows.csv"
        _export_csv(con, schema, table, csv_path)
        try:
            _replace_table(pg, schema, table, columns, csv_path)
            with pg.cursor() as cur:
                cur.execute(
                    sql.SQL("select count(*) from {}").format(sql.Identifier(schema, table))
                )
                (rows,) = cur.fetchone()
            pg.commit()
        except Exception:
            pg.rollback()
            raise
    return rows


def copy_schemas(
    con: duckdb.DuckDBPyConnection, pg: PgConnection, schemas: Iterable[str]
) -> dict[str, int]:
    """Copy every base table of each DuckDB schema (an absent schema is skipped).

    Returns rows copied per ``schema.table``; one transaction per table.
    """
    copied: dict[str, int] = {}
    for schema in schemas:
        for table in duckdb_tables(con, schema):
            copied[f"{schema}.{table}"] = copy_table(con, pg, schema, table)
    return copied


def copy_run_rows(
    con: duckdb.DuckDBPyConnection,
    pg: PgConnection,
    schema: str,
    table: str,
    run_id: str,
    run_column: str = "run_id",
) -> int:
    """Replace PostgreSQL's rows of ``run_id`` in ``schema.table`` by DuckDB's, in one
    transaction (the table is created like DuckDB's when missing); returns the rows copied.

    For tables PostgreSQL also writes to: the mart checks record their results in
    PostgreSQL's ``audit.validation_runs``, which a whole-table copy would wipe. Only
    the columns' names must match: a table the pipeline created in PostgreSQL spells
    some types differently (``varchar`` for ``text``).
    """
    columns = duckdb_columns(con, schema, table)
    existing = [name for name, _ in _postgres_columns(pg, schema, table)]
    if existing and existing != [column.name for column in columns]:
        raise ValueError(
            f"{schema}.{table}: PostgreSQL columns {existing} differ from DuckDB's "
            f"{[column.name for column in columns]}"
        )
    literal = run_id.replace("'", "''")
    with tempfile.TemporaryDirectory(prefix="pgcopy-") as scratch:
        csv_path = Path(scratch) / "rows.csv"
        _export_csv(con, schema, table, csv_path, where=f"\"{run_column}\" = '{literal}'")
        try:
            if not existing:
                _create_table(pg, schema, table, columns)
            with pg.cursor() as cur:
                cur.execute(
                    sql.SQL("delete from {} where {} = %s").format(
                        sql.Identifier(schema, table), sql.Identifier(run_column)
                    ),
                    [run_id],
                )
            _copy_in(pg, schema, table, csv_path)
            pg.commit()
        except Exception:
            pg.rollback()
            raise
    (rows,) = con.execute(
        f'select count(*) from "{schema}"."{table}" where "{run_column}" = ?', [run_id]
    ).fetchone()
    return rows


def ship_load(settings: Settings, run_id: str) -> dict[str, int]:
    """After the loader ran on DuckDB, make PostgreSQL's ``raw`` and ``audit`` match.

    Idempotent, so a retried load task ships again safely. Cost: every ``raw``
    table is copied whole each run (one transaction per table; the loader also
    updates older registry and quarantine rows, so whole tables are the simple
    correct unit), which grows with the history; shipping only the entity rows of
    this ``_run_id`` is the later optimisation. The audit tables ship this run's
    rows only. Returns rows copied per ``schema.table``.
    """
    con = connect(settings.warehouse_path)
    pg = connect_postgres(settings.postgres)
    try:
        copied = copy_schemas(con, pg, LOADED_SCHEMAS)
        for table in duckdb_tables(con, AUDIT_SCHEMA):
            copied[f"{AUDIT_SCHEMA}.{table}"] = copy_run_rows(con, pg, AUDIT_SCHEMA, table, run_id)
    finally:
        pg.close()
        con.close()
    return copied
