"""The daily and the monthly training DAG, run through Airflow on a tiny generated bank.

The order a new installation goes through (the shared run ``pipeline_run``, made by the
benchmark command): a daily run with no approved model (every layer built, nothing
scored), the monthly training (a model approved), the next business day's run that
scores. Asserts that every layer is built and that what landed reconciles with what
was loaded plus what was quarantined, file by file, counted independently from the
CSV files themselves. Then re-runs the last date on a copy and checks nothing changed.
"""

from __future__ import annotations

import csv
import re
import shutil
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from benchmarks.run import copy_bank
from include.landing.entities import ENTITIES
from scoring.warehouse_io import read_customer_activity
from tests.conftest import (
    FIRST_RUN_DATE,
    RUN_DATE,
    pipeline_environment,
    run_command,
    table_counts,
)
from tests.fingerprints import warehouse_fingerprints


def data_rows(path: Path) -> int:
    """Records in a landed CSV after its header, counted by the csv module."""
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        return max(sum(1 for _ in csv.reader(handle)) - 1, 0)


def dag_run_states(env: dict[str, str], dag_id: str) -> list[str]:
    with sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db") as db:
        return [
            state for (state,) in db.execute("select state from dag_run where dag_id = ?", [dag_id])
        ]


def test_the_dag_runs_succeeded(pipeline_run: dict) -> None:
    env, log = pipeline_run["env"], pipeline_run["log"][-4000:]
    assert dag_run_states(env, "customer_operations_daily") == ["success", "success"], log
    assert dag_run_states(env, "churn_model_training") == ["success"], log


def test_daily_run_scores_only_once_a_model_is_approved(pipeline_run: dict) -> None:
    env = pipeline_run["env"]
    assert (Path(env["MODEL_STORE_PATH"]) / "churn" / "approved.json").is_file()
    with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
        # first daily run: no approved model, nothing scored or watched for its date
        for table in ("customer_scores", "score_drift"):
            (first_day,) = con.execute(
                f"select count(*) from scores.{table} where score_date = ?", [FIRST_RUN_DATE]
            ).fetchone()
            assert first_day == 0, table
        scored, with_segment, score_dates, in_360 = con.execute(
            "select count(*), count(segment_id), count(distinct score_date),"
            " (select count(churn_probability) from marts.mart_customer_360)"
            " from scores.customer_scores"
        ).fetchone()
        assert score_dates == 1 and scored > 0 and with_segment == scored and in_360 == scored
        assert table_counts(con, "scores")["score_drift"] > 0


def test_every_layer_is_built(pipeline_run: dict) -> None:
    env = pipeline_run["env"]
    with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
        raw = table_counts(con, "raw")
        for entity in ENTITIES:
            assert raw[entity.raw_table] > 0, f"raw.{entity.raw_table} is empty"
        assert table_counts(con, "staging"), "no staging models"
        marts = table_counts(con, "marts")
        assert marts["fct_customer_months"] > 0
        assert marts["dim_customers"] > 0
        assert table_counts(con, "scores")["customer_scores"] > 0
    with duckdb.connect(env["PUBLISHED_PATH"], read_only=True) as published:
        assert table_counts(published, "marts") == marts
        assert "raw" not in {
            s
            for (s,) in published.execute(
                "select schema_name from information_schema.schemata"
            ).fetchall()
        }


def test_lifetime_value_activity_equals_a_pass_over_the_transactions(pipeline_run: dict) -> None:
    # scoring reads the months before the as-of month from fct_customer_months and only
    # the as-of month from fct_transactions; counted here over every transaction
    warehouse = Path(pipeline_run["env"]["WAREHOUSE_PATH"])
    with duckdb.connect(str(warehouse), read_only=True) as con:
        transactions = con.execute(
            "select customer_id, transaction_date from marts.fct_transactions"
            " where is_customer_initiated and customer_id is not null"
        ).df()
        months = con.execute(
            "select customer_id, month_start_date, contribution_amount"
            " from marts.fct_customer_months"
        ).df()
    transactions["transaction_date"] = pd.to_datetime(transactions["transaction_date"])
    months["month_start_date"] = pd.to_datetime(months["month_start_date"])
    run_date = date.fromisoformat(RUN_DATE)  # a month's last day
    # as of the month's end its own month is the feature month; mid-month the month before
    for as_of, feature_month in (
        (run_date, run_date.replace(day=1)),
        (
            run_date - timedelta(days=9),
            (run_date.replace(day=1) - timedelta(days=1)).replace(day=1),
        ),
    ):
        window_start = pd.Timestamp(feature_month) - pd.DateOffset(months=11)
        window_end = pd.Timestamp(feature_month) + pd.offsets.MonthEnd(0)
        seen = transactions.loc[transactions["transaction_date"] <= pd.Timestamp(as_of)]
        in_window = seen["transaction_date"].between(window_start, window_end)
        expected = seen.groupby("customer_id").agg(
            first_transaction_date=("transaction_date", "min"),
            last_transaction_date=("transaction_date", "max"),
            transaction_days=("transaction_date", "nunique"),
        )
        expected["window_transaction_days"] = (
            seen.loc[in_window].groupby("customer_id")["transaction_date"].nunique()
        )
        expected["window_transaction_days"] = expected["window_transaction_days"].fillna(0)
        expected["window_contribution_amount"] = (
            months.loc[
                months["month_start_date"].between(window_start, pd.Timestamp(feature_month))
            ]
            .groupby("customer_id")["contribution_amount"]
            .sum()
            .astype(float)
        )
        actual = read_customer_activity(warehouse, as_of, feature_month).set_index("customer_id")
        actual["window_contribution_amount"] = actual["window_contribution_amount"].astype(float)
        assert len(expected) > 10
        pd.testing.assert_frame_equal(
            actual.sort_index(), expected.sort_index(), check_dtype=False, check_names=False
        )


