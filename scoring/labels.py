"""A first churn label for training, computed from ``marts.fct_customer_months``.

PROVISIONAL: METRICS.md defines the modelling label as "closed, value-churns or
becomes dormant (no customer-initiated transaction for 180 days) in M+1..M+3".
Until the warehouse computes that label itself, this module approximates it
from the monthly mart. As of month end M a customer churns when, in any of the
months M+1..M+3 (``horizon``):

- value churn: its month-average AUM is below 50% (``value_drop_ratio``) of the
  mean of the three months before that month, and that mean was >= 10,000
  (``min_prior_aum``); the three previous months must all lie on or after the
  customer's first mart row, otherwise there is no value churn;
- closed: it has no open account (a month without a mart row counts as closed);
- dormant: it made zero customer-initiated transactions in all of M+1..M+3.

Only month ends M with ``horizon`` months of data after them are labelled.
"""

from __future__ import annotations

import pandas as pd

from scoring.features import dense_customer_months

VALUE_DROP_RATIO = 0.5
MIN_PRIOR_AUM = 10_000.0
HORIZON_MONTHS = 3

LABEL_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "month_start_date",
    "churned",
    "value_churn",
    "closed",
    "dormant",
)


def value_churn_flags(
    dense: pd.DataFrame,
    value_drop_ratio: float = VALUE_DROP_RATIO,
    min_prior_aum: float = MIN_PRIOR_AUM,
) -> pd.Series:
    """Per dense customer-month: did month-average AUM fall below ``value_drop_ratio``
    of the mean of the three previous months (which must be >= ``min_prior_aum``)?"""
    aum = dense.groupby("customer_id")["month_average_aum"]
    prior_mean = (aum.shift(1) + aum.shift(2) + aum.shift(3)) / 3.0
    return (
        prior_mean.notna()
        & (prior_mean >= min_prior_aum)
        & (dense["month_average_aum"] < value_drop_ratio * prior_mean)
    )


def churn_labels(
    months: pd.DataFrame,
    horizon: int = HORIZON_MONTHS,
    value_drop_ratio: float = VALUE_DROP_RATIO,
    min_prior_aum: float = MIN_PRIOR_AUM,
) -> pd.DataFrame:
    """The label of every customer-month that has a mart row and ``horizon`` months
    of data after it, with the three reasons as separate flags (``LABEL_COLUMNS``)."""
    dense = dense_customer_months(months)
    customer = dense["customer_id"]
    # as floats, so that a shift past the last month gives NaN, not an object column
    value_churn = value_churn_flags(dense, value_drop_ratio, min_prior_aum).astype(float)
    closed = (~dense["has_open_account"]).astype(float)
    transactions = dense["customer_initiated_transaction_count"]

    any_value_churn = pd.Series(False, index=dense.index)
    any_closed = pd.Series(False, index=dense.index)
    future_transactions = pd.Series(0, index=dense.index, dtype="int64")
    # the dense grid runs to the last month of the input for every customer, so a
    # shift of -step is missing exactly when month M+step is not in the data
    labelled = pd.Series(True, index=dense.index)
    for step in range(1, horizon + 1):
        future_value_churn = value_churn.groupby(customer).shift(-step)
        labelled &= future_value_churn.notna()
        any_value_churn |= future_value_churn.fillna(0.0).astype(bool)
        any_closed |= closed.groupby(customer).shift(-step).fillna(0.0).astype(bool)
        future_transactions += transactions.groupby(customer).shift(-step).fillna(0).astype("int64")

    dormant = future_transactions.eq(0)
    labels = pd.DataFrame(
        {
            "customer_id": customer,
            "month_start_date": dense["month_start_date"],
            "churned": any_value_churn | any_closed | dormant,
            "value_churn": any_value_churn,
            "closed": any_closed,
            "dormant": dormant,
        }
    )
    return labels.loc[labelled & dense["has_row"]].reset_index(drop=True)
