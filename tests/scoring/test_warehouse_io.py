from __future__ import annotations

import inspect
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from include.warehouse import connect
from scoring import warehouse_io
from scoring.features import MART_COLUMNS, SIGNAL_COLUMNS
from scoring.warehouse_io import (
    DRIFT_COLUMNS,
    SCORE_COLUMNS,
    create_score_tables,
    read_customer_activity,
    read_customer_holdings,
    read_customer_months,
    read_risk_bands,
    read_scores,
    read_signal_months,
    write_drift,
    write_scores,
)

STAMP = datetime(2024, 7, 1, 3, 0)


BAND_NAMES = ("low", "medium", "high")


def scores(score_date: date, customers: list[str], probability: float, run_id: str) -> pd.DataFrame:
    band = "low" if probability < 0.2 else "medium" if probability < 0.5 else "high"
    rows = len(customers)
    values = {
        "score_date": [score_date] * rows,
        "customer_id": customers,
        "feature_month_start_date": [date(score_date.year, score_date.month, 1)] * rows,
        "churn_probability": [probability] * rows,
        "churn_risk_band": [band] * rows,
        "reason_code_1": ["aum_falling"] * rows,
        "reason_code_2": [None] * rows,
        "reason_code_3": [None] * rows,
        "reason_summary": ["AUM changed -50% against the 3 months before"] * rows,
        "expected_transactions_12m": [10.0] * rows,
        "probability_alive": [0.9] * rows,
        "expected_value_per_transaction": [25.0] * rows,
        "predicted_value_12m": [250.0] * rows,
        "segment_id": [1] * rows,
        "segment_name": ["everyday bankers"] * rows,
        "model_version": ["churn_test"] * rows,
        "run_id": [run_id] * rows,
        "scored_at": pd.Series([STAMP] * rows, dtype="datetime64[us]"),
    }
    return pd.DataFrame(values, columns=[name for name, _ in SCORE_COLUMNS])


def drift(score_date: date, run_id: str, variables: tuple[str, ...] = ("a", "b")) -> pd.DataFrame:
    rows = len(variables)
    return pd.DataFrame(
        {
            "score_date": [score_date] * rows,
            "variable": list(variables),
            "psi": [0.01] * rows,
            "status": ["stable"] * rows,
            "rows": [100] * rows,
            "reference_rows": [1000] * rows,
            "model_version": ["churn_test"] * rows,
            "run_id": [run_id] * rows,
            "computed_at": pd.Series([STAMP] * rows, dtype="datetime64[us]"),
        }
    )


def stored(path: Path) -> pd.DataFrame:
    return read_scores(path)


