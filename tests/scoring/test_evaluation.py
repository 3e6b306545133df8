from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.evaluation import (
    reliability_check,
    reliability_table,
    score_report,
    top_share_capture,
)

# 20 rows, 5 churners: one at 0.9; three tied at 0.8 (one churner); two at 0.5
# (one churner); fourteen at 0.1 (two churners).
SCORES = np.array([0.9, 0.8, 0.8, 0.8, 0.5, 0.5] + [0.1] * 14)
LABELS = np.array([1, 1, 0, 0, 1, 0] + [1, 1] + [0] * 12)


def test_top_decile_capture_shares_a_tie_at_the_cut() -> None:
    # the top 10% is 2 rows: the 0.9 row (1 churner) and one of the three rows tied
    # at 0.8, which hold 1 churner between them -> 1/3 expected; (1 + 1/3) / 5
    assert top_share_capture(LABELS, SCORES) == pytest.approx(4 / 15)
    # the row order does not matter (sorting would give 2/5 or 1/5 depending on it)
    order = np.random.default_rng(0).permutation(len(SCORES))
    assert top_share_capture(LABELS[order], SCORES[order]) == pytest.approx(4 / 15)
    assert top_share_capture(LABELS[::-1], SCORES[::-1]) == pytest.approx(4 / 15)


def test_capture_at_other_shares() -> None:
    # top 25% = 5 rows: 0.9 (1), the three 0.8 rows (1), one of the two 0.5 rows (1/2)
    assert top_share_capture(LABELS, SCORES, share=0.25) == pytest.approx(2.5 / 5)
    assert top_share_capture(LABELS, SCORES, share=1.0) == pytest.approx(1.0)
    # a constant score captures exactly its share
    assert top_share_capture(LABELS, np.zeros(20)) == pytest.approx(0.1)
    assert math.isnan(top_share_capture(np.zeros(20), SCORES))  # no churners


def test_reliability_table_bins() -> None:
    probabilities = np.array([0.05, 0.15, 0.12, 0.3, 0.6, 0.7, 0.95, 1.0, 0.0])
    labels = np.array([0, 0, 1, 0, 1, 1, 1, 1, 0])
    table = reliability_table(labels, probabilities)
    got = [(row["bin"], row["rows"], row["mean_predicted"], row["observed_rate"]) for row in table]
    # bins are [low, high) and the last one includes 1.0; empty bins are left out;
    # 0.3, 0.6 and 0.7 sit on an edge and belong to the bin they open
    assert got == [
        ("0.0-0.1", 2, 0.025, 0.0),
        ("0.1-0.2", 2, 0.135, 0.5),
        ("0.3-0.4", 1, 0.3, 0.0),
        ("0.6-0.7", 1, 0.6, 1.0),
        ("0.7-0.8", 1, 0.7, 1.0),
        ("0.9-1.0", 2, 0.975, 1.0),
    ]


def test_every_edge_opens_its_bin() -> None:
    edges = np.arange(10) / 10  # 0.0, 0.1, ..., 0.9 as a model would print them
    bins = [row["bin"] for row in reliability_table(np.zeros(10), edges)]
    assert bins == [f"{low / 10:.1f}-{(low + 1) / 10:.1f}" for low in range(10)]


def test_score_report_on_a_hand_example() -> None:
    labels = np.array([0, 0, 1, 1])
    probabilities = np.array([0.1, 0.4, 0.35, 0.8])
    report = score_report(labels, probabilities)
    assert report["rows"] == 4 and report["positives"] == 2
    # pairs (churner, stayer) ranked right: (0.35, 0.1), (0.8, 0.1), (0.8, 0.4) of 4
    assert report["roc_auc"] == pytest.approx(0.75)
    # ranked: 0.8 (hit, precision 1), 0.4, 0.35 (hit, precision 2/3): (1 + 2/3) / 2
    assert report["pr_auc"] == pytest.approx(5 / 6)
    # (0.1^2 + 0.4^2 + 0.65^2 + 0.2^2) / 4
    assert report["brier"] == pytest.approx(0.158125)
    # top 10% of 4 rows = 0.4 of the 0.8 row, a churner: 0.4 / 2
    assert report["top_decile_capture"] == pytest.approx(0.2)
    assert [row["rows"] for row in report["reliability"]] == [1, 1, 1, 1]


def test_single_class_and_empty_reports() -> None:
    report = score_report(np.array([0, 0]), np.array([0.1, 0.2]))
    assert report["roc_auc"] is None and report["pr_auc"] is None
    assert report["top_decile_capture"] is None
    assert report["brier"] == pytest.approx(0.025)
    empty = score_report(np.array([], dtype=int), np.array([]))
    assert empty["rows"] == 0 and empty["brier"] is None and empty["reliability"] == []


def test_reliability_table_gives_the_share_of_rows() -> None:
    table = reliability_table(np.zeros(8), np.array([0.05] * 6 + [0.95] * 2))
    assert [row["share_of_rows"] for row in table] == [0.75, 0.25]


def test_reliability_check_holds_bins_with_one_percent_of_rows_to_five_points() -> None:
    # 1,000 rows: 900 at 0.02 (observed 0.03), 90 at 0.95 (observed 0.80: 15 points
    # over), 10 at 0.5 (observed 0.0): 1% of the rows, checked, 50 points over
    probabilities = np.array([0.02] * 900 + [0.95] * 90 + [0.55] * 10)
    labels = np.array([1] * 27 + [0] * 873 + [1] * 72 + [0] * 18 + [0] * 10)
    check = reliability_check(reliability_table(labels, probabilities))
    assert [(item["bin"], item["rows"], item["gap"]) for item in check["bins"]] == [
        ("0.0-0.1", 900, -0.01),
        ("0.5-0.6", 10, 0.55),
        ("0.9-1.0", 90, 0.15),
    ]
    assert check["bins_outside"] == ["0.5-0.6", "0.9-1.0"]
    assert not check["within_tolerance"]
    assert (check["worst_bin"], check["worst_gap"]) == ("0.5-0.6", 0.55)
    # sampling error of a bin's observed rate at its mean predicted: sqrt(p (1 - p) / n)
    assert check["bins"][2]["standard_error"] == pytest.approx((0.95 * 0.05 / 90) ** 0.5, abs=1e-4)
    # a bin under 1% of the rows is not checked: the 0.5-0.6 bin with 9 rows of 999
    fewer = reliability_check(reliability_table(labels[:-1], probabilities[:-1]))
    assert [item["bin"] for item in fewer["bins"]] == ["0.0-0.1", "0.9-1.0"]
    assert fewer["bins_outside"] == ["0.9-1.0"]
    # within tolerance once the high bin predicts 0.84
    close = reliability_check(
        reliability_table(labels[:-10], np.where(probabilities[:-10] > 0.9, 0.84, 0.02))
    )
    assert close["within_tolerance"] and close["bins_outside"] == []
    assert close["worst_gap"] == pytest.approx(0.04)
    assert score_report(labels, probabilities)["reliability_check"] == check
    assert reliability_check([])["within_tolerance"] and reliability_check([])["bins"] == []
