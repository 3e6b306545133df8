"""Reading one landed file: physical line numbers, bad rows, file-level refusals."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from include.landing.control import control_file_text, control_path_for
from include.landing.entities import ENTITIES_BY_TABLE
from loading import reader
from loading.reader import LandingFileError, read_landed_file, sha256_hex

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
    assert parsed.raw_rows_at([2, 6]) == {
        2: 'B1,"Main\nStreet",Shanghai,East',
        6: "B4,Fourth,Beijing,North",
    }
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
    ("tail", "words"),
    [
        ("B2,cut", "file is truncated"),  # no final newline, too few fields: cut off
        ('B2,"cut', "file is truncated"),  # no final newline, quote never closed
        ("B2,a,b,c", "file is possibly truncated"),  # looks complete, may be cut in a field
        ("B2,a,b,66", "file is possibly truncated"),  # e.g. 668 cut from 66812.50
        (None, None),  # a bad last row that was written that way (with newline): quarantined
    ],
)
def test_a_file_without_a_final_newline_is_refused_as_truncated(
    tmp_path: Path, tail: str | None, words: str | None
) -> None:
    path = write(tmp_path, HEADER + "B1,a,b,c\n" + (tail or "B2,cut\n"))
    if words:
        with pytest.raises(LandingFileError) as error:
            read_landed_file(path, BRANCHES, "f.csv")
        assert str(error.value).startswith(f"f.csv: line 3, column {len(tail) + 1}: {words}")
    else:
        assert read_landed_file(path, BRANCHES, "f.csv").rows_landed == 2


def test_a_header_only_file_without_a_newline_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LandingFileError, match="f.csv: line 1, column 34: file is possibly"):
        read_landed_file(write(tmp_path, HEADER.rstrip("\n")), BRANCHES, "f.csv")


def with_control(
    tmp_path: Path, content: str, count: int | None = None, checksum: str = ""
) -> Path:
    """A data file and its control file (record count and sha256 as given, or the true ones)."""
    path = write(tmp_path, content)
    lines = content.count("\n") + (not content.endswith("\n"))
    control = control_path_for(path)
    control.write_text(
        control_file_text(
            path.name,
            lines - 1 if count is None else count,
            checksum or sha256_hex(content.encode()),
        )
    )
    return path


def test_a_control_file_proves_a_file_complete_even_without_a_final_newline(
    tmp_path: Path,
) -> None:
    path = with_control(tmp_path, HEADER + "B1,a,b,c\nB2,a,b,c")
    parsed = read_landed_file(path, BRANCHES, "x/branches_20250101.csv", control_path_for(path))
    assert parsed.rows_landed == 2
    assert parsed.control_file == "x/branches_20250101.ctl"


def test_a_file_cut_inside_a_number_is_refused_by_its_control_file(tmp_path: Path) -> None:
    complete = HEADER + "B1,a,b,c\nB2,a,b,66812.50\n"
    path = with_control(tmp_path, complete[:-5], count=2, checksum=sha256_hex(complete.encode()))
    with pytest.raises(LandingFileError) as error:
        read_landed_file(path, BRANCHES, "x/branches_20250101.csv", control_path_for(path))
    message = str(error.value)
    assert message.startswith("x/branches_20250101.csv: line 1, column 1: sha256 ")
    assert "in its control file branches_20250101.ctl (line 2, column 3)" in message


@pytest.mark.parametrize(("count", "line"), [(3, 4), (1, 3)])
def test_a_record_count_different_from_the_control_file_is_refused(
    tmp_path: Path, count: int, line: int
) -> None:
    path = with_control(tmp_path, HEADER + "B1,a,b,c\nB2,a,b,c\n", count=count)
    with pytest.raises(LandingFileError) as error:
        read_landed_file(path, BRANCHES, "f.csv", control_path_for(path))
    assert str(error.value).startswith(
        f"f.csv: line {line}, column 1: the file's record count is 2 but its control file f.ctl says "
        f"{count} (line 2, column 2)"
    )


@pytest.mark.parametrize(
    ("control", "position", "words"),
    [
        ("file_name,rows\nx,1\n", (1, 1), "header must be file_name,record_count,sha256"),
        ("file_name,record_count,sha256\nother.csv,1,ab\n", (2, 1), "'other.csv' is not"),
        ("file_name,record_count,sha256\nbranches_20250101.csv,two,ab\n", (2, 2), "'two'"),
        ("file_name,record_count,sha256\nbranches_20250101.csv,1,ab\n", (2, 3), "'ab' is not"),
    ],
)
def test_a_broken_control_file_refuses_its_data_file_naming_line_and_column(
    tmp_path: Path, control: str, position: tuple[int, int], words: str
) -> None:
    path = write(tmp_path, HEADER + "B1,a,b,c\n")
    control_path_for(path).write_text(control)
    with pytest.raises(LandingFileError) as error:
        read_landed_file(path, BRANCHES, "x/branches_20250101.csv", control_path_for(path))
    line, column = position
    assert str(error.value).startswith(
        f"x/branches_20250101.ctl: line {line}, column {column}: control file: "
    )
    assert words in str(error.value)


def test_a_field_far_over_128_kib_loads_verbatim(tmp_path: Path) -> None:
    long_name = "长" * 300_000 + ',"quoted"\nand a line break'
    escaped = long_name.replace('"', '""')
    parsed = read_landed_file(write(tmp_path, HEADER + f'B1,"{escaped}",c,d\n'), BRANCHES)
    assert parsed.bad_rows == []
    assert parsed.rows.loc[0, "branch_name"] == long_name


def test_a_field_over_the_limit_is_a_bad_row_that_names_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "FIELD_SIZE_LIMIT", 1000)
    content = HEADER + "B1," + "x" * 2000 + ",c,d\nB2,a,b,c\n"
    parsed = read_landed_file(write(tmp_path, content), BRANCHES)
    assert parsed.rows["branch_id"].tolist() == ["B2"]
    [bad] = parsed.bad_rows
    assert bad.line == 2 and "longer than the limit of 1,000 characters" in bad.reason
