"""Per-customer frequency / recency / T / monetary value from a transaction log.

The conventions are those of the published CDNOW analyses (Fader, Hardie & Lee 2005;
Fader & Hardie 2013), checked against the published 2,357-customer summary:

- transactions are aggregated per customer and *calendar day*: several purchases on one
  day are one transaction whose value is their sum (the models count purchase occasions);
- ``frequency`` = number of repeat purchase days = distinct purchase days - 1;
- ``recency`` = last purchase day - first purchase day, in time units;
- ``T`` = calibration end - first purchase day, in time units;
- ``monetary_value`` = mean value of the repeat purchase days (the first purchase is
  excluded), 0 when ``frequency == 0``;
- one time unit = ``time_unit_days`` days (7: weeks, as in the papers).

Zero and negative amounts (the rule of ``lifetimes.utils.summary_data_from_transaction_data``,
which sums the monetary values per period and counts every period as a transaction):

- a negative amount is a return or refund; it nets against the same customer's other
  lines of the same day (netted exactly in decimal, so 0.10 + 0.20 - 0.30 is 0);
- every day with at least one line is a purchase occasion, whatever its net value: a day
  netting to 0 or less still counts in ``frequency`` and ``recency`` (BG/NBD), and its net
  value enters ``monetary_value`` as it is, so a repeat customer's mean can be 0 or
  negative. Such customers are left out of the Gamma-Gamma fit (see gamma_gamma.py);
- a return on a later day than its purchase is that later day's value (the log does not
  say which purchase it returns);
- an amount that cannot be read (empty, text, infinite) is still refused, naming its row.

Only transactions on or before ``calibration_end`` are used; customers whose first
purchase is after it are not in the summary.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

SUMMARY_COLUMNS: tuple[str, ...] = ("frequency", "recency", "T", "monetary_value")
OCCASION_COLUMNS: tuple[str, ...] = ("customer", "day", "value", "lines", "negative_lines")


class TransactionLogError(ValueError):
    """A transaction log that cannot be summarised; names the source, row and column."""

    def __init__(self, source: str, problem: str, row: object = None, column: str | None = None):
        self.source = source
        self.problem = problem
        self.row = row
        self.column = column
        where = [source]
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


def parse_dates(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """Calendar days from ISO dates (``1997-01-31``; a time part is dropped, and a time with
    an offset keeps its local day) or ``YYYYMMDD`` strings/integers. Raises on the first
    value that is neither, naming its row."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = _local_time(values)
    else:
        text = values.astype("string").str.strip()
        is_compact = text.str.fullmatch(r"\d{8}").fillna(False).astype(bool)
        compact = pd.to_datetime(text.where(is_compact), format="%Y%m%d", errors="coerce")
        try:
            iso = pd.to_datetime(text.where(~is_compact), format="ISO8601", errors="coerce")
        except (ValueError, TypeError) as error:  # e.g. a mix of offsets and naive times
            raise TransactionLogError(
                source, f"cannot read the dates: {error}", column=column
            ) from error
        parsed = compact.fillna(_local_time(iso))
    bad = parsed.isna().to_numpy()
    if bad.any():
        position = int(bad.argmax())
        value = values.iloc[position]
        problem = (
            "missing date"
            if pd.isna(value) or not str(value).strip()
            else f"cannot read {value!r} as a date (expected YYYY-MM-DD or YYYYMMDD)"
        )
        raise TransactionLogError(source, problem, values.index[position], column)
    return parsed.dt.normalize()


def _local_time(values: pd.Series) -> pd.Series:
    """Time zone dropped, wall-clock time kept: the day is the day where it happened."""
    if getattr(values.dt, "tz", None) is not None:
        return values.dt.tz_localize(None)
    return values


def parse_amounts(values: pd.Series, *, source: str, column: str) -> pd.Series:
    """Finite floats; raises on the first missing or unreadable value, naming its row."""
    parsed = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = ~np.isfinite(parsed.to_numpy())
    if bad.any():
        position = int(bad.argmax())
        value = values.iloc[position]
        problem = (
            "missing amount"
            if pd.isna(value) or not str(value).strip()
            else f"cannot read {value!r} as an amount"
        )
        raise TransactionLogError(source, problem, values.index[position], column)
    return parsed


def _exact_sum(values: pd.Series) -> float:
    """Sum in decimal of the shortest decimal form of each float."""
    return float(sum((Decimal(repr(float(value))) for value in values), Decimal(0)))


