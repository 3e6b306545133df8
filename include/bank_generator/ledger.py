"""Postings (one row per transaction leg) as numpy columns, and the balances they imply.

Amounts are positive integer cents so balances add up exactly; accounts are
indexes into the block's :class:`~include.bank_generator.accounts.Accounts`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from include.bank_generator import reference as ref

CENTS = 100
DAY_LIMIT = 1 << 13  # day indexes stay below this (120 months)
SECONDS_PER_DAY = 86_400
NO_NAME = np.iinfo(np.int64).min  # counterparty_name: >= 0 a name, < 0 own account (-1 - index)
COLUMN_TYPES = {
    "account": np.int64,
    "day": np.int64,
    "second": np.int64,
    "type": np.int8,
    "is_credit": np.bool_,
    "amount": np.int64,
    "channel": np.int8,
    "counterparty_type": np.int8,
    "counterparty_name": np.int64,
    "bank": np.int8,
    "merchant_category": np.int8,
}
DEFAULTS = {
    "counterparty_name": NO_NAME,
    "bank": -1,
    "merchant_category": -1,
    "counterparty_type": ref.CP["none"],
}


def cents(values: np.ndarray) -> np.ndarray:
    """CNY -> integer cents, at least one cent."""
    return np.maximum(np.round(np.asarray(values, dtype=float) * CENTS), 1).astype(np.int64)


def own_account(accounts: np.ndarray) -> np.ndarray:
    """counterparty_name of a transfer with the customer's own account ``accounts``."""
    return -(np.asarray(accounts, np.int64) + 1)


@dataclass(frozen=True)
class Postings:
    account: np.ndarray
    day: np.ndarray
    second: np.ndarray
    type: np.ndarray
    is_credit: np.ndarray
    amount: np.ndarray
    channel: np.ndarray
    counterparty_type: np.ndarray
    counterparty_name: np.ndarray
    bank: np.ndarray  # index into reference.BANK_CODES, -1 none
    merchant_category: np.ndarray  # index into reference.MERCHANT_CATEGORIES, -1 none

    @classmethod
    def of(cls, **columns: np.ndarray | int | bool) -> Postings:
        """Postings from columns and scalars (broadcast); optional columns default."""
        sizes = [np.size(v) for v in columns.values() if np.ndim(v) > 0]
        n = max(sizes) if sizes else 0
        values = {}
        for name, dtype in COLUMN_TYPES.items():
            value = columns.get(name, DEFAULTS.get(name))
            if value is None:
                raise ValueError(f"posting column {name} missing")
            values[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        return cls(**values)

    @classmethod
    def empty(cls) -> Postings:
        return cls(**{name: np.zeros(0, dtype) for name, dtype in COLUMN_TYPES.items()})

    @classmethod
    def concat(cls, parts: list[Postings]) -> Postings:
        if not parts:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )

    def __len__(self) -> int:
        return len(self.account)

    def take(self, index: np.ndarray) -> Postings:
        return Postings(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def by_account_and_time(self) -> Postings:
        """Sorted by account, day, second (then the order they were made in)."""
        key = (self.account * DAY_LIMIT + self.day) * SECONDS_PER_DAY + self.second
        return self.take(np.argsort(key, kind="stable"))


def running_balances(postings: Postings, opening: np.ndarray, liability: np.ndarray) -> np.ndarray:
    """Balance after each posting (postings sorted by account and time).

    Deposits go up with credits; loans and cards hold the amount owed, which goes
    up with debits."""
    account = postings.account
    if not len(account):
        return np.zeros(0, np.int64)
    sign = np.where(postings.is_credit, 1, -1) * np.where(liability[account], -1, 1)
    delta = sign * postings.amount
    total = np.cumsum(delta)
    starts = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    before = np.repeat(total[starts] - delta[starts], np.diff(np.r_[starts, len(account)]))
    return total - before + opening[account]


def balance_at(
    postings: Postings,
    running: np.ndarray,
    opening: np.ndarray,
    accounts: np.ndarray,
    days: np.ndarray,
) -> np.ndarray:
    """End-of-day balance of each (account, day) (postings sorted by account and time)."""
    if not len(postings):
        return opening[accounts]
    key = postings.account * 100_000 + postings.day
    position = np.searchsorted(key, accounts * 100_000 + days, side="right") - 1
    safe = np.maximum(position, 0)
    found = (position >= 0) & (postings.account[safe] == accounts)
    return np.where(found, running[safe], opening[accounts])
