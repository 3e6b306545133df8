"""Expectations for ``marts.fct_customer_months`` (customer x calendar month)."""

from __future__ import annotations

import great_expectations as gx

TABLE = "fct_customer_months"
SUITE = f"marts__{TABLE}"
VALUE_TIERS = ("high_net_worth", "mid_value", "mass")
# docs/metrics.md "Active in a month": >= 3 customer-initiated transactions (a dbt var).
DEFAULT_ACTIVE_THRESHOLD = 3


def checked_query(schema: str, active_threshold: int = DEFAULT_ACTIVE_THRESHOLD) -> str:
    """The mart with the derived columns the suite compares against (what its flags should
    be), computed in the warehouse: GX validates the query there, nothing is read into Python."""
    return f"""
        select
            *,
            customer_initiated_transaction_count >= {int(active_threshold)} as is_active__expected,
            coalesce(extract(day from month_start_date) = 1, true)
                as month_start_date__is_first_of_month
        from {schema}.{TABLE}
    """


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
