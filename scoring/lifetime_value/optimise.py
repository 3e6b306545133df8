"""Maximum likelihood over log-parameters, shared by the BG/NBD and Gamma-Gamma fits.

Parameters are positive, so the search runs on their logarithms (no constraints, and steps
are relative). Parameters with units (alpha in time units, gamma in currency) are divided by
a scale taken from the data first, so that starting values, bounds and tolerances mean the
same in weeks or days, dollars or rupiah. The objective is the *mean* negative
log-likelihood per customer so that tolerances mean the same for 200 customers and for
200,000. L-BFGS-B with the analytic gradient does the work; if it stops without reporting
convergence (usually a line search that cannot improve in the last digits), Nelder-Mead
polishes from where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.optimize import minimize

# Scale-free parameters are searched in [1e-6, 1e6]. On data that cannot identify the model
# (a handful of customers, or no variation between them) the likelihood keeps increasing
# towards r, alpha -> infinity (no heterogeneity in purchase rates), p -> infinity (no
# variation in spend), ...; an estimate there is the bound's, not the data's.
LOG_PARAMETER_BOUND = math.log(1e6)
LOG_DEGENERATE = math.log(1e5)

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


class DegenerateFitError(RuntimeError):
    """The likelihood has no interior maximum on these data."""


def minimise_log_parameters(
    objective: Objective, start: np.ndarray, model: str, names: Sequence[str]
) -> np.ndarray:
    """Scale-free log-parameters minimising ``objective`` (value and gradient). Raises
    RuntimeError if neither optimiser converges and DegenerateFitError if the minimum is at
    the edge of the search space."""
    bounds = [(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * len(start)
    result = minimize(
        objective,
        np.asarray(start, dtype=float),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )
    if result.success and np.all(np.isfinite(result.x)):
        return _check_interior(result.x, model, names)
    _check_interior(result.x, model, names)
    polished = minimize(
        lambda theta: objective(theta)[0],
        result.x,
        method="Nelder-Mead",
        bounds=bounds,
        options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-14},
    )
    _check_interior(polished.x, model, names)
    if not polished.success or not np.isfinite(polished.fun):
        raise RuntimeError(
            f"{model} maximum likelihood did not converge: L-BFGS-B: {result.message}; "
            f"Nelder-Mead: {polished.message}"
        )
    return polished.x


def _check_interior(solution: np.ndarray, model: str, names: Sequence[str]) -> np.ndarray:
    """``solution`` unchanged, or DegenerateFitError if it is near the edge of the search
    space (checked before convergence: near the edge the likelihood is too flat for the
    optimisers to report convergence)."""
    at_edge = [
        f"{name} = {math.exp(value):.3g}"
        for name, value in zip(names, solution, strict=True)
        if not abs(value) <= LOG_DEGENERATE
    ]
    if at_edge:
        raise DegenerateFitError(
            f"{model} likelihood keeps increasing towards the edge of the parameter space "
            f"({', '.join(at_edge)}; scale-free): the data cannot identify the model (too few "
            "customers, or no variation between them in purchase rate or spend, or no sign "
            "of dropout)"
        )
    return solution
