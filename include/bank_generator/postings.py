"""Postings of one block: the money each account moves, step by step.

Each function returns the :class:`~include.bank_generator.ledger.Postings` it makes;
``simulate.simulate_block`` runs them in order. Customers are block positions;
random numbers are keyed by the customer (``randomness``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from include.bank_generator import archetypes as kinds
from include.bank_generator import reference as ref
from include.bank_generator.accounts import Accounts
from include.bank_generator.archetypes import Archetype
from include.bank_generator.channels import HOUR, OTHER_BANKS, channel, seconds
from include.bank_generator.churn import DISENGAGEMENT, RATE_COMPETITION, ChurnPlan
from include.bank_generator.config import add_months
from include.bank_generator.customers import Behaviours, Customers
from include.bank_generator.ledger import (
    CENTS,
    NO_NAME,
    Postings,
    cents,
    own_account,
    running_balances,
)
from include.bank_generator.randomness import Draws
from include.bank_generator.shared import PEOPLE_NAMES, SharedData

LATE_PAYMENT_SHARE = 0.06
REVERSAL_SHARE = 0.0015
FEE_PAYER_SHARE = 0.12
CURRENT_ACCOUNT_RATE = 0.0025
ADJUSTMENTS_PER_MONTH = 0.002
QUARTER_END_MONTHS = ("03", "06", "09", "12")


def _events(shared: SharedData, customers: Customers, stream: str, who: np.ndarray, ordinal=None):
    return shared.random.events(stream, customers.index[who], ordinal)


def opening_deposits(
    shared: SharedData, customers: Customers, accounts: Accounts, amount: np.ndarray
) -> Postings:
    """The first deposit of customers who join during the period (``amount`` per customer)."""
    new = np.flatnonzero(accounts.onboard_day >= 0)
    draw = _events(shared, customers, "opening_deposit", new, 0)
    channels = channel(draw, customers, new, digital_ok=False)
    return Postings.of(
        account=accounts.current[new],
        day=accounts.onboard_day[new],
        second=seconds(draw, channels),
        type=ref.TX["deposit"],
        is_credit=True,
        amount=amount[new],
        channel=channels,
    )


def internal_transfers(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    account: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    tx_type: int,
    into_account: bool,
    stream: str,
) -> Postings:
    """Both legs between a customer's current account and another own ``account``.
    ``into_account``: money moves current -> account (placement, purchase), else back."""
    who = accounts.customer[account]
    current = accounts.current[who]
    draw = _events(shared, customers, stream, who)
    channels = channel(draw, customers, who)
    common = {
        "day": day,
        "second": seconds(draw, channels),
        "type": tx_type,
        "amount": amount,
        "channel": channels,
        "counterparty_type": ref.CP["same_bank"],
        "bank": 0,
    }
    return Postings.concat(
        [
            Postings.of(
                account=account,
                is_credit=into_account,
                counterparty_name=own_account(current),
                **common,
            ),
            Postings.of(
                account=current,
                is_credit=not into_account,
                counterparty_name=own_account(account),
                **common,
            ),
        ]
    )


def _system_transfer(
    draw: Draws, account: np.ndarray, current: np.ndarray, day, amount, tx_type: int, to_current
) -> Postings:
    """A system posting from ``account`` to the current account (or back)."""
    common = {
        "day": day,
        "second": draw.integers("second", 0, 3 * HOUR),
        "type": tx_type,
        "amount": amount,
        "channel": ref.CH["system"],
        "counterparty_type": ref.CP["same_bank"],
        "bank": 0,
    }
    return Postings.concat(
        [
            Postings.of(
                account=account,
                is_credit=not to_current,
                counterparty_name=own_account(current),
                **common,
            ),
            Postings.of(
                account=current,
                is_credit=to_current,
                counterparty_name=own_account(account),
                **common,
            ),
        ]
    )


def product_events(shared: SharedData, customers: Customers, accounts: Accounts) -> Postings:
    """Purchases and redemptions of investments; placements, maturities and interest of
    time deposits; loan disbursements."""
    days = shared.days
    parts = []
    for slot, group in enumerate(accounts.investments):
        bought = group.open_day >= 0
        parts.append(
            internal_transfers(
                shared,
                customers,
                accounts,
                group.account[bought],
                group.open_day[bought],
                group.principal[bought],
                ref.TX["wealth_purchase"],
                True,
                f"investment_purchase.{slot}",
            )
        )
        sold = group.close_day < days
        parts.append(
            internal_transfers(
                shared,
                customers,
                accounts,
                group.account[sold],
                group.close_day[sold],
                group.principal[sold],
                ref.TX["wealth_redemption"],
                False,
                f"investment_redemption.{slot}",
            )
        )
    for group in accounts.time_deposits:
        placed = group.open_day >= 0
        parts.append(
            internal_transfers(
                shared,
                customers,
                accounts,
                group.account[placed],
                group.open_day[placed],
                group.principal[placed],
                ref.TX["time_deposit_placement"],
                True,
                f"deposit_placement.{group.source}",
            )
        )
        out = group.close_day < days
        who = group.customer[out]
        current = accounts.current[who]
        draw = _events(shared, customers, f"deposit_maturity.{group.source}", who)
        parts.append(
            _system_transfer(
                draw,
                group.account[out],
                current,
                group.close_day[out],
                group.principal[out],
                ref.TX["time_deposit_maturity"],
                to_current=True,
            )
        )
        matured = out & (group.close_day == group.maturity)
        interest = np.round(
            group.principal[matured] * group.rate[matured] * group.term[matured] / 12
        ).astype(np.int64)
        parts.append(
            Postings.of(
                account=accounts.current[group.customer[matured]],
                day=group.close_day[matured],
                second=3 * HOUR + 1,
                type=ref.TX["interest_credit"],
                is_credit=True,
                amount=np.maximum(interest, 1),
                channel=ref.CH["system"],
            )
        )
    for number, group in enumerate(accounts.loans):
        new = group.open_day >= 0
        who = group.customer[new]
        draw = _events(shared, customers, f"loan_disbursement.{number}", who)
        parts.append(
            _system_transfer(
                draw,
                group.account[new],
                accounts.current[who],
                group.open_day[new],
                group.principal[new],
                ref.TX["loan_disbursement"],
                to_current=True,
            )
        )
    return Postings.concat(parts)


@dataclass(frozen=True)
class Instalments:
    """Loan and card instalments: when due, when paid (-1 never), how much."""

    account: np.ndarray
    due_day: np.ndarray
    paid_day: np.ndarray
    amount_due: np.ndarray
    amount_paid: np.ndarray

    @classmethod
    def concat(cls, parts: list[Instalments]) -> Instalments:
        return cls(
            *(
                np.concatenate([getattr(p, name) for p in parts]).astype(np.int64)
                for name in ("account", "due_day", "paid_day", "amount_due", "amount_paid")
            )
        )


@dataclass(frozen=True)
class Repayments:
    postings: Postings
    instalments: Instalments
    closed_on: dict[int, int]  # loan account -> day its final instalment was paid


def pay_instalments(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    holdings_delinquent_from: np.ndarray,
    account: np.ndarray,
    due: np.ndarray,
    amount: np.ndarray,
    final: np.ndarray,
    is_card: bool,
) -> Repayments:
    """Pay each instalment on time, late, or never (delinquent customers)."""
    days = shared.days
    who = accounts.customer[account]
    draw = _events(shared, customers, "card_instalment" if is_card else "loan_instalment", who)
    unpaid = due >= holdings_delinquent_from[who]
    late = ~unpaid & (draw.uniform("late") < LATE_PAYMENT_SHARE)
    paid_day = np.where(unpaid, -1, due + np.where(late, draw.integers("days_late", 1, 25), 0))
    unpaid |= paid_day >= days
    paid_day = np.where(unpaid, -1, paid_day)
    pay = paid_day >= 0
    on_time = pay & ~late
    if is_card:
        tx_type = np.full(len(due), ref.TX["card_repayment"])
    else:
        tx_type = np.where(on_time, ref.TX["loan_repayment_auto"], ref.TX["loan_repayment_manual"])
    channels = np.where(on_time & (not is_card), ref.CH["system"], channel(draw, customers, who))
    current = accounts.current[who]
    common = {
        "day": paid_day[pay],
        "second": seconds(draw, channels)[pay],
        "type": tx_type[pay],
        "amount": amount[pay],
        "channel": channels[pay],
        "counterparty_type": ref.CP["same_bank"],
        "bank": 0,
    }
    postings = Postings.concat(
        [
            Postings.of(
                account=account[pay],
                is_credit=True,
                counterparty_name=own_account(current[pay]),
                **common,
            ),
            Postings.of(
                account=current[pay],
                is_credit=False,
                counterparty_name=own_account(account[pay]),
                **common,
            ),
        ]
    )
    closes = pay & final
    return Repayments(
        postings,
        Instalments(account, due, paid_day, amount, np.where(pay, amount, 0)),
        dict(zip(account[closes].tolist(), paid_day[closes].tolist(), strict=True)),
    )


def loan_instalments(
    shared: SharedData, customers: Customers, accounts: Accounts, delinquent_from: np.ndarray
) -> Repayments:
    calendar, days = shared.calendar, shared.days
    rows = []
    for group in accounts.loans:
        number = group.elapsed[:, None] + np.arange(calendar.n_months + 2)[None, :]
        due = add_months(group.open_day[:, None], number, calendar.start)
        valid = (due >= 0) & (due < days) & (number <= group.term) & (due > group.open_day[:, None])
        i, j = np.nonzero(valid)
        final = number[i, j] == group.term
        amount = np.where(final, group.last_instalment[i], group.instalment[i])
        rows.append((group.account[i], due[i, j], amount, final))
    if not rows:
        rows = [(np.zeros(0, np.int64),) * 3 + (np.zeros(0, bool),)]
    account, due, amount, final = (np.concatenate(x) for x in zip(*rows, strict=True))
    return pay_instalments(
        shared, customers, accounts, delinquent_from, account, due, amount, final, False
    )


def activity_multiplier(shared: SharedData, churn: ChurnPlan) -> np.ndarray:
    """(customers, months): everyday activity drops after the churn month; disengaging
    customers fade over the two months before it."""
    months = np.arange(shared.calendar.n_months)[None, :]
    churn_month = churn.churn_month[:, None]
    multiplier = np.where(churn.is_churner[:, None] & (months >= churn_month), 0.3, 1.0)
    fades = (churn.reason == DISENGAGEMENT)[:, None]
    multiplier = np.where(fades & (months == churn_month - 2), 0.5, multiplier)
    multiplier = np.where(fades & (months == churn_month - 1), 0.3, multiplier)
    return np.where(fades & (months >= churn_month), 0.15, multiplier)


def everyday(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    churn: ChurnPlan,
    active_end: np.ndarray,
) -> Postings:
    """Spending, cash, transfers and deposits; a few reversals of debits."""
    calendar, days, n = shared.calendar, shared.days, len(customers)
    starts, months = calendar.month_starts, calendar.n_months
    first = np.maximum(starts[:-1][None, :], accounts.onboard_day[:, None] + 1)
    last = np.minimum(starts[1:][None, :], active_end[:, None])
    span = np.clip(last - first, 0, None)
    length = (starts[1:] - starts[:-1])[None, :]
    monthly = shared.random.events(
        "everyday_count", np.repeat(customers.index, months), np.tile(np.arange(months), n)
    )
    mean = customers.transactions_per_month[:, None] * activity_multiplier(shared, churn)
    count = monthly.poisson("count", (mean * span / length).ravel()).reshape(n, months)
    customer_of, month_of = np.nonzero(count)
    repeats = count[customer_of, month_of]
    who = np.repeat(customer_of, repeats)
    draw = _events(shared, customers, "everyday", who)
    day = np.repeat(first[customer_of, month_of], repeats) + (
        draw.uniform("day") * np.repeat(span[customer_of, month_of], repeats)
    ).astype(np.int64)
    archetype = customers.archetype[who]
    kind = draw.category("kind", kinds.EVERYDAY_PROBABILITY[archetype])
    # amounts: outflows spend a share of income, inflows bring income for non-payroll customers
    loan_due = np.zeros(n)
    for group in accounts.loans:
        np.add.at(loan_due, group.customer, group.instalment / CENTS)
    profile = shared.random.events("budget", customers.index, 0)
    spend_share = profile.uniform(
        "spend_share",
        kinds.SPEND_SHARE[customers.archetype, 0],
        kinds.SPEND_SHARE[customers.archetype, 1],
    )
    probability = kinds.EVERYDAY_PROBABILITY[customers.archetype]
    inflow = kinds.EVERYDAY_IS_INFLOW
    outflow_weight = (probability[:, ~inflow] * kinds.EVERYDAY_SIZE[~inflow]).sum(axis=1)
    inflow_weight = probability[:, inflow].sum(axis=1)
    rate = customers.transactions_per_month
    budget = np.maximum(0.2 * customers.income, customers.income * spend_share - loan_due)
    outflow_unit = budget / np.maximum(rate * outflow_weight, 0.1)
    inflow_unit = customers.income * 0.08 / np.maximum(rate * inflow_weight, 0.1)
    noise = np.exp(draw.normal("size", -0.245, 0.7))
    amount = (
        np.where(inflow[kind], inflow_unit[who], outflow_unit[who] * kinds.EVERYDAY_SIZE[kind])
        * noise
    )
    tx_type = kinds.EVERYDAY_TYPES[kind]
    is_card = tx_type == ref.TX["card_spend"]
    on_card = (
        is_card
        & (accounts.card[who] >= 0)
        & (day > accounts.card_open[who])
        & (draw.uniform("on_card") < 0.7)
    )
    account = np.where(on_card, accounts.card[who], accounts.current[who])
    withdrawal = tx_type == ref.TX["withdrawal"]
    physical = np.select(
        [is_card | (tx_type == ref.TX["merchant_payment"]), withdrawal],
        [ref.CH["pos"], ref.CH["atm"]],
        ref.CH["branch"],
    )
    physical = np.where(withdrawal & (draw.uniform("at_branch") < 0.3), ref.CH["branch"], physical)
    digital_ok = ~withdrawal & (tx_type != ref.TX["deposit"])
    digital_ok &= ~is_card | (draw.uniform("card_online") < 0.35)
    channels = channel(draw, customers, who, digital_ok=digital_ok, physical=physical)
    merchant = np.isin(
        tx_type, [ref.TX["card_spend"], ref.TX["merchant_payment"], ref.TX["bill_payment"]]
    )
    transfer = np.isin(tx_type, [ref.TX["transfer_in"], ref.TX["transfer_out"]])
    other_bank = transfer & (draw.uniform("other_bank") < 0.55)
    counterparty_type = np.select(
        [merchant, other_bank, transfer],
        [ref.CP["merchant"], ref.CP["other_bank"], ref.CP["same_bank"]],
        ref.CP["none"],
    )
    category = np.where(
        tx_type == ref.TX["bill_payment"],
        draw.choice("bill_category", [3, 4, 5]),
        draw.choice(
            "merchant_category", np.arange(9), [0.25, 0.2, 0.06, 0.04, 0.04, 0.06, 0.2, 0.05, 0.1]
        ),
    )
    names = shared.names
    counterparty_name = np.select(
        [merchant, transfer],
        [
            draw.integers("merchant", 0, names.companies),
            names.first_person + draw.integers("person", 0, PEOPLE_NAMES),
        ],
        NO_NAME,
    )
    bank = np.select([other_bank, transfer], [draw.integers("bank", 1, OTHER_BANKS), 0], -1)
    spending = Postings.of(
        account=account,
        day=day,
        second=seconds(draw, channels),
        type=tx_type,
        is_credit=inflow[kind],
        amount=cents(amount),
        channel=channels,
        counterparty_type=counterparty_type,
        counterparty_name=counterparty_name,
        bank=bank,
        merchant_category=np.where(merchant, category, -1),
    )
    # a few reversals of debits, posted by the system 1-3 days later
    reversed_day = day + draw.integers("reversal_after", 1, 4)
    reversal = (
        ~inflow[kind]
        & (draw.uniform("reversal") < REVERSAL_SHARE)
        & (reversed_day < np.minimum(active_end[who], days))
    )
    reversals = Postings.of(
        account=account[reversal],
        day=reversed_day[reversal],
        second=draw.integers("reversal_second", 0, 3 * HOUR)[reversal],
        type=ref.TX["reversal"],
        is_credit=True,
        amount=cents(amount[reversal]),
        channel=ref.CH["system"],
    )
    return Postings.concat([spending, reversals])


def payroll(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    churn: ChurnPlan,
    active_end: np.ndarray,
) -> Postings:
    """Salary and pension credits on payday."""
    starts = shared.calendar.month_starts
    who = np.flatnonzero(customers.has_payroll)
    days = np.minimum(
        starts[:-1][None, :] + customers.payday[who][:, None], starts[1:][None, :] - 1
    )
    # rate-competition churners move their payroll away; disengaging ones fade out
    reason = churn.reason[who]
    stop = np.select(
        [reason == RATE_COMPETITION, reason == DISENGAGEMENT],
        [churn.churn_day[who], churn.churn_start[who]],
        active_end[who],
    )
    paid = (days > accounts.onboard_day[who][:, None]) & (days < stop[:, None])
    i, month = np.nonzero(paid)
    payee = who[i]
    draw = _events(shared, customers, "payroll", payee, month)
    pension = customers.archetype[payee] == Archetype.RETIREE_SAVER
    return Postings.of(
        account=accounts.current[payee],
        day=days[i, month],
        second=draw.integers("second", HOUR, 3 * HOUR),
        type=ref.TX["salary_credit"],
        is_credit=True,
        amount=cents(customers.income[payee] * draw.normal("amount", 1, 0.03)),
        channel=ref.CH["system"],
        counterparty_type=np.where(pension, ref.CP["government"], ref.CP["employer"]),
        counterparty_name=np.where(
            pension, shared.names.pension_payer, customers.employer_name[payee]
        ),
        bank=np.where(draw.uniform("own_bank") < 0.5, 0, draw.integers("bank", 1, OTHER_BANKS)),
    )


def business_income(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    churn: ChurnPlan,
    active_end: np.ndarray,
) -> Postings:
    """Customers without payroll get their income as regular incoming transfers
    (clients, rents, dividends): three a month, so balances do not swing wildly."""
    starts = shared.calendar.month_starts
    who = np.flatnonzero(~customers.has_payroll)
    offsets = np.array([0, 10, 20])
    days = (
        starts[:-1][None, :, None]
        + (customers.payday[who] % 10)[:, None, None]
        + offsets[None, None, :]
    )
    days = np.minimum(days, starts[1:][None, :, None] - 1).reshape(len(who), -1)
    stop = np.where(
        churn.is_churner[who],
        np.minimum(churn.churn_day[who], churn.churn_start[who]),
        active_end[who],
    )
    paid = (days > accounts.onboard_day[who][:, None]) & (days < stop[:, None])
    i, slot = np.nonzero(paid)
    payee = who[i]
    draw = _events(shared, customers, "business_income", payee, slot)
    other = draw.uniform("other_bank") < 0.6
    channels = channel(draw, customers, payee)
    names = shared.names
    return Postings.of(
        account=accounts.current[payee],
        day=days[i, slot],
        second=seconds(draw, channels),
        type=ref.TX["transfer_in"],
        is_credit=True,
        amount=cents(customers.income[payee] / 3 * draw.normal("amount", 1, 0.15).clip(0.5)),
        channel=channels,
        counterparty_type=np.where(other, ref.CP["other_bank"], ref.CP["same_bank"]),
        counterparty_name=np.where(
            customers.is_corporate[payee],
            draw.integers("company", 0, names.companies),
            names.first_person + draw.integers("person", 0, PEOPLE_NAMES),
        ),
        bank=np.where(other, draw.integers("bank", 1, OTHER_BANKS), 0),
    )


def fees_and_interest(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    churn: ChurnPlan,
    current_share: np.ndarray,
) -> Postings:
    """Monthly account fees, quarterly current-account interest, card annual fees and
    a few system adjustments."""
    calendar, days = shared.calendar, shared.days
    draw = shared.random.events("fees", customers.index, 0)
    open_from = np.maximum(accounts.onboard_day, 0)
    close_day = churn.close_day
    fee_payer = customers.is_corporate | (draw.uniform("fee_payer") < FEE_PAYER_SHARE)
    fee = np.where(customers.is_corporate, draw.uniform("fee", 50, 300), 10.0)
    parts = []
    for month in range(calendar.n_months):
        day = calendar.month_starts[month] + 27
        who = np.flatnonzero(fee_payer & (open_from < day) & (close_day > day))
        parts.append(
            Postings.of(
                account=accounts.current[who],
                day=min(day, days - 1),
                second=HOUR,
                type=ref.TX["fee_charge"],
                is_credit=False,
                amount=cents(fee[who]),
                channel=ref.CH["system"],
            )
        )
        if calendar.month_label(month)[-2:] in QUARTER_END_MONTHS:
            day = calendar.month_starts[month] + 20
            who = np.flatnonzero((open_from < day) & (close_day > day))
            amount = np.round(np.maximum(current_share[who], 0) * CURRENT_ACCOUNT_RATE / 4, 2)
            who, amount = who[amount >= 0.01], amount[amount >= 0.01]
            parts.append(
                Postings.of(
                    account=accounts.current[who],
                    day=day,
                    second=2 * HOUR,
                    type=ref.TX["interest_credit"],
                    is_credit=True,
                    amount=cents(amount),
                    channel=ref.CH["system"],
                )
            )
    cards = accounts.cards
    opened = accounts.open_day[cards]
    annual = add_months(
        opened, (np.ceil(np.maximum(-opened, 1) / 365.25) * 12).astype(np.int64), calendar.start
    )
    due = (annual >= 0) & (annual < days)
    platinum = accounts.product[cards] == ref.PRODUCT_INDEX["CARD_PLATINUM"]
    parts.append(
        Postings.of(
            account=cards[due],
            day=annual[due],
            second=HOUR,
            type=ref.TX["fee_charge"],
            is_credit=False,
            amount=np.where(platinum[due], 100_000, 10_000),
            channel=ref.CH["system"],
        )
    )
    day = draw.integers("adjustment_day", 0, days)
    adjusted = (
        (draw.uniform("adjustment") < ADJUSTMENTS_PER_MONTH * calendar.n_months)
        & (day > accounts.onboard_day)
        & (day < close_day)
    )
    parts.append(
        Postings.of(
            account=accounts.current[adjusted],
            day=day[adjusted],
            second=HOUR,
            type=ref.TX["system_adjustment"],
            is_credit=True,
            amount=cents(draw.uniform("adjustment_amount", 0.01, 50)[adjusted]),
            channel=ref.CH["system"],
        )
    )
    return Postings.concat(parts)


def card_statements(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    postings: Postings,
    delinquent_from: np.ndarray,
) -> Repayments:
    """What a card owes at each month end is due on the 25th of the next month."""
    calendar, days = shared.calendar, shared.days
    cards = accounts.cards
    months = calendar.n_months
    is_card = np.zeros(len(accounts), bool)
    is_card[cards] = True
    on_card = is_card[postings.account]
    account, day = postings.account[on_card], postings.day[on_card]
    delta = np.where(postings.is_credit[on_card], -1, 1) * postings.amount[on_card]
    slot = np.searchsorted(cards, account)
    spent = np.bincount(
        slot * months + calendar.month_of_day(day), delta, minlength=len(cards) * months
    )
    spent = np.round(spent).astype(np.int64).reshape(len(cards), months)
    i, j = np.nonzero(spent[:, :-1] > 0)
    due = calendar.month_starts[np.arange(1, months)[j]] + 24
    ok = due < days
    return pay_instalments(
        shared,
        customers,
        accounts,
        delinquent_from,
        cards[i[ok]],
        due[ok],
        spent[i[ok], j[ok]],
        np.zeros(ok.sum(), bool),
        True,
    )


def upgrade_inflows(
    shared: SharedData, customers: Customers, accounts: Accounts, behaviours: Behaviours
) -> Postings:
    """Money brought from another bank by customers planted to move up a value tier."""
    who = np.flatnonzero(behaviours.upgrade_day >= 0)
    draw = _events(shared, customers, "upgrade_inflow", who, 0)
    return Postings.of(
        account=accounts.current[who],
        day=behaviours.upgrade_day[who],
        second=seconds(draw, np.full(len(who), -1)),
        type=ref.TX["transfer_in"],
        is_credit=True,
        amount=cents(behaviours.upgrade_amount[who]),
        channel=channel(draw, customers, who),
        counterparty_type=ref.CP["other_bank"],
        counterparty_name=shared.names.first_person + draw.integers("person", 0, PEOPLE_NAMES),
        bank=draw.integers("bank", 1, OTHER_BANKS),
    )


def deficit_cover(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    postings: Postings,
    round_number: int,
) -> np.ndarray:
    """Cents to add to each current account's opening money so it never goes below
    zero (the customer had the money before it was needed); ``postings`` sorted by
    account and time."""
    running = running_balances(postings, accounts.opening_at_start, accounts.is_liability)
    account = postings.account
    raise_by = np.zeros(len(accounts), np.int64)
    if not len(account):
        return raise_by
    starts = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    low = np.minimum.reduceat(running, starts)
    owners = account[starts]
    short = (low < 0) & accounts.is_current[owners]
    who = accounts.customer[owners[short]]
    draw = _events(shared, customers, f"deficit.{round_number}", who, 0)
    raise_by[owners[short]] = -low[short] + draw.integers("margin", 100, 2000) * CENTS
    return raise_by
