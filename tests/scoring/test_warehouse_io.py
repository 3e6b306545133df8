from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from scoring.warehouse_io import SCORE_COLUMNS, read_customer_months, read_scores, write_scores


def scores(score_date: date, customers: list[str], probability: float, run_id: str) -> pd.DataFrame:
    band = "low" if probability < 0.2 else "medium" if probability < 0.5 else "high"
    return pd.DataFrame(
        {
            "score_date": [score_date] * len(customers),
            "customer_id": customers,
            "churn_probability": [probability] * len(customers),
            "churn_risk_band": [band] * len(customers),
            "model_version": ["churn_test"] * len(customers),
            "run_id": [run_id] * len(customers),
            "scored_at": pd.Series(
                [datetime(2024, 7, 1, 3, 0)] * len(customers), dtype="datetime64[us]"
            ),
        }
    )


def stored(path: Path) -> pd.DataFrame:
    return read_scores(path)


def test_write_is_idempotent_and_keeps_history(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    first, second = date(2024, 6, 30), date(2024, 7, 1)

    assert write_scores(path, first, scores(first, ["A", "B", "C"], 0.1, "run1")) == 3
    once = stored(path)
    write_scores(path, first, scores(first, ["A", "B", "C"], 0.1, "run1"))
    assert len(stored(path)) == 3
    pd.testing.assert_frame_equal(stored(path), once)

    # re-scoring a date replaces its rows (even with fewer customers)
    write_scores(path, first, scores(first, ["A", "B"], 0.7, "run2"))
    after = stored(path)
    assert list(after["customer_id"]) == ["A", "B"]
    assert set(after["run_id"]) == {"run2"} and set(after["churn_risk_band"]) == {"high"}

    # another date is added as history
    write_scores(path, second, scores(second, ["A", "B", "D"], 0.3, "run3"))
    history = stored(path)
    assert history.groupby("score_date").size().to_dict() == {
        pd.Timestamp(first): 2,
        pd.Timestamp(second): 3,
    }
    assert not history.duplicated(["score_date", "customer_id"]).any()


def test_table_has_exactly_the_contract_columns(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    write_scores(path, date(2024, 6, 30), scores(date(2024, 6, 30), ["A"], 0.1, "r"))
    con = duckdb.connect(str(path), read_only=True)
    try:
        described = con.execute("describe scores.customer_scores").fetchall()
    finally:
        con.close()
    assert [(row[0], row[1]) for row in described] == list(SCORE_COLUMNS)


def test_bad_rows_are_rejected_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    day = date(2024, 6, 30)
    write_scores(path, day, scores(day, ["A"], 0.1, "good"))
    bad = scores(day, ["A", "B"], 0.1, "bad")
    bad.loc[1, "churn_probability"] = 1.5
    with pytest.raises(ValueError, match="row 1, column churn_probability"):
        write_scores(path, day, bad)
    duplicate = scores(day, ["A", "A"], 0.1, "bad")
    with pytest.raises(ValueError, match="row 1, column customer_id"):
        write_scores(path, day, duplicate)
    with pytest.raises(ValueError, match="score_date"):
        write_scores(path, date(2024, 7, 1), scores(day, ["A"], 0.1, "bad"))
    assert list(stored(path)["run_id"]) == ["good"]


def test_failed_insert_rolls_back_the_delete(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "bank.duckdb"
    day = date(2024, 6, 30)
    write_scores(path, day, scores(day, ["A", "B"], 0.1, "good"))
    broken = scores(day, ["C"], 0.1, "bad")
    broken["scored_at"] = ["not a timestamp"]  # passes the frame checks, fails the cast
    with pytest.raises(duckdb.Error):
        write_scores(path, day, broken)
    assert list(stored(path)["run_id"]) == ["good", "good"]


def test_read_customer_months_stops_at_the_date(tmp_path: Path, make_months, fill_mart) -> None:
    path = tmp_path / "bank.duckdb"
    months = make_months(customers=20, months=6, seed=1)
    fill_mart(path, months)
    read = read_customer_months(path, date(2023, 3, 1))
    assert read["month_start_date"].max() == date(2023, 3, 1)
    assert len(read) == (pd.to_datetime(months["month_start_date"]) <= "2023-03-01").sum()
    with pytest.raises(FileNotFoundError, match="warehouse file not found"):
        read_customer_months(tmp_path / "missing.duckdb", date(2023, 3, 1))


def test_missing_mart_table_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bank.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(LookupError, match="marts.fct_customer_months not found"):
        read_customer_months(path, date(2023, 3, 1))
