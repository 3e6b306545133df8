from __future__ import annotations

import re
import time
from dataclasses import replace
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from scoring.segments import (
    BEHAVIOUR_FEATURES,
    SegmentModel,
    assign_segments,
    fit_segments,
    segment_name,
    segments_summary,
)

# Centres of well-separated behaviour groups (original units) and the noise around them.
GROUPS: dict[str, dict[str, float]] = {
    "affluent": {
        "feature_log_month_average_aum": 13.5,
        "feature_active_share_12m": 0.9,
        "feature_digital_share_3m": 0.5,
        "feature_monthly_transactions_3m": 8.0,
        "product_depth": 5.0,
        "feature_investment_account_share": 0.6,
        "feature_payroll_share_3m": 0.3,
        "feature_aum_trend_3m": 0.02,
    },
    "digital": {
        "feature_log_month_average_aum": 9.5,
        "feature_active_share_12m": 0.95,
        "feature_digital_share_3m": 0.92,
        "feature_monthly_transactions_3m": 30.0,
        "product_depth": 3.0,
        "feature_investment_account_share": 0.05,
        "feature_payroll_share_3m": 0.9,
        "feature_aum_trend_3m": 0.0,
    },
    "dormant": {
        "feature_log_month_average_aum": 5.0,
        "feature_active_share_12m": 0.05,
        "feature_digital_share_3m": 0.1,
        "feature_monthly_transactions_3m": 0.2,
        "product_depth": 1.0,
        "feature_investment_account_share": 0.0,
        "feature_payroll_share_3m": 0.0,
        "feature_aum_trend_3m": -0.1,
    },
    "branch": {
        "feature_log_month_average_aum": 10.5,
        "feature_active_share_12m": 0.6,
        "feature_digital_share_3m": 0.05,
        "feature_monthly_transactions_3m": 3.0,
        "product_depth": 2.0,
        "feature_investment_account_share": 0.1,
        "feature_payroll_share_3m": 0.1,
        "feature_aum_trend_3m": 0.0,
    },
    "declining": {
        "feature_log_month_average_aum": 11.0,
        "feature_active_share_12m": 0.7,
        "feature_digital_share_3m": 0.5,
        "feature_monthly_transactions_3m": 10.0,
        "product_depth": 3.0,
        "feature_investment_account_share": 0.2,
        "feature_payroll_share_3m": 0.5,
        "feature_aum_trend_3m": -0.6,
    },
}
NOISE = {
    "feature_log_month_average_aum": 0.4,
    "feature_active_share_12m": 0.05,
    "feature_digital_share_3m": 0.05,
    "feature_monthly_transactions_3m": 1.5,
    "product_depth": 0.5,
    "feature_investment_account_share": 0.05,
    "feature_payroll_share_3m": 0.08,
    "feature_aum_trend_3m": 0.05,
}
FOUR = ("affluent", "digital", "dormant", "branch")
SHARES = (
    "feature_active_share_12m",
    "feature_digital_share_3m",
    "feature_investment_account_share",
    "feature_payroll_share_3m",
)


def population(groups: tuple[str, ...], rows: int, seed: int) -> pd.DataFrame:
    """Customers drawn from ``groups``; ``group`` is the truth, not a feature."""
    rng = np.random.default_rng(seed)
    drawn = rng.choice(np.array(groups), rows)
    frame = pd.DataFrame(
        {"customer_id": [f"S{seed}-{number:06d}" for number in range(rows)], "group": drawn}
    )
    for feature in BEHAVIOUR_FEATURES:
        centre = np.array([GROUPS[group][feature] for group in drawn])
        frame[feature] = centre + rng.normal(0.0, NOISE[feature], rows)
    frame[list(SHARES)] = frame[list(SHARES)].clip(0.0, 1.0)
    frame["feature_monthly_transactions_3m"] = frame["feature_monthly_transactions_3m"].clip(
        lower=0.0
    )
    frame["product_depth"] = frame["product_depth"].round().clip(0, 8)
    return frame


