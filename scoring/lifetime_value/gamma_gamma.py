"""Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma model
of monetary value"; Fader, Hardie & Lee 2005, "RFM and CLV"), fit by maximum likelihood
without priors or penalties.

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across
customers. The data are each repeat customer's number of repeat transactions x
(``frequency``) and their mean value m_x (``monetary_value``). The model assumes spend per
transaction is independent of how often a customer buys; check the correlation of
frequency and monetary value before relying on it.

Who is in the fit (as in the published practice, e.g. the ``lifetimes`` package, whose
Gamma-Gamma fitter refuses values <= 0 and whose documentation fits it on the customers
with ``frequency > 0``): repeat customers whose mean repeat value is **positive**. The
model is a Gamma distribution of spend and has no room for a mean of 0 or below (all
purchases free, or returns netting the repeat days to nothing or less). Those customers
are left out of the fit but not out of the predictions: like a customer without repeat
purchases, they get the population mean value p gamma / (q - 1), which is what the
conditional expectation gives when no positive spend has been observed (x = 0). The
counts and reasons are in ``value_basis`` / ``left_out_counts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from scoring.lifetime_value.optimise import minimise_log_parameters

# value_basis labels: how a customer's expected value per transaction is obtained.
OWN_HISTORY = "own_history"  # in the fit: the conditional expectation given x and m_x
NO_REPEAT_TRANSACTIONS = "no_repeat_transactions"  # x = 0: population mean
ZERO_MEAN_VALUE = "zero_mean_value"  # x > 0, m_x = 0: left out, population mean
NEGATIVE_MEAN_VALUE = "negative_mean_value"  # x > 0, m_x < 0: left out, population mean
LEFT_OUT_REASONS: tuple[str, ...] = (NO_REPEAT_TRANSACTIONS, ZERO_MEAN_VALUE, NEGATIVE_MEAN_VALUE)


@dataclass(frozen=True)
class GammaGammaParams:
    """Transaction value ~ Gamma(shape p, rate nu); nu ~ Gamma(shape q, rate gamma)."""

    p: float
    q: float
    gamma: float

    @property
    def population_mean(self) -> float:
        """Mean transaction value across customers, p * gamma / (q - 1); needs q > 1."""
        if self.q <= 1:
            raise ValueError(
                f"the Gamma-Gamma mean value is infinite for q <= 1 (q = {self.q:.4g})"
            )
        return self.p * self.gamma / (self.q - 1)


def _check_inputs(frequency: ArrayLike, monetary_value: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x, m = (np.asarray(values, dtype=float).ravel() for values in (frequency, monetary_value))
    if len(x) != len(m):
        raise ValueError(f"frequency and monetary_value differ in length: {len(x)}, {len(m)}")
    bad = ~np.isfinite(x) | ~np.isfinite(m) | (x < 0) | (x != np.round(x))
    if bad.any():
        i = int(bad.argmax())
        raise ValueError(
            f"customer at position {i} (frequency={x[i]}, monetary_value={m[i]}): frequency "
            "must be a whole number >= 0 and both values finite"
        )
    return x, m


def _log_likelihood_terms(
    params: np.ndarray, x: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log density of m_x given x, and its gradient w.r.t. log(p, q, gamma):

    f(m_x | x) = G(px+q) / (G(px) G(q)) * gamma^q x^(px) m_x^(px-1) / (gamma + x m_x)^(px+q)
    """
    p, q, gamma = params
    px = p * x
    log_total = np.log(gamma + x * m)
    values = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + px * np.log(x)
        + (px - 1) * np.log(m)
        - (px + q) * log_total
    )
    psi_total = digamma(px + q)
    d_p = x * (psi_total - digamma(px) + np.log(x) + np.log(m) - log_total)
    d_q = psi_total - digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + x * m)
    return values, np.column_stack([p * d_p, q * d_q, gamma * d_gamma])


def in_fit(frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
    """True for the customers the Gamma-Gamma model is fit on: frequency > 0 and a
    positive mean repeat value."""
    x, m = _check_inputs(frequency, monetary_value)
    return (x > 0) & (m > 0)


def value_basis(frequency: ArrayLike, monetary_value: ArrayLike) -> np.ndarray:
    """Per customer, ``OWN_HISTORY`` (in the fit) or the reason it is left out."""
    x, m = _check_inputs(frequency, monetary_value)
    return np.select(
        [x == 0, m > 0, m == 0],
        [NO_REPEAT_TRANSACTIONS, OWN_HISTORY, ZERO_MEAN_VALUE],
        default=NEGATIVE_MEAN_VALUE,
    ).astype(object)


def left_out_counts(frequency: ArrayLike, monetary_value: ArrayLike) -> dict[str, int]:
    """How many customers the fit leaves out, by reason (every reason, zeros included)."""
    basis = value_basis(frequency, monetary_value)
    return {reason: int((basis == reason).sum()) for reason in LEFT_OUT_REASONS}


def _fit_sample(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    usable = (x > 0) & (m > 0)
    if not usable.any():
        raise ValueError(
            "cannot fit the Gamma-Gamma model: no repeat customer (frequency > 0) with a "
            f"positive mean value ({int((x > 0).sum())} repeat customers, none with a mean "
            "repeat value > 0)"
        )
    return x[usable], m[usable]


def log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> np.ndarray:
    """Log-likelihood of the mean value of each customer in the fit (``in_fit``: repeat
    customers with a positive mean value; the others carry no information the model can
    use and are left out); sum it for the total."""
    x, m = _fit_sample(*_check_inputs(frequency, monetary_value))
    return _log_likelihood_terms(np.array([params.p, params.q, params.gamma]), x, m)[0]


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the repeat customers (frequency > 0)
    with a positive mean value (``in_fit``); the others are left out, not refused.

    gamma is searched relative to the mean m_x, so that the fit does not depend on the
    currency unit. Deterministic start: p = 1, q = 2 and gamma = mean m_x, which makes the
    model's mean value p * gamma / (q - 1) equal the observed mean. Raises
    DegenerateFitError when the likelihood has no interior maximum (see optimise.py).
    """
    x, m = _fit_sample(*_check_inputs(frequency, monetary_value))
    units = np.array([1.0, 1.0, m.mean()])
    start = np.log([1.0, 2.0, 1.0])

    def objective(scaled_log_params: np.ndarray) -> tuple[float, np.ndarray]:
        values, gradient = _log_likelihood_terms(np.exp(scaled_log_params) * units, x, m)
        if not np.all(np.isfinite(values)):
            return np.inf, np.zeros_like(scaled_log_params)
        return -values.mean(), -gradient.mean(axis=0)

    solution = minimise_log_parameters(
        objective, start, "Gamma-Gamma", ("p", "q", "gamma / mean value")
    )
    p, q, gamma = np.exp(solution) * units
    return GammaGammaParams(p=float(p), q=float(q), gamma=float(gamma))


def expected_average_value(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> np.ndarray:
    """E[value per transaction | x, m_x] = (gamma + x m_x) p / (p x + q - 1): a weighted
    mean of the population mean and the customer's own mean m_x, the weight of m_x
    growing with x. Customers with frequency 0 get the population mean (x = 0 in the
    formula), and so do the customers left out of the fit because their mean value is
    <= 0: no positive spend observed is, for this model, no spend observed."""
    x, m = _check_inputs(frequency, monetary_value)
    population = params.population_mean
    observed = (x > 0) & (m > 0)
    weight = np.where(observed, params.p * x / (params.p * x + params.q - 1), 0.0)
    return (1 - weight) * population + weight * np.where(observed, m, 0.0)
