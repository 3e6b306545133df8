"""Score every customer's churn risk for one score date and write the scores back.

For now one call trains (when no model for this data is stored yet) and then
scores; a later change splits monthly training from daily scoring.

Which month's features are scored: the latest *complete* month on the score date
(METRICS.md: monthly figures use the latest complete month; a month is complete
on its last day). If the mart holds no complete month yet (a brand-new bank), the
latest month it holds is used and the summary says ``feature_month_complete:
false``. Nothing after that month is read, for features or for labels.

    uv run python -m scoring.run --score-date 2024-06-30 --run-id manual__1
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn

from include.config import Settings, load_settings
from scoring import model_store, warehouse_io
from scoring.churn_model import (
    DEFAULT_HIGH_CUTOFF,
    DEFAULT_LOW_CUTOFF,
    MODEL_SPEC,
    RISK_BANDS,
    ChurnModel,
    assemble_training_set,
    risk_bands,
    train_churn_model,
)
from scoring.features import FEATURE_COLUMNS, feature_panel, month_start
from scoring.labels import churn_labels

LABEL_DEFINITION = (
    "provisional (scoring/labels.py): churned as of month end M if in any of M+1..M+3 "
    "month-average AUM < 50% of the mean of the 3 months before (mean >= 10,000), or no "
    "open account, or zero customer-initiated transactions in all of M+1..M+3"
)


def last_complete_month(score_date: date) -> date:
    """First day of the latest calendar month that has ended on ``score_date``."""
    if (score_date + timedelta(days=1)).month != score_date.month:
        return month_start(score_date)
    return month_start(month_start(score_date) - timedelta(days=1))


def choose_feature_month(months: pd.Series, score_date: date) -> tuple[date, bool]:
    """The month to score and whether it is complete (see module docstring)."""
    available = pd.to_datetime(months).dt.date
    complete = available[available <= last_complete_month(score_date)]
    if len(complete):
        return complete.max(), True
    return available.max(), False


def obtain_model(
    store_path: Path, training: pd.DataFrame, run_id: str
) -> tuple[ChurnModel, dict[str, Any], bool]:
    """The stored model for exactly this training data, training and storing it first if
    there is none. Returns (model, metadata, whether it was trained now)."""
    fingerprint = model_store.data_fingerprint(training, FEATURE_COLUMNS)
    first = training["month_start_date"].min() if len(training) else None
    last = training["month_start_date"].max() if len(training) else None
    version = model_store.model_version(first, last, fingerprint)
    if model_store.has_model(store_path, version):
        model, metadata = model_store.load_model(store_path, version)
        return model, metadata, False

    result = train_churn_model(training, FEATURE_COLUMNS)
    metadata = {
        "model_name": model_store.MODEL_NAME,
        "model_kind": result.model.kind,
        "label_definition": LABEL_DEFINITION,
        "feature_columns": list(FEATURE_COLUMNS),
        "metrics": result.metrics,
        "training_window": {
            "first_month": str(first) if first else None,
            "last_month": str(last) if last else None,
        },
        "training_rows": result.training_rows,
        "positive_rate": result.positive_rate,
        "notes": result.notes,
        "data_fingerprint": fingerprint,
        "model_spec": MODEL_SPEC,
        "code_version": model_store.code_version(),
        "sklearn_version": sklearn.__version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "trained_by_run_id": run_id,
    }
    model_store.save_model(store_path, version, result.model, metadata)
    return result.model, model_store.load_metadata(store_path, version), True


def score_frame(
    population: pd.DataFrame,
    probabilities: np.ndarray,
    score_date: date,
    model_version: str,
    run_id: str,
    scored_at: datetime,
    low_cutoff: float = DEFAULT_LOW_CUTOFF,
    high_cutoff: float = DEFAULT_HIGH_CUTOFF,
) -> pd.DataFrame:
    """Rows of scores.customer_scores for the scored population."""
    rows = len(population)
    return pd.DataFrame(
        {
            "score_date": [score_date] * rows,
            "customer_id": population["customer_id"].astype(str).to_numpy(),
            "churn_probability": np.asarray(probabilities, dtype=float),
            "churn_risk_band": risk_bands(probabilities, low_cutoff, high_cutoff),
            "model_version": [model_version] * rows,
            "run_id": [run_id] * rows,
            "scored_at": pd.Series([scored_at] * rows, dtype="datetime64[us]"),
        }
    )


def score_customers(
    settings: Settings,
    score_date: date,
    run_id: str,
    low_cutoff: float = DEFAULT_LOW_CUTOFF,
    high_cutoff: float = DEFAULT_HIGH_CUTOFF,
    scored_at: datetime | None = None,
) -> dict[str, Any]:
    """Train if needed, score every customer with an open account in the feature
    month, replace ``score_date``'s scores; returns a JSON-ready summary."""
    rows = warehouse_io.read_customer_months(settings.warehouse_path, month_start(score_date))
    if rows.empty:
        raise LookupError(
            f"{settings.warehouse_path}: marts.fct_customer_months has no rows up to {score_date}"
        )
    month, complete = choose_feature_month(rows["month_start_date"], score_date)
    rows = rows.loc[rows["month_start_date"] <= month]

    panel = feature_panel(rows)
    training = assemble_training_set(panel, churn_labels(rows))
    model, metadata, trained = obtain_model(settings.model_store_path, training, run_id)

    population = panel.loc[
        panel["month_start_date"].eq(month) & panel["has_row"] & panel["has_open_account"]
    ]
    probabilities = model.predict_probability(population)
    stamp = scored_at or datetime.now(UTC).replace(tzinfo=None)
    scores = score_frame(
        population,
        probabilities,
        score_date,
        metadata["model_version"],
        run_id,
        stamp,
        low_cutoff,
        high_cutoff,
    )
    written = warehouse_io.write_scores(settings.warehouse_path, score_date, scores)

    band_counts = scores["churn_risk_band"].value_counts()
    return {
        "run_id": run_id,
        "score_date": str(score_date),
        "feature_month": str(month),
        "feature_month_complete": complete,
        "customers_scored": written,
        "risk_band_counts": {band: int(band_counts.get(band, 0)) for band in RISK_BANDS},
        "mean_churn_probability": float(probabilities.mean()) if written else None,
        "model_version": metadata["model_version"],
        "model_kind": metadata["model_kind"],
        "model_trained_now": trained,
        "training_rows": metadata["training_rows"],
        "metrics": metadata["metrics"],
        "notes": metadata["notes"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--score-date",
        required=True,
        type=date.fromisoformat,
        help="business date of the scores, YYYY-MM-DD",
    )
    parser.add_argument("--run-id", required=True, help="run identifier stored with the scores")
    parser.add_argument(
        "--low-cutoff",
        type=float,
        default=DEFAULT_LOW_CUTOFF,
        help="probability below which the band is low (default 0.2)",
    )
    parser.add_argument(
        "--high-cutoff",
        type=float,
        default=DEFAULT_HIGH_CUTOFF,
        help="probability from which the band is high (default 0.5)",
    )
    arguments = parser.parse_args(argv)
    summary = score_customers(
        load_settings(),
        arguments.score_date,
        arguments.run_id,
        arguments.low_cutoff,
        arguments.high_cutoff,
    )
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
