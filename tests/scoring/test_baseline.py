from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.baseline import (
    SIGNAL_FIGURES,
    SIGNALS,
    fit_rule_rates,
    rule_probability,
    rule_score,
    signal_descriptions,
    signal_flags,
)

# mart figures (fct_customer_signal_months) with no signal firing
QUIET = {
    "aum_trend_3m": 0.0,
    "other_bank_outflow_share_3m": 0.0,
    "maturing_time_deposit_count_30d": 0,
    "is_payroll_missing": False,
    "complaint_count_90d": 0,
    "active_months_fall": 0,
}
# one value per signal that makes it fire, in the order of SIGNALS: the seeds'
# declining line is -10 % (lifecycle_stage_thresholds) and the rate share 50 %
# (churn_reason_thresholds), both reached exactly or just passed
FIRING = {
    "aum_trend_3m": -0.1001,
    "other_bank_outflow_share_3m": 0.5,
    "maturing_time_deposit_count_30d": 1,
    "is_payroll_missing": True,
    "complaint_count_90d": 1,
    "active_months_fall": 1,
}


def rows_with_counts(counts: list[int]) -> pd.DataFrame:
    """One feature row per count, with the first ``count`` signals firing."""
    columns = list(FIRING)
    return pd.DataFrame(
        [{**QUIET, **{column: FIRING[column] for column in columns[:count]}} for count in counts]
    )


def test_each_signal_fires_at_its_threshold() -> None:
    features = pd.DataFrame(
        [
            QUIET,
            {**QUIET, "aum_trend_3m": -0.1, "other_bank_outflow_share_3m": 0.4999},
            {**QUIET, "active_months_fall": -2},  # more active months than before
            *({**QUIET, column: value} for column, value in FIRING.items()),
        ]
    )
    flags = signal_flags(features)
    assert list(flags.columns) == list(SIGNALS) == list(signal_descriptions())
    assert list(QUIET) == list(SIGNAL_FIGURES)
    assert not flags.iloc[:3].to_numpy().any()
    # row 3 + i fires signal i and nothing else
    np.testing.assert_array_equal(flags.iloc[3:].to_numpy(), np.eye(6, dtype=bool))
    assert list(rule_score(features)) == [0, 0, 0, 1, 1, 1, 1, 1, 1]


def test_rule_score_counts_the_signals() -> None:
    assert list(rule_score(rows_with_counts([0, 3, 6, 2]))) == [0.0, 3.0, 6.0, 2.0]


def test_rates_per_count_with_unseen_counts() -> None:
    # count 0: 4 rows, 1 churner -> 0.25; count 1: 2 rows, 1 churner -> 0.5;
    # count 3: 1 row, a churner -> 1.0. Count 2 was never seen: the nearest lower
    # count's rate (0.5); 4-6 likewise take 3's (1.0).
    training = rows_with_counts([0, 0, 0, 0, 1, 1, 3])
    labels = pd.Series([False, False, False, True, True, False, True])
    rates = fit_rule_rates(training, labels)
    assert rates == {0: 0.25, 1: 0.5, 2: 0.5, 3: 1.0, 4: 1.0, 5: 1.0, 6: 1.0}
    scored = rule_probability(rows_with_counts([2, 0, 6, 1]), rates)
    assert list(scored) == [0.5, 0.25, 1.0, 0.5]


def test_unseen_low_counts_take_the_overall_rate() -> None:
    # only counts 2 and 4 seen: 0 and 1 have nothing below them -> overall 2/5
    training = rows_with_counts([2, 2, 2, 4, 4])
    labels = pd.Series([False, False, True, True, False])
    rates = fit_rule_rates(training, labels)
    assert rates[0] == rates[1] == pytest.approx(0.4)
    assert rates[2] == rates[3] == pytest.approx(1 / 3)
    assert rates[4] == rates[5] == rates[6] == pytest.approx(0.5)
    # no training rows at all: every count gets 0
    empty = pd.DataFrame(columns=list(QUIET), dtype=float)
    assert set(fit_rule_rates(empty, pd.Series([], dtype=bool)).values()) == {0.0}


def test_null_figures_do_not_fire() -> None:
    # the mart leaves the trend empty without a month 3 months before, the share
    # without outflows: neither is a signal
    nulls = pd.DataFrame([{**QUIET, "aum_trend_3m": None, "other_bank_outflow_share_3m": None}])
    nulls["is_payroll_missing"] = pd.array([pd.NA], dtype="boolean")
    assert not signal_flags(nulls).to_numpy().any()


def test_descriptions_quote_the_seed_thresholds() -> None:
    descriptions = signal_descriptions()
    assert descriptions["aum_falling"] == "3-month AUM trend below -10%"
    assert descriptions["outflows_to_other_banks"].startswith(">= 50% of 3-month outflows")
