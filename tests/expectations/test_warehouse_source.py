"""GX's SQL engine on DuckDB: the upstream failure, and the adapter that fixes it."""

from __future__ import annotations

import duckdb
import great_expectations as gx
import pytest
from great_expectations.execution_engine import SqlAlchemyExecutionEngine

from expectations.runner import gx_context, raised_exceptions, run_suite_on_table
from expectations.warehouse_source import DuckDBExecutionEngine, warehouse_source


@pytest.fixture
def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("create schema work")
    con.execute(
        "create table work.rows as select i as row_id, "
        "case when i % 10 = 0 then null else 'x' end as name from range(100) as r(i)"
    )
    return con


def not_null_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="names")
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="name"))
    return suite


def test_gx_sql_engine_without_the_adapter_loses_every_result(
    warehouse: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GX issues 10738 / 11579: results are fetched after the connection was released."""
    monkeypatch.setattr(
        DuckDBExecutionEngine, "execute_query", SqlAlchemyExecutionEngine.execute_query
    )
    with warehouse_source(gx_context(), "plain", warehouse, "work") as source:
        run = run_suite_on_table(source, not_null_suite(), "rows", "row_id")
    assert "list index out of range" in " ".join(raised_exceptions(run))


def test_the_adapter_counts_and_returns_the_failing_rows(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    with warehouse_source(gx_context(), "fixed", warehouse, "work") as source:
        run = run_suite_on_table(source, not_null_suite(), "rows", "row_id")

    assert raised_exceptions(run) == []
    [result] = run.result.results
    assert result.result["unexpected_count"] == 10
    query = result.result["unexpected_index_query"]
    failing = warehouse.cursor()
    failing.execute("use work")
    rows = failing.execute(query.rstrip(";")).fetchall()
    assert sorted(row_id for row_id, _ in rows) == list(range(0, 100, 10))
