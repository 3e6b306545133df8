"""Top-3 churn reason codes per customer: which groups of features pushed the score up.

Attribution by occlusion: for each reason group, the group's model features
(``feature_...``) are set to their *reference* values (the median of customers who
did not churn in the training window) and the customer is scored again; the drop in
probability is what that group contributed. Groups with a positive contribution are
ranked and the top three kept, each with a sentence a relationship manager can read.
Grouping correlated features (the AUM trends together, the activity shares
together) keeps a reason from being split in two and keeps the cost at one extra
prediction per group.

The sentences quote the marts' figures, never the model's transforms: the AUM trend
is fct_customer_signal_months.aum_trend_3m (the figure mart_customer_360 shows), the
complaint count is the mart's count (not the model's count clipped at 5), and so
on. Percentages are the mart's shares times 100, rounded half up to whole percent
(``mart_percent``), so the same figure reads the same in SQL and in the sentence.

Specific evidence comes first. A model's probability is driven by the symptoms
every churner shares (AUM and activity falling), so occlusion alone would name
the symptom and hide the cause. When a customer shows the evidence of one of the
first four churn reasons (a real-estate payment of at least the seed
churn_reason_thresholds.property_min_share_of_prior_aum of the prior 3-month AUM, a
matured campaign deposit, at least rate_min_other_bank_share of outflows to other
banks, a recent complaint), that code leads, in the churn-reason order; the
remaining places go to the groups with the largest positive contributions. Each code
maps to the churn reason it is evidence of, so the codes can be checked against the
planted reasons of a generated bank.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
import pandas as pd

from scoring.business_rules import business_rules

TOP_REASONS = 3


@dataclass(frozen=True)
class ReasonGroup:
    code: str
    features: tuple[str, ...]  # the model features occluded together
    churn_reason: str  # the churn reason (fct_customer_churn_months) this is evidence of
    describe: Callable[[dict[str, Any]], str]  # a sentence from the row's mart figures
    # (mart figure, minimum) that makes this group specific evidence, or None
    evidence: tuple[str, float] | None = None


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def mart_percent(share: Any) -> str | None:
    """A mart share (0.5523 = 55.23 %) as a whole percent, rounded half up (away from
    zero) on the decimal value: -0.5550 -> "-56%". None for a NULL share."""
    if _missing(share):
        return None
    # str() of a float is its shortest repr, i.e. the mart's decimal digits
    percent = (Decimal(str(float(share))) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{percent + 0:f}%"  # + 0 turns -0 into 0


def _count(value: Any) -> int:
    return 0 if _missing(value) else int(value)


def _property_sentence(row: dict[str, Any]) -> str:
    share = mart_percent(row["real_estate_payment_share_of_prior_aum_3m"])
    amount = (
        0.0
        if _missing(row["largest_real_estate_payment_amount_3m"])
        else float(row["largest_real_estate_payment_amount_3m"])
    )
    against = f"{share} of prior 3-month AUM" if share else "no prior 3-month AUM"
    return f"large payment to a property seller ({amount:,.2f} CNY, {against})"


def _outflow_sentence(row: dict[str, Any]) -> str:
    share = mart_percent(row["other_bank_outflow_share_3m"])
    months = business_rules().churn_signal_months
    if share is None:
        return f"no outflows in {months} months"
    return f"{share} of outflows went to other banks in {months} months"


def _aum_sentence(row: dict[str, Any]) -> str:
    trend = mart_percent(row["aum_trend_3m"])
    if trend is None:
        return "AUM falling (no month-average AUM 3 months earlier to compare with)"
    return f"month-average AUM changed {trend} against 3 months earlier"


def _activity_sentence(row: dict[str, Any]) -> str:
    months = business_rules().churn_signal_months
    active, fall = _count(row["active_months_3m"]), _count(row["active_months_fall"])
    change = f", {fall} fewer than in the {months} before" if fall > 0 else ""
    count = _count(row["customer_initiated_transaction_count"])
    return (
        f"active in {active} of the last {months} months{change}; {count} transactions in the month"
    )


def _digital_sentence(row: dict[str, Any]) -> str:
    digital = _count(row["digital_transaction_count"])
    count = _count(row["customer_initiated_transaction_count"])
    return f"{digital} of {count} transactions in the month digital"


def reason_groups() -> tuple[ReasonGroup, ...]:
    """The reason groups, with the evidence thresholds of the dbt seeds and vars."""
    rules = business_rules()
    months = rules.churn_signal_months
    return (
        ReasonGroup(
            "property_payment",
            ("feature_real_estate_payment_share_3m",),
            "property_purchase",
            _property_sentence,
            ("real_estate_payment_share_of_prior_aum_3m", rules.property_min_share_of_prior_aum),
        ),
        ReasonGroup(
            "campaign_deposit_matured",
            ("feature_matured_campaign_deposit_count_3m", "feature_maturing_deposit_share_30d"),
            "campaign_deposit_maturity",
            lambda row: (
                "campaign time deposit matured or maturing "
                f"({_count(row['matured_campaign_deposit_count_3m'])} matured in {months} months)"
            ),
            ("matured_campaign_deposit_count_3m", 1.0),
        ),
        ReasonGroup(
            "outflows_to_other_banks",
            ("feature_other_bank_outflow_share_3m",),
            "rate_competition",
            _outflow_sentence,
            ("other_bank_outflow_share_3m", rules.rate_min_other_bank_share),
        ),
        ReasonGroup(
            "recent_complaint",
            ("feature_complaint_count_90d",),
            "service_dissatisfaction",
            lambda row: (
                f"{_count(row['complaint_count_90d'])} complaint(s) in the last "
                f"{rules.churn_signal_complaint_days} days"
            ),
            ("complaint_count_90d", 1.0),
        ),
        ReasonGroup(
            "aum_falling",
            ("feature_aum_change_1m", "feature_aum_trend_3m", "feature_month_end_to_average_aum"),
            "disengagement",
            _aum_sentence,
        ),
        ReasonGroup(
            "activity_falling",
            (
                "feature_active_share_6m",
                "feature_active_share_12m",
                "feature_months_since_active",
                "feature_monthly_transactions_3m",
                "feature_transaction_change_3m",
                "feature_transaction_count",
                "feature_active_months_fall",
            ),
            "disengagement",
            _activity_sentence,
        ),
        ReasonGroup(
            "payroll_stopped",
            ("feature_is_payroll_missing",),
            "disengagement",
            lambda row: f"salary no longer paid in after {months} months with it",
        ),
        ReasonGroup(
            "digital_disengaged",
            ("feature_digitally_active_share_6m", "feature_digital_share_3m"),
            "disengagement",
            _digital_sentence,
        ),
    )


REASON_GROUPS: tuple[ReasonGroup, ...] = reason_groups()
# The mart figures the sentences and the evidence read (feature-panel columns).
QUOTED_FIGURES: tuple[str, ...] = (
    "aum_trend_3m",
    "other_bank_outflow_share_3m",
    "complaint_count_90d",
    "active_months_3m",
    "active_months_fall",
    "matured_campaign_deposit_count_3m",
    "largest_real_estate_payment_amount_3m",
    "real_estate_payment_share_of_prior_aum_3m",
    "customer_initiated_transaction_count",
    "digital_transaction_count",
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
    base: np.ndarray | None = None,
) -> pd.DataFrame:
    """Probability drop per reason group when its features take the reference values
    (``base``: ``predict(features)``, when the caller has it already).

    Only the rows the occlusion moves are scored again: a row whose group features
    already hold the reference values (no complaint, no property payment: most
    customers, for most groups) would get its own probability back, a drop of
    exactly 0. The model scores each row on its own, so the others' drops are the
    same as when every row is scored again; the predictions are most of the daily
    scoring's time."""
    base = predict(features) if base is None else np.asarray(base)
    contributions = {}
    for group in REASON_GROUPS:
        present = [name for name in group.features if name in features.columns]
        if not present:
            continue
        neutral_values = reference[present].to_numpy(dtype=float)
        values = features[present].to_numpy(dtype=float, na_value=np.nan)
        at_reference = (values == neutral_values) | (np.isnan(values) & np.isnan(neutral_values))
        moved = ~at_reference.all(axis=1)
        drop = np.zeros(len(features))
        if moved.any():
            neutral = features.loc[moved].copy()
            neutral[present] = neutral_values
            drop[moved] = base[moved] - predict(neutral)
        contributions[group.code] = drop
    return pd.DataFrame(contributions, index=features.index)


def evidence_flags(features: pd.DataFrame) -> pd.DataFrame:
    """True where a group's specific evidence is present (ReasonGroup.evidence)."""
    return pd.DataFrame(
        {
            group.code: (
                pd.to_numeric(features[group.evidence[0]], errors="coerce").to_numpy(float)
                >= group.evidence[1]
            )
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
    # evidence codes sort before everything in the churn-reason order; then by contribution
    rank_key = np.where(evidence, -1e9 + precedence, np.where(values > 0, -values, np.inf))
    order = np.argsort(rank_key, axis=1, kind="stable")[:, :top]
    chosen = np.asarray(codes, dtype=object)[order]
    kept = np.isfinite(np.take_along_axis(rank_key, order, axis=1))
    result = pd.DataFrame(index=contributions.index)
    for rank in range(top):
        result[f"reason_code_{rank + 1}"] = np.where(kept[:, rank], chosen[:, rank], None)
    # the figures the sentences quote only: a dict per row of every column was 1.1 s at
    # 100,000 customers
    records = features.loc[:, list(QUOTED_FIGURES)].to_dict("records")
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
