"""Random numbers keyed by customer, so a bank comes out the same whatever the block size.

A sequential generator (``numpy.random.Generator``) hands out numbers in the order
they are asked for, so the numbers a customer gets would depend on which customers
were simulated before it in the same block. Here every number is a hash of

    (bank seed, stream, customer index, ordinal of the event, label of the draw)

(SplitMix64's finaliser, vectorised in numpy), so customer 123 456's third card
purchase gets the same amount whether it is simulated alone, in a block of 37 or
with the whole bank. A *stream* names a set of events (``"spending"``, ``"loans"``);
the *ordinal* tells a customer's events of one stream apart (by default their rank
in the array, which is the same in every block because every step keeps each
customer's events in a block-independent order); a *label* names one quantity
drawn for every event (``"amount"``, ``"channel"``).

The distributions are built from uniforms: normals by Box-Muller, Poisson counts by
inverting the distribution function, categories by cumulative probabilities.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
MIX_2 = np.uint64(0x94D049BB133111EB)
SHIFT_30, SHIFT_27, SHIFT_31, SHIFT_11 = (np.uint64(s) for s in (30, 27, 31, 11))
UNIT = 2.0**-53
POISSON_NORMAL_ABOVE = 400.0  # larger means: normal approximation (exp(-mean) underflows)


def mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a bijective, well-spread hash of 64-bit integers."""
    z = values + GOLDEN
    z = (z ^ (z >> SHIFT_30)) * MIX_1
    z = (z ^ (z >> SHIFT_27)) * MIX_2
    return z ^ (z >> SHIFT_31)


@lru_cache(maxsize=4096)
def label_key(label: str) -> np.uint64:
    """A fixed 64-bit number for a stream or draw label (the same in every process)."""
    return np.uint64(int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "big"))


def occurrence_rank(values: np.ndarray) -> np.ndarray:
    """For each element, how many equal elements come before it in the array."""
    values = np.asarray(values)
    n = len(values)
    if n == 0:
        return np.zeros(0, np.int64)
    index = np.arange(n)
    if np.all(values[1:] >= values[:-1]):
        order = None
        ordered = values
    else:
        order = np.argsort(values, kind="stable")
        ordered = values[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    rank = index - np.maximum.accumulate(np.where(first, index, 0))
    if order is None:
        return rank
    out = np.empty(n, np.int64)
    out[order] = rank
    return out


@dataclass(frozen=True)
class Draws:
    """Random quantities for a set of events, one 64-bit key per event."""

    keys: np.ndarray  # uint64

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, index: np.ndarray) -> Draws:
        """The same events' numbers for a selection (mask or indexes) of the events."""
        return Draws(self.keys[index])

    def bits(self, label: str) -> np.ndarray:
        return mix(self.keys ^ label_key(label))

    def uniform(
        self, label: str, low: float | np.ndarray = 0.0, high: float | np.ndarray = 1.0
    ) -> np.ndarray:
        """Uniform in [low, high)."""
        unit = (self.bits(label) >> SHIFT_11).astype(np.float64) * UNIT
        return low + unit * (np.asarray(high) - np.asarray(low))

    def uniform_matrix(self, label: str, columns: int) -> np.ndarray:
        """(events, columns) uniforms in [0, 1)."""
        base = self.bits(label)[:, None]
        column = np.arange(columns, dtype=np.uint64)[None, :] * GOLDEN
        return (mix(base + column) >> SHIFT_11).astype(np.float64) * UNIT

    def integers(self, label: str, low: int | np.ndarray, high: int | np.ndarray) -> np.ndarray:
        """Integers in [low, high) (``high > low``)."""
        low, high = np.asarray(low, np.int64), np.asarray(high, np.int64)
        span = np.maximum(high - low, 1)
        return low + np.minimum((self.uniform(label) * span).astype(np.int64), span - 1)

    def normal(
        self, label: str, mean: float | np.ndarray = 0.0, sd: float | np.ndarray = 1.0
    ) -> np.ndarray:
        radius = np.sqrt(-2.0 * np.log1p(-self.uniform(label + ".radius")))
        return mean + sd * radius * np.cos(2.0 * np.pi * self.uniform(label + ".angle"))

    def choice(self, label: str, options: np.ndarray | list, p: list | None = None) -> np.ndarray:
        """One of ``options`` per event (with probabilities ``p``, uniform if None)."""
        options = np.asarray(options)
        if p is None:
            return options[self.integers(label, 0, len(options))]
        cumulative = np.cumsum(p)
        pick = np.searchsorted(cumulative / cumulative[-1], self.uniform(label), side="right")
        return options[np.minimum(pick, len(options) - 1)]

    def category(self, label: str, probabilities: np.ndarray) -> np.ndarray:
        """One column index per event from its row of a probability matrix."""
        cumulative = np.cumsum(probabilities, axis=1)
        point = self.uniform(label)[:, None] * cumulative[:, -1:]
        return (point >= cumulative).sum(axis=1)

    def poisson(self, label: str, mean: np.ndarray) -> np.ndarray:
        """Poisson counts by inversion (a normal approximation for very large means)."""
        u = self.uniform(label)
        mean = np.broadcast_to(np.asarray(mean, np.float64), u.shape)
        count = np.zeros(u.shape, np.int64)
        term = np.exp(-mean)
        cumulative = term.copy()
        active = np.flatnonzero((u >= cumulative) & (term > 0))
        while active.size:
            count[active] += 1
            term[active] *= mean[active] / count[active]
            cumulative[active] += term[active]
            active = active[(u[active] >= cumulative[active]) & (term[active] > 0)]
        large = mean > POISSON_NORMAL_ABOVE
        if large.any():
            approx = self.subset(large).normal(label + ".large", mean[large], np.sqrt(mean[large]))
            count[large] = np.maximum(np.round(approx), 0).astype(np.int64)
        return count

    def flat_dirichlet(self, label: str, parts: int) -> np.ndarray:
        """(events, parts) shares from a flat Dirichlet (normalised exponentials)."""
        spacing = -np.log1p(-self.uniform_matrix(label, parts))
        return spacing / spacing.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class BankRandom:
    """Where every random number of one bank comes from."""

    seed: int

    def events(
        self, stream: str, customers: np.ndarray, ordinal: np.ndarray | int | None = None
    ) -> Draws:
        """Keys for events of ``customers`` (global indexes, one per event).

        ``ordinal`` tells apart a customer's events of the stream; by default the
        rank of each event among the customer's events in the array."""
        customers = np.asarray(customers, np.int64)
        if ordinal is None:
            ordinal = occurrence_rank(customers)
        ordinal = np.broadcast_to(np.asarray(ordinal, np.int64), customers.shape)
        seed_key = mix(np.asarray([self.seed], np.int64).astype(np.uint64))[0]
        z = mix(customers.astype(np.uint64) ^ seed_key)
        z = mix(z ^ label_key(stream))
        return Draws(mix(z + ordinal.astype(np.uint64) * GOLDEN))
