"""Monthly training and daily scoring end to end on a temporary warehouse."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from include.config import Settings, load_settings
from scoring import model_store
from scoring.churn_model import (
    ChurnModel,
    PriorRateModel,
    TrainingResult,
    assemble_training_set,
    evaluate_against_baseline,
    out_of_time_split,
)
from scoring.evaluation import score_report
from scoring.reason_codes import REASON_BY_CODE, mart_percent
from scoring.score import main as score_main
from scoring.score import score_customers
from scoring.train import (
    DRIFT_FEATURES,
    SCORE_VARIABLE,
    load_panel,
    promotion_decision,
    train_models,
)
from scoring.train import main as train_main
from scoring.warehouse_io import DRIFT_COLUMNS, SCORE_COLUMNS, read_scores

AS_OF = date(2024, 3, 31)  # the synthetic bank runs January 2023 .. March 2024
REASON_COLUMNS = ["reason_code_1", "reason_code_2", "reason_code_3"]


def new_settings(folder: Path) -> Settings:
    return load_settings({"BANK_DATA_DIR": str(folder / "data")})


def drift_rows(settings: Settings) -> pd.DataFrame:
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute("select * from scores.score_drift order by score_date, variable").df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def bank(make_bank):
    return make_bank(customers=300, months=15, seed=7)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, bank, fill_warehouse) -> tuple[Settings, dict[str, Any]]:
    settings = new_settings(tmp_path_factory.mktemp("bank"))
    fill_warehouse(settings.warehouse_path, bank)
    return settings, train_models(settings, AS_OF, "train_1")


def test_the_first_model_is_promoted(trained) -> None:
    settings, summary = trained
    version = summary["model_version"]
    assert summary["decision"]["promoted"]
    assert summary["decision"]["why"] == "first model: nothing approved yet"
    assert summary["approved_model_version"] == version
    assert model_store.approved_version(settings.model_store_path) == version
    assert [item["model_version"] for item in model_store.decisions(settings.model_store_path)] == [
        version
    ]

    # feature month March 2024; labelled April .. December 2023 (after the warm-up);
    # test November - December, so the stored model was fitted on April .. August
    metrics = summary["metrics"]
    assert metrics["evaluated"] and metrics["test_months"] == ["2023-11-01", "2023-12-01"]
    assert version.startswith("churn_202304_202308_")
    models, metadata = model_store.load_model(settings.model_store_path, version)
    assert metadata["training_window"] == {"first_month": "2023-04-01", "last_month": "2023-08-01"}
    assert metadata["training_window"]["last_month"] == metrics["train_months"][1]
    assert metadata["feature_month"] == "2024-03-01" and metadata["feature_month_complete"]
    assert metrics["model"]["roc_auc"] > 0.8
    assert set(metadata["drift_references"]) == {SCORE_VARIABLE, *DRIFT_FEATURES}

    assert models.segments is not None and len(summary["segments"]) == 6
    assert models.lifetime_value is not None and summary["lifetime_value"]["gamma_gamma_usable"]
    # the customers left out of Gamma-Gamma are counted by reason in the metadata
    left_out = summary["lifetime_value"]["gamma_gamma_left_out"]
    assert set(left_out) == {"no_repeat_transactions", "zero_mean_value", "negative_mean_value"}
    assert summary["notes"] == []


def test_scoring_writes_one_row_per_open_customer(trained, bank) -> None:
    settings, training_summary = trained
    stamp = datetime(2024, 4, 16, 2, 0)
    summary = score_customers(settings, date(2024, 4, 15), "score_a", scored_at=stamp)

    # April is incomplete on the 15th (and not in the mart anyway): March is scored
    assert summary["status"] == "scored"
    assert summary["feature_month"] == "2024-03-01" and summary["feature_month_complete"]
    march = bank.months.loc[bank.months["month_start_date"] == date(2024, 3, 1)]
    expected = set(march.loc[march["has_open_account"], "customer_id"])
    scores = read_scores(settings.warehouse_path)
    assert list(scores.columns) == [name for name, _ in SCORE_COLUMNS]
    assert set(scores["customer_id"]) == expected
    assert summary["customers_scored"] == len(expected) == len(scores) > 200
    assert set(scores["model_version"]) == {training_summary["model_version"]}
    assert (scores["feature_month_start_date"] == pd.Timestamp("2024-03-01")).all()

    # risk bands follow the seed's cut-offs (conftest: 0.25 / 0.6)
    probability = scores["churn_probability"]
    assert probability.between(0, 1).all()
    expected_bands = np.select([probability < 0.25, probability < 0.6], ["low", "medium"], "high")
    assert list(scores["churn_risk_band"]) == list(expected_bands)
    assert sum(summary["risk_band_counts"].values()) == len(expected)
    assert summary["risk_band_counts"]["high"] > 0  # the drifting customers

    # reason codes: known codes, no code after a NULL one, no code twice in a row
    codes = scores[REASON_COLUMNS].astype(object).where(scores[REASON_COLUMNS].notna(), None)
    for row in codes.itertuples(index=False):
        present = [code for code in row if code is not None]
        assert list(row[: len(present)]) == present
        assert set(present) <= set(REASON_BY_CODE) and len(set(present)) == len(present)
    high = scores["churn_risk_band"] == "high"
    assert codes.loc[high, "reason_code_1"].notna().all()
    assert scores.loc[high, "reason_summary"].notna().all()

    # one name, one meaning: the figures the summaries quote are the signal mart's
    # of the feature month (what mart_customer_360 shows beside them), not the
    # model's transforms (the trend clipped, the complaints capped)
    march = bank.signals.loc[bank.signals["month_start_date"] == date(2024, 3, 1)]
    mart = march.set_index("customer_id")
    summaries = scores.set_index("customer_id")["reason_summary"].dropna()
    trends = summaries.str.extract(r"AUM changed (-?\d+%)")[0].dropna()
    complaints = summaries.str.extract(r"(\d+) complaint\(s\)")[0].dropna()
    assert len(trends) > 10 and len(complaints) > 0
    for customer_id, quoted in trends.items():
        assert quoted == mart_percent(mart.loc[customer_id, "aum_trend_3m"]), customer_id
    for customer_id, quoted in complaints.items():
        assert int(quoted) == mart.loc[customer_id, "complaint_count_90d"], customer_id

    # segments and lifetime value for everyone (every scored customer has transactions)
    assert scores["segment_id"].notna().all() and scores["segment_name"].notna().all()
    assert scores.groupby("segment_id")["segment_name"].nunique().eq(1).all()
    assert scores["predicted_value_12m"].notna().all()
    assert scores["probability_alive"].between(0, 1).all()

    drift = drift_rows(settings)
    assert list(drift.columns) == [name for name, _ in DRIFT_COLUMNS]
    assert set(drift["variable"]) == {SCORE_VARIABLE, *DRIFT_FEATURES}
    assert (drift["rows"] == len(expected)).all() and set(drift["run_id"]) == {"score_a"}

    # the same date again: rows replaced, not added
    again = score_customers(settings, date(2024, 4, 15), "score_b", scored_at=stamp)
    rescored = read_scores(settings.warehouse_path)
    assert again["customers_scored"] == len(rescored) == len(scores)
    assert set(rescored["run_id"]) == {"score_b"}
    pd.testing.assert_series_equal(rescored["churn_probability"], scores["churn_probability"])
    drift_again = drift_rows(settings)
    assert len(drift_again) == len(drift) and set(drift_again["run_id"]) == {"score_b"}

    # the next day adds history
    score_customers(settings, date(2024, 4, 16), "score_c", scored_at=stamp)
    history = read_scores(settings.warehouse_path)
    assert history.groupby("score_date").size().tolist() == [len(expected), len(expected)]
    assert drift_rows(settings).groupby("score_date").size().tolist() == [len(drift)] * 2


def test_training_again_on_the_same_data_changes_nothing(trained) -> None:
    settings, first = trained
    again = train_models(settings, AS_OF, "train_2")
    assert again["model_version"] == first["model_version"]
    assert not again["decision"]["promoted"]
    assert again["decision"]["why"] == "same data and code as the approved model"
    assert len(model_store.decisions(settings.model_store_path)) == 1  # not re-recorded
    assert model_store.approved_version(settings.model_store_path) == first["model_version"]


def test_promotion_compares_candidates_on_their_own_test_window(trained) -> None:
    settings, first = trained
    approved = model_store.load_model(settings.model_store_path, first["model_version"])
    panel, _, _ = load_panel(settings, AS_OF)
    training = assemble_training_set(panel)
    train, test = out_of_time_split(training)
    approved_auc = score_report(
        test["churned"].to_numpy(dtype=int), approved[0].churn.predict_probability(test)
    )["roc_auc"]
    assert approved_auc == pytest.approx(first["metrics"]["model"]["roc_auc"])

    # a candidate that ranks no one above anyone: evaluated honestly, it loses to
    # the rule baseline already
    flat = ChurnModel(PriorRateModel(0.1), "prior_rate")
    metrics = evaluate_against_baseline(flat, train, test)
    assert metrics["model"]["roc_auc"] == 0.5 and not metrics["beats_rule_baseline"]
    candidate = TrainingResult(flat, metrics, len(train), None, None, None)
    decision = promotion_decision(candidate, training, approved)
    assert decision == {"promoted": False, "why": "candidate does not beat the rule baseline"}

    # one that beat the rule baseline but ranks worse than the approved model on
    # the candidate's test window
    weaker = {**metrics, "beats_rule_baseline": True, "model": {"roc_auc": approved_auc - 0.01}}
    decision = promotion_decision(replace(candidate, metrics=weaker), training, approved)
    assert not decision["promoted"] and decision["why"] == "worse than the approved model"
    assert decision["approved_roc_auc_on_test_window"] == pytest.approx(approved_auc)
    assert decision["approved_model_version"] == first["model_version"]

    tied = {**weaker, "model": {"roc_auc": approved_auc}}
    decision = promotion_decision(replace(candidate, metrics=tied), training, approved)
    assert decision["promoted"] and decision["why"] == "at least as good as the approved model"

    unevaluated = {"evaluated": False, "reason": "too few labelled month ends for the split"}
    decision = promotion_decision(replace(candidate, metrics=unevaluated), training, approved)
    assert decision == {"promoted": False, "why": "candidate not evaluated out of time"}
    # without an approved model anything goes
    assert promotion_decision(candidate, training, None)["promoted"]


def test_without_an_approved_model_nothing_is_scored(settings: Settings) -> None:
    summary = score_customers(settings, date(2024, 4, 15), "score_x")
    assert summary["status"] == "no_approved_model" and summary["customers_scored"] == 0
    assert "run the monthly training" in summary["notes"][0]
    # dbt reads both tables as sources: they exist, empty
    assert read_scores(settings.warehouse_path).empty
    assert list(read_scores(settings.warehouse_path).columns) == [n for n, _ in SCORE_COLUMNS]
    assert drift_rows(settings).empty


def test_a_bank_too_young_for_labels_still_trains_and_scores(
    make_bank, fill_warehouse, settings: Settings
) -> None:
    # three months of data: no month end has an observed 3-month horizon yet
    young = make_bank(customers=60, months=3, seed=5)
    assert young.signals["churn_label_3m"].isna().all()
    fill_warehouse(settings.warehouse_path, young)

    summary = train_models(settings, date(2023, 3, 31), "train_young")
    assert summary["model_kind"] == "prior_rate" and summary["training_rows"] == 0
    assert not summary["metrics"]["evaluated"]
    assert summary["model_version"].startswith("churn_nowindow_")
    assert summary["decision"]["promoted"]  # the first model, even so
    assert any("prior-rate" in note for note in summary["notes"])

    scored = score_customers(settings, date(2023, 3, 31), "score_young")
    march = young.months.loc[young.months["month_start_date"] == date(2023, 3, 1)]
    assert scored["customers_scored"] == int(march["has_open_account"].sum()) > 40
    scores = read_scores(settings.warehouse_path)
    # everyone gets the prior rate (about 6.9% over 3 months): low risk; a flat score
    # has no contributions, so only the specific evidence of a churn reason is named
    assert scores["churn_probability"].nunique() == 1
    assert set(scores["churn_risk_band"]) == {"low"}
    named = set(scores[REASON_COLUMNS].stack().dropna())
    assert named and named <= {
        "property_payment",
        "campaign_deposit_matured",
        "outflows_to_other_banks",
        "recent_complaint",
    }
    assert len(drift_rows(settings)) == 1 + len(DRIFT_FEATURES)


def test_the_command_lines_print_their_summaries(
    make_bank, fill_warehouse, settings: Settings, monkeypatch, capsys
) -> None:
    fill_warehouse(settings.warehouse_path, make_bank(customers=60, months=3, seed=5))
    monkeypatch.setenv("BANK_DATA_DIR", str(settings.data_dir))
    for variable in ("WAREHOUSE_PATH", "MODEL_STORE_PATH", "REPORTS_PATH"):
        monkeypatch.delenv(variable, raising=False)

    assert train_main(["--as-of", "2023-03-31", "--run-id", "cli_train"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["run_id"] == "cli_train" and trained["decision"]["promoted"]

    assert score_main(["--score-date", "2023-03-31", "--run-id", "cli_score"]) == 0
    scored = json.loads(capsys.readouterr().out)
    assert scored["run_id"] == "cli_score" and scored["feature_month"] == "2023-03-01"
    assert scored["model_version"] == trained["model_version"]
    assert scored["customers_scored"] == len(read_scores(settings.warehouse_path)) > 0


def test_training_as_of_a_past_date_uses_only_labels_known_then(
    bank, fill_warehouse, settings: Settings
) -> None:
    # The warehouse holds data up to March 2024, so dbt has labelled every month end up
    # to December 2023. As of 31 December 2023 only the labels of month ends up to
    # September were known (September's horizon is October .. December): the test
    # window must be August - September, not November - December, whose labels look
    # at January .. March 2024.
    fill_warehouse(settings.warehouse_path, bank)
    summary = train_models(settings, date(2023, 12, 31), "train_past")
    assert summary["metrics"]["test_months"] == ["2023-08-01", "2023-09-01"]


def test_scoring_a_slice_of_the_customers_at_a_time_gives_the_same_scores(trained) -> None:
    """A big bank is scored in hash slices of its customers; the scores do not change."""
    settings, _ = trained
    stamp = datetime(2024, 4, 2, 2, 0)
    score_customers(settings, date(2024, 4, 1), "whole", scored_at=stamp)
    whole = read_scores(settings.warehouse_path, date(2024, 4, 1)).drop(columns="run_id")
    whole_drift = drift_rows(settings).drop(columns=["run_id", "computed_at"])
    sliced_settings = replace(settings, scoring_slice_customers=100)  # 300 customers: 3 slices
    summary = score_customers(sliced_settings, date(2024, 4, 1), "sliced", scored_at=stamp)
    sliced = read_scores(settings.warehouse_path, date(2024, 4, 1)).drop(columns="run_id")

    assert summary["customers_scored"] == len(whole) > 200
    by_customer = ["customer_id"]
    pd.testing.assert_frame_equal(
        sliced.sort_values(by_customer, ignore_index=True),
        whole.sort_values(by_customer, ignore_index=True),
    )
    sliced_drift = drift_rows(settings).drop(columns=["run_id", "computed_at"])
    pd.testing.assert_frame_equal(sliced_drift, whole_drift)
