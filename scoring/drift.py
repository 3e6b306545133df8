"""Population stability index (PSI) of the score and the top features against the
training window.

``reference_bins`` cuts a training-window variable at its quantiles and stores
the share of rows per bucket (and the share of NaN, a bucket of its own); the
result is JSON-serialisable so it can live in the model metadata.
``population_stability_index`` compares a later population with it, and
``drift_report`` does so for several variables and labels each one.

PSI = sum over buckets of (actual - expected) * ln(actual / expected).
Thresholds are the industry convention (credit-scorecard monitoring, e.g.
Siddiqi, *Credit Risk Scorecards*, 2006), not a statistical test:
PSI < 0.10 stable, 0.10 <= PSI < 0.25 worth watching, PSI >= 0.25 shifted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_BINS = 10
# Proportions below the floor count as the floor, so a bucket that is empty on
# one side adds a large but finite term instead of infinity: a bucket going from
# 0% to 10% adds (0.10 - 0.0001) * ln(0.10 / 0.0001) ~= 0.69. Floored shares are
# not renormalised; the floor is far below any share that matters.
PROPORTION_FLOOR = 1e-4
WATCH_AT = 0.10
WARN_AT = 0.25
STATUSES = ("stable", "watch", "shifted", "no_data")
REPORT_COLUMNS = ("variable", "psi", "status", "rows", "reference_rows")


@dataclass(frozen=True)
class ReferenceDistribution:
    """Buckets of a training-window variable.

    ``cut_points`` are the inner edges; the outer edges are -inf and +inf
    (``edges``). Bucket i holds ``edges[i] < x <= edges[i + 1]`` (right-closed,
    so a point mass at the minimum, e.g. many zeros, gets a bucket of its own).
    ``expected`` is the share of rows per bucket and ``expected_nan`` the share
    of NaN; together they sum to 1."""

    cut_points: tuple[float, ...]
    expected: tuple[float, ...]
    expected_nan: float
    rows: int

    @property
    def edges(self) -> tuple[float, ...]:
        return (-math.inf, *self.cut_points, math.inf)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (no Infinity or NaN: the outer edges are implicit)."""
        return {
            "cut_points": [float(value) for value in self.cut_points],
            "expected": [float(value) for value in self.expected],
            "expected_nan": float(self.expected_nan),
            "rows": int(self.rows),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReferenceDistribution:
        cut_points = tuple(float(value) for value in data["cut_points"])
        expected = tuple(float(value) for value in data["expected"])
        if len(expected) != len(cut_points) + 1:
            raise ValueError(
                f"reference distribution: {len(cut_points)} cut point(s) need "
                f"{len(cut_points) + 1} expected share(s), got {len(expected)}"
            )
        return cls(cut_points, expected, float(data["expected_nan"]), int(data["rows"]))


def _as_float(values: pd.Series) -> np.ndarray:
    try:
        return values.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"column {values.name}: not numeric ({error})") from error


def reference_bins(values: pd.Series, bins: int = DEFAULT_BINS) -> ReferenceDistribution:
    """Quantile buckets of ``values`` (the training window). Equal quantiles are
    merged, so a variable with many equal values (or a constant) gets fewer
    buckets rather than empty ones; cut points are observed values."""
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    data = _as_float(values)
    if len(data) == 0:
        raise ValueError(f"column {values.name}: no rows to build a reference distribution")
    present = data[~np.isnan(data)]
    if len(present):
        levels = np.arange(1, bins) / bins
        quantiles = np.quantile(present, levels, method="inverted_cdf")
        cut_points = np.unique(quantiles[np.isfinite(quantiles)])
    else:
        cut_points = np.empty(0)
    reference = ReferenceDistribution(tuple(float(v) for v in cut_points), (), 0.0, len(data))
    expected, expected_nan = _proportions(reference, data)
    return ReferenceDistribution(reference.cut_points, expected, expected_nan, len(data))


def _proportions(
    reference: ReferenceDistribution, data: np.ndarray
) -> tuple[tuple[float, ...], float]:
    """Share of ``data`` per bucket of ``reference`` and the share of NaN."""
    missing = np.isnan(data)
    buckets = np.searchsorted(np.asarray(reference.cut_points), data[~missing], side="left")
    counts = np.bincount(buckets, minlength=len(reference.cut_points) + 1)
    rows = len(data)
    return tuple(float(count / rows) for count in counts), float(missing.sum() / rows)


