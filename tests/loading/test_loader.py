"""Loading landed files into raw: idempotency, quarantine, rejection, late files, reconciliation.

Also the helpers the bad-input catalogue shares, among them :func:`assert_staging_casts`:
every row that passed the gate must cast to the types the dbt staging models use.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest

from include.config import DBT_PROJECT_DIR, Settings, load_settings
from include.landing.control import control_file_text
from include.landing.entities import (
    ENTITIES,
    ENTITIES_BY_TABLE,
    STRING,
    Entity,
    landing_dir,
    landing_file_name,
)
from loading.loader import LandingRejectedError, load_landing
from loading.reconciliation import ReconciliationError, reconcile

DAY1 = "2025-01-01"
DAY2 = "2025-01-02"

CUSTOMERS = [
    {"customer_id": "C1", "customer_type": "retail", "full_name": "Li Lei", "national_id": "1",
     "phone": "138", "address": "Road 1", "city": "Shanghai", "birth_date": "1980-05-01",
     "gender": "M", "home_branch_id": "B1", "onboarded_date": "2024-06-01"},
    {"customer_id": "C2", "customer_type": "corporate", "full_name": "Acme", "national_id": "2",
     "phone": "139", "address": "Road 2", "city": "Beijing", "home_branch_id": "B2",
     "onboarded_date": "2024-07-01"},
]  # fmt: skip
ACCOUNTS = [
    {"account_id": "A1", "customer_id": "C1", "product_code": "CUR_RETAIL", "branch_id": "B1",
     "currency": "CNY", "opened_date": "2024-06-01", "status": "open"},
    {"account_id": "A2", "customer_id": "C2", "product_code": "CUR_CORP", "branch_id": "B2",
     "currency": "CNY", "opened_date": "2024-07-01", "status": "open"},
]  # fmt: skip


def transaction(transaction_id: str, account_id: str = "A1", day: str = DAY1, **extra: str) -> dict:
    return {
        "transaction_id": transaction_id, "account_id": account_id, "transaction_date": day,
        "transaction_at": f"{day} 10:00:00", "transaction_type_code": "deposit",
        "direction": "credit", "amount": "100.00", "channel": "mobile",
        "counterparty_type": "none", **extra,
    }  # fmt: skip


def csv_text(table: str, rows: list[dict]) -> str:
    entity = ENTITIES_BY_TABLE[table]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=entity.column_names, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def land(settings: Settings, table: str, day: str, content: str | bytes, suffix: str = "") -> str:
    """Write a landing file; returns its path relative to the landing root."""
    entity = ENTITIES_BY_TABLE[table]
    folder = landing_dir(entity.system, entity.name, day)
    relative = f"{folder}/{landing_file_name(entity.name, day, suffix)}"
    path = settings.landing_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return relative


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"BANK_DATA_DIR": str(tmp_path)})


@pytest.fixture
def day1(settings: Settings) -> Settings:
    """A clean first day: two customers, two accounts, three transactions."""
    land(settings, "core_banking__customers", DAY1, csv_text("core_banking__customers", CUSTOMERS))
    land(settings, "core_banking__accounts", DAY1, csv_text("core_banking__accounts", ACCOUNTS))
    rows = [transaction("T1"), transaction("T2"), transaction("T3", "A2")]
    land(settings, "core_banking__transactions", DAY1, csv_text("core_banking__transactions", rows))
    return settings


def query(settings: Settings, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    """Every raw table's full content, in a stable order."""
    tables = [f"raw.{e.raw_table}" for e in ENTITIES] + ["raw._load_registry", "raw._quarantine"]
    return {table: sorted(map(repr, query(settings, f"select * from {table}"))) for table in tables}


CAST = re.compile(
    r"cast\(\s*([a-z_]+)\s+as\s+([a-z]+(?:\s*\(\s*\d+\s*(?:,\s*\d+\s*)?\))?)\s*\)",
    re.IGNORECASE,
)


def _normal_type(sql_type: str) -> str:
    return re.sub(r"\s+", "", sql_type.lower())


