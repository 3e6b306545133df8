"""Customer lifetime value: BG/NBD transactions x Gamma-Gamma spend, fit by maximum
likelihood with scipy. See README.md in this folder."""

from scoring.lifetime_value.bgnbd import (
    BgNbdParams,
    expected_transactions,
    fit_bgnbd,
    probability_alive,
)
from scoring.lifetime_value.gamma_gamma import (
    GammaGammaParams,
    expected_average_value,
    fit_gamma_gamma,
    left_out_counts,
    value_basis,
)
from scoring.lifetime_value.optimise import DegenerateFitError
from scoring.lifetime_value.predict import predict_customer_value
from scoring.lifetime_value.summary import (
    TransactionLogError,
    purchase_occasions,
    summarise_occasions,
    summarise_transactions,
)

__all__ = [
    "BgNbdParams",
    "DegenerateFitError",
    "GammaGammaParams",
    "TransactionLogError",
    "expected_average_value",
    "expected_transactions",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "left_out_counts",
    "predict_customer_value",
    "probability_alive",
    "purchase_occasions",
    "summarise_occasions",
    "summarise_transactions",
    "value_basis",
]
