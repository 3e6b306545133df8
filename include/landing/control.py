"""Control files: the sender's proof that a landed file arrived complete.

A control file sits beside its data file under the same name with ``.ctl`` instead
of ``.csv`` (``transactions_20250102.csv`` -> ``transactions_20250102.ctl``) and
holds, like the trailer or control files banks commonly exchange, the data file's
name, its record count and its checksum, as a two-line UTF-8 CSV::

    file_name,record_count,sha256
    transactions_20250102.csv,2,9f2c...e1

``record_count`` counts data records after the header (a record whose quoted field
holds a line break counts once); ``sha256`` is the hex digest of the data file's
bytes. Control files are optional: see ``include/landing/README.md`` for what the
loader does with and without one.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

CONTROL_SUFFIX = ".ctl"
CONTROL_HEADER = ("file_name", "record_count", "sha256")
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# (line, column) of the values in a control file, for messages
RECORD_COUNT_AT = (2, 2)
SHA256_AT = (2, 3)


class ControlFileError(Exception):
    """A control file that cannot be used; ``line`` and ``column`` point into it."""

    def __init__(self, line: int, column: int, problem: str) -> None:
        self.line = line
        self.column = column
        self.problem = problem
        super().__init__(f"line {line}, column {column}: {problem}")


@dataclass(frozen=True)
class ControlFile:
    file_name: str
    record_count: int
    sha256: str  # lower-case hex


def control_path_for(data_path: Path) -> Path:
    """Where the control file of ``data_path`` would be."""
    return data_path.with_suffix(CONTROL_SUFFIX)


def control_file_text(file_name: str, record_count: int, sha256: str) -> str:
    """The content of a control file (for senders, the sample generator and tests)."""
    return f"{','.join(CONTROL_HEADER)}\n{file_name},{record_count},{sha256}\n"


def parse_control_file(data: bytes, data_file_name: str) -> ControlFile:
    """Parse and check a control file's bytes; raises :class:`ControlFileError`."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ControlFileError(line, 1, f"not valid UTF-8 ({error.reason})") from None
    try:
        records = [record for record in csv.reader(text.splitlines(), strict=True) if record]
    except csv.Error as error:
        raise ControlFileError(1, 1, f"not valid CSV: {error}") from None
    if not records or tuple(records[0]) != CONTROL_HEADER:
        raise ControlFileError(1, 1, f"header must be {','.join(CONTROL_HEADER)}")
    if len(records) != 2:
        raise ControlFileError(
            min(len(records) + 1, 3), 1, f"expected one data line, found {len(records) - 1}"
        )
    values = records[1]
    if len(values) != len(CONTROL_HEADER):
        raise ControlFileError(2, 1, f"expected 3 fields, found {len(values)}")
    file_name, count, checksum = values
    if file_name != data_file_name:
        raise ControlFileError(2, 1, f"file_name '{file_name}' is not {data_file_name}")
    if not count.isdigit():
        raise ControlFileError(*RECORD_COUNT_AT, f"record_count '{count}' is not a count")
    if not SHA256_HEX.fullmatch(checksum):
        raise ControlFileError(*SHA256_AT, f"sha256 '{checksum}' is not 64 hexadecimal digits")
    return ControlFile(file_name, int(count), checksum.lower())
