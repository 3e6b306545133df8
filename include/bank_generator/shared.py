"""What every block of customers shares: calendar, random keys, name pools, campaigns, branches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from include.bank_generator import reference as ref
from include.bank_generator.config import Calendar, GeneratorConfig, make_calendar
from include.bank_generator.people import Pools
from include.bank_generator.randomness import BankRandom

PEOPLE_NAMES = 3000  # private counterparties (people transfers go to or come from)
DEVELOPERS = (
    "安居置业有限公司",
    "恒信房地产开发有限公司",
    "嘉和置业有限公司",
    "锦绣房地产开发有限公司",
    "龙湾置业有限公司",
    "盛世家园房地产有限公司",
)
PENSION_PAYER = "社会保险基金管理中心"


@dataclass(frozen=True)
class CounterpartyNames:
    """Names a transaction's counterparty can carry: companies, people, developers, the
    pension fund (postings hold an index into ``names``)."""

    names: np.ndarray
    first_person: int
    first_developer: int
    pension_payer: int

    @property
    def companies(self) -> int:
        return self.first_person


@dataclass(frozen=True)
class Campaigns:
    """The campaign rows and, as day indexes, when each runs."""

    rows: list[tuple[str, str, str, str, str]]
    start_day: np.ndarray
    end_day: np.ndarray
    deposit_push: np.ndarray  # indexes of the deposit-push campaigns, by start day
    deposit_push_start: np.ndarray
    deposit_push_end: np.ndarray

    @property
    def ids(self) -> list[str]:
        return [row[0] for row in self.rows]

    def deposit_push_on(self, day: np.ndarray) -> np.ndarray:
        """Index of the deposit-push campaign running on ``day``, or -1."""
        at = np.searchsorted(self.deposit_push_start, day, side="right") - 1
        running = (at >= 0) & (day <= self.deposit_push_end[np.maximum(at, 0)])
        return np.where(running, self.deposit_push[np.maximum(at, 0)], -1)


@dataclass(frozen=True)
class SharedData:
    calendar: Calendar
    random: BankRandom
    pools: Pools
    names: CounterpartyNames
    campaigns: Campaigns
    branches: list[tuple[str, str, str, str]]
    total_customers: int

    @property
    def days(self) -> int:
        return self.calendar.n_days


def counterparty_names(pools: Pools, rng: np.random.Generator) -> CounterpartyNames:
    given = np.concatenate([pools.male_names, pools.female_names])
    surname = pools.surnames[rng.integers(0, len(pools.surnames), PEOPLE_NAMES)]
    people = np.char.add(surname, given[rng.integers(0, len(given), PEOPLE_NAMES)])
    names = np.concatenate(
        [pools.companies, people, np.array(DEVELOPERS), np.array([PENSION_PAYER])]
    )
    first_person = len(pools.companies)
    return CounterpartyNames(
        names=names,
        first_person=first_person,
        first_developer=first_person + PEOPLE_NAMES,
        pension_payer=len(names) - 1,
    )


def campaign_calendar(calendar: Calendar) -> Campaigns:
    rows = ref.campaigns(calendar)
    start = (np.array([np.datetime64(c[3]) for c in rows]) - calendar.start).astype(np.int64)
    end = (np.array([np.datetime64(c[4]) for c in rows]) - calendar.start).astype(np.int64)
    push = np.flatnonzero([c[2] == "deposit_push" for c in rows])
    push = push[np.argsort(start[push], kind="stable")]
    return Campaigns(rows, start, end, push, start[push], end[push])


def shared_data(config: GeneratorConfig) -> SharedData:
    calendar = make_calendar(config.start_date, config.months)
    pools = Pools(config.seed)
    return SharedData(
        calendar=calendar,
        random=BankRandom(config.seed),
        pools=pools,
        names=counterparty_names(pools, np.random.default_rng([config.seed, 2])),
        campaigns=campaign_calendar(calendar),
        branches=ref.branches(np.random.default_rng([config.seed, 3])),
        total_customers=config.customers,
    )
