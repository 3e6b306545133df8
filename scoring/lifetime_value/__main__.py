"""Fit BG/NBD + Gamma-Gamma on a transaction log and write per-customer predicted value.

    uv run python -m scoring.lifetime_value --transactions log.csv \
        --calibration-end 1997-09-30 --output predictions.csv [--horizon 52]

Prints the fitted parameters as JSON on stdout, with how many customers the Gamma-Gamma
fit left out and why (no repeat purchases; a mean repeat value of 0, or below 0 after
returns); exits 1 with a message naming the file, line and column when the log cannot be
read.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scoring.lifetime_value import bgnbd, gamma_gamma
from scoring.lifetime_value.predict import predict_customer_value
from scoring.lifetime_value.summary import (
    TransactionLogError,
    purchase_occasions,
    summarise_occasions,
)

# Data row i (0-based) of a CSV with one header line is line i + 2 of the file.
FIRST_DATA_LINE = 2


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scoring.lifetime_value", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--transactions",
        type=Path,
        required=True,
        help="CSV transaction log, one row per transaction, with a header",
    )
    parser.add_argument(
        "--calibration-end",
        type=date.fromisoformat,
        required=True,
        help="last day of the calibration period (YYYY-MM-DD), inclusive",
    )
    parser.add_argument("--output", type=Path, required=True, help="per-customer predictions CSV")
    parser.add_argument("--customer-column", default="customer_id")
    parser.add_argument(
        "--date-column",
        default="date",
        help="dates as YYYY-MM-DD (a time part is ignored) or YYYYMMDD",
    )
    parser.add_argument("--amount-column", default="amount")
    parser.add_argument(
        "--time-unit-days",
        type=float,
        default=7.0,
        help="days per time unit (default 7: weeks, as in the papers)",
    )
    parser.add_argument(
        "--horizon",
        type=float,
        default=52.0,
        help="prediction horizon in time units (default 52 weeks)",
    )
    return parser.parse_args(argv)


def read_transaction_log(path: Path) -> pd.DataFrame:
    """Every column as text (ids keep leading zeros, YYYYMMDD stays a date), indexed by the
    file line number so that errors can point at the line."""
    log = pd.read_csv(path, dtype=str, skipinitialspace=True)
    log.index = pd.RangeIndex(FIRST_DATA_LINE, FIRST_DATA_LINE + len(log), name="line")
    return log


def fit_and_predict(arguments: argparse.Namespace) -> dict[str, Any]:
    """Summary, both fits and the predictions file; returns the report printed as JSON."""
    log = read_transaction_log(arguments.transactions)
    occasions = purchase_occasions(
        log,
        arguments.calibration_end,
        customer_column=arguments.customer_column,
        date_column=arguments.date_column,
        amount_column=arguments.amount_column,
        source=str(arguments.transactions),
    )
    summary = summarise_occasions(
        occasions,
        arguments.calibration_end,
        time_unit_days=arguments.time_unit_days,
        customer_column=arguments.customer_column,
    )
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    monetary_value = summary["monetary_value"]
    transactions_params = bgnbd.fit_bgnbd(frequency, recency, age)
    value_params = gamma_gamma.fit_gamma_gamma(frequency, monetary_value)
    predictions = predict_customer_value(
        summary, transactions_params, value_params, arguments.horizon
    )
    summary.join(predictions).to_csv(arguments.output)

    fitted = summary[gamma_gamma.in_fit(frequency, monetary_value)]
    correlation = (
        float(np.corrcoef(fitted["frequency"], fitted["monetary_value"])[0, 1])
        if len(fitted) > 1
        else None
    )
    return {
        "transactions": str(arguments.transactions),
        "calibration_end": arguments.calibration_end.isoformat(),
        "time_unit_days": arguments.time_unit_days,
        "horizon": arguments.horizon,
        "customers": len(summary),
        "repeat_customers": int((frequency > 0).sum()),
        # up to the calibration end: lines below 0, and purchase days (first ones included)
        # whose lines net to 0 or less; both still count as transactions for BG/NBD
        "returns": {
            "negative_lines": int(occasions["negative_lines"].sum()),
            "days_with_net_value_not_positive": int((occasions["value"] <= 0).sum()),
        },
        "bgnbd": {
            **asdict(transactions_params),
            "log_likelihood": float(
                bgnbd.log_likelihood(transactions_params, frequency, recency, age).sum()
            ),
            "customers": len(summary),
        },
        "gamma_gamma": {
            **asdict(value_params),
            "log_likelihood": float(
                gamma_gamma.log_likelihood(value_params, frequency, monetary_value).sum()
            ),
            # The Gamma-Gamma model assumes spend is independent of frequency.
            "frequency_monetary_value_correlation": correlation,
            "customers": len(fitted),
            # kept in BG/NBD, valued at the population mean value per transaction
            "left_out": gamma_gamma.left_out_counts(frequency, monetary_value),
            "left_out_value_per_transaction": value_params.population_mean,
        },
        "total_predicted_value": float(predictions["predicted_value"].sum()),
        "output": str(arguments.output),
    }


def left_out_note(report: dict[str, Any]) -> str | None:
    """One line for stderr when repeat customers were left out of the Gamma-Gamma fit."""
    left_out = report["gamma_gamma"]["left_out"]
    zero, negative = (
        left_out[gamma_gamma.ZERO_MEAN_VALUE],
        left_out[gamma_gamma.NEGATIVE_MEAN_VALUE],
    )
    if not zero + negative:
        return None
    value = report["gamma_gamma"]["left_out_value_per_transaction"]
    return (
        f"note: {zero + negative} of {report['repeat_customers']} repeat customers left out of "
        f"the Gamma-Gamma fit ({zero} with a mean repeat value of 0, {negative} below 0 after "
        f"returns); they keep their BG/NBD predictions and get the population mean value "
        f"per transaction, {value:.6g}"
    )


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        report = fit_and_predict(arguments)
    except TransactionLogError as error:
        where = [error.source]
        if error.row is not None:
            where.append(f"line {error.row}")
        if error.column is not None:
            where.append(f"column {error.column!r}")
        print(f"error: {', '.join(where)}: {error.problem}", file=sys.stderr)
        return 1
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        print(f"error: cannot read {arguments.transactions}: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # the message names the file
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (ValueError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    note = left_out_note(report)
    if note:
        print(note, file=sys.stderr)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
