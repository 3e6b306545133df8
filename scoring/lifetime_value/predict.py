"""Predicted customer value over a horizon: BG/NBD transactions x Gamma-Gamma value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.lifetime_value.bgnbd import BgNbdParams, expected_transactions, probability_alive
from scoring.lifetime_value.gamma_gamma import (
    GammaGammaParams,
    expected_average_value,
    value_basis,
)
from scoring.lifetime_value.summary import SUMMARY_COLUMNS

PREDICTION_COLUMNS: tuple[str, ...] = (
    "expected_transactions",
    "probability_alive",
    "expected_value_per_transaction",
    "predicted_value",
    "value_basis",
)


def predict_customer_value(
    summary: pd.DataFrame,
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    horizon: float,
) -> pd.DataFrame:
    """Per customer (same index as ``summary``): expected transactions in the next
    ``horizon`` time units, P(alive) now, expected value per transaction and their product,
    ``predicted_value``, undiscounted; ``value_basis`` says where the value comes from
    (``own_history``: the Gamma-Gamma conditional expectation; otherwise why the customer
    is not in the Gamma-Gamma fit and gets the population mean).

    The product is the expected value because the Gamma-Gamma model takes spend per
    transaction to be independent of the number of transactions.
    """
    missing = [column for column in SUMMARY_COLUMNS if column not in summary.columns]
    if missing:
        raise ValueError(f"summary is missing column(s) {missing}")
    # summary["T"], never summary.T (the transpose).
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    transactions = expected_transactions(bgnbd, horizon, frequency, recency, age)
    value = expected_average_value(gamma_gamma, frequency, summary["monetary_value"])
    not_finite = ~(np.isfinite(transactions) & np.isfinite(value))
    if not_finite.any():
        position = int(not_finite.argmax())
        raise ValueError(
            f"customer {summary.index[position]!r}: predictions are not finite "
            f"(expected transactions {transactions[position]}, value {value[position]}) "
            f"with BG/NBD {bgnbd} and Gamma-Gamma {gamma_gamma}"
        )
    return pd.DataFrame(
        {
            "expected_transactions": transactions,
            "probability_alive": probability_alive(bgnbd, frequency, recency, age),
            "expected_value_per_transaction": value,
            "predicted_value": transactions * value,
            "value_basis": value_basis(frequency, summary["monetary_value"]),
        },
        index=summary.index,
    )
