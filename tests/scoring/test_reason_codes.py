from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.reason_codes import (
    QUOTED_FIGURES,
    REASON_BY_CODE,
    REASON_GROUPS,
    evidence_flags,
    mart_percent,
    reason_contributions,
    reference_values,
    top_reasons,
)

GROUPED_FEATURES = sorted({name for group in REASON_GROUPS for name in group.features})
# a toy linear "model": the probability drop when a feature goes to a reference of
# 0 is weight * value, so every contribution below can be worked out by hand
WEIGHTS = {
    "feature_real_estate_payment_share_3m": 0.2,
    "feature_other_bank_outflow_share_3m": 0.3,
    "feature_complaint_count_90d": 0.05,
    "feature_aum_change_1m": -0.1,
    "feature_aum_trend_3m": -0.4,
    "feature_is_payroll_missing": 0.1,
    "feature_matured_campaign_deposit_count_3m": 0.0,
}
# the mart figures the sentences quote, all quiet
QUIET_FIGURES = {
    "aum_trend_3m": 0.0,
    "other_bank_outflow_share_3m": None,
    "complaint_count_90d": 0,
    "active_months_3m": 3,
    "active_months_fall": 0,
    "matured_campaign_deposit_count_3m": 0,
    "largest_real_estate_payment_amount_3m": 0.0,
    "real_estate_payment_share_of_prior_aum_3m": None,
    "customer_initiated_transaction_count": 5,
    "digital_transaction_count": 2,
}


def predict(features: pd.DataFrame) -> np.ndarray:
    return 0.1 + sum(weight * features[name].to_numpy(float) for name, weight in WEIGHTS.items())


def customers() -> pd.DataFrame:
    """Model features and the mart figures behind them. The features are what the
    model saw (clipped, filled); the figures what the sentences must quote."""
    quiet = {**dict.fromkeys(WEIGHTS, 0.0), **QUIET_FIGURES}
    return pd.DataFrame(
        [
            # A: no specific evidence (property 25% < 30%, other banks 40% < 50%)
            {
                **quiet,
                "feature_real_estate_payment_share_3m": 0.25,
                "real_estate_payment_share_of_prior_aum_3m": 0.25,
                "largest_real_estate_payment_amount_3m": 25_000.0,
                "feature_other_bank_outflow_share_3m": 0.4,
                "other_bank_outflow_share_3m": 0.4,
                "feature_aum_change_1m": -0.5,
                "feature_aum_trend_3m": -0.5,
                "aum_trend_3m": -0.5125,  # the mart's figure: quoted as -51%
                "feature_is_payroll_missing": 1.0,
            },
            # B: two groups push the score up, AUM growth pulls it down
            {
                **quiet,
                "feature_other_bank_outflow_share_3m": 0.2,
                "other_bank_outflow_share_3m": 0.2,
                "feature_aum_trend_3m": 0.3,
                "aum_trend_3m": 0.3,
                "feature_is_payroll_missing": 1.0,
            },
            # C: nothing pushes the score up
            {**quiet, "feature_aum_trend_3m": 0.2, "aum_trend_3m": 0.2},
            # D: evidence of a property purchase and a complaint, AUM falling most;
            # the model saw 5 complaints (clipped) and a trend of -1 (clipped), the
            # mart counted 7 and -0.5550
            {
                **quiet,
                "feature_real_estate_payment_share_3m": 0.5,
                "real_estate_payment_share_of_prior_aum_3m": 0.5,
                "largest_real_estate_payment_amount_3m": 150_000.0,
                "feature_complaint_count_90d": 5.0,
                "complaint_count_90d": 7,
                "feature_aum_trend_3m": -1.0,
                "aum_trend_3m": -0.555,
                "feature_other_bank_outflow_share_3m": 0.1,
                "other_bank_outflow_share_3m": 0.1,
            },
        ],
        index=pd.Index(["A", "B", "C", "D"], name="customer_id"),
    )


