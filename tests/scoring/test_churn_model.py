from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from scoring.baseline import SIGNAL_FIGURES
from scoring.churn_model import (
    PriorRateModel,
    assemble_training_set,
    calibration_split,
    choose_model_kind,
    default_prior_churn_rate,
    fit_churn_model,
    out_of_time_split,
    risk_bands,
    train_churn_model,
)
from scoring.evaluation import RELIABILITY_TOLERANCE, score_report
from scoring.features import FEATURE_COLUMNS, feature_panel


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
        features["feature_aum_trend_3m"] = np.where(churned, -0.5, 0.05) + rng.normal(
            0, 0.2, rows_per_month
        )
        features["feature_transaction_count"] = np.where(churned, 1.0, 8.0) + rng.normal(
            0, 2.0, rows_per_month
        )
        add_rule_figures(features)
        features["customer_id"] = [f"C{offset}_{i}" for i in range(rows_per_month)]
        features["month_start_date"] = date(2023, offset + 1, 1)
        features["churned"] = churned
        frames.append(features)
    return pd.concat(frames, ignore_index=True)


def add_rule_figures(features: pd.DataFrame) -> None:
    """The mart figures the rule baseline reads, consistent with the features."""
    features["aum_trend_3m"] = features["feature_aum_trend_3m"]
    for figure in SIGNAL_FIGURES[1:]:
        features[figure] = 0
    features["is_payroll_missing"] = False


def month_list_training(months: list[date]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(months))],
            "month_start_date": months,
            "churned": [False] * len(months),
        }
    )


def test_out_of_time_split_leaves_the_label_horizon_as_a_gap() -> None:
    # labelled month ends January .. September 2023
    months = [date(2023, month, 1) for month in range(1, 10)]
    training = month_list_training(months)
    train, test = out_of_time_split(training)
    # test: the latest two; train: up to August - 3 months = May, because the
    # labels of June and July look at August and September's months
    assert sorted(test["month_start_date"]) == [date(2023, 8, 1), date(2023, 9, 1)]
    assert sorted(train["month_start_date"]) == months[:5]

    train, test = out_of_time_split(training, test_month_count=1, gap_months=2)
    assert list(test["month_start_date"]) == [date(2023, 9, 1)]
    assert train["month_start_date"].max() == date(2023, 7, 1)

    # the gap counts calendar months, not labelled month ends: with March missing
    # the test months are still August and September, and train still ends in May
    sparse = month_list_training([month for month in months if month.month != 3])
    train, _ = out_of_time_split(sparse)
    assert sorted(train["month_start_date"]) == [date(2023, m, 1) for m in (1, 2, 4, 5)]


def test_out_of_time_split_with_too_little_history_is_empty() -> None:
    one_month = month_list_training([date(2023, 1, 1)] * 3)
    assert all(part.empty for part in out_of_time_split(one_month))
    # four labelled months: test March-April, train would end in December 2022
    train, test = out_of_time_split(month_list_training([date(2023, m, 1) for m in range(1, 5)]))
    assert train.empty and len(test) == 2


def test_assemble_training_set_keeps_labelled_rows_with_an_open_account() -> None:
    panel = pd.DataFrame(
        {
            "customer_id": ["B", "A", "C", "D", "E"],
            "month_start_date": [date(2024, 2, 1), date(2024, 2, 1)] + [date(2024, 1, 1)] * 3,
            "has_row": [True, True, True, True, False],
            "has_open_account": [True, True, True, False, False],
            "churn_label_3m": pd.array([True, False, None, True, True], dtype="boolean"),
            "aum_trend_3m": [0.1, 0.2, 0.3, 0.4, 0.5],
        }
    )
    training = assemble_training_set(panel, warmup_months=0)
    # C has no label yet, D has no open account, E no mart row that month
    assert list(training["customer_id"]) == ["A", "B"]  # by month, then customer
    assert list(training["churned"]) == [False, True] and training["churned"].dtype == bool
    assert "churn_label_3m" not in training.columns
    assert list(training["aum_trend_3m"]) == [0.2, 0.1]
    # by default the first months of the data are left out (look-backs cut short)
    assert assemble_training_set(panel).empty
    assert list(assemble_training_set(panel, warmup_months=1)["customer_id"]) == ["A", "B"]


