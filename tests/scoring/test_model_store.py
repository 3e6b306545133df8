from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import sklearn

from scoring import model_store
from scoring.churn_model import assemble_training_set, train_churn_model
from scoring.customer_value import LifetimeValueModel
from scoring.features import FEATURE_COLUMNS, feature_panel
from scoring.lifetime_value import BgNbdParams, GammaGammaParams
from scoring.model_store import ScoringModels


@pytest.fixture(scope="module")
def training(make_bank) -> pd.DataFrame:
    bank = make_bank(customers=60, months=10, seed=11)
    return assemble_training_set(feature_panel(bank.months, bank.signals))


@pytest.fixture(scope="module")
def models(training) -> ScoringModels:
    result = train_churn_model(training)
    return ScoringModels(
        churn=result.model,
        reason_reference=result.reason_reference,
        segments=None,
        lifetime_value=LifetimeValueModel(
            BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426),
            GammaGammaParams(p=6.25, q=3.74, gamma=15.44),
            fitted_customers=60,
            repeat_customers=55,
            fallback_value_per_occasion=12.5,
        ),
    )


def metadata(metrics: dict | None = None) -> dict:
    return {
        "metrics": metrics or {"evaluated": False, "reason": "test"},
        "feature_columns": list(FEATURE_COLUMNS),
        "sklearn_version": sklearn.__version__,
        "code_version": model_store.code_version(),
        "training_window": {"first_month": date(2023, 4, 1), "last_month": None},
    }


def decision(version: str, promoted: bool, run_id: str) -> dict:
    return {
        "promoted": promoted,
        "why": "test",
        "model_version": version,
        "decided_at": "2024-04-01T03:00:00",
        "run_id": run_id,
    }


def test_models_round_trip(tmp_path: Path, training, models) -> None:
    folder = model_store.save_model(tmp_path, "churn_test_1", models, metadata())
    assert folder == tmp_path / "churn" / "churn_test_1"
    assert model_store.has_model(tmp_path, "churn_test_1")
    loaded, loaded_metadata = model_store.load_model(tmp_path, "churn_test_1")

    assert isinstance(loaded, ScoringModels)
    assert loaded.churn.kind == models.churn.kind
    assert loaded.churn.feature_columns == FEATURE_COLUMNS
    np.testing.assert_array_equal(
        loaded.churn.predict_probability(training), models.churn.predict_probability(training)
    )
    pd.testing.assert_series_equal(loaded.reason_reference, models.reason_reference)
    assert loaded.segments is None
    assert loaded.lifetime_value == models.lifetime_value
    assert loaded_metadata["model_version"] == "churn_test_1"
    # JSON: dates become strings
    assert loaded_metadata["training_window"] == {"first_month": "2023-04-01", "last_month": None}
    assert loaded_metadata["code_version"]  # a git description or 'unknown'
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_an_existing_version_is_not_overwritten(tmp_path: Path, models) -> None:
    model_store.save_model(tmp_path, "churn_same", models, {**metadata(), "run": "first"})
    model_store.save_model(tmp_path, "churn_same", models, {**metadata(), "run": "second"})
    assert model_store.load_metadata(tmp_path, "churn_same")["run"] == "first"


def test_version_is_deterministic_and_follows_the_data(training) -> None:
    fingerprint = model_store.data_fingerprint(training, FEATURE_COLUMNS)
    shuffled = training.sample(frac=1.0, random_state=1)
    assert model_store.data_fingerprint(shuffled, FEATURE_COLUMNS) == fingerprint
    changed = training.copy()
    changed.loc[changed.index[0], "churned"] = not changed["churned"].iloc[0]
    assert model_store.data_fingerprint(changed, FEATURE_COLUMNS) != fingerprint
    fewer_features = FEATURE_COLUMNS[:-1]
    assert model_store.data_fingerprint(training, fewer_features) != fingerprint

    version = model_store.model_version(date(2023, 1, 1), date(2023, 7, 1), fingerprint)
    assert version == f"churn_202301_202307_{fingerprint[:12]}"
    assert model_store.model_version(None, None, fingerprint).startswith("churn_nowindow_")


def test_approval_follows_promoted_decisions_only(tmp_path: Path) -> None:
    assert model_store.approved_version(tmp_path) is None
    assert model_store.decisions(tmp_path) == []

    model_store.record_decision(tmp_path, decision("churn_a", promoted=True, run_id="r1"))
    assert model_store.approved_version(tmp_path) == "churn_a"
    model_store.record_decision(tmp_path, decision("churn_b", promoted=False, run_id="r2"))
    assert model_store.approved_version(tmp_path) == "churn_a"
    model_store.record_decision(tmp_path, decision("churn_c", promoted=True, run_id="r3"))
    assert model_store.approved_version(tmp_path) == "churn_c"

    history = model_store.decisions(tmp_path)
    assert [(item["model_version"], item["promoted"]) for item in history] == [
        ("churn_a", True),
        ("churn_b", False),
        ("churn_c", True),
    ]
    pointer = json.loads((tmp_path / "churn" / "approved.json").read_text(encoding="utf-8"))
    assert pointer == {
        "model_version": "churn_c",
        "decided_at": "2024-04-01T03:00:00",
        "run_id": "r3",
    }


def test_loading_a_missing_or_foreign_model_fails_clearly(tmp_path: Path, models) -> None:
    with pytest.raises(FileNotFoundError, match="churn_x"):
        model_store.load_model(tmp_path, "churn_x")
    model_store.save_model(tmp_path, "churn_old", models, {"sklearn_version": "0.1"})
    with pytest.raises(RuntimeError, match="scikit-learn 0.1"):
        model_store.load_model(tmp_path, "churn_old")
    # a pickle of something else than ScoringModels (e.g. a bare churn model)
    model_store.save_model(tmp_path, "churn_bare", models, metadata())
    joblib.dump(models.churn, tmp_path / "churn" / "churn_bare" / model_store.MODEL_FILE)
    with pytest.raises(TypeError, match="ChurnModel, not ScoringModels"):
        model_store.load_model(tmp_path, "churn_bare")