def test_contributions_are_the_drop_when_a_group_is_neutralised() -> None:
    reference = pd.Series(0.0, index=GROUPED_FEATURES)
    contributions = reason_contributions(predict, customers(), reference)
    # groups without any of their features in the frame are left out
    assert list(contributions.columns) == [
        "property_payment",
        "campaign_deposit_matured",
        "outflows_to_other_banks",
        "recent_complaint",
        "aum_falling",
        "payroll_stopped",
    ]
    a = contributions.loc["A"]
    assert a["property_payment"] == pytest.approx(0.2 * 0.25)
    assert a["outflows_to_other_banks"] == pytest.approx(0.3 * 0.4)
    # the whole group at once: both trends
    assert a["aum_falling"] == pytest.approx(0.4 * 0.5 + 0.1 * 0.5)
    assert a["payroll_stopped"] == pytest.approx(0.1)
    assert a["recent_complaint"] == a["campaign_deposit_matured"] == 0.0
    assert contributions.loc["B", "aum_falling"] == pytest.approx(-0.12)


def test_a_non_zero_reference_is_what_the_group_is_compared_with() -> None:
    reference = pd.Series(0.0, index=GROUPED_FEATURES)
    reference["feature_other_bank_outflow_share_3m"] = 0.3
    contributions = reason_contributions(predict, customers(), reference)
    assert contributions.loc["A", "outflows_to_other_banks"] == pytest.approx(0.3 * 0.1)
    assert contributions.loc["B", "outflows_to_other_banks"] == pytest.approx(-0.3 * 0.1)


def test_top_reasons_rank_positive_contributions() -> None:
    features = customers()
    reference = pd.Series(0.0, index=GROUPED_FEATURES)
    reasons = top_reasons(reason_contributions(predict, features, reference), features)
    # NULL codes as None, whatever missing-value marker the column dtype uses
    codes = reasons[["reason_code_1", "reason_code_2", "reason_code_3"]]
    codes = codes.astype(object).where(codes.notna(), None)
    # A: aum_falling 0.25 > outflows 0.12 > payroll 0.10 > property 0.05 (4th, dropped)
    assert list(codes.loc["A"]) == ["aum_falling", "outflows_to_other_banks", "payroll_stopped"]
    # B: only two groups push the score up: the third code is NULL
    assert list(codes.loc["B"]) == ["payroll_stopped", "outflows_to_other_banks", None]
    # C: none does
    assert list(codes.loc["C"]) == [None, None, None]
    assert pd.isna(reasons.loc["C", "reason_summary"])
    # the summary names the customer's own figures, in the codes' order
    assert reasons.loc["A", "reason_summary"] == (
        "month-average AUM changed -51% against 3 months earlier; "
        "40% of outflows went to other banks in 3 months; "
        "salary no longer paid in after 3 months with it"
    )
    assert reasons.loc["B", "reason_summary"] == (
        "salary no longer paid in after 3 months with it; "
        "20% of outflows went to other banks in 3 months"
    )


def test_specific_evidence_leads_in_metrics_order() -> None:
    features = customers()
    reference = pd.Series(0.0, index=GROUPED_FEATURES)
    reasons = top_reasons(reason_contributions(predict, features, reference), features)
    # D: AUM falling contributes most (0.4), but a property payment of 50% of prior
    # AUM and a complaint are evidence of churn reasons 1 and 4: they lead
    d = reasons.loc["D"]
    assert [d["reason_code_1"], d["reason_code_2"], d["reason_code_3"]] == [
        "property_payment",
        "recent_complaint",
        "aum_falling",
    ]
    # the sentences quote the mart: 7 complaints (not the 5 the model saw), -0.5550
    # as -56% (half up; not the clipped -100%)
    assert d["reason_summary"] == (
        "large payment to a property seller (150,000.00 CNY, 50% of prior 3-month AUM); "
        "7 complaint(s) in the last 90 days; "
        "month-average AUM changed -56% against 3 months earlier"
    )


def test_codes_map_to_metrics_churn_reasons() -> None:
    assert len(REASON_BY_CODE) == len(REASON_GROUPS)  # codes are unique
    assert {group.churn_reason for group in REASON_GROUPS} == {
        "property_purchase",
        "campaign_deposit_maturity",
        "rate_competition",
        "service_dissatisfaction",
        "disengagement",
    }


