"""The rule baseline the churn model must beat: the early-warning signals of churn,
read from the signal mart (fct_customer_signal_months) as dbt computes them.

A customer's rule score is how many of the six signals fire at the month end:
AUM falling (the mart's 3-month trend below the seed lifecycle_stage_thresholds'
``declining`` line), at least the seed churn_reason_thresholds' share of outflows to
other banks, a time deposit maturing in the next days (var churn_signal_maturity_days),
payroll missing after months with it, a complaint in the last days (var
churn_signal_complaint_days), active months falling. A NULL figure does not fire.
To compare probabilities (Brier score, reliability) as well as rankings, each count
maps to the churn rate observed at that count in the training window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.business_rules import business_rules

SIGNALS: tuple[str, ...] = (
    "aum_falling",
    "outflows_to_other_banks",
    "deposit_maturing",
    "payroll_missing",
    "recent_complaint",
    "activity_falling",
)
# the mart figures (feature-panel columns) the signals read
SIGNAL_FIGURES: tuple[str, ...] = (
    "aum_trend_3m",
    "other_bank_outflow_share_3m",
    "maturing_time_deposit_count_30d",
    "is_payroll_missing",
    "complaint_count_90d",
    "active_months_fall",
)


def signal_descriptions() -> dict[str, str]:
    """Each signal in words, with the thresholds of the dbt seeds and vars."""
    rules = business_rules()
    months = rules.churn_signal_months
    return {
        "aum_falling": f"3-month AUM trend below {rules.declining_max_aum_trend:+.0%}",
        "outflows_to_other_banks": (
            f">= {rules.rate_min_other_bank_share:.0%} of {months}-month outflows to other banks"
        ),
        "deposit_maturing": (
            f"a time deposit matures in the next {rules.churn_signal_maturity_days} days"
        ),
        "payroll_missing": f"payroll missing after {months} months with it",
        "recent_complaint": f"a complaint in the last {rules.churn_signal_complaint_days} days",
        "activity_falling": f"fewer active months than the {months} months before",
    }


def signal_flags(figures: pd.DataFrame) -> pd.DataFrame:
    """One boolean column per signal (``SIGNALS``) for each row of mart figures."""
    rules = business_rules()

    def number(column: str) -> pd.Series:
        return pd.to_numeric(figures[column], errors="coerce").astype(float)

    return pd.DataFrame(
        {
            "aum_falling": number("aum_trend_3m") < rules.declining_max_aum_trend,
            "outflows_to_other_banks": (
                number("other_bank_outflow_share_3m") >= rules.rate_min_other_bank_share
            ),
            "deposit_maturing": number("maturing_time_deposit_count_30d") > 0,
            "payroll_missing": figures["is_payroll_missing"]
            .astype("boolean")
            .fillna(False)
            .astype(bool),
            "recent_complaint": number("complaint_count_90d") > 0,
            "activity_falling": number("active_months_fall") > 0,
        },
        index=figures.index,
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
