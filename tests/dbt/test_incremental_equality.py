"""Incremental daily runs give the same rows as a full refresh.

The hand-made raw fixture (dbt_raw_fixture.py) is delivered day by day, each
delivery loaded on its business date as the loader would, and after each day
`dbt run` builds the models incrementally for that as-of date, as the daily DAG
does. The last day also brings late rows for past months: a January
transaction and balance, a back-dated closing, an account that arrives after its
transaction (an orphan recovered), a customer whose type changed, a corrected
transaction. Then the same date runs again with nothing new, the warehouse is
copied and the copy rebuilt with `--full-refresh`; every incremental model and
every mart must hold the same rows, compared with EXCEPT ALL both ways. Then a
day with a new transaction runs, then a past date in the middle of a month is run
again with everything loaded (a re-run or backfill), and compared the same way with
a full refresh of that date.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from dbt_raw_fixture import FIXTURE, _a, _b, _c, _t, build_raw_fixture, insert_deliveries
from test_dbt_project import DbtProject

from include.landing.entities import ENTITIES

ENTITY_BY_TABLE = {entity.raw_table: entity for entity in ENTITIES}
# as-of dates of the daily runs (each loads every delivery dated up to it): a month's
# first day, a closing, the day after a re-delivery, the late rows
RUN_DATES = ["2024-01-16", "2024-02-01", "2024-02-20", "2024-03-01", "2024-03-05", "2024-03-12"]
LATE = "2024-03-12"  # the last run date: late rows for past months, then the comparison
NEXT = "2024-03-14"  # a day with only a new transaction, run after LATE
PAST = "2024-02-20"  # run again after NEXT: its month is partial again
LATE_DELIVERIES: dict[str, list[tuple[str, dict]]] = {
    "core_banking__transactions": [
        # a January transaction loaded in March
        (LATE, _t("T30", "A010", "2024-01-20", "transfer_out", "online")),
        # a correction of a February transaction
        (LATE, _t("T05", "A001", "2024-02-10", "withdrawal", "atm") | {"amount": "250.00"}),
    ],
    "core_banking__balances": [
        # a January balance loaded in March splits an old interval
        (LATE, _b("A001", "2024-01-25", "400000.00")),
    ],
    "core_banking__accounts": [
        # a back-dated closing of the loan
        (LATE, _a("A002", "C001", "LOAN_PERSONAL", "2024-01-16", closed_date="2024-03-01")),
        # the account of the orphan transaction T99 (2024-02-07) arrives
        (LATE, _a("A999", "C003", "CUR_RETAIL", "2024-02-07")),
    ],
    "core_banking__customers": [
        # C002 changes customer type: its tiers follow in every month
        (LATE, _c("C002", "retail", "Shenzhen", "2024-01-01")),
    ],
}


def deliveries_by_date() -> dict[str, dict[str, list[tuple[str, dict]]]]:
    """{business date: {raw table: deliveries}} of the fixture and the late rows."""
    by_date: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for source in (FIXTURE, LATE_DELIVERIES):
        for table, deliveries in source.items():
            for business_date, values in deliveries:
                by_date[business_date][table].append((business_date, values))
    return by_date


def compared_relations(project: DbtProject) -> list[str]:
    """The tables the daily run keeps: incremental intermediates and every mart."""
    rows = project.query(
        "select table_schema || '.' || table_name from information_schema.tables"
        " where table_type = 'BASE TABLE' and table_schema in ('intermediate', 'marts')"
        " order by 1"
    )
    return [row[0] for row in rows]


def differences(incremental: Path, full_refresh: Path, relation: str) -> tuple[int, int]:
    """Rows only in the incremental build, rows only in the full refresh."""
    with duckdb.connect() as con:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        con.execute(f"attach '{full_refresh}' as full_refresh (read_only)")
        only_incremental = con.execute(
            f"select count(*) from (select * from incremental.{relation}"
            f" except all select * from full_refresh.{relation})"
        ).fetchone()[0]
        only_full_refresh = con.execute(
            f"select count(*) from (select * from full_refresh.{relation}"
            f" except all select * from incremental.{relation})"
        ).fetchone()[0]
    return only_incremental, only_full_refresh


def late_row_effects(project: DbtProject) -> dict[str, list[tuple]]:
    return {
        "c002_january_type": project.query(
            "select customer_type from marts.fct_customer_months"
            " where customer_id = 'C002' and month_start_date = date '2024-01-01'"
        ),
        "t99_customer": project.query(
            "select customer_id from marts.fct_transactions where transaction_id = 'T99'"
        ),
        "a001_january_intervals": project.query(
            "select cast(valid_from_date as varchar), cast(valid_to_date as varchar)"
            " from intermediate.int_account_balance_intervals"
            " where account_id = 'A001' and valid_from_date < date '2024-02-01'"
            " order by valid_from_date"
        ),
        "c002_january_transactions": project.query(
            "select customer_initiated_transaction_count from marts.fct_customer_months"
            " where customer_id = 'C002' and month_start_date = date '2024-01-01'"
        ),
    }


def run(project: DbtProject, as_of_date: str, *extra: str) -> None:
    result = project.invoke(
        "run", "--exclude", "tag:needs_scores", "--vars", f"{{as_of_date: {as_of_date}}}", *extra
    )
    assert result.returncode == 0, result.stdout[-5000:]


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    root = tmp_path_factory.mktemp("dbt_incremental_equality")
    project = DbtProject(root / "warehouse.duckdb", root / "target")
    with duckdb.connect(str(project.warehouse)) as con:
        build_raw_fixture(con)
        for entity in ENTITIES:
            con.execute(f"delete from raw.{entity.raw_table}")
    seeded = project.invoke("seed")
    assert seeded.returncode == 0, seeded.stdout[-5000:]
    pending = deliveries_by_date()
    for as_of_date in RUN_DATES:
        with duckdb.connect(str(project.warehouse)) as con:
            for business_date in sorted(date for date in pending if date <= as_of_date):
                for table, deliveries in pending.pop(business_date).items():
                    insert_deliveries(con, ENTITY_BY_TABLE[table], deliveries)
        run(project, as_of_date)
    # the same date again, nothing new loaded: must change nothing either
    run(project, LATE)
    copy = DbtProject(root / "full_refresh.duckdb", root / "target_full")
    shutil.copy(project.warehouse, copy.warehouse)
    run(copy, LATE, "--full-refresh")
    relations = compared_relations(project)
    late = late_row_effects(project)
    found = {
        relation: differences(project.warehouse, copy.warehouse, relation) for relation in relations
    }
    # a newer load, so that the re-run of the past date does not re-take LATE's late rows
    with duckdb.connect(str(project.warehouse)) as con:
        insert_deliveries(
            con,
            ENTITY_BY_TABLE["core_banking__transactions"],
            [(NEXT, _t("T40", "A001", NEXT, "deposit", "branch"))],
        )
    run(project, NEXT)
    run(project, PAST)
    shutil.copy(project.warehouse, copy.warehouse)
    run(copy, PAST, "--full-refresh")
    yield {
        "late": late,
        "relations": relations,
        "differences": found,
        "past_differences": {
            relation: differences(project.warehouse, copy.warehouse, relation)
            for relation in relations
        },
    }


def test_incremental_models_and_marts_equal_a_full_refresh(compared: dict) -> None:
    assert {
        "intermediate.int_account_balance_intervals",
        "intermediate.int_account_months_aggregated",
        "intermediate.int_customer_months_aggregated",
        "intermediate.int_transactions_classified",
        "marts.fct_customer_months",
        "marts.mart_monthly_kpis",
    } <= set(compared["relations"])
    unequal = {
        relation: counts for relation, counts in compared["differences"].items() if counts != (0, 0)
    }
    assert unequal == {}, "(rows only incremental, rows only full refresh) per table"


def test_a_past_date_run_again_equals_its_full_refresh(compared: dict) -> None:
    unequal = {
        relation: counts
        for relation, counts in compared["past_differences"].items()
        if counts != (0, 0)
    }
    assert unequal == {}, "(rows only incremental, rows only full refresh) per table"


def test_late_rows_reach_their_months(compared: dict) -> None:
    """The late rows changed past months in the incremental build itself."""
    assert compared["late"] == {
        # C002 became retail: its January tier row follows (full-history rebuild)
        "c002_january_type": [("retail",)],
        # the orphan T99 got its customer when account A999 arrived
        "t99_customer": [("C003",)],
        # the January balance split A001's interval from 01-16
        "a001_january_intervals": [("2024-01-16", "2024-01-25"), ("2024-01-25", "2024-02-01")],
        # the January transfer T30 counts in C002's January (3 transfers before it)
        "c002_january_transactions": [(1,)],
    }
