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


def _export_csv(con: duckdb.DuckDBPyConnection, schema: str, table: str, path: Path) -> None:
    # Every value quoted: an unquoted empty field is then NULL and "" an empty string,
    # which is how PostgreSQL's CSV format tells them apart.
    source = f'"{schema}"."{table}"'
    target = str(path).replace("'", "''")
    con.execute(f"copy (select * from {source}) to '{target}' (header false, force_quote *)")


def _replace_table(
    pg: PgConnection, schema: str, table: str, columns: list[Column], csv_path: Path
) -> None:
    target = sql.Identifier(schema, table)
    wanted = [(column.name, column.postgres_type) for column in columns]
    existing = _postgres_columns(pg, schema, table)
    with pg.cursor() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        if existing == wanted:
            cur.execute(sql.SQL("truncate table {}").format(target))
        else:
            definition = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type))
                for name, pg_type in wanted
            )
            cur.execute(sql.SQL("drop table if exists {}").format(target))
            cur.execute(sql.SQL("create table {} ({})").format(target, definition))
        copy = sql.SQL("copy {} from stdin with (format csv, null '')").format(target)
        with csv_path.open("rb") as rows:
            cur.copy_expert(copy.as_string(pg), rows)


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
