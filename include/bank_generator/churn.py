"""Planted churn: who leaves, why and when, the money that leaves them, closed accounts.

The five reasons each leave a different trace in the landing files (the ground
truth names the reason, the churn-reason model has to find it):

- ``rate_competition``: payroll and savings move to another bank within two weeks;
- ``campaign_deposit_maturity``: a deposit opened in a deposit push matures and
  leaves, mostly to another bank;
- ``property_purchase``: one large payment to a developer;
- ``service_dissatisfaction``: complaints, then the money leaves;
- ``disengagement``: activity fades over three months while the money trickles out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from include.bank_generator import reference as ref
from include.bank_generator.channels import OTHER_BANKS, channel, seconds
from include.bank_generator.config import add_months
from include.bank_generator.customers import Customers
from include.bank_generator.ledger import (
    CENTS,
    NO_NAME,
    Postings,
    balance_at,
    cents,
    running_balances,
)
from include.bank_generator.randomness import Draws
from include.bank_generator.shared import DEVELOPERS, PEOPLE_NAMES, SharedData

if TYPE_CHECKING:
    from include.bank_generator.accounts import Accounts

REASONS = (
    "rate_competition",
    "campaign_deposit_maturity",
    "property_purchase",
    "service_dissatisfaction",
    "disengagement",
)
RATE_COMPETITION, CAMPAIGN_MATURITY, PROPERTY_PURCHASE, DISSATISFACTION, DISENGAGEMENT = (
    REASONS.index(reason) for reason in REASONS
)
REASON_SHARE = np.array([0.025, 0.015, 0.01, 0.012, 0.018])  # of the whole bank
REASON_MINIMUM = 3  # customers per reason, however small the bank
# churners are drawn among retail customers of the bank before the period with at
# least 60,000 CNY: about this share of a large bank
QUALIFY_FOR_CHURN = 0.353
MIN_WEALTH = 60_000
CAMPAIGN_TERMS = np.array([3, 6, 12])
CAMPAIGN_CANDIDATES = 60  # tries to find a deposit-push deposit that matures in time
CLOSING_SHARE = 0.3  # churners who also close every account a month later
# reason -> (number of outflows, first day after the start, spread in days, share of the balance)
OUTFLOWS = {
    RATE_COMPETITION: (4, 1, 14, 0.9),
    CAMPAIGN_MATURITY: (2, 2, 12, 0.9),
    PROPERTY_PURCHASE: (1, 1, 5, 0.85),
    DISSATISFACTION: (4, 1, 10, 0.9),
}
# disengagement: (month relative to the churn month, share of the balance)
TRICKLE = ((-2, 0.12), (-1, 0.12), (0, 0.35), (0, 0.33))


@dataclass(frozen=True)
class CampaignDeposit:
    """The deposit-push time deposit a campaign-maturity churner leaves with."""

    customer: np.ndarray  # block position
    product: np.ndarray
    open_day: np.ndarray
    principal: np.ndarray  # cents
    campaign: np.ndarray


@dataclass(frozen=True)
class ChurnPlan:
    reason: np.ndarray  # index into REASONS, -1 for customers who stay
    churn_month: np.ndarray  # -1 for customers who stay
    churn_day: np.ndarray
    churn_start: np.ndarray  # the money starts to move; days for customers who stay
    investments_until: np.ndarray  # investments are liquidated on this day
    close_day: np.ndarray  # every account closes; days if they stay open
    campaign_deposit: CampaignDeposit
    current_share: np.ndarray  # CNY kept in the current account by campaign churners

    @property
    def is_churner(self) -> np.ndarray:
        return self.reason >= 0


def reason_probabilities(customers: int) -> np.ndarray:
    """Per qualifying customer, for each reason (their sum is at most 1)."""
    p = np.maximum(REASON_SHARE, REASON_MINIMUM / customers) / QUALIFY_FOR_CHURN
    return p / max(1.0, p.sum())


def plan_churn(shared: SharedData, customers: Customers) -> ChurnPlan:
    calendar, days, n = shared.calendar, shared.days, len(customers)
    starts = calendar.month_starts
    draw = shared.random.events("churn", customers.index, 0)
    reason = np.full(n, -1)
    churn_month = np.full(n, -1)
    if calendar.n_months >= 4:
        qualifies = (
            customers.existed_before_period
            & ~customers.is_corporate
            & (customers.wealth >= MIN_WEALTH)
        )
        cumulative = np.cumsum(reason_probabilities(shared.total_customers))
        picked = np.searchsorted(cumulative, draw.uniform("reason"), side="right")
        reason = np.where(qualifies & (picked < len(REASONS)), picked, -1)
        churn_month = np.where(reason >= 0, draw.integers("month", 3, calendar.n_months), -1)
    churn_day = np.where(reason >= 0, starts[np.maximum(churn_month, 0)], days)
    deposit, current_share = _campaign_deposits(shared, customers, reason, draw)
    campaign = deposit.customer
    reason[np.setdiff1d(np.flatnonzero(reason == CAMPAIGN_MATURITY), campaign)] = DISENGAGEMENT
    maturity = add_months(deposit.open_day, _term(deposit.product), calendar.start)
    churn_day[campaign] = maturity
    churn_month[campaign] = calendar.month_of_day(maturity)
    churner = reason >= 0
    start = churn_day + draw.integers("start", 0, 3)
    start = np.where(reason == CAMPAIGN_MATURITY, churn_day, start)
    start = np.where(reason == DISENGAGEMENT, starts[np.maximum(churn_month - 2, 0)], start)
    start = np.where(churner, start, days)
    closing = (
        churner & (draw.uniform("closing") < CLOSING_SHARE) & (churn_month + 1 < calendar.n_months)
    )
    close_day = np.where(
        closing,
        starts[np.minimum(churn_month + 1, calendar.n_months - 1)] + draw.integers("close", 3, 20),
        days,
    )
    return ChurnPlan(
        reason=reason,
        churn_month=churn_month,
        churn_day=churn_day,
        churn_start=start,
        investments_until=start,
        close_day=close_day,
        campaign_deposit=deposit,
        current_share=current_share,
    )


def _term(product: np.ndarray) -> np.ndarray:
    return np.array([ref.TD_TERMS[ref.PRODUCT_CODES[p]] for p in product], dtype=np.int64)


def _campaign_deposits(
    shared: SharedData, customers: Customers, reason: np.ndarray, draw: Draws
) -> tuple[CampaignDeposit, np.ndarray]:
    """A campaign time deposit opened in a deposit push that matures in the later part
    of the period (the churn month follows from it); customers for whom no deposit
    fits are left out (they disengage instead)."""
    calendar, campaigns = shared.calendar, shared.campaigns
    starts = calendar.month_starts
    who = np.flatnonzero(reason == CAMPAIGN_MATURITY)
    none = np.zeros(0, np.int64)
    if not len(who):
        return CampaignDeposit(none, none, none, none, none), np.full(len(customers), np.nan)
    windows = zip(campaigns.deposit_push_start, campaigns.deposit_push_end, strict=True)
    push_days = np.concatenate([np.arange(s, e + 1) for s, e in windows])
    tries = draw.subset(who)
    open_day = push_days[
        (tries.uniform_matrix("campaign_open", CAMPAIGN_CANDIDATES) * len(push_days)).astype(int)
    ]
    term = CAMPAIGN_TERMS[
        (tries.uniform_matrix("campaign_term", CAMPAIGN_CANDIDATES) * len(CAMPAIGN_TERMS)).astype(
            int
        )
    ]
    maturity = add_months(open_day, term, calendar.start)
    # the money must be gone within the month it matured in or the next one
    day_of_month = maturity - starts[calendar.month_of_day(maturity)]
    fits = (
        (maturity >= starts[min(3, calendar.n_months)])
        & (open_day < maturity)
        & ((maturity < starts[-2]) | (day_of_month < 5))
    )
    first = np.argmax(fits, axis=1)
    found = fits[np.arange(len(who)), first]
    who, tries = who[found], tries.subset(found)
    open_day, term = open_day[found, first[found]], term[found, first[found]]
    product = np.array([ref.PRODUCT_INDEX[f"TD_{t}M"] for t in term], dtype=np.int64)
    principal = cents(customers.wealth[who] * tries.uniform("principal", 0.6, 0.8))
    current_share = np.full(len(customers), np.nan)
    current_share[who] = customers.wealth[who] - principal / CENTS
    deposit = CampaignDeposit(
        customer=who,
        product=product,
        open_day=open_day.astype(np.int64),
        principal=principal,
        campaign=campaigns.deposit_push_on(open_day),
    )
    return deposit, current_share


def outflows(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    churn: ChurnPlan,
    postings: Postings,
) -> Postings:
    """The money that leaves planted churners, as shares of their current-account
    balance on the day it starts to move (``postings`` sorted by account and time)."""
    days, starts = shared.days, shared.calendar.month_starts
    opening = accounts.opening_at_start
    running = running_balances(postings, opening, accounts.is_liability)
    who = np.flatnonzero(churn.is_churner)
    reason, start = churn.reason[who], churn.churn_start[who]
    balance = balance_at(
        postings, running, opening, accounts.current[who], np.minimum(start, days - 1)
    )
    last_day = np.minimum(churn.close_day, days) - 1  # money leaves before the accounts close
    draw = shared.random.events("churn_outflow", customers.index[who], 0)
    parts = []
    for leaving, (count, first, spread, total) in OUTFLOWS.items():
        chosen = reason == leaving
        c, s, base = who[chosen], start[chosen], balance[chosen]
        own = draw.subset(chosen)
        split = own.flat_dirichlet("split", count) * total
        for leg in range(count):
            day = np.minimum(s + first + own.integers(f"day.{leg}", 0, spread), last_day[c])
            amount = np.maximum(base * split[:, leg], CENTS).astype(np.int64)
            parts.append(_outflow(shared, customers, accounts, c, day, amount, leaving, leg))
    chosen = reason == DISENGAGEMENT
    c, base, month = who[chosen], balance[chosen], churn.churn_month[who[chosen]]
    own = draw.subset(chosen)
    for leg, (offset, share) in enumerate(TRICKLE):
        month_start = starts[month + offset]
        spread = 10 if offset == 0 else 25
        day = np.minimum(month_start + own.integers(f"trickle.{leg}", 0, spread), last_day[c])
        amount = (base * share).astype(np.int64)
        parts.append(_outflow(shared, customers, accounts, c, day, amount, DISENGAGEMENT, leg))
    return Postings.concat(parts)


def _outflow(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    who: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    reason: int,
    leg: int,
) -> Postings:
    k = len(who)
    draw = shared.random.events(f"churn_outflow.{reason}", customers.index[who], leg)
    transfer, withdrawal = ref.TX["transfer_out"], ref.TX["withdrawal"]
    if reason in (RATE_COMPETITION, CAMPAIGN_MATURITY):
        # to another bank (campaign money partly to own bank's customers)
        other = np.ones(k, bool) if reason == RATE_COMPETITION else draw.uniform("other_bank") < 0.7
        kind = np.full(k, transfer)
    elif reason == PROPERTY_PURCHASE:
        other = np.zeros(k, bool)
        kind = np.full(k, ref.TX["merchant_payment"])
    elif reason == DISSATISFACTION:  # first leg to another bank, the rest own bank or cash
        other = np.full(k, leg == 0)
        kind = np.where(draw.uniform("cash") < 0.4, withdrawal, transfer)
        kind = np.where(other, transfer, kind)
    else:
        other = np.zeros(k, bool)
        kind = np.where(draw.uniform("cash") < 0.7, withdrawal, transfer)
    if reason == DISSATISFACTION and leg == 0:
        amount = (amount * 0.9).astype(np.int64)
    cash = kind == withdrawal
    channels = channel(
        draw,
        customers,
        who,
        digital_ok=~cash,
        physical=np.where(cash, ref.CH["atm"], ref.CH["branch"]),
    )
    counterparty_type = np.select(
        [np.full(k, reason == PROPERTY_PURCHASE), other, cash],
        [ref.CP["merchant"], ref.CP["other_bank"], ref.CP["none"]],
        ref.CP["same_bank"],
    )
    names = shared.names
    if reason == PROPERTY_PURCHASE:
        name = names.first_developer + draw.integers("developer", 0, len(DEVELOPERS))
    else:
        name = np.where(
            cash, NO_NAME, names.first_person + draw.integers("person", 0, PEOPLE_NAMES)
        )
    bank = np.select([other, cash], [1 + (customers.index[who] % (OTHER_BANKS - 1)), -1], 0)
    return Postings.of(
        account=accounts.current[who],
        day=day,
        second=seconds(draw, channels),
        type=kind,
        is_credit=False,
        amount=amount,
        channel=channels,
        counterparty_type=counterparty_type,
        counterparty_name=name,
        bank=bank,
        merchant_category=ref.MCAT["real_estate"] if reason == PROPERTY_PURCHASE else -1,
    )


@dataclass(frozen=True)
class Closures:
    postings: Postings  # the sweep of what is left
    close_day: np.ndarray  # per account, with the closing customers' accounts closed


def close_accounts(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    churn: ChurnPlan,
    postings: Postings,
) -> Closures:
    """Closing customers sweep what is left and close every account."""
    days = shared.days
    opening = accounts.opening_at_start
    running = running_balances(postings, opening, accounts.is_liability)
    who = np.flatnonzero(churn.close_day < days)
    day = churn.close_day[who]
    left = balance_at(postings, running, opening, accounts.current[who], day)
    positive = left > 0
    sweeping = who[positive]
    draw = shared.random.events("closure", customers.index[sweeping], 0)
    other = draw.uniform("other_bank") < 0.6
    sweep = Postings.of(
        account=accounts.current[sweeping],
        day=day[positive],
        second=86_000,
        type=ref.TX["transfer_out"],
        is_credit=False,
        amount=left[positive],
        channel=channel(draw, customers, sweeping),
        counterparty_type=np.where(other, ref.CP["other_bank"], ref.CP["same_bank"]),
        counterparty_name=shared.names.first_person + draw.integers("person", 0, PEOPLE_NAMES),
        bank=np.where(other, 1 + (customers.index[sweeping] % (OTHER_BANKS - 1)), 0),
    )
    closing = churn.close_day[accounts.customer] < days
    still_open = closing & (accounts.close_day >= days)
    close_day = np.where(still_open, churn.close_day[accounts.customer], accounts.close_day)
    return Closures(sweep, close_day)
