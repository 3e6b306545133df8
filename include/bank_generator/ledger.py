"""Postings (one row per transaction leg) collected as numpy arrays, and balances."""

from __future__ import annotations

import numpy as np

FIELDS = {
    "acct": np.int64,
    "day": np.int64,
    "sec": np.int64,
    "type": np.int8,
    "credit": np.bool_,
    "amount": np.int64,
    "channel": np.int8,
    "cp_type": np.int8,
    "cp_name": np.int64,
    "bank": np.int8,
    "mcat": np.int8,
}
NO_NAME = np.iinfo(np.int64).min  # cp_name: >= 0 index into the name table, < 0 own account


class Ledger:
    """Append-only collection of postings; amounts are positive integer cents."""

    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []
        self._merged: dict[str, np.ndarray] | None = None

    def add(self, **columns: np.ndarray | int | bool) -> None:
        n = max(np.size(v) for v in columns.values() if np.ndim(v) > 0)
        defaults = {"cp_name": NO_NAME, "bank": -1, "mcat": -1, "cp_type": 5}
        part = {}
        for name, dtype in FIELDS.items():
            value = columns.get(name, defaults.get(name))
            if value is None:
                raise ValueError(f"posting field {name} missing")
            part[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        if n:
            self.parts.append(part)
        self._merged = None

    def merged(self) -> dict[str, np.ndarray]:
        """All postings sorted by account, day, second and insertion order."""
        if self._merged is None:
            cols = {k: np.concatenate([p[k] for p in self.parts]) for k in FIELDS}
            key = (cols["acct"] * 4096 + cols["day"]) * 86_400 + cols["sec"]
            order = np.argsort(key, kind="stable")
            self._merged = {k: v[order] for k, v in cols.items()}
        return self._merged


def running_balances(
    postings: dict[str, np.ndarray], opening: np.ndarray, liability: np.ndarray
) -> np.ndarray:
    """Balance after each posting (postings sorted by account and time).

    Deposits go up with credits; loans and cards hold the amount owed, which goes
    up with debits."""
    acct = postings["acct"]
    sign = np.where(postings["credit"], 1, -1) * np.where(liability[acct], -1, 1)
    delta = sign * postings["amount"]
    total = np.cumsum(delta)
    starts = np.flatnonzero(np.r_[True, acct[1:] != acct[:-1]])
    before = np.repeat(total[starts] - delta[starts], np.diff(np.r_[starts, len(acct)]))
    return total - before + opening[acct]


def balance_at(
    postings: dict[str, np.ndarray],
    running: np.ndarray,
    opening: np.ndarray,
    accts: np.ndarray,
    days: np.ndarray,
) -> np.ndarray:
    """End-of-day balance of each (account, day)."""
    key = postings["acct"] * 100_000 + postings["day"]
    pos = np.searchsorted(key, accts * 100_000 + days, side="right") - 1
    found = (pos >= 0) & (postings["acct"][np.maximum(pos, 0)] == accts)
    return np.where(found, running[np.maximum(pos, 0)], opening[accts])
