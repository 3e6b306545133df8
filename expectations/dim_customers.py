"""Expectations for ``marts.dim_customers`` (one row per customer, no personal data)."""

from __future__ import annotations

import great_expectations as gx

from expectations.fct_customer_months import VALUE_TIERS

TABLE = "dim_customers"
SUITE = f"marts__{TABLE}"


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=SUITE)
    suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column="customer_id"))
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(
            column="value_tier", value_set=list(VALUE_TIERS)
        )
    )
    return suite
