from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from scoring.drift import (
    PROPORTION_FLOOR,
    ReferenceDistribution,
    drift_report,
    drift_warnings,
    population_stability_index,
    psi_status,
    reference_bins,
    reference_distributions,
    references_from_dict,
    references_to_dict,
)


def normal(rows: int, seed: int, mean: float = 0.0) -> pd.Series:
    return pd.Series(np.random.default_rng(seed).normal(mean, 1.0, rows), name="score")


def test_same_distribution_gives_psi_near_zero() -> None:
    reference = reference_bins(normal(20_000, seed=1))
    assert len(reference.cut_points) == 9
    assert sum(reference.expected) == pytest.approx(1.0)
    assert population_stability_index(reference, normal(20_000, seed=2)) < 0.01
    assert population_stability_index(reference, normal(20_000, seed=1)) == pytest.approx(0.0)


def test_hand_worked_example() -> None:
    # Training: five 0s, three 1s, two 2s; bins=3 asks for the 1/3 and 2/3 quantiles,
    # which are 0 and 1 (observed values). Buckets (-inf, 0], (0, 1], (1, inf)
    # expect 0.5, 0.3, 0.2; no NaN.
    reference = reference_bins(pd.Series([0] * 5 + [1] * 3 + [2] * 2), bins=3)
    assert reference.cut_points == (0.0, 1.0)
    assert reference.expected == pytest.approx((0.5, 0.3, 0.2))
    assert reference.expected_nan == 0.0
    # Current: two 0s, three 1s, five 2s -> 0.2, 0.3, 0.5.
    # PSI = (0.2 - 0.5) ln(0.2 / 0.5) + (0.3 - 0.3) ln(1) + (0.5 - 0.2) ln(0.5 / 0.2)
    #     = 0.3 * 0.916291 + 0 + 0.3 * 0.916291 = 0.549774
    # (the NaN bucket is 0 on both sides: floored to 1e-4 on both, so it adds 0).
    current = pd.Series([0] * 2 + [1] * 3 + [2] * 5)
    assert population_stability_index(reference, current) == pytest.approx(0.549774, abs=1e-6)


def test_mean_shift_of_one_sd_is_shifted() -> None:
    references = {"score": reference_bins(normal(10_000, seed=1))}
    current = pd.DataFrame({"score": normal(10_000, seed=2, mean=1.0)})
    report = drift_report(references, current)
    assert list(report.columns) == ["variable", "psi", "status", "rows", "reference_rows"]
    assert report.loc[0, "status"] == "shifted"
    assert report.loc[0, "psi"] > 0.25
    assert report.loc[0, "rows"] == 10_000 and report.loc[0, "reference_rows"] == 10_000
    assert drift_warnings(report) and "score" in drift_warnings(report)[0]


def test_statuses_follow_thresholds() -> None:
    assert psi_status(0.0) == "stable"
    assert psi_status(0.0999) == "stable"
    assert psi_status(0.10) == "watch"
    assert psi_status(0.2499) == "watch"
    assert psi_status(0.25) == "shifted"
    assert psi_status(math.nan) == "no_data"
    assert psi_status(0.15, warn_at=0.5, watch_at=0.2) == "stable"


def test_small_shift_is_watched() -> None:
    references = {"score": reference_bins(normal(20_000, seed=1))}
    current = pd.DataFrame({"score": normal(20_000, seed=2, mean=0.35)})
    assert drift_report(references, current).loc[0, "status"] == "watch"


def test_constant_feature() -> None:
    reference = reference_bins(pd.Series([5.0] * 100))
    assert reference.cut_points == (5.0,)
    assert reference.expected == (1.0, 0.0)
    assert population_stability_index(reference, pd.Series([5.0] * 40)) == pytest.approx(0.0)
    # Half the customers above the old constant: the empty bucket is floored, not infinite.
    moved = population_stability_index(reference, pd.Series([5.0] * 20 + [6.0] * 20))
    floor = PROPORTION_FLOOR
    expected = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - floor) * math.log(0.5 / floor)
    assert moved == pytest.approx(expected)
    assert math.isfinite(moved) and psi_status(moved) == "shifted"


