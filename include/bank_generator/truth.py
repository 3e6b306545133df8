"""Ground truth of one block: the behaviour planted in each customer, checked against
the month-average AUM the landed balances imply (a plant that did not show is not
reported). Never part of the landing area."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from include.bank_generator.archetypes import ARCHETYPES, Archetype
from include.bank_generator.churn import REASONS
from include.bank_generator.shared import SharedData
from include.bank_generator.simulate import SimulatedBlock
from include.bank_generator.tables import customer_ids, dates, strings

VALUE_CHURN_MIN_PRIOR_AUM = 10_000
DORMANT_AFTER_DAYS = 180


@dataclass(frozen=True)
class TruthCounts:
    """Counts behind the summary's ``truth`` figures; they add up over blocks."""

    planted_churners: int = 0
    planted_churn_not_shown: int = 0
    unplanted_value_churners: int = 0
    planted_upgrades_shown: int = 0
    planted_dormant: int = 0
    customers_in_last_month: int = 0
    high_net_worth_last_month: int = 0
    mid_value_last_month: int = 0

    def __add__(self, other: TruthCounts) -> TruthCounts:
        return TruthCounts(
            *(a + b for a, b in zip(self.__dict__.values(), other.__dict__.values(), strict=True))
        )

    def summary(self) -> dict[str, float | int]:
        last = self.customers_in_last_month
        return {
            "planted_churners": self.planted_churners,
            "planted_churn_not_shown": self.planted_churn_not_shown,
            "unplanted_value_churners": self.unplanted_value_churners,
            "planted_upgrades_shown": self.planted_upgrades_shown,
            "planted_dormant": self.planted_dormant,
            "share_high_net_worth_last_month": round(self.high_net_worth_last_month / last, 4)
            if last
            else 0.0,
            "share_mid_value_last_month": round(self.mid_value_last_month / last, 4)
            if last
            else 0.0,
        }


def ground_truth(shared: SharedData, block: SimulatedBlock) -> tuple[pa.Table, TruthCounts]:
    customers, accounts, churn, postings = (
        block.customers,
        block.accounts,
        block.churn,
        block.postings,
    )
    behaviours, calendar, days = block.behaviours, shared.calendar, shared.days
    n = len(customers)
    is_aum = ~accounts.is_liability
    on_aum = is_aum[postings.account]
    owner = accounts.customer[postings.account]
    sign = np.where(postings.is_credit, 1, -1)
    flat = owner[on_aum] * days + postings.day[on_aum]
    daily = np.bincount(flat, (sign * postings.amount)[on_aum] / 100, minlength=n * days)
    before = is_aum & (accounts.open_day < 0)
    opening = accounts.opening_at_start
    daily[: n * days : days] += np.bincount(
        accounts.customer[before], opening[before] / 100, minlength=n
    )
    aum = np.cumsum(daily.reshape(n, days), axis=1)
    starts = calendar.month_starts
    month_avg = np.add.reduceat(aum, starts[:-1], axis=1) / np.diff(starts)[None, :]
    del aum, daily
    months = month_avg.shape[1]
    churned = np.zeros((n, months), bool)
    for k in range(3, months):
        prior = month_avg[:, k - 3 : k].mean(axis=1)
        churned[:, k] = (prior >= VALUE_CHURN_MIN_PRIOR_AUM) & (month_avg[:, k] < 0.5 * prior)
    first = np.where(churned.any(axis=1), churned.argmax(axis=1), -1)
    planted = churn.is_churner
    shown = planted & (first >= 0) & (first >= churn.churn_month - 1)
    corporate = customers.is_corporate
    high = np.where(corporate, 10e6, 3e6)
    mid = np.where(corporate, 1e6, 5e5)
    tier = (month_avg >= mid[:, None]).astype(int) + (month_avg >= high[:, None])
    upgraded = (behaviours.upgrade_day >= 0) & (tier[:, -1] > tier[:, 0])
    dormant = behaviours.is_dormant & (days - behaviours.dormant_from > DORMANT_AFTER_DAYS)
    labels = np.array([calendar.month_label(k) for k in range(months)] + [""])
    tier_last = tier[:, -1][np.maximum(accounts.onboard_day, 0) < starts[-2]]
    close_day = churn.close_day
    table = pa.table(
        {
            "customer_id": customer_ids(customers.index),
            "archetype": strings(np.array(ARCHETYPES)[customers.archetype]),
            "customer_type": strings(
                np.where(customers.archetype == Archetype.CORPORATE, "corporate", "retail")
            ),
            "onboarded_date": dates(shared, accounts.onboard_day),
            "planted_churn_reason": strings(
                np.where(shown, np.array((*REASONS, ""))[churn.reason], "")
            ),
            "planted_churn_month": strings(np.where(shown, labels[first], "")),
            "is_planted_dormant": strings(np.where(dormant, "true", "false")),
            "is_planted_upgrade": strings(np.where(upgraded, "true", "false")),
            "planted_closed_date": dates(
                shared, np.minimum(close_day, days - 1), mask=close_day >= days
            ),
        }
    )
    counts = TruthCounts(
        planted_churners=int(planted.sum()),
        planted_churn_not_shown=int((planted & ~shown).sum()),
        unplanted_value_churners=int((~planted & (first >= 0)).sum()),
        planted_upgrades_shown=int(upgraded.sum()),
        planted_dormant=int(dormant.sum()),
        customers_in_last_month=len(tier_last),
        high_net_worth_last_month=int((tier_last == 2).sum()),
        mid_value_last_month=int((tier_last == 1).sum()),
    )
    return table, counts
