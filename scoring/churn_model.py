"""The churn model: training set, estimator choice, out-of-time evaluation, risk bands.

Estimator, chosen by how much data there is (``choose_model_kind``):

- ``hist_gradient_boosting`` when there are >= 1,000 training rows and >= 50 of
  each class: a HistGradientBoostingClassifier (non-linear, robust to the heavy
  tail of AUM);
- ``logistic_regression`` otherwise, while both classes are present: a
  StandardScaler + LogisticRegression pipeline, which behaves on small data;
- ``prior_rate`` when the training set holds a single class or no rows at all:
  every customer gets the same probability, the observed churn rate shrunk
  towards ``DEFAULT_PRIOR_CHURN_RATE`` with ``PRIOR_PSEUDO_ROWS`` pseudo-rows.
  This keeps a tiny or brand-new bank scoring; the metadata says so.

Probabilities are calibrated with CalibratedClassifierCV (sigmoid, 3 folds)
when the smaller class has >= ``MIN_CLASS_ROWS_TO_CALIBRATE`` rows; below that,
calibration would overfit and the (already probabilistic) estimator is used
as is. The ``kind`` string records which path was taken.

Evaluation is out of time: the model is fitted on the earlier labelled month
ends and scored on the latest ones (``test_month_count``); the model that is
stored is then refitted on every labelled month end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from scoring.features import FEATURE_COLUMNS

# BRIEF.md: a typical bank loses about 25% of its customers a year, i.e. about
# 6.9% over the 3-month label horizon: 1 - 0.75 ** (3 / 12).
DEFAULT_PRIOR_CHURN_RATE = 1.0 - 0.75 ** (3 / 12)
PRIOR_PSEUDO_ROWS = 10
MIN_ROWS_FOR_BOOSTING = 1_000
MIN_CLASS_ROWS_FOR_BOOSTING = 50
MIN_CLASS_ROWS_TO_CALIBRATE = 20
CALIBRATION_FOLDS = 3
RANDOM_STATE = 0

# METRICS.md puts the band cut-offs in a seed; these are the defaults until the
# caller passes the seed's values. low: p < 0.2, medium: 0.2 <= p < 0.5, high: p >= 0.5.
DEFAULT_LOW_CUTOFF = 0.2
DEFAULT_HIGH_CUTOFF = 0.5
RISK_BANDS = ("low", "medium", "high")

# Part of the model's identity (model_store.model_version): change it whenever the
# estimators or their settings change, so a stored model is never reused wrongly.
MODEL_SPEC = {
    "spec_version": 1,
    "label": "provisional_fct_customer_months_v1",
    "boosting": {
        "learning_rate": 0.1,
        "max_iter": 100,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 1000},
    "calibration": {"method": "sigmoid", "folds": CALIBRATION_FOLDS},
}


class PriorRateModel:
    """Predicts the same churn probability for everyone (see module docstring)."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)

    def predict_proba(self, features: Any) -> np.ndarray:
        rows = len(features)
        return np.column_stack([np.full(rows, 1.0 - self.rate), np.full(rows, self.rate)])


@dataclass
class ChurnModel:
    """A fitted estimator plus what is needed to feed it."""

    estimator: Any
    kind: str
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS

    def predict_probability(self, features: pd.DataFrame) -> np.ndarray:
        """Churn probability per row of ``features`` (which must hold the feature columns)."""
        missing = [column for column in self.feature_columns if column not in features.columns]
        if missing:
            raise ValueError(f"features frame: missing column(s) {', '.join(missing)}")
        matrix = features.loc[:, list(self.feature_columns)].to_numpy(dtype=float)
        if len(matrix) == 0:
            return np.empty(0, dtype=float)
        return np.clip(self.estimator.predict_proba(matrix)[:, 1], 0.0, 1.0)


@dataclass
class TrainingResult:
    model: ChurnModel
    metrics: dict[str, Any]
    training_rows: int
    positive_rate: float | None
    first_month: date | None
    last_month: date | None
    notes: list[str] = field(default_factory=list)


