"""Accounts of one block: current accounts, investments, time-deposit roll-over chains,
loans and cards, each opened and (maybe) closed on a day index.

Accounts are numbered in the order they are created: every customer's current
account, then investments, time deposits (in roll-over generations), loans and
cards; a customer's own accounts are therefore always in the same order, whatever
block the customer is simulated in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from include.bank_generator import archetypes as kinds
from include.bank_generator import reference as ref
from include.bank_generator.churn import (
    CAMPAIGN_MATURITY,
    DISENGAGEMENT,
    DISSATISFACTION,
    RATE_COMPETITION,
    ChurnPlan,
)
from include.bank_generator.config import add_months
from include.bank_generator.customers import Behaviours, Customers
from include.bank_generator.ledger import cents
from include.bank_generator.shared import SharedData

CURRENT, TIME_DEPOSIT, WEALTH, FUND, INSURANCE = range(5)  # holding slots (archetype tables)
RETAIL_INVESTMENTS = {
    WEALTH: (("WM_STABLE", "WM_GROWTH"), "WM_CORP"),
    FUND: (("FUND_EQUITY", "FUND_BOND"), None),
    INSURANCE: (("INS_LIFE",), None),
}
HELD_DEPOSIT_TERMS = (("TD_3M", "TD_6M", "TD_12M", "TD_36M"), (0.2, 0.25, 0.4, 0.15))
PUSH_DEPOSIT_PRODUCTS = ("TD_3M", "TD_6M", "TD_12M")
DEPOSIT_PUSH_TAKE_UP = 0.06
ROLL_OVER = 0.65
CAMPAIGN_RATE_SHARE = 0.5  # deposits opened during a push that carry its rate
LOANS = (  # product, probability per archetype, term in months, principal in monthly incomes
    ("LOAN_PERSONAL", kinds.PERSONAL_LOAN_PROBABILITY, 36, (3, 12)),
    ("LOAN_MORTGAGE", kinds.MORTGAGE_PROBABILITY, 240, (60, 150)),
    ("LOAN_BUSINESS", kinds.BUSINESS_LOAN_PROBABILITY, 36, (2, 8)),
)
LOAN_RATE, MORTGAGE_RATE = 0.0435, 0.039
LATE_PAYER_SHARE = 0.04
RICH_LATE_PAYER_SHARE = 0.15  # of holders with 2 M CNY or more
NO_DAY = -(10**6)


@dataclass(frozen=True)
class Placements:
    """Money put into one kind of account on a day (before the accounts exist)."""

    customer: np.ndarray
    product: np.ndarray
    open_day: np.ndarray
    principal: np.ndarray  # cents
    campaign: np.ndarray | None = None  # None: decided when the deposits are opened


@dataclass(frozen=True)
class LoanPlan:
    customer: np.ndarray
    product: int
    term: int
    open_day: np.ndarray
    elapsed: np.ndarray  # instalments already due before the period
    principal: np.ndarray


@dataclass(frozen=True)
class Holdings:
    """What each customer holds or will open, before accounts are numbered."""

    current_share: np.ndarray  # CNY in the current account
    opening_deposit: np.ndarray  # cents: opening balance or first deposit of the current account
    investments: list[Placements]
    time_deposits: list[tuple[str, Placements]]  # (source, placements)
    loans: list[LoanPlan]
    cards: Placements  # principal = credit limit
    delinquent_from: np.ndarray  # instalments due from this day are never paid


def plan_holdings(
    shared: SharedData, customers: Customers, churn: ChurnPlan, behaviours: Behaviours
) -> Holdings:
    calendar, days = shared.calendar, shared.days
    archetype, corporate = customers.archetype, customers.is_corporate
    onboard = customers.planned_onboard_day
    before = onboard < 0
    draw = shared.random.events("holdings", customers.index, 0)
    held = draw.uniform_matrix("held", 5) < kinds.HOLDING_PROBABILITY[archetype]
    # campaign churners hold their deposit in the maturing campaign deposit instead
    held[churn.reason == CAMPAIGN_MATURITY, TIME_DEPOSIT] = False
    weights = np.where(held, kinds.HOLDING_WEIGHT[archetype], 0)
    amount = customers.wealth[:, None] * weights / weights.sum(axis=1, keepdims=True)
    current_share = np.where(np.isnan(churn.current_share), amount[:, 0], churn.current_share)
    opening_deposit = np.where(
        np.isnan(churn.current_share),
        cents(amount[:, 0]),
        cents(np.maximum(current_share, 1000)),
    )
    investments, deposits = [], []
    for slot in (TIME_DEPOSIT, WEALTH, FUND, INSURANCE):
        who = np.flatnonzero(held[:, slot] & (amount[:, slot] > 0))
        pick = draw.subset(who)
        if slot == TIME_DEPOSIT:
            codes, p = HELD_DEPOSIT_TERMS
            chosen = pick.choice("deposit_product", np.array(codes), list(p))
            chosen = np.where(corporate[who], "TD_CORP_12M", chosen)
        else:
            retail, corporate_code = RETAIL_INVESTMENTS[slot]
            chosen = pick.choice(f"product.{slot}", np.array(retail))
            if corporate_code:
                chosen = np.where(corporate[who], corporate_code, chosen)
        product = np.array([ref.PRODUCT_INDEX[c] for c in chosen], dtype=np.int64)
        opened = np.where(
            before[who],
            onboard[who] + pick.integers(f"held_for.{slot}", 0, 400),
            onboard[who] + pick.integers(f"bought_after.{slot}", 1, 45),
        )
        opened = np.where(before[who], np.minimum(opened, -1), opened)
        if slot == TIME_DEPOSIT:  # a deposit held at the start matures within one term of it
            term = np.array([ref.TD_TERMS[c] for c in chosen], dtype=np.int64)
            held_since = add_months(
                pick.integers("held_since", 1, 1 + term * 29), -term, calendar.start
            )
            opened = np.where(before[who], held_since, opened)
        keep = opened < days - 1
        placements = Placements(
            who[keep], product[keep], opened[keep], cents(amount[who[keep], slot])
        )
        if slot == TIME_DEPOSIT:
            deposits.append(("held", placements))
        else:
            investments.append(placements)
    campaign = churn.campaign_deposit
    deposits.append(
        (
            "campaign_churn",
            Placements(
                campaign.customer,
                campaign.product,
                campaign.open_day,
                campaign.principal,
                campaign.campaign,
            ),
        )
    )
    deposits += _deposit_push_placements(shared, customers, churn, behaviours, current_share)
    upgrades = np.flatnonzero(behaviours.upgrade_day >= 0)
    day = np.minimum(
        behaviours.upgrade_day[upgrades] + draw.subset(upgrades).integers("upgrade_parked", 5, 20),
        days - 1,
    )
    product = np.where(
        corporate[upgrades], ref.PRODUCT_INDEX["TD_CORP_12M"], ref.PRODUCT_INDEX["TD_12M"]
    )
    deposits.append(
        (
            "upgrade",
            Placements(upgrades, product, day, cents(behaviours.upgrade_amount[upgrades] * 0.6)),
        )
    )
    loans, cards, delinquent_from = _liabilities(shared, customers, churn, behaviours)
    return Holdings(
        current_share, opening_deposit, investments, deposits, loans, cards, delinquent_from
    )


def _deposit_push_placements(
    shared: SharedData,
    customers: Customers,
    churn: ChurnPlan,
    behaviours: Behaviours,
    current_share: np.ndarray,
) -> list[tuple[str, Placements]]:
    """Deposit-push placements during the period."""
    days, campaigns = shared.days, shared.campaigns
    out = []
    windows = zip(
        np.maximum(campaigns.deposit_push_start, 0),
        np.minimum(campaigns.deposit_push_end, days - 1),
        campaigns.deposit_push,
        strict=True,
    )
    for start, end, campaign in windows:
        if start > end:
            continue
        source = f"push.{campaigns.rows[campaign][0]}"
        draw = shared.random.events(source, customers.index, 0)
        takes = (
            (draw.uniform("takes") < DEPOSIT_PUSH_TAKE_UP)
            & ~churn.is_churner
            & ~behaviours.is_dormant
        )
        day = draw.integers("day", start, end + 1)
        who = np.flatnonzero(takes & (day > customers.planned_onboard_day))
        pick = draw.subset(who)
        product = np.where(
            customers.is_corporate[who],
            ref.PRODUCT_INDEX["TD_CORP_12M"],
            pick.choice("product", np.array([ref.PRODUCT_INDEX[c] for c in PUSH_DEPOSIT_PRODUCTS])),
        )
        principal = cents(
            np.maximum(current_share[who], 10_000) * pick.uniform("principal", 0.3, 0.6)
        )
        out.append(
            (source, Placements(who, product, day[who], principal, np.full(len(who), campaign)))
        )
    return out


def _liabilities(
    shared: SharedData, customers: Customers, churn: ChurnPlan, behaviours: Behaviours
) -> tuple[list[LoanPlan], Placements, np.ndarray]:
    calendar, days, n = shared.calendar, shared.days, len(customers)
    archetype, onboard = customers.archetype, customers.planned_onboard_day
    free = ~churn.is_churner & ~behaviours.is_dormant
    loans = []
    for code, probability, term, (low, high) in LOANS:
        draw = shared.random.events(f"loan.{code}", customers.index, 0)
        who = np.flatnonzero(free & (draw.uniform("takes") < probability[archetype]))
        pick = draw.subset(who)
        before = onboard[who] < 0
        elapsed = np.where(before, pick.integers("elapsed", 1, term), 1)
        open_day = np.where(
            before,
            add_months(pick.integers("day_of_month", 0, 28), -elapsed, calendar.start),
            onboard[who] + pick.integers("after_onboarding", 10, 60),
        )
        keep = open_day < days - 1
        principal = cents(customers.income[who] * pick.uniform("principal", low, high))
        loans.append(
            LoanPlan(
                who[keep],
                ref.PRODUCT_INDEX[code],
                term,
                open_day[keep],
                elapsed[keep],
                principal[keep],
            )
        )
    draw = shared.random.events("card", customers.index, 0)
    who = np.flatnonzero(free & (draw.uniform("takes") < kinds.CARD_PROBABILITY[archetype]))
    pick = draw.subset(who)
    platinum = pick.uniform("platinum") < kinds.PLATINUM_PROBABILITY[archetype[who]]
    product = np.where(
        platinum, ref.PRODUCT_INDEX["CARD_PLATINUM"], ref.PRODUCT_INDEX["CARD_STANDARD"]
    )
    before = onboard[who] < 0
    open_day = np.where(
        before,
        np.minimum(onboard[who] + pick.integers("held_for", 0, 300), -1),
        onboard[who] + pick.integers("after_onboarding", 0, 30),
    )
    keep = open_day < days - 1
    limit = np.where(
        platinum, pick.uniform("limit_platinum", 1e5, 3e5), pick.uniform("limit", 1e4, 5e4)
    )
    cards = Placements(who[keep], product[keep], open_day[keep], cents(limit[keep]))
    holder = np.zeros(n, bool)
    for loan in loans:
        holder[loan.customer] = True
    holder[cards.customer] = True
    draw = shared.random.events("delinquency", customers.index, 0)
    late = holder & (draw.uniform("late") < LATE_PAYER_SHARE)
    late |= holder & (customers.wealth >= 2e6) & (draw.uniform("rich_late") < RICH_LATE_PAYER_SHARE)
    delinquent_from = np.full(n, days)
    if calendar.n_months >= 2:
        month = draw.integers("from_month", 0, calendar.n_months - 1)
        delinquent_from = np.where(late, calendar.month_starts[month], days)
    return loans, cards, delinquent_from


@dataclass(frozen=True)
class InvestmentGroup:
    account: np.ndarray
    customer: np.ndarray
    open_day: np.ndarray
    close_day: np.ndarray
    principal: np.ndarray


@dataclass(frozen=True)
class TimeDepositGroup:
    source: str  # why they were opened and the roll-over generation: "held.0", "upgrade.1"
    account: np.ndarray
    customer: np.ndarray
    open_day: np.ndarray
    close_day: np.ndarray
    principal: np.ndarray
    maturity: np.ndarray
    rate: np.ndarray
    term: np.ndarray


@dataclass(frozen=True)
class LoanGroup:
    account: np.ndarray
    customer: np.ndarray
    term: int
    open_day: np.ndarray
    elapsed: np.ndarray
    principal: np.ndarray
    instalment: np.ndarray
    last_instalment: np.ndarray


@dataclass(frozen=True)
class Accounts:
    """Every account of the block; ``customer`` is the owner's block position."""

    customer: np.ndarray
    product: np.ndarray
    open_day: np.ndarray
    close_day: np.ndarray  # days: still open at the end of the period
    opening: np.ndarray  # cents at the start of the period (accounts opened before it)
    term: np.ndarray  # months, -1 none
    maturity: np.ndarray
    rate: np.ndarray  # NaN none
    campaign: np.ndarray  # -1 none
    principal: np.ndarray  # cents, -1 none
    limit: np.ndarray  # cents, -1 none
    current: np.ndarray  # per customer: the current account
    onboard_day: np.ndarray  # per customer: the day of the first account
    card: np.ndarray  # per customer: the card account, -1 none
    card_open: np.ndarray  # per customer: the card's opening day, days if none
    investments: list[InvestmentGroup] = field(default_factory=list)
    time_deposits: list[TimeDepositGroup] = field(default_factory=list)
    loans: list[LoanGroup] = field(default_factory=list)
    cards: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.customer)

    @property
    def category(self) -> np.ndarray:
        return ref.PRODUCT_CATEGORY[self.product]

    @property
    def is_liability(self) -> np.ndarray:
        return np.isin(self.category, ["loan", "credit_card"])

    @property
    def is_current(self) -> np.ndarray:
        return self.category == "current_account"

    @property
    def opening_at_start(self) -> np.ndarray:
        """Balance at the start of the period (zero for accounts opened during it)."""
        return np.where(self.open_day < 0, self.opening, 0)


