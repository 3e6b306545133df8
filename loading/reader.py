"""Reading one landed CSV file into rows that keep their physical line numbers.

File-level problems (cannot be opened, not UTF-8, binary content, empty, header
not the entity's columns, possibly truncated, not what its control file
describes) raise :class:`LandingFileError`: the file cannot be trusted and is
rejected whole. Row-level problems (wrong number of fields, broken quoting) only
make that row a bad row, which the loader quarantines while the rest of the file
loads.

**Completeness.** A delivery cut off mid-write or mid-transfer must not load as
if it were whole: a cut inside the last number (``668`` from ``66812.50``) still
looks like a complete record. So:

- with a **control file** (``control.py``: record count and sha256, beside the
  data file), the file is complete when both match; a mismatch refuses it,
  naming both files. A control file also makes a missing final newline harmless.
- **without** one, every record must end with a newline, as the contract says:
  a file whose last line has no final newline is refused as possibly truncated
  (its last record may be cut anywhere, and the rest of the file is missing too,
  so loading the part that arrived would make the complete re-delivery load
  those rows a second time). A cut that falls exactly after a newline cannot be
  seen without a control file: deliver files atomically (write, then rename).

Fields may be long (free text): the csv module's default limit of 128 KiB per
field is raised to :data:`FIELD_SIZE_LIMIT` characters; a longer field (most
likely an unclosed quote running on) makes a bad row that says so.

Line numbers are physical: the header is line 1 and a quoted field holding a
newline makes its record span several lines (the record keeps its first line).
After a bad record the parser resynchronises on the next physical line, so an
unterminated quote costs one line, not the rest of the file.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from include.landing.control import (
    RECORD_COUNT_AT,
    SHA256_AT,
    ControlFile,
    ControlFileError,
    parse_control_file,
)
from include.landing.entities import Entity

UTF8_BOM = "\ufeff"
# Longest field accepted, in characters (the whole file is in memory anyway); the
# bound keeps an unclosed quote from making the parser scan the rest of a big file.
FIELD_SIZE_LIMIT = 16 * 1024 * 1024


class LandingFileError(Exception):
    """A landed file that cannot be loaded at all; the message names file, line and column."""

    def __init__(self, path: str, line: int, column: int, problem: str) -> None:
        self.path = path
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"{path}: line {line}, column {column}: {problem}")


@dataclass(frozen=True)
class BadRow:
    """A record that could not be split into the header's fields."""

    line: int
    raw_row: str
    reason: str


