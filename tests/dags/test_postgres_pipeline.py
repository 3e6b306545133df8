"""The daily and the training DAG on ``WAREHOUSE_TARGET=postgres``, through Airflow.

The same steps, dates and tiny bank as the shared DuckDB run (fixture ``pipeline_run``,
generated with the same arguments, so the same landed files): a daily run with no
approved model, the monthly training, the next business day's run that scores;
against a database of its own on the session's PostgreSQL server. Checks that every
task succeeded, that the marts, scores, mart checks and the publication are in
PostgreSQL, and that each mart holds as many rows as the DuckDB run's. A BI reader
queries the ``published`` schema throughout the three runs (tests/published_reader.py):
no query may fail, and each must see one publication whole (its record and two marts).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import psycopg2
import pytest

from tests.conftest import (
    FIRST_RUN_DATE,
    RUN_DATE,
    pipeline_environment,
    prepare_bank,
    reading_the_published_copy,
    run_command,
    table_counts,
)
from tests.postgres_server import connect_kwargs, create_database

DAILY = "customer_operations_daily"
TRAINING = "churn_model_training"


def airflow_rows(env: dict[str, str], query: str, params: list[str]) -> list[tuple]:
    with closing(sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        return db.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def postgres_run(
    tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path, postgres_server: dict[str, str]
) -> Iterator[dict]:
    warehouse = create_database(postgres_server, "pipeline_on_postgres")
    data_dir = tmp_path_factory.mktemp("bank_on_postgres")
    env = pipeline_environment(data_dir) | warehouse | {"WAREHOUSE_TARGET": "postgres"}
    airflow = prepare_bank(data_dir, env)
    reader = reading_the_published_copy(data_dir, data_dir.parent / "postgres_reader", warehouse)
    with reader as reads:
        run_command([airflow, "dags", "test", DAILY, FIRST_RUN_DATE], env)
        pg = psycopg2.connect(**connect_kwargs(warehouse))
        with pg.cursor() as cur:
            cur.execute("select count(*) from scores.customer_scores")
            (scores_before_training,) = cur.fetchone()
        pg.rollback()
        run_command([airflow, "dags", "test", TRAINING, FIRST_RUN_DATE], env)
        run_command([airflow, "dags", "test", DAILY, RUN_DATE], env)
    try:
        yield {
            "env": env,
            "pg": pg,
            "scores_before_training": scores_before_training,
            "reader": json.loads(reads.read_text()),
        }
    finally:
        pg.close()


def pg_rows(run: dict, query: str, params: list | None = None) -> list[tuple]:
    pg = run["pg"]
    with pg.cursor() as cur:
        cur.execute(query, params or [])
        rows = cur.fetchall()
    pg.rollback()  # read-only: no transaction left open between checks
    return rows


def daily_run_id(env: dict[str, str]) -> str:
    """The run id of the latest daily run (the one that scored)."""
    [(run_id,)] = airflow_rows(
        env,
        "select run_id from dag_run where dag_id = ? order by logical_date desc limit 1",
        [DAILY],
    )
    return run_id


def test_every_task_succeeded(postgres_run: dict) -> None:
    env = postgres_run["env"]
    for dag_id in (DAILY, TRAINING):
        states = airflow_rows(
            env, "select task_id, state from task_instance where dag_id = ?", [dag_id]
        )
        assert states, f"{dag_id}: no task ran"
        failed = {task: state for task, state in states if state != "success"}
        assert not failed, f"{dag_id}: tasks not successful: {failed}"


def test_the_marts_and_scores_are_in_postgres(postgres_run: dict) -> None:
    assert postgres_run["scores_before_training"] == 0
    counts = dict(
        pg_rows(
            postgres_run,
            "select c.relname, c.reltuples from pg_class c join pg_namespace n"
            " on n.oid = c.relnamespace where n.nspname = 'marts' and c.relkind in ('r', 'v')",
        )
    )
    assert "mart_customer_360" in counts and "fct_customer_months" in counts
    for table in counts:
        [(rows,)] = pg_rows(postgres_run, f'select count(*) from marts."{table}"')
        assert rows > 0, f"marts.{table} is empty"
    [(scored, dates, drift)] = pg_rows(
        postgres_run,
        "select count(*), count(distinct score_date),"
        " (select count(*) from scores.score_drift) from scores.customer_scores",
    )
    [(customers,)] = pg_rows(postgres_run, "select count(*) from marts.mart_customer_360")
    assert scored == customers and dates == 1 and drift > 0


def test_mart_checks_passed_and_the_run_was_published(postgres_run: dict) -> None:
    run_id = daily_run_id(postgres_run["env"])
    checks = pg_rows(
        postgres_run,
        # the landing suites fail where the day's files hold dirt (those rows are quarantined)
        "select suite, success from audit.validation_runs where run_id = %s"
        " and suite not like 'landing__%%'",
        [run_id],
    )
    suites = {suite for suite, _ in checks}
    assert {"marts__fct_customer_months", "warehouse__no_personal_data"} <= suites
    assert all(success for _, success in checks), checks
    assert pg_rows(
        postgres_run, "select count(*) from audit.publications where run_id = %s", [run_id]
    ) == [(1,)]
    # the DuckDB copy for BI is not built on this target; the report is
    env = postgres_run["env"]
    assert not Path(env["PUBLISHED_PATH"]).exists()
    assert list(Path(env["REPORTS_PATH"]).glob("*/report.html"))


# Figures both runs must agree on (same bank, same models); floats rounded, since the
# engines sum in different orders.
PARITY_QUERIES = (
    (
        "select value_tier, count(*), sum(month_average_aum) from marts.fct_customer_months"
        " group by 1 order by 1"
    ),
    "select count(*), sum(loyalty_score) from marts.mart_customer_loyalty",
    "select churn_risk_band, count(*) from marts.mart_customer_scores group by 1 order by 1",
    (
        "select segment_name, count(*), avg(churn_probability) from scores.customer_scores"
        " group by 1 order by 1"
    ),
)


def rounded(rows: list[tuple]) -> list[tuple]:
    return [tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows]


def test_the_marts_and_scores_match_the_duckdb_run(postgres_run: dict, pipeline_run: dict) -> None:
    with duckdb.connect(pipeline_run["env"]["WAREHOUSE_PATH"], read_only=True) as con:
        expected_counts = table_counts(con, "marts")
        expected = [rounded(con.execute(query).fetchall()) for query in PARITY_QUERIES]
    counts = {
        table: pg_rows(postgres_run, f'select count(*) from marts."{table}"')[0][0]
        for table in expected_counts
    }
    assert counts == expected_counts
    assert [rounded(pg_rows(postgres_run, query)) for query in PARITY_QUERIES] == expected


def published_figures(con: duckdb.DuckDBPyConnection) -> list:
    """What the reader's query returns, from a DuckDB published copy."""
    from tests.published_reader import DUCKDB_RELATIONS, snapshot

    return snapshot(con, DUCKDB_RELATIONS)[1:]