def group_segments(model: SegmentModel, frame: pd.DataFrame) -> pd.DataFrame:
    """Per true group: the most common segment id and name, and its share."""
    assigned = assign_segments(model, frame)
    assigned["group"] = frame["group"].to_numpy()
    rows = {}
    for group, part in assigned.groupby("group"):
        top = part["segment_id"].value_counts()
        segment_id = int(top.index[0])
        rows[group] = {
            "segment_id": segment_id,
            "segment_name": model.names[segment_id],
            "purity": top.iloc[0] / len(part),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@pytest.fixture(scope="module")
def first_model() -> tuple[SegmentModel, pd.DataFrame]:
    frame = population(FOUR, 4_000, seed=1)
    return fit_segments(frame, n_segments=4, random_state=0), frame


def test_each_group_maps_to_one_segment(first_model) -> None:
    model, frame = first_model
    groups = group_segments(model, frame)
    assert (groups["purity"] > 0.95).all()
    assert groups["segment_id"].nunique() == 4
    # Without a previous model ids follow the centroid's feature_log_month_average_aum ascending.
    assert groups.sort_values("segment_id").index.tolist() == [
        "dormant",
        "digital",
        "branch",
        "affluent",
    ]
    assert sorted(model.names) == [1, 2, 3, 4]
    assert model.max_id_issued == 4


def test_refit_on_a_fresh_sample_keeps_ids_and_names(first_model) -> None:
    model, frame = first_model
    fresh = population(FOUR, 5_000, seed=2)
    refit = fit_segments(fresh, n_segments=4, random_state=7, previous=model)
    before = group_segments(model, frame)
    after = group_segments(refit, fresh)
    pd.testing.assert_frame_equal(
        before[["segment_id", "segment_name"]], after[["segment_id", "segment_name"]]
    )
    assert (after["purity"] > 0.95).all()
    assert (refit.profiles["previous_distance"] < 0.5).all()
    # The old model and the new one agree customer by customer.
    agreement = (
        assign_segments(model, fresh)["segment_id"] == assign_segments(refit, fresh)["segment_id"]
    )
    assert agreement.mean() > 0.99


def test_shuffled_rows_and_other_random_state_give_the_same_ids(first_model) -> None:
    model, frame = first_model
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    refit = fit_segments(shuffled, n_segments=4, random_state=42)
    pd.testing.assert_frame_equal(group_segments(model, frame), group_segments(refit, frame))
    assert refit.names == model.names
    # customer_id as the index instead of a column gives the same assignment.
    by_index = assign_segments(refit, shuffled.set_index("customer_id"))
    by_column = assign_segments(refit, shuffled)
    pd.testing.assert_frame_equal(by_index, by_column)


def test_names_are_unique_and_readable(first_model) -> None:
    model, _ = first_model
    names = list(model.names.values())
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[a-z][a-z\- ]+", name), name
    groups = group_segments(model, population(FOUR, 1_000, seed=5))
    assert groups.loc["dormant", "segment_name"] == "dormant low-balance customers"
    assert groups.loc["digital", "segment_name"] == "digital everyday bankers"
    assert groups.loc["branch", "segment_name"] == "branch-reliant savers"
    assert "investors" in groups.loc["affluent", "segment_name"]
    for segment_id, description in model.descriptions.items():
        assert "typical AUM" in description and "% of customers" in description, segment_id
    summary = segments_summary(model)
    assert [item["segment_id"] for item in summary] == [1, 2, 3, 4]
    assert sum(item["customer_share"] for item in summary) == pytest.approx(1.0)


def test_name_collisions_get_a_distinguishing_word() -> None:
    z_scores = pd.Series(
        {
            "feature_log_month_average_aum": 1.5,
            "feature_investment_account_share": 2.0,
            "feature_digital_share_3m": 0.8,
        }
    )
    first = segment_name(z_scores)
    assert first == "affluent investors"
    second = segment_name(z_scores, {first})
    assert second == "digital affluent investors"
    third = segment_name(z_scores, {first, second})
    assert third not in {first, second}
    assert segment_name(pd.Series(dtype=float)) == "mainstream customers"


def test_missing_values_are_filled_with_medians() -> None:
    frame = population(FOUR, 4_000, seed=1)
    rng = np.random.default_rng(9)
    holes = frame.copy()
    for feature in BEHAVIOUR_FEATURES:
        holes.loc[rng.random(len(holes)) < 0.05, feature] = np.nan
    holes.loc[0, "feature_log_month_average_aum"] = np.inf
    model = fit_segments(holes, n_segments=4)
    assert model.medians.notna().all()
    assigned = assign_segments(model, holes)
    assert assigned["segment_id"].notna().all() and assigned["segment_name"].notna().all()
    assert (group_segments(model, frame)["purity"] > 0.95).all()
    # A customer with no features at all lands in the segment of the median customer.
    empty = pd.DataFrame({"customer_id": ["X"], **{f: [np.nan] for f in BEHAVIOUR_FEATURES}})
    assert len(assign_segments(model, empty)) == 1


def test_a_different_number_of_segments_keeps_matched_ids(first_model) -> None:
    model, frame = first_model
    before = group_segments(model, frame)

    # A new kind of customer appears: five segments, the four old ones keep their ids.
    five = population((*FOUR, "declining"), 5_000, seed=3)
    grown = fit_segments(five, n_segments=5, previous=model)
    after = group_segments(grown, five)
    pd.testing.assert_frame_equal(
        before[["segment_id", "segment_name"]],
        after.loc[sorted(FOUR), ["segment_id", "segment_name"]],
    )
    assert after.loc["declining", "segment_id"] == 5
    assert after.loc["declining", "segment_name"].startswith("declining")
    assert grown.max_id_issued == 5

    # A kind of customer disappears: three segments keep their ids, id 4 retires ...
    three = population(("dormant", "digital", "branch"), 3_000, seed=4)
    shrunk = fit_segments(three, n_segments=3, previous=model)
    assert sorted(shrunk.names) == [1, 2, 3]
    assert shrunk.max_id_issued == 4
    # ... and when it comes back it gets a fresh id, not the retired 4.
    back = fit_segments(population(FOUR, 4_000, seed=6), n_segments=4, previous=shrunk)
    assert group_segments(back, frame).loc["affluent", "segment_id"] == 5


def test_a_moved_cluster_gets_a_new_id(first_model) -> None:
    model, _ = first_model
    moved = population(FOUR, 4_000, seed=2)
    branch = moved["group"] == "branch"
    moved.loc[branch, "feature_digital_share_3m"] = 0.95
    moved.loc[branch, "feature_monthly_transactions_3m"] = 40.0
    moved.loc[branch, "feature_payroll_share_3m"] = 0.95
    refit = fit_segments(moved, n_segments=4, previous=model)
    after = group_segments(refit, moved)
    assert after.loc["branch", "segment_id"] == 5
    assert after.loc[["dormant", "digital", "affluent"], "segment_id"].tolist() == [1, 2, 4]
    assert refit.profiles["previous_distance"].isna().sum() == 1


def test_model_round_trips_through_joblib(first_model, tmp_path: Path) -> None:
    model, frame = first_model
    joblib.dump(model, tmp_path / "segments.joblib")
    loaded = joblib.load(tmp_path / "segments.joblib")
    pd.testing.assert_frame_equal(assign_segments(loaded, frame), assign_segments(model, frame))


def test_assigning_100k_customers_is_fast(first_model) -> None:
    model, _ = first_model
    frame = population(FOUR, 100_000, seed=8)
    started = time.perf_counter()
    assigned = assign_segments(model, frame)
    elapsed = time.perf_counter() - started
    assert len(assigned) == 100_000
    assert elapsed < 1.0  # typically ~0.1 s


def test_large_input_is_fitted_on_a_sample() -> None:
    frame = population(FOUR, 60_000, seed=10)
    model = fit_segments(frame, n_segments=4, max_fit_rows=20_000)
    assert model.fit_rows == 20_000
    assert (group_segments(model, frame)["purity"] > 0.95).all()


def test_bad_input_is_named() -> None:
    frame = population(FOUR, 100, seed=1)
    with pytest.raises(ValueError, match="missing column.*feature_digital_share_3m"):
        fit_segments(frame.drop(columns="feature_digital_share_3m"))
    with pytest.raises(ValueError, match="duplicate customer_id S1-000000"):
        fit_segments(pd.concat([frame, frame.head(1)]))
    with pytest.raises(ValueError, match="fewer than n_segments"):
        fit_segments(frame.head(3), n_segments=4)
    all_null = frame.assign(feature_payroll_share_3m=np.nan)
    with pytest.raises(ValueError, match="feature_payroll_share_3m are all NULL"):
        fit_segments(all_null)
    with pytest.raises(ValueError, match="column feature_log_month_average_aum is not numeric"):
        fit_segments(frame.assign(feature_log_month_average_aum="a lot"))


def test_a_previous_model_on_older_feature_names_matches_nothing(first_model) -> None:
    # a model stored before a feature rename cannot be compared in its own scaled
    # space: every segment gets a fresh id above the ones it issued, none is reused
    model, frame = first_model
    older = replace(model, features=("log_aum", *model.features[1:]))
    refit = fit_segments(frame, n_segments=4, previous=older)
    assert set(refit.names) == set(range(model.max_id_issued + 1, model.max_id_issued + 5))
    assert refit.profiles["previous_distance"].isna().all()
