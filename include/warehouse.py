"""Opening the warehouse. DuckDB allows one writing process per file, so every
writer goes through here and runs in the Airflow pool ``duckdb_writer``.

On ``WAREHOUSE_TARGET=postgres`` the tasks after the load use PostgreSQL instead:
:func:`warehouse_location` says which, :func:`open_session` opens either with one
query interface (:class:`Session`). The pool stays: the loader still writes the
DuckDB file, and one writer at a time keeps runs comparable on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from include.config import PostgresSettings, Settings, load_settings

if TYPE_CHECKING:
    import pandas as pd
    from psycopg2.extensions import connection as PgConnection

WRITER_POOL = "duckdb_writer"


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file, creating its folder when writing.

    Pipeline tasks open it read-write even when they only read: when tasks share
    one process (``airflow dags test``), dbt-duckdb keeps its read-write
    connection open there, and DuckDB refuses a second connection to the same
    file with a different configuration. ``read_only`` is for other processes.
    """
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    # A runtime SET, not a connect() config: a config differing from dbt-duckdb's
    # open connection in the same process would be refused.
    con.execute(f"set memory_limit = '{load_settings().warehouse_memory_limit}'")
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """One explicit transaction: committed when the block ends, rolled back if it raises."""
    con.begin()
    try:
        yield con
        con.commit()
    except BaseException:
        con.rollback()
        raise


