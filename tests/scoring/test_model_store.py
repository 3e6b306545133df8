from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from scoring import model_store
from scoring.churn_model import assemble_training_set, train_churn_model
from scoring.features import FEATURE_COLUMNS, feature_panel
from scoring.labels import churn_labels


@pytest.fixture
def training(make_months):
    months = make_months(customers=60, months=10, seed=11)
    return assemble_training_set(feature_panel(months), churn_labels(months))


def test_model_round_trips(tmp_path: Path, training) -> None:
    result = train_churn_model(training)
    fingerprint = model_store.data_fingerprint(training, FEATURE_COLUMNS)
    version = model_store.model_version(result.first_month, result.last_month, fingerprint)
    metadata = {
        "model_kind": result.model.kind,
        "metrics": result.metrics,
        "feature_columns": list(FEATURE_COLUMNS),
        "sklearn_version": __import__("sklearn").__version__,
        "code_version": model_store.code_version(),
    }

    folder = model_store.save_model(tmp_path, version, result.model, metadata)
    assert folder == tmp_path / "churn" / version
    assert model_store.has_model(tmp_path, version)
    loaded, loaded_metadata = model_store.load_model(tmp_path, version)

    assert loaded.kind == result.model.kind
    assert loaded.feature_columns == FEATURE_COLUMNS
    np.testing.assert_array_equal(
        loaded.predict_probability(training), result.model.predict_probability(training)
    )
    assert loaded_metadata["model_version"] == version
    assert loaded_metadata["metrics"] == json.loads(json.dumps(result.metrics, default=str))
    assert loaded_metadata["code_version"]  # a git description or 'unknown'
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_version_is_deterministic_and_follows_the_data(training) -> None:
    fingerprint = model_store.data_fingerprint(training, FEATURE_COLUMNS)
    shuffled = training.sample(frac=1.0, random_state=1)
    assert model_store.data_fingerprint(shuffled, FEATURE_COLUMNS) == fingerprint
    changed = training.copy()
    changed.loc[changed.index[0], "churned"] = not changed["churned"].iloc[0]
    assert model_store.data_fingerprint(changed, FEATURE_COLUMNS) != fingerprint

    version = model_store.model_version(date(2023, 1, 1), date(2023, 7, 1), fingerprint)
    assert version == f"churn_202301_202307_{fingerprint[:12]}"
    assert model_store.model_version(None, None, fingerprint).startswith("churn_nowindow_")


def test_loading_a_missing_or_foreign_model_fails_clearly(tmp_path: Path, training) -> None:
    with pytest.raises(FileNotFoundError, match="churn_x"):
        model_store.load_model(tmp_path, "churn_x")
    result = train_churn_model(training)
    model_store.save_model(tmp_path, "churn_old", result.model, {"sklearn_version": "0.1"})
    with pytest.raises(RuntimeError, match="scikit-learn 0.1"):
        model_store.load_model(tmp_path, "churn_old")
