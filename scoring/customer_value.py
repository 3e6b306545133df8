"""Lifetime value of a bank customer: BG/NBD + Gamma-Gamma (scoring.lifetime_value)
applied to customer-initiated transactions and contribution.

docs/metrics.md "Lifetime value": expected future customer-initiated transactions and
P(alive) from BG/NBD, value per transaction from Gamma-Gamma fitted on repeat
customers only, predicted value over the next 12 months.

How the bank's data map onto the models' purchase log:

- a *purchase occasion* is a calendar day with at least one customer-initiated
  transaction (marts.fct_transactions), up to the as-of date; time is in weeks, as
  in the published CDNOW fits the code reproduces;
- what a bank earns is contribution (docs/metrics.md), not the transaction amount, so the
  *value of an occasion* is the customer's contribution over the months observed
  (at most 12, fct_customer_months) divided by its transaction days in that period;
- Gamma-Gamma is fitted on repeat customers with a positive value only, as in
  scoring.lifetime_value. A repeat customer whose value is 0 (no contribution, or no
  transaction day in the 12 months) or negative (fees refunded, more interest paid than
  earned) stays in BG/NBD (expected occasions, P(alive)) and gets the value per
  occasion of a customer without repeats: the Gamma-Gamma population mean. The model
  counts them (``gamma_gamma_left_out``; ``report()`` for the training metadata) and
  both the fit and the prediction log the counts; a zero or negative value is never a
  failure;
- predicted_value_12m = expected occasions in the next 52 weeks x expected value
  per occasion, undiscounted (a 12-month horizon).

When the Gamma-Gamma fit has q <= 1 the population's mean value per occasion does
not exist (a heavy tail: contribution follows AUM, and AUM is spread over orders
of magnitude); the conditional expectation then has no meaning, so each repeat
customer's expected value per occasion is its own observed mean (the limit of
Gamma-Gamma as the prior carries no weight) and a customer without repeats, or left
out for a zero or negative value, gets the median of the fitted repeat customers.
``gamma_gamma_usable`` records which path ran.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from scoring.lifetime_value import (
    BgNbdParams,
    GammaGammaParams,
    expected_transactions,
    fit_bgnbd,
    fit_gamma_gamma,
    left_out_counts,
    predict_customer_value,
    probability_alive,
    value_basis,
)
from scoring.lifetime_value.gamma_gamma import (
    NEGATIVE_MEAN_VALUE,
    NO_REPEAT_TRANSACTIONS,
    OWN_HISTORY,
    ZERO_MEAN_VALUE,
)

log = logging.getLogger(__name__)

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
    """Both fits and who they were fitted on: ``fitted_customers`` in BG/NBD (everyone
    with a transaction day), ``repeat_customers`` in Gamma-Gamma (repeat customers with a
    positive value per occasion), and the repeat customers left out of Gamma-Gamma for a
    value of 0 or below 0."""

    bgnbd: BgNbdParams
    gamma_gamma: GammaGammaParams
    fitted_customers: int
    repeat_customers: int
    fallback_value_per_occasion: float
    zero_value_repeat_customers: int = 0
    negative_value_repeat_customers: int = 0

    @property
    def gamma_gamma_usable(self) -> bool:
        return self.gamma_gamma.q > 1.0

    @property
    def gamma_gamma_left_out(self) -> dict[str, int]:
        """Customers in BG/NBD but not in the Gamma-Gamma fit, by reason."""
        return {
            NO_REPEAT_TRANSACTIONS: self.fitted_customers
            - self.repeat_customers
            - self.zero_value_repeat_customers
            - self.negative_value_repeat_customers,
            ZERO_MEAN_VALUE: self.zero_value_repeat_customers,
            NEGATIVE_MEAN_VALUE: self.negative_value_repeat_customers,
        }

    @property
    def left_out_value_per_occasion(self) -> float:
        """The value per occasion a customer left out of Gamma-Gamma gets."""
        if self.gamma_gamma_usable:
            return self.gamma_gamma.population_mean
        return self.fallback_value_per_occasion

    def report(self) -> dict[str, Any]:
        """JSON-ready parameters and counts, e.g. for the training metadata."""
        return {
            "bgnbd": vars(self.bgnbd),
            "gamma_gamma": vars(self.gamma_gamma),
            "fitted_customers": self.fitted_customers,
            "repeat_customers": self.repeat_customers,
            "gamma_gamma_left_out": self.gamma_gamma_left_out,
            "left_out_value_per_occasion": self.left_out_value_per_occasion,
            "gamma_gamma_usable": self.gamma_gamma_usable,
            "fallback_value_per_occasion": self.fallback_value_per_occasion,
        }


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
    """Both models by maximum likelihood, or (None, why) when the data cannot carry them.

    BG/NBD on every customer; Gamma-Gamma on the repeat customers with a positive value.
    Repeat customers with a value of 0 or below are left out of Gamma-Gamma (counted in
    the model and logged), never a reason not to fit."""
    frequency, monetary_value = summary["frequency"], summary["monetary_value"]
    left_out = left_out_counts(frequency, monetary_value)
    repeat = summary.loc[(frequency > 0) & (monetary_value > 0)]
    if len(summary) < MIN_CUSTOMERS_TO_FIT or len(repeat) < MIN_CUSTOMERS_TO_FIT:
        return None, (
            f"lifetime value not fitted: {len(summary)} customers with transactions, "
            f"{len(repeat)} repeat customers with positive value (need {MIN_CUSTOMERS_TO_FIT}; "
            f"{left_out[ZERO_MEAN_VALUE]} repeat customers with value 0 and "
            f"{left_out[NEGATIVE_MEAN_VALUE]} with a negative value do not count)"
        )
    try:
        bgnbd = fit_bgnbd(frequency, summary["recency"], summary["T"])
        gamma_gamma = fit_gamma_gamma(repeat["frequency"], repeat["monetary_value"])
    except (RuntimeError, ValueError) as error:
        return None, f"lifetime value not fitted: {error}"
    fallback = float(repeat["monetary_value"].median())
    model = LifetimeValueModel(
        bgnbd,
        gamma_gamma,
        fitted_customers=len(summary),
        repeat_customers=len(repeat),
        fallback_value_per_occasion=fallback,
        zero_value_repeat_customers=left_out[ZERO_MEAN_VALUE],
        negative_value_repeat_customers=left_out[NEGATIVE_MEAN_VALUE],
    )
    log.info(
        "lifetime value: BG/NBD on %d customers, Gamma-Gamma on %d repeat customers with a "
        "positive value; left out of Gamma-Gamma: %s (value per occasion %.4g)",
        model.fitted_customers,
        model.repeat_customers,
        model.gamma_gamma_left_out,
        model.left_out_value_per_occasion,
    )
    return model, None


def predict_lifetime_value(model: LifetimeValueModel, summary: pd.DataFrame) -> pd.DataFrame:
    """``VALUE_COLUMNS`` per customer of ``summary`` (same index). Customers without
    repeats or with a value of 0 or below get ``model.left_out_value_per_occasion``; their
    numbers are logged."""
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    basis = value_basis(frequency, summary["monetary_value"])
    left_out = {reason: int((basis == reason).sum()) for reason in model.gamma_gamma_left_out}
    log.info(
        "lifetime value of %d customers: %d valued from their own history, left out of "
        "Gamma-Gamma and valued at %.4g per occasion: %s",
        len(summary),
        int((basis == OWN_HISTORY).sum()),
        model.left_out_value_per_occasion,
        left_out,
    )
    if model.gamma_gamma_usable:
        predicted = predict_customer_value(summary, model.bgnbd, model.gamma_gamma, HORIZON_WEEKS)
    else:
        transactions = expected_transactions(model.bgnbd, HORIZON_WEEKS, frequency, recency, age)
        own = summary["monetary_value"].where(basis == OWN_HISTORY)
        value = own.fillna(model.fallback_value_per_occasion).to_numpy(float)
        predicted = pd.DataFrame(
            {
                "expected_transactions": transactions,
                "probability_alive": probability_alive(model.bgnbd, frequency, recency, age),
                "expected_value_per_transaction": value,
                "predicted_value": transactions * value,
            },
            index=summary.index,
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
