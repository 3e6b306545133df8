"""include/warehouse.py: one Session interface on DuckDB and on the session's PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from include.config import load_settings
from include.warehouse import Location, open_session, warehouse_location
from scoring.warehouse_io import CustomerSlice
from tests.postgres_server import create_database

COLUMNS = (("d", "DATE"), ("n", "DECIMAL(18,2)"), ("i", "INTEGER"), ("s", "VARCHAR"))


def test_the_target_is_duckdb_unless_set() -> None:
    assert load_settings({}).warehouse_target == "duckdb"
    settings = load_settings(
        {"WAREHOUSE_TARGET": "Postgres", "WAREHOUSE_POSTGRES_PASSWORD": "secret"}
    )
    assert warehouse_location(settings) == settings.postgres
    assert "secret" not in str(settings.postgres) + repr(settings)
    with pytest.raises(ValueError, match="WAREHOUSE_TARGET"):
        load_settings({"WAREHOUSE_TARGET": "sqlite"})


@pytest.fixture(params=["duckdb", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Location]:
    if request.param == "duckdb":
        yield tmp_path / "w.duckdb"
        return
    # a database per test: the tests create the same tables
    server = create_database(request.getfixturevalue("postgres_server"), request.node.originalname)
    yield load_settings(server | {"WAREHOUSE_TARGET": "postgres"}).postgres


def test_a_session_reads_and_writes_alike_on_both_engines(location: Location) -> None:
    con = open_session(location)
    try:
        con.execute("create schema s")
        types = ", ".join(f"{name} {con.sql_type(kind)}" for name, kind in COLUMNS)
        con.execute(f"create table s.t ({types})")
        rows = pd.DataFrame(
            {"d": [date(2024, 1, 31), None], "n": [1.5, float("nan")], "i": [1.0, None]}
        ).assign(s=["a%", None])
        with con.transaction():
            con.insert_frame("s.t", COLUMNS, rows)
        frame = con.frame("select * from s.t where s like ? or i is null order by d", ["a%"])
        assert frame["d"].dtype.kind == "M" and frame["n"].dtype == "float64"
        assert frame["d"].iloc[0] == pd.Timestamp(2024, 1, 31) and frame["n"].iloc[0] == 1.5
        assert con.fetchall("select 7 % 3, count(*) from s.t where i = ?", [1]) == [(1, 1)]
        with pytest.raises(RuntimeError), con.transaction():
            con.execute("delete from s.t")
            raise RuntimeError("rolled back")
        assert con.fetchall("select count(*) from s.t") == [(2,)]
        assert [name for name, _ in con.column_types("s", "t")] == ["d", "n", "i", "s"]
    finally:
        con.close()


def test_customer_slices_split_every_customer_once(location: Location) -> None:
    customers = {f"C{number:08d}" for number in range(500)}
    con = open_session(location)
    try:
        con.execute(f"create table ids (customer_id {con.sql_type('VARCHAR')})")
        con.insert_frame(
            "ids", (("customer_id", "VARCHAR"),), pd.DataFrame({"customer_id": sorted(customers)})
        )
        parts = [
            {
                customer_id
                for (customer_id,) in con.fetchall(
                    "select customer_id from ids where "
                    + CustomerSlice(index, 3).condition(engine=con.engine)
                )
            }
            for index in range(3)
        ]
    finally:
        con.close()
    assert all(parts) and sum(map(len, parts)) == len(customers)
    assert set().union(*parts) == customers
