"""Finding landed files: the layout, the business-date cut-off, unknown items, re-deliveries."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from loading import discovery as discovery_module
from loading.discovery import discover_new_files, scan_landing
from loading.registry import Registration, ensure_raw_schema, write_registration

HEADER = "branch_id,branch_name,city,region\n"


def land(root: Path, relative: str, content: str = HEADER + "B1,Main,Shanghai,East\n") -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    ensure_raw_schema(connection)
    return connection


def test_scan_takes_files_up_to_the_date_and_reports_what_does_not_fit(tmp_path: Path) -> None:
    land(tmp_path, "reference/branches/business_date=2025-01-01/branches_20250101.csv")
    land(tmp_path, "reference/branches/business_date=2025-01-02/branches_20250102_resend.csv")
    land(tmp_path, "reference/branches/business_date=2025-01-03/branches_20250103.csv")
    land(tmp_path, "reference/branches/business_date=2025-01-02/branches_20250101.csv")  # wrong day
    land(tmp_path, "reference/branches/business_date=2025-13-01/branches_20251301.csv")
    land(tmp_path, "reference/shops/business_date=2025-01-01/shops_20250101.csv")
    land(tmp_path, "marketing/x.csv")
    land(tmp_path, "README.txt")

    files, unknown, later = scan_landing(tmp_path, date(2025, 1, 2))

    assert [f.relative_path for f in files] == [
        "reference/branches/business_date=2025-01-01/branches_20250101.csv",
        "reference/branches/business_date=2025-01-02/branches_20250102_resend.csv",
    ]
    assert [f.business_date for f in files] == [date(2025, 1, 1), date(2025, 1, 2)]
    assert later == 1
    assert sorted(item.relative_path for item in unknown) == [
        "README.txt",
        "marketing",
        "reference/branches/business_date=2025-01-02/branches_20250101.csv",
        "reference/branches/business_date=2025-13-01",
        "reference/shops",
    ]


def test_same_content_under_another_name_is_a_duplicate(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    land(tmp_path, "reference/branches/business_date=2025-01-01/branches_20250101.csv")
    land(tmp_path, "reference/branches/business_date=2025-01-01/branches_20250101_copy.csv")
    land(
        tmp_path,
        "reference/branches/business_date=2025-01-01/branches_20250101_other.csv",
        HEADER + "B2,Other,Beijing,North\n",
    )
    discovery = discover_new_files(tmp_path, con, date(2025, 1, 1))
    assert [f.relative_path.rsplit("/", 1)[1] for f in discovery.new] == [
        "branches_20250101.csv",
        "branches_20250101_other.csv",
    ]
    [(duplicate, original)] = discovery.duplicates
    assert duplicate.relative_path.endswith("branches_20250101_copy.csv")
    assert original.endswith("branches_20250101.csv")
    assert len(duplicate.checksum) == 64


def test_equal_bytes_for_another_business_date_are_not_a_duplicate(
    tmp_path: Path, con: duckdb.DuckDBPyConnection
) -> None:
    land(tmp_path, "reference/branches/business_date=2025-01-01/branches_20250101.csv")
    con.execute(
        "insert into raw._load_registry (file_path, entity, business_date, file_checksum, status, "
        "run_id, loaded_at) select 'reference/branches/business_date=2025-01-01/"
        "branches_20250101.csv', 'branches', date '2025-01-01', ?, 'loaded', 'r1', now()",
        [discover_new_files(tmp_path, con, date(2025, 1, 1)).new[0].checksum],
    )
    land(tmp_path, "reference/branches/business_date=2025-01-02/branches_20250102.csv")
    land(tmp_path, "reference/branches/business_date=2025-01-02/branches_20250102_copy.csv")

    discovery = discover_new_files(tmp_path, con, date(2025, 1, 2))

    assert [f.relative_path.rsplit("/", 1)[1] for f in discovery.new] == ["branches_20250102.csv"]
    [(duplicate, original)] = discovery.duplicates  # same date and bytes as the new day-2 file
    assert duplicate.relative_path.endswith("branches_20250102_copy.csv")
    assert original.endswith("branches_20250102.csv")
    assert discovery.already_registered == 1


def test_a_registered_file_is_not_read_again_until_it_changes(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    relative = "reference/branches/business_date=2025-01-01/branches_20250101.csv"
    land(tmp_path, relative)
    an_hour_ago = os.stat(tmp_path / relative).st_mtime_ns - 3_600 * 10**9
    os.utime(tmp_path / relative, ns=(an_hour_ago, an_hour_ago))
    [landed] = discover_new_files(tmp_path, con, date(2025, 1, 1)).new
    write_registration(
        con,
        Registration(
            relative,
            "branches",
            date(2025, 1, 1),
            landed.checksum,
            "loaded",
            1,
            1,
            0,
            "r1",
            datetime(2025, 1, 2),
            file_size=landed.size,
            file_modified_ns=landed.modified_ns,
        ),
    )
    hashed: list[Path] = []
    real_checksum = discovery_module.file_checksum
    monkeypatch.setattr(
        discovery_module, "file_checksum", lambda path: hashed.append(path) or real_checksum(path)
    )

    assert discover_new_files(tmp_path, con, date(2025, 1, 1)).already_registered == 1
    assert hashed == []

    # rewritten in place with as many bytes: a new modification time, so read again
    land(tmp_path, relative, HEADER + "B1,Main,Shanghai,West\n")
    rewritten = discover_new_files(tmp_path, con, date(2025, 1, 1))
    assert hashed == [tmp_path / relative]
    [new_version] = rewritten.new
    assert new_version.checksum != landed.checksum
    assert new_version.modified_ns is None  # just changed: not trusted to the quick check yet


def test_a_control_file_is_attached_to_its_data_file(tmp_path: Path) -> None:
    folder = "reference/branches/business_date=2025-01-01"
    land(tmp_path, f"{folder}/branches_20250101.csv")
    land(tmp_path, f"{folder}/branches_20250101.ctl", "file_name,record_count,sha256\n")
    land(tmp_path, f"{folder}/branches_20250101_extra.csv")
    land(tmp_path, f"{folder}/branches_20250101_lost.ctl", "file_name,record_count,sha256\n")

    files, unknown, _ = scan_landing(tmp_path, date(2025, 1, 1))

    assert [(f.path.name, f.control and f.control.name) for f in files] == [
        ("branches_20250101.csv", "branches_20250101.ctl"),
        ("branches_20250101_extra.csv", None),
    ]
    lost = f"{folder}/branches_20250101_lost.ctl"
    assert [str(item) for item in unknown] == [
        f"{lost}: control file without its data file branches_20250101_lost.csv"
    ]
