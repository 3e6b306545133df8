"""Staging a batch of landed files in the warehouse, where the quality gate checks them.

Each file of a batch becomes a work table of its own (``landing_work.file_<n>``,
written once by one ``create table as``: about twice as fast as appending every
file to one table, whose commit of a file costs more than reading it), holding
the entity's columns as text (empty field = NULL), its file number and a
batch-wide ``_row_id``. Once the batch is staged, :func:`seal_batch` writes them
into one table, ``landing_work.batch``, with each row's physical line
(``_source_line``). Two ways in, with one result:

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

from include.warehouse import in_any_order
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


def _file_table(number: int) -> str:
    return f"{WORK_SCHEMA}.file_{number}"


def start_batch(con: duckdb.DuckDBPyConnection) -> None:
    """An empty work area (the tables of the batch before are dropped with it)."""
    drop_work_schema(con)
    con.execute(f"attach ':memory:' as {WORK_SCHEMA}")


def seal_batch(con: duckdb.DuckDBPyConnection, staged: list[StagedFile]) -> None:
    """The batch table: the rows of the batch's files, each with its physical line.

    Written in one statement in any order: a scan of many small file tables that
    keeps their order runs on one thread.
    """
    files = " union all ".join(
        f"select * exclude (_record, _line), {_source_line_sql(file)} as _source_line "
        f"from {_file_table(file.number)}"
        for file in staged
    )
    with in_any_order(con):
        con.execute(f"create table {BATCH_TABLE} as {files}")
    for file in staged:
        con.execute(f"drop table {_file_table(file.number)}")


def _source_line_sql(staged: StagedFile) -> str:
    """A row's physical line: the exact reader's ``_line``, or from DuckDB's record number.

    DuckDB numbers the good records (``_record``, the header not counted), so a
    record's line is ``_record`` + 1 + the rejected records before it. Reject i
    of the file (in line order) has ``line - 1 - i`` good records before it;
    the count of those below ``_record`` is a binary search written as nested
    CASEs: a few comparisons per row and no join, where a join on the rejects
    costs a sort of the whole batch.
    """
    if staged.parsed is not None:
        return "_line"
    good_before = [bad.line - 1 - i for i, bad in enumerate(staged.bad_rows, start=1)]

    def rejects_before(low: int, high: int) -> str:
        """How many of ``good_before[low:high]`` are below ``_record``, plus ``low``."""
        if low == high:
            return str(low)
        middle = (low + high) // 2
        return (
            f"case when _record > {good_before[middle]} then {rejects_before(middle + 1, high)} "
            f"else {rejects_before(low, middle)} end"
        )

    return f"_record + 1 + {rejects_before(0, len(good_before))}"


def drop_work_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"detach database if exists {WORK_SCHEMA}")


def _work_columns(
    landed: LandedFile, number: int, first_row_id: int, record: str, line: str
) -> tuple[str, list]:
    """The select list of a file table and its parameters: every file's table has these
    columns and types (``row_number`` counts the file's good records from 1)."""
    columns = [f"cast({name} as varchar) as {name}" for name in landed.entity.column_names]
    select = ", ".join(
        [
            *columns,
            "cast(? as bigint) + row_number - 1 as _row_id",
            "cast(? as integer) as _file_number",
            f"cast({record} as bigint) as _record",
            f"cast({line} as bigint) as _line",
            "cast(? as varchar) as _source_file",
            "cast(? as date) as _business_date",
        ]
    )
    return select, [first_row_id, number, landed.relative_path, landed.business_date]


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
    table = _file_table(number)
    select, parameters = _work_columns(landed, number, first_row_id, "row_number", "null")
    try:
        con.execute(
            f"""
            create table {table} as
            select {select}
            from (
                select *, ordinality as row_number
                from read_csv('{path}', header = true, auto_detect = false,
                    columns = {columns}, delim = ',', quote = '"', escape = '"',
                    strict_mode = true, max_line_size = {DUCKDB_MAX_LINE_BYTES},
                    store_rejects = true, rejects_table = 'landing_rejects',
                    rejects_scan = 'landing_reject_scans')
                with ordinality
            )
            """,
            parameters,
        )
        [(good,)] = con.execute(f"select count(*) from {table}").fetchall()
        rejects = con.execute(
            "select line, error_type, csv_line from landing_rejects order by line"
        ).fetchall()
    except duckdb.Error:
        _discard(con, table)
        return None
    bad_rows = _bad_rows(rejects, len(shape.header), shape.lines)
    records = good + len(rejects)
    declared = shape.declared_records
    if bad_rows is None or records != shape.lines - 1 or declared not in (None, records):
        _discard(con, table)
        return None
    _drop_rejects(con)
    return StagedFile(landed, number, landed.checksum, good, bad_rows, shape.control_file)


def _discard(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop what the fast path staged of a file: the exact reader stages it instead."""
    con.execute(f"drop table if exists {table}")
    _drop_rejects(con)


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
    con.register(
        "landing_parsed_rows", parsed.rows.assign(row_number=range(1, len(parsed.rows) + 1))
    )
    try:
        select, parameters = _work_columns(landed, number, first_row_id, "null", "_source_line")
        con.execute(
            f"create table {_file_table(number)} as select {select} from landing_parsed_rows",
            parameters,
        )
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
