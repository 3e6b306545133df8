"""Churn-model features per customer and month, from the marts dbt builds:
``marts.fct_customer_months`` and ``marts.fct_customer_signal_months``.

dbt owns every business figure. The panel carries the marts' figures under the
marts' names and with the marts' values (``MART_FIGURES``; NULL where the mart has
no row or no value): ``aum_trend_3m`` is the mart's month-average AUM against the
month 3 months before, ``complaint_count_90d`` the mart's count, and so on. The
reason sentences and the rule baseline read those. What this module adds are model
transforms only (clipping, logs, fills, shares of the months observed, one-hot
columns), each under a name that says so: ``feature_...``. ``FEATURE_COLUMNS`` (the
churn model's inputs) are all ``feature_`` columns, so a transformed value can
never be mistaken for the mart's figure of the same name. Tier names come from
the dbt seeds (scoring.business_rules), not from a copy.

Every feature of month M is computed from months <= M only: the panel is built
with backward-looking windows (cumulative sums and positive shifts within each
customer), so the features of M are the same whether or not later months exist.
``build_features`` additionally drops every row after the as-of month before
computing anything.

The panel is *dense*: each customer gets one row per month from its first row in
the mart up to the last month of the input. A month without a mart row (the
customer left the mart) counts as zero AUM, no transactions and no open account in
the features; ``has_row`` tells the two apart and the mart figures stay NULL there.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from include.landing.entities import CUSTOMER_TYPES
from scoring.business_rules import business_rules

MART_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "month_start_date",
    "customer_type",
    "month_average_aum",
    "month_end_aum",
    "customer_initiated_transaction_count",
    "digital_transaction_count",
    "is_active",
    "is_digitally_active",
    "has_open_account",
    "value_tier",
    "payroll_credit_count",
)
# seed value_tier_ranks, highest first: one one-hot feature per tier
VALUE_TIERS: tuple[str, ...] = business_rules().value_tiers

# Relative changes are clipped: a customer going from 1 CNY to 1 million is not
# a million times more informative than one going from 10,000 to 50,000.
TREND_CLIP = (-1.0, 5.0)
MONTHS_SINCE_ACTIVE_CAP = 12

# From marts.fct_customer_signal_months: the early-warning signals as they stood at
# each month end (aum_trend_3m included), two churn-reason evidences, the share of
# investment accounts (segments) and the label, last.
SIGNAL_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "month_start_date",
    "aum_trend_3m",
    "prior_3m_average_aum",
    "other_bank_outflow_share_3m",
    "maturing_time_deposit_count_30d",
    "maturing_time_deposit_amount_30d",
    "is_payroll_missing",
    "complaint_count_90d",
    "active_months_3m",
    "active_months_fall",
    "matured_campaign_deposit_count_3m",
    "largest_real_estate_payment_amount_3m",
    "real_estate_payment_share_of_prior_aum_3m",
    "investment_account_share",
    "churn_label_3m",
)
# The mart figures the panel carries unchanged (reason sentences, rule baseline).
MART_FIGURES: tuple[str, ...] = (
    "customer_type",
    "value_tier",
    "month_average_aum",
    "customer_initiated_transaction_count",
    "digital_transaction_count",
    *SIGNAL_COLUMNS[2:-1],
)
SIGNAL_FEATURES: tuple[str, ...] = (
    "feature_other_bank_outflow_share_3m",
    "feature_maturing_deposit_share_30d",
    "feature_is_payroll_missing",
    "feature_complaint_count_90d",
    "feature_active_months_fall",
    "feature_matured_campaign_deposit_count_3m",
    "feature_real_estate_payment_share_3m",
)
COUNT_CLIP = 5.0
SHARE_CLIP = 5.0

FEATURE_COLUMNS: tuple[str, ...] = (
    "feature_month_average_aum",
    "feature_log_month_average_aum",
    "feature_month_end_to_average_aum",
    "feature_aum_change_1m",
    "feature_aum_trend_3m",
    "feature_active_share_6m",
    "feature_active_share_12m",
    "feature_digitally_active_share_6m",
    "feature_months_since_active",
    "feature_transaction_count",
    "feature_monthly_transactions_3m",
    "feature_transaction_change_3m",
    "feature_digital_share_3m",
    "feature_payroll_share_3m",
    *(f"feature_customer_type_{value}" for value in CUSTOMER_TYPES),
    *(f"feature_value_tier_{value}" for value in VALUE_TIERS),
    *SIGNAL_FEATURES,
)
# Watched for drift beside the score (scoring.train): the strongest churn evidence.
DRIFT_FEATURES: tuple[str, ...] = (
    "feature_log_month_average_aum",
    "feature_aum_trend_3m",
    "feature_active_share_6m",
    "feature_monthly_transactions_3m",
    "feature_digital_share_3m",
    "feature_other_bank_outflow_share_3m",
)


def month_index(values: pd.Series) -> pd.Series:
    """Months since year 0 (``year * 12 + month - 1``): consecutive months differ by 1."""
    stamps = pd.to_datetime(values)
    return (stamps.dt.year * 12 + stamps.dt.month - 1).astype("int64")


def month_start_from_index(index: pd.Series) -> pd.Series:
    """Inverse of ``month_index``: the first day of the month as ``datetime.date``."""
    starts = {value: date(value // 12, value % 12 + 1, 1) for value in pd.unique(index)}
    return index.astype("int64").map(starts).astype("object")


def as_dates(values: pd.Series) -> pd.Series:
    """Dates or timestamps as ``datetime.date``, converted once per distinct value.

    The customer-month frames repeat a dozen months over millions of rows; making a
    ``date`` per row (``.dt.date``) costs seven times as much at a million rows.
    """
    distinct = pd.unique(values)
    return values.map(dict(zip(distinct, pd.to_datetime(distinct).date, strict=True)))


def month_start(value: date) -> date:
    """First day of the month of ``value``."""
    return date(value.year, value.month, 1)


def check_mart_frame(months: pd.DataFrame) -> None:
    """Fail with a message naming the problem if the frame breaks the mart contract."""
    missing = [column for column in MART_COLUMNS if column not in months.columns]
    if missing:
        raise ValueError(f"fct_customer_months frame: missing column(s) {', '.join(missing)}")
    keys = months[["customer_id", "month_start_date"]]
    if keys.isna().any().any():
        row = int(keys.isna().any(axis=1).to_numpy().argmax())
        raise ValueError(f"fct_customer_months frame: row {row} has a NULL customer_id or month")
    duplicated = keys.duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax())
        first = keys.iloc[row]
        raise ValueError(
            "fct_customer_months frame: duplicate (customer_id, month_start_date) "
            f"({first['customer_id']}, {first['month_start_date']}) at row {row}"
        )


def dense_customer_months(months: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and month from the customer's first mart row to the last
    month of the input, sorted by customer then month. Missing months are filled as
    "no row": zero AUM and transactions, no open account, not active."""
    check_mart_frame(months)
    rows = months.loc[:, list(MART_COLUMNS)].copy()
    rows["customer_id"] = rows["customer_id"].astype(str)
    rows["month_index"] = month_index(rows["month_start_date"])
    if rows.empty:
        return _empty_dense(rows)

    last_month = int(rows["month_index"].max())
    first = rows.groupby("customer_id", sort=True)["month_index"].min()
    lengths = (last_month - first + 1).to_numpy()
    grid = pd.DataFrame(
        {
            "customer_id": np.repeat(first.index.to_numpy(), lengths),
            "month_index": np.concatenate(
                [np.arange(start, last_month + 1) for start in first.to_numpy()]
            ),
        }
    )
    dense = grid.merge(
        rows.drop(columns=["month_start_date"]),
        on=["customer_id", "month_index"],
        how="left",
        indicator="_merge",
    )
    dense["has_row"] = dense.pop("_merge").eq("both")
    for column in ("month_average_aum", "month_end_aum"):
        dense[column] = pd.to_numeric(dense[column], errors="coerce").fillna(0.0).astype(float)
    for column in (
        "customer_initiated_transaction_count",
        "digital_transaction_count",
        "payroll_credit_count",
    ):
        dense[column] = pd.to_numeric(dense[column], errors="coerce").fillna(0).astype("int64")
    for column in ("is_active", "is_digitally_active", "has_open_account"):
        dense[column] = dense[column].astype("boolean").fillna(False).astype(bool)
    # the type of a customer does not disappear with its rows: carry it forward
    dense["customer_type"] = dense.groupby("customer_id")["customer_type"].ffill()
    dense["month_start_date"] = month_start_from_index(dense["month_index"])
    dense["position"] = dense.groupby("customer_id").cumcount()
    return dense.sort_values(["customer_id", "month_index"], ignore_index=True)


