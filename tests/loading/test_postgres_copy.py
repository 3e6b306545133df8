"""loading/postgres_copy.py against the session's real PostgreSQL server."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import duckdb
import psycopg2
import pytest

from loading.postgres_copy import copy_run_rows, copy_schemas
from tests.postgres_server import connect_kwargs, create_database


@pytest.fixture
def pg(postgres_server: dict[str, str]) -> Iterator[psycopg2.extensions.connection]:
    con = psycopg2.connect(**connect_kwargs(create_database(postgres_server, "copy_test")))
    try:
        yield con
    finally:
        con.close()


def _rows(pg: psycopg2.extensions.connection, sql: str) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    pg.rollback()
    return rows


def test_copy_keeps_values_nulls_and_empty_strings_and_replaces(
    pg: psycopg2.extensions.connection,
) -> None:
    con = duckdb.connect()
    con.execute(
        "create schema raw; create table raw.t (id integer, a varchar, b decimal(18, 2),"
        " c timestamp, d date)"
    )
    con.execute(
        "insert into raw.t values (1, '', 1.25, '2024-01-01 10:00:00', '2024-02-29'),"
        " (2, null, null, null, null), (3, 'a,\"b\"\nc', -3.10, null, null)"
    )
    assert copy_schemas(con, pg, ["raw", "audit"]) == {"raw.t": 3}  # no audit: skipped
    with pg.cursor() as cur:  # a dbt view over the raw table must survive a new copy
        cur.execute("create view public.v as select * from raw.t")
    pg.commit()
    con.execute("delete from raw.t where id = 3")
    assert copy_schemas(con, pg, ["raw"]) == {"raw.t": 2}
    assert _rows(pg, "select * from public.v order by id") == [
        (1, "", Decimal("1.25"), dt.datetime(2024, 1, 1, 10), dt.date(2024, 2, 29)),
        (2, None, None, None, None),
    ]
    con.execute("delete from raw.t; insert into raw.t values (3, 'a,\"b\"\nc', -3.10, null, null)")
    copy_schemas(con, pg, ["raw"])
    assert _rows(pg, "select a, b from raw.t") == [('a,"b"\nc', Decimal("-3.10"))]


def test_copy_run_rows_replaces_the_run_and_keeps_rows_postgres_wrote(
    postgres_server: dict[str, str],
) -> None:
    pg = psycopg2.connect(**connect_kwargs(create_database(postgres_server, "copy_run_test")))
    try:
        con = duckdb.connect()
        con.execute("create schema audit; create table audit.v (run_id varchar, suite varchar)")
        con.execute("insert into audit.v values ('r1', 'landing__a'), ('r2', 'landing__b')")
        assert copy_run_rows(con, pg, "audit", "v", "r1") == 1  # creates the table
        with pg.cursor() as cur:  # what the mart checks record in PostgreSQL only
            cur.execute("insert into audit.v values ('r1', 'marts__x'), ('r0', 'marts__y')")
        pg.commit()
        con.execute("insert into audit.v values ('r1', 'landing__c')")
        assert copy_run_rows(con, pg, "audit", "v", "r1") == 2  # again: idempotent
        assert _rows(pg, "select run_id, suite from audit.v order by 1, 2") == [
            ("r0", "marts__y"),
            ("r1", "landing__a"),
            ("r1", "landing__c"),
        ]
    finally:
        pg.close()
