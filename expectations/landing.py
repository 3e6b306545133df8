"""Expectation suites for the landed files, one per entity, built from the landing contract.

The checked datasets are the eleven landing entities of
``include/landing/entities.py``; their suites differ only by the contract, so
they are generated here rather than written out eleven times. What the
contract cannot say (which dates may lie in the future, which column refers to
which parent) is declared below.

GX checks columns, so values that need parsing or a lookup are first turned
into derived columns by :func:`prepare_frame` ("parse and flag"):

- ``<col>__is_valid``: the text parses as the column's type (missing counts as valid;
  the not-null rule covers it), e.g. ``2024-02-30`` is not a valid date;
- ``<col>__value``: the parsed value (NaN/NaT when missing or invalid) for range checks;
- ``<col>__fits_type`` (integers and decimals): the value fits the SQL type dbt staging
  casts it to (``Column.sql_type``: 32-bit ``integer``, ``decimal(p, s)``), counted on the
  text, exactly; ``<col>__fits_scale`` (decimals): no non-zero digit beyond the type's
  scale, so the cast never rounds. Missing or malformed values count as fitting (the
  rules above cover them);
- ``<col>__is_known``: the referenced parent key exists (missing counts as known);
- ``_business_date`` / ``_business_day_end``: the file's business date and the next midnight.

Each expectation's ``meta`` carries the source column and a reason template,
so a quarantined row says in words what is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

import great_expectations as gx
import numpy as np
import pandas as pd
from great_expectations.data_context import AbstractDataContext

from expectations.runner import SuiteRun, raised_exceptions, run_suite, unexpected_rows
from include.landing.entities import (
    DATE,
    DECIMAL,
    ENTITIES_BY_TABLE,
    INTEGER,
    INTEGER_MAX,
    INTEGER_MIN,
    INTEGER_SQL_TYPE,
    TIMESTAMP,
    Column,
    Entity,
)

SUITE_PREFIX = "landing__"


class SuiteError(Exception):
    """An expectation could not be evaluated (configuration or data-type error)."""


# Dates that describe the future by design; every other date or timestamp must
# not be later than the business date of the file that delivered it.
FUTURE_DATES_ALLOWED = frozenset({"maturity_date", "start_date", "end_date"})

# Exact text formats of the landing contract (the parse below rejects impossible dates).
FORMATS = {
    INTEGER: r"[+-]?\d+",
    DECIMAL: r"[+-]?\d+(?:\.\d+)?",
    DATE: r"\d{4}-\d{2}-\d{2}",
    TIMESTAMP: r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}",
}
FORMAT_LABELS = {
    INTEGER: "integer",
    DECIMAL: "decimal (digits, '.' as separator)",
    DATE: "date (YYYY-MM-DD)",
    TIMESTAMP: "timestamp (YYYY-MM-DD HH:MM:SS)",
}
DATETIME_FORMATS = {DATE: "%Y-%m-%d", TIMESTAMP: "%Y-%m-%d %H:%M:%S"}


@dataclass(frozen=True)
class Reference:
    """``column`` of a landed row must name an existing row of ``parent_table``."""

    column: str
    parent_table: str
    parent_column: str


REFERENCES: dict[str, tuple[Reference, ...]] = {
    "core_banking__accounts": (Reference("customer_id", "core_banking__customers", "customer_id"),),
    "core_banking__balances": (Reference("account_id", "core_banking__accounts", "account_id"),),
    "core_banking__transactions": (
        Reference("account_id", "core_banking__accounts", "account_id"),
    ),
    "loans__repayments": (Reference("account_id", "core_banking__accounts", "account_id"),),
    "crm__complaints": (Reference("customer_id", "core_banking__customers", "customer_id"),),
    "crm__campaign_contacts": (Reference("customer_id", "core_banking__customers", "customer_id"),),
}


def suite_name(entity: Entity) -> str:
    return f"{SUITE_PREFIX}{entity.raw_table}"


def load_order() -> list[Entity]:
    """Parents first (customers, then accounts), then the rest in contract order.

    Referential checks then see the parents this run has just loaded.
    """
    depth = {table: 0 for table in ENTITIES_BY_TABLE}
    for _ in ENTITIES_BY_TABLE:  # longest path from a root; the graph is tiny and acyclic
        for table, refs in REFERENCES.items():
            depth[table] = max(depth[ref.parent_table] + 1 for ref in refs)
    parents = {ref.parent_table for refs in REFERENCES.values() for ref in refs}
    tables = list(ENTITIES_BY_TABLE)
    return sorted(
        ENTITIES_BY_TABLE.values(),
        key=lambda e: (
            e.raw_table not in parents,
            depth[e.raw_table] if e.raw_table in parents else 0,
            tables.index(e.raw_table),
        ),
    )


def _meta(column: str, reason: str) -> dict[str, str]:
    return {"column": column, "reason": reason}


def _type_range_reason(column: Column) -> str:
    """Why a well-formed number does not fit the SQL type staging casts the column to."""
    if column.decimal is not None:
        return (
            f"is too large for {column.sql_type} "
            f"(at most {column.decimal.integer_digits} digits before the decimal point)"
        )
    return f"is outside the range of {INTEGER_SQL_TYPE} ({INTEGER_MIN} to {INTEGER_MAX})"


def build_suite(entity: Entity) -> gx.ExpectationSuite:
    """The suite for one entity, from its contract in ``entities.py``.

    GX needs a live context to build suites: call ``expectations.runner.gx_context()`` first.
    """
    suite = gx.ExpectationSuite(name=suite_name(entity))
    add = suite.add_expectation
    for column in entity.columns:
        name = column.name
        if column.required:
            add(
                gx.expectations.ExpectColumnValuesToNotBeNull(
                    column=name, meta=_meta(name, "{column} is missing but required")
                )
            )
        if column.allowed is not None:
            add(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=name,
                    value_set=list(column.allowed),
                    meta=_meta(
                        name, "{column} '{value}' is not one of " + ", ".join(column.allowed)
                    ),
                )
            )
        if column.type in FORMATS:
            add(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=f"{name}__is_valid",
                    value_set=[True],
                    meta=_meta(
                        name, "{column} '{value}' is not a valid " + FORMAT_LABELS[column.type]
                    ),
                )
            )
        if column.type in (INTEGER, DECIMAL):
            add(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=f"{name}__fits_type",
                    value_set=[True],
                    meta=_meta(name, "{column} '{value}' " + _type_range_reason(column)),
                )
            )
        if column.decimal is not None:
            scale = column.decimal.scale
            add(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=f"{name}__fits_scale",
                    value_set=[True],
                    meta=_meta(
                        name,
                        "{column} '{value}' has more than "
                        + f"{scale} decimal places: {column.sql_type} would round it",
                    ),
                )
            )
        # Minimum and maximum are separate expectations so the reason says which one.
        if column.min_value is not None:
            add(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=f"{name}__value",
                    min_value=column.min_value,
                    meta=_meta(
                        name, "{column} {value} is below the minimum " + f"{column.min_value:g}"
                    ),
                )
            )
        if column.max_value is not None:
            add(
                gx.expectations.ExpectColumnValuesToBeBetween(
                    column=f"{name}__value",
                    max_value=column.max_value,
                    meta=_meta(
                        name, "{column} {value} is above the maximum " + f"{column.max_value:g}"
                    ),
                )
            )
        if column.type in DATETIME_FORMATS and name not in FUTURE_DATES_ALLOWED:
            is_date = column.type == DATE
            add(
                gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A="_business_date" if is_date else "_business_day_end",
                    column_B=f"{name}__value",
                    or_equal=is_date,
                    ignore_row_if="either_value_is_missing",
                    meta=_meta(
                        name, "{column} {value} is after the file's business date {business_date}"
                    ),
                )
            )
    for ref in REFERENCES.get(entity.raw_table, ()):
        add(
            gx.expectations.ExpectColumnValuesToBeInSet(
                column=f"{ref.column}__is_known",
                value_set=[True],
                meta=_meta(
                    ref.column,
                    "{column} '{value}' is not a known "
                    + f"{ref.parent_column} (not in raw.{ref.parent_table})",
                ),
            )
        )
    return suite


def build_key_suite(entity: Entity) -> gx.ExpectationSuite:
    """The key is unique within each file (the same key in several files is a later delivery).

    Run on the rows that passed :func:`build_suite` only: a broken copy of a row
    must not take the good row down with it.
    """
    suite = gx.ExpectationSuite(name=f"{suite_name(entity)}__keys")
    key = ", ".join(entity.key)
    suite.add_expectation(
        gx.expectations.ExpectCompoundColumnsToBeUnique(
            column_list=[*entity.key, "_source_file"],
            meta=_meta(key, "{column} {value} appears more than once in {source_file}"),
        )
    )
    return suite


def run_suites(
    context: AbstractDataContext, entity: Entity, frame: pd.DataFrame
) -> tuple[list[SuiteRun], pd.DataFrame]:
    """Row rules, then key uniqueness on the surviving rows.

    ``frame`` comes from :func:`prepare_frame`. Returns the runs and one row per
    failing row (indexed like ``frame``) with ``rule`` and ``reason``, each
    joining every expectation the row broke with "; ". Raises
    :class:`SuiteError` when an expectation could not be evaluated at all.
    """
    runs = [run_suite(context, build_suite(entity), frame)]
    found = unexpected_rows(runs[0])
    failing = sorted({index for _, _, indexes in found for index in indexes})
    survivors = frame.drop(index=failing)
    if len(survivors):
        runs.append(run_suite(context, build_key_suite(entity), survivors))
        found += unexpected_rows(runs[-1])
    broken = [problem for run in runs for problem in raised_exceptions(run)]
    if broken:
        raise SuiteError("landing suite could not run: " + "; ".join(broken))
    return runs, failure_table(frame, found)


def failure_table(
    frame: pd.DataFrame, found: list[tuple[str, dict[str, str], list[int]]]
) -> pd.DataFrame:
    """One row per failing row: the rules it broke and why, in words."""
    parts = [
        pd.DataFrame(
            {"rule": rule, "reason": describe_failures(frame, indexes, meta)}, index=indexes
        )
        for rule, meta, indexes in found
    ]
    if not parts:
        return pd.DataFrame({"rule": [], "reason": []}, dtype="str")
    table = pd.concat(parts)
    repeated = table.index.duplicated(keep=False)
    # Most failing rows break one rule; only the others need the (slow) group-and-join.
    joined = table[repeated].groupby(level=0).agg("; ".join)
    return pd.concat([table[~repeated], joined]).sort_index()


def _parse(values: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """(is_valid, parsed value) for one typed column; missing is valid with a missing value."""
    present = values.notna()
    well_formed = values.str.fullmatch(FORMATS[kind]).fillna(False).astype(bool)
    if kind in DATETIME_FORMATS:
        parsed = pd.to_datetime(
            values.where(well_formed), format=DATETIME_FORMATS[kind], errors="coerce"
        )
    else:
        parsed = pd.to_numeric(values.where(well_formed), errors="coerce")
    return (~present | parsed.notna()), parsed


def fits_type(values: pd.Series, column: Column) -> tuple[pd.Series, pd.Series]:
    """(fits the type's range, fits its scale) of a numeric column, exactly, on the text.

    Counted on the digits, not on a float, so ``9999999999999999.99`` fits
    ``decimal(18, 2)`` and ``10000000000000000.00`` does not. Missing and malformed
    values fit (the not-null and format rules cover them).
    """
    well_formed = values.str.fullmatch(FORMATS[column.type]).fillna(False).astype(bool)
    text = values.where(well_formed, "0").astype("str")
    negative = text.str.startswith("-").to_numpy(dtype=bool)
    unsigned = text.str.lstrip("+-")
    whole = unsigned.str.lstrip("0")  # no leading zeros; "0.5" -> ".5", "000" -> ""
    point = whole.str.find(".").to_numpy(dtype=np.int64)
    integer_digits = np.where(point >= 0, point, whole.str.len().to_numpy(dtype=np.int64))
    ones = pd.Series(True, index=values.index)
    if column.decimal is not None:
        in_range = integer_digits <= column.decimal.integer_digits
        dot = unsigned.str.find(".").to_numpy(dtype=np.int64)
        significant = unsigned.str.rstrip("0").str.len().to_numpy(dtype=np.int64)
        decimals = np.where(dot >= 0, significant - dot - 1, 0)
        in_scale = decimals <= column.decimal.scale
        return pd.Series(in_range, index=values.index), pd.Series(in_scale, index=values.index)
    width = len(str(INTEGER_MAX))
    in_range = integer_digits < width
    edge = np.flatnonzero(integer_digits == width)
    if len(edge):
        digits = whole.to_numpy(dtype=object)[edge]
        limits = np.where(negative[edge], str(-INTEGER_MIN), str(INTEGER_MAX))
        in_range[edge] = digits <= limits.astype(object)
    return pd.Series(in_range, index=values.index), ones


def prepare_frame(
    rows: pd.DataFrame, entity: Entity, known_keys: dict[str, pd.Series] | None = None
) -> pd.DataFrame:
    """Add the derived columns the suite checks.

    ``rows`` holds the entity's columns as text plus ``_source_file`` and
    ``_business_date``; ``known_keys`` maps each referencing column to the
    parent keys that exist (already-loaded raw data plus this run's parents).
    """
    frame = rows.copy()
    frame["_business_date"] = pd.to_datetime(frame["_business_date"])
    frame["_business_day_end"] = frame["_business_date"] + pd.Timedelta(days=1)
    for column in entity.columns:
        if column.type in FORMATS:
            frame[f"{column.name}__is_valid"], frame[f"{column.name}__value"] = _parse(
                frame[column.name], column.type
            )
        if column.type in (INTEGER, DECIMAL):
            in_range, in_scale = fits_type(frame[column.name], column)
            frame[f"{column.name}__fits_type"] = in_range
            if column.decimal is not None:
                frame[f"{column.name}__fits_scale"] = in_scale
    for ref in REFERENCES.get(entity.raw_table, ()):
        keys = (known_keys or {}).get(ref.column, pd.Series([], dtype="str"))
        values = frame[ref.column]
        frame[f"{ref.column}__is_known"] = (values.isna() | values.isin(keys)).astype(bool)
    return frame


def _as_text(values: pd.Series) -> pd.Series:
    return values.astype("object").where(values.notna(), None).map(str)


def describe_failures(frame: pd.DataFrame, indexes: list[int], meta: dict[str, str]) -> pd.Series:
    """Fill an expectation's reason template for each failing row (vectorised).

    A batch may hold a million failing rows (say, every transaction of an account
    file that was rejected), so no per-row Python formatting.
    """
    rows = frame.loc[indexes]
    columns = [c.strip() for c in meta.get("column", "").split(",") if c.strip() in rows.columns]
    if len(columns) == 1:
        value = _as_text(rows[columns[0]])
    else:
        texts = [_as_text(rows[column]) for column in columns]
        value = "(" + texts[0].str.cat(texts[1:], sep=", ") + ")" if texts else "?"
    fields = {
        "column": meta.get("column", "?"),
        "value": value,
        "business_date": rows["_business_date"].dt.strftime("%Y-%m-%d"),
        "source_file": rows["_source_file"] if "_source_file" in rows.columns else "?",
    }
    reason = pd.Series("", index=rows.index, dtype="object")
    for literal, name, _, _ in Formatter().parse(meta.get("reason", "failed")):
        reason = reason + literal
        if name is not None:
            reason = reason + fields[name]
    return reason