def stored_drift(path: Path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select * from scores.score_drift order by score_date, variable").df()
    finally:
        con.close()


def test_write_is_idempotent_and_keeps_history(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    first, second = date(2024, 6, 30), date(2024, 7, 1)

    assert write_scores(path, first, scores(first, ["A", "B", "C"], 0.1, "run1"), BAND_NAMES) == 3
    once = stored(path)
    write_scores(path, first, scores(first, ["A", "B", "C"], 0.1, "run1"), BAND_NAMES)
    assert len(stored(path)) == 3
    pd.testing.assert_frame_equal(stored(path), once)

    # re-scoring a date replaces its rows (even with fewer customers)
    write_scores(path, first, scores(first, ["A", "B"], 0.7, "run2"), BAND_NAMES)
    after = stored(path)
    assert list(after["customer_id"]) == ["A", "B"]
    assert set(after["run_id"]) == {"run2"} and set(after["churn_risk_band"]) == {"high"}

    # another date is added as history
    write_scores(path, second, scores(second, ["A", "B", "D"], 0.3, "run3"), BAND_NAMES)
    history = stored(path)
    assert history.groupby("score_date").size().to_dict() == {
        pd.Timestamp(first): 2,
        pd.Timestamp(second): 3,
    }
    assert not history.duplicated(["score_date", "customer_id"]).any()
    assert list(read_scores(path, second)["customer_id"]) == ["A", "B", "D"]


def test_drift_write_is_idempotent_per_date(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    first, second = date(2024, 6, 30), date(2024, 7, 1)
    assert write_drift(path, first, drift(first, "run1")) == 2
    write_drift(path, first, drift(first, "run2", variables=("a",)))
    write_drift(path, second, drift(second, "run3"))
    table = stored_drift(path)
    assert list(zip(table["run_id"], table["variable"], strict=True)) == [
        ("run2", "a"),
        ("run3", "a"),
        ("run3", "b"),
    ]
    with pytest.raises(ValueError, match="drift frame: columns"):
        write_drift(path, first, drift(first, "bad").drop(columns=["psi"]))


def test_tables_have_exactly_the_contract_columns(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    write_scores(path, date(2024, 6, 30), scores(date(2024, 6, 30), ["A"], 0.1, "r"), BAND_NAMES)
    write_drift(path, date(2024, 6, 30), drift(date(2024, 6, 30), "r"))
    con = duckdb.connect(str(path), read_only=True)
    try:
        described = con.execute("describe scores.customer_scores").fetchall()
        described_drift = con.execute("describe scores.score_drift").fetchall()
    finally:
        con.close()
    assert [(row[0], row[1]) for row in described] == list(SCORE_COLUMNS)
    assert [(row[0], row[1]) for row in described_drift] == list(DRIFT_COLUMNS)


def test_create_score_tables_makes_both_empty_tables(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    con = connect(path)
    try:
        create_score_tables(con)
        create_score_tables(con)  # idempotent
        counts = [
            con.execute(f"select count(*) from scores.{table}").fetchone()[0]
            for table in ("customer_scores", "score_drift")
        ]
    finally:
        con.close()
    assert counts == [0, 0]
    assert list(stored(path).columns) == [name for name, _ in SCORE_COLUMNS]


def test_a_table_from_an_older_contract_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    con = connect(path)
    try:
        con.execute("create schema scores")
        con.execute("create table scores.customer_scores (score_date date, customer_id varchar)")
    finally:
        con.close()
    with pytest.raises(LookupError, match="differ from the contract"):
        write_scores(
            path, date(2024, 6, 30), scores(date(2024, 6, 30), ["A"], 0.1, "r"), BAND_NAMES
        )


def test_bad_rows_are_rejected_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    day = date(2024, 6, 30)
    write_scores(path, day, scores(day, ["A"], 0.1, "good"), BAND_NAMES)
    bad = scores(day, ["A", "B"], 0.1, "bad")
    bad.loc[1, "churn_probability"] = 1.5
    with pytest.raises(ValueError, match="row 1, column churn_probability"):
        write_scores(path, day, bad, BAND_NAMES)
    duplicate = scores(day, ["A", "A"], 0.1, "bad")
    with pytest.raises(ValueError, match="row 1, column customer_id"):
        write_scores(path, day, duplicate, BAND_NAMES)
    with pytest.raises(ValueError, match="score_date"):
        write_scores(path, date(2024, 7, 1), scores(day, ["A"], 0.1, "bad"), BAND_NAMES)
    no_band = scores(day, ["A", "B"], 0.1, "bad")
    no_band.loc[0, "churn_risk_band"] = "very high"
    with pytest.raises(ValueError, match="row 0, column churn_risk_band"):
        write_scores(path, day, no_band, BAND_NAMES)
    no_model = scores(day, ["A", "B"], 0.1, "bad")
    no_model.loc[1, "model_version"] = None
    with pytest.raises(ValueError, match="row 1, column model_version: NULL"):
        write_scores(path, day, no_model, BAND_NAMES)
    with pytest.raises(ValueError, match="columns"):
        write_scores(
            path, day, scores(day, ["A"], 0.1, "bad").drop(columns=["segment_name"]), BAND_NAMES
        )
    assert list(stored(path)["run_id"]) == ["good"]


def test_failed_insert_rolls_back_the_delete(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    day = date(2024, 6, 30)
    write_scores(path, day, scores(day, ["A", "B"], 0.1, "good"), BAND_NAMES)
    broken = scores(day, ["C"], 0.1, "bad")
    broken["scored_at"] = ["not a timestamp"]  # passes the frame checks, fails the cast
    with pytest.raises(duckdb.Error):
        write_scores(path, day, broken, BAND_NAMES)
    assert list(stored(path)["run_id"]) == ["good", "good"]


def test_mart_reads_stop_at_the_date(tmp_path: Path, make_bank, fill_warehouse) -> None:
    path = tmp_path / "bank.duckdb"
    bank = make_bank(customers=20, months=6, seed=1)
    fill_warehouse(path, bank)
    through = date(2023, 3, 1)
    expected = (pd.to_datetime(bank.months["month_start_date"]) <= "2023-03-01").sum()

    months = read_customer_months(path, through)
    assert list(months.columns) == list(MART_COLUMNS)
    assert months["month_start_date"].max() == through and len(months) == expected
    assert isinstance(months["month_start_date"].iloc[0], date)

    signals = read_signal_months(path, through)
    assert list(signals.columns) == list(SIGNAL_COLUMNS)
    assert signals["month_start_date"].max() == through and len(signals) == expected
    with pytest.raises(FileNotFoundError, match="warehouse file not found"):
        read_customer_months(tmp_path / "missing.duckdb", through)


def test_missing_mart_table_or_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(LookupError, match="marts.fct_customer_months not found"):
        read_customer_months(path, date(2023, 3, 1))
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_customer_signal_months as "
            "select 'A' as customer_id, date '2023-01-01' as month_start_date"
        )
    finally:
        con.close()
    with pytest.raises(
        LookupError, match="fct_customer_signal_months lacks column.*churn_label_3m"
    ):
        read_signal_months(path, date(2023, 3, 1))


def hand_made_warehouse(path: Path) -> None:
    con = connect(path)
    try:
        for schema in ("marts", "seeds"):
            con.execute(f"create schema {schema}")
        con.execute(
            """
            create table marts.fct_transactions as select * from (values
                ('A', date '2023-01-15', true),
                ('A', date '2023-01-15', true),   -- same day: one transaction day
                ('A', date '2023-06-10', true),
                ('A', date '2023-07-01', false),  -- payroll credit: not initiated
                ('A', date '2024-01-05', true),
                ('A', date '2024-02-01', true),   -- after the as-of date
                ('B', date '2023-08-01', false),
                ('C', date '2022-12-01', true),
                (null, date '2023-05-05', true)   -- bank-internal, no customer
            ) as t(customer_id, transaction_date, is_customer_initiated)
            """
        )
        con.execute(
            """
            create table marts.fct_customer_months as select * from (values
                ('A', date '2023-01-01', 100.0, 1, date '2023-01-15', date '2023-01-15'),
                ('A', date '2023-06-01', 30.0, 1, date '2023-01-15', date '2023-06-10'),
                ('A', date '2024-01-01', 12.5, 1, date '2023-01-15', date '2024-01-05'),
                ('A', date '2024-02-01', 999.0, 1, date '2023-01-15', date '2024-02-01'),
                ('B', date '2023-08-01', 7.0, 0, null, null),
                ('C', date '2022-12-01', 5.0, 1, date '2022-12-01', date '2022-12-01')
            ) as t(
                customer_id, month_start_date, contribution_amount,
                customer_initiated_transaction_days, first_customer_initiated_date,
                last_customer_initiated_date
            )
            """
        )
        con.execute(
            """
            create table marts.mart_customer_loyalty as select * from (values
                ('A', 3), ('B', 1), ('C', 0)
            ) as t(customer_id, product_depth)
            """
        )
        con.execute(
            """
            create table seeds.churn_risk_bands as select * from (values
                ('low', 0.00, 0.15), ('medium', 0.15, 0.40), ('high', 0.40, 1.01)
            ) as t(churn_risk_band, min_churn_probability, max_churn_probability)
            """
        )
    finally:
        con.close()


def test_read_customer_activity_on_a_hand_made_warehouse(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    hand_made_warehouse(path)
    # feature month January 2024: the window is February 2023 .. January 2024
    activity = read_customer_activity(path, date(2024, 1, 31), date(2024, 1, 1))
    activity = activity.set_index("customer_id")
    assert list(activity.index) == ["A", "C"]  # B has no customer-initiated transaction
    a = activity.loc["A"]
    assert pd.Timestamp(a["first_transaction_date"]) == pd.Timestamp("2023-01-15")
    assert pd.Timestamp(a["last_transaction_date"]) == pd.Timestamp("2024-01-05")
    # days 2023-01-15, 2023-06-10, 2024-01-05; the last two in the window
    assert (a["transaction_days"], a["window_transaction_days"]) == (3, 2)
    assert a["window_contribution_amount"] == pytest.approx(42.5)  # June 30 + January 12.5
    c = activity.loc["C"]
    assert (c["transaction_days"], c["window_transaction_days"]) == (1, 0)
    assert pd.isna(c["window_contribution_amount"])


def test_customer_activity_of_the_as_of_month_comes_from_its_transactions(
    tmp_path: Path,
) -> None:
    # as of 2024-01-03 the warehouse's January row (built to a later date) already
    # counts the 01-05 transaction; the activity must not: the as-of month is read from
    # the transactions up to the as-of date, the months before it from the mart
    path = tmp_path / "bank.duckdb"
    hand_made_warehouse(path)
    activity = read_customer_activity(path, date(2024, 1, 3), date(2023, 12, 1))
    a = activity.set_index("customer_id").loc["A"]
    assert pd.Timestamp(a["last_transaction_date"]) == pd.Timestamp("2023-06-10")
    # window January .. December 2023: both of A's transaction days
    assert (a["transaction_days"], a["window_transaction_days"]) == (2, 2)
    assert a["window_contribution_amount"] == pytest.approx(130.0)


def test_read_customer_holdings_and_cutoffs(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    hand_made_warehouse(path)
    holdings = read_customer_holdings(path).set_index("customer_id").sort_index()
    # the mart's product depth; the investment share comes with the signal mart
    assert holdings.to_dict("index") == {
        "A": {"product_depth": 3.0},
        "B": {"product_depth": 1.0},
        "C": {"product_depth": 0.0},
    }
    assert read_risk_bands(path) == (("low", 0.0), ("medium", 0.15), ("high", 0.40))


def test_scoring_reads_marts_and_seeds_only() -> None:
    # every business figure scoring uses is a mart column: the warehouse module
    # names no staging or intermediate relation (the hand-made warehouse above has
    # neither schema, and every read works on it)
    source = inspect.getsource(warehouse_io)
    assert "staging." not in source and "intermediate." not in source