def assemble_training_set(panel: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Features joined to labels on (customer, month), for customers with an open
    account at that month end: the same population that is scored."""
    training = panel.merge(
        labels[["customer_id", "month_start_date", "churned"]],
        on=["customer_id", "month_start_date"],
        how="inner",
        validate="one_to_one",
    )
    keep = training["has_row"] & training["has_open_account"]
    return training.loc[keep].sort_values(["month_start_date", "customer_id"], ignore_index=True)


def prior_rate(positives: int, rows: int) -> float:
    """Observed churn rate shrunk towards the default prior."""
    return (positives + PRIOR_PSEUDO_ROWS * DEFAULT_PRIOR_CHURN_RATE) / (rows + PRIOR_PSEUDO_ROWS)


def choose_model_kind(labels: pd.Series) -> str:
    """Which estimator the data allow (see module docstring)."""
    positives = int(labels.sum())
    smaller_class = min(positives, len(labels) - positives)
    if smaller_class == 0:
        return "prior_rate"
    if len(labels) >= MIN_ROWS_FOR_BOOSTING and smaller_class >= MIN_CLASS_ROWS_FOR_BOOSTING:
        base = "hist_gradient_boosting"
    else:
        base = "logistic_regression"
    if smaller_class >= MIN_CLASS_ROWS_TO_CALIBRATE:
        return f"{base}_calibrated"
    return base


def _base_estimator(kind: str) -> Any:
    if kind.startswith("hist_gradient_boosting"):
        return HistGradientBoostingClassifier(**MODEL_SPEC["boosting"], random_state=RANDOM_STATE)
    return Pipeline(
        [
            ("scale", StandardScaler()),
            ("model", LogisticRegression(**MODEL_SPEC["logistic_regression"])),
        ]
    )


def fit_churn_model(
    training: pd.DataFrame, feature_columns: tuple[str, ...] = FEATURE_COLUMNS
) -> ChurnModel:
    """Fit the estimator the data allow on ``training`` (features + ``churned``)."""
    labels = training["churned"].astype(bool)
    kind = choose_model_kind(labels)
    if kind == "prior_rate":
        return ChurnModel(
            PriorRateModel(prior_rate(int(labels.sum()), len(labels))), kind, feature_columns
        )
    matrix = training.loc[:, list(feature_columns)].to_numpy(dtype=float)
    target = labels.to_numpy(dtype=int)
    estimator = _base_estimator(kind)
    if kind.endswith("_calibrated"):
        estimator = CalibratedClassifierCV(
            estimator,
            method=MODEL_SPEC["calibration"]["method"],
            cv=StratifiedKFold(n_splits=CALIBRATION_FOLDS),
        )
    estimator.fit(matrix, target)
    return ChurnModel(estimator, kind, feature_columns)


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """ROC-AUC, PR-AUC (average precision) and Brier score; AUCs are None when the
    labels hold a single class (they are undefined then)."""
    labels = np.asarray(labels, dtype=int)
    both_classes = len(np.unique(labels)) == 2
    return {
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both_classes else None,
        "pr_auc": float(average_precision_score(labels, probabilities)) if both_classes else None,
        "brier": float(brier_score_loss(labels, probabilities, pos_label=1))
        if len(labels)
        else None,
    }


def out_of_time_split(
    training: pd.DataFrame, test_month_count: int | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier labelled month ends for training, the latest ones for testing.
    By default a quarter of the months (at least 1, at most 3) are held out."""
    months = sorted(training["month_start_date"].unique())
    if len(months) < 2:
        return training, training.iloc[0:0]
    if test_month_count is None:
        test_month_count = min(3, max(1, len(months) // 4))
    cutoff = months[-test_month_count]
    is_test = training["month_start_date"] >= cutoff
    return training.loc[~is_test], training.loc[is_test]


def evaluate_out_of_time(
    training: pd.DataFrame,
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS,
    test_month_count: int | None = None,
) -> dict[str, Any]:
    """Fit on the earlier month ends, measure on the latest ones."""
    train, test = out_of_time_split(training, test_month_count)
    if test.empty:
        return {"evaluated": False, "reason": "fewer than 2 labelled month ends"}
    model = fit_churn_model(train, feature_columns)
    probabilities = model.predict_probability(test)
    labels = test["churned"].to_numpy(dtype=int)
    # the skill of a model is only visible next to the constant-rate baseline
    baseline = np.full(len(test), float(train["churned"].mean()))
    return {
        "evaluated": True,
        "model_kind": model.kind,
        "train_rows": len(train),
        "test_rows": len(test),
        "train_months": [
            str(train["month_start_date"].min()),
            str(train["month_start_date"].max()),
        ],
        "test_months": [str(test["month_start_date"].min()), str(test["month_start_date"].max())],
        "test_positive_rate": float(labels.mean()),
        **classification_metrics(labels, probabilities),
        "brier_baseline": float(brier_score_loss(labels, baseline, pos_label=1)),
    }


def train_churn_model(
    training: pd.DataFrame,
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS,
    test_month_count: int | None = None,
) -> TrainingResult:
    """Evaluate out of time, then fit the final model on every labelled month end."""
    notes = []
    metrics = evaluate_out_of_time(training, feature_columns, test_month_count)
    model = fit_churn_model(training, feature_columns)
    if model.kind == "prior_rate":
        notes.append(
            "training data hold a single class (or none): prior-rate model, every customer "
            f"gets p={model.estimator.rate:.4f}"
        )
    months = training["month_start_date"]
    return TrainingResult(
        model=model,
        metrics=metrics,
        training_rows=len(training),
        positive_rate=float(training["churned"].mean()) if len(training) else None,
        first_month=months.min() if len(training) else None,
        last_month=months.max() if len(training) else None,
        notes=notes,
    )


def risk_bands(
    probabilities: np.ndarray | pd.Series,
    low_cutoff: float = DEFAULT_LOW_CUTOFF,
    high_cutoff: float = DEFAULT_HIGH_CUTOFF,
) -> np.ndarray:
    """low: p < low_cutoff; medium: low_cutoff <= p < high_cutoff; high: p >= high_cutoff."""
    if not 0.0 <= low_cutoff <= high_cutoff <= 1.0:
        raise ValueError(
            f"risk band cut-offs must satisfy 0 <= low <= high <= 1, got {low_cutoff}, {high_cutoff}"
        )
    values = np.asarray(probabilities, dtype=float)
    return np.select(
        [values < low_cutoff, values < high_cutoff], ["low", "medium"], default="high"
    ).astype(object)
