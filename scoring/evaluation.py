"""Out-of-time evaluation figures for a churn score: ranking, calibration, capture.

``score_report`` gives ROC-AUC, PR-AUC (average precision), Brier score, the
reliability table (predicted vs observed churn rate per probability decile), its
check (``reliability_check``: every bin holding at least 1% of the rows within 5
points of its observed rate) and the top-decile capture rate (share of all
churners found among the 10% of customers with the highest score; ties at the cut
are shared out pro rata, so a score with many equal values is not flattered by
the row order).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

TOP_SHARE = 0.10
RELIABILITY_BINS = 10
# the reliability check: bins holding at least this share of the rows ...
RELIABILITY_MIN_SHARE = 0.01
# ... predict within this distance of their observed churn rate
RELIABILITY_TOLERANCE = 0.05


def top_share_capture(labels: np.ndarray, scores: np.ndarray, share: float = TOP_SHARE) -> float:
    """Expected share of positives among the top ``share`` of rows by score, ties shared."""
    labels = np.asarray(labels, dtype=float)
    scores = np.asarray(scores, dtype=float)
    positives = labels.sum()
    if positives == 0 or len(labels) == 0:
        return float("nan")
    take = share * len(labels)
    frame = pd.DataFrame({"score": scores, "label": labels})
    groups = frame.groupby("score", sort=True)["label"].agg(["size", "sum"]).iloc[::-1]
    captured, taken = 0.0, 0.0
    for size, hits in groups.itertuples(index=False):
        portion = min(size, take - taken)
        if portion <= 0:
            break
        captured += hits * portion / size
        taken += portion
    return float(captured / positives)


def reliability_table(
    labels: np.ndarray, probabilities: np.ndarray, bins: int = RELIABILITY_BINS
) -> list[dict[str, Any]]:
    """Rows per equal-width probability bin: rows, share of rows, mean predicted,
    observed rate."""
    labels = np.asarray(labels, dtype=float)
    probabilities = np.asarray(probabilities, dtype=float)
    edges = np.arange(bins + 1) / bins  # 3 / 10 is 0.3; linspace gives 0.30000000000000004
    index = np.clip(np.digitize(probabilities, edges[1:-1], right=False), 0, bins - 1)
    table = []
    for position in range(bins):
        inside = index == position
        if not inside.any():
            continue
        table.append(
            {
                "bin": f"{edges[position]:.1f}-{edges[position + 1]:.1f}",
                "rows": int(inside.sum()),
                "share_of_rows": round(float(inside.mean()), 4),
                "mean_predicted": round(float(probabilities[inside].mean()), 4),
                "observed_rate": round(float(labels[inside].mean()), 4),
            }
        )
    return table


def reliability_check(
    table: list[dict[str, Any]],
    min_share: float = RELIABILITY_MIN_SHARE,
    tolerance: float = RELIABILITY_TOLERANCE,
) -> dict[str, Any]:
    """Whether every bin of ``table`` holding >= ``min_share`` of the rows predicts
    within ``tolerance`` of its observed rate. Each checked bin also carries the
    sampling standard error of its observed rate, sqrt(p (1 - p) / rows) at the mean
    predicted p: a bin of 60 rows at p = 0.5 has 0.065, so a 5-point miss there is
    within sampling noise, not evidence of miscalibration."""
    total = sum(row["rows"] for row in table)
    checked = []
    for row in table:
        if total == 0 or row["rows"] < min_share * total:
            continue
        predicted = row["mean_predicted"]
        checked.append(
            {
                "bin": row["bin"],
                "rows": row["rows"],
                "gap": round(predicted - row["observed_rate"], 4),
                "standard_error": round((predicted * (1.0 - predicted) / row["rows"]) ** 0.5, 4),
            }
        )
    outside = [item["bin"] for item in checked if abs(item["gap"]) > tolerance]
    worst = max(checked, key=lambda item: abs(item["gap"]), default=None)
    return {
        "min_share": min_share,
        "tolerance": tolerance,
        "bins": checked,
        "worst_bin": worst["bin"] if worst else None,
        "worst_gap": worst["gap"] if worst else None,
        "bins_outside": outside,
        "within_tolerance": not outside,
    }


def score_report(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, Any]:
    """Every figure of the module docstring; AUCs are None with a single class."""
    labels = np.asarray(labels, dtype=int)
    probabilities = np.asarray(probabilities, dtype=float)
    both = len(np.unique(labels)) == 2
    reliability = reliability_table(labels, probabilities)
    return {
        "rows": len(labels),
        "positives": int(labels.sum()),
        "roc_auc": float(roc_auc_score(labels, probabilities)) if both else None,
        "pr_auc": float(average_precision_score(labels, probabilities)) if both else None,
        "brier": float(brier_score_loss(labels, probabilities, pos_label=1))
        if len(labels)
        else None,
        "top_decile_capture": top_share_capture(labels, probabilities) if both else None,
        "reliability": reliability,
        "reliability_check": reliability_check(reliability),
    }