@contextmanager
def in_any_order(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Statements in the block may write rows in any order (DuckDB then runs them in
    parallel; about a third faster at millions of rows). For rows that carry their own
    order, e.g. their file and line; the CSV reader's record numbers need the order kept."""
    con.execute("set preserve_insertion_order = false")
    try:
        yield con
    finally:
        con.execute("reset preserve_insertion_order")


# --- Either engine: the DuckDB file or the PostgreSQL warehouse (WAREHOUSE_TARGET) ---

# Where a warehouse is: the DuckDB file's path, or the PostgreSQL connection settings.
Location = Path | PostgresSettings

# psycopg2 type codes (PostgreSQL OIDs) converted to what DuckDB's ``.df()`` returns,
# so code reading a frame sees the same dtypes on both engines.
_PG_NUMERIC = 1700
_PG_DATE_TYPES = frozenset({1082, 1114, 1184})  # date, timestamp, timestamptz


def warehouse_location(settings: Settings) -> Location:
    """The warehouse every task after the load reads and writes (WAREHOUSE_TARGET)."""
    return settings.postgres if settings.on_postgres else settings.warehouse_path


def connect_postgres(postgres: PostgresSettings) -> PgConnection:
    """A psycopg2 connection (not autocommit) to the PostgreSQL warehouse."""
    import psycopg2  # lazy: DAG files import this module

    return psycopg2.connect(
        host=postgres.host,
        port=postgres.port,
        dbname=postgres.database,
        user=postgres.user,
        password=postgres.password,
    )


class Session:
    """One open connection to either engine, with one way to query both.

    SQL is written once with ``?`` parameters (DuckDB's style; rewritten to
    psycopg2's ``%s``, so a literal ``%`` such as modulo is escaped, and a literal
    ``?`` must not appear in the SQL text, only in parameters); statements
    outside :meth:`transaction` commit on their own. Frames come back with the
    dtypes DuckDB's ``.df()`` gives (numeric as float, dates as datetime64).
    """

    def __init__(self, engine: str, con: duckdb.DuckDBPyConnection | PgConnection) -> None:
        self.engine = engine
        self.con = con

    @property
    def on_postgres(self) -> bool:
        return self.engine == "postgres"

    def _pg(self, query: str) -> str:
        return query.replace("%", "%%").replace("?", "%s")

    def execute(self, query: str, params: Sequence[object] = ()) -> None:
        if self.on_postgres:
            with self.con.cursor() as cur:
                cur.execute(self._pg(query), list(params))
        else:
            self.con.execute(query, list(params))

    def fetchall(self, query: str, params: Sequence[object] = ()) -> list[tuple]:
        if not self.on_postgres:
            return self.con.execute(query, list(params)).fetchall()
        with self.con.cursor() as cur:
            cur.execute(self._pg(query), list(params))
            return cur.fetchall()

    def frame(self, query: str, params: Sequence[object] = ()) -> pd.DataFrame:
        if not self.on_postgres:
            return self.con.execute(query, list(params)).df()
        import pandas as pd

        with self.con.cursor() as cur:
            cur.execute(self._pg(query), list(params))
            names = [column.name for column in cur.description]
            codes = [column.type_code for column in cur.description]
            frame = pd.DataFrame.from_records(cur.fetchall(), columns=names, coerce_float=True)
        for name, code in zip(names, codes, strict=True):
            if code == _PG_NUMERIC:
                frame[name] = frame[name].astype("float64")
            elif code in _PG_DATE_TYPES:
                frame[name] = pd.to_datetime(frame[name])
        return frame

    def insert_frame(
        self, table: str, columns: Sequence[tuple[str, str]], rows: pd.DataFrame
    ) -> None:
        """Insert ``rows`` into ``table``, each column cast to its (DuckDB-named) type."""
        names = ", ".join(name for name, _ in columns)
        if not self.on_postgres:
            casts = ", ".join(f"cast({name} as {kind})" for name, kind in columns)
            self.con.register("incoming_rows", rows)
            try:
                self.con.execute(f"insert into {table} ({names}) select {casts} from incoming_rows")
            finally:
                self.con.unregister("incoming_rows")
            return
        from psycopg2.extras import execute_values

        # Python objects, NULL for every missing value: psycopg2 adapts neither NaN
        # (it would store 'NaN') nor numpy integers.
        values = rows.loc[:, [name for name, _ in columns]].astype(object)
        values = values.where(values.notna(), None)
        template = "(" + ", ".join(f"%s::{self.sql_type(kind)}" for _, kind in columns) + ")"
        with self.con.cursor() as cur:
            execute_values(
                cur,
                f"insert into {table} ({names}) values %s",
                values.itertuples(index=False, name=None),
                template=template,
                page_size=10_000,
            )

    def sql_type(self, duckdb_type: str) -> str:
        """The column type of this engine holding ``duckdb_type``'s values."""
        if not self.on_postgres:
            return duckdb_type
        from loading.postgres_copy import Column  # the one DuckDB -> PostgreSQL type map

        return Column("", duckdb_type.upper()).postgres_type

    def column_types(self, schema: str, table: str) -> list[tuple[str, str]]:
        """(name, type) of a table's columns in order, types spelt as :meth:`sql_type`
        spells them (upper-case DuckDB names; PostgreSQL's ``format_type``)."""
        if self.on_postgres:
            return self.fetchall(
                "select attname, format_type(atttypid, atttypmod) from pg_attribute"
                " where attrelid = to_regclass(?) and attnum > 0 and not attisdropped"
                " order by attnum",
                [f'"{schema}"."{table}"'],
            )
        rows = self.fetchall(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
        return [(name, kind.upper()) for name, kind in rows]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One explicit transaction: committed when the block ends, rolled back if it raises."""
        self.execute("begin")
        try:
            yield self
            self.execute("commit")
        except BaseException:
            self.execute("rollback")
            raise

    def close(self) -> None:
        self.con.close()


def open_session(location: Location) -> Session:
    """A :class:`Session` on the DuckDB file at ``location`` or on PostgreSQL."""
    if isinstance(location, PostgresSettings):
        pg = connect_postgres(location)
        pg.autocommit = True  # explicit transactions only, as on DuckDB
        return Session("postgres", pg)
    return Session("duckdb", connect(location))


@contextmanager
def session(location: Location) -> Iterator[Session]:
    """:func:`open_session`, closed when the block ends."""
    opened = open_session(location)
    try:
        yield opened
    finally:
        opened.close()
