"""Expectations for ``marts.fct_customer_months`` (customer x calendar month)."""

from __future__ import annotations

import great_expectations as gx
import pandas as pd

TABLE = "fct_customer_months"
SUITE = f"marts__{TABLE}"
VALUE_TIERS = ("high_net_worth", "mid_value", "mass")
# docs/metrics.md "Active in a month": >= 3 customer-initiated transactions (a dbt var).
DEFAULT_ACTIVE_THRESHOLD = 3


def prepare_frame(
    mart: pd.DataFrame, active_threshold: int = DEFAULT_ACTIVE_THRESHOLD
) -> pd.DataFrame:
    """Derived columns the suite compares against (what the mart's flags should be)."""
    frame = mart.copy()
    count = pd.to_numeric(frame["customer_initiated_transaction_count"])
    frame["is_active__expected"] = (count >= active_threshold).where(count.notna())
    month_start = pd.to_datetime(frame["month_start_date"])
    frame["month_start_date__is_first_of_month"] = (month_start.dt.day == 1) | month_start.isna()
    return frame


def build_suite() -> gx.ExpectationSuite:
    """Grain, tier values, non-negative AUM and an activity flag consistent with its count."""
    suite = gx.ExpectationSuite(name=SUITE)
    for column in ("customer_id", "month_start_date"):
        suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
    suite.add_expectation(
        gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=["customer_id", "month_start_date"]
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="month_start_date__is_first_of_month", value_set=[True]
        )
    )
    # NULL is allowed: no open account in the month means no tier.
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="value_tier", value_set=list(VALUE_TIERS)
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(column="month_average_aum", min_value=0)
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="is_active", column_B="is_active__expected", ignore_row_if="neither"
        )
    )
    return suite
