from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from scoring.churn_model import (
    DEFAULT_PRIOR_CHURN_RATE,
    PriorRateModel,
    choose_model_kind,
    evaluate_out_of_time,
    fit_churn_model,
    out_of_time_split,
    risk_bands,
    train_churn_model,
)
from scoring.features import FEATURE_COLUMNS


def separable_training_set(
    rows_per_month: int = 120, months: int = 8, seed: int = 0
) -> pd.DataFrame:
    """Churners have falling AUM and fewer transactions; the rest do not."""
    rng = np.random.default_rng(seed)
    frames = []
    for offset in range(months):
        churned = rng.random(rows_per_month) < 0.3
        features = pd.DataFrame(
            rng.normal(0.0, 1.0, size=(rows_per_month, len(FEATURE_COLUMNS))),
            columns=list(FEATURE_COLUMNS),
        )
        features["aum_trend_3m"] = np.where(churned, -0.5, 0.05) + rng.normal(
            0, 0.2, rows_per_month
        )
        features["transaction_count"] = np.where(churned, 1.0, 8.0) + rng.normal(
            0, 2.0, rows_per_month
        )
        features["customer_id"] = [f"C{offset}_{i}" for i in range(rows_per_month)]
        features["month_start_date"] = date(2023, offset + 1, 1)
        features["churned"] = churned
        frames.append(features)
    return pd.concat(frames, ignore_index=True)


def test_model_learns_a_separable_dataset() -> None:
    training = separable_training_set()
    result = train_churn_model(training)
    assert result.model.kind == "logistic_regression_calibrated"  # 960 rows: below boosting
    metrics = result.metrics
    assert metrics["evaluated"] and metrics["test_rows"] == 240  # latest 2 of 8 months
    assert metrics["roc_auc"] > 0.9
    assert metrics["brier"] < metrics["brier_baseline"]

    fresh = separable_training_set(seed=1)
    probabilities = result.model.predict_probability(fresh)
    assert probabilities.shape == (len(fresh),)
    assert ((probabilities >= 0.0) & (probabilities <= 1.0)).all()
    assert roc_auc_score(fresh["churned"], probabilities) > 0.9


def test_boosting_on_enough_data() -> None:
    training = separable_training_set(rows_per_month=400, months=4)
    model = fit_churn_model(training)
    assert model.kind == "hist_gradient_boosting_calibrated"
    fresh = separable_training_set(rows_per_month=200, months=1, seed=2)
    assert roc_auc_score(fresh["churned"], model.predict_probability(fresh)) > 0.9


def test_a_single_class_falls_back_to_the_prior_rate() -> None:
    training = separable_training_set(rows_per_month=10, months=3)
    training["churned"] = False
    result = train_churn_model(training)
    assert result.model.kind == "prior_rate"
    assert isinstance(result.model.estimator, PriorRateModel)
    # 0 churners in 30 rows, shrunk with 10 pseudo-rows at the default prior
    expected = 10 * DEFAULT_PRIOR_CHURN_RATE / 40
    assert result.model.predict_probability(training) == pytest.approx([expected] * 30)
    assert result.notes and "prior-rate" in result.notes[0]
    assert result.metrics["roc_auc"] is None  # undefined on one class


def test_no_labelled_rows_still_gives_a_model() -> None:
    empty = separable_training_set().iloc[0:0]
    result = train_churn_model(empty)
    assert result.model.kind == "prior_rate"
    assert result.metrics == {"evaluated": False, "reason": "fewer than 2 labelled month ends"}
    assert result.model.estimator.rate == pytest.approx(DEFAULT_PRIOR_CHURN_RATE)


def test_model_kind_depends_on_the_data() -> None:
    assert choose_model_kind(pd.Series([True] * 5 + [False] * 5)) == "logistic_regression"
    assert choose_model_kind(pd.Series([True] * 25 + [False] * 25)) == (
        "logistic_regression_calibrated"
    )
    assert choose_model_kind(pd.Series([True] * 60 + [False] * 1000)) == (
        "hist_gradient_boosting_calibrated"
    )


def test_out_of_time_split_trains_on_earlier_months_only() -> None:
    training = separable_training_set(rows_per_month=5, months=12)
    train, test = out_of_time_split(training)
    assert train["month_start_date"].max() < test["month_start_date"].min()
    assert sorted(test["month_start_date"].unique()) == [date(2023, m, 1) for m in (10, 11, 12)]
    assert evaluate_out_of_time(training, test_month_count=1)["test_months"] == [
        "2023-12-01",
        "2023-12-01",
    ]


def test_risk_bands_use_the_cut_offs() -> None:
    probabilities = np.array([0.0, 0.19, 0.2, 0.49, 0.5, 1.0])
    assert list(risk_bands(probabilities)) == ["low", "low", "medium", "medium", "high", "high"]
    assert list(risk_bands(probabilities, 0.1, 0.9)) == [
        "low",
        "medium",
        "medium",
        "medium",
        "medium",
        "high",
    ]
    with pytest.raises(ValueError, match="cut-offs"):
        risk_bands(probabilities, 0.6, 0.5)
