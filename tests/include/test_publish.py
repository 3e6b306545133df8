"""Releases of the published copy: DuckDB and Parquet together, swapped in by a symlink."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from include.audit import ensure_audit_schema, record_check
from include.config import Settings, load_settings
from include.publish import (
    KEPT_RELEASES,
    PublishRefusedError,
    current_release,
    publication_root,
    publish_marts,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A warehouse with two small marts, a table outside marts, and runs run-1..run-9 validated."""
    settings = load_settings({"BANK_DATA_DIR": str(tmp_path)})
    settings.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.dim_customers as "
            "select * from (values ('C1', 'mid_value'), ('C2', null)) as t(customer_id, value_tier)"
        )
        con.execute("create table marts.mart_kpis as select 1 as month, 2.5::decimal(18, 2) as aum")
        con.execute("create schema restricted")
        con.execute("create table restricted.people as select 'C1' as customer_id, 'x' as phone")
        ensure_audit_schema(con)
        for run in range(1, 10):
            record_check(con, f"run-{run}", "marts__dim_customers", True, 1, 0)
    return settings


def releases(settings: Settings) -> list[str]:
    return sorted(p.name for p in (publication_root(settings) / "releases").iterdir())


def publication(path: Path) -> tuple:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute("select run_id, published_at from main.publication").fetchone()


def test_one_publication_carries_duckdb_and_parquet(settings: Settings) -> None:
    result = publish_marts(settings, "run-1")

    release = Path(result["release_dir"])
    assert current_release(settings) == release
    assert os.readlink(settings.published_path) == "current/bank.duckdb"
    assert Path(result["duckdb_path"]) == release / "bank.duckdb"
    assert result["tables"] == {"marts.dim_customers": 2, "marts.mart_kpis": 1}
    assert sorted(result["parquet"]) == ["marts.dim_customers", "marts.mart_kpis", "publication"]
    assert Path(result["parquet"]["marts.dim_customers"]) == (
        release / "parquet" / "marts" / "dim_customers.parquet"
    )
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        schemas = con.execute(
            "select distinct table_schema || '.' || table_name from information_schema.tables "
            "order by 1"
        ).fetchall()
        assert schemas == [("main.publication",), ("marts.dim_customers",), ("marts.mart_kpis",)]
        parquet = con.execute(
            f"select * from read_parquet('{result['parquet']['marts.dim_customers']}') order by 1"
        ).fetchall()
        assert parquet == con.execute("select * from marts.dim_customers order by 1").fetchall()
        record = con.execute(
            f"select run_id, published_at from read_parquet('{result['parquet']['publication']}')"
        ).fetchone()
    assert record == publication(settings.published_path)
    assert record[0] == "run-1"


def test_publications_in_a_row_keep_the_newest_releases(settings: Settings) -> None:
    results = [publish_marts(settings, f"run-{run}") for run in range(1, KEPT_RELEASES + 3)]

    kept = [Path(result["release_dir"]).name for result in results[-KEPT_RELEASES:]]
    assert releases(settings) == kept
    assert current_release(settings) == Path(results[-1]["release_dir"])
    assert publication(settings.published_path)[0] == f"run-{KEPT_RELEASES + 2}"
    removed = [name for result in results for name in result["removed_releases"]]
    assert removed == [Path(result["release_dir"]).name for result in results[:2]]


def test_a_reader_keeps_the_release_it_opened(settings: Settings) -> None:
    publish_marts(settings, "run-1")
    resolved = current_release(settings)
    with duckdb.connect(str(settings.published_path), read_only=True) as reader:
        publish_marts(settings, "run-2")  # the swap, while the reader is open
        assert reader.execute("select run_id from main.publication").fetchone() == ("run-1",)
    assert publication(resolved / "bank.duckdb")[0] == "run-1"  # still there for Parquet readers
    assert publication(settings.published_path)[0] == "run-2"
    assert current_release(settings) != resolved


def test_a_plain_published_file_from_before_is_replaced_by_the_link(settings: Settings) -> None:
    settings.published_path.parent.mkdir(parents=True)
    with duckdb.connect(str(settings.published_path)) as old:
        old.execute("create table main.publication as select 'old-run' as run_id")
    assert not settings.published_path.is_symlink()

    publish_marts(settings, "run-1")

    assert settings.published_path.is_symlink()
    assert publication(settings.published_path)[0] == "run-1"
    assert len(releases(settings)) == 1


