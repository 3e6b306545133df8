"""Expectation suites for the landed files, one per entity, built from the landing contract.

The checked datasets are the eleven landing entities of
``include/landing/entities.py``; their suites differ only by the contract, so
they are generated here rather than written out eleven times. What the
contract cannot say (which dates may lie in the future) is declared below; which
column refers to which parent is part of the contract (``REFERENCES``).

The suites run where the rows are: the loader stages each batch of files in
the warehouse, and GX's SQL engine evaluates them inside DuckDB
(``warehouse_source.py`` has the small adapter this needs). GX checks columns,
so values that need parsing or a lookup are first turned into derived columns
of the checked table, :func:`checked_rows_sql` ("parse and flag"):

- ``<col>__is_valid``: the text parses as the column's type (missing counts as valid;
  the not-null rule covers it), e.g. ``2024-02-30`` is not a valid date;
- ``<col>__value``: the parsed value (NULL when missing or invalid) for range checks;
- ``<col>__fits_type`` (integers and decimals): the value fits the SQL type dbt staging
  casts it to (``Column.sql_type``: 32-bit ``integer``, ``decimal(p, s)``), counted on the
  text, exactly; ``<col>__fits_scale`` (decimals): no non-zero digit beyond the type's
  scale, so the cast never rounds. Missing or malformed values count as fitting (the
  rules above cover them);
- ``<col>__is_known``: the referenced parent key exists (missing counts as known);
- ``<col>__is_text`` (text columns without an allowed list): the value holds no control
  character other than tab, line feed and carriage return (:data:`CONTROL_CHARACTERS`);
  ``<col>__control_character`` names the first one and where it is, for the reason;
- ``_business_date`` / ``_business_day_end``: the file's business date and the next midnight.

Each expectation's ``meta`` carries the source column and a reason template,
so a quarantined row says in words what is wrong with it; the failing rows are
the ones GX's own query for each failed expectation returns.
"""

from __future__ import annotations

from string import Formatter
from typing import NamedTuple

import duckdb
import great_expectations as gx
from great_expectations.data_context import AbstractDataContext

