"""Likelihoods and closed forms against hand-worked formulas (math module only)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import hyp2f1

from scoring.lifetime_value import bgnbd, gamma_gamma

PARAMS = bgnbd.BgNbdParams(r=0.5, alpha=2.0, a=1.5, b=3.0)
# (frequency, recency, T)
CUSTOMERS = [(0, 0.0, 10.0), (1, 3.0, 4.0), (2, 5.0, 10.0)]


def hand_bgnbd_likelihood(x: int, t_x: float, T: float) -> float:
    """FHL 2005 eq. 6 with the Beta and Gamma ratios worked out for x = 0, 1, 2."""
    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    if x == 0:
        return (alpha / (alpha + T)) ** r
    if x == 1:
        gamma_ratio = r  # G(r+1)/G(r)
        stay, drop = b / (a + b), a / (a + b)  # B(a,b+1)/B(a,b), B(a+1,b)/B(a,b)
    else:
        gamma_ratio = r * (r + 1)
        stay = b * (b + 1) / ((a + b) * (a + b + 1))
        drop = a * b / ((a + b) * (a + b + 1))
    return (
        gamma_ratio * alpha**r * (stay / (alpha + T) ** (r + x) + drop / (alpha + t_x) ** (r + x))
    )


def test_bgnbd_log_likelihood_matches_hand_computation() -> None:
    frequency, recency, age = zip(*CUSTOMERS, strict=True)
    ours = bgnbd.log_likelihood(PARAMS, frequency, recency, age)
    expected = [math.log(hand_bgnbd_likelihood(*customer)) for customer in CUSTOMERS]
    assert ours == pytest.approx(expected, rel=1e-12)


def test_gamma_gamma_log_likelihood_matches_hand_computation() -> None:
    params = gamma_gamma.GammaGammaParams(p=2.0, q=3.0, gamma=10.0)
    # x = 1, m = 4: G(5)/(G(2)G(3)) = 12; 12 * 10^3 * 4^1 / (10 + 4)^5
    one = 12 * 10**3 * 4 / 14**5
    # x = 2, m = 6: G(7)/(G(4)G(3)) = 60; 60 * 10^3 * 2^4 * 6^3 / (10 + 12)^7
    two = 60 * 10**3 * 2**4 * 6**3 / 22**7
    # The customer with frequency 0 carries no spend information and is left out.
    ours = gamma_gamma.log_likelihood(params, [1, 0, 2], [4.0, 0.0, 6.0])
    assert ours == pytest.approx([math.log(one), math.log(two)], rel=1e-12)


def test_probability_alive_matches_hand_computation() -> None:
    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    frequency, recency, age = zip(*CUSTOMERS, strict=True)
    ours = bgnbd.probability_alive(PARAMS, frequency, recency, age)
    one = 1 / (1 + a / b * ((alpha + 4.0) / (alpha + 3.0)) ** (r + 1))
    two = 1 / (1 + a / (b + 1) * ((alpha + 10.0) / (alpha + 5.0)) ** (r + 2))
    assert ours == pytest.approx([1.0, one, two], rel=1e-12)


def test_expected_transactions_matches_eq_10_as_printed() -> None:
    """The Euler-transformed evaluation equals FHL 2005 eq. 10 as printed."""
    r, alpha, a, b = PARAMS.r, PARAMS.alpha, PARAMS.a, PARAMS.b
    t = 26.0
    for x, t_x, T in CUSTOMERS:
        z = t / (alpha + T + t)
        numerator = (
            (a + b + x - 1)
            / (a - 1)
            * (
                1
                - ((alpha + T) / (alpha + T + t)) ** (r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1, z)
            )
        )
        denominator = 1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)
        ours = bgnbd.expected_transactions(PARAMS, t, [x], [t_x], [T])[0]
        assert ours == pytest.approx(numerator / denominator, rel=1e-10)


def test_expected_transactions_stays_finite_for_frequent_buyers() -> None:
    # Eq. 10 as printed multiplies 0.0 (underflowed power) by inf (overflowed 2F1) here.
    params = bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, z = 400, 520.0 / (params.alpha + 78.0 + 520.0)
    assert math.isinf(hyp2f1(params.r + x, params.b + x, params.a + params.b + x - 1, z))
    expected = bgnbd.expected_transactions(params, 520.0, [x], [77.0], [78.0])[0]
    # Never more than the posterior mean rate (r+x)/(alpha+T) times t, i.e. no dropout.
    assert 0 < expected < (params.r + x) / (params.alpha + 78.0) * 520.0


def test_fit_maximises_the_public_log_likelihood() -> None:
    frequency = np.array([0, 0, 0, 1, 1, 2, 3, 5, 0, 2, 7, 1])
    recency = np.array([0, 0, 0, 2.0, 9.0, 4.5, 20.0, 30.0, 0, 11.0, 35.0, 1.0])
    age = np.array([10.0, 38.0, 25.0, 12.0, 30.0, 20.0, 38.0, 38.0, 5.0, 30.0, 38.0, 36.0])
    fitted = bgnbd.fit_bgnbd(frequency, recency, age)
    best = bgnbd.log_likelihood(fitted, frequency, recency, age).sum()
    for name in ("r", "alpha", "a", "b"):
        for factor in (0.99, 1.01):
            moved = replace(fitted, **{name: getattr(fitted, name) * factor})
            assert bgnbd.log_likelihood(moved, frequency, recency, age).sum() < best


def test_invalid_summary_names_the_customer() -> None:
    with pytest.raises(ValueError, match="position 1 .*recency must be between 0 and T"):
        bgnbd.log_likelihood(PARAMS, [0, 1], [0.0, 5.0], [3.0, 4.0])
    with pytest.raises(ValueError, match="position 0 .*recency must be 0 when frequency is 0"):
        bgnbd.fit_bgnbd([0], [1.0], [4.0])


@pytest.mark.parametrize(
    "params",
    [
        bgnbd.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426),
        # a + b < 1: the 2F1 of eq. 10 has c = a + b - 1 < 0 for x = 0 and is negative.
        bgnbd.BgNbdParams(r=0.22, alpha=3.6, a=0.3, b=0.69),
        bgnbd.BgNbdParams(r=2.0, alpha=3.0, a=1.2, b=0.3),
    ],
)
def test_expected_transactions_matches_numerical_integration(params: bgnbd.BgNbdParams) -> None:
    """E[Y(t) | x, t_x, T] = P(alive) * E[(1 - exp(-lambda p t)) / p] over the posterior
    lambda ~ Gamma(r+x, alpha+T), p ~ Beta(a, b+x); lambda integrated by hand, p by quad."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t, age = 26.0, 38.0
    for x, t_x in [(0, 0.0), (1, 20.0), (5, 30.0)]:
        beta_function = math.exp(math.lgamma(a) + math.lgamma(b + x) - math.lgamma(a + b + x))

        def bought_per_p(p: float, x: int = x) -> float:
            if p == 0:  # the limit, (r + x) t / (alpha + T)
                return (r + x) * t / (alpha + age)
            return -math.expm1(-(r + x) * math.log1p(p * t / (alpha + age))) / p

        # weight="alg" integrates f(p) p^(a-1) (1-p)^(b+x-1), singular ends included.
        integral = quad(bought_per_p, 0, 1, weight="alg", wvar=(a - 1, b + x - 1))[0]
        integral /= beta_function
        alive = bgnbd.probability_alive(params, [x], [t_x], [age])[0]
        ours = bgnbd.expected_transactions(params, t, [x], [t_x], [age])[0]
        assert ours == pytest.approx(alive * integral, rel=1e-6)


def test_analytic_gradients_match_finite_differences() -> None:
    """The fits use analytic gradients of the per-customer log-likelihoods."""
    from scoring.lifetime_value.bgnbd import _log_likelihood_terms as bgnbd_terms
    from scoring.lifetime_value.gamma_gamma import _log_likelihood_terms as gamma_gamma_terms

    x = np.array([0.0, 1.0, 2.0, 7.0])
    t_x, age = np.array([0.0, 3.0, 5.0, 30.0]), np.array([10.0, 4.0, 10.0, 38.0])
    m = np.array([1.0, 12.0, 30.0, 55.0])
    cases = [
        (lambda theta: bgnbd_terms(np.exp(theta), x, t_x, age), np.log([0.5, 2.0, 1.5, 3.0])),
        (lambda theta: gamma_gamma_terms(np.exp(theta), x[1:], m[1:]), np.log([2.0, 3.0, 10.0])),
    ]
    for terms, theta in cases:
        analytic = terms(theta)[1].sum(axis=0)
        numeric = [
            (terms(theta + step)[0].sum() - terms(theta - step)[0].sum()) / 2e-6
            for step in np.eye(len(theta)) * 1e-6
        ]
        assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7)
