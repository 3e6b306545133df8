from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest

from scoring import run
from scoring.run import choose_feature_month, last_complete_month, score_customers
from scoring.warehouse_io import read_scores


def test_last_complete_month() -> None:
    assert last_complete_month(date(2024, 6, 15)) == date(2024, 5, 1)
    assert last_complete_month(date(2024, 6, 30)) == date(2024, 6, 1)
    assert last_complete_month(date(2024, 3, 1)) == date(2024, 2, 1)
    assert last_complete_month(date(2024, 1, 5)) == date(2023, 12, 1)
    months = pd.Series([date(2024, 5, 1), date(2024, 6, 1)])
    assert choose_feature_month(months, date(2024, 6, 15)) == (date(2024, 5, 1), True)
    assert choose_feature_month(months[1:], date(2024, 6, 15)) == (date(2024, 6, 1), False)


def test_score_customers_end_to_end(settings, make_months, fill_mart) -> None:
    months = make_months(customers=150, months=15, seed=21)  # January 2023 .. March 2024
    fill_mart(settings.warehouse_path, months)
    stamp = datetime(2024, 4, 16, 2, 0)

    summary = score_customers(settings, date(2024, 4, 15), "run_a", scored_at=stamp)

    # April is incomplete on the 15th and not in the mart anyway: March is scored
    assert summary["feature_month"] == "2024-03-01" and summary["feature_month_complete"]
    march = months.loc[months["month_start_date"] == date(2024, 3, 1)]
    expected = set(march.loc[march["has_open_account"], "customer_id"])
    scores = read_scores(settings.warehouse_path)
    assert set(scores["customer_id"]) == expected
    assert summary["customers_scored"] == len(expected) == len(scores)
    assert scores["churn_probability"].between(0, 1).all()
    assert sum(summary["risk_band_counts"].values()) == len(expected)
    assert summary["model_trained_now"]
    # training used month ends up to December 2023 only (three months of future data)
    version = summary["model_version"]
    assert version.startswith("churn_202301_202312_")
    assert (settings.model_store_path / "churn" / version / "model.joblib").is_file()
    assert summary["metrics"]["evaluated"] and summary["metrics"]["roc_auc"] > 0.6

    # same date again: the stored model is reused and the rows are replaced, not added
    again = score_customers(settings, date(2024, 4, 15), "run_b", scored_at=stamp)
    assert not again["model_trained_now"] and again["model_version"] == version
    rescored = read_scores(settings.warehouse_path)
    assert len(rescored) == len(scores) and set(rescored["run_id"]) == {"run_b"}
    pd.testing.assert_series_equal(rescored["churn_probability"], scores["churn_probability"])

    # the next day adds history with the same model (same data)
    score_customers(settings, date(2024, 4, 16), "run_c", scored_at=stamp)
    history = read_scores(settings.warehouse_path)
    assert history.groupby("score_date").size().tolist() == [len(expected), len(expected)]


def test_data_after_the_score_date_is_not_used(settings, make_months, fill_mart) -> None:
    months = make_months(customers=60, months=12, seed=4)  # January .. December 2023
    fill_mart(settings.warehouse_path, months)
    early = score_customers(settings, date(2023, 9, 30), "r1")
    scores_early = read_scores(settings.warehouse_path, date(2023, 9, 30))

    cut = months.loc[pd.to_datetime(months["month_start_date"]) <= "2023-09-01"]
    fill_mart(settings.warehouse_path, cut)
    cut_summary = score_customers(settings, date(2023, 9, 30), "r2")
    scores_cut = read_scores(settings.warehouse_path, date(2023, 9, 30))

    assert early["model_version"] == cut_summary["model_version"]
    pd.testing.assert_series_equal(
        scores_early["churn_probability"], scores_cut["churn_probability"]
    )


def test_a_tiny_bank_still_scores(settings, make_months, fill_mart) -> None:
    # two months of data: nothing can be labelled yet, so the prior-rate model scores
    months = make_months(customers=5, months=2, seed=2)
    months = months.loc[months["month_start_date"] == months["month_start_date"].min()]
    fill_mart(settings.warehouse_path, months)
    summary = score_customers(settings, date(2023, 1, 20), "tiny")
    assert summary["model_kind"] == "prior_rate"
    assert not summary["feature_month_complete"]  # January is not over on the 20th
    assert summary["customers_scored"] == int(months["has_open_account"].sum()) > 0
    assert summary["notes"]
    scores = read_scores(settings.warehouse_path)
    assert scores["churn_risk_band"].eq("low").all()


def test_empty_mart_is_an_error(settings, make_months, fill_mart) -> None:
    fill_mart(settings.warehouse_path, make_months(customers=3, months=2).iloc[0:0])
    with pytest.raises(LookupError, match="no rows up to 2024-01-31"):
        score_customers(settings, date(2024, 1, 31), "r")


def test_cli_prints_the_summary(settings, make_months, fill_mart, monkeypatch, capsys) -> None:
    fill_mart(settings.warehouse_path, make_months(customers=10, months=5, seed=9))
    monkeypatch.setenv("BANK_DATA_DIR", str(settings.data_dir))
    for variable in ("WAREHOUSE_PATH", "MODEL_STORE_PATH", "REPORTS_PATH"):
        monkeypatch.delenv(variable, raising=False)
    assert run.main(["--score-date", "2023-05-31", "--run-id", "cli_1"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["run_id"] == "cli_1" and summary["feature_month"] == "2023-05-01"
    assert summary["customers_scored"] == len(read_scores(settings.warehouse_path))