@dataclass
class ParsedFile:
    """The good records of a file as strings (``None`` = empty field) plus its bad records.

    ``rows`` has the entity's columns in contract order and ``_source_line``;
    ``lines`` keeps the physical lines so a row rejected later can be quarantined
    with its original text (see :meth:`raw_row`).
    """

    path: str
    entity: Entity
    checksum: str
    rows: pd.DataFrame
    bad_rows: list[BadRow]
    lines: list[str] = field(repr=False)
    # last physical line of each good record, parallel to ``rows``
    record_ends: np.ndarray = field(repr=False)
    # the control file that proved the file complete, if there was one
    control_file: str | None = None

    @property
    def rows_landed(self) -> int:
        return len(self.rows) + len(self.bad_rows)

    def raw_rows_at(self, lines: list[int]) -> dict[int, str]:
        """Original text of the good records that start on the given physical lines."""
        starts = self.rows["_source_line"].to_numpy()
        positions = np.searchsorted(starts, np.asarray(lines, dtype=np.int64))
        return dict(zip(lines, self.raw_rows(positions), strict=True))

    def raw_rows(self, positions: np.ndarray) -> list[str]:
        """Original text of the good records at ``positions`` (a quoted newline spans lines)."""
        firsts = self.rows["_source_line"].to_numpy()[positions]
        lasts = self.record_ends[positions]
        return [
            _strip_newline(self.lines[first - 1])
            if first == last
            else _strip_newline("".join(self.lines[first - 1 : last]))
            for first, last in zip(firsts.tolist(), lasts.tolist(), strict=True)
        ]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_checksum(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks so big files do not sit in memory twice."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def decode_utf8(data: bytes, path: str) -> str:
    """Decode strictly; a bad byte is reported by line and (character) column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        line_start = data.rfind(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8", errors="replace")) + 1
        bad = data[error.start : error.end].hex()
        raise LandingFileError(
            path, line, column, f"not valid UTF-8 (byte 0x{bad}: {error.reason})"
        ) from None
    return text[1:] if text.startswith(UTF8_BOM) else text


def split_physical_lines(text: str) -> list[str]:
    """Lines with their ``\\n`` kept (csv needs it inside quoted fields); numbering = ``\\n`` count.

    ``str.splitlines`` is avoided on purpose: it also breaks on characters such
    as U+2028 that may sit inside a field, which would shift line numbers.
    """
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _position(text: str, offset: int) -> tuple[int, int]:
    """(line, column) of a character offset, both counted from 1."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def check_text(text: str, path: str) -> None:
    """Refuse an empty file and binary content (a NUL byte never occurs in CSV text)."""
    if not text or text.isspace():
        raise LandingFileError(path, 1, 1, "file is empty (expected a header row)")
    nul = text.find("\x00")
    if nul >= 0:
        line, column = _position(text, nul)
        raise LandingFileError(path, line, column, "NUL byte: binary content, not a CSV text file")


def check_not_truncated(bad_rows: list[BadRow], lines: list[str], path: str) -> None:
    """Without a control file, refuse a file whose last line has no final newline.

    An incomplete last record (too few fields, an unclosed quote) is certainly cut
    off; a complete-looking one may be cut inside its last field. Either way the
    file is refused.
    """
    last = lines[-1]
    if last.endswith("\n"):
        return
    if len(lines) >= 2 and bad_rows and bad_rows[-1].line == len(lines):
        problem = (
            f"file is truncated: it ends mid-record without a final newline "
            f"({bad_rows[-1].reason}); re-deliver the complete file"
        )
    else:
        problem = (
            "file is possibly truncated: it does not end with a newline, so its last "
            "record may have been cut off in transfer; re-deliver the complete file "
            "(ending with a newline) or deliver a control file that proves it complete"
        )
    raise LandingFileError(path, len(lines), len(last) + 1, problem)


def read_control(control: Path, display: str, data_name: str) -> ControlFile:
    """Read the control file of a data file; problems name the control file, line and column."""
    try:
        data = control.read_bytes()
    except OSError as error:
        raise LandingFileError(
            display, 1, 1, f"control file cannot be read: {error.strerror or error}"
        ) from None
    try:
        return parse_control_file(data, data_name)
    except ControlFileError as error:
        raise LandingFileError(
            display, error.line, error.column, f"control file: {error.problem}"
        ) from None


def check_control_checksum(control: ControlFile, checksum: str, path: str, display: str) -> None:
    if control.sha256 != checksum:
        line, column = SHA256_AT
        raise LandingFileError(
            path,
            1,
            1,
            f"sha256 {checksum} differs from {control.sha256} in its control file {display} "
            f"(line {line}, column {column}): the file is not the one the control file "
            "describes (cut or changed in transfer); re-deliver both",
        )


def check_control_count(
    control: ControlFile, records: _Records, lines: list[str], path: str, display: str
) -> None:
    found = len(records.firsts) + len(records.bad)
    if found == control.record_count:
        return
    if found < control.record_count:
        line = len(lines) + 1
    else:
        starts = sorted([*records.firsts, *(bad.line for bad in records.bad)])
        line = starts[control.record_count]
    at_line, at_column = RECORD_COUNT_AT
    raise LandingFileError(
        path,
        line,
        1,
        f"the file's record count is {found} but its control file {display} says "
        f"{control.record_count} (line {at_line}, column {at_column}): the delivery is "
        "incomplete or the control file is wrong; re-deliver both",
    )


def check_header(header: list[str], entity: Entity, path: str) -> list[str]:
    """The header must hold exactly the entity's columns (any order); returns it unchanged."""
    expected = entity.column_names
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise LandingFileError(path, 1, position, f"header repeats column '{name}'")
        seen.add(name)
        if name not in expected:
            missing = [column for column in expected if column not in header]
            hint = f"; missing: {', '.join(missing)}" if missing else ""
            raise LandingFileError(
                path,
                1,
                position,
                f"header has column '{name}' that {entity.raw_table} does not define{hint}",
            )
    missing = [column for column in expected if column not in seen]
    if missing:
        raise LandingFileError(
            path,
            1,
            len(header) + 1,
            f"header lacks column(s) {', '.join(missing)} required by {entity.raw_table}",
        )
    return header


def _strip_newline(text: str) -> str:
    return text.rstrip("\r\n")


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Millions of small lists trigger the cyclic GC over and over (3x slower); none are cyclic."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _Records:
    """Good records (fields flattened row by row) with their first/last physical lines."""

    width: int
    fields: list[str] = field(default_factory=list)
    firsts: list[int] = field(default_factory=list)
    lasts: list[int] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


def _csv_reason(error: csv.Error) -> str:
    if "field larger than field limit" in str(error):
        return (
            f"broken CSV: a field is longer than the limit of {FIELD_SIZE_LIMIT:,} characters "
            "(an unclosed quote?)"
        )
    return f"broken CSV: {error}"


@contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Raise the csv module's per-field limit (process-wide) while one file is parsed."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _parse_careful(lines: list[str], start: int, stop: int, out: _Records) -> int:
    """Parse records starting at index ``start`` until one ends at or past ``stop``.

    Returns the index of the first line not consumed. A bad record costs only its
    first line: parsing restarts on the next physical line with a fresh reader.
    """
    while start < stop:
        feed = iter(lines)
        feed.__setstate__(start)  # resume the list iterator at ``start`` without copying
        reader = csv.reader(feed, strict=True)
        consumed = 0
        while start + consumed < stop:
            first = start + consumed + 1  # physical line number of the next record
            try:
                record = next(reader)
            except StopIteration:
                return len(lines)
            except csv.Error as error:
                out.bad.append(BadRow(first, _strip_newline(lines[first - 1]), _csv_reason(error)))
                break
            consumed = reader.line_num
            last = start + consumed
            if len(record) == out.width:
                out.fields.extend(record)
                out.firsts.append(first)
                out.lasts.append(last)
            elif not record:
                # A blank line holds no data, but it is still a record to csv
                # readers; quarantining it keeps "landed = loaded + quarantined"
                # true for anyone counting records independently.
                out.bad.append(BadRow(first, "", "blank line"))
            else:
                reason = f"expected {out.width} fields, found {len(record)}"
                if last > first:
                    reason += f" (record runs over lines {first}-{last}: unbalanced quote?)"
                out.bad.append(BadRow(first, _strip_newline(lines[first - 1]), reason))
                if last > first:
                    break
        else:
            return start + consumed
        start = first  # index of the line after the bad record's first line
    return start


def parse_records(lines: list[str], width: int, chunk: int = 20_000) -> _Records:
    """Split data lines (physical line 2 onwards) into records of ``width`` fields.

    Fast path per chunk: when every line of the chunk is exactly one well-formed
    record, line numbers are implied. Otherwise that chunk is parsed record by
    record (multi-line quoted fields, bad rows, blank lines).
    """
    out = _Records(width)
    start = 1
    while start < len(lines):
        stop = min(start + chunk, len(lines))
        try:
            records = list(csv.reader(lines[start:stop], strict=True))
        except csv.Error:
            records = []
        if len(records) == stop - start and all(len(record) == width for record in records):
            out.fields.extend(itertools.chain.from_iterable(records))
            numbers = range(start + 1, stop + 1)
            out.firsts.extend(numbers)
            out.lasts.extend(numbers)
            start = stop
        else:
            start = _parse_careful(lines, start, stop, out)
    return out


def records_frame(records: _Records, header: list[str], entity: Entity) -> pd.DataFrame:
    """Columns in contract order as pandas strings; empty fields become missing."""
    flat = pa.array(records.fields, type=pa.string())
    count = len(records.firsts)
    null = pa.scalar(None, pa.string())
    columns = {}
    for name in entity.column_names:
        values = pc.take(flat, np.arange(header.index(name), count * records.width, records.width))
        columns[name] = pc.if_else(pc.equal(values, ""), null, values)
    frame = pa.table(columns, schema=pa.schema([(name, pa.string()) for name in columns]))
    rows = frame.to_pandas()
    rows["_source_line"] = np.asarray(records.firsts, dtype="int64")
    return rows


def read_landed_file(
    path: Path, entity: Entity, display_path: str | None = None, control: Path | None = None
) -> ParsedFile:
    """Read a landed CSV; ``display_path`` (relative to the landing root) names it in errors.

    ``control`` is the file's control file, when one was delivered (``control.py``).
    """
    name = display_path or str(path)
    control_name = str(Path(name).with_suffix(".ctl")) if control is not None else None
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LandingFileError(name, 1, 1, f"cannot be read: {error.strerror or error}") from None
    checksum = sha256_hex(data)
    declared = None
    if control is not None and control_name is not None:
        declared = read_control(control, control_name, path.name)
        check_control_checksum(declared, checksum, name, Path(control_name).name)
    text = decode_utf8(data, name)
    check_text(text, name)
    lines = split_physical_lines(text)
    with _no_cyclic_gc(), _csv_field_limit(FIELD_SIZE_LIMIT):
        try:
            header = next(csv.reader([lines[0]], strict=True))
        except csv.Error as error:
            raise LandingFileError(name, 1, 1, f"header is not valid CSV: {error}") from None
        check_header(header, entity, name)
        records = parse_records(lines, len(header))
        if declared is not None and control_name is not None:
            check_control_count(declared, records, lines, name, Path(control_name).name)
        else:
            check_not_truncated(records.bad, lines, name)
        rows = records_frame(records, header, entity)
    return ParsedFile(
        path=name,
        entity=entity,
        checksum=checksum,
        rows=rows,
        bad_rows=records.bad,
        lines=lines,
        record_ends=np.asarray(records.lasts, dtype=np.int64),
        control_file=control_name,
    )
