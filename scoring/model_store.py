"""Trained models on disk: ``<MODEL_STORE_PATH>/churn/<model_version>/``
holding ``model.joblib`` (the fitted ``ScoringModels``: churn model, reason-code
reference, rule-baseline rates, behaviour segments, lifetime-value parameters)
and ``metadata.json``, plus the registry beside the versions: ``approved.json``
names the version the daily scoring uses, ``decisions.jsonl`` keeps every
promotion decision (promoted or not, and why).

``model_version`` carries no timestamp: it is the training window plus a hash
of the training data, the feature list, the model spec and the scikit-learn
version. The same data and code therefore give the same version, and
``score_customers`` reuses a stored model instead of training again.

joblib files are pickles: load them only from the project's own model store.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import sklearn

from include.config import REPO_ROOT
from scoring.churn_model import MODEL_SPEC, ChurnModel
from scoring.customer_value import LifetimeValueModel
from scoring.segments import SegmentModel

MODEL_NAME = "churn"
MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
APPROVED_FILE = "approved.json"
DECISIONS_FILE = "decisions.jsonl"


@dataclass
class ScoringModels:
    """Everything the daily scoring needs, versioned together."""

    churn: ChurnModel
    reason_reference: pd.Series
    segments: SegmentModel | None
    lifetime_value: LifetimeValueModel | None


def data_fingerprint(training: pd.DataFrame, feature_columns: tuple[str, ...]) -> str:
    """sha256 over the training rows (order-independent), the feature list, the model
    spec and the scikit-learn version."""
    columns = ["customer_id", "month_start_date", "churned", *feature_columns]
    rows = training.loc[:, columns].sort_values(["month_start_date", "customer_id"])
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    identity = {
        "features": list(feature_columns),
        "spec": MODEL_SPEC,
        "sklearn": sklearn.__version__,
    }
    digest.update(json.dumps(identity, sort_keys=True).encode())
    return digest.hexdigest()


def model_version(first_month: date | None, last_month: date | None, fingerprint: str) -> str:
    """E.g. ``churn_202301_202406_3f2a9c1d04be``: training window and data hash."""
    window = (
        f"{first_month:%Y%m}_{last_month:%Y%m}"
        if first_month is not None and last_month is not None
        else "nowindow"
    )
    return f"{MODEL_NAME}_{window}_{fingerprint[:12]}"


def code_version(repo: Path = REPO_ROOT) -> str:
    """``git describe`` of the repository (with ``-dirty`` for local changes), or 'unknown'."""
    try:
        result = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def model_dir(store_path: Path, version: str) -> Path:
    return store_path / MODEL_NAME / version


def has_model(store_path: Path, version: str) -> bool:
    folder = model_dir(store_path, version)
    return (folder / MODEL_FILE).is_file() and (folder / METADATA_FILE).is_file()


def save_model(
    store_path: Path, version: str, model: ScoringModels, metadata: dict[str, Any]
) -> Path:
    """Write model and metadata into a temporary folder, then rename it into place, so a
    reader never sees half an artifact. An existing artifact of the same version wins
    (same version = same data and code)."""
    target = model_dir(store_path, version)
    if has_model(store_path, version):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=target.parent))
    try:
        joblib.dump(model, staging / MODEL_FILE)
        document = {**metadata, "model_version": version}
        (staging / METADATA_FILE).write_text(
            json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
        if target.exists():  # a leftover without both files
            shutil.rmtree(target)
        try:
            os.replace(staging, target)
        except OSError:
            if not has_model(store_path, version):  # not a concurrent writer: a real error
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def load_metadata(store_path: Path, version: str) -> dict[str, Any]:
    path = model_dir(store_path, version) / METADATA_FILE
    return json.loads(path.read_text(encoding="utf-8"))


def load_model(store_path: Path, version: str) -> tuple[ScoringModels, dict[str, Any]]:
    """The stored model and its metadata; fails naming the file if either is missing
    or was written by another scikit-learn version (pickles do not travel)."""
    folder = model_dir(store_path, version)
    if not has_model(store_path, version):
        raise FileNotFoundError(f"{folder}: no {MODEL_FILE} and {METADATA_FILE} for {version}")
    metadata = load_metadata(store_path, version)
    if metadata.get("sklearn_version") != sklearn.__version__:
        raise RuntimeError(
            f"{folder / METADATA_FILE}: model written with scikit-learn "
            f"{metadata.get('sklearn_version')}, this is {sklearn.__version__}; retrain"
        )
    model = joblib.load(folder / MODEL_FILE)
    if not isinstance(model, ScoringModels):
        raise TypeError(f"{folder / MODEL_FILE}: holds {type(model).__name__}, not ScoringModels")
    return model, metadata


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def approved_version(store_path: Path) -> str | None:
    """The version the daily scoring uses, or None before any model was approved."""
    path = store_path / MODEL_NAME / APPROVED_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))["model_version"]


def record_decision(store_path: Path, decision: dict[str, Any]) -> None:
    """Append the decision to decisions.jsonl and, when promoted, point approved.json
    at its version (replaced atomically: a reader sees the old or the new pointer)."""
    folder = store_path / MODEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / DECISIONS_FILE).open("a", encoding="utf-8") as log:
        log.write(json.dumps(decision, sort_keys=True, default=str) + "\n")
    if decision["promoted"]:
        pointer = {key: decision[key] for key in ("model_version", "decided_at", "run_id")}
        _write_atomically(folder / APPROVED_FILE, json.dumps(pointer, indent=2) + "\n")


def decisions(store_path: Path) -> list[dict[str, Any]]:
    path = store_path / MODEL_NAME / DECISIONS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