def _empty_dense(rows: pd.DataFrame) -> pd.DataFrame:
    empty = rows.drop(columns=["month_start_date"]).iloc[0:0].copy()
    empty["has_row"] = pd.Series(dtype=bool)
    empty["month_start_date"] = pd.Series(dtype="object")
    empty["position"] = pd.Series(dtype="int64")
    return empty


def _window_sum(dense: pd.DataFrame, values: pd.Series, months: int, skip: int = 0) -> pd.Series:
    """Sum of ``values`` over months t-skip-months+1 .. t-skip of the same customer
    (months before the customer's first row count as 0). Uses only past rows."""
    customer = dense["customer_id"]
    running = values.astype(float).groupby(customer).cumsum()
    upper = running.groupby(customer).shift(skip).fillna(0.0) if skip else running
    lower = running.groupby(customer).shift(skip + months).fillna(0.0)
    return upper - lower


def _window_length(dense: pd.DataFrame, months: int, skip: int = 0) -> pd.Series:
    """How many of the months in the window of ``_window_sum`` the customer existed."""
    position = dense["position"].astype(float)
    return ((position + 1 - skip).clip(lower=0)).clip(upper=months)


def _window_share(dense: pd.DataFrame, flags: pd.Series, months: int) -> pd.Series:
    """Share of the months in the window the customer existed in that are flagged."""
    return _window_sum(dense, flags, months) / _window_length(dense, months).clip(lower=1.0)