def test_bi_readers_saw_whole_publications(postgres_run: dict, pipeline_run: dict) -> None:
    reader = postgres_run["reader"]
    assert reader["errors"] == []
    reads = reader["seen"]["postgres"]
    first, last = (
        run_id
        for (run_id,) in airflow_rows(
            postgres_run["env"],
            "select run_id from dag_run where dag_id = ? order by logical_date",
            [DAILY],
        )
    )
    assert {run_id for run_id, *_ in reads} == {first, last}, "both publications were read"
    # each publication's figures, from the DuckDB run of the same bank and dates
    before, after = pipeline_run["before_next_day"], pipeline_run["data_dir"]
    expected = {}
    for run_id, bank in ((first, before), (last, after)):
        published = pipeline_environment(bank)["PUBLISHED_PATH"]
        with duckdb.connect(published, read_only=True) as con:
            expected[run_id] = rounded([tuple(published_figures(con))])
    mixed = [read for read in reads if rounded([tuple(read[1:])]) != expected[read[0]]]
    assert mixed == [], f"{len(mixed)} of {len(reads)} reads saw two publications at once"


def test_the_published_schema_holds_the_marts_for_bi(postgres_run: dict) -> None:
    marts = pg_rows(
        postgres_run,
        "select table_name from information_schema.tables where table_schema = 'marts'",
    )
    for (table,) in marts:
        [(in_marts,)] = pg_rows(postgres_run, f'select count(*) from marts."{table}"')
        [(published, readable)] = pg_rows(
            postgres_run,
            f'select (select count(*) from published."{table}"),'
            " has_table_privilege('bi_reader', %s, 'select')",
            [f'published."{table}"'],
        )
        assert (published, readable) == (in_marts, True), table
    [(run_id,)] = pg_rows(postgres_run, "select run_id from published.publication")
    assert run_id == daily_run_id(postgres_run["env"])
