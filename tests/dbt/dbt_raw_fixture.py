"""A tiny hand-made raw schema for dbt tests, built to the raw-schema contract.

Every entity of include/landing/entities.py becomes raw.<system>__<entity> with
its columns as VARCHAR plus the loader's metadata columns. Rows are given as
(business_date, {column: text}) pairs; the metadata is filled in the way the
loader fills it (file path from the landing layout, line numbers from 2).
The expected marts for these rows are worked out in test_dbt_project.py.
build_postgres_raw_fixture writes the same tables into PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import duckdb
from psycopg2.extensions import connection as PgConnection

from include.landing.entities import ENTITIES, Entity, landing_dir, landing_file_name
from loading.postgres_copy import copy_schemas
from scoring.warehouse_io import create_score_tables

METADATA_COLUMNS = (
    ("_source_file", "VARCHAR"),
    ("_source_line", "BIGINT"),
    ("_business_date", "DATE"),
    ("_file_checksum", "VARCHAR"),
    ("_run_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
)

Delivery = tuple[str, Mapping[str, str]]


def _c(customer_id: str, customer_type: str, city: str, onboarded: str, **extra: str) -> dict:
    row = {
        "customer_id": customer_id,
        "customer_type": customer_type,
        "full_name": f"Name of {customer_id}",
        "national_id": f"ID{customer_id}",
        "phone": "13800000000",
        "address": "1 Example Road",
        "city": city,
        "home_branch_id": "B01",
        "onboarded_date": onboarded,
    }
    return row | extra


def _a(account_id: str, customer_id: str, product: str, opened: str, **extra: str) -> dict:
    row = {
        "account_id": account_id,
        "customer_id": customer_id,
        "product_code": product,
        "branch_id": "B01",
        "currency": "CNY",
        "opened_date": opened,
        "status": "open",
    }
    return row | extra


def _b(account_id: str, day: str, balance: str) -> dict:
    return {"account_id": account_id, "balance_date": day, "balance": balance}


def _t(transaction_id: str, account_id: str, day: str, type_code: str, channel: str) -> dict:
    return {
        "transaction_id": transaction_id,
        "account_id": account_id,
        "transaction_date": day,
        "transaction_at": f"{day} 10:00:00",
        "transaction_type_code": type_code,
        "direction": "debit",
        "amount": "100.00",
        "channel": channel,
        "counterparty_type": "none",
    }


FIXTURE: dict[str, list[Delivery]] = {
    "core_banking__customers": [
        (
            "2024-01-10",
            _c("C001", "retail", "Beijing", "2024-01-10", birth_date="1985-06-30", gender="F"),
        ),
        ("2024-01-01", _c("C002", "corporate", "Shenzhen", "2024-01-01")),
        ("2024-02-15", _c("C003", "retail", "Wuhan", "2024-02-15", birth_date="1990-01-01")),
        # a later delivery of C001 (moved city) wins
        (
            "2024-02-01",
            _c("C001", "retail", "Shanghai", "2024-01-10", birth_date="1985-06-30", gender="F"),
        ),
    ],
    "core_banking__accounts": [
        ("2024-01-16", _a("A001", "C001", "CUR_RETAIL", "2024-01-16")),
        ("2024-01-16", _a("A002", "C001", "LOAN_PERSONAL", "2024-01-16")),
        ("2024-02-01", _a("A003", "C001", "TD_12M", "2024-02-01", term_months="12")),
        # closing of A003 arrives as a later delivery
        (
            "2024-02-20",
            _a(
                "A003",
                "C001",
                "TD_12M",
                "2024-02-01",
                term_months="12",
                status="closed",
                closed_date="2024-02-20",
            ),
        ),
        ("2024-01-01", _a("A010", "C002", "CUR_CORP", "2024-01-01")),
    ],
    "core_banking__balances": [
        ("2024-01-16", _b("A001", "2024-01-16", "310000.00")),
        ("2024-02-01", _b("A001", "2024-02-01", "600000.00")),
        ("2024-03-05", _b("A001", "2024-03-05", "900000.00")),
        ("2024-01-16", _b("A002", "2024-01-16", "100000.00")),
        ("2024-02-01", _b("A003", "2024-02-01", "290000.00")),
        ("2024-02-20", _b("A003", "2024-02-20", "0.00")),
        ("2024-02-25", _b("A003", "2024-02-25", "5000.00")),  # after closing: ignored
        ("2024-01-01", _b("A010", "2024-01-01", "10000000.00")),
        ("2024-02-15", _b("A010", "2024-02-15", "12000000.00")),
        ("2024-03-01", _b("A010", "2024-03-01", "8000000.00")),
        ("2024-03-02", _b("A010", "2024-03-01", "9000000.00")),  # re-delivery wins
    ],
    "core_banking__transactions": [
        ("2024-01-16", _t("T01", "A001", "2024-01-16", "deposit", "branch")),
        ("2024-01-20", _t("T02", "A001", "2024-01-20", "transfer_out", "mobile")),
        ("2024-01-31", _t("T03", "A001", "2024-01-31", "interest_credit", "system")),
        ("2024-02-03", _t("T04", "A001", "2024-02-03", "bill_payment", "online")),
        ("2024-02-10", _t("T05", "A001", "2024-02-10", "withdrawal", "atm")),
        ("2024-02-12", _t("T06", "A001", "2024-02-12", "merchant_payment", "pos")),
        ("2024-02-13", _t("T06", "A001", "2024-02-12", "merchant_payment", "pos")),  # late repeat
        ("2024-02-25", _t("T07", "A001", "2024-02-25", "salary_credit", "system")),
        ("2024-02-28", _t("T08", "A001", "2024-02-28", "fee_charge", "system")),
        ("2024-03-09", _t("T09", "A001", "2024-03-09", "deposit", "mobile")),
        ("2024-03-11", _t("T10", "A001", "2024-03-11", "deposit", "mobile")),  # after as-of
        ("2024-02-05", _t("T11", "A010", "2024-02-05", "transfer_out", "branch")),
        ("2024-02-06", _t("T12", "A010", "2024-02-06", "transfer_out", "branch")),
        ("2024-02-07", _t("T13", "A010", "2024-02-07", "transfer_out", "branch")),
        ("2024-02-07", _t("T99", "A999", "2024-02-07", "deposit", "online")),  # orphan: warn
    ],
    "loans__repayments": [
        (
            "2024-02-16",
            {
                "repayment_id": "R001",
                "account_id": "A002",
                "due_date": "2024-02-16",
                "paid_date": "2024-02-16",
                "amount_due": "5000.00",
                "amount_paid": "5000.00",
                "days_past_due": "0",
            },
        ),
    ],
    "crm__complaints": [
        (
            "2024-02-20",
            {
                "complaint_id": "K001",
                "customer_id": "C001",
                "complaint_date": "2024-02-20",
                "category": "rates",
                "channel": "phone",
                "severity": "low",
            },
        ),
    ],
    "crm__campaign_contacts": [
        (
            "2024-01-20",
            {
                "contact_id": "CC001",
                "customer_id": "C001",
                "campaign_id": "CAMP01",
                "contact_date": "2024-01-20",
                "channel": "sms",
                "response": "accepted",
            },
        ),
    ],
    "reference__products": [
        (
            "2024-01-01",
            {
                "product_code": code,
                "product_name": code,
                "product_category": category,
                "customer_type": customer_type,
            },
        )
        for code, category, customer_type in (
            ("CUR_RETAIL", "current_account", "retail"),
            ("LOAN_PERSONAL", "loan", "retail"),
            ("TD_12M", "time_deposit", "retail"),
            ("CUR_CORP", "current_account", "corporate"),
        )
    ],
    "reference__branches": [
        (
            "2024-01-01",
            {"branch_id": "B01", "branch_name": "Main", "city": "Beijing", "region": "North"},
        ),
    ],
    "reference__transaction_types": [
        ("2024-01-01", {"transaction_type_code": code, "description": code})
        for code in (
            "deposit",
            "transfer_out",
            "interest_credit",
            "bill_payment",
            "withdrawal",
            "merchant_payment",
            "salary_credit",
            "fee_charge",
        )
    ],
    "reference__campaigns": [
        (
            "2024-01-01",
            {
                "campaign_id": "CAMP01",
                "campaign_name": "Spring deposits",
                "campaign_type": "deposit_push",
                "start_date": "2024-01-01",
                "end_date": "2024-03-31",
            },
        ),
    ],
}


def create_raw_table(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Create raw.<system>__<entity>: entity columns as VARCHAR plus metadata."""
    columns = [f'"{name}" VARCHAR' for name in entity.column_names]
    columns += [f"{name} {sql_type}" for name, sql_type in METADATA_COLUMNS]
    con.execute(f"create table raw.{entity.raw_table} ({', '.join(columns)})")


