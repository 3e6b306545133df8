"""Fit BG/NBD + Gamma-Gamma on a transaction log and write per-customer predicted value.

    uv run python -m scoring.lifetime_value --transactions log.csv \
        --calibration-end 1997-09-30 --output predictions.csv [--horizon 52]

Prints the fitted parameters as JSON on stdout; exits 1 with a message naming the file,
line and column when the log cannot be read.
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
from scoring.lifetime_value.summary import TransactionLogError, summarise_transactions

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
    summary = summarise_transactions(
        log,
        arguments.calibration_end,
        customer_column=arguments.customer_column,
        date_column=arguments.date_column,
        amount_column=arguments.amount_column,
        time_unit_days=arguments.time_unit_days,
        source=str(arguments.transactions),
    )
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    transactions_params = bgnbd.fit_bgnbd(frequency, recency, age)
    value_params = gamma_gamma.fit_gamma_gamma(frequency, summary["monetary_value"])
    predictions = predict_customer_value(
        summary, transactions_params, value_params, arguments.horizon
    )
    summary.join(predictions).to_csv(arguments.output)

    repeat = summary[summary["frequency"] > 0]
    correlation = (
        float(np.corrcoef(repeat["frequency"], repeat["monetary_value"])[0, 1])
        if len(repeat) > 1
        else None
    )
    return {
        "transactions": str(arguments.transactions),
        "calibration_end": arguments.calibration_end.isoformat(),
        "time_unit_days": arguments.time_unit_days,
        "horizon": arguments.horizon,
        "customers": len(summary),
        "repeat_customers": len(repeat),
        "bgnbd": {
            **asdict(transactions_params),
            "log_likelihood": float(
                bgnbd.log_likelihood(transactions_params, frequency, recency, age).sum()
            ),
        },
        "gamma_gamma": {
            **asdict(value_params),
            "log_likelihood": float(
                gamma_gamma.log_likelihood(value_params, frequency, summary["monetary_value"]).sum()
            ),
            # The Gamma-Gamma model assumes spend is independent of frequency.
            "frequency_monetary_value_correlation": correlation,
        },
        "total_predicted_value": float(predictions["predicted_value"].sum()),
        "output": str(arguments.output),
    }


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
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
