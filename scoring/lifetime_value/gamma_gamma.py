"""Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma model
of monetary value"; Fader, Hardie & Lee 2005, "RFM and CLV"), fit by maximum likelihood
without priors or penalties.

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across
customers. The data are each repeat customer's number of repeat transactions x
(``frequency``) and their mean value m_x (``monetary_value``). The model assumes spend per
transaction is independent of how often a customer buys; check the correlation of
frequency and monetary value before relying on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from scoring.lifetime_value.optimise import minimise_log_parameters


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


def _repeat_customers(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    repeat = x > 0
    if not repeat.any():
        raise ValueError(
            "cannot fit the Gamma-Gamma model: no repeat customers (frequency > 0); it is fit "
            "on the values of repeat transactions only"
        )
    not_positive = repeat & (m <= 0)
    if not_positive.any():
        i = int(not_positive.argmax())
        raise ValueError(
            f"customer at position {i}: monetary_value must be > 0 for a repeat customer, "
            f"got {m[i]} (net out refunds before summarising)"
        )
    return x[repeat], m[repeat]


def log_likelihood(
    params: GammaGammaParams, frequency: ArrayLike, monetary_value: ArrayLike
) -> np.ndarray:
    """Log-likelihood of each *repeat* customer's mean value (customers with frequency 0
    carry no information about spend and are left out); sum it for the total."""
    x, m = _repeat_customers(*_check_inputs(frequency, monetary_value))
    return _log_likelihood_terms(np.array([params.p, params.q, params.gamma]), x, m)[0]


def fit_gamma_gamma(frequency: ArrayLike, monetary_value: ArrayLike) -> GammaGammaParams:
    """Maximum-likelihood Gamma-Gamma parameters from the repeat customers (frequency > 0).

    gamma is searched relative to the mean m_x, so that the fit does not depend on the
    currency unit. Deterministic start: p = 1, q = 2 and gamma = mean m_x, which makes the
    model's mean value p * gamma / (q - 1) equal the observed mean. Raises
    DegenerateFitError when the likelihood has no interior maximum (see optimise.py).
    """
    x, m = _repeat_customers(*_check_inputs(frequency, monetary_value))
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
    growing with x. Customers with frequency 0 get the population mean."""
    x, m = _check_inputs(frequency, monetary_value)
    population = params.population_mean
    weight = params.p * x / (params.p * x + params.q - 1)
    return (1 - weight) * population + weight * np.where(x > 0, m, 0.0)
