"""Behaviour segments: k-means on standardised behaviour features, with a readable
name per segment and ids that stay the same from one run to the next.

Fitting (``fit_segments``):

1. NaN (and +/-inf) are filled with the column medians of the fit sample; the
   medians are stored so that scoring fills the same way. The features arrive as
   scoring.features builds them (the same ``feature_`` columns the churn model
   uses, plus the marts' ``product_depth``); nothing is clipped again here.
2. StandardScaler, then z-scores clipped to +/- ``Z_CLIP`` so that a handful of
   huge balances cannot own a cluster of their own.
3. KMeans (``n_init=10``, fixed ``random_state``) on at most ``MAX_FIT_ROWS``
   rows, a seeded sample. Rows are sorted by customer id first, so the same
   customers in any row order give the same model.

Stable ids. Without a previous model, ids 1..n follow the centroids' AUM (log)
ascending (ties broken by the other features), so the same data give the same
ids. With ``previous``, the new centroids are matched to the previous ones with
the Hungarian algorithm in the *previous model's scaled space*: original units
would let the log AUM (range ~0-15) drown the 0-1 shares, and the previous
scaled space is the one the previous segments were defined in; it also keeps
the distance threshold in the same units (population standard deviations of
the previous fit) from run to run. A match farther than ``max_match_distance``
is refused. Matched segments inherit id and name; the others get fresh ids
above every id ever issued (``max_id_issued`` is carried from model to model),
so a retired id is never reused for a different kind of customer.

Names come from ``NAME_RULES``: the centroid's z-score against the population
(its position in the model's scaled space) picks the strongest adjective and
the strongest noun whose z-score is at least ``NAME_MIN_Z`` in the rule's
direction, e.g. "affluent investors", "dormant low-balance customers".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "feature_log_month_average_aum",  # log1p of month-average AUM
    "feature_active_share_12m",  # share of observed months active, 0..1
    "feature_digital_share_3m",  # share of customer-initiated transactions via digital, 0..1
    "feature_monthly_transactions_3m",  # customer-initiated, mean over observed months
    "product_depth",  # mart_customer_loyalty: number of product families held, 0..8
    "feature_investment_account_share",  # share of open AUM accounts that are investments
    "feature_payroll_share_3m",  # share of the last 3 months with a payroll credit, 0..1
    "feature_aum_trend_3m",  # the mart's 3-month AUM trend, clipped as for the churn model
)
# A z-score beyond 4 is an outlier, not a behaviour: clipping keeps a few very
# large balances from pulling a centroid (or a whole cluster) towards them.
Z_CLIP = 4.0
MAX_FIT_ROWS = 50_000
N_INIT = 10
# Euclidean distance between centroids in the previous model's scaled space
# (units: population standard deviations). 2.0 is e.g. a shift of one standard
# deviation in four features at once: beyond that it is a different segment.
MAX_MATCH_DISTANCE = 2.0
FIRST_SEGMENT_ID = 1

# (feature, direction, words, part of speech). A rule applies when the centroid's
# z-score times direction is >= NAME_MIN_Z; the strongest adjective and the
# strongest noun make the name. Ties go to the rule listed first.
NAME_MIN_Z = 0.5
NAME_RULES: tuple[tuple[str, int, str, str], ...] = (
    ("feature_active_share_12m", -1, "dormant", "adjective"),
    ("feature_aum_trend_3m", -1, "declining", "adjective"),
    ("feature_aum_trend_3m", +1, "growing", "adjective"),
    ("feature_log_month_average_aum", +1, "affluent", "adjective"),
    ("feature_digital_share_3m", +1, "digital", "adjective"),
    ("feature_digital_share_3m", -1, "branch-reliant", "adjective"),
    ("product_depth", +1, "multi-product", "adjective"),
    ("feature_investment_account_share", +1, "investors", "noun"),
    ("feature_payroll_share_3m", +1, "payroll customers", "noun"),
    ("feature_monthly_transactions_3m", +1, "everyday bankers", "noun"),
    ("feature_log_month_average_aum", -1, "low-balance customers", "noun"),
    ("feature_monthly_transactions_3m", -1, "savers", "noun"),
)
AUM_FEATURE = "feature_log_month_average_aum"
DEFAULT_NOUN = "customers"
DEFAULT_NAME = "mainstream customers"


@dataclass
class SegmentModel:
    """A fitted segmentation; picklable with joblib.

    ``segment_ids[label]`` is the stable id of k-means cluster ``label``;
    ``names`` and ``descriptions`` are keyed by stable id; ``profiles`` holds one
    row per segment id: centroid in original units, ``typical_aum`` (expm1 of the
    centroid's log AUM), ``customer_share`` in the fit sample,
    ``previous_distance`` (distance to the matched previous centroid, NaN when
    the id is new) and the name."""

    features: tuple[str, ...]
    medians: pd.Series
    scaler: StandardScaler
    kmeans: KMeans
    segment_ids: np.ndarray
    names: dict[int, str]
    descriptions: dict[int, str]
    profiles: pd.DataFrame
    max_id_issued: int
    fit_rows: int
    z_clip: float = Z_CLIP


def customer_ids(features: pd.DataFrame) -> pd.Series:
    """The ``customer_id`` column if there is one, else the index, as a Series."""
    if "customer_id" in features.columns:
        return features["customer_id"].reset_index(drop=True)
    return pd.Series(features.index, name="customer_id").reset_index(drop=True)


def feature_matrix(
    features: pd.DataFrame, columns: tuple[str, ...] = BEHAVIOUR_FEATURES
) -> np.ndarray:
    """The behaviour columns as float64 with +/-inf as NaN. Fails naming the missing
    or non-numeric column."""
    missing = [column for column in columns if column not in features.columns]
    if missing:
        raise ValueError(f"behaviour features frame: missing column(s) {', '.join(missing)}")
    matrix = np.empty((len(features), len(columns)), dtype="float64")
    for position, column in enumerate(columns):
        try:
            matrix[:, position] = features[column].to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"behaviour features frame: column {column} is not numeric ({error})"
            ) from error
    matrix[~np.isfinite(matrix)] = np.nan
    return matrix


def _scaled(
    matrix: np.ndarray, medians: np.ndarray, scaler: StandardScaler, z_clip: float
) -> np.ndarray:
    filled = np.where(np.isnan(matrix), medians, matrix)
    return np.clip(scaler.transform(filled), -z_clip, z_clip)


def _fit_sample(features: pd.DataFrame, max_rows: int, random_state: int) -> pd.DataFrame:
    ids = customer_ids(features)
    duplicated = ids.duplicated()
    if duplicated.any():
        row = int(duplicated.to_numpy().argmax())
        raise ValueError(
            f"behaviour features frame: duplicate customer_id {ids.iloc[row]} (row {row})"
        )
    # Sorting makes the fit independent of the row order the warehouse returns.
    order = np.argsort(ids.astype(str).to_numpy(), kind="stable")
    rows = features.iloc[order]
    if len(rows) > max_rows:
        picked = np.random.default_rng(random_state).choice(len(rows), max_rows, replace=False)
        rows = rows.iloc[np.sort(picked)]
    return rows


def _id_order(centroids: np.ndarray, features: tuple[str, ...]) -> np.ndarray:
    """Cluster indices by AUM (log) ascending, then by the other features."""
    # np.lexsort sorts by the last key first.
    keys = [centroids[:, position] for position in reversed(range(len(features)))]
    if AUM_FEATURE in features:
        keys.append(centroids[:, features.index(AUM_FEATURE)])
    return np.lexsort(keys)


def _match(
    centroids: np.ndarray, previous: SegmentModel, max_distance: float
) -> tuple[dict[int, int], dict[int, float]]:
    """New cluster index -> previous stable id (and the distance), by the
    Hungarian algorithm in the previous model's scaled space. A previous model on
    other features (an older feature set) matches nothing: every segment gets a
    fresh id, still above every id it issued."""
    if tuple(previous.features) != BEHAVIOUR_FEATURES:
        return {}, {}
    new_points = previous.scaler.transform(centroids)
    old_points = previous.kmeans.cluster_centers_
    distances = cdist(new_points, old_points)
    # Refused pairs cost more than any set of allowed ones: the assignment first
    # maximises the number of allowed matches, then minimises their distance.
    refused = distances.sum() + 1.0
    rows, columns = linear_sum_assignment(np.where(distances <= max_distance, distances, refused))
    matches: dict[int, int] = {}
    matched_distances: dict[int, float] = {}
    for row, column in zip(rows, columns, strict=True):
        if distances[row, column] <= max_distance:
            matches[int(row)] = int(previous.segment_ids[column])
            matched_distances[int(row)] = float(distances[row, column])
    return matches, matched_distances


def segment_name(z_scores: pd.Series, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """Readable name from a centroid's z-scores (indexed by feature), unique
    against ``taken``: a second adjective is added, then a number as last resort."""
    ranked: dict[str, list[tuple[float, int, str]]] = {"adjective": [], "noun": []}
    for rank, (feature, direction, words, part) in enumerate(NAME_RULES):
        strength = float(z_scores.get(feature, 0.0)) * direction
        if strength >= NAME_MIN_Z:
            ranked[part].append((-strength, rank, words))
    adjectives = [words for *_, words in sorted(ranked["adjective"])]
    nouns = [words for *_, words in sorted(ranked["noun"])]
    noun = nouns[0] if nouns else DEFAULT_NOUN
    candidates = [f"{adjectives[0]} {noun}" if adjectives else (noun if nouns else DEFAULT_NAME)]
    candidates += [f"{extra} {candidates[0]}" for extra in adjectives[1:]]
    candidates += [f"{adjective} {other}" for other in nouns[1:] for adjective in adjectives[:1]]
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while f"{candidates[0]} {number}" in taken:
        number += 1
    return f"{candidates[0]} {number}"


def segment_description(profile: pd.Series) -> str:
    """One line with the centroid figures in plain units."""
    return (
        f"{profile['customer_share']:.0%} of customers; typical AUM {profile['typical_aum']:,.0f}; "
        f"active in {profile['feature_active_share_12m']:.0%} of months; "
        f"{profile['feature_digital_share_3m']:.0%} of transactions digital; "
        f"{profile['feature_monthly_transactions_3m']:.1f} transactions a month; "
        f"{profile['product_depth']:.1f} products; "
        f"{profile['feature_investment_account_share']:.0%} of AUM accounts investments; "
        f"payroll in {profile['feature_payroll_share_3m']:.0%} of the last 3 months; "
        "AUM "
        f"{_no_negative_zero(profile['feature_aum_trend_3m'], 2):+.0%} against 3 months earlier"
    )


def _no_negative_zero(value: float, digits: int) -> float:
    # "-0%" reads like a decline; adding 0.0 turns -0.0 into 0.0.
    return round(float(value), digits) + 0.0


def fit_segments(
    features: pd.DataFrame,
    n_segments: int = 6,
    random_state: int = 0,
    previous: SegmentModel | None = None,
    max_match_distance: float = MAX_MATCH_DISTANCE,
    max_fit_rows: int = MAX_FIT_ROWS,
) -> SegmentModel:
    """Fit ``n_segments`` behaviour segments on ``features`` (one row per customer,
    ``customer_id`` as column or index, the ``BEHAVIOUR_FEATURES`` columns); with
    ``previous``, matched segments keep their ids and names (module docstring)."""
    if n_segments < 1:
        raise ValueError(f"n_segments must be >= 1, got {n_segments}")
    sample = _fit_sample(features, max_fit_rows, random_state)
    if len(sample) < n_segments:
        raise ValueError(
            f"behaviour features frame: {len(sample)} row(s), fewer than n_segments={n_segments}"
        )
    matrix = feature_matrix(sample)
    empty = [BEHAVIOUR_FEATURES[i] for i in np.flatnonzero(np.isnan(matrix).all(axis=0))]
    if empty:
        raise ValueError(f"behaviour features frame: column(s) {', '.join(empty)} are all NULL")
    medians = np.nanmedian(matrix, axis=0)
    scaler = StandardScaler().fit(np.where(np.isnan(matrix), medians, matrix))
    scaled = _scaled(matrix, medians, scaler, Z_CLIP)
    kmeans = KMeans(n_clusters=n_segments, n_init=N_INIT, random_state=random_state).fit(scaled)

    centroids = scaler.inverse_transform(kmeans.cluster_centers_)
    matches: dict[int, int] = {}
    distances: dict[int, float] = {}
    issued = FIRST_SEGMENT_ID - 1
    if previous is not None:
        matches, distances = _match(centroids, previous, max_match_distance)
        issued = max(previous.max_id_issued, int(previous.segment_ids.max()))
    segment_ids = np.zeros(n_segments, dtype="int64")
    next_id = issued + 1
    for cluster in _id_order(centroids, BEHAVIOUR_FEATURES):
        if int(cluster) in matches:
            segment_ids[cluster] = matches[int(cluster)]
        else:
            segment_ids[cluster] = next_id
            next_id += 1

    counts = np.bincount(kmeans.labels_, minlength=n_segments)
    profiles = pd.DataFrame(centroids, columns=list(BEHAVIOUR_FEATURES))
    profiles.insert(0, "segment_id", segment_ids)
    profiles["typical_aum"] = np.expm1(profiles[AUM_FEATURE])
    profiles["customer_share"] = counts / counts.sum()
    profiles["previous_distance"] = [distances.get(i, np.nan) for i in range(n_segments)]

    z_scores = pd.DataFrame(kmeans.cluster_centers_, columns=list(BEHAVIOUR_FEATURES))
    names = {segment_id: previous.names[segment_id] for segment_id in matches.values()}
    for cluster in np.argsort(segment_ids, kind="stable"):
        segment_id = int(segment_ids[cluster])
        if segment_id not in names:
            names[segment_id] = segment_name(z_scores.iloc[cluster], set(names.values()))
    profiles["segment_name"] = [names[int(i)] for i in segment_ids]
    profiles = profiles.sort_values("segment_id", ignore_index=True)
    descriptions = {
        int(row["segment_id"]): segment_description(row) for _, row in profiles.iterrows()
    }
    return SegmentModel(
        features=BEHAVIOUR_FEATURES,
        medians=pd.Series(medians, index=list(BEHAVIOUR_FEATURES)),
        scaler=scaler,
        kmeans=kmeans,
        segment_ids=segment_ids,
        names=dict(sorted(names.items())),
        descriptions=descriptions,
        profiles=profiles,
        max_id_issued=max(issued, int(segment_ids.max())),
        fit_rows=len(sample),
    )


def assign_segments(model: SegmentModel, features: pd.DataFrame) -> pd.DataFrame:
    """``customer_id, segment_id, segment_name`` per row of ``features``, in row order."""
    matrix = feature_matrix(features, model.features)
    ids = customer_ids(features)
    if len(matrix) == 0:
        labels = np.empty(0, dtype="int64")
    else:
        medians = model.medians.loc[list(model.features)].to_numpy(dtype="float64")
        labels = model.kmeans.predict(_scaled(matrix, medians, model.scaler, model.z_clip))
    segment_ids = model.segment_ids[labels]
    names = pd.Series(model.names)
    return pd.DataFrame(
        {
            "customer_id": ids.to_numpy(),
            "segment_id": segment_ids.astype("int64"),
            "segment_name": names.reindex(segment_ids).to_numpy(dtype=object),
        }
    )


def segments_summary(model: SegmentModel) -> list[dict[str, Any]]:
    """JSON-friendly ``[{segment_id, segment_name, description, customer_share}]``,
    e.g. for model metadata."""
    return [
        {
            "segment_id": int(row["segment_id"]),
            "segment_name": str(row["segment_name"]),
            "description": model.descriptions[int(row["segment_id"])],
            "customer_share": float(row["customer_share"]),
        }
        for _, row in model.profiles.iterrows()
    ]
