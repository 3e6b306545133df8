"""Top-3 churn reason codes per customer: which groups of features pushed the score up.

Attribution by occlusion: for each reason group, the group's features are set to
their *reference* values (the median of customers who did not churn in the
training window) and the customer is scored again; the drop in probability is
what that group contributed. Groups with a positive contribution are ranked and
the top three kept, each with a sentence a relationship manager can read, built
from the customer's own figures. Grouping correlated features (the AUM trends
together, the activity shares together) keeps a reason from being split in two
and keeps the cost at one extra prediction per group.

Specific evidence comes first. A model's probability is driven by the symptoms
every churner shares (AUM and activity falling), so occlusion alone would name
the symptom and hide the cause. When a customer shows the evidence of one of the
first four METRICS.md churn reasons (a real-estate payment >= 30% of prior AUM, a
matured campaign deposit, >= 50% of outflows to other banks, a recent complaint;
the seed churn_reason_thresholds' defaults), that code leads, in the METRICS.md
order; the remaining places go to the groups with the largest positive
contributions. Each code maps to the METRICS.md churn reason it is evidence of,
so the codes can be checked against the planted reasons of a generated bank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

TOP_REASONS = 3


@dataclass(frozen=True)
class ReasonGroup:
    code: str
    features: tuple[str, ...]
    churn_reason: str  # the METRICS.md churn reason this is evidence of
    describe: Callable[[pd.Series], str]
    # (feature, minimum) that makes this group specific evidence, or None
    evidence: tuple[str, float] | None = None


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


REASON_GROUPS: tuple[ReasonGroup, ...] = (
    ReasonGroup(
        "property_payment",
        ("real_estate_payment_share_3m",),
        "property_purchase",
        lambda row: (
            "large payment to a property seller "
            f"({_percent(row['real_estate_payment_share_3m'])} of prior AUM)"
        ),
        ("real_estate_payment_share_3m", 0.30),
    ),
    ReasonGroup(
        "campaign_deposit_matured",
        ("matured_campaign_deposit_count_3m", "maturing_deposit_share_30d"),
        "campaign_deposit_maturity",
        lambda row: (
            "campaign time deposit matured or maturing "
            f"({row['matured_campaign_deposit_count_3m']:.0f} matured in 3 months)"
        ),
        ("matured_campaign_deposit_count_3m", 1.0),
    ),
    ReasonGroup(
        "outflows_to_other_banks",
        ("other_bank_outflow_share_3m",),
        "rate_competition",
        lambda row: (
            f"{_percent(row['other_bank_outflow_share_3m'])} of outflows "
            "went to other banks in 3 months"
        ),
        ("other_bank_outflow_share_3m", 0.50),
    ),
    ReasonGroup(
        "recent_complaint",
        ("complaint_count_90d",),
        "service_dissatisfaction",
        lambda row: f"{row['complaint_count_90d']:.0f} complaint(s) in the last 90 days",
        ("complaint_count_90d", 1.0),
    ),
    ReasonGroup(
        "aum_falling",
        ("aum_trend_1m", "aum_trend_3m", "month_end_to_average_aum"),
        "disengagement",
        lambda row: f"AUM changed {_percent(row['aum_trend_3m'])} against the 3 months before",
    ),
    ReasonGroup(
        "activity_falling",
        (
            "active_share_6",
            "active_share_12",
            "months_since_active",
            "monthly_transactions_3m",
            "transaction_trend_3m",
            "transaction_count",
            "active_months_fall",
        ),
        "disengagement",
        lambda row: (
            f"{row['monthly_transactions_3m']:.1f} transactions a month lately, "
            f"last active {row['months_since_active']:.0f} month(s) ago"
        ),
    ),
    ReasonGroup(
        "payroll_stopped",
        ("is_payroll_missing",),
        "disengagement",
        lambda row: "salary no longer paid in after 3 months with it",
    ),
    ReasonGroup(
        "digital_disengaged",
        ("digitally_active_share_6", "digital_share_3m"),
        "disengagement",
        lambda row: f"digital share of transactions {_percent(row['digital_share_3m'])}",
    ),
)
REASON_BY_CODE = {group.code: group for group in REASON_GROUPS}


def reference_values(training: pd.DataFrame, label_column: str = "churned") -> pd.Series:
    """Median of every grouped feature among non-churners of the training rows."""
    columns = sorted({name for group in REASON_GROUPS for name in group.features})
    stayers = training.loc[~training[label_column].astype(bool), columns]
    source = stayers if len(stayers) else training.loc[:, columns]
    return source.median().fillna(0.0)


def reason_contributions(
    predict: Callable[[pd.DataFrame], np.ndarray],
    features: pd.DataFrame,
    reference: pd.Series,
) -> pd.DataFrame:
    """Probability drop per reason group when its features take the reference values."""
    base = predict(features)
    contributions = {}
    for group in REASON_GROUPS:
        present = [name for name in group.features if name in features.columns]
        if not present:
            continue
        neutral = features.copy()
        neutral[present] = reference[present].to_numpy()
        contributions[group.code] = base - predict(neutral)
    return pd.DataFrame(contributions, index=features.index)


def evidence_flags(features: pd.DataFrame) -> pd.DataFrame:
    """True where a group's specific evidence is present (ReasonGroup.evidence)."""
    return pd.DataFrame(
        {
            group.code: features[group.evidence[0]].to_numpy(float) >= group.evidence[1]
            for group in REASON_GROUPS
            if group.evidence is not None and group.evidence[0] in features.columns
        },
        index=features.index,
    )


def top_reasons(
    contributions: pd.DataFrame, features: pd.DataFrame, top: int = TOP_REASONS
) -> pd.DataFrame:
    """reason_code_1..top (NULL where fewer apply) and reason_summary: the codes'
    sentences joined by '; '. Evidence codes first (module docstring), then the
    groups with the largest positive contributions."""
    codes = list(contributions.columns)
    values = contributions.to_numpy(float)
    evidence = evidence_flags(features).reindex(columns=codes, fill_value=False).to_numpy(bool)
    precedence = np.array([float(position) for position in range(len(codes))])
    # evidence codes sort before everything in METRICS.md order; then by contribution
    rank_key = np.where(evidence, -1e9 + precedence, np.where(values > 0, -values, np.inf))
    order = np.argsort(rank_key, axis=1, kind="stable")[:, :top]
    chosen = np.asarray(codes, dtype=object)[order]
    kept = np.isfinite(np.take_along_axis(rank_key, order, axis=1))
    result = pd.DataFrame(index=contributions.index)
    for rank in range(top):
        result[f"reason_code_{rank + 1}"] = np.where(kept[:, rank], chosen[:, rank], None)
    records = features.to_dict("records")
    result["reason_summary"] = [
        "; ".join(
            REASON_BY_CODE[code].describe(record)
            for code, keep in zip(row_codes, row_kept, strict=True)
            if keep
        )
        or None
        for record, row_codes, row_kept in zip(records, chosen, kept, strict=True)
    ]
    return result
