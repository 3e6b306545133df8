"""Monthly training: fit the scoring models on the marts, version them, and promote
them only when they are at least as good as the approved ones.

One call (the monthly training DAG's task, or the CLI) fits, on the warehouse as of
``as_of``:

- the churn model on the label of docs/metrics.md "Churn label"
  (fct_customer_signal_months.churn_label_3m),
  evaluated out of time beside the rule baseline (scoring.churn_model);
- the reason-code reference (scoring.reason_codes);
- behaviour segments on the latest complete month's customers, matched to the
  approved model's segments so ids stay stable (scoring.segments);
- BG/NBD + Gamma-Gamma lifetime value (scoring.customer_value);
- drift references: the distributions of the score and the top features over the
  rows the churn model was fitted on (scoring.drift).

Promotion (``promotion_decision``): the first model is approved as it is; after
that a candidate is approved only if it was evaluated out of time, beats the rule
baseline on ROC-AUC, and its ROC-AUC is at least the approved model's on the
candidate's own test window (the approved model was fitted on earlier months, so
that window is unseen by both). Every decision goes to the store's decisions.jsonl.

    uv run python -m scoring.train --as-of 2025-12-31 --run-id manual__1
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sklearn

from include.config import Settings
from include.warehouse import warehouse_location
from scoring import model_store, warehouse_io
from scoring.business_rules import business_rules
from scoring.churn_model import (
    MODEL_SPEC,
    TrainingResult,
    assemble_training_set,
    train_churn_model,
)
from scoring.cli import run_dated_job
from scoring.customer_value import fit_lifetime_value, value_summary
from scoring.drift import reference_distributions, references_to_dict
from scoring.evaluation import score_report
from scoring.features import DRIFT_FEATURES, FEATURE_COLUMNS, behaviour_features, feature_panel
from scoring.model_store import ScoringModels
from scoring.periods import choose_feature_month
from scoring.reason_codes import reference_values
from scoring.segments import fit_segments, segments_summary
from scoring.warehouse_io import EVERY_CUSTOMER, CustomerSlice, customer_slices

log = logging.getLogger(__name__)

# DRIFT_FEATURES (scoring.features) are watched for drift beside the score.
SCORE_VARIABLE = "churn_probability"


def load_panel(
    settings: Settings, as_of: date, customers: CustomerSlice = EVERY_CUSTOMER
) -> tuple[pd.DataFrame, date, bool]:
    """Feature panel of ``customers`` up to the feature month of ``as_of`` (scoring.periods).

    Features are windows over one customer's own months, so a slice of the
    customers gets exactly the features it would get in the whole panel.
    """
    months = warehouse_io.read_customer_months(warehouse_location(settings), as_of, customers)
    if months.empty:
        raise LookupError(
            f"{warehouse_location(settings)}: marts.fct_customer_months has no rows up to {as_of}"
        )
    month, complete = choose_feature_month(months["month_start_date"], as_of)
    months = months.loc[months["month_start_date"] <= month]
    signals = warehouse_io.read_signal_months(warehouse_location(settings), month, customers)
    # dbt fills a month's label as soon as the warehouse holds the horizon's months
    # (var churn_label_horizon_months) after it; run as of an earlier date (a
    # backfill), only labels known by then may be used
    horizon = business_rules().churn_label_horizon_months
    known_until = (pd.Timestamp(month) - pd.DateOffset(months=horizon)).date()
    signals["churn_label_3m"] = signals["churn_label_3m"].where(
        signals["month_start_date"] <= known_until
    )
    return feature_panel(months, signals), month, complete


def current_population(panel: pd.DataFrame, month: date) -> pd.DataFrame:
    """Customers scored for ``month``: a mart row and an open account in it."""
    keep = panel["month_start_date"].eq(month) & panel["has_row"] & panel["has_open_account"]
    return panel.loc[keep].reset_index(drop=True)


def approved_models(settings: Settings) -> tuple[ScoringModels, dict[str, Any]] | None:
    version = model_store.approved_version(settings.model_store_path)
    if version is None:
        return None
    return model_store.load_model(settings.model_store_path, version)


def promotion_decision(
    result: TrainingResult,
    training: pd.DataFrame,
    approved: tuple[ScoringModels, dict[str, Any]] | None,
) -> dict[str, Any]:
    """Whether the candidate replaces the approved model (module docstring)."""
    metrics = result.metrics
    if approved is None:
        return {"promoted": True, "why": "first model: nothing approved yet"}
    previous, previous_metadata = approved
    if not metrics.get("evaluated"):
        return {"promoted": False, "why": "candidate not evaluated out of time"}
    if not metrics.get("beats_rule_baseline"):
        return {"promoted": False, "why": "candidate does not beat the rule baseline"}
    if any(column not in training.columns for column in previous.churn.feature_columns):
        # an approved model from an older feature set cannot be scored on today's panel
        return {"promoted": True, "why": "the approved model's features no longer exist"}
    test_months = {date.fromisoformat(value) for value in metrics["test_months"]}
    first, last = min(test_months), max(test_months)
    test = training.loc[training["month_start_date"].between(first, last)]
    previous_report = score_report(
        test["churned"].to_numpy(dtype=int), previous.churn.predict_probability(test)
    )
    candidate_auc = metrics["model"]["roc_auc"]
    previous_auc = previous_report["roc_auc"]
    comparison = {
        "approved_model_version": previous_metadata["model_version"],
        "approved_roc_auc_on_test_window": previous_auc,
        "candidate_roc_auc": candidate_auc,
    }
    if previous_auc is not None and candidate_auc < previous_auc:
        return {"promoted": False, "why": "worse than the approved model", **comparison}
    return {"promoted": True, "why": "at least as good as the approved model", **comparison}


def training_sample(settings: Settings) -> CustomerSlice:
    """The customers the models are fitted on: all of them, or the first of the hash
    slices of at most ``TRAINING_CUSTOMERS`` (the same customers every month while the
    bank's size stays in the same band), so memory stays bounded at any bank size."""
    return customer_slices(warehouse_location(settings), settings.training_customers)[0]


def train_models(settings: Settings, as_of: date, run_id: str) -> dict[str, Any]:
    """Fit, store and (maybe) promote; returns a JSON-ready summary."""
    sample = training_sample(settings)
    panel, month, complete = load_panel(settings, as_of, sample)
    training = assemble_training_set(panel)
    result = train_churn_model(training)
    notes = list(result.notes)
    if sample.slices > 1:
        notes.append(f"fitted on a hash sample of the customers ({sample.describe()})")
    approved = approved_models(settings)

    population = current_population(panel, month)
    holdings = warehouse_io.read_customer_holdings(warehouse_location(settings), sample)
    behaviour = behaviour_features(population, holdings)
    segments = (
        fit_segments(behaviour, previous=approved[0].segments if approved else None)
        if len(behaviour) >= 50
        else None
    )
    if segments is None:
        notes.append(f"segments not fitted: {len(behaviour)} customers (need 50)")

    activity = warehouse_io.read_customer_activity(
        warehouse_location(settings), as_of, month, sample
    )
    lifetime_value, why_not = fit_lifetime_value(value_summary(activity, as_of))
    if why_not:
        notes.append(why_not)

    fitted_on = training
    if result.metrics.get("evaluated"):
        last_train = date.fromisoformat(result.metrics["train_months"][1])
        fitted_on = training.loc[training["month_start_date"] <= last_train]
    # a bank too young for a single labelled month: the current customers stand in as
    # the reference for drift and reason codes
    reference_rows = fitted_on if len(fitted_on) else population.assign(churned=False)
    reason_reference = (
        result.reason_reference
        if result.reason_reference is not None
        else reference_values(reference_rows)
    )
    reference_frame = reference_rows.assign(
        **{SCORE_VARIABLE: result.model.predict_probability(reference_rows)}
    )
    references = reference_distributions(reference_frame, (SCORE_VARIABLE, *DRIFT_FEATURES))

    fingerprint = model_store.data_fingerprint(training, FEATURE_COLUMNS)
    version = model_store.model_version(result.first_month, result.last_month, fingerprint)
    models = ScoringModels(
        churn=result.model,
        reason_reference=reason_reference,
        segments=segments,
        lifetime_value=lifetime_value,
    )
    now = datetime.now(UTC).replace(tzinfo=None)
    metadata = {
        "model_name": model_store.MODEL_NAME,
        "model_kind": result.model.kind,
        "label_definition": MODEL_SPEC["label"],
        "feature_columns": list(FEATURE_COLUMNS),
        "metrics": result.metrics,
        "training_window": {
            "first_month": str(result.first_month) if result.first_month else None,
            "last_month": str(result.last_month) if result.last_month else None,
        },
        "as_of_date": str(as_of),
        "feature_month": str(month),
        "feature_month_complete": complete,
        "training_rows": result.training_rows,
        "positive_rate": result.positive_rate,
        "notes": notes,
        "data_fingerprint": fingerprint,
        "model_spec": MODEL_SPEC,
        "code_version": model_store.code_version(),
        "sklearn_version": sklearn.__version__,
        "trained_at": now.isoformat(timespec="seconds"),
        "trained_by_run_id": run_id,
        "segments": segments_summary(segments) if segments else [],
        "lifetime_value": _lifetime_value_metadata(lifetime_value),
        "drift_references": references_to_dict(references),
    }
    model_store.save_model(settings.model_store_path, version, models, metadata)

    already = approved is not None and approved[1]["model_version"] == version
    decision = (
        {"promoted": False, "why": "same data and code as the approved model"}
        if already
        else promotion_decision(result, training, approved)
    )
    decision |= {"model_version": version, "decided_at": now.isoformat(), "run_id": run_id}
    if not already:
        model_store.record_decision(settings.model_store_path, decision)
    if not decision["promoted"]:
        log.warning("model %s not promoted: %s", version, decision["why"])
    return {
        "run_id": run_id,
        "as_of_date": str(as_of),
        "model_version": version,
        "approved_model_version": model_store.approved_version(settings.model_store_path),
        "decision": decision,
        "model_kind": result.model.kind,
        "training_rows": result.training_rows,
        "metrics": result.metrics,
        "segments": [item["segment_name"] for item in metadata["segments"]],
        "lifetime_value": metadata["lifetime_value"],
        "notes": notes,
    }


def _lifetime_value_metadata(model: Any) -> dict[str, Any] | None:
    # parameters and the counts of customers left out of Gamma-Gamma (zero / negative value)
    return None if model is None else model.report()


def main(argv: list[str] | None = None) -> int:
    return run_dated_job(__doc__.split("\n\n")[0], "as-of", train_models, argv)


if __name__ == "__main__":
    raise SystemExit(main())