class _Register:
    """Collects account columns in creation order (used only while opening accounts)."""

    def __init__(self, days: int) -> None:
        self.days = days
        self.parts: dict[str, list[np.ndarray]] = {}
        self.count = 0

    def add(
        self, customer: np.ndarray, product: np.ndarray, open_day: np.ndarray, **extra: np.ndarray
    ) -> np.ndarray:
        k = len(customer)
        columns = {
            "customer": customer,
            "product": product,
            "open_day": open_day,
            "close_day": np.full(k, self.days),
            "opening": np.zeros(k, np.int64),
            "term": np.full(k, -1),
            "maturity": np.full(k, NO_DAY),
            "rate": np.full(k, np.nan),
            "campaign": np.full(k, -1),
            "principal": np.full(k, -1, np.int64),
            "limit": np.full(k, -1, np.int64),
        }
        columns.update(extra)
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(np.broadcast_to(values, (k,)).copy())
        first, self.count = self.count, self.count + k
        return np.arange(first, first + k)

    def columns(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.parts.items()}


def open_accounts(
    shared: SharedData,
    customers: Customers,
    churn: ChurnPlan,
    holdings: Holdings,
    active_end: np.ndarray,
) -> Accounts:
    """Number every account, close investments and roll time deposits over."""
    days, start = shared.days, shared.calendar.start
    register = _Register(days)
    n = len(customers)
    current_product = np.where(
        customers.is_corporate, ref.PRODUCT_INDEX["CUR_CORP"], ref.PRODUCT_INDEX["CUR_RETAIL"]
    )
    current = register.add(np.arange(n), current_product, customers.planned_onboard_day)
    until = churn.investments_until
    investments = []
    for slot, placed in enumerate(holdings.investments):
        who, product, opened = placed.customer, placed.product, placed.open_day
        draw = shared.random.events(f"investment.{slot}", customers.index[who], 0)
        natural = np.where(
            (draw.uniform("redeemed") < 0.15) & (ref.PRODUCT_CATEGORY[product] != "insurance"),
            draw.integers("redeemed_on", 1, days),
            days,
        )
        natural = np.where((natural <= opened) | (natural >= active_end[who]), days, natural)
        close = np.minimum(natural, until[who])
        close = np.where(close <= opened, days, close)
        accounts = register.add(
            who,
            product,
            opened,
            close_day=close,
            opening=np.where(opened < 0, placed.principal, 0),
            principal=placed.principal,
        )
        investments.append(InvestmentGroup(accounts, who, opened, close, placed.principal))
    deposits = []
    queue = [(source, 0, placed) for source, placed in holdings.time_deposits]
    while queue:
        source, generation, placed = queue.pop(0)
        who, product, opened, principal = (
            placed.customer,
            placed.product,
            placed.open_day,
            placed.principal,
        )
        if not len(who):
            continue
        label = f"{source}.{generation}"
        draw = shared.random.events(f"deposit.{label}", customers.index[who], 0)
        term = np.array([ref.TD_TERMS[ref.PRODUCT_CODES[p]] for p in product], dtype=np.int64)
        campaign = placed.campaign
        if campaign is None:
            # churners planted for another reason hold no campaign deposits, so the
            # campaign-maturity rule (checked before theirs) cannot claim them
            other_reason = np.isin(
                churn.reason[who], [RATE_COMPETITION, DISSATISFACTION, DISENGAGEMENT]
            )
            campaign = np.where(
                (draw.uniform("campaign_rate") < CAMPAIGN_RATE_SHARE) & ~other_reason,
                shared.campaigns.deposit_push_on(opened),
                -1,
            )
        rate = np.array([ref.TD_RATES[ref.PRODUCT_CODES[p]] for p in product])
        rate = np.round(rate + np.where(campaign >= 0, ref.CAMPAIGN_TD_BONUS, 0), 4)
        maturity = add_months(opened, term, start)
        close = np.minimum(maturity, until[who])
        close = np.where(close < days, close, days)
        accounts = register.add(
            who,
            product,
            opened,
            close_day=close,
            opening=np.where(opened < 0, principal, 0),
            term=term,
            maturity=maturity,
            rate=rate,
            campaign=campaign,
            principal=principal,
        )
        deposits.append(
            TimeDepositGroup(label, accounts, who, opened, close, principal, maturity, rate, term)
        )
        roll = (
            (maturity < days)
            & (maturity < until[who])
            & (maturity < active_end[who])
            & (draw.uniform("roll_over") < ROLL_OVER)
        )
        if roll.any():
            queue.append(
                (
                    source,
                    generation + 1,
                    Placements(who[roll], product[roll], maturity[roll], principal[roll]),
                )
            )
    loans = []
    for plan in holdings.loans:
        who, term, open_day, elapsed = plan.customer, plan.term, plan.open_day, plan.elapsed
        instalment = plan.principal // term
        last = plan.principal - instalment * (term - 1)
        owed = np.where(open_day < 0, instalment * (term - elapsed) + last, 0)
        accounts = register.add(
            who,
            np.full(len(who), plan.product),
            open_day,
            opening=owed,
            term=np.full(len(who), term),
            principal=plan.principal,
            rate=np.full(
                len(who),
                MORTGAGE_RATE if plan.product == ref.PRODUCT_INDEX["LOAN_MORTGAGE"] else LOAN_RATE,
            ),
            maturity=add_months(open_day, term, start),
        )
        loans.append(
            LoanGroup(accounts, who, term, open_day, elapsed, plan.principal, instalment, last)
        )
    cards = holdings.cards
    card_accounts = register.add(
        cards.customer, cards.product, cards.open_day, limit=cards.principal
    )
    card = np.full(n, -1)
    card[cards.customer] = card_accounts
    card_open = np.full(n, days)
    card_open[cards.customer] = cards.open_day
    columns = register.columns()
    # a customer's tenure starts with their first account
    first_open = np.zeros(n, np.int64)
    np.minimum.at(first_open, columns["customer"], columns["open_day"])
    planned = customers.planned_onboard_day
    onboard = np.where(planned < 0, np.minimum(planned, first_open), planned)
    columns["open_day"][current] = onboard
    columns["opening"][current] = np.where(onboard < 0, holdings.opening_deposit, 0)
    return Accounts(
        **columns,
        current=current,
        onboard_day=onboard,
        card=card,
        card_open=card_open,
        investments=investments,
        time_deposits=deposits,
        loans=loans,
        cards=card_accounts,
    )
