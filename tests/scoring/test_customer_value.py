from __future__ import annotations

import logging
from datetime import date

import numpy as np
import pandas as pd
import pytest

from scoring.customer_value import (
    ACTIVITY_COLUMNS,
    HORIZON_WEEKS,
    MIN_CUSTOMERS_TO_FIT,
    VALUE_COLUMNS,
    LifetimeValueModel,
    fit_lifetime_value,
    predict_lifetime_value,
    value_summary,
)
from scoring.lifetime_value import (
    BgNbdParams,
    GammaGammaParams,
    expected_average_value,
    expected_transactions,
    fit_gamma_gamma,
    probability_alive,
)

# Fader, Hardie & Lee's CDNOW fits, used here only as plausible parameters
BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
GAMMA_GAMMA = GammaGammaParams(p=6.25, q=3.74, gamma=15.44)


def activity(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(ACTIVITY_COLUMNS))


def summary_frame(rows: dict[str, tuple[float, float, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(
        rows, orient="index", columns=["frequency", "recency", "T", "monetary_value"]
    )
    frame.index.name = "customer_id"
    return frame


def test_value_summary_on_hand_made_customers() -> None:
    as_of = date(2024, 3, 31)
    summary = value_summary(
        activity(
            [
                # A: 5 transaction days from 7 January to 3 March, 4 of them in the
                # 12-month window, which earned 100
                ("A", date(2024, 1, 7), date(2024, 3, 3), 5, 4, 100.0),
                # B: one day, a fee refunded: negative contribution
                ("B", date(2024, 3, 10), date(2024, 3, 10), 1, 1, -5.0),
                # C: one day before the window, no contribution row in it
                ("C", date(2023, 3, 26), date(2023, 3, 26), 1, 0, None),
            ]
        ),
        as_of,
    )
    assert list(summary.index) == ["A", "B", "C"]
    assert summary.loc["A"].to_dict() == pytest.approx(
        # repeat days, 56 days / 7, 84 days / 7, 100 / 4 window days
        {"frequency": 4.0, "recency": 8.0, "T": 12.0, "monetary_value": 25.0}
    )
    assert summary.loc["B"].to_dict() == pytest.approx(
        {"frequency": 0.0, "recency": 0.0, "T": 3.0, "monetary_value": -5.0}
    )
    # 26 March 2023 to 31 March 2024 is 371 days (2024 is a leap year)
    assert summary.loc["C"].to_dict() == pytest.approx(
        {"frequency": 0.0, "recency": 0.0, "T": 53.0, "monetary_value": 0.0}
    )


def test_fit_needs_enough_customers() -> None:
    few = summary_frame({"A": (4, 8, 12, 25.0), "B": (0, 0, 3, 1.0), "C": (2, 5, 20, 9.0)})
    model, why = fit_lifetime_value(few)
    assert model is None
    assert why is not None and "3 customers" in why and f"need {MIN_CUSTOMERS_TO_FIT}" in why

    # enough customers, but only 10 with repeat transactions and a positive value
    rows = {f"N{i}": (0.0, 0.0, 20.0, 5.0) for i in range(60)}
    rows |= {f"R{i}": (3.0, 10.0, 20.0, 8.0) for i in range(10)}
    model, why = fit_lifetime_value(summary_frame(rows))
    assert model is None and "10 repeat customers" in why


def simulated_population(customers: int = 400, seed: int = 3) -> dict[str, tuple]:
    rng = np.random.default_rng(seed)
    rows = {}
    for number in range(customers):
        age = float(rng.uniform(20, 52))
        rate = float(rng.gamma(2.0, 0.5))
        lifetime = float(rng.exponential(40.0))
        seen = min(age, lifetime)
        purchases = rng.uniform(0, seen, rng.poisson(rate * seen))
        frequency = float(len(purchases))
        recency = float(purchases.max()) if len(purchases) else 0.0
        mean_value = float(rng.gamma(4.0, 10.0))
        spend = rng.gamma(3.0, mean_value / 3.0, max(len(purchases), 1)).mean()
        rows[f"C{number}"] = (frequency, recency, age, float(spend))
    return rows


def test_fit_on_a_simulated_population() -> None:
    rows = simulated_population()
    model, why = fit_lifetime_value(summary_frame(rows))
    assert why is None and model is not None
    assert model.fitted_customers == 400 and model.gamma_gamma_usable
    assert model.repeat_customers == sum(1 for row in rows.values() if row[0] > 0)
    values = predict_lifetime_value(model, summary_frame(rows))
    assert list(values.columns) == list(VALUE_COLUMNS)
    assert values.notna().all().all() and (values["predicted_value_12m"] >= 0).all()


# Hand-made bank customers, as of 31 March 2024 (12-month window April 2023 - March 2024):
HAND_MADE = [
    # zero: 6 transaction days, 5 in the window, no contribution at all
    ("zero", date(2023, 10, 2), date(2024, 3, 4), 6, 5, 0.0),
    # negative: fees refunded beyond what the customer earned the bank: -12 over 3 days
    ("negative", date(2023, 12, 1), date(2024, 2, 20), 3, 3, -12.0),
    # idle: 2 transaction days, both before the window: no value observed in it
    ("idle", date(2022, 11, 5), date(2023, 1, 9), 2, 0, None),
    # ordinary: 4 days, 120 of contribution
    ("ordinary", date(2023, 9, 1), date(2024, 3, 28), 4, 4, 120.0),
]


def population_with_hand_made_customers() -> pd.DataFrame:
    hand_made = value_summary(activity(HAND_MADE), date(2024, 3, 31))
    return pd.concat([summary_frame(simulated_population()), hand_made])


def test_zero_and_negative_values_are_left_out_of_gamma_gamma_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    summary = population_with_hand_made_customers()
    simulated_repeat = sum(1 for row in simulated_population().values() if row[0] > 0)
    with caplog.at_level(logging.INFO, logger="scoring.customer_value"):
        model, why = fit_lifetime_value(summary)
    assert why is None and model is not None and model.gamma_gamma_usable
    assert model.fitted_customers == 404  # everybody is in BG/NBD
    assert model.repeat_customers == simulated_repeat + 1  # + ordinary
    assert model.gamma_gamma_left_out == {
        "no_repeat_transactions": 400 - simulated_repeat,
        "zero_mean_value": 2,  # zero, idle
        "negative_mean_value": 1,  # negative
    }
    report = model.report()
    assert report["gamma_gamma_left_out"] == model.gamma_gamma_left_out
    assert report["left_out_value_per_occasion"] == model.gamma_gamma.population_mean
    assert "left out of Gamma-Gamma" in caplog.text and "'zero_mean_value': 2" in caplog.text
    # Gamma-Gamma is the fit on the positive repeat customers alone
    positive = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    assert model.gamma_gamma == fit_gamma_gamma(positive["frequency"], positive["monetary_value"])

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scoring.customer_value"):
        values = predict_lifetime_value(model, summary)
    assert values.notna().all().all()
    assert "'negative_mean_value': 1" in caplog.text
    hand_made = values.loc[["zero", "negative", "idle", "ordinary"]]
    history = summary.loc[hand_made.index]
    frequency, recency, age = history["frequency"], history["recency"], history["T"]
    # BG/NBD predictions for every one of them
    assert hand_made["expected_transactions_12m"].to_numpy() == pytest.approx(
        expected_transactions(model.bgnbd, HORIZON_WEEKS, frequency, recency, age)
    )
    assert hand_made["probability_alive"].to_numpy() == pytest.approx(
        probability_alive(model.bgnbd, frequency, recency, age)
    )
    # the left-out ones: the population mean, like a customer without repeats
    population = model.gamma_gamma.population_mean
    value = hand_made["expected_value_per_transaction"]
    assert value[["zero", "negative", "idle"]].to_numpy() == pytest.approx([population] * 3)
    assert value["ordinary"] == pytest.approx(
        expected_average_value(model.gamma_gamma, [3.0], [30.0])[0]
    )
    assert hand_made["predicted_value_12m"].to_numpy() == pytest.approx(
        (hand_made["expected_transactions_12m"] * value).to_numpy()
    )


def test_only_zero_and_negative_repeat_customers_is_not_a_failure() -> None:
    # 60 customers, every repeat one with a value <= 0: not fitted, said why, no exception
    rows = {f"N{i}": (0.0, 0.0, 20.0, 5.0) for i in range(40)}
    rows |= {f"Z{i}": (3.0, 10.0, 20.0, 0.0) for i in range(12)}
    rows |= {f"M{i}": (2.0, 10.0, 20.0, -3.0) for i in range(8)}
    model, why = fit_lifetime_value(summary_frame(rows))
    assert model is None
    assert why is not None and "0 repeat customers with positive value" in why
    assert "12 repeat customers with value 0 and 8 with a negative value" in why


def test_usable_gamma_gamma_shrinks_towards_the_population_mean() -> None:
    model = LifetimeValueModel(BGNBD, GAMMA_GAMMA, 100, 60, fallback_value_per_occasion=12.0)
    assert model.gamma_gamma_usable
    summary = summary_frame(
        {
            "R": (4.0, 8.0, 12.0, 30.0),
            "N": (0.0, 0.0, 3.0, 7.0),
            "Z": (2.0, 5.0, 12.0, -4.0),
            "O": (2.0, 5.0, 12.0, 0.0),
        }
    )
    values = predict_lifetime_value(model, summary)
    population = GAMMA_GAMMA.population_mean  # 6.25 * 15.44 / 2.74 = 35.22
    value = values["expected_value_per_transaction"]
    assert value["N"] == pytest.approx(population)  # no repeats: the population mean
    assert 30.0 < value["R"] < population
    # a negative or zero value: left out of Gamma-Gamma, the population mean as well
    assert value["Z"] == pytest.approx(population)
    assert value["O"] == pytest.approx(population)
    assert values["predicted_value_12m"].to_numpy() == pytest.approx(
        (values["expected_transactions_12m"] * value).to_numpy()
    )


def test_q_at_most_one_falls_back_to_the_customers_own_mean() -> None:
    heavy_tail = GammaGammaParams(p=6.25, q=0.8, gamma=15.44)
    model = LifetimeValueModel(BGNBD, heavy_tail, 100, 60, fallback_value_per_occasion=12.0)
    assert not model.gamma_gamma_usable
    assert model.left_out_value_per_occasion == 12.0
    summary = summary_frame(
        {"R": (4.0, 8.0, 12.0, 30.0), "N": (0.0, 0.0, 3.0, 7.0), "Z": (2.0, 5.0, 12.0, -4.0)}
    )
    values = predict_lifetime_value(model, summary)
    # R: its own mean; N (no repeats) and Z (negative value, left out of Gamma-Gamma): the
    # fitted repeat customers' median
    assert values["expected_value_per_transaction"].to_dict() == {"R": 30.0, "N": 12.0, "Z": 12.0}
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    transactions = expected_transactions(BGNBD, HORIZON_WEEKS, frequency, recency, age)
    assert values["expected_transactions_12m"].to_numpy() == pytest.approx(transactions)
    assert values["probability_alive"].to_numpy() == pytest.approx(
        probability_alive(BGNBD, frequency, recency, age)
    )
    assert values["predicted_value_12m"].to_numpy() == pytest.approx(
        transactions * np.array([30.0, 12.0, 12.0])
    )
    assert list(values.index) == ["R", "N", "Z"]


def test_models_stored_before_the_left_out_counts_still_load() -> None:
    # a LifetimeValueModel pickled before the counts existed has no such attributes in
    # its __dict__; the class defaults stand in
    model = LifetimeValueModel(BGNBD, GAMMA_GAMMA, 100, 60, fallback_value_per_occasion=12.0)
    old = object.__new__(LifetimeValueModel)
    state = {k: v for k, v in vars(model).items() if "value_repeat" not in k}
    object.__setattr__(old, "__dict__", state)
    assert old.gamma_gamma_left_out == {
        "no_repeat_transactions": 40,
        "zero_mean_value": 0,
        "negative_mean_value": 0,
    }