def test_the_first_months_of_the_data_are_a_warm_up(make_bank) -> None:
    bank = make_bank(customers=40, months=8, seed=2)  # January .. August 2023
    training = assemble_training_set(feature_panel(bank.months, bank.signals))
    months = sorted(training["month_start_date"].unique())
    # April - May: January + 3 warm-up months; June - August have no label yet
    assert months == [date(2023, 4, 1), date(2023, 5, 1)]


@pytest.fixture(scope="module")
def bank_training(make_bank) -> pd.DataFrame:
    bank = make_bank(customers=300, months=15, seed=7)
    return assemble_training_set(feature_panel(bank.months, bank.signals))


def test_model_on_the_synthetic_bank_is_evaluated_out_of_time(bank_training) -> None:
    # labelled month ends: April .. December 2023 (January 2023 .. March 2024, without
    # the 3 warm-up months and the last 3, which have no label yet)
    result = train_churn_model(bank_training)
    metrics = result.metrics
    assert metrics["evaluated"]
    assert metrics["test_months"] == ["2023-11-01", "2023-12-01"]
    assert metrics["train_months"] == ["2023-04-01", "2023-08-01"]  # November - 3 months
    assert metrics["model"]["roc_auc"] > 0.8
    assert metrics["rule_baseline"]["roc_auc"] > 0.5
    assert metrics["beats_rule_baseline"] == (
        metrics["model"]["roc_auc"] > metrics["rule_baseline"]["roc_auc"]
    )

    # the stored model is the one measured: fitted on the training window only
    train, test = out_of_time_split(bank_training)
    assert (result.first_month, result.last_month) == (date(2023, 4, 1), date(2023, 8, 1))
    assert result.training_rows == metrics["train_rows"] == len(train)
    assert metrics["test_rows"] == len(test)
    assert result.positive_rate == pytest.approx(train["churned"].mean())
    again = score_report(test["churned"].to_numpy(int), result.model.predict_probability(test))
    assert again["roc_auc"] == metrics["model"]["roc_auc"]
    refit = fit_churn_model(train)
    np.testing.assert_array_equal(
        refit.predict_probability(test), result.model.predict_probability(test)
    )
    everything = fit_churn_model(bank_training)  # what a refit on all rows would give
    assert not np.array_equal(
        everything.predict_probability(test), result.model.predict_probability(test)
    )
    assert set(result.reason_reference.index) >= {
        "feature_aum_trend_3m",
        "feature_complaint_count_90d",
    }


def test_too_short_history_is_fitted_on_everything_and_not_evaluated(bank_training) -> None:
    # April .. July: test June-July, train would end in March
    young = bank_training.loc[bank_training["month_start_date"] <= date(2023, 7, 1)]
    result = train_churn_model(young)
    assert result.metrics == {
        "evaluated": False,
        "reason": "too few labelled month ends for the split",
    }
    assert any("not evaluated out of time" in note for note in result.notes)
    assert result.training_rows == len(young)
    assert (result.first_month, result.last_month) == (date(2023, 4, 1), date(2023, 7, 1))


def test_model_learns_a_separable_dataset() -> None:
    training = separable_training_set()
    result = train_churn_model(training)
    # 960 rows: below boosting; calibrated on April by a model fitted on January-March
    assert result.model.kind == "logistic_regression_calibrated_recent_months"
    assert result.model.calibration["calibrated_on"] == ["2023-04-01", "2023-04-01"]
    assert result.model.calibration["estimator_for_calibration_fitted_on"] == [
        "2023-01-01",
        "2023-03-01",
    ]
    metrics = result.metrics
    assert metrics["calibration"] == result.model.calibration
    # 8 months: test July-August, train January-April
    assert metrics["evaluated"] and metrics["test_rows"] == 240 and metrics["train_rows"] == 480
    assert metrics["model"]["roc_auc"] > 0.9
    assert metrics["model"]["brier"] < metrics["rule_baseline"]["brier"]

    fresh = separable_training_set(seed=1)
    probabilities = result.model.predict_probability(fresh)
    assert probabilities.shape == (len(fresh),)
    assert ((probabilities >= 0.0) & (probabilities <= 1.0)).all()
    assert roc_auc_score(fresh["churned"], probabilities) > 0.9


