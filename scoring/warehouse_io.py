"""The only scoring module that talks to the warehouse (DuckDB, or PostgreSQL on
``WAREHOUSE_TARGET=postgres``: every function takes a ``Location``,
``include.warehouse.warehouse_location(settings)``; the SQL is the same on both).

Reads the marts dbt builds (fct_customer_months, fct_customer_signal_months,
fct_transactions, mart_customer_loyalty) and the risk-band seed, never a staging
table: every business figure scoring uses is a mart column. It writes two
tables dbt reads back as sources: ``scores.customer_scores`` (columns exactly
``SCORE_COLUMNS``) and ``scores.score_drift`` (``DRIFT_COLUMNS``). Writing a score
date is idempotent: inside one transaction the date's rows are deleted and the new
ones inserted, so re-scoring a date replaces it and other dates stay as history.

Each call opens the warehouse for as short a time as it can (DuckDB allows one
writing process per file; run writers in the ``duckdb_writer`` pool).

Reads take a :class:`CustomerSlice`: a bank too large to hold in memory at once
is scored (and trained on) a deterministic slice of its customers at a time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from include.warehouse import Location, Session, session
from scoring.churn_model import RiskBand
from scoring.customer_value import ACTIVITY_COLUMNS
from scoring.features import MART_COLUMNS, SIGNAL_COLUMNS, as_dates

MART_TABLE = ("marts", "fct_customer_months")
SIGNAL_TABLE = ("marts", "fct_customer_signal_months")
SCORES_TABLE = ("scores", "customer_scores")
DRIFT_TABLE = ("scores", "score_drift")
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("score_date", "DATE"),
    ("customer_id", "VARCHAR"),
    ("feature_month_start_date", "DATE"),
    ("churn_probability", "DOUBLE"),
    ("churn_risk_band", "VARCHAR"),
    ("reason_code_1", "VARCHAR"),
    ("reason_code_2", "VARCHAR"),
    ("reason_code_3", "VARCHAR"),
    ("reason_summary", "VARCHAR"),
    ("expected_transactions_12m", "DOUBLE"),
    ("probability_alive", "DOUBLE"),
    ("expected_value_per_transaction", "DOUBLE"),
    ("predicted_value_12m", "DOUBLE"),
    ("segment_id", "INTEGER"),
    ("segment_name", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("scored_at", "TIMESTAMP"),
)
REQUIRED_SCORE_COLUMNS = (
    "score_date",
    "customer_id",
    "feature_month_start_date",
    "churn_probability",
    "churn_risk_band",
    "model_version",
    "run_id",
    "scored_at",
)
DRIFT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("score_date", "DATE"),
    ("variable", "VARCHAR"),
    ("psi", "DOUBLE"),
    ("status", "VARCHAR"),
    ("rows", "BIGINT"),
    ("reference_rows", "BIGINT"),
    ("model_version", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("computed_at", "TIMESTAMP"),
)


# A stable, non-negative hash of a text column per engine: the slices (and the
# training sample) differ between engines, but each is the same every run.
_SLICE_HASH = {
    "duckdb": "hash({column})",
    "postgres": "abs(hashtext({column})::bigint)",
}


@dataclass(frozen=True)
class CustomerSlice:
    """The customers whose ``hash(customer_id) % slices`` is ``index``: one of ``slices``
    disjoint parts that together hold every customer (both engines' hashes are stable)."""

    index: int = 0
    slices: int = 1

    def condition(self, column: str = "customer_id", engine: str = "duckdb") -> str:
        if self.slices == 1:
            return "true"
        hashed = _SLICE_HASH[engine].format(column=column)
        return f"{hashed} % {self.slices} = {self.index}"

    def describe(self) -> str:
        return "all customers" if self.slices == 1 else f"slice {self.index + 1} of {self.slices}"


EVERY_CUSTOMER = CustomerSlice()


def customer_slices(warehouse: Location, customers_per_slice: int) -> list[CustomerSlice]:
    """Slices of about ``customers_per_slice`` customers of fct_customer_months each."""
    with session(warehouse) as con:
        [(customers,)] = con.fetchall(
            f"select count(distinct customer_id) from {'.'.join(MART_TABLE)}"
        )
    slices = max(1, math.ceil(customers / max(customers_per_slice, 1)))
    return [CustomerSlice(index, slices) for index in range(slices)]


def _read_mart(
    warehouse: Location,
    table: tuple[str, str],
    columns: tuple[str, ...],
    through: date,
    customers: CustomerSlice,
) -> pd.DataFrame:
    """``columns`` of a customer-month mart with ``month_start_date <= through``."""
    if isinstance(warehouse, Path) and not warehouse.is_file():
        raise FileNotFoundError(f"{warehouse}: warehouse file not found (run load and dbt)")
    schema, name = table
    with session(warehouse) as con:
        present = {column for column, _ in con.column_types(schema, name)}
        if not present:
            raise LookupError(f"{warehouse}: table {schema}.{name} not found (run dbt)")
        missing = [column for column in columns if column not in present]
        if missing:
            raise LookupError(f"{warehouse}: {schema}.{name} lacks column(s) {', '.join(missing)}")
        frame = con.frame(
            f"select {', '.join(columns)} from {schema}.{name} where month_start_date <= ? "
            f"and {_slice(con, customers)} order by customer_id, month_start_date",
            [through],
        )
    frame["month_start_date"] = as_dates(frame["month_start_date"])
    return frame


def _slice(con: Session, customers: CustomerSlice) -> str:
    return customers.condition(engine=con.engine)


def read_customer_months(
    warehouse: Location, through: date, customers: CustomerSlice = EVERY_CUSTOMER
) -> pd.DataFrame:
    """fct_customer_months rows up to the month ``through``, by customer and month."""
    return _read_mart(warehouse, MART_TABLE, MART_COLUMNS, through, customers)


def read_signal_months(
    warehouse: Location, through: date, customers: CustomerSlice = EVERY_CUSTOMER
) -> pd.DataFrame:
    """fct_customer_signal_months rows (signals + label) up to the month ``through``."""
    return _read_mart(warehouse, SIGNAL_TABLE, SIGNAL_COLUMNS, through, customers)


def read_customer_activity(
    warehouse: Location,
    as_of: date,
    feature_month: date,
    customers: CustomerSlice = EVERY_CUSTOMER,
) -> pd.DataFrame:
    """Per customer with a customer-initiated transaction up to ``as_of``: first and last
    transaction day and transaction days, and the transaction days and contribution of the
    (at most 12) months up to ``feature_month`` (scoring.customer_value).

    The months before ``as_of``'s month come from fct_customer_months (its transaction
    days, first and last customer-initiated dates), only ``as_of``'s month up to
    ``as_of`` from fct_transactions: a month of transactions read, not the history, and
    the same figures whatever date the warehouse was built to."""
    as_of_month = as_of.replace(day=1)
    window_start = (pd.Timestamp(feature_month) - pd.DateOffset(months=11)).date()
    window_end = min((pd.Timestamp(feature_month) + pd.offsets.MonthEnd(0)).date(), as_of)
    with session(warehouse) as con:
        frame = con.frame(
            """
            with earlier_months as (
                -- one scan of the customer months: the activity of the months before
                -- as_of's month, the contribution of the window's months
                select
                    customer_id,
                    min(case when month_start_date < ? then first_customer_initiated_date end)
                        as first_transaction_date,
                    max(case when month_start_date < ? then last_customer_initiated_date end)
                        as last_transaction_date,
                    sum(
                        case
                            when month_start_date < ? then customer_initiated_transaction_days
                            else 0
                        end
                    ) as transaction_days,
                    sum(
                        case
                            when month_start_date between ? and ? and month_start_date < ?
                                then customer_initiated_transaction_days
                            else 0
                        end
                    ) as window_transaction_days,
                    sum(
                        case when month_start_date between ? and ? then contribution_amount end
                    ) as window_contribution_amount
                from marts.fct_customer_months
                where month_start_date <= ? and {customers}
                group by customer_id
            ),
            as_of_month as (
                select
                    customer_id,
                    min(transaction_date) as first_transaction_date,
                    max(transaction_date) as last_transaction_date,
                    count(distinct transaction_date) as transaction_days,
                    count(distinct case when transaction_date <= ? then transaction_date end)
                        as window_transaction_days
                from marts.fct_transactions
                where is_customer_initiated and customer_id is not null
                    and transaction_date >= ? and transaction_date <= ? and {customers}
                group by customer_id
            ),
            per_customer as (
                select
                    coalesce(earlier_months.customer_id, as_of_month.customer_id) as customer_id,
                    coalesce(
                        earlier_months.first_transaction_date, as_of_month.first_transaction_date
                    ) as first_transaction_date,
                    coalesce(
                        as_of_month.last_transaction_date, earlier_months.last_transaction_date
                    ) as last_transaction_date,
                    coalesce(earlier_months.transaction_days, 0)
                        + coalesce(as_of_month.transaction_days, 0) as transaction_days,
                    coalesce(earlier_months.window_transaction_days, 0)
                        + coalesce(as_of_month.window_transaction_days, 0)
                        as window_transaction_days,
                    earlier_months.window_contribution_amount
                from earlier_months
                full outer join as_of_month
                    on earlier_months.customer_id = as_of_month.customer_id
            )
            select *
            from per_customer
            where transaction_days > 0
            order by per_customer.customer_id
            """.format(customers=_slice(con, customers)),
            # earlier_months, as_of_month
            [as_of_month] * 3
            + [window_start, feature_month, as_of_month, window_start, feature_month, as_of_month]
            + [window_end, as_of_month, as_of],
        )
    return frame.loc[:, list(ACTIVITY_COLUMNS)]


def read_customer_holdings(
    warehouse: Location, customers: CustomerSlice = EVERY_CUSTOMER
) -> pd.DataFrame:
    """customer_id and product_depth (marts.mart_customer_loyalty, as float). The share
    of investment accounts comes with the signal mart (``read_signal_months``)."""
    with session(warehouse) as con:
        return con.frame(
            "select customer_id, cast(product_depth as double precision) as product_depth "
            f"from marts.mart_customer_loyalty where {_slice(con, customers)} order by customer_id"
        )


def read_risk_bands(warehouse: Location) -> tuple[RiskBand, ...]:
    """The seed churn_risk_bands as (band, minimum probability), by minimum."""
    with session(warehouse) as con:
        bands = tuple(
            (str(name), float(minimum))
            for name, minimum in con.fetchall(
                "select churn_risk_band, cast(min_churn_probability as double precision)"
                " from seeds.churn_risk_bands order by min_churn_probability"
            )
        )
    if not bands:
        raise LookupError(f"{warehouse}: seeds.churn_risk_bands has no bands")
    return bands


def check_scores_frame(scores: pd.DataFrame, band_names: Sequence[str]) -> None:
    """Fail naming the row and column of the first value that breaks the table contract."""
    expected = [name for name, _ in SCORE_COLUMNS]
    if list(scores.columns) != expected:
        raise ValueError(f"scores frame: columns {list(scores.columns)}, expected {expected}")
    for column in REQUIRED_SCORE_COLUMNS:
        nulls = scores[column].isna().to_numpy()
        if nulls.any():
            raise ValueError(f"scores frame: row {int(nulls.argmax())}, column {column}: NULL")
    probability = scores["churn_probability"].astype(float).to_numpy()
    outside = (probability < 0.0) | (probability > 1.0)
    if outside.any():
        row = int(outside.argmax())
        raise ValueError(
            f"scores frame: row {row}, column churn_probability: {probability[row]} not in [0, 1]"
        )
    bad_band = ~scores["churn_risk_band"].isin(band_names).to_numpy()
    if bad_band.any():
        row = int(bad_band.argmax())
        raise ValueError(
            f"scores frame: row {row}, column churn_risk_band: "
            f"{scores['churn_risk_band'].iloc[row]!r} not in {tuple(band_names)}"
        )
    duplicated = scores.duplicated(["score_date", "customer_id"]).to_numpy()
    if duplicated.any():
        row = int(duplicated.argmax())
        raise ValueError(
            f"scores frame: row {row}, column customer_id: "
            f"{scores['customer_id'].iloc[row]} scored twice for one date"
        )


def _ensure_table(
    con: Session, table: tuple[str, str], columns: tuple[tuple[str, str], ...]
) -> None:
    schema, name = table
    con.execute(f"create schema if not exists {schema}")
    wanted = [(column, con.sql_type(kind)) for column, kind in columns]
    definition = ", ".join(f"{column} {kind}" for column, kind in wanted)
    con.execute(f"create table if not exists {schema}.{name} ({definition})")
    actual = con.column_types(schema, name)
    if actual != wanted:
        raise LookupError(
            f"{schema}.{name}: columns {actual} differ from the contract {list(columns)}; "
            "a table from an older version: drop it and re-score"
        )


def _replace_date(
    warehouse: Location,
    table: tuple[str, str],
    columns: tuple[tuple[str, str], ...],
    score_date: date,
    rows: pd.DataFrame,
) -> None:
    """Delete ``score_date``'s rows and insert ``rows`` in one transaction."""
    schema, name = table
    with session(warehouse) as con, con.transaction():
        _ensure_table(con, table, columns)
        con.execute(f"delete from {schema}.{name} where score_date = ?", [score_date])
        con.insert_frame(f"{schema}.{name}", columns, rows)


def write_scores(
    warehouse: Location, score_date: date, scores: pd.DataFrame, band_names: Sequence[str]
) -> int:
    """Replace ``score_date``'s rows of scores.customer_scores by ``scores`` in one
    transaction; returns the number of rows written. Every row must carry score_date and a
    band of ``band_names`` (the seed churn_risk_bands)."""
    check_scores_frame(scores, band_names)
    other_dates = as_dates(scores["score_date"]).ne(score_date).to_numpy()
    if other_dates.any():
        row = int(other_dates.argmax())
        raise ValueError(
            f"scores frame: row {row}, column score_date: "
            f"{scores['score_date'].iloc[row]} is not {score_date}"
        )
    _replace_date(warehouse, SCORES_TABLE, SCORE_COLUMNS, score_date, scores)
    return len(scores)


def read_scores(warehouse: Location, score_date: date | None = None) -> pd.DataFrame:
    """Stored scores (of one date, or all), sorted by date and customer."""
    schema, table = SCORES_TABLE
    where = "where score_date = ?" if score_date is not None else ""
    params = [score_date] if score_date is not None else []
    with session(warehouse) as con:
        return con.frame(
            f"select * from {schema}.{table} {where} order by score_date, customer_id", params
        )


def write_drift(warehouse: Location, score_date: date, drift: pd.DataFrame) -> int:
    """Replace ``score_date``'s rows of scores.score_drift by ``drift`` (DRIFT_COLUMNS)."""
    expected = [name for name, _ in DRIFT_COLUMNS]
    if list(drift.columns) != expected:
        raise ValueError(f"drift frame: columns {list(drift.columns)}, expected {expected}")
    _replace_date(warehouse, DRIFT_TABLE, DRIFT_COLUMNS, score_date, drift)
    return len(drift)


def create_score_tables(con: Session | duckdb.DuckDBPyConnection) -> None:
    """Create scores.customer_scores and scores.score_drift if missing (dbt reads both
    as sources, so they must exist before the first scores do)."""
    con = con if isinstance(con, Session) else Session("duckdb", con)
    _ensure_table(con, SCORES_TABLE, SCORE_COLUMNS)
    _ensure_table(con, DRIFT_TABLE, DRIFT_COLUMNS)


def ensure_score_tables(warehouse: Location) -> None:
    with session(warehouse) as con:
        create_score_tables(con)
