"""Daily scoring with the approved models: churn probability, risk band and top-3
reason codes, lifetime value, behaviour segment; drift of the score and the top
features against the training window. Writes one row per customer for the score
date into scores.customer_scores and one row per watched variable into
scores.score_drift (re-scoring a date replaces that date's rows). Never trains:
without an approved model it writes nothing and says so (run the monthly training).

    uv run python -m scoring.score --score-date 2025-12-31 --run-id manual__1
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd

from include.config import Settings
from include.crash_points import crash_point
from include.warehouse import warehouse_location
from scoring import model_store, warehouse_io
from scoring.churn_model import risk_bands
from scoring.cli import run_dated_job
from scoring.customer_value import VALUE_COLUMNS, predict_lifetime_value, value_summary
from scoring.drift import drift_report, drift_warnings, references_from_dict
from scoring.features import DRIFT_FEATURES, behaviour_features
from scoring.reason_codes import reason_contributions, top_reasons
from scoring.segments import assign_segments
from scoring.train import SCORE_VARIABLE, current_population, load_panel
from scoring.warehouse_io import CustomerSlice, customer_slices

log = logging.getLogger(__name__)


def lifetime_values(
    settings: Settings,
    models: model_store.ScoringModels,
    score_date: date,
    month: date,
    population: pd.DataFrame,
    customers: CustomerSlice,
) -> pd.DataFrame:
    """VALUE_COLUMNS per scored customer (NULL without a fitted model or transactions)."""
    empty = pd.DataFrame(
        np.nan, index=pd.Index(population["customer_id"], name="customer_id"), columns=VALUE_COLUMNS
    )
    if models.lifetime_value is None:
        return empty
    activity = warehouse_io.read_customer_activity(
        warehouse_location(settings), score_date, month, customers
    )
    try:
        summary = value_summary(activity, score_date)
        predicted = predict_lifetime_value(models.lifetime_value, summary)
    except ValueError as error:
        log.warning("lifetime value left empty: %s", error)
        return empty
    return predicted.reindex(empty.index)


def segment_columns(
    settings: Settings,
    models: model_store.ScoringModels,
    population: pd.DataFrame,
    customers: CustomerSlice,
) -> pd.DataFrame:
    if models.segments is None:
        return pd.DataFrame({"segment_id": pd.NA, "segment_name": None}, index=population.index)
    holdings = warehouse_io.read_customer_holdings(warehouse_location(settings), customers)
    assigned = assign_segments(models.segments, behaviour_features(population, holdings))
    return assigned[["segment_id", "segment_name"]].set_axis(population.index)


def score_slice(
    settings: Settings,
    models: model_store.ScoringModels,
    score_date: date,
    customers: CustomerSlice,
    bands: tuple,
) -> tuple[pd.DataFrame, pd.DataFrame, date, bool]:
    """Scores of one slice of the customers, the frame drift is measured on, the feature
    month and whether it is complete."""
    panel, month, complete = load_panel(settings, score_date, customers)
    population = current_population(panel, month)
    del panel
    probabilities = models.churn.predict_probability(population)
    reasons = top_reasons(
        reason_contributions(
            models.churn.predict_probability, population, models.reason_reference, probabilities
        ),
        population,
    )
    values = lifetime_values(settings, models, score_date, month, population, customers)
    segments = segment_columns(settings, models, population, customers)
    rows = len(population)
    scores = pd.DataFrame(
        {
            "score_date": [score_date] * rows,
            "customer_id": population["customer_id"].astype(str).to_numpy(),
            "feature_month_start_date": [month] * rows,
            "churn_probability": probabilities,
            "churn_risk_band": risk_bands(probabilities, bands),
            **{column: reasons[column].to_numpy() for column in reasons.columns},
            **{column: values[column].to_numpy() for column in VALUE_COLUMNS},
            "segment_id": segments["segment_id"].to_numpy(),
            "segment_name": segments["segment_name"].to_numpy(),
        }
    )
    watched = population.loc[:, list(DRIFT_FEATURES)].assign(**{SCORE_VARIABLE: probabilities})
    return scores, watched, month, complete


def score_customers(
    settings: Settings, score_date: date, run_id: str, scored_at: datetime | None = None
) -> dict[str, Any]:
    """Score every customer with an open account in the feature month; JSON-ready summary.

    Customers are scored a slice at a time (``SCORING_SLICE_CUSTOMERS``) and written
    in one go, so memory follows the slice, not the bank.
    """
    version = model_store.approved_version(settings.model_store_path)
    if version is None:
        message = "no approved model yet: run the monthly training (DAG churn_model_training)"
        log.warning(message)
        warehouse_io.ensure_score_tables(warehouse_location(settings))
        return {
            "run_id": run_id,
            "score_date": str(score_date),
            "status": "no_approved_model",
            "customers_scored": 0,
            "notes": [message],
        }
    models, metadata = model_store.load_model(settings.model_store_path, version)
    bands = warehouse_io.read_risk_bands(warehouse_location(settings))
    slices = customer_slices(warehouse_location(settings), settings.scoring_slice_customers)
    parts = [score_slice(settings, models, score_date, part, bands) for part in slices]
    scores = pd.concat([part[0] for part in parts], ignore_index=True)
    current = pd.concat([part[1] for part in parts], ignore_index=True)
    month, complete = parts[0][2], parts[0][3]
    stamp = scored_at or datetime.now(UTC).replace(tzinfo=None)
    rows = len(scores)
    scores = scores.assign(
        model_version=[version] * rows,
        run_id=[run_id] * rows,
        scored_at=pd.Series([stamp] * rows, dtype="datetime64[us]"),
    )
    band_names = [name for name, _ in bands]
    written = warehouse_io.write_scores(
        warehouse_location(settings), score_date, scores, band_names
    )
    crash_point("score_customers:scores_written")

    report = drift_report(references_from_dict(metadata["drift_references"]), current)
    drift = report.assign(
        score_date=score_date, model_version=version, run_id=run_id, computed_at=stamp
    )[[name for name, _ in warehouse_io.DRIFT_COLUMNS]]
    warehouse_io.write_drift(warehouse_location(settings), score_date, drift)
    warnings = drift_warnings(report)
    for warning in warnings:
        log.warning(warning)

    band_counts = scores["churn_risk_band"].value_counts()
    return {
        "run_id": run_id,
        "score_date": str(score_date),
        "status": "scored",
        "feature_month": str(month),
        "feature_month_complete": complete,
        "customers_scored": written,
        "risk_band_counts": {band: int(band_counts.get(band, 0)) for band in band_names},
        "mean_churn_probability": float(scores["churn_probability"].mean()) if written else None,
        "mean_predicted_value_12m": float(np.nanmean(scores["predicted_value_12m"]))
        if written and scores["predicted_value_12m"].notna().any()
        else None,
        "segments": scores["segment_name"].value_counts().to_dict(),
        "model_version": version,
        "drift": {row.variable: round(float(row.psi), 4) for row in report.itertuples()},
        "drift_warnings": warnings,
    }


def main(argv: list[str] | None = None) -> int:
    return run_dated_job(__doc__.split("\n\n")[0], "score-date", score_customers, argv)


if __name__ == "__main__":
    raise SystemExit(main())
