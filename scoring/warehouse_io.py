"""The only scoring module that talks to the DuckDB warehouse.

Reads ``marts.fct_customer_months`` (built by dbt) and writes
``scores.customer_scores``, which dbt reads back as a source: its columns are
exactly ``SCORE_COLUMNS``. Writing a score date is idempotent: inside one
transaction the date's rows are deleted and the new ones inserted, so re-scoring
a date replaces it and other dates stay as history.

Each call opens the file for as short a time as it can (DuckDB allows one writing
process per file; run writers in the ``duckdb_writer`` pool).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from include.warehouse import connect
from scoring.churn_model import RISK_BANDS
from scoring.features import MART_COLUMNS

MART_TABLE = ("marts", "fct_customer_months")
SCORES_TABLE = ("scores", "customer_scores")
SCORE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("score_date", "DATE"),
    ("customer_id", "VARCHAR"),
    ("churn_probability", "DOUBLE"),
    ("churn_risk_band", "VARCHAR"),
    ("model_version", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("scored_at", "TIMESTAMP"),
)


def _table_columns(con, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def read_customer_months(warehouse_path: Path, through: date) -> pd.DataFrame:
    """Mart rows with ``month_start_date <= through``, sorted by customer and month."""
    if not warehouse_path.is_file():
        raise FileNotFoundError(f"{warehouse_path}: warehouse file not found (run load and dbt)")
    schema, table = MART_TABLE
    con = connect(warehouse_path)
    try:
        present = {name for name, _ in _table_columns(con, schema, table)}
        if not present:
            raise LookupError(f"{warehouse_path}: table {schema}.{table} not found (run dbt)")
        missing = [column for column in MART_COLUMNS if column not in present]
        if missing:
            raise LookupError(
                f"{warehouse_path}: {schema}.{table} lacks column(s) {', '.join(missing)}"
            )
        columns = ", ".join(MART_COLUMNS)
        frame = con.execute(
            f"select {columns} from {schema}.{table} where month_start_date <= ? "
            "order by customer_id, month_start_date",
            [through],
        ).df()
    finally:
        con.close()
    frame["month_start_date"] = pd.to_datetime(frame["month_start_date"]).dt.date
    return frame


def check_scores_frame(scores: pd.DataFrame) -> None:
    """Fail naming the row and column of the first value that breaks the table contract."""
    expected = [name for name, _ in SCORE_COLUMNS]
    if list(scores.columns) != expected:
        raise ValueError(f"scores frame: columns {list(scores.columns)}, expected {expected}")
    for column in (
        "score_date",
        "customer_id",
        "churn_probability",
        "churn_risk_band",
        "model_version",
        "run_id",
        "scored_at",
    ):
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
    bad_band = ~scores["churn_risk_band"].isin(RISK_BANDS).to_numpy()
    if bad_band.any():
        row = int(bad_band.argmax())
        raise ValueError(
            f"scores frame: row {row}, column churn_risk_band: "
            f"{scores['churn_risk_band'].iloc[row]!r} not in {RISK_BANDS}"
        )
    duplicated = scores.duplicated(["score_date", "customer_id"]).to_numpy()
    if duplicated.any():
        row = int(duplicated.argmax())
        raise ValueError(
            f"scores frame: row {row}, column customer_id: "
            f"{scores['customer_id'].iloc[row]} scored twice for one date"
        )


def _ensure_scores_table(con) -> None:
    schema, table = SCORES_TABLE
    con.execute(f"create schema if not exists {schema}")
    definition = ", ".join(f"{name} {kind}" for name, kind in SCORE_COLUMNS)
    con.execute(f"create table if not exists {schema}.{table} ({definition})")
    actual = [(name, kind.upper()) for name, kind in _table_columns(con, schema, table)]
    if actual != list(SCORE_COLUMNS):
        raise LookupError(
            f"{schema}.{table}: columns {actual} differ from the contract {list(SCORE_COLUMNS)}"
        )


def write_scores(warehouse_path: Path, score_date: date, scores: pd.DataFrame) -> int:
    """Replace ``score_date``'s rows of scores.customer_scores by ``scores`` in one
    transaction; returns the number of rows written. Every row must carry score_date."""
    check_scores_frame(scores)
    other_dates = pd.to_datetime(scores["score_date"]).dt.date.ne(score_date).to_numpy()
    if other_dates.any():
        row = int(other_dates.argmax())
        raise ValueError(
            f"scores frame: row {row}, column score_date: "
            f"{scores['score_date'].iloc[row]} is not {score_date}"
        )
    schema, table = SCORES_TABLE
    columns = ", ".join(name for name, _ in SCORE_COLUMNS)
    casts = ", ".join(f"cast({name} as {kind})" for name, kind in SCORE_COLUMNS)
    con = connect(warehouse_path)
    try:
        con.execute("begin transaction")
        try:
            _ensure_scores_table(con)
            con.execute(f"delete from {schema}.{table} where score_date = ?", [score_date])
            con.register("incoming_scores", scores)
            con.execute(
                f"insert into {schema}.{table} ({columns}) select {casts} from incoming_scores"
            )
            con.unregister("incoming_scores")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    finally:
        con.close()
    return len(scores)


def read_scores(warehouse_path: Path, score_date: date | None = None) -> pd.DataFrame:
    """Stored scores (of one date, or all), sorted by date and customer."""
    schema, table = SCORES_TABLE
    con = connect(warehouse_path)
    try:
        where = "where score_date = ?" if score_date is not None else ""
        params = [score_date] if score_date is not None else []
        return con.execute(
            f"select * from {schema}.{table} {where} order by score_date, customer_id", params
        ).df()
    finally:
        con.close()
