"""Opening the DuckDB warehouse. DuckDB allows one writing process per file, so
every writer goes through here and runs in the Airflow pool ``duckdb_writer``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from include.config import load_settings

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