def test_a_refused_publication_leaves_current_and_writes_no_release(settings: Settings) -> None:
    with pytest.raises(PublishRefusedError):
        publish_marts(settings, "run-unvalidated")
    assert not publication_root(settings).exists()

    publish_marts(settings, "run-1")
    before = (current_release(settings), releases(settings))
    with duckdb.connect(str(settings.warehouse_path)) as con:
        record_check(con, "run-2", "marts__dim_customers", False, 1, 1)
    with pytest.raises(PublishRefusedError, match="marts__dim_customers failed"):
        publish_marts(settings, "run-2")

    assert (current_release(settings), releases(settings)) == before
    assert publication(settings.published_path)[0] == "run-1"


def test_leftovers_of_a_publication_that_died_are_removed(settings: Settings) -> None:
    leftover = publication_root(settings) / "releases" / ".20250101T000000000000Z-dead.tmp"
    leftover.mkdir(parents=True)
    publish_marts(settings, "run-1")
    assert not leftover.exists()


def test_settings_keep_the_published_link_unresolved(settings: Settings) -> None:
    """Readers follow the link at every open, not once when the settings were read."""
    publish_marts(settings, "run-1")
    reloaded = load_settings({"BANK_DATA_DIR": str(settings.data_dir)})
    assert reloaded.published_path == settings.published_path
    assert reloaded.published_path.is_symlink()


TRANSACTIONS = """
    create or replace table marts.fct_transactions as select * from (values
        ('T1', 'C1', date '2025-01-05', 10.50::decimal(18, 2), 'it''s {{ x }}'),
        ('T2', 'C1', date '2025-01-31', 20.00::decimal(18, 2), null),
        ('T3', 'C2', date '2025-02-01', 5.25::decimal(18, 2), 'e\u0301')
    ) as t(transaction_id, customer_id, transaction_date, amount, description)
"""


def monthly_files(release: Path) -> dict[str, int]:
    """month folder/file -> inode, of the published transactions."""
    folder = release / "parquet" / "marts" / "fct_transactions"
    return {
        str(file.relative_to(folder)): file.stat().st_ino for file in folder.glob("*/*.parquet")
    }


def test_transactions_are_published_by_month_and_unchanged_months_reused(
    settings: Settings,
) -> None:
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(TRANSACTIONS)
    first = publish_marts(settings, "run-1")
    assert first["months"]["marts.fct_transactions"] == {
        "written": ["2025-01", "2025-02"],
        "reused": [],
    }
    assert first["tables"]["marts.fct_transactions"] == 3

    # a late transaction for February, and a day of March
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(
            "insert into marts.fct_transactions values "
            "('T4', 'C2', date '2025-02-27', 1.00, 'late'), "
            "('T5', 'C1', date '2025-03-01', 2.00, null)"
        )
        expected = con.execute("select * from marts.fct_transactions order by 1").fetchall()
    second = publish_marts(settings, "run-2")
    assert second["months"]["marts.fct_transactions"] == {
        "written": ["2025-02", "2025-03"],
        "reused": ["2025-01"],
    }
    before, after = (monthly_files(Path(r["release_dir"])) for r in (first, second))
    january = [name for name in after if name.startswith("month=2025-01/")]
    assert january and all(after[name] == before[name] for name in january)  # hard links
    assert all(after[name] != before.get(name) for name in after if name not in january)

    # the DuckDB copy reads the same rows through its view, the Parquet folder too
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        assert con.execute("select * from marts.fct_transactions order by 1").fetchall() == (
            expected
        )
        [(kind,)] = con.execute(
            "select table_type from information_schema.tables where table_name = 'fct_transactions'"
        ).fetchall()
        assert kind == "VIEW"
        folder = second["parquet"]["marts.fct_transactions"]
        assert (
            con.execute(
                f"select * from read_parquet('{folder}/*/*.parquet', hive_partitioning = false)"
                " order by 1"
            ).fetchall()
            == expected
        )

    # nothing changed: every month reused; a changed column set: every month written
    third = publish_marts(settings, "run-3")
    assert third["months"]["marts.fct_transactions"]["written"] == []
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("alter table marts.fct_transactions add column channel varchar")
    fourth = publish_marts(settings, "run-4")
    assert fourth["months"]["marts.fct_transactions"]["reused"] == []
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        assert con.execute(
            "select count(channel) , count(*) from marts.fct_transactions"
        ).fetchone() == (0, 5)


def test_no_transactions_publish_an_empty_month_with_the_columns(settings: Settings) -> None:
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute(TRANSACTIONS)
        con.execute("delete from marts.fct_transactions")
    result = publish_marts(settings, "run-1")
    assert result["tables"]["marts.fct_transactions"] == 0
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        described = con.execute("describe marts.fct_transactions").fetchall()
        assert [column[0] for column in described] == [
            "transaction_id", "customer_id", "transaction_date", "amount", "description"
        ]  # fmt: skip
        assert con.execute("select count(*) from marts.fct_transactions").fetchone() == (0,)