def purchase_occasions(
    log: pd.DataFrame,
    calibration_end: date,
    *,
    customer_column: str = "customer_id",
    date_column: str = "date",
    amount_column: str = "amount",
    source: str = "transaction log",
) -> pd.DataFrame:
    """One row per customer and day up to ``calibration_end`` (``OCCASION_COLUMNS``, sorted
    by customer and day): the day's net ``value`` (returns netted), its number of
    ``lines`` and of ``negative_lines``. Raises TransactionLogError naming the row and
    column of the first value that cannot be read."""
    missing = [c for c in (customer_column, date_column, amount_column) if c not in log.columns]
    if missing:
        raise TransactionLogError(
            source, f"missing column(s) {missing}; columns present: {list(log.columns)}"
        )
    customers = log[customer_column]
    missing_id = customers.isna().to_numpy()
    if missing_id.any():
        row = customers.index[int(missing_id.argmax())]
        raise TransactionLogError(source, "missing customer id", row, customer_column)
    days = parse_dates(log[date_column], source=source, column=date_column)
    amounts = parse_amounts(log[amount_column], source=source, column=amount_column)

    frame = pd.DataFrame(
        {"customer": customers, "day": days, "value": amounts, "negative": amounts < 0}
    )
    frame = frame[frame["day"] <= pd.Timestamp(calibration_end)]
    grouped = frame.groupby(["customer", "day"], sort=True, observed=True)
    occasions = grouped.agg(
        value=("value", "sum"), lines=("value", "size"), negative_lines=("negative", "sum")
    )
    # A return can bring a day to exactly 0, which float sums miss (0.1 + 0.2 - 0.3 is
    # 5.6e-17); days with a negative line are summed again in decimal, from the shortest
    # decimal form of each amount (the text it was read from, for up to 15 digits).
    with_returns = grouped["negative"].transform("any").to_numpy(bool)
    if with_returns.any():
        exact = (
            frame[with_returns]
            .groupby(["customer", "day"], sort=True, observed=True)["value"]
            .agg(_exact_sum)
        )
        occasions.loc[exact.index, "value"] = exact
    occasions = occasions.reset_index()
    occasions["lines"] = occasions["lines"].astype("int64")
    occasions["negative_lines"] = occasions["negative_lines"].astype("int64")
    return occasions.loc[:, list(OCCASION_COLUMNS)]


def summarise_occasions(
    occasions: pd.DataFrame,
    calibration_end: date,
    *,
    time_unit_days: float = 7.0,
    customer_column: str = "customer_id",
) -> pd.DataFrame:
    """The customer summary (see the module docstring) from ``purchase_occasions``."""
    if time_unit_days <= 0:
        raise ValueError(f"time_unit_days must be positive, got {time_unit_days}")
    end = pd.Timestamp(calibration_end)
    # Rows are sorted by customer then day, so the first row of each customer is its first
    # purchase; cumcount > 0 marks the repeat purchase days.
    is_repeat = occasions.groupby("customer", sort=False).cumcount() > 0
    by_customer = occasions.groupby("customer", sort=True)
    first = by_customer["day"].min()
    last = by_customer["day"].max()
    frequency = by_customer.size() - 1
    repeat_value = occasions[is_repeat].groupby("customer")["value"].mean()

    summary = pd.DataFrame(
        {
            "frequency": frequency.astype("int64"),
            "recency": (last - first).dt.days / time_unit_days,
            "T": (end - first).dt.days / time_unit_days,
            "monetary_value": repeat_value.reindex(frequency.index).fillna(0.0),
        }
    )
    summary.index.name = customer_column
    return summary


def summarise_transactions(
    log: pd.DataFrame,
    calibration_end: date,
    *,
    customer_column: str = "customer_id",
    date_column: str = "date",
    amount_column: str = "amount",
    time_unit_days: float = 7.0,
    source: str = "transaction log",
) -> pd.DataFrame:
    """One row per customer (index named ``customer_column``, sorted) with
    ``frequency, recency, T, monetary_value`` as described in the module docstring.

    ``source`` names the log in error messages (e.g. the file name); rows are named
    by their index label in ``log``.
    """
    if time_unit_days <= 0:
        raise ValueError(f"time_unit_days must be positive, got {time_unit_days}")
    occasions = purchase_occasions(
        log,
        calibration_end,
        customer_column=customer_column,
        date_column=date_column,
        amount_column=amount_column,
        source=source,
    )
    return summarise_occasions(
        occasions, calibration_end, time_unit_days=time_unit_days, customer_column=customer_column
    )