def test_boosting_on_enough_data() -> None:
    training = separable_training_set(rows_per_month=400, months=4)
    model = fit_churn_model(training)
    assert model.kind == "hist_gradient_boosting_calibrated_recent_months"
    fresh = separable_training_set(rows_per_month=200, months=1, seed=2)
    assert roc_auc_score(fresh["churned"], model.predict_probability(fresh)) > 0.9


def test_a_single_class_falls_back_to_the_prior_rate() -> None:
    training = separable_training_set(rows_per_month=10, months=3)
    training["churned"] = False
    result = train_churn_model(training)
    assert result.model.kind == "prior_rate"
    assert isinstance(result.model.estimator, PriorRateModel)
    # 0 churners in 30 rows (3 months: too few to split, so all are used),
    # shrunk with 10 pseudo-rows at the default prior
    # 25 % a year over the 3-month label horizon
    assert default_prior_churn_rate() == pytest.approx(1 - 0.75**0.25)
    expected = 10 * default_prior_churn_rate() / 40
    assert result.model.predict_probability(training) == pytest.approx([expected] * 30)
    assert any("prior-rate" in note for note in result.notes)


def test_no_labelled_rows_still_gives_a_model() -> None:
    empty = separable_training_set().iloc[0:0]
    result = train_churn_model(empty)
    assert result.model.kind == "prior_rate"
    assert not result.metrics["evaluated"]
    assert result.model.estimator.rate == pytest.approx(default_prior_churn_rate())
    assert result.training_rows == 0 and result.first_month is None
    assert result.positive_rate is None and result.reason_reference is None


def test_model_kind_depends_on_the_data() -> None:
    assert choose_model_kind(pd.Series([True] * 5 + [False] * 5)) == "logistic_regression"
    assert choose_model_kind(pd.Series([True] * 25 + [False] * 25)) == (
        "logistic_regression_calibrated"
    )
    assert choose_model_kind(pd.Series([True] * 60 + [False] * 1000)) == (
        "hist_gradient_boosting_calibrated"
    )
    assert choose_model_kind(pd.Series([False] * 2000)) == "prior_rate"


def test_missing_feature_column_is_named() -> None:
    model = fit_churn_model(separable_training_set(rows_per_month=20, months=2))
    with pytest.raises(ValueError, match="missing column.*feature_aum_trend_3m"):
        model.predict_probability(
            separable_training_set(2, 1).drop(columns=["feature_aum_trend_3m"])
        )


def test_risk_bands_use_the_seeds_bands() -> None:
    probabilities = np.array([0.0, 0.19, 0.2, 0.49, 0.5, 1.0])
    bands = (("low", 0.0), ("medium", 0.2), ("high", 0.5))
    assert list(risk_bands(probabilities, bands)) == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "high",
    ]
    renamed = (("green", 0.0), ("amber", 0.1), ("red", 0.9))
    assert list(risk_bands(probabilities, renamed)) == [
        "green",
        "amber",
        "amber",
        "amber",
        "amber",
        "red",
    ]
    with pytest.raises(ValueError, match="ascending"):
        risk_bands(probabilities, (("low", 0.0), ("high", 0.6), ("medium", 0.5)))
    with pytest.raises(ValueError, match="start at 0"):
        risk_bands(probabilities, (("low", 0.1), ("high", 0.6)))