def population_stability_index(reference: ReferenceDistribution, values: pd.Series) -> float:
    """PSI of ``values`` against ``reference``, NaN bucket included; shares are
    floored at ``PROPORTION_FLOOR``. NaN when ``values`` is empty."""
    data = _as_float(values)
    if len(data) == 0:
        return math.nan
    actual, actual_nan = _proportions(reference, data)
    expected_shares = np.maximum([*reference.expected, reference.expected_nan], PROPORTION_FLOOR)
    actual_shares = np.maximum([*actual, actual_nan], PROPORTION_FLOOR)
    terms = (actual_shares - expected_shares) * np.log(actual_shares / expected_shares)
    return float(terms.sum())


def psi_status(psi: float, warn_at: float = WARN_AT, watch_at: float = WATCH_AT) -> str:
    """'stable' < watch_at <= 'watch' < warn_at <= 'shifted'; 'no_data' for NaN."""
    if math.isnan(psi):
        return "no_data"
    if psi >= warn_at:
        return "shifted"
    if psi >= watch_at:
        return "watch"
    return "stable"


def drift_report(
    references: dict[str, ReferenceDistribution],
    current: pd.DataFrame,
    warn_at: float = WARN_AT,
    watch_at: float = WATCH_AT,
) -> pd.DataFrame:
    """One row per referenced variable: ``variable, psi, status, rows, reference_rows``.

    Status: 'stable' (PSI < ``watch_at``), 'watch' (``watch_at`` <= PSI <
    ``warn_at``), 'shifted' (PSI >= ``warn_at``), 'no_data' when ``current`` has
    no rows. The defaults 0.10 / 0.25 are the conventional PSI thresholds of
    scorecard monitoring (module docstring), a convention rather than a test."""
    if not 0 <= watch_at <= warn_at:
        raise ValueError(f"thresholds: need 0 <= watch_at <= warn_at, got {watch_at}, {warn_at}")
    missing = [variable for variable in references if variable not in current.columns]
    if missing:
        raise ValueError(f"drift report: current frame lacks column(s) {', '.join(missing)}")
    rows = []
    for variable, reference in references.items():
        psi = population_stability_index(reference, current[variable])
        rows.append(
            {
                "variable": variable,
                "psi": psi,
                "status": psi_status(psi, warn_at, watch_at),
                "rows": len(current),
                "reference_rows": reference.rows,
            }
        )
    report = pd.DataFrame(rows, columns=list(REPORT_COLUMNS))
    return report.astype({"psi": "float64", "rows": "int64", "reference_rows": "int64"})


def drift_warnings(report: pd.DataFrame) -> list[str]:
    """One message per 'shifted' variable of a ``drift_report``, for the run log."""
    shifted = report.loc[report["status"] == "shifted"]
    return [
        f"population shift in {row.variable}: PSI {row.psi:.3f} "
        f"({row.rows} rows vs {row.reference_rows} in the training window)"
        for row in shifted.itertuples(index=False)
    ]


def reference_distributions(
    training: pd.DataFrame, variables: list[str] | tuple[str, ...], bins: int = DEFAULT_BINS
) -> dict[str, ReferenceDistribution]:
    """``reference_bins`` for each of ``variables`` of the training-window frame."""
    missing = [variable for variable in variables if variable not in training.columns]
    if missing:
        raise ValueError(f"training frame: missing column(s) {', '.join(missing)}")
    return {variable: reference_bins(training[variable], bins) for variable in variables}


def references_to_dict(references: dict[str, ReferenceDistribution]) -> dict[str, Any]:
    """JSON-ready form of several references, for the model metadata."""
    return {variable: reference.to_dict() for variable, reference in references.items()}


def references_from_dict(data: dict[str, Any]) -> dict[str, ReferenceDistribution]:
    """Inverse of ``references_to_dict``."""
    return {variable: ReferenceDistribution.from_dict(item) for variable, item in data.items()}