def test_reference_is_the_median_of_the_stayers() -> None:
    training = pd.DataFrame(0.0, index=range(5), columns=GROUPED_FEATURES)
    training["feature_aum_trend_3m"] = [0.1, 0.2, 0.3, -0.9, -0.8]
    training["feature_complaint_count_90d"] = [0.0, 0.0, 1.0, 3.0, 2.0]
    training["feature_active_share_6m"] = np.nan  # a feature without values gets 0
    training["churned"] = [False, False, False, True, True]
    reference = reference_values(training)
    assert set(reference.index) == set(GROUPED_FEATURES)
    assert reference["feature_aum_trend_3m"] == pytest.approx(0.2)
    assert reference["feature_complaint_count_90d"] == 0.0
    assert reference["feature_active_share_6m"] == 0.0
    # only churners: their median is the best there is
    everyone = reference_values(training.assign(churned=True))
    assert everyone["feature_aum_trend_3m"] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("share", "quoted"),
    [
        (-0.555, "-56%"),  # half away from zero, as SQL rounds the decimal
        (0.125, "13%"),  # not Python's half-even 12%
        (-0.5125, "-51%"),
        (-0.004, "0%"),  # no "-0%"
        (1.0, "100%"),
        (None, None),
        (np.nan, None),
    ],
)
def test_mart_percent_rounds_the_decimal_half_up(share, quoted) -> None:
    assert mart_percent(share) == quoted


def test_evidence_reads_the_mart_figures_with_the_seed_thresholds() -> None:
    features = customers()
    # the property share exactly at the seed's 0.30; other banks exactly at 0.50
    features.loc["A", "real_estate_payment_share_of_prior_aum_3m"] = 0.30
    features.loc["B", "other_bank_outflow_share_3m"] = 0.50
    flags = evidence_flags(features)
    assert bool(flags.loc["A", "property_payment"]) and bool(
        flags.loc["B", "outflows_to_other_banks"]
    )
    # a NULL figure (no prior AUM, no outflows) is no evidence
    assert not flags.loc["C"].any()
    thresholds = {group.code: group.evidence for group in REASON_GROUPS if group.evidence}
    assert thresholds["property_payment"] == ("real_estate_payment_share_of_prior_aum_3m", 0.30)
    assert thresholds["outflows_to_other_banks"] == ("other_bank_outflow_share_3m", 0.50)


def test_every_sentence_reads_only_mart_figures() -> None:
    # each sentence built from a row holding the quoted mart figures and no feature
    row = {**QUIET_FIGURES, "aum_trend_3m": None}
    for group in REASON_GROUPS:
        sentence = group.describe(row)
        assert sentence and "nan" not in sentence, group.code
    assert set(QUIET_FIGURES) == set(QUOTED_FIGURES)


def test_only_the_rows_the_occlusion_moves_are_scored_again() -> None:
    """Rows already at a group's reference get a drop of 0 without a prediction, and
    every drop equals the occlusion of all rows at once (the model scores rows alone)."""
    features = customers()
    reference = pd.Series(0.0, index=GROUPED_FEATURES)
    reference["feature_aum_trend_3m"] = np.nan  # a NULL reference equals a NULL value only
    features.loc["C", "feature_aum_trend_3m"] = np.nan
    scored_rows: list[int] = []

    def counting_predict(rows: pd.DataFrame) -> np.ndarray:
        scored_rows.append(len(rows))
        return predict(rows.fillna(0.0))

    contributions = reason_contributions(counting_predict, features, reference)
    expected = {}
    for code in contributions.columns:
        present = [name for name in REASON_BY_CODE[code].features if name in features.columns]
        neutral = features.copy()
        neutral[present] = reference[present].to_numpy()
        expected[code] = predict(features.fillna(0.0)) - predict(neutral.fillna(0.0))
    pd.testing.assert_frame_equal(contributions, pd.DataFrame(expected, index=features.index))
    # the base, then each group's moved rows: property A, D; campaign none; other banks
    # A, B, D; complaint D; AUM A, B, D (C's NULL trend is the reference); payroll A, B
    assert scored_rows == [4, 2, 3, 1, 3, 2]
