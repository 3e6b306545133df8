"""Summary conventions, predictions and their properties."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from scoring.lifetime_value import (
    BgNbdParams,
    GammaGammaParams,
    TransactionLogError,
    expected_average_value,
    expected_transactions,
    fit_gamma_gamma,
    predict_customer_value,
    probability_alive,
    summarise_transactions,
)

BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def transaction_log(rows: list[tuple[str, str, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def test_summary_counts_purchase_days_and_ignores_the_future() -> None:
    log = transaction_log(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-01T15:30:00", 5.0),  # same day: one purchase of 15
            ("a", "20240115", 20.0),
            ("a", "2024-01-29", 40.0),
            ("a", "2024-03-01", 99.0),  # after the calibration end
            ("b", "2024-01-22", 7.0),
            ("c", "2024-03-02", 8.0),  # first purchase after the end: not a customer yet
        ]
    )
    summary = summarise_transactions(log, date(2024, 2, 26))
    assert list(summary.index) == ["a", "b"]
    assert summary.loc["a"].to_dict() == {
        "frequency": 2,
        "recency": 4.0,
        "T": 8.0,
        "monetary_value": 30.0,
    }
    assert summary.loc["b"].to_dict() == {
        "frequency": 0,
        "recency": 0.0,
        "T": 5.0,
        "monetary_value": 0.0,
    }
    in_days = summarise_transactions(log, date(2024, 2, 26), time_unit_days=1.0)
    assert in_days.loc["a", "recency"] == 28.0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [("a", "2024-01-01", 1.0), ("a", "2024-02-30", 2.0)],
            r"orders.csv, row 1, column 'date': cannot read '2024-02-30' as a date",
        ),
        (
            [("a", "2024-01-01", "12,50")],
            r"orders.csv, row 0, column 'amount': cannot read '12,50' as an amount",
        ),
        ([(None, "2024-01-01", 1.0)], r"orders.csv, row 0, column 'customer_id': missing"),
    ],
)
def test_summary_errors_name_source_row_and_column(rows: list, message: str) -> None:
    with pytest.raises(TransactionLogError, match=message):
        summarise_transactions(transaction_log(rows), date(2024, 3, 1), source="orders.csv")


def test_summary_error_names_a_missing_column() -> None:
    log = transaction_log([("a", "2024-01-01", 1.0)]).rename(columns={"amount": "value"})
    with pytest.raises(TransactionLogError, match=r"missing column\(s\) \['amount'\]"):
        summarise_transactions(log, date(2024, 3, 1))


def test_probability_alive_is_one_without_repeat_purchases() -> None:
    alive = probability_alive(BGNBD, [0, 0, 3], [0.0, 0.0, 5.0], [1.0, 38.0, 38.0])
    assert alive[:2] == pytest.approx([1.0, 1.0])
    assert 0 < alive[2] < 1


def test_expected_transactions_grow_with_the_horizon() -> None:
    history = ([0, 2, 5], [0.0, 30.43, 37.0], [38.86, 38.86, 38.86])
    horizons = [0.0, 1.0, 13.0, 26.0, 52.0, 104.0]
    by_horizon = np.array([expected_transactions(BGNBD, t, *history) for t in horizons])
    assert by_horizon[0] == pytest.approx([0, 0, 0], abs=1e-12)
    assert (np.diff(by_horizon, axis=0) > 0).all()


def test_gamma_gamma_shrinks_towards_the_population_mean() -> None:
    population = GAMMA_GAMMA.p * GAMMA_GAMMA.gamma / (GAMMA_GAMMA.q - 1)
    assert GAMMA_GAMMA.population_mean == pytest.approx(population)
    own_mean = 80.0
    frequency = np.array([0, 1, 2, 10, 100])
    values = expected_average_value(GAMMA_GAMMA, frequency, np.where(frequency > 0, own_mean, 0))
    assert values[0] == pytest.approx(population)
    assert ((values[1:] > population) & (values[1:] < own_mean)).all()
    # More repeat purchases: more weight on the customer's own mean.
    assert (np.diff(values) > 0).all()
    low = expected_average_value(GAMMA_GAMMA, [3], [5.0])[0]
    assert 5.0 < low < population


def test_gamma_gamma_needs_repeat_customers() -> None:
    with pytest.raises(ValueError, match="no repeat customers"):
        fit_gamma_gamma([0, 0], [0.0, 0.0])
    with pytest.raises(ValueError, match="position 1: monetary_value must be > 0"):
        fit_gamma_gamma([1, 2], [3.0, -1.0])


def test_predicted_value_is_transactions_times_value() -> None:
    summary = pd.DataFrame(
        {
            "frequency": [0, 2, 6],
            "recency": [0.0, 30.43, 36.0],
            "T": [38.86, 38.86, 38.0],
            "monetary_value": [0.0, 22.35, 40.0],
        },
        index=pd.Index(["x", "y", "z"], name="customer_id"),
    )
    predictions = predict_customer_value(summary, BGNBD, GAMMA_GAMMA, horizon=52.0)
    assert list(predictions.index) == ["x", "y", "z"]
    assert predictions["predicted_value"].to_numpy() == pytest.approx(
        (
            predictions["expected_transactions"] * predictions["expected_value_per_transaction"]
        ).to_numpy()
    )
    assert predictions.loc["x", "probability_alive"] == 1.0
    assert (predictions["predicted_value"] > 0).all()
