"""Injected defects ("dirt") and the manifest that lists each one.

Every defective row is an *extra* row (a copy of a real row of the same file with
a fresh key, then broken, written right after it), so the clean data stays whole
and a pipeline that quarantines exactly the manifest's rows ends with the clean
data. Late-arriving transactions are real rows moved to a file 1-10 days after
their date; a re-delivered file is a byte copy named with the suffix
``redelivered``. Which rows get a defect is decided row by row with random numbers
keyed by the row's customer (``include/bank_generator/writer.py`` writes them).

Each row defect breaks one rule of the landing contract
(``include/landing/entities.py``) and only that one, whatever the copied row held:

- ``malformed_field_count``: one field fewer or one more than the header;
- ``broken_quoting``: a quote that never closes (so always a file's last line);
- ``orphan_key``: a parent key of the right shape above every id the bank has;
- ``negative_value``: below the column's minimum, also where the value was zero
  or missing (``0.00`` becomes ``-0.01``, never ``-0.00``, which equals zero);
- ``unparseable_date`` / ``unparseable_number``: text no contract format accepts;
- ``future_birth_date``: a birth date after the file's business date;
- ``unknown_enum``: a value outside the column's allowed list.

``tests/include/test_dirt_manifest.py`` loads a dirty bank and checks that the
quarantine equals the manifest row for row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from include.landing.entities import DATE, DECIMAL, INTEGER, TIMESTAMP, Column, Entity

FOREIGN_KEYS = {
    "accounts": "customer_id",
    "transactions": "account_id",
    "balances": "account_id",
    "repayments": "account_id",
    "complaints": "customer_id",
    "campaign_contacts": "customer_id",
}
ROW_KINDS = (
    "malformed_field_count",
    "broken_quoting",
    "orphan_key",
    "negative_value",
    "unparseable_date",
    "unparseable_number",
    "future_birth_date",
    "unknown_enum",
)
LATE = "late_arriving"
REDELIVERED = "redelivered_file"
MANIFEST_COLUMNS = ("file", "line", "kind", "column")
BAD_DATES = ("2025-13-45", "31/12/2025", "not a date", "20250101")
BAD_NUMBERS = ("12.3.4", "abc", "1 000.00", "NaN?")
UNKNOWN_VALUES = ("UNKNOWN", "other_value", "x")


@dataclass(frozen=True)
class KeySpace:
    """A bank's keys of one kind: ``prefix`` + ``digits`` zero-padded digits, numbers 1..count."""

    prefix: str
    digits: int
    count: int

    def absent(self, offset: int) -> str:
        """A key of the same shape that names no row: its number is above ``count``."""
        return f"{self.prefix}{self.count + 1 + offset:0{self.digits}d}"


def below_minimum(text: str, column: Column) -> str:
    """``text`` made negative, so below ``column.min_value`` (0 or 1 in the contract).

    A zero keeps its scale but gets a last digit of 1 (``0.00`` -> ``-0.01``) and a
    missing value becomes ``-1``: ``-0`` would still be a valid zero.
    """
    magnitude = text.lstrip("+-") or "1"
    if Decimal(magnitude) == 0:
        magnitude = magnitude[:-1] + "1"
    value = "-" + magnitude
    if column.min_value is None or Decimal(value) >= Decimal(str(column.min_value)):
        raise ValueError(f"{value} is not below the minimum of {column.name}")
    return value


def kind_columns(entity: Entity, kind: str) -> list[str]:
    """Columns a row defect of ``kind`` can hit in ``entity`` ([""] = whole row)."""
    cols = entity.columns
    if kind in ("malformed_field_count", "broken_quoting"):
        return [""]
    if kind == "orphan_key":
        return [FOREIGN_KEYS[entity.name]] if entity.name in FOREIGN_KEYS else []
    if kind == "negative_value":
        return [c.name for c in cols if c.min_value is not None]
    if kind == "unparseable_date":
        return [c.name for c in cols if c.type in (DATE, TIMESTAMP)]
    if kind == "unparseable_number":
        return [c.name for c in cols if c.type in (DECIMAL, INTEGER)]
    if kind == "future_birth_date":
        return ["birth_date"] if entity.name == "customers" else []
    if kind == "unknown_enum":
        return [c.name for c in cols if c.allowed]
    raise ValueError(f"unknown dirt kind {kind}")


def usable_kinds(entity: Entity) -> list[str]:
    """The row defects ``entity`` can carry (none for snapshots)."""
    if entity.delivery == "snapshot":
        return []
    return [kind for kind in ROW_KINDS if kind_columns(entity, kind)]


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _line(fields: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return out.getvalue()


def defect_line(
    rng: np.random.Generator,
    entity: Entity,
    values: dict[str, object],
    kind: str,
    column: str,
    serial: int,
    business_date: str,
    parents: Mapping[str, KeySpace],
) -> str:
    """A broken copy of a row (``values``) with a fresh key (one CSV line, with newline).

    ``parents`` maps each foreign-key column to the keys that exist, so an orphan
    names none of them.
    """
    fields = {name: _text(values[name]) for name in entity.column_names}
    key = entity.key[0]
    if len(entity.key) == 1:
        fields[key] = f"{fields[key]}-D{serial}"
    if kind == "orphan_key":
        fields[column] = parents[column].absent(int(rng.integers(10**6, 10**7)))
    elif kind == "negative_value":
        fields[column] = below_minimum(fields[column], entity.column(column))
    elif kind == "unparseable_date":
        fields[column] = BAD_DATES[rng.integers(len(BAD_DATES))]
    elif kind == "unparseable_number":
        fields[column] = BAD_NUMBERS[rng.integers(len(BAD_NUMBERS))]
    elif kind == "future_birth_date":
        later = np.datetime64(business_date) + int(rng.integers(30, 3000))
        fields[column] = str(later)
    elif kind == "unknown_enum":
        allowed = entity.column(column).allowed or ()
        unknown = [value for value in UNKNOWN_VALUES if value not in allowed]
        fields[column] = unknown[rng.integers(len(unknown))]
    values_out = list(fields.values())
    if kind == "malformed_field_count":
        values_out = values_out[:-1] if rng.random() < 0.5 else [*values_out, "extra"]
    if kind == "broken_quoting":
        # No other quote on the line, so the one opened never closes (a closing
        # quote could re-split the fields into the header's count).
        values_out = [value.replace('"', "") for value in values_out]
        return ",".join([values_out[0], '"' + values_out[1], *values_out[2:]]) + "\n"
    return _line(values_out)