def drifting_training_set(
    rows_per_month: int = 3_000, months: int = 14, shift_from: int = 10, seed: int = 0
) -> pd.DataFrame:
    """A fifth of the customers show a warning sign (falling AUM). Churn log-odds:
    -3.9 (2%), +3.7 with the sign (45%); from month ``shift_from`` on everyone's
    log-odds rise by 1.2 (6.4% and 73%), as when a competitor starts poaching. The
    default split: train January - October (the shift reaches October only), test
    January - February of the next year, where the shift holds."""
    rng = np.random.default_rng(seed)
    frames = []
    for offset in range(months):
        warned = rng.random(rows_per_month) < 0.2
        log_odds = -3.9 + 3.7 * warned + (1.2 if offset + 1 >= shift_from else 0.0)
        features = pd.DataFrame(0.0, index=range(rows_per_month), columns=list(FEATURE_COLUMNS))
        features["feature_aum_trend_3m"] = np.where(warned, -0.6, 0.05)
        add_rule_figures(features)
        features["customer_id"] = [f"C{i}" for i in range(rows_per_month)]
        features["month_start_date"] = date(2023 + offset // 12, offset % 12 + 1, 1)
        features["churned"] = rng.random(rows_per_month) < 1.0 / (1.0 + np.exp(-log_odds))
        frames.append(features)
    return pd.concat(frames, ignore_index=True)


def test_calibration_on_the_latest_month_follows_a_drift() -> None:
    train, test = out_of_time_split(drifting_training_set())
    assert train["month_start_date"].max() == date(2023, 10, 1)
    labels = test["churned"].to_numpy(dtype=int)
    recent = fit_churn_model(train)
    folds = fit_churn_model(train, calibration="folds")
    assert recent.kind == "hist_gradient_boosting_calibrated_recent_months"
    assert folds.kind == "hist_gradient_boosting_calibrated_folds"
    assert recent.calibration["calibrated_on"] == ["2023-10-01", "2023-10-01"]
    assert recent.calibration["estimator_for_calibration_fitted_on"] == [
        "2023-01-01",
        "2023-09-01",
    ]
    # random folds learn the map from January - October alike: the warned customers
    # get about 48% where 73% churn
    old = score_report(labels, folds.predict_probability(test))["reliability_check"]
    assert not old["within_tolerance"] and old["worst_gap"] < -0.15
    # the map learned on October, from a model that had not seen it, carries the shift
    new = score_report(labels, recent.predict_probability(test))["reliability_check"]
    assert new["within_tolerance"], new
    assert abs(new["worst_gap"]) <= RELIABILITY_TOLERANCE
    assert len(new["bins"]) == 2  # the two groups, each > 1% of the rows
    # a monotone map: the ranking is the refitted estimator's own
    ranking = roc_auc_score(
        labels,
        recent.estimator.estimator.predict_proba(
            test.loc[:, list(FEATURE_COLUMNS)].to_numpy(dtype=float)
        )[:, 1],
    )
    assert roc_auc_score(labels, recent.predict_probability(test)) == pytest.approx(ranking)


def test_calibration_split_takes_the_latest_month_and_the_months_before() -> None:
    training = separable_training_set(rows_per_month=100, months=4)
    early, recent = calibration_split(training)
    assert set(recent["month_start_date"]) == {date(2023, 4, 1)}
    assert set(early["month_start_date"]) == {date(2023, m, 1) for m in (1, 2, 3)}


def test_too_little_history_to_calibrate_out_of_time_uses_random_folds() -> None:
    # a single labelled month: nothing before it to fit the calibration estimator on
    one_month = separable_training_set(rows_per_month=400, months=1)
    assert calibration_split(one_month) is None
    model = fit_churn_model(one_month)
    assert model.kind == "logistic_regression_calibrated_folds"
    assert model.calibration == {
        "method": "sigmoid",
        "folds": 3,
        "months": ["2023-01-01", "2023-01-01"],
    }
    # two months, but the latest holds fewer than 20 churners
    two_months = separable_training_set(rows_per_month=400, months=2)
    latest = two_months["month_start_date"] == date(2023, 2, 1)
    two_months.loc[latest, "churned"] = False
    assert calibration_split(two_months) is None
    with pytest.raises(ValueError, match="calibration must be one of"):
        fit_churn_model(one_month, calibration="isotonic")
