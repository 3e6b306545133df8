"""Mart validation: passes on a sound mart, catches broken ones, records and reports results."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import psycopg2
import pytest

from expectations.marts import MartValidationError, validate_marts
from include.config import Settings, load_settings
from include.warehouse import connect_postgres
from tests.postgres_server import connect_kwargs, create_database

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
        "marts__reconciliation", "marts__distributions",
    }  # fmt: skip
    assert all(suite["success"] for suite in result["suites"].values())
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select suite, success, evaluated, failed from audit.validation_runs order by suite"
        ).fetchall()
    assert rows == [
        ("marts__dim_customers", True, 3, 0),
        ("marts__distributions", True, 3, 0),
        ("marts__fct_customer_months", True, 7, 0),
        ("marts__reconciliation", True, 1, 0),
        ("warehouse__no_personal_data", True, 1, 0),
    ]
    assert (settings.reports_path / "run-1" / "data_docs" / "index.html").exists()
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


def many_customers(settings: Settings, tiers: dict[str, int]) -> None:
    """Replace the marts with one complete month of customers in the given tiers."""
    values = ", ".join(
        f"('C{tier}{i}', date '2025-01-01', 'retail', 1.0, 0, false, '{tier}')"
        for tier, count in tiers.items()
        for i in range(count)
    )
    execute(
        settings,
        "delete from marts.fct_customer_months; delete from marts.dim_customers; "
        f"insert into marts.fct_customer_months values {values}; "
        "insert into marts.dim_customers select distinct customer_id, customer_type, 'X', "
        "value_tier from marts.fct_customer_months",
    )


@pytest.mark.parametrize(
    ("tiers", "expected"),
    [
        ({"high_net_worth": 15, "mid_value": 15, "mass": 20}, "high_net_worth_share"),
        ({"high_net_worth": 1, "mid_value": 50}, "has_mass_customers"),
    ],
)
def test_implausible_tier_shares_are_caught(settings: Settings, tiers: dict, expected: str) -> None:
    many_customers(settings, tiers)
    with pytest.raises(MartValidationError, match=expected):
        validate_marts(settings, "run-1")


def test_plausible_tier_shares_pass(settings: Settings) -> None:
    many_customers(settings, {"high_net_worth": 5, "mid_value": 20, "mass": 35})
    validate_marts(settings, "run-1")


def test_implausible_churn_level_is_caught(settings: Settings) -> None:
    execute(
        settings,
        "create table marts.mart_customer_scores as "
        "select 'C' || i as customer_id, 0.9 as churn_probability from range(60) t(i)",
    )
    with pytest.raises(MartValidationError, match="mean_churn_probability"):
        validate_marts(settings, "run-1")


def test_mart_rows_reconcile_with_the_customers_loaded_into_raw(settings: Settings) -> None:
    # as of 2025-02-28: C4 onboarded later (a re-run of a past date) is not a customer yet
    execute(
        settings,
        "create schema raw; create table raw.core_banking__customers as "
        "select * from (values ('C1', '2024-12-01'), ('C2', '2025-01-05'), ('C2', '2025-01-05'),"
        " ('C4', '2025-03-10')) t(customer_id, onboarded_date);"
        "create schema intermediate; create table intermediate.int_reporting_window as "
        "select date '2024-01-01' as history_start_date, date '2025-02-28' as as_of_date",
    )
    validate_marts(settings, "run-1")  # C2 delivered twice is still one customer
    execute(settings, "insert into raw.core_banking__customers values ('C3', '2025-02-01')")
    with pytest.raises(MartValidationError) as error:
        validate_marts(settings, "run-2")
    assert (
        "counts do not reconcile: dim_customers = customers loaded into raw,"
        " as of the run's date: 2 vs 3"
    ) in str(error.value)


def test_missing_marts_fail_unless_allowed(settings: Settings) -> None:
    execute(settings, "drop table marts.dim_customers")
    with pytest.raises(MartValidationError, match="missing marts: marts.dim_customers"):
        validate_marts(settings, "run-1")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        assert con.execute(
            "select success from audit.validation_runs where suite = 'marts__dim_customers'"
        ).fetchall() == [(False,)]
    result = validate_marts(settings, "run-2", allow_missing=True)
    assert result["missing"] == ["marts.dim_customers"]


@pytest.fixture
def postgres_settings(tmp_path: Path, postgres_server: dict[str, str]) -> Settings:
    """The sound marts of GOOD_MONTHS in a PostgreSQL database of their own."""
    database = create_database(postgres_server, "mart_checks")
    with psycopg2.connect(**connect_kwargs(database)) as con, con.cursor() as cur:
        cur.execute(GOOD_MONTHS.replace("create or replace table", "create table"))
    return load_settings(
        {"BANK_DATA_DIR": str(tmp_path), "WAREHOUSE_TARGET": "postgres", **database}
    )


def test_gx_checks_the_postgresql_marts_in_the_database(postgres_settings: Settings) -> None:
    result = validate_marts(postgres_settings, "run-1")
    assert all(suite["success"] for suite in result["suites"].values()), result["suites"]

    with connect_postgres(postgres_settings.postgres) as con, con.cursor() as cur:
        cur.execute(
            "update marts.fct_customer_months set is_active = true where value_tier is null"
        )
    with pytest.raises(MartValidationError) as error:
        validate_marts(postgres_settings, "run-2")
    assert "expect_column_pair_values_to_be_equal(is_active, is_active__expected): 1" in str(
        error.value
    )
