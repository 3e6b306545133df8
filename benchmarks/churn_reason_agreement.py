"""Agreement of the warehouse's churn reasons with the generator's planted ones.

On a generated bank, after the loader and a dbt build, every planted churner in
`$BANK_DATA_DIR/ground_truth/customers.csv` (planted_churn_reason,
planted_churn_month = the first month its month-average AUM fell below the
value-churn line) is matched to the model's churned month in
`marts.fct_customer_churn_months`: the planted month itself, else the nearest
churned month within one month (the earlier one on a tie). The script prints the
agreement per planted reason and overall, and the confusion table.

    export BANK_DATA_DIR=/tmp/bank
    . bin/env.sh
    uv run python -m include.bank_generator --customers 3000 --months 15 \
        --start-date 2024-10-01 --dirt-rate 0 --out $BANK_DATA_DIR
    (load and dbt build, see README.md)
    uv run python benchmarks/churn_reason_agreement.py [--min-agreement 0.9]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb
import pandas as pd

REASONS = (
    "property_purchase",
    "campaign_deposit_maturity",
    "rate_competition",
    "service_dissatisfaction",
    "disengagement",
)


def planted_churners(ground_truth: Path) -> pd.DataFrame:
    """Planted churners with their reason and first value-churn month (a Period)."""
    truth = pd.read_csv(ground_truth, dtype=str, keep_default_na=False)
    truth = truth[truth["planted_churn_reason"] != ""]
    return pd.DataFrame(
        {
            "customer_id": truth["customer_id"],
            "planted_reason": truth["planted_churn_reason"],
            "planted_month": pd.PeriodIndex(truth["planted_churn_month"], freq="M"),
        }
    )


def model_churn_months(warehouse: Path) -> pd.DataFrame:
    """Churned customer-months with the model's primary reason."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(
            "select customer_id, month_start_date, churn_reason "
            "from marts.fct_customer_churn_months where is_churned"
        ).df()
    frame["month"] = pd.PeriodIndex(pd.to_datetime(frame["month_start_date"]), freq="M")
    return frame[["customer_id", "month", "churn_reason"]]


def _month_number(months: pd.Series) -> pd.Series:
    """Months since year 0, so two months subtract to their distance."""
    return months.dt.year * 12 + months.dt.month


def match_reasons(planted: pd.DataFrame, model: pd.DataFrame) -> pd.DataFrame:
    """The model's reason in the planted month, else the nearest churned month within +-1."""
    merged = planted.merge(model, on="customer_id", how="inner")
    merged["distance"] = _month_number(merged["month"]) - _month_number(merged["planted_month"])
    merged = merged[merged["distance"].abs() <= 1]
    merged = merged.assign(rank=merged["distance"].abs() * 2 + (merged["distance"] > 0))
    best = merged.sort_values("rank").drop_duplicates("customer_id")
    result = planted.merge(
        best[["customer_id", "churn_reason", "distance"]], on="customer_id", how="left"
    )
    result["model_reason"] = result["churn_reason"].fillna("(no churn month)")
    result["agrees"] = result["model_reason"] == result["planted_reason"]
    return result.drop(columns="churn_reason")


def report(result: pd.DataFrame) -> str:
    lines = [f"{'planted reason':28} {'n':>5} {'agree':>6} {'share':>7}"]
    for reason in REASONS:
        rows = result[result["planted_reason"] == reason]
        if len(rows):
            lines.append(
                f"{reason:28} {len(rows):5d} {rows['agrees'].sum():6d} {rows['agrees'].mean():7.1%}"
            )
    lines.append(
        f"{'overall':28} {len(result):5d} {result['agrees'].sum():6d} {result['agrees'].mean():7.1%}"
    )
    lines.append("")
    lines.append("planted (rows) x model (columns):")
    lines.append(pd.crosstab(result["planted_reason"], result["model_reason"]).to_string())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data_dir = Path(os.environ.get("BANK_DATA_DIR", "data"))
    parser.add_argument(
        "--ground-truth", type=Path, default=data_dir / "ground_truth" / "customers.csv"
    )
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=Path(os.environ.get("WAREHOUSE_PATH", data_dir / "warehouse" / "bank.duckdb")),
    )
    parser.add_argument("--min-agreement", type=float, default=None, help="exit 1 below this share")
    args = parser.parse_args(argv)
    result = match_reasons(planted_churners(args.ground_truth), model_churn_months(args.warehouse))
    print(report(result))
    if args.min_agreement is not None and result["agrees"].mean() < args.min_agreement:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
