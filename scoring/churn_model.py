"""The churn model: training set, estimator choice, out-of-time evaluation, risk bands.

Estimator, chosen by how much data there is (``choose_model_kind``):

- ``hist_gradient_boosting`` when there are >= 1,000 training rows and >= 50 of
  each class: a HistGradientBoostingClassifier (non-linear, robust to the heavy
  tail of AUM);
- ``logistic_regression`` otherwise, while both classes are present: a
  StandardScaler + LogisticRegression pipeline, which behaves on small data;
- ``prior_rate`` when the training set holds a single class or no rows at all:
  every customer gets the same probability, the observed churn rate shrunk
  towards ``default_prior_churn_rate()`` with ``PRIOR_PSEUDO_ROWS`` pseudo-rows.
  This keeps a tiny or brand-new bank scoring; the metadata says so.

Calibration is out of time (``fit_churn_model``), when the smaller class has >=
``MIN_CLASS_ROWS_TO_CALIBRATE`` rows; below that, calibration would overfit and
the (already probabilistic) estimator is used as is. The model is applied to
month ends at least the label horizon (var ``churn_label_horizon_months``) after
its last labelled one (the
test window, and every scored month), so it is calibrated the same way: the
latest ``CALIBRATION_MONTHS`` labelled month end(s) of the training rows are
scored by an estimator fitted only on the month ends at least
``CALIBRATION_GAP_MONTHS`` before them (``out_of_time_split`` again), and a Platt
sigmoid on the log-odds maps those scores to the churn observed there. The
estimator kept is refitted on every training row and wrapped with that map
(``RecentMonthsCalibrated``): a monotone map, so the ranking (ROC-AUC) is the
refitted estimator's own. Random folds within the training months (the previous
method) learn the map from months the estimator also saw and from the earliest
months as much as the latest, and over-predicted the high bins out of time; the
measurements are in BENCHMARKS.md "Calibration out of time". With too little
history for that split (fewer than ``MIN_CLASS_ROWS_TO_CALIBRATE`` of either class
on either side) the random folds are still used: CalibratedClassifierCV (sigmoid,
3 folds). The ``kind`` string records which path was taken
(``..._calibrated_recent_months`` or ``..._calibrated_folds``) and
``ChurnModel.calibration`` the months involved.

Evaluation is out of time (``out_of_time_split``): fitted on the earlier
labelled month ends, measured on the latest ones side by side with the rule
baseline (scoring.baseline); the stored model is the one measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from scoring.baseline import fit_rule_rates, rule_probability
from scoring.business_rules import business_rules
from scoring.evaluation import score_report
from scoring.features import FEATURE_COLUMNS
from scoring.reason_codes import reference_values

# The industry's rule of thumb: a bank loses about 25% of its customers a year (about
# 6.9% over a 3-month label horizon); the prior of the churn rate on tiny data.
ANNUAL_CHURN_RATE_PRIOR = 0.25
PRIOR_PSEUDO_ROWS = 10
MIN_ROWS_FOR_BOOSTING = 1_000
MIN_CLASS_ROWS_FOR_BOOSTING = 50
MIN_CLASS_ROWS_TO_CALIBRATE = 20
CALIBRATION_FOLDS = 3
RANDOM_STATE = 0
# The out-of-time split leaves a gap of the label horizon (var churn_label_horizon_months,
# docs/metrics.md "Churn label"), read from the dbt project by business_rules().
TEST_MONTHS = 2
# Out-of-time calibration: the latest labelled month end of the training rows, scored
# by an estimator fitted on the month ends before it; the map is then applied to the
# estimator refitted on every training row. Chosen by the out-of-time reliability
# (BENCHMARKS.md "Calibration out of time"): a gap of the full label horizon and not
# refitting were both measured, and both did worse.
CALIBRATION_MONTHS = 1
CALIBRATION_GAP_MONTHS = 1
CALIBRATION_REFIT = True
CALIBRATION_METHODS = ("recent_months", "folds")
# log-odds are clipped here before the Platt map (probabilities of exactly 0 or 1)
LOG_ODDS_CLIP = 1e-6

# A risk band as the seed churn_risk_bands holds it: (churn_risk_band, min_churn_probability).
RiskBand = tuple[str, float]

# Part of the model's identity (model_store.model_version): change it whenever the
# estimators or their settings change, so a stored model is never reused wrongly.
MODEL_SPEC = {
    "spec_version": 3,
    "label": "marts.fct_customer_signal_months.churn_label_3m",
    "boosting": {
        "learning_rate": 0.1,
        "max_iter": 100,
        "min_samples_leaf": 40,
        "l2_regularization": 1.0,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 1000},
    "calibration": {
        "method": "sigmoid",
        "on": "latest labelled month ends, scored by an estimator fitted before the gap",
        "months": CALIBRATION_MONTHS,
        "gap_months": CALIBRATION_GAP_MONTHS,
        "refit_on_all_training_rows": CALIBRATION_REFIT,
        "fallback": {"method": "sigmoid", "folds": CALIBRATION_FOLDS},
    },
}


class PriorRateModel:
    """Predicts the same churn probability for everyone (see module docstring)."""

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)

    def predict_proba(self, features: Any) -> np.ndarray:
        rows = len(features)
        return np.column_stack([np.full(rows, 1.0 - self.rate), np.full(rows, self.rate)])


def _log_odds(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(probabilities, dtype=float), LOG_ODDS_CLIP, 1.0 - LOG_ODDS_CLIP)
    return np.log(clipped / (1.0 - clipped))


class PlattMap:
    """Platt scaling: P(churn) = 1 / (1 + exp(-(slope * log-odds + intercept))), fitted
    by maximum likelihood (an unpenalised one-feature logistic regression)."""

    def __init__(self) -> None:
        self.slope = 1.0
        self.intercept = 0.0

    def fit(self, probabilities: np.ndarray, labels: np.ndarray) -> PlattMap:
        model = LogisticRegression(C=np.inf, max_iter=1000)
        model.fit(_log_odds(probabilities)[:, None], np.asarray(labels, dtype=int))
        self.slope = float(model.coef_[0, 0])
        self.intercept = float(model.intercept_[0])
        return self

    def predict(self, probabilities: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(self.slope * _log_odds(probabilities) + self.intercept)))


class RecentMonthsCalibrated:
    """An estimator whose churn probabilities go through a map learned out of time."""

    def __init__(self, estimator: Any, calibrator: PlattMap) -> None:
        self.estimator = estimator
        self.calibrator = calibrator

    def predict_proba(self, features: Any) -> np.ndarray:
        churn = self.calibrator.predict(self.estimator.predict_proba(features)[:, 1])
        return np.column_stack([1.0 - churn, churn])


@dataclass
class ChurnModel:
    """A fitted estimator plus what is needed to feed it."""

    estimator: Any
    kind: str
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS
    # how the probabilities were calibrated: method and month ends (None: not calibrated)
    calibration: dict[str, Any] | None = None

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
    reason_reference: pd.Series | None = None


def assemble_training_set(panel: pd.DataFrame, warmup_months: int | None = None) -> pd.DataFrame:
    """Labelled panel rows (``churn_label_3m`` not NULL) of customers with an open
    account at that month end, the same population that is scored; the label becomes
    the column ``churned``. The first ``warmup_months`` months of the data (default: the
    signals' look-back, var churn_signal_months) are left out: there every customer's
    look-back windows are cut short by the start of the history (no trend, no activity
    history), a state no scored month is in."""
    if warmup_months is None:
        warmup_months = business_rules().churn_signal_months
    months = pd.to_datetime(panel["month_start_date"])
    warm = months >= months.min() + pd.DateOffset(months=warmup_months) if len(panel) else True
    keep = panel["has_row"] & panel["has_open_account"] & panel["churn_label_3m"].notna() & warm
    training = panel.loc[keep].copy()
    training["churned"] = training.pop("churn_label_3m").astype(bool)
    return training.sort_values(["month_start_date", "customer_id"], ignore_index=True)


def default_prior_churn_rate() -> float:
    """``ANNUAL_CHURN_RATE_PRIOR`` over the label horizon: 1 - 0.75 ** (3 / 12) = 6.9%."""
    horizon_months = business_rules().churn_label_horizon_months
    return 1.0 - (1.0 - ANNUAL_CHURN_RATE_PRIOR) ** (horizon_months / 12)


def prior_rate(positives: int, rows: int) -> float:
    """Observed churn rate shrunk towards the default prior."""
    prior = default_prior_churn_rate()
    return (positives + PRIOR_PSEUDO_ROWS * prior) / (rows + PRIOR_PSEUDO_ROWS)


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


def _smaller_class(labels: pd.Series) -> int:
    positives = int(labels.sum())
    return min(positives, len(labels) - positives)


def calibration_split(training: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(rows to fit the calibration estimator on, rows to calibrate on) for the
    out-of-time calibration: the latest ``CALIBRATION_MONTHS`` labelled month ends,
    and the month ends at least ``CALIBRATION_GAP_MONTHS`` before them. None when
    either side holds fewer than ``MIN_CLASS_ROWS_TO_CALIBRATE`` of a class."""
    early, recent = out_of_time_split(training, CALIBRATION_MONTHS, CALIBRATION_GAP_MONTHS)
    if min(_smaller_class(early["churned"]), _smaller_class(recent["churned"])) < (
        MIN_CLASS_ROWS_TO_CALIBRATE
    ):
        return None
    return early, recent


def _month_range(rows: pd.DataFrame) -> list[str]:
    months = rows["month_start_date"]
    return [str(months.min()), str(months.max())]


def fit_churn_model(
    training: pd.DataFrame,
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS,
    calibration: str = "recent_months",
) -> ChurnModel:
    """Fit the estimator the data allow on ``training`` (features + ``churned``),
    calibrated out of time when the history allows (module docstring).
    ``calibration="folds"`` forces the random-fold calibration (for comparisons)."""
    if calibration not in CALIBRATION_METHODS:
        raise ValueError(f"calibration must be one of {CALIBRATION_METHODS}, got {calibration!r}")
    labels = training["churned"].astype(bool)
    kind = choose_model_kind(labels)
    if kind == "prior_rate":
        return ChurnModel(
            PriorRateModel(prior_rate(int(labels.sum()), len(labels))), kind, feature_columns
        )

    def matrix(rows: pd.DataFrame) -> np.ndarray:
        return rows.loc[:, list(feature_columns)].to_numpy(dtype=float)

    def target(rows: pd.DataFrame) -> np.ndarray:
        return rows["churned"].to_numpy(dtype=int)

    estimator = _base_estimator(kind)
    if not kind.endswith("_calibrated"):
        return ChurnModel(estimator.fit(matrix(training), target(training)), kind, feature_columns)
    split = calibration_split(training) if calibration == "recent_months" else None
    if split is None:
        folds = CalibratedClassifierCV(
            estimator,
            method=MODEL_SPEC["calibration"]["method"],
            cv=StratifiedKFold(n_splits=CALIBRATION_FOLDS),
        ).fit(matrix(training), target(training))
        details = {
            "method": "sigmoid",
            "folds": CALIBRATION_FOLDS,
            "months": _month_range(training),
        }
        return ChurnModel(folds, f"{kind}_folds", feature_columns, details)
    early, recent = split
    estimator.fit(matrix(early), target(early))
    calibrator = PlattMap().fit(estimator.predict_proba(matrix(recent))[:, 1], target(recent))
    if CALIBRATION_REFIT:
        estimator = clone(estimator).fit(matrix(training), target(training))
    details = {
        "method": "sigmoid",
        "estimator_fitted_on": _month_range(training if CALIBRATION_REFIT else early),
        "estimator_for_calibration_fitted_on": _month_range(early),
        "calibrated_on": _month_range(recent),
        "calibration_rows": len(recent),
        "slope": calibrator.slope,
        "intercept": calibrator.intercept,
    }
    return ChurnModel(
        RecentMonthsCalibrated(estimator, calibrator),
        f"{kind}_recent_months",
        feature_columns,
        details,
    )


def out_of_time_split(
    training: pd.DataFrame,
    test_month_count: int = TEST_MONTHS,
    gap_months: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest ``test_month_count`` labelled month ends for testing; for training,
    the month ends at least ``gap_months`` before the first test month. The gap is by
    default the label horizon (var churn_label_horizon_months): a training label of
    month M looks at M+1..M+3, so without the gap the training labels would already
    see the test months' outcomes."""
    if gap_months is None:
        gap_months = business_rules().churn_label_horizon_months
    months = sorted(training["month_start_date"].unique())
    if len(months) < 2:
        return training.iloc[0:0], training.iloc[0:0]
    test_months = months[-min(test_month_count, len(months) - 1) :]
    first_test = pd.Timestamp(test_months[0])
    last_train = (first_test - pd.DateOffset(months=gap_months)).date()
    is_test = training["month_start_date"].isin(test_months)
    is_train = training["month_start_date"] <= last_train
    return training.loc[is_train], training.loc[is_test]


def evaluate_against_baseline(
    model: ChurnModel, train: pd.DataFrame, test: pd.DataFrame
) -> dict[str, Any]:
    """Model and rule baseline side by side on the test rows (scoring.evaluation)."""
    labels = test["churned"].to_numpy(dtype=int)
    rates = fit_rule_rates(train, train["churned"])
    model_report = score_report(labels, model.predict_probability(test))
    rule_report = score_report(labels, rule_probability(test, rates))
    return {
        "evaluated": True,
        "model_kind": model.kind,
        "calibration": model.calibration,
        "train_rows": len(train),
        "test_rows": len(test),
        "train_months": [
            str(train["month_start_date"].min()),
            str(train["month_start_date"].max()),
        ],
        "test_months": [str(test["month_start_date"].min()), str(test["month_start_date"].max())],
        "test_positive_rate": float(labels.mean()),
        "model": model_report,
        "rule_baseline": rule_report,
        "beats_rule_baseline": _beats(model_report, rule_report),
    }


def _beats(model_report: dict[str, Any], rule_report: dict[str, Any]) -> bool | None:
    if model_report["roc_auc"] is None or rule_report["roc_auc"] is None:
        return None
    return model_report["roc_auc"] > rule_report["roc_auc"]


def train_churn_model(
    training: pd.DataFrame,
    feature_columns: tuple[str, ...] = FEATURE_COLUMNS,
    test_month_count: int = TEST_MONTHS,
) -> TrainingResult:
    """Fit on the training window of the out-of-time split and measure on the test
    window: the stored model is exactly the one whose figures are reported (no refit
    on the test months), so a later model can be compared with it on its own test
    window without leakage. With too little history for the split (a young bank) the
    model is fitted on every labelled row and marked not evaluated."""
    notes: list[str] = []
    train, test = out_of_time_split(training, test_month_count)
    evaluable = len(train) > 0 and len(test) > 0
    fitted_on = train if evaluable else training
    model = fit_churn_model(fitted_on, feature_columns)
    if evaluable:
        metrics = evaluate_against_baseline(model, train, test)
    else:
        metrics = {"evaluated": False, "reason": "too few labelled month ends for the split"}
        notes.append(
            "not evaluated out of time: fewer labelled month ends than test months + "
            f"{business_rules().churn_label_horizon_months}-month gap + 1; fitted on every "
            "labelled row"
        )
    if model.kind == "prior_rate":
        notes.append(
            "training data hold a single class (or none): prior-rate model, every customer "
            f"gets p={model.estimator.rate:.4f}"
        )
    months = fitted_on["month_start_date"]
    return TrainingResult(
        model=model,
        metrics=metrics,
        training_rows=len(fitted_on),
        positive_rate=float(fitted_on["churned"].mean()) if len(fitted_on) else None,
        first_month=months.min() if len(fitted_on) else None,
        last_month=months.max() if len(fitted_on) else None,
        notes=notes,
        reason_reference=reference_values(fitted_on) if len(fitted_on) else None,
    )


def risk_bands(probabilities: np.ndarray | pd.Series, bands: Sequence[RiskBand]) -> np.ndarray:
    """Each probability's band: the band with the highest minimum at or below it (the
    seed churn_risk_bands, ordered by minimum; the first must start at 0)."""
    minimums = [minimum for _, minimum in bands]
    if not bands or minimums[0] != 0.0 or minimums != sorted(minimums) or minimums[-1] > 1.0:
        raise ValueError(
            f"risk bands must start at 0 and have ascending minimums within [0, 1], got {bands}"
        )
    values = np.asarray(probabilities, dtype=float)
    upper_bands = bands[1:]
    index = np.searchsorted([minimum for _, minimum in upper_bands], values, side="right")
    return np.array([name for name, _ in bands], dtype=object)[index]
