"""Landing rows (pyarrow tables) of one simulated block, and the reference snapshots.

A key's number is the customer's number followed by the row's place among that
customer's rows (``A0000012003``: customer 12's fourth account), so keys depend on
nothing outside the customer: not on the block size, not on earlier blocks, and
blocks can be built in parallel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from include.bank_generator import reference as ref
from include.bank_generator.ledger import DAY_LIMIT, SECONDS_PER_DAY, balance_at, running_balances
from include.bank_generator.people import addresses, identities, phones
from include.bank_generator.shared import SharedData
from include.bank_generator.simulate import SimulatedBlock
from include.landing import entities as contract

DIGIT_PAIRS = pa.array([f"{i:02d}" for i in range(100)])
# (prefix, digits) of the parent keys: ids 1..n are "C00000001".., "A0000000001"..
CUSTOMER_ID = ("C", 8)
ACCOUNT_ID = ("A", 10)
TRANSACTION_ID = ("T", 12)
REPAYMENT_ID = ("R", 10)
COMPLAINT_ID = ("CP", 9)
CONTACT_ID = ("CT", 9)
ADDRESS_CHANGE_SHARE = 0.5  # of the customers whose contact details change
DETAILS_CHANGE_SHARE = 0.03
DAY_KEY = 100_000  # day indexes are below this
MOMENTS = DAY_LIMIT * SECONDS_PER_DAY  # seconds in the longest period
ACCOUNTS_PER_CUSTOMER = 1 << 10


@dataclass(frozen=True)
class EntityRows:
    """One entity's landing rows of a block: the columns in contract order, the
    business day each row is delivered on, the customer (bank-wide index) it belongs
    to and a number that orders a customer's rows like their key."""

    entity: contract.Entity
    table: pa.Table
    day: np.ndarray
    customer: np.ndarray
    order: np.ndarray


# digits of a key number that count a customer's rows (the rest is the customer)
ROWS_PER_CUSTOMER_DIGITS = {
    "accounts": 3,
    "transactions": 5,
    "repayments": 3,
    "complaints": 2,
    "campaign_contacts": 2,
}


def key_numbers(entity: str, customer: np.ndarray, rank_in_customer: np.ndarray) -> np.ndarray:
    """Key numbers: (customer number) * 10^digits + the row's place among the customer's."""
    digits = ROWS_PER_CUSTOMER_DIGITS[entity]
    if len(rank_in_customer) and rank_in_customer.max() >= 10**digits:
        raise ValueError(
            f"{entity}: a customer has more than {10**digits - 1} rows, more than its key holds"
        )
    return (np.asarray(customer, np.int64) + 1) * 10**digits + rank_in_customer