def test_landed_rows_reconcile_with_loaded_and_quarantined(pipeline_run: dict) -> None:
    env = pipeline_run["env"]
    landing = Path(env["LANDING_PATH"])
    with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
        registry = con.execute(
            "select file_path, entity, status, rows_landed, rows_loaded, rows_quarantined "
            "from raw._load_registry"
        ).fetchall()
        landed_files = sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*.csv"))
        assert sorted(row[0] for row in registry) == landed_files
        raw_tables = {entity.name: entity.raw_table for entity in ENTITIES}
        for file_path, entity, status, landed, loaded, quarantined in registry:
            if status != "loaded":
                continue
            assert landed == data_rows(landing / file_path), file_path
            (in_raw,) = con.execute(
                f"select count(*) from raw.{raw_tables[entity]} where _source_file = ?", [file_path]
            ).fetchone()
            (in_quarantine,) = con.execute(
                "select count(*) from raw._quarantine where source_file = ?", [file_path]
            ).fetchone()
            assert (loaded, quarantined) == (in_raw, in_quarantine), file_path
            assert landed == in_raw + in_quarantine, file_path
        statuses = {row[2] for row in registry}
        assert "duplicate" in statuses, "the dirty sample re-delivers files; none was caught"


def redeliver_under_new_names(landing: Path, business_date: str) -> list[str]:
    """Copy every file (data and control) of ``business_date`` to a new name, as a source
    system re-sending the day would; returns the new data files' landing paths."""
    copies = []
    for original in sorted(landing.rglob(f"business_date={business_date}/*")):
        copy = original.with_name(f"{original.stem}_resent{original.suffix}")
        shutil.copy2(original, copy)
        if copy.suffix == ".csv":
            copies.append(copy.relative_to(landing).as_posix())
    return copies


def test_rerunning_the_date_with_every_file_resent_changes_nothing(
    pipeline_run: dict, tmp_path: Path
) -> None:
    # on a copy of the bank: the shared run stays as it was for the tests that read it
    copy = tmp_path / "bank"
    copy_bank(pipeline_run["data_dir"], copy)
    env = pipeline_environment(copy)
    before = warehouse_fingerprints(env["WAREHOUSE_PATH"])
    resent = redeliver_under_new_names(Path(env["LANDING_PATH"]), RUN_DATE)
    assert resent, f"no file landed for {RUN_DATE}"
    run_command(
        [pipeline_run["airflow"], "dags", "test", "customer_operations_daily", RUN_DATE], env
    )
    assert warehouse_fingerprints(env["WAREHOUSE_PATH"]) == before
    with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
        registered = dict(
            con.execute(
                "select file_path, status from raw._load_registry where file_path like '%_resent.csv'"
            ).fetchall()
        )
    assert registered == dict.fromkeys(resent, "duplicate")


def analyst_examples() -> list[str]:
    """The SQL blocks of docs/analyst.md."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "analyst.md").read_text()
    return re.findall(r"```sql\n(.*?)```", text, flags=re.DOTALL)


def test_the_analyst_examples_run_on_the_published_copy(pipeline_run: dict) -> None:
    examples = analyst_examples()
    assert len(examples) >= 6
    with duckdb.connect(pipeline_run["env"]["PUBLISHED_PATH"], read_only=True) as published:
        answered = [published.execute(sql).fetchall() for sql in examples]
    # the tier questions have an answer on any bank; the others may be empty on a small one
    assert answered[0] and answered[1]
