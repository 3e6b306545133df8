"""One block of customers simulated from start to end, one step after another.

Each step is a function of the earlier steps' results and returns its own
(frozen) result; nothing outside the block is read or written, and every random
number is keyed by the customer, so a customer's history is the same in any block.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from include.bank_generator import postings as money
from include.bank_generator.accounts import Accounts, Holdings, open_accounts, plan_holdings
from include.bank_generator.churn import ChurnPlan, close_accounts, outflows, plan_churn
from include.bank_generator.crm import CrmEvents, crm_events
from include.bank_generator.customers import (
    Behaviours,
    Customers,
    plan_customers,
    plant_behaviours,
)
from include.bank_generator.ledger import Postings
from include.bank_generator.postings import Instalments
from include.bank_generator.shared import SharedData


@dataclass(frozen=True)
class SimulatedBlock:
    customers: Customers
    behaviours: Behaviours
    churn: ChurnPlan
    accounts: Accounts  # final: openings raised to cover deficits, closures applied
    postings: Postings  # sorted by account and time
    instalments: Instalments
    crm: CrmEvents


def _ledger(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    opening_deposit: np.ndarray,
    parts: list[Postings],
) -> Postings:
    first = money.opening_deposits(shared, customers, accounts, opening_deposit)
    return Postings.concat([first, *parts]).by_account_and_time()


def _cover_deficits(
    shared: SharedData,
    customers: Customers,
    accounts: Accounts,
    opening_deposit: np.ndarray,
    ledger: Postings,
    round_number: int,
) -> tuple[Accounts, np.ndarray]:
    """Accounts and opening deposits with the money that keeps every current account
    at or above zero."""
    raise_by = money.deficit_cover(shared, customers, accounts, ledger, round_number)
    opening = accounts.opening + np.where(accounts.open_day < 0, raise_by, 0)
    joined = accounts.onboard_day >= 0
    deposit = opening_deposit + np.where(joined, raise_by[accounts.current], 0)
    return replace(accounts, opening=opening), deposit


def simulate_block(shared: SharedData, first: int, size: int) -> SimulatedBlock:
    """Customers ``first`` .. ``first + size - 1``: plans, accounts, postings, CRM."""
    customers = plan_customers(shared, first, size)
    churn = plan_churn(shared, customers)
    behaviours = plant_behaviours(shared, customers, churn.is_churner)
    active_end = np.minimum(behaviours.dormant_from, churn.close_day)
    holdings: Holdings = plan_holdings(shared, customers, churn, behaviours)
    accounts = open_accounts(shared, customers, churn, holdings, active_end)
    loans = money.loan_instalments(shared, customers, accounts, holdings.delinquent_from)
    close_day = accounts.close_day.copy()
    close_day[list(loans.closed_on)] = list(loans.closed_on.values())
    accounts = replace(accounts, close_day=close_day)
    parts = [
        money.product_events(shared, customers, accounts),
        loans.postings,
        money.everyday(shared, customers, accounts, churn, active_end),
        money.payroll(shared, customers, accounts, churn, active_end),
        money.business_income(shared, customers, accounts, churn, active_end),
        money.fees_and_interest(shared, customers, accounts, churn, holdings.current_share),
    ]
    so_far = Postings.concat(parts).by_account_and_time()
    cards = money.card_statements(shared, customers, accounts, so_far, holdings.delinquent_from)
    parts += [cards.postings, money.upgrade_inflows(shared, customers, accounts, behaviours)]
    deposit = holdings.opening_deposit
    ledger = _ledger(shared, customers, accounts, deposit, parts)
    accounts, deposit = _cover_deficits(shared, customers, accounts, deposit, ledger, 1)
    ledger = _ledger(shared, customers, accounts, deposit, parts)
    parts.append(outflows(shared, customers, accounts, churn, ledger))
    ledger = _ledger(shared, customers, accounts, deposit, parts)
    accounts, deposit = _cover_deficits(shared, customers, accounts, deposit, ledger, 2)
    ledger = _ledger(shared, customers, accounts, deposit, parts)
    closures = close_accounts(shared, customers, accounts, churn, ledger)
    accounts = replace(accounts, close_day=closures.close_day)
    ledger = _ledger(shared, customers, accounts, deposit, [*parts, closures.postings])
    return SimulatedBlock(
        customers=customers,
        behaviours=behaviours,
        churn=churn,
        accounts=accounts,
        postings=ledger,
        instalments=Instalments.concat([loans.instalments, cards.instalments]),
        crm=crm_events(shared, customers, accounts, churn),
    )
