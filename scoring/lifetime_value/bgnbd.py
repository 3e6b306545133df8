"""BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005, "Counting your customers
the easy way"), fit by maximum likelihood without priors or penalties.

While alive a customer buys at Poisson rate lambda ~ Gamma(r, alpha); after each purchase
it drops out with probability p ~ Beta(a, b). The data per customer are ``frequency`` x
(repeat purchases), ``recency`` t_x (time of the last purchase since the first) and ``T``
(time since the first purchase), all in one time unit (the papers use weeks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from scoring.lifetime_value.optimise import minimise_log_parameters


@dataclass(frozen=True)
class BgNbdParams:
    """Purchase rate ~ Gamma(shape r, rate alpha); dropout probability ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


def check_rfm(
    frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three inputs as float arrays of one length; raises naming the first bad customer
    (by position) when they are not a valid summary."""
    x, t_x, age = (np.asarray(values, dtype=float).ravel() for values in (frequency, recency, T))
    if not len(x) == len(t_x) == len(age):
        raise ValueError(
            f"frequency, recency and T differ in length: {len(x)}, {len(t_x)}, {len(age)}"
        )
    checks = (
        (~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(age), "values must be finite"),
        ((x < 0) | (x != np.round(x)), "frequency must be a whole number >= 0"),
        ((t_x < 0) | (t_x > age), "recency must be between 0 and T"),
        ((x == 0) & (t_x != 0), "recency must be 0 when frequency is 0"),
    )
    for bad, problem in checks:
        if bad.any():
            i = int(bad.argmax())
            raise ValueError(
                f"customer at position {i} (frequency={x[i]}, recency={t_x[i]}, T={age[i]}): "
                f"{problem}"
            )
    return x, t_x, age


def _log_likelihood_terms(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-customer log-likelihood and its gradient with respect to log(r, alpha, a, b).

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))
    (FHL 2005 eq. 6), evaluated as A1 + log(exp(A2) + [x > 0] exp(A3)).
    """
    r, alpha, a, b = params
    repeat = x > 0
    # b + x - 1 is only used for repeat customers; 1.0 keeps the unused entries finite.
    b_x_1 = np.where(repeat, b + x - 1, 1.0)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + age)
    a3 = np.where(
        repeat, betaln(a + 1, b_x_1) - betaln(a, b) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    log_sum = np.logaddexp(a2, a3)
    weight3 = np.exp(a3 - log_sum)  # share of the second term; 0 when x == 0
    weight2 = 1.0 - weight3

    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + x)
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - (weight2 * np.log(alpha + age) + weight3 * np.log(alpha + t_x))
    )
    d_alpha = r / alpha - (r + x) * (weight2 / (alpha + age) + weight3 / (alpha + t_x))
    d_a = weight2 * (psi_ab - psi_abx) + weight3 * (digamma(a + 1) - digamma(a) + psi_ab - psi_abx)
    d_b = (
        psi_ab
        - psi_abx
        - digamma(b)
        + weight2 * digamma(b + x)
        + weight3 * np.where(repeat, digamma(b_x_1), 0.0)
    )
    gradient = np.column_stack([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
    return a1 + log_sum, gradient


def log_likelihood(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Log-likelihood of each customer's (frequency, recency, T); sum it for the total."""
    x, t_x, age = check_rfm(frequency, recency, T)
    values = np.array([params.r, params.alpha, params.a, params.b], dtype=float)
    return _log_likelihood_terms(values, x, t_x, age)[0]


def fit_bgnbd(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> BgNbdParams:
    """Maximum-likelihood BG/NBD parameters.

    alpha is searched relative to the mean T, so that the fit does not depend on the time
    unit. Deterministic start: r = 1 with alpha set so that r/alpha is the pooled repeat
    rate sum(x)/sum(T), and a = b = 1 (uniform dropout probability). Raises
    DegenerateFitError when the likelihood has no interior maximum (see optimise.py).
    """
    x, t_x, age = check_rfm(frequency, recency, T)
    if len(x) == 0:
        raise ValueError("cannot fit the BG/NBD model: no customers")
    scale = age.mean()
    if scale <= 0:
        raise ValueError("cannot fit the BG/NBD model: every customer has T = 0")
    units = np.array([1.0, scale, 1.0, 1.0])
    start = np.log([1.0, len(x) / max(x.sum(), 1.0), 1.0, 1.0])

    def objective(scaled_log_params: np.ndarray) -> tuple[float, np.ndarray]:
        values, gradient = _log_likelihood_terms(np.exp(scaled_log_params) * units, x, t_x, age)
        if not np.all(np.isfinite(values)):
            return np.inf, np.zeros_like(scaled_log_params)
        return -values.mean(), -gradient.mean(axis=0)

    solution = minimise_log_parameters(
        objective, start, "BG/NBD", ("r", "alpha / mean T", "a", "b")
    )
    r, alpha, a, b = np.exp(solution) * units
    return BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b))


def _log_odds_dead(
    params: BgNbdParams, x: np.ndarray, t_x: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for repeat customers, -inf otherwise:
    the odds that a customer with this history has dropped out."""
    repeat = x > 0
    log_odds = (
        np.log(params.a)
        - np.log(np.where(repeat, params.b + x - 1, 1.0))
        + (params.r + x) * (np.log(params.alpha + age) - np.log(params.alpha + t_x))
    )
    return np.where(repeat, log_odds, -np.inf)


def probability_alive(
    params: BgNbdParams, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """P(customer still alive at T | x, t_x, T) (FHL 2005, appendix; Fader, Hardie & Lee
    2008 note). 1 for customers without a repeat purchase: in the BG/NBD a customer can only
    drop out right after a purchase."""
    x, t_x, age = check_rfm(frequency, recency, T)
    return expit(-_log_odds_dead(params, x, t_x, age))


def expected_transactions(
    params: BgNbdParams, t: float, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray:
    """Expected number of purchases in (T, T + t] given the history (FHL 2005 eq. 10).

    Evaluated as P(alive) * (a+b+x-1)/(a-1) * [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)]
    with z = t/(alpha+T+t): eq. 10 after Euler's transformation of its 2F1, which removes
    the ((alpha+T)/(alpha+T+t))^(r+x) factor and the huge 2F1 values it multiplies for
    frequent buyers over long horizons.
    """
    if t < 0:
        raise ValueError(f"the horizon t must be >= 0, got {t}")
    x, t_x, age = check_rfm(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    z = t / (alpha + age + t)
    hyper = hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    log_power = (a - 1) * np.log1p(-z)
    # 1 - (1-z)^(a-1) * hyper, through expm1 where hyper > 0 so that short horizons keep
    # their digits. hyper < 0 happens when a + b + x - 1 < 0 (x = 0 and a + b < 1).
    positive = hyper > 0
    bracket = np.where(
        positive,
        -np.expm1(log_power + np.log(np.where(positive, hyper, 1.0))),
        1 - np.exp(log_power) * hyper,
    )
    conditional = (a + b + x - 1) / (a - 1) * bracket
    return probability_alive(params, x, t_x, age) * conditional
