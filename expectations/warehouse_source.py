"""Great Expectations on the DuckDB warehouse itself: a small adapter for GX's SQL engine.

GX 1.x validates SQL tables through SQLAlchemy; with DuckDB (``duckdb-engine``)
every validation fails with ``IndexError: list index out of range`` in
``resolve_metric_bundle`` (GX issues 10738 and 11579, open in GX 1.24.1). The
cause: GX's ``execute_query`` runs a query inside ``with engine.connect()`` and
returns the cursor result *after* that block released the connection; with
``duckdb-engine`` a cursor is the connection itself, so the release (pool reset)
discards the pending result and ``fetchall()`` returns ``[]``. GX keeps one
persisted connection for SQLite, SQL Server, BigQuery and Databricks, but not
for DuckDB. ``tests/expectations/test_warehouse_source.py`` shows both the
failure and the fix.

The fix here, in one method and one setting: :class:`DuckDBExecutionEngine` fetches the rows
before the connection is released (``freeze()``), so every caller of
``execute_query`` gets a buffered result. :class:`DuckDBDatasource` is GX's
``SQLDatasource`` with that engine (GX registers it as type ``duckdb``). The
setting: GX returns, for each failed expectation, the SQL of its failing rows
with parameters inlined, but it does not recognise duckdb-engine's ``$1``
parameter style (the uniqueness query kept a bare ``$1``), so the engine uses
``?`` (``paramstyle="qmark"``), which GX inlines.

:func:`warehouse_source` points it at an open DuckDB connection (a cursor of
it, so the loader's own connection and its settings are shared: DuckDB refuses
a second connection to the same file with another configuration, and
``duckdb-engine`` sets a user agent that differs).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import duckdb
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.data_context import AbstractDataContext
from great_expectations.datasource.fluent import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine

from include.warehouse import Session

# duckdb-engine's column reflection queries ``pg_catalog.pg_collation``, which DuckDB
# 2.0 lacks; GX then reads the columns from one row instead and logs the error at
# INFO for every validation, which would fill the task log with a harmless traceback.
logging.getLogger("great_expectations.expectations.metrics.util").setLevel(logging.WARNING)


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """GX's SQL engine, with results fetched while their DuckDB connection is still held."""

    def execute_query(self, query):  # type: ignore[no-untyped-def]  # GX's own signature
        with self.get_connection() as connection:
            result = self._execute_query_with_recovery(connection, query)
            return result.freeze()() if result.returns_rows else result


class DuckDBDatasource(SQLDatasource):
    """A GX SQL data source on DuckDB that uses :class:`DuckDBExecutionEngine`."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]  # GX's registry key

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine


def schema_cursor(con: duckdb.DuckDBPyConnection, schema: str) -> duckdb.DuckDBPyConnection:
    """A new session on ``con``'s database whose unqualified names resolve in ``schema``.

    ``schema`` is a schema or an attached database of ``con``. GX names tables
    without their schema in some queries (column reflection, the failing-rows
    queries it returns), so the session's default is set instead. A cursor sees
    committed data only.
    """
    cursor = con.cursor()
    cursor.execute(f"use {schema}")
    return cursor


@contextmanager
def warehouse_source(
    context: AbstractDataContext, name: str, con: duckdb.DuckDBPyConnection, schema: str
) -> Iterator[DuckDBDatasource]:
    """A GX data source on the tables of ``schema``, through cursors of ``con``.

    The data source is removed and every cursor it opened is closed when the block
    ends, so nothing of a validation stays open on the warehouse.
    """
    cursors: list[duckdb.DuckDBPyConnection] = []

    def new_cursor() -> ConnectionWrapper:
        cursors.append(schema_cursor(con, schema))
        return ConnectionWrapper(cursors[-1])

    source = context.data_sources.add_or_update_duckdb(  # type: ignore[attr-defined]
        name=name,
        connection_string="duckdb:///:memory:",  # not opened: ``creator`` supplies the connection
        kwargs={
            "creator": new_cursor,
            "poolclass": sa.pool.StaticPool,
            # GX inlines the parameters of the failing-rows queries it returns, but
            # not duckdb-engine's default ``$1`` style; ``?`` it inlines.
            "paramstyle": "qmark",
        },
    )
    try:
        yield source
    finally:
        source.get_execution_engine().engine.dispose()
        context.data_sources.delete(name)
        for cursor in cursors:
            cursor.close()


@contextmanager
def session_source(
    context: AbstractDataContext, name: str, con: Session, schema: str
) -> Iterator[SQLDatasource]:
    """A GX SQL data source on the warehouse of ``con``: DuckDB through
    :func:`warehouse_source`, PostgreSQL through GX's own ``postgres`` data source
    (with its own connection: GX's SQL engine needs a SQLAlchemy engine)."""
    if not con.on_postgres:
        with warehouse_source(context, name, con.con, schema) as source:
            yield source
        return
    parameters = con.con.get_dsn_parameters()
    url = sa.engine.URL.create(
        "postgresql+psycopg2",
        username=parameters["user"],
        password=con.con.info.password,
        host=parameters["host"],
        port=int(parameters["port"]),
        database=parameters["dbname"],
    )
    source = context.data_sources.add_or_update_postgres(
        name=name, connection_string=url.render_as_string(hide_password=False)
    )
    try:
        yield source
    finally:
        source.get_execution_engine().engine.dispose()
        context.data_sources.delete(name)
