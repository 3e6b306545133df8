"""Generator settings and the calendar of the simulated period."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_BLOCK_SIZE = 5000
MAX_BLOCK_SIZE = 1_000_000  # sort keys of a block stay within 64 bits
MAX_CUSTOMERS = 9_999_998  # customer numbers keep 7 digits inside every key


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. The same values always give byte-identical files, whatever
    ``block_size`` and ``workers`` (they only set memory and speed)."""

    customers: int = 2000
    months: int = 12
    start_date: str = "2025-01-01"
    seed: int = 42
    dirt_rate: float = 0.005
    # put the values of hostile_text.CATALOGUE into a few rows' free-text fields
    hostile_text: bool = False
    out: Path = field(default_factory=lambda: Path("data"))
    show_progress: bool = True
    # customers simulated at once, and processes simulating blocks while the main one
    # writes (0: all in the main process); neither changes the files
    block_size: int = DEFAULT_BLOCK_SIZE
    workers: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.customers <= MAX_CUSTOMERS:
            raise ValueError(f"customers must be in 1..{MAX_CUSTOMERS}, got {self.customers}")
        if not 1 <= self.block_size <= MAX_BLOCK_SIZE:
            raise ValueError(f"block_size must be in 1..{MAX_BLOCK_SIZE}, got {self.block_size}")
        if self.workers < 0:
            raise ValueError(f"workers must be >= 0, got {self.workers}")
        if not 1 <= self.months <= 120:
            raise ValueError(f"months must be in 1..120, got {self.months}")
        if not 0.0 <= self.dirt_rate <= 0.2:
            raise ValueError(f"dirt_rate must be in 0..0.2, got {self.dirt_rate}")
        np.datetime64(self.start_date, "D")  # raises on a malformed date


@dataclass(frozen=True)
class Calendar:
    """Day indexes 0..n_days-1 of the period and the calendar months they fall in."""

    start: np.datetime64
    n_days: int
    month_starts: np.ndarray  # day index of the first day of each month (plus the end)

    @property
    def n_months(self) -> int:
        return len(self.month_starts) - 1

    @property
    def dates(self) -> np.ndarray:
        return self.start + np.arange(self.n_days)

    def month_of_day(self, days: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.month_starts, days, side="right") - 1

    def month_label(self, month: int) -> str:
        return str((self.start + self.month_starts[month]).astype("datetime64[M]"))


def make_calendar(start_date: str, months: int) -> Calendar:
    """Calendar months from ``start_date`` (which should be a month's first day)."""
    start = np.datetime64(start_date, "D")
    first_month = start.astype("datetime64[M]")
    bounds = (first_month + np.arange(months + 1)).astype("datetime64[D]")
    bounds[0] = start
    month_starts = (bounds - start).astype(np.int64)
    return Calendar(start=start, n_days=int(month_starts[-1]), month_starts=month_starts)


def add_months(day: np.ndarray, months: np.ndarray | int, start: np.datetime64) -> np.ndarray:
    """Day index + calendar months (clamped to the month's last day)."""
    date = start + np.asarray(day)
    month = date.astype("datetime64[M]")
    day_of_month = (date - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    return (target.astype("datetime64[D]") + np.minimum(day_of_month, length - 1) - start).astype(
        np.int64
    )
