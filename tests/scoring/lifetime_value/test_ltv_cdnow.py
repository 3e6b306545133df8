"""The published CDNOW results: the 39-week calibration summary, the BG/NBD fit of Fader,
Hardie & Lee (2005) and the Gamma-Gamma fit of Fader & Hardie (2013)."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.lifetime_value import bgnbd, gamma_gamma
from scoring.lifetime_value.cdnow import CDNOW_CALIBRATION_END, read_cdnow_sample
from scoring.lifetime_value.summary import summarise_transactions

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def cdnow_summary() -> pd.DataFrame:
    return summarise_transactions(
        read_cdnow_sample(), CDNOW_CALIBRATION_END, customer_column="customer_index"
    )


def test_summary_matches_the_published_calibration_summary(cdnow_summary: pd.DataFrame) -> None:
    assert len(cdnow_summary) == 2357
    assert (cdnow_summary["frequency"] > 0).sum() == 946
    # Rows of the published summary (ID, x, t_x, T, zbar; weeks, dollars, 2 decimals).
    published = pd.DataFrame(
        [
            (1, 2, 30.43, 38.86, 22.35),
            (2, 1, 1.71, 38.86, 11.77),
            (3, 0, 0.00, 38.86, 0.00),
            (2356, 4, 26.57, 27.00, 33.32),
            (2357, 0, 0.00, 27.00, 0.00),
        ],
        columns=["ID", "frequency", "recency", "T", "monetary_value"],
    ).set_index("ID")
    ours = cdnow_summary.loc[published.index, published.columns]
    assert (ours["frequency"] == published["frequency"]).all()
    for column in ("recency", "T", "monetary_value"):
        assert ours[column].to_numpy() == pytest.approx(published[column].to_numpy(), abs=0.006)


def test_bgnbd_reproduces_the_published_fit(cdnow_summary: pd.DataFrame) -> None:
    frequency, recency, age = (cdnow_summary[c] for c in ("frequency", "recency", "T"))
    fitted = bgnbd.fit_bgnbd(frequency, recency, age)
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(fitted, name) == pytest.approx(published, rel=0.01), name
    # FHL 2005 report LL = -9582.4 at the optimum.
    total = bgnbd.log_likelihood(fitted, frequency, recency, age).sum()
    assert total == pytest.approx(-9582.4, abs=0.1)


def test_gamma_gamma_reproduces_the_published_fit(cdnow_summary: pd.DataFrame) -> None:
    fitted = gamma_gamma.fit_gamma_gamma(
        cdnow_summary["frequency"], cdnow_summary["monetary_value"]
    )
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert getattr(fitted, name) == pytest.approx(published, rel=0.01), name


def test_conditional_expectation_matches_the_published_example() -> None:
    # FHL 2005 (and Hardie's spreadsheet): with the published parameters, a customer with
    # x = 2, t_x = 30.43, T = 38.86 is expected to make 1.226 purchases in the next 39 weeks.
    params = bgnbd.BgNbdParams(**PUBLISHED_BGNBD)
    expected = bgnbd.expected_transactions(params, 39.0, [2], [30.43], [38.86])
    assert expected[0] == pytest.approx(1.226, abs=5e-4)


def test_repeat_customers_without_positive_value_leave_the_gamma_gamma_fit_unchanged(
    cdnow_summary: pd.DataFrame,
) -> None:
    # Two repeat customers with a mean value of 0 and of -15 added to CDNOW: the fit is
    # the published one, to the last digit, and both are counted as left out.
    frequency = pd.concat([cdnow_summary["frequency"], pd.Series([3, 1])])
    monetary_value = pd.concat([cdnow_summary["monetary_value"], pd.Series([0.0, -15.0])])
    with_them = gamma_gamma.fit_gamma_gamma(frequency, monetary_value)
    without = gamma_gamma.fit_gamma_gamma(
        cdnow_summary["frequency"], cdnow_summary["monetary_value"]
    )
    assert with_them == without
    assert gamma_gamma.left_out_counts(frequency, monetary_value) == {
        "no_repeat_transactions": 2357 - 946,
        "zero_mean_value": 1,
        "negative_mean_value": 1,
    }
