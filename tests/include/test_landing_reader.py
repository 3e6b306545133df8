"""Reading one landed file: physical line numbers, bad rows, file-level refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from include.landing.entities import ENTITIES_BY_TABLE
from include.landing.reader import LandingFileError, read_landed_file, sha256_hex

BRANCHES = ENTITIES_BY_TABLE["reference__branches"]
HEADER = "branch_id,branch_name,city,region\n"


def write(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "branches_20250101.csv"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def test_good_rows_keep_physical_line_numbers_and_bad_rows_are_set_apart(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + 'B1,"Main\nStreet",Shanghai,East\n'  # lines 2-3: one record, quoted newline
        + "B2,Short,Shanghai\n"  # line 4: 3 fields
        + 'B3,"open quote,Shanghai,East\n'  # line 5: unbalanced quote
        + "B4,Fourth,Beijing,North\n"  # line 6: good again after resync
        + "\n"  # line 7: blank
        + "B5,,Beijing,North\n",  # line 8: empty field -> missing
    )
    parsed = read_landed_file(path, BRANCHES, "x/branches_20250101.csv")

    assert parsed.rows["branch_id"].tolist() == ["B1", "B4", "B5"]
    assert parsed.rows["_source_line"].tolist() == [2, 6, 8]
    assert parsed.rows.loc[0, "branch_name"] == "Main\nStreet"
    assert pd.isna(parsed.rows.loc[2, "branch_name"])
    assert [(bad.line, bad.raw_row) for bad in parsed.bad_rows] == [
        (4, "B2,Short,Shanghai"),
        (5, 'B3,"open quote,Shanghai,East'),
        (7, ""),
    ]
    assert parsed.bad_rows[0].reason == "expected 4 fields, found 3"
    assert parsed.rows_landed == 6
    assert parsed.raw_row(0) == 'B1,"Main\nStreet",Shanghai,East'
    assert parsed.checksum == sha256_hex(path.read_bytes())


def test_unterminated_quote_at_end_costs_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "B1,a,b,c\n" + 'B2,"never closed,b,c\n' + "B3,a,b,c\n")
    parsed = read_landed_file(path, BRANCHES)
    assert parsed.rows["_source_line"].tolist() == [2, 4]
    assert [bad.line for bad in parsed.bad_rows] == [3]


def test_columns_may_come_in_another_order(tmp_path: Path) -> None:
    path = write(tmp_path, "region,city,branch_name,branch_id\nEast,Shanghai,Main,B1\n")
    parsed = read_landed_file(path, BRANCHES)
    assert list(parsed.rows.columns[:4]) == list(BRANCHES.column_names)
    assert parsed.rows.iloc[0, :4].tolist() == ["B1", "Main", "Shanghai", "East"]


def test_large_file_fast_path_matches_line_numbers(tmp_path: Path) -> None:
    rows = [f"B{i},Name {i},City,Region\n" for i in range(50_000)]
    rows[30_000] = "broken,row\n"  # a bad row inside the second parse chunk
    parsed = read_landed_file(write(tmp_path, HEADER + "".join(rows)), BRANCHES)
    assert len(parsed.rows) == 49_999
    assert [bad.line for bad in parsed.bad_rows] == [30_002]
    numbers = parsed.rows["_source_line"]
    assert numbers.iloc[-1] == 50_001
    assert parsed.rows.loc[numbers == 30_003, "branch_id"].item() == "B30001"


def test_non_utf8_file_names_file_line_and_column(tmp_path: Path) -> None:
    content = (HEADER + "B1,ok,Shanghai,East\nB2,北京").encode("utf-8") + b"\xff" + b",x,y\n"
    with pytest.raises(LandingFileError) as error:
        read_landed_file(write(tmp_path, content), BRANCHES, "ref/branches_20250101.csv")
    assert (error.value.line, error.value.column) == (3, 6)  # after "B2,北京" (5 characters)
    assert str(error.value).startswith(
        "ref/branches_20250101.csv: line 3, column 6: not valid UTF-8"
    )


@pytest.mark.parametrize(
    ("header", "column", "words"),
    [
        ("branch_id,branch_nm,city,region", 2, "'branch_nm'"),  # renamed
        ("branch_id,branch_name,city", 4, "lacks column(s) region"),  # missing
        ("branch_id,branch_name,city,region,extra", 5, "'extra'"),  # extra
        ("branch_id,branch_name,city,city", 4, "repeats column 'city'"),  # repeated
    ],
)
def test_header_different_from_the_contract_is_refused(
    tmp_path: Path, header: str, column: int, words: str
) -> None:
    with pytest.raises(LandingFileError) as error:
        read_landed_file(write(tmp_path, header + "\nB1,a,b,c\n"), BRANCHES, "f.csv")
    assert (error.value.line, error.value.column) == (1, column)
    assert words in str(error.value)


@pytest.mark.parametrize("content", [b"", b"\n\n", "\ufeff".encode()])
def test_empty_file_is_refused(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(LandingFileError, match="f.csv: line 1, column 1: file is empty"):
        read_landed_file(write(tmp_path, content), BRANCHES, "f.csv")


def test_header_only_file_is_a_valid_empty_delivery(tmp_path: Path) -> None:
    parsed = read_landed_file(write(tmp_path, "\ufeff" + HEADER), BRANCHES)
    assert parsed.rows_landed == 0
    assert list(parsed.rows.columns) == [*BRANCHES.column_names, "_source_line"]


def test_a_file_that_cannot_be_opened_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LandingFileError, match="f.csv: line 1, column 1: cannot be read"):
        read_landed_file(tmp_path, BRANCHES, "f.csv")  # a folder, not a file


@pytest.mark.parametrize(
    ("tail", "truncated"),
    [
        ("B2,cut", True),  # no final newline, too few fields: cut off in transfer
        ('B2,"cut', True),  # no final newline, quote never closed
        ("B2,cut\n", False),  # a bad last row that was written that way: quarantined
        ("B2,a,b,c", False),  # complete last record without a final newline: accepted
    ],
)
def test_a_file_cut_mid_record_is_truncated(tmp_path: Path, tail: str, truncated: bool) -> None:
    path = write(tmp_path, HEADER + "B1,a,b,c\n" + tail)
    if truncated:
        with pytest.raises(LandingFileError, match=r"f.csv: line 3, column \d+: file is truncated"):
            read_landed_file(path, BRANCHES, "f.csv")
    else:
        assert read_landed_file(path, BRANCHES, "f.csv").rows_landed == 2
