"""The rule baseline the churn model must beat: the METRICS.md early-warning signals.

A customer's rule score is how many of the six signals fire at the month end:
AUM falling (3-month trend below -10%, the lifecycle `declining` line), half or more
of outflows to other banks, a time deposit maturing in the next 30 days, payroll
missing after three months with it, a complaint in the last 90 days, active months
falling. To compare probabilities (Brier score, reliability) as well as rankings,
each count maps to the churn rate observed at that count in the training window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AUM_DECLINE_TREND = -0.10
OTHER_BANK_SHARE = 0.50

SIGNALS: dict[str, str] = {
    "aum_falling": "3-month AUM trend below -10%",
    "outflows_to_other_banks": ">= 50% of 3-month outflows to other banks",
    "deposit_maturing": "a time deposit matures in the next 30 days",
    "payroll_missing": "payroll missing after 3 months with it",
    "recent_complaint": "a complaint in the last 90 days",
    "activity_falling": "fewer active months than the 3 months before",
}


def signal_flags(features: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per signal (``SIGNALS``) for each feature row."""
    return pd.DataFrame(
        {
            "aum_falling": features["aum_trend_3m"] < AUM_DECLINE_TREND,
            "outflows_to_other_banks": features["other_bank_outflow_share_3m"] >= OTHER_BANK_SHARE,
            "deposit_maturing": features["maturing_deposit_share_30d"] > 0,
            "payroll_missing": features["is_payroll_missing"] > 0,
            "recent_complaint": features["complaint_count_90d"] > 0,
            "activity_falling": features["active_months_fall"] > 0,
        },
        index=features.index,
    )


def rule_score(features: pd.DataFrame) -> np.ndarray:
    """Number of signals firing (0-6)."""
    return signal_flags(features).sum(axis=1).to_numpy(dtype=float)


def fit_rule_rates(features: pd.DataFrame, labels: pd.Series) -> dict[int, float]:
    """Observed churn rate per signal count in the training rows; counts never seen
    get the rate of the nearest lower count seen (or the overall rate)."""
    counts = rule_score(features).astype(int)
    target = labels.astype(float).to_numpy()
    overall = float(target.mean()) if len(target) else 0.0
    rates: dict[int, float] = {}
    last = overall
    for count in range(len(SIGNALS) + 1):
        seen = counts == count
        last = float(target[seen].mean()) if seen.any() else last
        rates[count] = last
    return rates


def rule_probability(features: pd.DataFrame, rates: dict[int, float]) -> np.ndarray:
    counts = rule_score(features).astype(int)
    return np.array([rates[int(count)] for count in counts], dtype=float)
