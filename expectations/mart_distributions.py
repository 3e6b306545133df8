"""Plausibility of the marts as a whole: tier shares, churn level, and row counts that
reconcile with the layers beneath.

Two checked datasets, each built by SQL into a small frame:

- ``distribution_frame``: one row per customer type for the latest complete month
  of ``marts.fct_customer_months`` (shares), plus the mean churn probability of
  ``marts.mart_customer_scores`` when that mart exists (it is built after scoring).
- ``reconciliation_frame``: one row per count comparison (mart or staging rows
  against the distinct keys loaded into raw).

Bounds are deliberately wide so a small sample passes; a share is only checked
from ``MIN_CUSTOMERS_FOR_SHARES`` customers on (below that it is left empty and
GX skips it):

| check | bound |
|---|---|
| share of tiered customers that are high net worth | 0 - 20 % |
| at least one mass customer | when more than 50 tiered customers |
| mean churn probability | 0 - 50 % |
"""

from __future__ import annotations

import great_expectations as gx
import pandas as pd

from include.warehouse import Session

DISTRIBUTION_SUITE = "marts__distributions"
RECONCILIATION_SUITE = "marts__reconciliation"
MIN_CUSTOMERS_FOR_SHARES = 50
MAX_HIGH_NET_WORTH_SHARE = 0.20
MAX_MEAN_CHURN_PROBABILITY = 0.50

# (check, rows of the upper layer, rows it must equal in the layer beneath, tables needed)
COUNT_CHECKS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        # a customer exists from its onboarding or its first account's month, up to the
        # as-of date (a re-run of a past date with later files loaded lists fewer)
        "dim_customers = customers loaded into raw, as of the run's date",
        "select count(*) from marts.dim_customers",
        (
            "select count(distinct customer_id) from raw.core_banking__customers "
            "where cast(onboarded_date as date) <= "
            "(select as_of_date from intermediate.int_reporting_window) "
            "or customer_id in (select customer_id from marts.fct_customer_months)"
        ),
        (
            "marts.dim_customers",
            "raw.core_banking__customers",
            "intermediate.int_reporting_window",
            "marts.fct_customer_months",
        ),
    ),
    (
        "stg customers = customers loaded into raw",
        "select count(*) from staging.stg_core_banking__customers",
        "select count(distinct customer_id) from raw.core_banking__customers",
        ("staging.stg_core_banking__customers", "raw.core_banking__customers"),
    ),
    (
        "stg accounts = accounts loaded into raw",
        "select count(*) from staging.stg_core_banking__accounts",
        "select count(distinct account_id) from raw.core_banking__accounts",
        ("staging.stg_core_banking__accounts", "raw.core_banking__accounts"),
    ),
    (
        "fct_customer_months customers that are in dim_customers = all its customers",
        (
            "select count(distinct customer_id) from marts.fct_customer_months "
            "where customer_id in (select customer_id from marts.dim_customers)"
        ),
        "select count(distinct customer_id) from marts.fct_customer_months",
        ("marts.fct_customer_months", "marts.dim_customers"),
    ),
)


def existing_tables(con: Session) -> set[str]:
    rows = con.fetchall(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = current_database()"
    )
    return {name for (name,) in rows}


def reconciliation_frame(con: Session) -> pd.DataFrame:
    """One row per count comparison whose tables exist."""
    tables = existing_tables(con)
    rows = [
        {
            "check": name,
            "upper_rows": con.fetchall(upper)[0][0],
            "lower_rows": con.fetchall(lower)[0][0],
        }
        for name, upper, lower, needs in COUNT_CHECKS
        if set(needs) <= tables
    ]
    return pd.DataFrame(rows, columns=["check", "upper_rows", "lower_rows"])


def distribution_frame(con: Session) -> pd.DataFrame:
    """Per customer type, the latest complete month's tier mix (shares empty when too few)."""
    tables = existing_tables(con)
    # A month still in progress has partial averages; judge the latest complete one.
    complete = (
        "where is_complete_month"
        if "is_complete_month" in _columns(con, "marts", "fct_customer_months")
        else ""
    )
    frame = con.frame(
        f"""
        with months as (select * from marts.fct_customer_months where value_tier is not null),
        latest as (select max(month_start_date) as month_start_date from months {complete})
        select customer_type,
               count(*) as customers,
               count(*) filter (where value_tier = 'high_net_worth') as high_net_worth_customers,
               count(*) filter (where value_tier = 'mass') as mass_customers
        from months join latest using (month_start_date)
        group by customer_type order by customer_type
        """
    )
    enough = frame["customers"] >= MIN_CUSTOMERS_FOR_SHARES
    frame["high_net_worth_share"] = (frame["high_net_worth_customers"] / frame["customers"]).where(
        enough
    )
    frame["has_mass_customers"] = (frame["mass_customers"] > 0) | ~(
        frame["customers"] > MIN_CUSTOMERS_FOR_SHARES
    )
    churn = None
    if "marts.mart_customer_scores" in tables:
        [(count, mean)] = con.fetchall(
            "select count(*), avg(churn_probability) from marts.mart_customer_scores"
        )
        churn = mean if count >= MIN_CUSTOMERS_FOR_SHARES else None
    frame["mean_churn_probability"] = churn
    frame["mean_churn_probability"] = frame["mean_churn_probability"].astype("float64")
    return frame


def _columns(con: Session, schema: str, table: str) -> set[str]:
    rows = con.fetchall(
        "select column_name from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    )
    return {name for (name,) in rows}


def build_distribution_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=DISTRIBUTION_SUITE)
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="high_net_worth_share", min_value=0, max_value=MAX_HIGH_NET_WORTH_SHARE
        )
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeInSet(column="has_mass_customers", value_set=[True])
    )
    suite.add_expectation(
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="mean_churn_probability", min_value=0, max_value=MAX_MEAN_CHURN_PROBABILITY
        )
    )
    return suite


def build_reconciliation_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name=RECONCILIATION_SUITE)
    suite.add_expectation(
        gx.expectations.ExpectColumnPairValuesToBeEqual(
            column_A="upper_rows", column_B="lower_rows"
        )
    )
    return suite