def staging_casts(entity: Entity) -> dict[str, set[str]]:
    """Contract column -> the SQL types its dbt staging model casts it to (read from the SQL)."""
    model = next((DBT_PROJECT_DIR / "models" / "staging").rglob(f"stg_{entity.raw_table}.sql"))
    casts: dict[str, set[str]] = {}
    for column, sql_type in CAST.findall(model.read_text()):
        if column in entity.column_names:
            casts.setdefault(column, set()).add(_normal_type(sql_type))
    return casts


def assert_staging_casts(settings: Settings) -> None:
    """Every row in raw casts the way its staging model casts it (what breaks ``dbt build``)."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for entity in ENTITIES:
            casts = [
                f"cast({column} as {sql_type})"
                for column, types in staging_casts(entity).items()
                for sql_type in types
            ]
            if casts:
                # fetches every value, so no cast is optimised away
                con.execute(f"select {', '.join(casts)} from raw.{entity.raw_table}").fetchall()


def control_for(settings: Settings, relative: str, records: int, checksum: str = "") -> str:
    """Write the control file of a landed data file (true checksum unless one is given)."""
    data = settings.landing_path / relative
    control = data.with_suffix(".ctl")
    digest = checksum or hashlib.sha256(data.read_bytes()).hexdigest()
    control.write_text(control_file_text(data.name, records, digest), encoding="utf-8")
    return str(Path(relative).with_suffix(".ctl"))


def quarantine(settings: Settings) -> list[tuple]:
    return query(
        settings,
        "select entity, source_file, source_line, raw_row, rule, reason from raw._quarantine "
        "order by source_file, source_line",
    )


def test_first_load_creates_every_raw_table_and_loads_the_rows(day1: Settings) -> None:
    summary = load_landing(day1, date(2025, 1, 1), "run-1")

    assert summary.files_loaded == 3
    assert summary.rows_loaded == 7 and summary.rows_quarantined == 0
    tables = {
        t
        for (t,) in query(
            day1, "select table_name from information_schema.tables where table_schema = 'raw'"
        )
    }
    assert {e.raw_table for e in ENTITIES} | {"_load_registry", "_quarantine"} <= tables
    assert query(day1, "select count(*) from raw.crm__complaints") == [(0,)]
    row = query(
        day1,
        "select transaction_id, amount, counterparty_name, _source_line, _business_date, _run_id, "
        "_source_file from raw.core_banking__transactions where transaction_id = 'T3'",
    )
    assert row == [
        (
            "T3",
            "100.00",
            None,
            4,
            date(2025, 1, 1),
            "run-1",
            "core_banking/transactions/business_date=2025-01-01/transactions_20250101.csv",
        )
    ]
    checksums = query(day1, "select distinct _file_checksum from raw.core_banking__customers")
    assert len(checksums) == 1 and len(checksums[0][0]) == 64


def test_loading_the_same_files_twice_changes_nothing(day1: Settings) -> None:
    load_landing(day1, date(2025, 1, 1), "run-1")
    before = snapshot(day1)

    second = load_landing(day1, date(2025, 1, 1), "run-2")

    assert snapshot(day1) == before
    assert second.files_loaded == 0 and second.duplicates == [] and second.files_seen == 3
    assert query(day1, "select distinct status from raw._load_registry") == [("loaded",)]


def test_a_redelivered_file_under_another_name_is_registered_as_duplicate(day1: Settings) -> None:
    load_landing(day1, date(2025, 1, 1), "run-1")
    original = (
        day1.landing_path
        / "core_banking/accounts/business_date=2025-01-01"
        / "accounts_20250101.csv"
    ).read_bytes()
    copy = land(day1, "core_banking__accounts", DAY1, original, suffix="redelivered")

    summary = load_landing(day1, date(2025, 1, 2), "run-2")

    assert summary.duplicates == [copy]
    assert query(day1, "select count(*) from raw.core_banking__accounts") == [(2,)]
    [(status, message)] = query(
        day1, "select status, message from raw._load_registry where file_path = ?", [copy]
    )
    assert status == "duplicate"
    assert "accounts_20250101.csv" in message
    load_landing(day1, date(2025, 1, 2), "run-3")
    assert query(day1, "select count(*) from raw._load_registry") == [(4,)]


def test_malformed_row_is_quarantined_with_its_line_while_good_rows_load(day1: Settings) -> None:
    text = csv_text("core_banking__transactions", [transaction("T9"), transaction("T10")])
    text += "T11,A1,2025-01-02,only five fields\n"  # line 4
    text += csv_text(
        "core_banking__transactions", [transaction("T12", amount="-3", day=DAY2)]
    ).split("\n", 1)[1]
    relative = land(day1, "core_banking__transactions", DAY2, text)

    summary = load_landing(day1, date(2025, 1, 2), "run-1")

    assert summary.per_entity["core_banking__transactions"].rows_quarantined == 2
    loaded = query(
        day1,
        "select transaction_id from raw.core_banking__transactions "
        "where _source_file = ? order by 1",
        [relative],
    )
    assert loaded == [("T10",), ("T9",)]
    [bad_csv, bad_amount] = [row for row in quarantine(day1) if row[1] == relative]
    assert bad_csv[2:] == (
        4,
        "T11,A1,2025-01-02,only five fields",
        "csv_structure",
        "expected 12 fields, found 4",
    )
    assert bad_amount[2] == 5
    assert bad_amount[4] == "expect_column_values_to_be_between(amount__value)"
    assert bad_amount[5] == "amount -3 is below the minimum 0"


def test_orphan_transaction_is_quarantined(day1: Settings) -> None:
    rows = [transaction("T20", "A1", DAY2), transaction("T21", "A404", DAY2)]
    relative = land(
        day1, "core_banking__transactions", DAY2, csv_text("core_banking__transactions", rows)
    )

    load_landing(day1, date(2025, 1, 2), "run-1")

    assert [row[:3] for row in quarantine(day1)] == [("transactions", relative, 3)]
    assert quarantine(day1)[0][5] == (
        "account_id 'A404' is not a known account_id (not in raw.core_banking__accounts)"
    )
    assert query(
        day1, "select count(*) from raw.core_banking__transactions where transaction_id = 'T20'"
    ) == [(1,)]


def test_parents_landed_the_same_day_are_known_to_their_children(settings: Settings) -> None:
    customer = {**CUSTOMERS[0], "customer_id": "C7"}
    account = {**ACCOUNTS[0], "account_id": "A7", "customer_id": "C7"}
    land(settings, "core_banking__customers", DAY1, csv_text("core_banking__customers", [customer]))
    land(settings, "core_banking__accounts", DAY1, csv_text("core_banking__accounts", [account]))
    land(
        settings,
        "core_banking__transactions",
        DAY1,
        csv_text("core_banking__transactions", [transaction("T7", "A7")]),
    )
    summary = load_landing(settings, date(2025, 1, 1), "run-1")
    assert summary.rows_quarantined == 0 and summary.rows_loaded == 3


def test_non_utf8_file_is_refused_the_others_load_and_a_fix_loads_next_run(day1: Settings) -> None:
    latin1 = csv_text("core_banking__customers", CUSTOMERS)  # gets one Latin-1 byte below
    bad = land(
        day1,
        "core_banking__customers",
        DAY2,
        latin1.encode("utf-8").replace(b"Li Lei", b"Li \xe9i"),
    )
    good = land(
        day1,
        "core_banking__transactions",
        DAY2,
        csv_text("core_banking__transactions", [transaction("T30", day=DAY2)]),
    )

    with pytest.raises(LandingRejectedError) as error:
        load_landing(day1, date(2025, 1, 2), "run-1")

    message = str(error.value)
    assert f"{bad}: line 2, column 14: not valid UTF-8" in message
    assert error.value.summary.files_loaded == 4
    assert query(day1, "select status from raw._load_registry where file_path = ?", [good]) == [
        ("loaded",)
    ]
    [(status, registry_message)] = query(
        day1, "select status, message from raw._load_registry where file_path = ?", [bad]
    )
    assert status == "rejected" and "line 2, column 14" in registry_message

    # Unchanged: retried and rejected again, still one registry row for that file version,
    # which keeps the run of the first refusal.
    with pytest.raises(LandingRejectedError):
        load_landing(day1, date(2025, 1, 2), "run-2")
    assert query(
        day1, "select count(*), max(run_id) from raw._load_registry where file_path = ?", [bad]
    ) == [(1, "run-1")]

    # Fixed content (new checksum) loads.
    fixed = [{**CUSTOMERS[0], "city": "Hangzhou"}]
    land(day1, "core_banking__customers", DAY2, csv_text("core_banking__customers", fixed))
    summary = load_landing(day1, date(2025, 1, 2), "run-3")
    assert summary.files_loaded == 1 and summary.rejected == {}
    assert query(
        day1, "select status from raw._load_registry where file_path = ? order by loaded_at", [bad]
    ) == [("superseded",), ("loaded",)]


def test_header_change_is_refused(day1: Settings) -> None:
    text = csv_text("core_banking__accounts", ACCOUNTS).replace("product_code", "product", 1)
    bad = land(day1, "core_banking__accounts", DAY2, text)
    with pytest.raises(
        LandingRejectedError, match=rf"{bad}: line 1, column 3: header has column 'product'"
    ):
        load_landing(day1, date(2025, 1, 2), "run-1")
    assert query(
        day1, "select count(*) from raw.core_banking__accounts where _source_file = ?", [bad]
    ) == [(0,)]


def test_late_file_for_an_earlier_date_is_picked_up_by_the_next_run(day1: Settings) -> None:
    load_landing(day1, date(2025, 1, 1), "run-day1")
    land(
        day1,
        "core_banking__transactions",
        DAY2,
        csv_text("core_banking__transactions", [transaction("T40", day=DAY2)]),
    )
    land(
        day1,
        "core_banking__transactions",
        "2025-01-03",
        csv_text("core_banking__transactions", [transaction("T50", day="2025-01-03")]),
    )
    summary_day2 = load_landing(day1, date(2025, 1, 2), "run-day2")
    assert summary_day2.files_loaded == 1 and summary_day2.files_for_later_dates == 1

    # Arrives after the day-2 run, for day 1.
    late = land(
        day1,
        "core_banking__transactions",
        DAY1,
        csv_text("core_banking__transactions", [transaction("T35")]),
        suffix="late",
    )
    summary_day3 = load_landing(day1, date(2025, 1, 3), "run-day3")

    assert summary_day3.files_loaded == 2
    assert query(
        day1,
        "select _business_date, _run_id from raw.core_banking__transactions where _source_file = ?",
        [late],
    ) == [(date(2025, 1, 1), "run-day3")]


def test_reconciliation_holds_and_detects_a_broken_load(day1: Settings) -> None:
    text = csv_text("core_banking__transactions", [transaction("T60", day=DAY2)]) + "broken\n\n"
    land(day1, "core_banking__transactions", DAY2, text)
    load_landing(day1, date(2025, 1, 2), "run-1")

    for path, landed, loaded, held in query(
        day1, "select file_path, rows_landed, rows_loaded, rows_quarantined from raw._load_registry"
    ):
        table = next(e.raw_table for e in ENTITIES if f"/{e.name}/" in path)
        in_raw = query(day1, f"select count(*) from raw.{table} where _source_file = ?", [path])
        in_quarantine = query(
            day1, "select count(*) from raw._quarantine where source_file = ?", [path]
        )
        assert (landed, [(loaded,)], [(held,)]) == (loaded + held, in_raw, in_quarantine), path

    with duckdb.connect(str(day1.warehouse_path)) as con:
        reconcile(con, "run-1")
        con.execute("delete from raw.core_banking__transactions where transaction_id = 'T60'")
        with pytest.raises(ReconciliationError, match="transactions_20250102.csv: landed 3"):
            reconcile(con, "run-1")


def test_validation_results_are_reported_and_audited(day1: Settings) -> None:
    load_landing(day1, date(2025, 1, 1), "scheduled__2025-01-01T00:00:00+00:00")
    report = (
        day1.reports_path
        / "scheduled__2025-01-01T00_00_00_00_00"
        / "landing__core_banking__customers.json"
    )
    document = json.loads(report.read_text())
    assert document["success"] is True
    assert document["statistics"]["evaluated_expectations"] > 10
    suites = query(day1, "select suite, success from audit.validation_runs order by suite")
    assert suites == [
        (f"landing__core_banking__{entity}{suffix}", True)
        for entity in ("accounts", "customers", "transactions")
        for suffix in ("", "__keys")
    ] + [("landing__reconciliation", True)]
    docs = report.parent / "data_docs"
    index = (docs / "index.html").read_text()
    assert "landing__core_banking__customers" in index
    pages = list(
        (docs / "validations" / "landing__core_banking__transactions__keys").rglob("*.html")
    )
    assert len(pages) == 1


def test_a_long_history_is_validated_in_batches_of_whole_files(day1: Settings) -> None:
    duplicate_key = [transaction("T70", day=DAY2), transaction("T70", day=DAY2)]
    land(
        day1,
        "core_banking__transactions",
        DAY2,
        csv_text("core_banking__transactions", duplicate_key),
    )
    summary = load_landing(day1, date(2025, 1, 2), "run-1", batch_rows=1)

    assert summary.files_loaded == 4
    assert summary.per_entity["core_banking__transactions"].rows_quarantined == 2  # same file
    reports = sorted(p.name for p in (day1.reports_path / "run-1").glob("*transactions*"))
    assert reports == [
        "landing__core_banking__transactions.json",
        "landing__core_banking__transactions__batch2.json",
        "landing__core_banking__transactions__keys.json",
        "landing__core_banking__transactions__keys__batch2.json",
    ]
    [(rule,)] = query(day1, "select distinct rule from raw._quarantine")
    assert rule == "expect_compound_columns_to_be_unique(transaction_id, _source_file)"


def test_equal_bytes_on_a_later_date_are_a_new_delivery_not_a_duplicate(day1: Settings) -> None:
    """A customer changes phone and changes back: day 3's file equals day 1's, byte for byte."""
    day1_file = csv_text("core_banking__customers", CUSTOMERS)
    changed = csv_text("core_banking__customers", [{**CUSTOMERS[0], "phone": "199"}, CUSTOMERS[1]])
    land(day1, "core_banking__customers", DAY2, changed)
    back = land(day1, "core_banking__customers", "2025-01-03", day1_file)

    summary = load_landing(day1, date(2025, 1, 3), "run-1")

    assert summary.duplicates == [] and summary.rejected == {}
    assert query(day1, "select status from raw._load_registry where file_path = ?", [back]) == [
        ("loaded",)
    ]
    latest = query(
        day1,
        "select phone from raw.core_banking__customers where customer_id = 'C1' "
        "order by _business_date desc limit 1",
    )
    assert latest == [("138",)]
    # The same bytes again on the same date under another name is a re-delivery.
    again = land(day1, "core_banking__customers", "2025-01-03", day1_file, suffix="resent")
    assert load_landing(day1, date(2025, 1, 3), "run-2").duplicates == [again]


def test_a_refused_file_fixed_under_a_new_name_is_superseded_and_stops_failing(
    day1: Settings,
) -> None:
    load_landing(day1, date(2025, 1, 1), "run-0")
    bad = land(day1, "core_banking__transactions", DAY2, b"\xff broken")
    with pytest.raises(LandingRejectedError):
        load_landing(day1, date(2025, 1, 2), "run-1")

    fixed = land(
        day1,
        "core_banking__transactions",
        DAY2,
        csv_text("core_banking__transactions", [transaction("T80", day=DAY2)]),
        suffix="fixed",
    )
    summary = load_landing(day1, date(2025, 1, 2), "run-2")  # does not raise

    assert summary.rejected == {} and summary.superseded == {bad: fixed}
    [(status, run_id, message)] = query(
        day1, "select status, run_id, message from raw._load_registry where file_path = ?", [bad]
    )
    assert status == "superseded" and run_id == "run-1"
    assert message.startswith(f"superseded by {fixed} (loaded by run run-2); was refused: {bad}")
    later = load_landing(day1, date(2025, 1, 3), "run-3")
    assert later.rejected == {} and later.files_loaded == 0 and later.files_seen == 5


def test_a_sibling_loaded_in_the_same_run_does_not_supersede_a_refused_file(
    day1: Settings,
) -> None:
    bad = land(day1, "core_banking__transactions", DAY2, b"\xff broken")
    land(
        day1,
        "core_banking__transactions",
        DAY2,
        csv_text("core_banking__transactions", [transaction("T81", day=DAY2)]),
        suffix="second",
    )
    for run in ("run-1", "run-2"):
        with pytest.raises(LandingRejectedError) as error:
            load_landing(day1, date(2025, 1, 2), run)
        assert list(error.value.summary.rejected) == [bad]


def test_a_redelivered_child_file_recovers_its_orphans_once_the_parent_arrived(
    day1: Settings,
) -> None:
    rows = [transaction("T90", "A1", DAY2), transaction("T91", "A-late", DAY2)]
    content = csv_text("core_banking__transactions", rows)
    original = land(day1, "core_banking__transactions", DAY2, content)
    load_landing(day1, date(2025, 1, 2), "run-1")
    assert [row[2] for row in quarantine(day1)] == [3]

    # Re-delivered before the parent: re-checked, still unknown, a duplicate.
    early = land(day1, "core_banking__transactions", DAY2, content, suffix="early")
    summary = load_landing(day1, date(2025, 1, 2), "run-2")
    assert summary.duplicates == [early] and summary.rechecked == []
    [(message,)] = query(
        day1, "select message from raw._load_registry where file_path = ?", [early]
    )
    assert "re-checked its 1 row(s) quarantined for an unknown parent: all still fail" in message

    # The parent arrives, the child file is re-delivered: the orphan loads, T90 does not repeat.
    parent = {**ACCOUNTS[0], "account_id": "A-late", "opened_date": "2025-01-03"}
    land(day1, "core_banking__accounts", "2025-01-03", csv_text("core_banking__accounts", [parent]))
    redelivered = land(day1, "core_banking__transactions", DAY2, content, suffix="redelivered")
    summary = load_landing(day1, date(2025, 1, 3), "run-3")

    assert summary.rechecked == [redelivered] and summary.rows_quarantined == 0
    loaded = query(
        day1,
        "select transaction_id, _source_file, _source_line from raw.core_banking__transactions "
        "where transaction_id in ('T90', 'T91') order by 1",
    )
    assert loaded == [("T90", original, 2), ("T91", redelivered, 3)]
    [registry] = query(
        day1,
        "select status, rows_landed, rows_loaded, rows_quarantined, message "
        "from raw._load_registry where file_path = ?",
        [redelivered],
    )
    assert registry[:4] == ("rechecked", 1, 1, 0)
    assert f"same content (sha256) as {original}" in registry[4] and "(lines 3)" in registry[4]
    assert query(day1, "select count(*) from audit.reconciliation where not is_balanced") == [(0,)]

    # Idempotent: a re-run changes nothing; yet another copy has nothing left to recover.
    before = snapshot(day1)
    load_landing(day1, date(2025, 1, 3), "run-4")
    assert snapshot(day1) == before
    third = land(day1, "core_banking__transactions", DAY2, content, suffix="third")
    assert load_landing(day1, date(2025, 1, 3), "run-5").duplicates == [third]
    assert_staging_casts(day1)


def test_a_control_file_proves_completeness_and_a_mismatch_refuses_the_file(
    day1: Settings,
) -> None:
    rows = [transaction("T95", day=DAY2), transaction("T96", day=DAY2)]
    text = csv_text("core_banking__transactions", rows)
    good = land(day1, "core_banking__transactions", DAY2, text.rstrip("\n"))  # no final newline
    control_for(day1, good, 2)
    short = land(day1, "core_banking__transactions", DAY2, text, suffix="short")
    control = control_for(day1, short, 3)

    with pytest.raises(LandingRejectedError) as error:
        load_landing(day1, date(2025, 1, 2), "run-1")

    assert list(error.value.summary.rejected) == [short]
    assert error.value.summary.rejected[short].startswith(
        f"{short}: line 4, column 1: the file's record count is 2 but its control file "
        f"{Path(control).name} says 3"
    )
    [(status, message)] = query(
        day1, "select status, message from raw._load_registry where file_path = ?", [good]
    )
    assert status == "loaded"
    assert message == f"complete per control file {Path(good).with_suffix('.ctl').name}"
    assert query(
        day1, "select count(*) from raw.core_banking__transactions where _source_file = ?", [good]
    ) == [(2,)]


def test_staging_casts_every_typed_column_to_the_contracts_type() -> None:
    """One definition of each type: the staging models cast to ``Column.sql_type``."""
    for entity in ENTITIES:
        expected = {
            column.name: {_normal_type(column.sql_type)}
            for column in entity.columns
            if column.type != STRING
        }
        assert staging_casts(entity) == expected, entity.raw_table
