"""Both ways into the batch (DuckDB's CSV reader and the exact reader) stage the same rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from include.landing.entities import ENTITIES_BY_TABLE
from loading import staging
from loading.discovery import LandedFile
from loading.reader import file_checksum

BRANCHES = ENTITIES_BY_TABLE["reference__branches"]
HEADER = "branch_id,branch_name,city,region\n"
ONE_LINE_RECORDS = (
    HEADER
    + "B1,Main,Shanghai,East\n"
    + "B2,Short,Shanghai\n"  # line 3: too few fields
    + 'B3,"Quoted, with comma",Beijing,North\n'
    + "B4,Extra,Beijing,North,more\n"  # line 5: too many fields
    + 'B5,"say ""hi""",,North\n'  # doubled quotes; empty field -> missing
    + 'B6,"unclosed,Shanghai,East\n'  # last line: a quote that never closes
)
NEEDS_THE_EXACT_READER = {
    "quoted line break": HEADER + 'B1,"Main\nStreet",Shanghai,East\nB2,Two,Beijing,North\n',
    "blank line": HEADER + "B1,Main,Shanghai,East\n\nB2,Two,Beijing,North\n",
    "unclosed quote inside the file": HEADER + 'B1,"open,Shanghai,East\nB2,Two,Beijing,North\n',
}


def staged_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        f"select _source_line, branch_id, branch_name, city, region from {staging.BATCH_TABLE} "
        "order by _source_line"
    ).fetchall()


def stage_both_ways(tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "branches_20250101.csv"
    path.write_text(text, encoding="utf-8")
    landed = LandedFile(path, path.name, BRANCHES, date(2025, 1, 1), file_checksum(path))
    results = []
    for force_exact in (False, True):
        con = duckdb.connect()
        staging.start_batch(con)
        with monkeypatch.context() as patch:
            if force_exact:
                patch.setattr(staging, "_file_shape", lambda landed: None)
            staged = staging.stage_file(con, landed, 0, 0)
        staging.seal_batch(con, [staged])
        results.append((staged, staged_rows(con)))
    return results


def test_one_line_records_take_the_fast_path_with_the_exact_readers_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (fast, fast_rows), (exact, exact_rows) = stage_both_ways(
        tmp_path, ONE_LINE_RECORDS, monkeypatch
    )
    assert fast.parsed is None and exact.parsed is not None
    assert (
        fast_rows
        == exact_rows
        == [
            (2, "B1", "Main", "Shanghai", "East"),
            (4, "B3", "Quoted, with comma", "Beijing", "North"),
            (6, "B5", 'say "hi"', None, "North"),
        ]
    )
    assert fast.bad_rows == exact.bad_rows
    assert [(bad.line, bad.reason) for bad in fast.bad_rows] == [
        (3, "expected 4 fields, found 3"),
        (5, "expected 4 fields, found 5"),
        (7, "broken CSV: unexpected end of data"),
    ]
    assert fast.raw_rows([4, 6]) == exact.raw_rows([4, 6])


@pytest.mark.parametrize("case", sorted(NEEDS_THE_EXACT_READER))
def test_other_shapes_go_to_the_exact_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    (chosen, chosen_rows), (exact, exact_rows) = stage_both_ways(
        tmp_path, NEEDS_THE_EXACT_READER[case], monkeypatch
    )
    assert chosen.parsed is not None
    assert chosen_rows == exact_rows
    assert chosen.bad_rows == exact.bad_rows


def test_every_good_record_keeps_its_line_among_many_rejected_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rejects first, last, in runs and alone: both ways give every record the same line."""
    broken = {2, 3, 4, 10, 11, 57, 58, 59, 60, 100, 233, 234, 399, 400, 401}
    lines = [
        f"B{line},Short,Shanghai\n" if line in broken else f"B{line},Name,Shanghai,East\n"
        for line in range(2, 402)
    ]
    (fast, fast_rows), (exact, exact_rows) = stage_both_ways(
        tmp_path, HEADER + "".join(lines), monkeypatch
    )
    assert fast.parsed is None and len(fast.bad_rows) == len(broken)
    assert fast.bad_rows == exact.bad_rows
    assert fast_rows == exact_rows
    assert [row[0] for row in fast_rows] == sorted(set(range(2, 402)) - broken)
    assert all(row[1] == f"B{row[0]}" for row in fast_rows)