def test_many_zeros_get_a_bucket_of_their_own() -> None:
    rng = np.random.default_rng(3)

    def balances(seed: int) -> pd.Series:
        rng = np.random.default_rng(seed)
        return pd.Series(np.where(rng.random(10_000) < 0.7, 0.0, rng.exponential(1_000, 10_000)))

    reference = reference_bins(balances(1))
    assert reference.cut_points[0] == 0.0
    assert reference.expected[0] == pytest.approx(0.7, abs=0.02)
    assert len(reference.cut_points) < 9  # the equal quantiles at 0 were merged
    assert population_stability_index(reference, balances(2)) < 0.01
    fewer_zeros = pd.Series(np.where(rng.random(10_000) < 0.4, 0.0, 500.0))
    assert population_stability_index(reference, fewer_zeros) > 0.25


def test_nan_has_its_own_bucket() -> None:
    values = normal(10_000, seed=1).to_numpy()
    with_nan = pd.Series(np.where(np.arange(10_000) % 10 == 0, np.nan, values))
    reference = reference_bins(with_nan)
    assert reference.expected_nan == pytest.approx(0.1)
    assert sum(reference.expected) + reference.expected_nan == pytest.approx(1.0)
    assert population_stability_index(reference, with_nan) == pytest.approx(0.0)
    more_nan = pd.Series(np.where(np.arange(10_000) % 10 < 4, np.nan, values))
    assert population_stability_index(reference, more_nan) > 0.25
    # A nullable integer column with NA works too.
    nullable = pd.Series([1, 2, None, 3], dtype="Int64")
    assert reference_bins(nullable).expected_nan == pytest.approx(0.25)


def test_all_nan_reference_and_empty_current() -> None:
    reference = reference_bins(pd.Series([np.nan] * 10))
    assert reference.cut_points == () and reference.expected == (0.0,)
    assert population_stability_index(reference, pd.Series([np.nan] * 3)) == pytest.approx(0.0)
    report = drift_report({"x": reference}, pd.DataFrame({"x": pd.Series([], dtype=float)}))
    assert report.loc[0, "status"] == "no_data" and report.loc[0, "rows"] == 0
    with pytest.raises(ValueError, match="no rows"):
        reference_bins(pd.Series([], dtype=float, name="x"))


def test_round_trip_through_json() -> None:
    training = pd.DataFrame(
        {
            "score": normal(1_000, seed=1),
            "zeros": [0.0] * 900 + [1.5] * 100,
            "with_nan": [np.nan, 1.0, 2.0, 3.0] * 250,
        }
    )
    references = reference_distributions(training, ["score", "zeros", "with_nan"])
    text = json.dumps(references_to_dict(references), allow_nan=False)
    restored = references_from_dict(json.loads(text))
    assert restored == references
    assert restored["score"].edges[0] == -math.inf and restored["score"].edges[-1] == math.inf
    assert ReferenceDistribution.from_dict(references["zeros"].to_dict()) == references["zeros"]
    report = drift_report(restored, training)
    assert (report["status"] == "stable").all()
    assert report["psi"].to_numpy() == pytest.approx(0.0)


def test_errors_name_the_column() -> None:
    reference = reference_bins(normal(100, seed=1))
    with pytest.raises(ValueError, match="lacks column.*score"):
        drift_report({"score": reference}, pd.DataFrame({"other": [1.0]}))
    with pytest.raises(ValueError, match="column label: not numeric"):
        reference_bins(pd.Series(["a", "b"], name="label"))
    with pytest.raises(ValueError, match="need 2 expected"):
        ReferenceDistribution.from_dict(
            {"cut_points": [1.0], "expected": [1.0], "expected_nan": 0.0, "rows": 1}
        )
