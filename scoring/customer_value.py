"""Lifetime value of a bank customer: BG/NBD + Gamma-Gamma (scoring.lifetime_value)
applied to customer-initiated transactions and contribution.

METRICS.md "Lifetime value": expected future customer-initiated transactions and
P(alive) from BG/NBD, value per transaction from Gamma-Gamma fitted on repeat
customers only, predicted value over the next 12 months.

How the bank's data map onto the models' purchase log:

- a *purchase occasion* is a calendar day with at least one customer-initiated
  transaction (marts.fct_transactions), up to the as-of date; time is in weeks, as
  in the published CDNOW fits the code reproduces;
- what a bank earns is contribution (METRICS.md), not the transaction amount, so the
  *value of an occasion* is the customer's contribution over the months observed
  (at most 12, fct_customer_months) divided by its transaction days in that period.
  Gamma-Gamma is fitted on repeat customers with a positive value;
- predicted_value_12m = expected occasions in the next 52 weeks x expected value
  per occasion, undiscounted (a 12-month horizon).

When the Gamma-Gamma fit has q <= 1 the population's mean value per occasion does
not exist (a heavy tail: contribution follows AUM, and AUM is spread over orders
of magnitude); the conditional expectation then has no meaning, so each repeat
customer's expected value per occasion is its own observed mean (the limit of
Gamma-Gamma as the prior carries no weight) and a customer without repeats gets
the median of the repeat customers. ``gamma_gamma_usable`` records which path ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from scoring.lifetime_value import (
    BgNbdParams,
    GammaGammaParams,
    expected_transactions,
    fit_bgnbd,
    fit_gamma_gamma,
    predict_customer_value,
    probability_alive,
)

TIME_UNIT_DAYS = 7.0
HORIZON_WEEKS = 52.0
MIN_CUSTOMERS_TO_FIT = 50

ACTIVITY_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "first_transaction_date",
    "last_transaction_date",
    "transaction_days",
    "window_transaction_days",
    "window_contribution_amount",
)
VALUE_COLUMNS: tuple[str, ...] = (
    "expected_transactions_12m",
    "probability_alive",
    "expected_value_per_transaction",
    "predicted_value_12m",
)


@dataclass(frozen=True)
class LifetimeValueModel:
    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    fitted_customers: int
    repeat_customers: int
    fallback_value_per_occasion: float

    @property
    def gamma_gamma_usable(self) -> bool:
        return self.gamma_gamma.q > 1.0


def value_summary(activity: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """frequency, recency, T (weeks) and monetary_value per customer (index customer_id)
    from one activity row per customer (``ACTIVITY_COLUMNS``)."""
    first = pd.to_datetime(activity["first_transaction_date"])
    last = pd.to_datetime(activity["last_transaction_date"])
    end = pd.Timestamp(as_of)
    window_days = activity["window_transaction_days"].astype(float)
    contribution = activity["window_contribution_amount"].astype(float).fillna(0.0)
    summary = pd.DataFrame(
        {
            "frequency": activity["transaction_days"].astype(float) - 1.0,
            "recency": (last - first).dt.days.astype(float) / TIME_UNIT_DAYS,
            "T": (end - first).dt.days.astype(float) / TIME_UNIT_DAYS,
            "monetary_value": (contribution / window_days.where(window_days > 0)).fillna(0.0),
        }
    )
    summary.index = pd.Index(activity["customer_id"].astype(str), name="customer_id")
    return summary


def fit_lifetime_value(summary: pd.DataFrame) -> tuple[LifetimeValueModel | None, str | None]:
    """Both models by maximum likelihood, or (None, why) when the data cannot carry them."""
    repeat = summary.loc[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    if len(summary) < MIN_CUSTOMERS_TO_FIT or len(repeat) < MIN_CUSTOMERS_TO_FIT:
        return None, (
            f"lifetime value not fitted: {len(summary)} customers with transactions, "
            f"{len(repeat)} repeat customers with positive value (need {MIN_CUSTOMERS_TO_FIT})"
        )
    try:
        bgnbd = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
        gamma_gamma = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])
    except (RuntimeError, ValueError) as error:
        return None, f"lifetime value not fitted: {error}"
    fallback = float(repeat["monetary_value"].median())
    return LifetimeValueModel(bgnbd, gamma_gamma, len(summary), len(repeat), fallback), None


def predict_lifetime_value(model: LifetimeValueModel, summary: pd.DataFrame) -> pd.DataFrame:
    """``VALUE_COLUMNS`` per customer of ``summary`` (same index)."""
    usable = summary.copy()
    # a negative value (fees refunded) is not a spend Gamma-Gamma can take: floor at 0
    usable["monetary_value"] = usable["monetary_value"].clip(lower=0.0)
    if model.gamma_gamma_usable:
        predicted = predict_customer_value(usable, model.bgnbd, model.gamma_gamma, HORIZON_WEEKS)
    else:
        frequency, recency, age = usable["frequency"], usable["recency"], usable["T"]
        transactions = expected_transactions(model.bgnbd, HORIZON_WEEKS, frequency, recency, age)
        own = usable["monetary_value"].where(usable["frequency"] > 0)
        value = own.fillna(model.fallback_value_per_occasion).to_numpy(float)
        predicted = pd.DataFrame(
            {
                "expected_transactions": transactions,
                "probability_alive": probability_alive(model.bgnbd, frequency, recency, age),
                "expected_value_per_transaction": value,
                "predicted_value": transactions * value,
            },
            index=usable.index,
        )
    return pd.DataFrame(
        {
            "expected_transactions_12m": predicted["expected_transactions"].to_numpy(float),
            "probability_alive": np.clip(predicted["probability_alive"].to_numpy(float), 0, 1),
            "expected_value_per_transaction": predicted["expected_value_per_transaction"].to_numpy(
                float
            ),
            "predicted_value_12m": predicted["predicted_value"].to_numpy(float),
        },
        index=summary.index,
    )
