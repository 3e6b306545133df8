"""The landing suites: built from the contract, and they flag exactly the rows that break it."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from expectations import landing
from expectations.runner import SuiteRun, gx_context
from include.landing.entities import ENTITIES, ENTITIES_BY_TABLE, REFERENCES, Entity, load_order
from loading.staging import WORK_SCHEMA

ACCOUNTS = ENTITIES_BY_TABLE["core_banking__accounts"]


@pytest.fixture(scope="module")
def context():
    return gx_context()


def check(
    context, entity: Entity, rows: pd.DataFrame, known: dict[str, list[str]]
) -> tuple[list[SuiteRun], pd.DataFrame]:
    """Stage ``rows`` (row i gets ``_row_id`` i) in a scratch warehouse and run the suites there.

    ``known`` maps a referencing column to the parent keys in raw. Returns the
    runs and the failing rows (``rule``, ``reason``) indexed by ``_row_id``.
    """
    con = duckdb.connect()
    con.execute("create schema raw")
    for ref in REFERENCES.get(entity.raw_table, ()):
        con.execute(f"create table raw.{ref.parent_table} ({ref.parent_column} varchar)")
        for key in known.get(ref.column, []):
            con.execute(f"insert into raw.{ref.parent_table} values (?)", [key])
    batch = f"{WORK_SCHEMA}.staged"
    columns = ", ".join(f"{name} varchar" for name in entity.column_names)
    con.execute(f"attach ':memory:' as {WORK_SCHEMA}")
    con.execute(
        f"create table {batch} ({columns}, _row_id bigint, _file_number integer, "
        "_source_line bigint, _source_file varchar, _business_date date)"
    )
    staged = rows.assign(
        _row_id=range(len(rows)), _file_number=0, _source_line=range(2, len(rows) + 2)
    )
    con.register("staged", staged)
    con.execute(f"insert into {batch} by name select * from staged")
    check = landing.run_landing_suites(con, context, entity, batch, WORK_SCHEMA, "raw")
    table = con.execute(f"select * from {check.failures} order by _row_id").df()
    return check.runs, table.set_index("_row_id")


def account(**values: str | None) -> dict:
    row = {name: None for name in ACCOUNTS.column_names}
    row.update(
        account_id="A1",
        customer_id="C1",
        product_code="TD_12M",
        branch_id="B1",
        currency="CNY",
        opened_date="2025-01-01",
        status="open",
    )
    row.update(values)
    return row


def test_every_entity_has_a_suite_that_covers_its_contract(context) -> None:
    for entity in ENTITIES:
        suite = landing.build_suite(entity)
        types = [e.expectation_type for e in suite.expectations]
        assert types.count("expect_column_values_to_not_be_null") == sum(
            c.required for c in entity.columns
        )
        key_suite = landing.build_key_suite(entity)
        [key_check] = key_suite.expectations
        assert key_check.column_list == [*entity.key, "_source_file"]
        refs = REFERENCES.get(entity.raw_table, ())
        known_checks = [
            e for e in suite.expectations if str(getattr(e, "column", "")).endswith("__is_known")
        ]
        assert len(known_checks) == len(refs)


def test_load_order_puts_parents_first() -> None:
    order = [entity.raw_table for entity in load_order()]
    assert order[:2] == ["core_banking__customers", "core_banking__accounts"]
    assert sorted(order) == sorted(ENTITIES_BY_TABLE)


def test_suite_flags_exactly_the_rows_that_break_the_contract(context) -> None:
    rows = pd.DataFrame(
        [
            account(),  # 0 good
            account(account_id="A2", opened_date="2025-02-30"),  # 1 impossible date
            account(account_id="A3", term_months="12.5"),  # 2 not an integer
            account(account_id="A4", interest_rate="-0.01"),  # 3 below minimum
            account(account_id="A5", opened_date="2025-01-03"),  # 4 after the business date
            account(account_id="A6", maturity_date="2030-01-01"),  # 5 future maturity is fine
            account(account_id="A7", status="frozen"),  # 6 not an allowed value
            account(account_id="A8", customer_id="C404"),  # 7 unknown customer
            account(account_id="A9", branch_id=None),  # 8 required value missing
            account(account_id="A10"),  # 9 + 10 same key twice in one file
            account(account_id="A10"),
            account(account_id="A1", closed_date="2025-01-02", status="closed"),  # 11 other file
            account(account_id="A11"),  # 12 good; 13 a broken copy of it: only 13 fails
            account(account_id="A11", currency="USD"),
        ],
        dtype="str",
    )
    rows["_source_file"] = ["f1.csv"] * 11 + ["f2.csv"] * 3
    rows["_business_date"] = pd.to_datetime(["2025-01-02"] * 14)
    runs, failures = check(context, ACCOUNTS, rows, {"customer_id": ["C1"]})

    assert [run.suite for run in runs] == [
        "landing__core_banking__accounts",
        "landing__core_banking__accounts__keys",
    ]
    assert failures.index.tolist() == [1, 2, 3, 4, 6, 7, 8, 9, 10, 13]
    rules = failures["rule"]
    assert rules[1] == "expect_column_values_to_be_in_set(opened_date__is_valid)"
    assert rules[4] == (
        "expect_column_pair_values_a_to_be_greater_than_b(_business_date, opened_date__value)"
    )
    assert rules[9] == "expect_compound_columns_to_be_unique(account_id, _source_file)"
    assert rules[13] == "expect_column_values_to_be_in_set(currency)"
    reasons = failures["reason"]
    assert reasons[2] == "term_months '12.5' is not a valid integer"
    assert reasons[3] == "interest_rate -0.01 is below the minimum 0"
    assert reasons[4] == "opened_date 2025-01-03 is after the file's business date 2025-01-02"
    assert reasons[6] == "status 'frozen' is not one of open, closed"
    assert reasons[8] == "branch_id is missing but required"
    assert reasons[9] == "account_id A10 appears more than once in f1.csv"


def test_timestamps_may_fall_anywhere_in_the_business_day(context) -> None:
    entity = ENTITIES_BY_TABLE["core_banking__transactions"]
    base = {name: "x" for name in entity.column_names} | {
        "transaction_id": "T", "account_id": "A1", "transaction_date": "2025-01-02",
        "direction": "credit", "amount": "1", "channel": "mobile", "counterparty_type": "none",
    }  # fmt: skip
    stamps = ["2025-01-02 23:59:59", "2025-01-03 00:00:00", "2025-01-02 24:00:00"]
    rows = pd.DataFrame(
        [base | {"transaction_id": f"T{i}", "transaction_at": s} for i, s in enumerate(stamps)],
        dtype="str",
    )
    rows["_source_file"] = "f.csv"
    rows["_business_date"] = pd.Timestamp("2025-01-02")
    _, failures = check(context, entity, rows, {"account_id": ["A1"]})
    assert failures.index.tolist() == [1, 2]
    rule = failures.loc[2, "rule"]
    assert rule == "expect_column_values_to_be_in_set(transaction_at__is_valid)"


@pytest.mark.parametrize(
    ("values", "passes", "rule", "reason"),
    [
        ({"principal_amount": "9999999999999999.99"}, True, "", ""),  # the largest decimal(18, 2)
        ({"principal_amount": "00012.500"}, True, "", ""),  # leading and trailing zeros
        ({"term_months": "2147483647", "interest_rate": "1"}, True, "", ""),  # type and range ends
        (
            {"principal_amount": "10000000000000000.00"},
            False,
            "principal_amount__fits_type",
            (
                "principal_amount '10000000000000000.00' is too large for decimal(18, 2) "
                "(at most 16 digits before the decimal point)"
            ),
        ),
        (
            {"credit_limit": "1.005"},
            False,
            "credit_limit__fits_scale",
            "credit_limit '1.005' has more than 2 decimal places: decimal(18, 2) would round it",
        ),
        (
            {"interest_rate": "0.0123456"},
            False,
            "interest_rate__fits_scale",
            "interest_rate '0.0123456' has more than 6 decimal places: decimal(9, 6) would round it",
        ),
        (
            {"term_months": "2147483648"},
            False,
            "term_months__fits_type",
            "term_months '2147483648' is outside the range of integer (-2147483648 to 2147483647)",
        ),
        (
            {"interest_rate": "1.0001"},
            False,
            "expect_column_values_to_be_between(interest_rate__value)",
            "interest_rate 1.0001 is above the maximum 1",
        ),
    ],
)
def test_numbers_must_fit_the_type_staging_casts_them_to(
    context, values: dict, passes: bool, rule: str, reason: str
) -> None:
    rows = pd.DataFrame([account(**values)], dtype="str")
    rows["_source_file"] = "f.csv"
    rows["_business_date"] = pd.Timestamp("2025-01-02")
    _, failures = check(context, ACCOUNTS, rows, {"customer_id": ["C1"]})
    if passes:
        assert failures.empty
    else:
        assert rule in failures.loc[0, "rule"] and failures.loc[0, "reason"] == reason


def test_text_holds_any_character_but_control_characters(context) -> None:
    """Text loads verbatim, tab, line breaks and every printable character included; a
    control character (C0 but tab, LF, CR; DEL; C1) quarantines the row, named by code
    point and place, never quoting the value (it may be personal data)."""
    entity = ENTITIES_BY_TABLE["core_banking__transactions"]
    base = {name: None for name in entity.column_names} | {
        "transaction_id": "T", "account_id": "A1", "transaction_date": "2025-01-02",
        "transaction_at": "2025-01-02 10:00:00", "transaction_type_code": "deposit",
        "direction": "credit", "amount": "1", "channel": "mobile", "counterparty_type": "none",
    }  # fmt: skip
    names = [
        "tab\there", "line\nbreak\r\nand\rreturn", "'; drop table x; --", "{{ var('x') }}",
        "😀 בנק مصرف 中国", "Zoe\u0308\u202e\u200b\u2028", "<script>alert(1)</script>",
        "a\x01b", "\x1b[31m", "x\x7f", "n\x85l", "p\x0cq",
    ]  # fmt: skip
    rows = pd.DataFrame(
        [base | {"transaction_id": f"T{i}", "counterparty_name": n} for i, n in enumerate(names)],
        dtype="str",
    )
    rows["_source_file"] = "f.csv"
    rows["_business_date"] = pd.Timestamp("2025-01-02")
    _, failures = check(context, entity, rows, {"account_id": ["A1"]})
    assert failures.index.tolist() == [7, 8, 9, 10, 11]
    assert set(failures["rule"]) == {
        "expect_column_values_to_be_in_set(counterparty_name__is_text)"
    }
    suffix = ": text may hold no control character but tab, line feed and carriage return"
    assert failures["reason"].tolist() == [
        f"counterparty_name holds the control character {where}{suffix}"
        for where in (
            "U+0001 at character 2",
            "U+001B at character 1",
            "U+007F at character 2",
            "U+0085 at character 2",
            "U+000C at character 2",
        )
    ]
