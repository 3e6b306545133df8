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
    left_out_counts,
    predict_customer_value,
    probability_alive,
    purchase_occasions,
    summarise_transactions,
    value_basis,
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


def test_gamma_gamma_needs_a_repeat_customer_with_a_positive_value() -> None:
    with pytest.raises(ValueError, match="no repeat customer"):
        fit_gamma_gamma([0, 0], [0.0, 0.0])
    # repeat customers whose mean value is 0 or negative are left out, not refused; with
    # nobody left the fit has nothing to go on
    with pytest.raises(ValueError, match="2 repeat customers, none with a mean repeat value > 0"):
        fit_gamma_gamma([1, 2, 0], [0.0, -1.0, 0.0])


def test_zero_and_negative_amounts_net_per_customer_and_day() -> None:
    log = transaction_log(
        [
            # ordinary: a same-day return leaves 40 - 10 = 30 on 15 January
            ("ordinary", "2024-01-01", 30.0),
            ("ordinary", "2024-01-15", 40.0),
            ("ordinary", "2024-01-15", -10.0),
            ("ordinary", "2024-02-01", 20.0),
            # zero: a repeat customer whose repeat purchases are all free
            ("zero", "2024-01-02", 15.0),
            ("zero", "2024-01-09", 0.0),
            ("zero", "2024-01-23", "0.00"),
            # negative: 10 bought and 25 returned on 17 January nets the day to -15
            ("negative", "2024-01-03", 50.0),
            ("negative", "2024-01-17", 10.0),
            ("negative", "2024-01-17", -25.0),
            # exact: 0.10 + 0.20 - 0.30 is 0 (a float sum says 5.6e-17)
            ("exact", "2024-01-04", 8.0),
            ("exact", "2024-01-11", "0.10"),
            ("exact", "2024-01-11", "0.20"),
            ("exact", "2024-01-11", "-0.30"),
            # later: a return on a later day is that day's value
            ("later", "2024-01-05", 20.0),
            ("later", "2024-01-12", -20.0),
        ]
    )
    occasions = purchase_occasions(log, date(2024, 2, 26))
    by_day = occasions.set_index(["customer", "day"])
    assert by_day.loc[("ordinary", pd.Timestamp("2024-01-15"))].to_dict() == {
        "value": 30.0,
        "lines": 2,
        "negative_lines": 1,
    }
    assert by_day.loc[("negative", pd.Timestamp("2024-01-17")), "value"] == -15.0
    assert by_day.loc[("exact", pd.Timestamp("2024-01-11")), "value"] == 0.0
    assert int(occasions["negative_lines"].sum()) == 4
    assert int((occasions["value"] <= 0).sum()) == 5  # zero x2, negative, exact, later

    summary = summarise_transactions(log, date(2024, 2, 26))
    # every day with a line is an occasion for BG/NBD, whatever it nets to
    assert summary["frequency"].to_dict() == {
        "exact": 1,
        "later": 1,
        "negative": 1,
        "ordinary": 2,
        "zero": 2,
    }
    assert summary.loc["zero", "recency"] == 3.0
    assert summary["monetary_value"].to_dict() == {
        "exact": 0.0,
        "later": -20.0,
        "negative": -15.0,
        "ordinary": 25.0,
        "zero": 0.0,
    }
    basis = value_basis(summary["frequency"], summary["monetary_value"])
    assert dict(zip(summary.index, basis, strict=True)) == {
        "exact": "zero_mean_value",
        "later": "negative_mean_value",
        "negative": "negative_mean_value",
        "ordinary": "own_history",
        "zero": "zero_mean_value",
    }
    assert left_out_counts(summary["frequency"], summary["monetary_value"]) == {
        "no_repeat_transactions": 0,
        "zero_mean_value": 2,
        "negative_mean_value": 2,
    }


def test_customers_left_out_of_gamma_gamma_get_the_population_mean() -> None:
    population = GAMMA_GAMMA.population_mean
    values = expected_average_value(GAMMA_GAMMA, [0, 3, 3, 3], [0.0, 0.0, -12.0, 20.0])
    assert values[:3] == pytest.approx([population] * 3)
    assert 20.0 < values[3] < population


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
    assert predictions["value_basis"].to_dict() == {
        "x": "no_repeat_transactions",
        "y": "own_history",
        "z": "own_history",
    }


def test_left_out_customers_keep_their_bgnbd_predictions() -> None:
    summary = pd.DataFrame(
        {
            "frequency": [3, 1, 2],
            "recency": [20.0, 5.0, 30.0],
            "T": [38.0, 30.0, 38.0],
            "monetary_value": [0.0, -15.0, 25.0],
        },
        index=pd.Index(["zero", "negative", "ordinary"], name="customer_id"),
    )
    predictions = predict_customer_value(summary, BGNBD, GAMMA_GAMMA, horizon=52.0)
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    assert predictions["expected_transactions"].to_numpy() == pytest.approx(
        expected_transactions(BGNBD, 52.0, frequency, recency, age)
    )
    assert predictions["probability_alive"].to_numpy() == pytest.approx(
        probability_alive(BGNBD, frequency, recency, age)
    )
    value = predictions["expected_value_per_transaction"]
    assert value[["zero", "negative"]].to_numpy() == pytest.approx(
        [GAMMA_GAMMA.population_mean] * 2
    )
    assert predictions["value_basis"].tolist() == [
        "zero_mean_value",
        "negative_mean_value",
        "own_history",
    ]
    assert (predictions["predicted_value"] > 0).all()
