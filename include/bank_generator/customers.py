"""Customers of one block: who they are, what they own and earn, the behaviour planted in them.

Arrays are indexed by the customer's position in the block; ``index`` holds the
customer's number in the whole bank (0 = the first customer, ``C00000001``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from include.bank_generator import archetypes as kinds
from include.bank_generator.archetypes import Archetype
from include.bank_generator.shared import SharedData

JOINING_SHARE = 0.15  # customers onboarded during the period (periods over 60 days)
PAYDAYS = np.array([4, 9, 14, 19, 24])  # day of month - 1
# Planted dormancy and upgrades: the share of the bank, at least a few customers
# whatever its size, drawn among the customers who qualify (the second figure is the
# share of the bank that qualifies, measured on large banks).
DORMANT_SHARE, DORMANT_MINIMUM, QUALIFY_FOR_DORMANCY = 0.02, 2, 0.85
UPGRADE_SHARE, UPGRADE_MINIMUM, QUALIFY_FOR_UPGRADE = 0.03, 2, 0.115


def planted_probability(share: float, minimum: int, qualifying: float, customers: int) -> float:
    """Per qualifying customer, so that about ``share`` of the bank (and at least
    ``minimum`` customers) carries a planted behaviour."""
    return min(1.0, max(share, minimum / customers) / qualifying)


@dataclass(frozen=True)
class Customers:
    index: np.ndarray
    archetype: np.ndarray
    is_corporate: np.ndarray
    planned_onboard_day: np.ndarray  # < 0: customer before the period
    birth_date: np.ndarray  # datetime64[D], NaT for companies
    is_male: np.ndarray
    wealth: np.ndarray  # CNY
    income: np.ndarray  # CNY a month
    digital_preference: np.ndarray
    has_payroll: np.ndarray
    employer_name: np.ndarray  # index into the company names
    payday: np.ndarray  # day of month - 1
    transactions_per_month: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    @property
    def existed_before_period(self) -> np.ndarray:
        return self.planned_onboard_day < 0


def plan_customers(shared: SharedData, first: int, size: int) -> Customers:
    """Customers ``first`` .. ``first + size - 1`` of the bank."""
    days, start = shared.days, shared.calendar.start
    index = np.arange(first, first + size)
    draw = shared.random.events("customer", index, 0)
    archetype = draw.choice("archetype", np.arange(len(Archetype)), kinds.POPULATION_SHARE)
    is_corporate = archetype == Archetype.CORPORATE
    joins = draw.uniform("joins") < (JOINING_SHARE if days > 60 else 0.0)
    onboard = np.where(
        joins,
        draw.integers("joined_on", 0, max(days - 20, 1)),
        -draw.integers("customer_for", 30, 6000),
    )
    low, high = kinds.AGE_RANGE[archetype, 0], kinds.AGE_RANGE[archetype, 1]
    age_days = (draw.uniform("age", low, high) * 365.25).astype(np.int64)
    birth = np.where(is_corporate, np.datetime64("NaT"), start - age_days)
    return Customers(
        index=index,
        archetype=archetype,
        is_corporate=is_corporate,
        planned_onboard_day=onboard,
        birth_date=birth,
        is_male=draw.uniform("male") < 0.5,
        wealth=kinds.WEALTH_MEDIAN[archetype]
        * np.exp(draw.normal("wealth", 0, kinds.WEALTH_SIGMA[archetype])),
        income=kinds.INCOME_MEDIAN[archetype] * np.exp(draw.normal("income", 0, 0.4)),
        digital_preference=np.clip(
            kinds.DIGITAL_PREFERENCE[archetype] + draw.normal("digital", 0, 0.1), 0.02, 0.98
        ),
        has_payroll=draw.uniform("payroll") < kinds.HAS_PAYROLL[archetype],
        employer_name=draw.integers("employer", 0, shared.names.companies),
        payday=draw.choice("payday", PAYDAYS),
        transactions_per_month=kinds.TRANSACTIONS_PER_MONTH[archetype]
        * np.exp(draw.normal("activity", 0, 0.3)),
    )


@dataclass(frozen=True)
class Behaviours:
    """Planted dormancy and tier upgrades (never on a planted churner)."""

    is_dormant: np.ndarray
    dormant_from: np.ndarray  # last day of customer-initiated activity; days if not dormant
    upgrade_day: np.ndarray  # -1: no upgrade
    upgrade_amount: np.ndarray  # CNY brought in on upgrade_day


def value_tier_threshold(customers: Customers) -> np.ndarray:
    """The next value-tier threshold above each customer's wealth (CNY)."""
    threshold = np.where(customers.is_corporate, 1e6, 5e5)
    higher = threshold * np.where(customers.is_corporate, 10, 6)
    return np.where(customers.wealth >= threshold, higher, threshold)


def plant_behaviours(
    shared: SharedData, customers: Customers, is_churner: np.ndarray
) -> Behaviours:
    calendar, days, n = shared.calendar, shared.days, len(customers)
    draw = shared.random.events("behaviour", customers.index, 0)
    before = customers.existed_before_period & ~is_churner
    is_dormant = np.zeros(n, bool)
    dormant_from = np.full(n, days)
    if days >= 200:
        p = planted_probability(
            DORMANT_SHARE, DORMANT_MINIMUM, QUALIFY_FOR_DORMANCY, shared.total_customers
        )
        is_dormant = before & (draw.uniform("dormant") < p)
        dormant_from = np.where(is_dormant, draw.integers("dormant_from", 15, days - 185), days)
    upgrade_day = np.full(n, -1)
    upgrade_amount = np.zeros(n)
    if calendar.n_months >= 3:
        threshold = value_tier_threshold(customers)
        near = (
            before
            & ~is_dormant
            & (customers.wealth >= 0.4 * threshold)
            & (customers.wealth <= 0.85 * threshold)
        )
        p = planted_probability(
            UPGRADE_SHARE, UPGRADE_MINIMUM, QUALIFY_FOR_UPGRADE, shared.total_customers
        )
        upgrades = near & (draw.uniform("upgrade") < p)
        starts = calendar.month_starts
        upgrade_day = np.where(upgrades, draw.integers("upgrade_day", starts[1], starts[-2]), -1)
        upgrade_amount = np.where(
            upgrades, threshold * draw.uniform("upgrade_by", 1.2, 1.6) - customers.wealth, 0.0
        )
    return Behaviours(is_dormant, dormant_from, upgrade_day, upgrade_amount)
