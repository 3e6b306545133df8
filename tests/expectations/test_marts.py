"""Mart validation: passes on a sound mart, catches broken ones, records and reports results."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from expectations.marts import MartValidationError, validate_marts
from include.config import Settings, load_settings

GOOD_MONTHS = """
create schema if not exists marts;
create or replace table marts.fct_customer_months as
select * from (values
    ('C1', date '2025-01-01', 'retail', 600000.0, 3, true, 'mid_value'),
    ('C1', date '2025-02-01', 'retail', 0.0, 2, false, null),
    ('C2', date '2025-01-01', 'retail', 3000000.0, 5, true, 'high_net_worth')
) as t(customer_id, month_start_date, customer_type, month_average_aum,
       customer_initiated_transaction_count, is_active, value_tier);
create or replace table marts.dim_customers as
select * from (values ('C1', 'retail', 'Shanghai', 'mid_value'), ('C2', 'retail', 'Beijing', null))
    as t(customer_id, customer_type, city, value_tier);
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = load_settings({"BANK_DATA_DIR": str(tmp_path)})
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(GOOD_MONTHS)
    return settings


def execute(settings: Settings, sql: str) -> None:
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(sql)


def test_sound_marts_pass_and_results_are_recorded(settings: Settings) -> None:
    result = validate_marts(settings, "run-1")

    assert set(result["suites"]) == {
        "marts__fct_customer_months", "marts__dim_customers", "warehouse__no_personal_data",
    }  # fmt: skip
    assert all(suite["success"] for suite in result["suites"].values())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select suite, success, evaluated, failed from audit.validation_runs order by suite"
        ).fetchall()
    assert rows == [
        ("marts__dim_customers", True, 3, 0),
        ("marts__fct_customer_months", True, 7, 0),
        ("warehouse__no_personal_data", True, 1, 0),
    ]
    report = json.loads(
        (settings.reports_path / "run-1" / "marts__fct_customer_months.json").read_text()
    )
    assert report["success"] is True


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (  # the grain is broken: a customer-month twice
            (
                "insert into marts.fct_customer_months values "
                "('C1', date '2025-01-01', 'retail', 1.0, 3, true, 'mass')"
            ),
            "expect_compound_columns_to_be_unique(customer_id, month_start_date): 2 unexpected",
        ),
        (  # active with only 2 transactions
            "update marts.fct_customer_months set is_active = true where value_tier is null",
            "expect_column_pair_values_to_be_equal(is_active, is_active__expected): 1 unexpected",
        ),
        (
            "update marts.fct_customer_months set month_average_aum = -5 where customer_id = 'C2'",
            "expect_column_values_to_be_between(month_average_aum): 1 unexpected",
        ),
        (
            "update marts.dim_customers set value_tier = 'gold' where customer_id = 'C2'",
            "expect_column_values_to_be_in_set(value_tier): 1 unexpected, e.g. ['gold']",
        ),
        (
            "create schema staging; create view staging.stg_people as select 'x' as National_ID",
            "personal data outside the restricted schema: staging.stg_people.national_id",
        ),
    ],
)
def test_a_broken_mart_is_caught(settings: Settings, breakage: str, expected: str) -> None:
    execute(settings, breakage)
    with pytest.raises(MartValidationError) as error:
        validate_marts(settings, "run-1")
    assert expected in str(error.value)


def test_personal_data_may_live_in_the_restricted_schema(settings: Settings) -> None:
    execute(settings, "create schema restricted; create table restricted.p as select 'x' as phone")
    validate_marts(settings, "run-1")


def test_missing_marts_fail_unless_allowed(settings: Settings) -> None:
    execute(settings, "drop table marts.dim_customers")
    with pytest.raises(MartValidationError, match="missing marts: marts.dim_customers"):
        validate_marts(settings, "run-1")
    result = validate_marts(settings, "run-2", allow_missing=True)
    assert result["missing"] == ["marts.dim_customers"]