def _relative_change(now: pd.Series, before: pd.Series) -> pd.Series:
    """(now - before) / before, with a floor of 1 on the denominator, clipped."""
    change = (now - before) / before.clip(lower=1.0)
    return change.clip(*TREND_CLIP)


def signal_figures(panel: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """The signal mart's figures (``SIGNAL_COLUMNS`` without the keys) for the panel's
    rows, as the mart has them: numbers as floats, NULL stays NULL (NaN), the flag
    and the label as nullable booleans. A month without a signal row has NULLs."""
    rows = signals.loc[:, list(SIGNAL_COLUMNS)].copy()
    rows["customer_id"] = rows["customer_id"].astype(str)
    rows["month_start_date"] = as_dates(rows["month_start_date"])
    joined = panel[["customer_id", "month_start_date"]].merge(
        rows, on=["customer_id", "month_start_date"], how="left", validate="one_to_one"
    )
    figures = pd.DataFrame(index=panel.index)
    for column in SIGNAL_COLUMNS[2:]:
        values = joined[column]
        if column in ("is_payroll_missing", "churn_label_3m"):
            figures[column] = values.astype("boolean").array
        else:
            figures[column] = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    return figures


def signal_features(figures: pd.DataFrame, month_average_aum: pd.Series) -> pd.DataFrame:
    """``SIGNAL_FEATURES``: the model transforms of the signal mart's figures (NULL
    counts as no signal; counts and shares clipped), next to the mart's values."""

    def filled(column: str) -> pd.Series:
        return figures[column].astype(float).fillna(0.0)

    return pd.DataFrame(
        {
            "feature_other_bank_outflow_share_3m": filled("other_bank_outflow_share_3m"),
            "feature_maturing_deposit_share_30d": (
                filled("maturing_time_deposit_amount_30d") / month_average_aum.clip(lower=1.0)
            ).clip(0, SHARE_CLIP),
            "feature_is_payroll_missing": figures["is_payroll_missing"].fillna(False).astype(float),
            "feature_complaint_count_90d": filled("complaint_count_90d").clip(0, COUNT_CLIP),
            "feature_active_months_fall": filled("active_months_fall"),
            "feature_matured_campaign_deposit_count_3m": filled(
                "matured_campaign_deposit_count_3m"
            ).clip(0, COUNT_CLIP),
            "feature_real_estate_payment_share_3m": filled(
                "real_estate_payment_share_of_prior_aum_3m"
            ).clip(0, SHARE_CLIP),
        },
        index=figures.index,
    )


def feature_panel(months: pd.DataFrame, signals: pd.DataFrame) -> pd.DataFrame:
    """Features for every customer and month of the input (see module docstring).

    Returns ``customer_id``, ``month_start_date`` (date), ``has_row``,
    ``has_open_account``, the ``MART_FIGURES`` (the marts' values, NULL without a
    mart row), the ``FEATURE_COLUMNS`` (floats, no missing values) and
    ``churn_label_3m`` (the label from the signal mart, NULL when the horizon is not
    observed yet).
    """
    dense = dense_customer_months(months)
    aum = dense["month_average_aum"]
    count = dense["customer_initiated_transaction_count"].astype(float)
    digital = dense["digital_transaction_count"].astype(float)
    previous_aum = dense.groupby("customer_id")["month_average_aum"].shift(1).fillna(aum)

    count_3m = _window_sum(dense, count, 3)
    count_prior_3m = _window_sum(dense, count, 3, skip=3)
    has_prior_counts = _window_length(dense, 3, skip=3) > 0
    digital_3m = _window_sum(dense, digital, 3)

    active_index = dense["month_index"].where(dense["is_active"])
    last_active = active_index.groupby(dense["customer_id"]).ffill()
    months_since_active = (dense["month_index"] - last_active).fillna(MONTHS_SINCE_ACTIVE_CAP)

    keys = pd.DataFrame(
        {
            "customer_id": dense["customer_id"],
            "month_start_date": dense["month_start_date"],
            "has_row": dense["has_row"],
            "has_open_account": dense["has_open_account"],
        }
    )
    has_row = dense["has_row"]
    month_figures = pd.DataFrame(
        {
            "customer_type": dense["customer_type"].where(has_row),
            "value_tier": dense["value_tier"].where(has_row),
            **{
                column: dense[column].astype(float).where(has_row)
                for column in (
                    "month_average_aum",
                    "customer_initiated_transaction_count",
                    "digital_transaction_count",
                )
            },
        }
    )
    figures = signal_figures(keys, signals)
    features = pd.DataFrame(
        {
            "feature_month_average_aum": aum,
            "feature_log_month_average_aum": np.log1p(aum.clip(lower=0.0)),
            "feature_month_end_to_average_aum": (
                dense["month_end_aum"].clip(lower=0.0) / aum.clip(lower=1.0)
            ).clip(upper=SHARE_CLIP),
            "feature_aum_change_1m": _relative_change(aum, previous_aum),
            # the mart's trend (against the month 3 months before), clipped; NULL
            # (no such month, or its AUM was 0) counts as no change
            "feature_aum_trend_3m": figures["aum_trend_3m"].clip(*TREND_CLIP).fillna(0.0),
            # Shares of the months the customer existed, not counts: a count grows
            # with the length of the history, so a model trained on the first months
            # of the data would extrapolate on later ones.
            "feature_active_share_6m": _window_share(dense, dense["is_active"], 6),
            "feature_active_share_12m": _window_share(dense, dense["is_active"], 12),
            "feature_digitally_active_share_6m": _window_share(
                dense, dense["is_digitally_active"], 6
            ),
            "feature_months_since_active": months_since_active.clip(upper=MONTHS_SINCE_ACTIVE_CAP),
            "feature_transaction_count": count,
            "feature_monthly_transactions_3m": count_3m / _window_length(dense, 3),
            "feature_transaction_change_3m": _relative_change(count_3m, count_prior_3m).where(
                has_prior_counts, 0.0
            ),
            "feature_digital_share_3m": (digital_3m / count_3m.where(count_3m > 0))
            .fillna(0.0)
            .clip(0, 1),
            "feature_payroll_share_3m": _window_share(dense, dense["payroll_credit_count"] > 0, 3),
        }
    )
    for value in CUSTOMER_TYPES:
        features[f"feature_customer_type_{value}"] = dense["customer_type"].eq(value).astype(float)
    for value in VALUE_TIERS:
        features[f"feature_value_tier_{value}"] = (
            dense["value_tier"].eq(value).fillna(False).astype(float)
        )
    features = pd.concat([features, signal_features(figures, aum)], axis=1)
    panel = pd.concat(
        [
            keys,
            month_figures,
            figures.drop(columns=["churn_label_3m"]),
            features[list(FEATURE_COLUMNS)].astype(float),
            figures[["churn_label_3m"]],
        ],
        axis=1,
    )
    return panel


def build_features(months: pd.DataFrame, signals: pd.DataFrame, as_of_month: date) -> pd.DataFrame:
    """Features as of the end of ``as_of_month`` for every customer with a mart row in
    that month. Rows after the as-of month are dropped first, so they cannot leak."""
    as_of = month_start(as_of_month)

    def visible(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[pd.to_datetime(frame["month_start_date"]) <= pd.Timestamp(as_of)]

    panel = feature_panel(visible(months), visible(signals))
    current = panel.loc[panel["month_start_date"].eq(as_of) & panel["has_row"]]
    return current.reset_index(drop=True)


def behaviour_features(population: pd.DataFrame, holdings: pd.DataFrame) -> pd.DataFrame:
    """The segments' behaviour features (scoring.segments.BEHAVIOUR_FEATURES) for the
    scored population (feature-panel rows) and their product depth (mart_customer_loyalty,
    warehouse_io.read_customer_holdings). The only transform added here:
    ``feature_investment_account_share`` is the mart's share with NULL (no open AUM
    account) as 0."""
    frame = population.loc[
        :,
        [
            "customer_id",
            "feature_log_month_average_aum",
            "feature_active_share_12m",
            "feature_digital_share_3m",
            "feature_monthly_transactions_3m",
            "feature_payroll_share_3m",
            "feature_aum_trend_3m",
        ],
    ].copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["feature_investment_account_share"] = (
        population["investment_account_share"].astype(float).fillna(0.0).to_numpy()
    )
    extra = holdings.assign(customer_id=holdings["customer_id"].astype(str))
    return frame.reset_index(drop=True).merge(
        extra[["customer_id", "product_depth"]], on="customer_id", how="left", validate="one_to_one"
    )