def insert_deliveries(
    con: duckdb.DuckDBPyConnection, entity: Entity, deliveries: Iterable[Delivery]
) -> None:
    """Insert rows the way the loader would, one file per (entity, business date)."""
    lines: dict[str, int] = {}
    for business_date, values in deliveries:
        unknown = set(values) - set(entity.column_names)
        if unknown:
            raise ValueError(f"{entity.raw_table}: unknown fixture columns {sorted(unknown)}")
        folder = landing_dir(entity.system, entity.name, business_date)
        source_file = f"{folder}/{landing_file_name(entity.name, business_date)}"
        lines[source_file] = lines.get(source_file, 1) + 1
        row = [values.get(name) or None for name in entity.column_names]
        row += [
            source_file,
            lines[source_file],
            business_date,
            "0" * 64,
            "fixture",
            f"{business_date} 23:00:00",
        ]
        placeholders = ", ".join("?" for _ in row)
        con.execute(f"insert into raw.{entity.raw_table} values ({placeholders})", row)


def build_raw_fixture(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw table of the landing contract, the fixture rows and empty scores."""
    con.execute("create schema if not exists raw")
    for entity in ENTITIES:
        create_raw_table(con, entity)
        insert_deliveries(con, entity, FIXTURE.get(entity.raw_table, []))
    con.execute(
        "create table raw._load_registry (file_path varchar, entity varchar, business_date date,"
        " file_checksum varchar, status varchar, rows_landed bigint, rows_loaded bigint,"
        " rows_quarantined bigint, run_id varchar, loaded_at timestamp, message varchar)"
    )
    con.execute(
        "create table raw._quarantine (run_id varchar, entity varchar, source_file varchar,"
        " source_line bigint, raw_row varchar, rule varchar, reason varchar,"
        " quarantined_at timestamp)"
    )
    create_score_tables(con)


def build_postgres_raw_fixture(pg: PgConnection) -> None:
    """The same raw tables, rows and empty scores tables in PostgreSQL: built in an
    in-memory DuckDB and shipped the way a PostgreSQL deployment ships loaded rows."""
    with duckdb.connect() as con:
        build_raw_fixture(con)
        copy_schemas(con, pg, ["raw", "scores"])
