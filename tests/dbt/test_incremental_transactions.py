"""Transactions are kept incrementally: a daily run adds and replaces only newly loaded rows.

int_transactions_classified holds them (fct_transactions is a view over it). Built on
the hand-made raw fixture (dbt_raw_fixture.py). To prove history is not rebuilt, the
test marks a row already in the table; an incremental run must leave the mark, add
the new transaction and replace the re-delivered one, and a full refresh must rebuild
the same table from raw.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from dbt_raw_fixture import _t, build_raw_fixture, insert_deliveries
from test_dbt_project import AS_OF_DATE, DbtProject

from include.landing.entities import ENTITIES

TRANSACTIONS = next(
    entity for entity in ENTITIES if entity.raw_table == "core_banking__transactions"
)
SELECT = ("--select", "+fct_transactions", "--indirect-selection", "cautious")
ROWS = (
    "select transaction_id, channel, transaction_amount, is_customer_initiated"
    " from marts.fct_transactions order by transaction_id"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtProject]:
    root = tmp_path_factory.mktemp("dbt_incremental")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_raw_fixture(con)
    yield DbtProject(warehouse, root / "target")


def build(project: DbtProject, *extra: str) -> None:
    run = project.invoke("build", *SELECT, *extra, "--vars", f"{{as_of_date: {AS_OF_DATE}}}")
    assert run.returncode == 0, run.stdout[-5000:]
    assert run.statuses["fct_transactions"] == "success"


@pytest.fixture(scope="module")
def tables(project: DbtProject) -> dict[str, list[tuple]]:
    build(project)
    first = project.query(ROWS)
    with duckdb.connect(str(project.warehouse)) as con:
        # a mark only a rebuild would erase
        con.execute(
            "update intermediate.int_transactions_classified set channel = 'marked' "
            "where transaction_id = 'T01'"
        )
        late = _t("T20", "A001", "2024-03-12", "deposit", "mobile")
        corrected = _t("T05", "A001", "2024-02-10", "withdrawal", "atm") | {"amount": "250.00"}
        insert_deliveries(con, TRANSACTIONS, [("2024-03-12", late), ("2024-03-12", corrected)])
    build(project)
    incremental = project.query(ROWS)
    build(project)
    rerun = project.query(ROWS)
    build(project, "--full-refresh")
    return {
        "first": first,
        "incremental": incremental,
        "rerun": rerun,
        "full_refresh": project.query(ROWS),
    }


def test_first_build_holds_every_loaded_transaction_once(tables: dict) -> None:
    ids = [row[0] for row in tables["first"]]
    # T01..T13 and the orphan T99; T06 was delivered twice
    assert ids == [f"T{n:02d}" for n in range(1, 14)] + ["T99"]


def test_incremental_run_adds_and_replaces_without_rebuilding_history(tables: dict) -> None:
    rows = {row[0]: row for row in tables["incremental"]}
    assert rows["T01"][1] == "marked"  # history untouched
    assert rows["T20"][1:] == ("mobile", 100, True)  # newly loaded
    assert str(rows["T05"][2]) == "250.00"  # re-delivery replaced its row
    assert len(tables["incremental"]) == len(tables["first"]) + 1


def test_rerun_without_new_loads_changes_nothing(tables: dict) -> None:
    assert tables["rerun"] == tables["incremental"]


def test_full_refresh_rebuilds_the_same_rows_from_raw(tables: dict) -> None:
    expected = [
        (row[0], "branch", *row[2:]) if row[0] == "T01" else row for row in tables["incremental"]
    ]
    assert tables["full_refresh"] == expected