from expectations.runner import (
    SuiteRun,
    raised_exceptions,
    run_suite_on_table,
    unexpected_index_queries,
)
from expectations.warehouse_source import schema_cursor, warehouse_source
from include.landing.entities import (
    DATE,
    DECIMAL,
    INTEGER,
    INTEGER_MAX,
    INTEGER_MIN,
    INTEGER_SQL_TYPE,
    REFERENCES,
    STRING,
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

# Control characters text may not hold (an RE2 class): C0 except tab, line feed and
# carriage return, DEL and C1. Everything else in text loads verbatim. They are
# invisible, mostly come from a broken export (binary, terminal escapes, text decoded
# with the wrong code page: U+0085 is "…" in cp1252), XML 1.0 cannot carry them and
# HTML calls them parse errors, so a bank's next system would choke on them: the row
# is quarantined rather than loaded, and never cleaned. NUL never gets here: it
# refuses the whole file (loading/reader.py). include/landing/README.md, "Text".
CONTROL_CHARACTERS = r"[\x01-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
CONTROL_CHARACTER_REASON = (
    "{column} holds the control character {value}: text may hold no control character "
    "but tab, line feed and carriage return"
)


def is_free_text(column: Column) -> bool:
    """A text column without an allowed list: checked for control characters."""
    return column.type == STRING and column.allowed is None


def suite_name(entity: Entity) -> str:
    return f"{SUITE_PREFIX}{entity.raw_table}"


def _meta(column: str, reason: str, value: str = "") -> dict[str, str]:
    """``value``: the column whose text stands for ``{value}`` in the reason (default ``column``)."""
    return {"column": column, "reason": reason, **({"value": value} if value else {})}


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
        if is_free_text(column):
            add(
                gx.expectations.ExpectColumnValuesToBeInSet(
                    column=f"{name}__is_text",
                    value_set=[True],
                    meta=_meta(name, CONTROL_CHARACTER_REASON, f"{name}__control_character"),
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


# --- "parse and flag" in SQL, where the rows are -------------------------------------

ROW_ID = "_row_id"  # a batch's row number: how GX names the failing rows


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _parsed_value_sql(column: Column) -> str:
    """The parsed value of a well-formed text (NULL when missing, malformed or impossible)."""
    name = column.name
    well_formed = f"regexp_full_match({name}, {_quote(FORMATS[column.type])})"
    if column.type in DATETIME_FORMATS:
        parsed = f"try_strptime({name}, {_quote(DATETIME_FORMATS[column.type])})"
        # years 1-9999 only: DuckDB would read year 0000 as 1 BC
        parsed = f"case when {parsed} >= timestamp '0001-01-01' then {parsed} end"
        if column.type == DATE:
            parsed = f"cast({parsed} as date)"
    else:
        parsed = f"try_cast({name} as double)"
    return f"case when {well_formed} then {parsed} end"


def _fits_type_sql(column: Column) -> dict[str, str]:
    """``<col>__fits_type`` (and ``__fits_scale``), counted on the digits of the text, exactly.

    So ``9999999999999999.99`` fits ``decimal(18, 2)`` and ``10000000000000000.00``
    does not; ``1.500`` has 2 decimals that count (trailing zeros do not). Missing
    and malformed values fit (the not-null and format rules cover them).
    """
    name = column.name
    text = f"(case when regexp_full_match({name}, {_quote(FORMATS[column.type])}) then {name} else '0' end)"
    unsigned = f"ltrim({text}, '+-')"
    whole = f"ltrim({unsigned}, '0')"  # no leading zeros: "0.5" -> ".5", "000" -> ""
    integer_digits = f"(case when strpos({whole}, '.') > 0 then strpos({whole}, '.') - 1 else length({whole}) end)"
    if column.decimal is not None:
        dot = f"(strpos({unsigned}, '.') - 1)"
        decimals = (
            f"(case when {dot} >= 0 then length(rtrim({unsigned}, '0')) - {dot} - 1 else 0 end)"
        )
        return {
            f"{name}__fits_type": f"{integer_digits} <= {column.decimal.integer_digits}",
            f"{name}__fits_scale": f"{decimals} <= {column.decimal.scale}",
        }
    width = len(str(INTEGER_MAX))
    limit = f"(case when starts_with({text}, '-') then '{-INTEGER_MIN}' else '{INTEGER_MAX}' end)"
    return {
        f"{name}__fits_type": (
            f"{integer_digits} < {width} or ({integer_digits} = {width} and {whole} <= {limit})"
        )
    }


def checked_rows_sql(entity: Entity, batch_table: str, raw_schema: str) -> str:
    """A staged batch with the derived columns the suite checks (a ``select``).

    The batch holds the entity's columns as text plus ``_row_id``, ``_source_file``
    and ``_business_date``; parent keys are looked up in ``raw_schema`` (this
    run's parents were loaded before their children). Every flag is true or false,
    never NULL (GX does not count a NULL as unexpected).
    """
    derived = [
        "cast(_business_date as timestamp) + interval 1 day as _business_day_end",
    ]
    for column in entity.columns:
        name = column.name
        if column.type in FORMATS:
            value = _parsed_value_sql(column)
            derived.append(f"{value} as {name}__value")
            derived.append(
                f"coalesce({name} is null or {value} is not null, false) as {name}__is_valid"
            )
        if column.type in (INTEGER, DECIMAL):
            for flag, condition in _fits_type_sql(column).items():
                derived.append(f"coalesce({condition}, true) as {flag}")
        if is_free_text(column):
            pattern = _quote(CONTROL_CHARACTERS)
            derived.append(
                f"coalesce(not regexp_matches({name}, {pattern}), true) as {name}__is_text"
            )
            # e.g. "U+0001 at character 7" (only read for the rows that fail)
            first = f"regexp_extract({name}, {pattern})"
            derived.append(
                f"case when regexp_matches({name}, {pattern}) then "
                f"'U+' || upper(printf('%04x', unicode({first}))) || ' at character ' || "
                f"(strpos({name}, {first})) end as {name}__control_character"
            )
    for ref in REFERENCES.get(entity.raw_table, ()):
        derived.append(
            f"coalesce({ref.column} is null or {ref.column} in (select {ref.parent_column} "
            f"from {raw_schema}.{ref.parent_table}), false) as {ref.column}__is_known"
        )
    return f"select *, {', '.join(derived)} from {batch_table}"


def reason_sql(meta: dict[str, str]) -> str:
    """An expectation's reason template as a SQL expression over the checked view."""
    columns = [c.strip() for c in meta.get("value", meta.get("column", "")).split(",") if c.strip()]
    texts = [f"coalesce(cast({column} as varchar), 'None')" for column in columns]
    if len(texts) == 1:
        value = texts[0]
    else:
        value = f"'(' || concat_ws(', ', {', '.join(texts)}) || ')'" if texts else "'?'"
    fields = {
        "column": _quote(meta.get("column", "?")),
        "value": value,
        "business_date": "strftime(_business_date, '%Y-%m-%d')",
        "source_file": "_source_file",
    }
    parts = []
    for literal, name, _, _ in Formatter().parse(meta.get("reason", "failed")):
        if literal:
            parts.append(_quote(literal))
        if name is not None:
            parts.append(fields[name])
    return " || ".join(parts) or "''"


class LandingCheck(NamedTuple):
    """The suites' runs on a batch and the work tables they leave.

    ``checked``: every staged row with the derived columns; ``failures``: one row
    per failing row, ``_row_id``, ``rule`` and ``reason``, each joining every
    expectation the row broke with "; " in suite order.
    """

    runs: list[SuiteRun]
    checked: str
    failures: str


def run_landing_suites(
    con: duckdb.DuckDBPyConnection,
    context: AbstractDataContext,
    entity: Entity,
    batch_table: str,
    work_schema: str,
    raw_schema: str,
) -> LandingCheck:
    """Row rules, then key uniqueness on the surviving rows, run by GX inside DuckDB.

    ``batch_table`` (a table or a view) holds the staged rows; they are read
    once, into ``checked``, which the loader then writes from. The failing rows
    are GX's own: each failed expectation's ``unexpected_index_query`` is run in
    the warehouse, never pulled into Python.
    Raises :class:`SuiteError` when an expectation could not be evaluated at all.
    """
    checked = f"{work_schema}.checked"
    survivors = f"{work_schema}.survivors"
    found = f"{work_schema}.failed_expectations"
    failures = f"{work_schema}.failures"
    # A table, not a view: every derived column is computed once, and GX's queries
    # (one bundled count, then one per failed expectation) read plain columns.
    con.execute(
        f"create or replace table {checked} as {checked_rows_sql(entity, batch_table, raw_schema)}"
    )
    con.execute(
        f"create or replace table {found} "
        f"({ROW_ID} bigint, position integer, rule varchar, reason varchar)"
    )
    work = schema_cursor(con, work_schema)  # runs GX's failing-rows queries (unqualified names)
    try:
        with warehouse_source(context, f"{SUITE_PREFIX}warehouse", con, work_schema) as source:
            runs = [run_suite_on_table(source, build_suite(entity), "checked", ROW_ID)]
            _raise_if_broken(runs[0])
            position = _collect_failures(work, runs[0], checked, found, 0)
            # Only the key suite's columns: GX's uniqueness query joins group counts
            # back to every column of the table it checks.
            key_columns = ", ".join([*entity.key, "_source_file", "_business_date"])
            con.execute(
                f"create or replace table {survivors} as select {ROW_ID}, {key_columns} "
                f"from {checked} anti join {found} using ({ROW_ID})"
            )
            key_run = run_suite_on_table(source, build_key_suite(entity), "survivors", ROW_ID)
            runs.append(key_run)
            _raise_if_broken(key_run)
            _collect_failures(work, key_run, checked, found, position, survivors)
    finally:
        work.close()
    con.execute(
        f"""
        create or replace table {failures} as
        select {ROW_ID},
            string_agg(rule, '; ' order by position) as rule,
            string_agg(reason, '; ' order by position) as reason
        from {found}
        group by {ROW_ID}
        """
    )
    return LandingCheck(runs, checked, failures)


def _raise_if_broken(run: SuiteRun) -> None:
    broken = raised_exceptions(run)
    if broken:
        raise SuiteError("landing suite could not run: " + "; ".join(broken))


def _collect_failures(
    con: duckdb.DuckDBPyConnection,
    run: SuiteRun,
    checked: str,
    found: str,
    position: int,
    validated: str = "",
) -> int:
    """Store the rows each failed expectation of ``run`` flags, with its rule and reason.

    The rows are those of GX's own failing-rows query, run in the warehouse. One
    exception: for compound uniqueness GX 1.24 returns a query that cross-joins
    the table with its answer (``FROM survivors, (...)``), so those rows are
    selected by the expectation's definition on ``validated`` instead. Either
    way the number of rows must equal GX's ``unexpected_count``.
    """
    for rule, meta, query, expected in unexpected_index_queries(run):
        position += 1
        if rule.startswith(UNIQUE_KEY_EXPECTATION):
            query = _duplicate_rows_sql(validated, _rule_columns(rule))
        [(added,)] = con.execute(
            f"""
            insert into {found}
            select {ROW_ID}, {position}, {_quote(rule)}, {reason_sql(meta)}
            from {checked}
            where {ROW_ID} in (select {ROW_ID} from ({query.strip().rstrip(";")}))
            """
        ).fetchall()
        if added != expected:
            raise SuiteError(
                f"{rule}: GX counted {expected} failing rows, its query returned {added}"
            )
    return position


UNIQUE_KEY_EXPECTATION = "expect_compound_columns_to_be_unique("


def _rule_columns(rule: str) -> list[str]:
    return [name.strip() for name in rule[rule.index("(") + 1 : -1].split(",")]


def _duplicate_rows_sql(table: str, columns: list[str]) -> str:
    """Rows whose combination of ``columns`` occurs more than once (not all missing)."""
    names = ", ".join(columns)
    present = " or ".join(f"{name} is not null" for name in columns)
    return (
        f"select {ROW_ID} from {table} where ({present}) and ({names}) in "
        f"(select ({names}) from {table} group by all having count(*) > 1)"
    )