def _in_customer(owner: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Place of each row among its customer's rows (``rank``: 0-based, customer-major)."""
    if not len(rank):
        return rank
    first = np.full(int(owner.max()) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, owner, rank)
    return rank - first[owner]


ENTITY = {e.name: e for e in contract.ENTITIES}


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(numbers, pa.int64()).cast(pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


def money(cents: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    """Integer cents -> '123.45' (no float formatting, so always exact)."""
    cents = np.asarray(cents, dtype=np.int64)
    whole = pa.array(np.abs(cents) // 100).cast(pa.string())
    text = pc.binary_join_element_wise(whole, DIGIT_PAIRS.take(pa.array(np.abs(cents) % 100)), ".")
    text = pc.if_else(pa.array(cents < 0), pc.binary_join_element_wise("-", text, ""), text)
    return (
        text
        if mask is None
        else pc.if_else(pa.array(mask), pa.nulls(len(cents), pa.string()), text)
    )


def dates(shared: SharedData, day: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    values = (shared.calendar.start + np.asarray(day)).astype("datetime64[D]")
    return pa.array(values, pa.date32(), mask=mask)


def strings(values: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(np.asarray(values, dtype=str), pa.string(), mask=mask)


def take(
    labels: pa.Array | list[str] | tuple[str, ...], idx: np.ndarray, mask: np.ndarray | None = None
) -> pa.Array:
    """labels[idx] as a string array (null where ``mask``); fast for large ``idx``."""
    labels = labels if isinstance(labels, pa.Array) else pa.array(list(labels), pa.string())
    idx = np.asarray(idx, dtype=np.int64)
    if mask is not None:
        idx = np.where(mask, 0, idx)
    return labels.take(pa.array(idx, mask=mask))


def _rows(name: str, columns: dict[str, pa.Array], day, customer, order) -> EntityRows:
    entity = ENTITY[name]
    table = pa.table(columns).select(list(entity.column_names))
    return EntityRows(
        entity,
        table,
        np.asarray(day, np.int64),
        np.asarray(customer, np.int64),
        np.asarray(order, np.int64),
    )


def _numbering(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """0-based rank of each element ordered by ``group`` (customer), then ``keys``
    (most significant first), then array order."""
    order = np.lexsort((np.arange(len(group)), *reversed(keys), group))
    rank = np.empty(len(group), np.int64)
    rank[order] = np.arange(len(group))
    return rank


@dataclass(frozen=True)
class BlockRows:
    rows: dict[str, EntityRows]
    negative_deposit_balances: int


def block_rows(shared: SharedData, block: SimulatedBlock) -> BlockRows:
    customers, accounts = block.customers, block.accounts
    local = accounts.customer
    account_number = key_numbers(
        "accounts", customers.index[local], _in_customer(local, _numbering(local))
    )
    account_id = ids(ACCOUNT_ID[0], account_number, ACCOUNT_ID[1])
    transactions = _transactions(shared, block, account_id)
    repayments = _repayments(shared, block, account_id, account_number)
    complaints = _complaints(shared, block)
    contacts = _contacts(shared, block)
    balances, negative = _balances(shared, block, account_id, account_number)
    rows = {
        "customers": _customers(shared, block),
        "accounts": _accounts(shared, block, account_id, account_number),
        "balances": balances,
        "transactions": transactions,
        "repayments": repayments,
        "complaints": complaints,
        "campaign_contacts": contacts,
    }
    return BlockRows(rows, negative)


def customer_ids(index: np.ndarray) -> pa.Array:
    return ids(CUSTOMER_ID[0], np.asarray(index) + 1, CUSTOMER_ID[1])


def _customers(shared: SharedData, block: SimulatedBlock) -> EntityRows:
    customers, accounts, days = block.customers, block.accounts, shared.days
    n = len(customers)
    draw = shared.random.events("identity", customers.index, 0)
    branches = shared.branches
    home = draw.integers("home_branch", 0, len(branches))
    city = np.array([br[2] for br in branches])[home]
    corporate = customers.is_corporate
    birth = np.where(corporate, shared.calendar.start, customers.birth_date)
    who = identities(draw, shared.pools, corporate, birth, customers.is_male, city)
    # a few customers change phone or address later: re-delivered as a delta
    joined = np.maximum(accounts.onboard_day, 0)
    changed = np.flatnonzero(
        (draw.uniform("details_change") < DETAILS_CHANGE_SHARE) & (joined < days - 2)
    )
    change = draw.subset(changed)
    change_day = (
        joined[changed]
        + 1
        + (change.uniform("change_day") * (days - 1 - joined[changed] - 1)).astype(np.int64)
    )
    change_day = np.minimum(change_day, block.churn.close_day[changed])
    new_address = np.where(
        change.uniform("address_changes") < ADDRESS_CHANGE_SHARE,
        addresses(change, shared.pools, city[changed], "new_address"),
        who["address"][changed],
    )
    idx = np.r_[np.arange(n), changed]
    day = np.r_[joined, change_day]
    email = who["email"][idx]
    corp = corporate[idx]
    table = {
        "customer_id": customer_ids(customers.index[idx]),
        "customer_type": strings(np.where(corp, "corporate", "retail")),
        "full_name": strings(who["full_name"][idx]),
        "national_id": strings(who["national_id"][idx]),
        "phone": strings(np.r_[who["phone"], phones(change, "new_phone")]),
        "email": strings(email, mask=email == ""),
        "address": strings(np.r_[who["address"], new_address]),
        "city": strings(city[idx]),
        "birth_date": dates(
            shared, (birth - shared.calendar.start).astype(np.int64)[idx], mask=corp
        ),
        "gender": strings(np.where(customers.is_male[idx], "M", "F"), mask=corp),
        "home_branch_id": strings(np.array([br[0] for br in branches])[home[idx]]),
        "onboarded_date": dates(shared, accounts.onboard_day[idx]),
    }
    order = np.r_[np.zeros(n, np.int64), np.ones(len(changed), np.int64)]
    return _rows("customers", table, day, customers.index[idx], order)


def _accounts(
    shared: SharedData, block: SimulatedBlock, account_id: pa.Array, number: np.ndarray
) -> EntityRows:
    a, days = block.accounts, shared.days
    n = len(a)
    closed = np.flatnonzero(a.close_day < days)
    idx = np.r_[np.arange(n), closed]
    is_close = np.r_[np.zeros(n, bool), np.ones(len(closed), bool)]
    day = np.where(is_close, a.close_day[idx], np.maximum(a.open_day[idx], 0))
    # an account opened and closed on the same delivery day is delivered once, closed
    dup = ~is_close & (a.close_day[idx] == day)
    idx, is_close, day = idx[~dup], is_close[~dup], day[~dup]
    term, maturity = a.term[idx], a.maturity[idx]
    campaign, principal, limit = a.campaign[idx], a.principal[idx], a.limit[idx]
    owner = block.customers.index[a.customer[idx]]
    bank_branch = np.array([br[0] for br in shared.branches])
    table = {
        "account_id": take(account_id, idx),
        "customer_id": customer_ids(owner),
        "product_code": take(ref.PRODUCT_CODES, a.product[idx]),
        "branch_id": strings(bank_branch[(owner * 7 + 3) % len(bank_branch)]),
        "currency": strings(np.full(len(idx), "CNY")),
        "opened_date": dates(shared, a.open_day[idx]),
        "closed_date": dates(shared, a.close_day[idx], mask=~is_close),
        "status": strings(np.where(is_close, "closed", "open")),
        "term_months": pa.array(term, pa.int64(), mask=term < 0).cast(pa.string()),
        "maturity_date": dates(shared, np.where(term < 0, 0, maturity), mask=term < 0),
        "interest_rate": _rate(a.rate[idx]),
        "campaign_id": take(shared.campaigns.ids, campaign, mask=campaign < 0),
        "principal_amount": money(principal, mask=principal < 0),
        "credit_limit": money(limit, mask=limit < 0),
    }
    return _rows("accounts", table, day, owner, number[idx] * 2 + is_close)


def _rate(rate: np.ndarray) -> pa.Array:
    missing = np.isnan(rate)
    bp = np.round(np.nan_to_num(rate) * 10_000).astype(np.int64)
    whole = pa.array(bp // 10_000).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(bp % 10_000).cast(pa.string()), 4, "0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    return pc.if_else(pa.array(missing), pa.nulls(len(rate), pa.string()), text)


def _balances(
    shared: SharedData, block: SimulatedBlock, account_id: pa.Array, number: np.ndarray
) -> tuple[EntityRows, int]:
    """End-of-day balance on every day an account changes, opens or closes."""
    p, a, days = block.postings, block.accounts, shared.days
    opening = a.opening_at_start
    liability = a.is_liability
    running = running_balances(p, opening, liability)
    every = np.arange(len(a))
    keys = np.concatenate(
        [
            p.account * DAY_KEY + p.day,
            every * DAY_KEY + np.maximum(a.open_day, 0),
            (every * DAY_KEY + a.close_day)[a.close_day < days],
        ]
    )
    keys.sort()
    keys = keys[np.r_[True, keys[1:] != keys[:-1]]]
    account, day = keys // DAY_KEY, keys % DAY_KEY
    balance = balance_at(p, running, opening, account, day)
    negative = int(((balance < 0) & ~liability[account]).sum())
    table = {
        "account_id": take(account_id, account),
        "balance_date": dates(shared, day),
        "balance": money(balance),
    }
    owner = block.customers.index[a.customer[account]]
    return _rows("balances", table, day, owner, number[account]), negative


def _transactions(shared: SharedData, block: SimulatedBlock, account_id: pa.Array) -> EntityRows:
    p, a = block.postings, block.accounts
    # numbered by customer, then time, then account (one sort key: customer position,
    # second of the period, the account's place among the customer's accounts)
    account_rank = _numbering(a.customer)
    first_of_customer = np.full(len(block.customers), len(a))
    np.minimum.at(first_of_customer, a.customer, account_rank)
    in_customer = account_rank - first_of_customer[a.customer]
    moment = p.day * SECONDS_PER_DAY + p.second
    key = (a.customer[p.account] * MOMENTS + moment) * ACCOUNTS_PER_CUSTOMER + in_customer[
        p.account
    ]
    by_customer = np.argsort(key, kind="stable")
    rank = np.empty(len(key), np.int64)
    rank[by_customer] = np.arange(len(key))
    # rows in file order (day, customer, number), so the writer need not sort them
    in_file = np.argsort(p.day[by_customer], kind="stable")
    p = p.take(by_customer[in_file])
    rank = rank[by_customer[in_file]]
    local = a.customer[p.account]
    owner = block.customers.index[local]
    ts = (shared.calendar.start + p.day).astype("datetime64[s]") + p.second
    own = p.counterparty_name < 0
    none = p.counterparty_name == np.iinfo(np.int64).min
    names = shared.names.names
    labels = pa.concat_arrays([pa.array(names.tolist(), pa.string()), account_id])
    name_idx = np.where(own, len(names) + (-p.counterparty_name - 1), p.counterparty_name)
    number = key_numbers("transactions", owner, _in_customer(local, rank))
    table = {
        "transaction_id": ids(TRANSACTION_ID[0], number, TRANSACTION_ID[1]),
        "account_id": take(account_id, p.account),
        "transaction_date": dates(shared, p.day),
        "transaction_at": pa.array(ts, pa.timestamp("s")),
        "transaction_type_code": take(ref.TX_TYPES, p.type),
        "direction": take(["debit", "credit"], p.is_credit.astype(np.int64)),
        "amount": money(p.amount),
        "channel": take(ref.CHANNELS, p.channel),
        "counterparty_type": take(ref.COUNTERPARTY_TYPES, p.counterparty_type),
        "counterparty_name": take(labels, name_idx, mask=none),
        "counterparty_bank_code": take(ref.BANK_CODES, p.bank, mask=p.bank < 0),
        "merchant_category": take(
            ref.MERCHANT_CATEGORIES, p.merchant_category, mask=p.merchant_category < 0
        ),
    }
    return _rows("transactions", table, p.day, owner, number)


def _repayments(
    shared: SharedData,
    block: SimulatedBlock,
    account_id: pa.Array,
    account_number: np.ndarray,
) -> EntityRows:
    inst, calendar = block.instalments, shared.calendar
    local = block.accounts.customer[inst.account]
    owner = block.customers.index[local]
    rank = _numbering(local, inst.due_day, account_number[inst.account])
    k = len(rank)
    due, paid = inst.due_day, inst.paid_day
    on_time = paid == due
    late = paid > due
    unpaid = paid < 0
    month_ends = calendar.month_starts[1:] - 1
    ends = np.broadcast_to(month_ends, (k, len(month_ends)))
    ui, uj = np.nonzero(unpaid[:, None] & (ends > due[:, None]))
    # deliveries: on the due date, on a late payment, and at month ends while unpaid
    row = np.r_[np.arange(k), np.flatnonzero(late), ui]
    row_day = np.r_[due, paid[late], ends[ui, uj]]
    is_paid = np.r_[on_time, np.ones(late.sum(), bool), np.zeros(len(ui), bool)]
    past_due = np.r_[np.zeros(k, np.int64), (paid - due)[late], ends[ui, uj] - due[ui]]
    number = key_numbers("repayments", owner, _in_customer(local, rank))
    table = {
        "repayment_id": ids(REPAYMENT_ID[0], number[row], REPAYMENT_ID[1]),
        "account_id": take(account_id, inst.account[row]),
        "due_date": dates(shared, due[row]),
        "paid_date": dates(shared, np.where(is_paid, paid[row], 0), mask=~is_paid),
        "amount_due": money(inst.amount_due[row]),
        "amount_paid": money(np.where(is_paid, inst.amount_paid[row], 0)),
        "days_past_due": pa.array(past_due).cast(pa.string()),
    }
    return _rows("repayments", table, row_day, owner[row], number[row])


def _complaints(shared: SharedData, block: SimulatedBlock) -> EntityRows:
    c = block.crm.complaints
    owner = block.customers.index[c.customer]
    rank = _numbering(c.customer, c.day)
    k = len(rank)
    later = c.resolved_day > c.day
    idx = np.r_[np.arange(k), np.flatnonzero(later)]
    resolved_known = np.r_[c.resolved_day == c.day, np.ones(later.sum(), bool)]
    day = np.r_[c.day, c.resolved_day[later]]
    number = key_numbers("complaints", owner, _in_customer(c.customer, rank))
    table = {
        "complaint_id": ids(COMPLAINT_ID[0], number[idx], COMPLAINT_ID[1]),
        "customer_id": customer_ids(owner[idx]),
        "complaint_date": dates(shared, c.day[idx]),
        "category": strings(np.array(contract.COMPLAINT_CATEGORIES)[c.category[idx]]),
        "channel": strings(np.array(contract.CONTACT_CHANNELS)[c.channel[idx]]),
        "severity": strings(np.array(contract.SEVERITIES)[c.severity[idx]]),
        "resolved_date": dates(shared, np.maximum(c.resolved_day[idx], 0), mask=~resolved_known),
    }
    return _rows("complaints", table, day, owner[idx], number[idx])


def _contacts(shared: SharedData, block: SimulatedBlock) -> EntityRows:
    c = block.crm.contacts
    owner = block.customers.index[c.customer]
    rank = _numbering(c.customer, c.day, c.campaign)
    number = key_numbers("campaign_contacts", owner, _in_customer(c.customer, rank))
    table = {
        "contact_id": ids(CONTACT_ID[0], number, CONTACT_ID[1]),
        "customer_id": customer_ids(owner),
        "campaign_id": strings(np.array(shared.campaigns.ids)[c.campaign]),
        "contact_date": dates(shared, c.day),
        "channel": strings(np.array(contract.CONTACT_CHANNELS)[c.channel]),
        "response": strings(np.array(contract.CONTACT_RESPONSES)[c.response]),
    }
    return _rows("campaign_contacts", table, c.day, owner, number)


def reference_rows(shared: SharedData) -> dict[str, EntityRows]:
    """Snapshots delivered once, on the first day: products, branches, types, campaigns."""

    def snapshot(name: str, columns: dict[str, list[str]]) -> EntityRows:
        key = ENTITY[name].key[0]
        rank = np.argsort(np.argsort(np.array(columns[key]), kind="stable"))
        n = len(rank)
        table = {k: pa.array(v, pa.string()) for k, v in columns.items()}
        return _rows(name, table, np.zeros(n), np.zeros(n), rank)

    products = ref.PRODUCTS
    branch_columns = ("branch_id", "branch_name", "city", "region")
    campaign_columns = ("campaign_id", "campaign_name", "campaign_type", "start_date", "end_date")
    return {
        "products": snapshot(
            "products",
            {
                "product_code": list(products),
                "product_name": [v[0] for v in products.values()],
                "product_category": [v[1] for v in products.values()],
                "customer_type": [v[2] for v in products.values()],
            },
        ),
        "branches": snapshot(
            "branches",
            {k: [br[i] for br in shared.branches] for i, k in enumerate(branch_columns)},
        ),
        "transaction_types": snapshot(
            "transaction_types",
            {
                "transaction_type_code": list(ref.TRANSACTION_TYPES),
                "description": list(ref.TRANSACTION_TYPES.values()),
            },
        ),
        "campaigns": snapshot(
            "campaigns",
            {k: [c[i] for c in shared.campaigns.rows] for i, k in enumerate(campaign_columns)},
        ),
    }
