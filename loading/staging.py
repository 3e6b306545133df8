"""Staging a batch of landed files in the warehouse, where the quality gate checks them.

Each file of a batch goes into one work table (``landing_work.batch``): the
entity's columns as text (empty field = NULL), its file number and a
batch-wide ``_row_id``; the view ``landing_work.batch_lines`` adds each row's
physical line (``_source_line``). Two ways in, with one result:

- **DuckDB's CSV reader** (the fast path): strict RFC 4180 parsing, rejected
  records kept with their line (``store_rejects``). It is used when the file's
  shape is one the reader and the contract agree on exactly: every record on
  one physical line (records + rejected records = lines - 1, so no quoted line
  break and no blank line), and every rejected record either has the wrong
  number of fields or is an unclosed quote on the last line. The rejected
  records become the same bad rows, with the same reasons, as the exact reader
  gives.
- **The exact reader** (``reader.py``) for everything else: multi-line records,
  broken quoting inside the file, blank lines, long fields, and every file-level
  problem (not UTF-8, NUL bytes, header, truncation, control file), whose
  messages name file, line and column.

``tests/loading/test_landing_staging.py`` checks that both ways stage the same
rows, lines and bad rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from include.landing.entities import Entity
from loading.discovery import LandedFile
from loading.reader import (
    FIELD_SIZE_LIMIT,
    UTF8_BOM,
    BadRow,
    ParsedFile,
    read_control,
    read_landed_file,
)

# The work area is an in-memory database attached to the warehouse connection: staged
# rows are never written to the warehouse file (DuckDB spills to its temp directory
# what does not fit the memory limit), and cursors of the connection see it.
WORK_SCHEMA = "landing_work"
BATCH_TABLE = f"{WORK_SCHEMA}.batch"
# Longest line DuckDB's reader takes; longer lines go to the exact reader.
DUCKDB_MAX_LINE_BYTES = 8 * 1024 * 1024
COLUMN_COUNT_ERRORS = ("MISSING COLUMNS", "TOO MANY COLUMNS")
UNCLOSED_QUOTE_ERROR = "UNQUOTED VALUE"
UNCLOSED_QUOTE_AT_END = "broken CSV: unexpected end of data"  # what the exact reader says


@dataclass
class StagedFile:
    """One file of a batch: what the registry and the quarantine need to know about it."""

    landed: LandedFile
    number: int  # ``_file_number`` in the batch table
    checksum: str
    rows_staged: int  # good records, in the batch table
    bad_rows: list[BadRow]  # records that could not be split into the header's fields
    control_file: str | None = None
    # the exact reader's result (its physical lines), when the fast path was not used
    parsed: ParsedFile | None = field(default=None, repr=False)

    @property
    def rows_landed(self) -> int:
        return self.rows_staged + len(self.bad_rows)

    def raw_rows(self, lines: list[int]) -> dict[int, str]:
        """The original text of the records that start on ``lines`` (physical line numbers)."""
        if self.parsed is not None:
            return self.parsed.raw_rows_at(lines)
        return _one_line_records(self.landed.path, lines)


BATCH_LINES = f"{WORK_SCHEMA}.batch_lines"
SKIPS_TABLE = f"{WORK_SCHEMA}.rejected_lines"


def create_batch_table(con: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """An empty batch, its rejected-lines table and the view that numbers lines.

    Rows read by DuckDB carry their record number in the file (``_record``, the
    header not counted); their physical line is that + 1 + the rejected records
    before them (``rejected_lines``: reject i of a file has ``good_before`` good
    records before it). Rows of the exact reader carry their line itself.
    """
    columns = ", ".join(f"{name} varchar" for name in entity.column_names)
    con.execute(f"attach if not exists ':memory:' as {WORK_SCHEMA}")
    con.execute(
        f"create or replace table {BATCH_TABLE} ({columns}, _row_id bigint, _file_number integer, "
        "_record bigint, _line bigint, _source_file varchar, _business_date date)"
    )
    con.execute(
        f"create or replace table {SKIPS_TABLE} "
        "(_file_number integer, good_before bigint, skipped bigint)"
    )
    con.execute(
        f"""
        create or replace view {BATCH_LINES} as
        select batch.*,
            coalesce(batch._line, batch._record + 1 + coalesce(skips.skipped, 0)) as _source_line
        from {BATCH_TABLE} as batch
        asof left join {SKIPS_TABLE} as skips
            on batch._file_number = skips._file_number and batch._record > skips.good_before
        """
    )


def drop_work_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"detach database if exists {WORK_SCHEMA}")


def stage_file(
    con: duckdb.DuckDBPyConnection, landed: LandedFile, number: int, first_row_id: int
) -> StagedFile:
    """Stage one file (rows numbered from ``first_row_id``); raises ``LandingFileError``.

    A file the fast path cannot take exactly is read by the exact reader.
    """
    shape = _file_shape(landed)
    staged = _stage_with_duckdb(con, landed, shape, number, first_row_id) if shape else None
    return staged or _stage_parsed(con, landed, number, first_row_id)


@dataclass(frozen=True)
class _Shape:
    header: list[str]
    lines: int  # physical lines (a last line without newline counts)
    control_file: str | None
    declared_records: int | None  # from the control file


def _file_shape(landed: LandedFile) -> _Shape | None:
    """Header and line count from one pass over the bytes; None when only the exact reader will do.

    NUL bytes, a header that is not the contract's, a missing final newline
    without a control file, or a control file that does not match all go to the
    exact reader, which refuses the file with the right message.
    """
    entity = landed.entity
    newlines, first_line, last_byte = 0, b"", b""
    try:
        with landed.path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                if b"\x00" in chunk:
                    return None
                if not first_line:
                    first_line = chunk.split(b"\n", 1)[0]
                newlines += chunk.count(b"\n")
                last_byte = chunk[-1:]
    except OSError:
        return None
    try:
        header_text = first_line.decode("utf-8").removeprefix(UTF8_BOM).rstrip("\r")
        header = next(csv.reader([header_text], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    if sorted(header) != sorted(entity.column_names):
        return None
    ends_with_newline = last_byte == b"\n"
    lines = newlines if ends_with_newline else newlines + 1
    control_file, declared = None, None
    if landed.control is not None:
        control_file = str(Path(landed.relative_path).with_suffix(".ctl"))
        control = read_control(landed.control, control_file, landed.path.name)
        if control.sha256 != landed.checksum:
            return None
        declared = control.record_count
    elif not ends_with_newline:
        return None
    return _Shape(header, lines, control_file, declared)


def _stage_with_duckdb(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    shape: _Shape,
    number: int,
    first_row_id: int,
) -> StagedFile | None:
    """Read with DuckDB's CSV reader; None when the file's shape needs the exact reader."""
    columns = "{" + ", ".join(f"'{name}': 'varchar'" for name in shape.header) + "}"
    path = str(landed.path).replace("'", "''")
    names = ", ".join(landed.entity.column_names)
    con.begin()  # the file's rows go in whole or not at all
    try:
        good = con.execute(
            f"""
            insert into {BATCH_TABLE}
            select {names}, ? + ordinality - 1, ?, ordinality, null, ?, cast(? as date)
            from read_csv('{path}', header = true, auto_detect = false,
                columns = {columns}, delim = ',', quote = '"', escape = '"',
                strict_mode = true, max_line_size = {DUCKDB_MAX_LINE_BYTES},
                store_rejects = true, rejects_table = 'landing_rejects',
                rejects_scan = 'landing_reject_scans')
            with ordinality
            """,
            [first_row_id, number, landed.relative_path, landed.business_date],
        ).fetchall()[0][0]
        rejects = con.execute(
            "select line, error_type, csv_line from landing_rejects order by line"
        ).fetchall()
    except duckdb.Error:
        con.rollback()
        _drop_rejects(con)
        return None
    bad_rows = _bad_rows(rejects, len(shape.header), shape.lines)
    records = good + len(rejects)
    declared = shape.declared_records
    if bad_rows is None or records != shape.lines - 1 or declared not in (None, records):
        con.rollback()
        _drop_rejects(con)
        return None
    if bad_rows:
        skips = pd.DataFrame(
            {
                "_file_number": number,
                "good_before": [bad.line - 1 - i for i, bad in enumerate(bad_rows, start=1)],
                "skipped": range(1, len(bad_rows) + 1),
            },
            dtype="int64",
        )
        con.register("landing_skips", skips)
        con.execute(f"insert into {SKIPS_TABLE} select * from landing_skips")
        con.unregister("landing_skips")
    con.commit()
    _drop_rejects(con)
    return StagedFile(landed, number, landed.checksum, good, bad_rows, shape.control_file)


def _drop_rejects(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("drop table if exists landing_rejects; drop table if exists landing_reject_scans")


def _bad_rows(rejects: list[tuple], width: int, last_line: int) -> list[BadRow] | None:
    """The exact reader's bad rows for DuckDB's rejected records; None if one is not one-line."""
    bad_rows = []
    for line, error, text in rejects:
        raw = text.rstrip("\r\n")
        if error in COLUMN_COUNT_ERRORS:
            try:
                fields = next(csv.reader([raw], strict=True))
            except csv.Error:
                return None
            if len(fields) == width or any(len(value) > FIELD_SIZE_LIMIT for value in fields):
                return None
            bad_rows.append(BadRow(line, raw, f"expected {width} fields, found {len(fields)}"))
        elif error == UNCLOSED_QUOTE_ERROR and line == last_line and "\n" not in raw:
            bad_rows.append(BadRow(line, raw, UNCLOSED_QUOTE_AT_END))
        else:
            return None
    return bad_rows


def _stage_parsed(
    con: duckdb.DuckDBPyConnection, landed: LandedFile, number: int, first_row_id: int
) -> StagedFile:
    parsed = read_landed_file(landed.path, landed.entity, landed.relative_path, landed.control)
    rows = parsed.rows.rename(columns={"_source_line": "_line"}).assign(
        _row_id=range(first_row_id, first_row_id + len(parsed.rows)),
        _file_number=number,
        _source_file=landed.relative_path,
        _business_date=landed.business_date,
    )
    con.register("landing_parsed_rows", rows)
    try:
        con.execute(f"insert into {BATCH_TABLE} by name select * from landing_parsed_rows")
    finally:
        con.unregister("landing_parsed_rows")
    return StagedFile(
        landed,
        number,
        parsed.checksum,
        len(parsed.rows),
        parsed.bad_rows,
        parsed.control_file,
        parsed,
    )


def _one_line_records(path: Path, lines: list[int]) -> dict[int, str]:
    """Text of the given physical lines of a file whose records are one line each."""
    wanted = set(lines)
    found = {}
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number in wanted:
                found[number] = line.decode("utf-8").rstrip("\r\n")
                if len(found) == len(wanted):
                    break
    return found
