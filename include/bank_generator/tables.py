"""Turn the simulated bank into landing rows (pyarrow tables) and ground truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from include.bank_generator import reference as ref
from include.bank_generator.ledger import balance_at, running_balances
from include.bank_generator.people import identities
from include.bank_generator.simulate import ARCHETYPES, CORP, REASONS, Bank
from include.landing import entities as contract

DIGIT_PAIRS = pa.array([f"{i:02d}" for i in range(100)])
# (prefix, digits) of the parent keys: ids 1..n are "C00000001".., "A0000000001"..
CUSTOMER_ID = ("C", 8)
ACCOUNT_ID = ("A", 10)


class Rows:
    """One entity's landing rows: columns in contract order plus the business day
    (index) each row is delivered on, sorted by day then key."""

    def __init__(self, entity: str, table: pa.Table, day: np.ndarray, order: np.ndarray) -> None:
        """``order``: a number per row that sorts like the key."""
        self.entity = next(e for e in contract.ENTITIES if e.name == entity)
        self.order = np.asarray(order, dtype=np.int64)
        self.table = table.select(list(self.entity.column_names))
        self.day = np.asarray(day, dtype=np.int64)
        self.late = np.zeros(len(self.day), bool)
        self.resort()

    def resort(self) -> None:
        idx = np.lexsort((self.order, self.day))
        self.table = self.table.take(pa.array(idx))
        self.day, self.late, self.order = self.day[idx], self.late[idx], self.order[idx]


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


def dates(b: Bank, day: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    values = (b.cal.start + np.asarray(day)).astype("datetime64[D]")
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


def build_rows(b: Bank) -> tuple[dict[str, Rows], dict[str, np.ndarray]]:
    """Landing rows of every entity, and the strings needed later (account ids)."""
    rng = b.rng
    n_acc = len(b.acc["cust"])
    acc_order = np.lexsort((np.arange(n_acc), b.acc["cust"], np.maximum(b.acc["open_day"], 0)))
    acc_number = np.empty(n_acc, np.int64)
    acc_number[acc_order] = np.arange(1, n_acc + 1)
    acc_id = ids(ACCOUNT_ID[0], acc_number, ACCOUNT_ID[1])
    cust_id = ids(CUSTOMER_ID[0], np.arange(1, b.n + 1), CUSTOMER_ID[1])
    b.acc_number = acc_number
    rows = {
        "customers": _customers(b, rng, cust_id),
        "accounts": _accounts(b, acc_id, cust_id),
        "balances": _balances(b, acc_id),
        "transactions": _transactions(b, acc_id),
        "repayments": _repayments(b, acc_id),
        "complaints": _complaints(b, cust_id),
        "campaign_contacts": _contacts(b, cust_id),
    }
    rows.update(_reference(b))
    return rows, {"customer_id": cust_id, "account_id": acc_id}  # type: ignore[dict-item]


def _customers(b: Bank, rng: np.random.Generator, cust_id: np.ndarray) -> Rows:
    branches = b.branches
    home = rng.integers(0, len(branches), b.n)
    city = np.array([br[2] for br in branches])[home]
    corporate = b.corporate
    birth = np.where(corporate, b.cal.start, b.birth)
    who = identities(rng, b.pools, corporate, birth, b.male, city)
    # a few customers change phone or address later: re-delivered as a delta
    changed = np.flatnonzero((rng.random(b.n) < 0.03) & (np.maximum(b.onboard, 0) < b.D - 2))
    change_day = (
        np.maximum(b.onboard[changed], 0)
        + 1
        + (rng.random(len(changed)) * (b.D - 1 - np.maximum(b.onboard[changed], 0) - 1)).astype(
            np.int64
        )
    )
    change_day = np.minimum(change_day, b.close_day[changed])
    idx = np.r_[np.arange(b.n), changed]
    day = np.r_[np.maximum(b.onboard, 0), change_day]
    phone = who["phone"].copy()
    new_phone = np.array(who["phone"])[rng.permutation(b.n)[: len(changed)]]
    phone_all = np.r_[phone, new_phone]
    address_all = np.r_[who["address"], who["address"][rng.permutation(b.n)[: len(changed)]]]
    address_all = np.where(
        np.r_[np.zeros(b.n, bool), rng.random(len(changed)) < 0.5],
        address_all,
        np.r_[who["address"], who["address"][changed]],
    )
    email = who["email"][idx]
    corp = corporate[idx]
    table = pa.table(
        {
            "customer_id": take(cust_id, idx),
            "customer_type": strings(np.where(corp, "corporate", "retail")),
            "full_name": strings(who["full_name"][idx]),
            "national_id": strings(who["national_id"][idx]),
            "phone": strings(phone_all),
            "email": strings(email, mask=email == ""),
            "address": strings(address_all),
            "city": strings(city[idx]),
            "birth_date": dates(b, (birth - b.cal.start).astype(np.int64)[idx], mask=corp),
            "gender": strings(np.where(b.male[idx], "M", "F"), mask=corp),
            "home_branch_id": strings(np.array([br[0] for br in branches])[home[idx]]),
            "onboarded_date": dates(b, b.onboard[idx]),
        }
    )
    return Rows("customers", table, day, idx)


def _accounts(b: Bank, acc_id: np.ndarray, cust_id: np.ndarray) -> Rows:
    a, D = b.acc, b.D
    n = len(a["cust"])
    closed = np.flatnonzero(a["close_day"] < D)
    idx = np.r_[np.arange(n), closed]
    is_close = np.r_[np.zeros(n, bool), np.ones(len(closed), bool)]
    day = np.where(is_close, a["close_day"][idx], np.maximum(a["open_day"][idx], 0))
    # an account opened and closed on the same delivery day is delivered once, closed
    dup = ~is_close & (a["close_day"][idx] == day)
    idx, is_close, day = idx[~dup], is_close[~dup], day[~dup]
    term, maturity = a["term"][idx], a["maturity"][idx]
    rate, campaign = a["rate"][idx], a["campaign"][idx]
    principal, limit = a["principal"][idx], a["limit"][idx]
    camp_ids = [c[0] for c in b.campaigns]
    bank_branch = np.array([br[0] for br in b.branches])
    branch = bank_branch[(a["cust"][idx] * 7 + 3) % len(bank_branch)]
    table = pa.table(
        {
            "account_id": take(acc_id, idx),
            "customer_id": take(cust_id, a["cust"][idx]),
            "product_code": take(ref.PRODUCT_CODES, a["product"][idx]),
            "branch_id": strings(branch),
            "currency": strings(np.full(len(idx), "CNY")),
            "opened_date": dates(b, a["open_day"][idx]),
            "closed_date": dates(b, a["close_day"][idx], mask=~is_close),
            "status": strings(np.where(is_close, "closed", "open")),
            "term_months": pa.array(term, pa.int64(), mask=term < 0).cast(pa.string()),
            "maturity_date": dates(b, np.where(term < 0, 0, maturity), mask=term < 0),
            "interest_rate": _rate(rate),
            "campaign_id": take(camp_ids, campaign, mask=campaign < 0),
            "principal_amount": money(principal, mask=principal < 0),
            "credit_limit": money(limit, mask=limit < 0),
        }
    )
    return Rows("accounts", table, day, b.acc_number[idx])


def _rate(rate: np.ndarray) -> pa.Array:
    missing = np.isnan(rate)
    bp = np.round(np.nan_to_num(rate) * 10_000).astype(np.int64)
    whole = pa.array(bp // 10_000).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(bp % 10_000).cast(pa.string()), 4, "0")
    text = pc.binary_join_element_wise(whole, frac, ".")
    return pc.if_else(pa.array(missing), pa.nulls(len(rate), pa.string()), text)


def final_balances(b: Bank) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    if getattr(b, "_final", None) is None:
        p = b.ledger.merged()
        opening = np.where(b.acc["open_day"] < 0, b.acc["opening"], 0)
        b._final = (p, running_balances(p, opening, b.acc_liability), opening)
    return b._final


def _balances(b: Bank, acc_id: np.ndarray) -> Rows:
    p, run, opening = final_balances(b)
    a, D = b.acc, b.D
    keys = np.concatenate(
        [
            p["acct"] * 100_000 + p["day"],
            np.arange(len(a["cust"])) * 100_000 + np.maximum(a["open_day"], 0),
            (np.arange(len(a["cust"])) * 100_000 + a["close_day"])[a["close_day"] < D],
        ]
    )
    keys = np.unique(keys)
    acct, day = keys // 100_000, keys % 100_000
    balance = balance_at(p, run, opening, acct, day)
    b.negative_balances = int(((balance < 0) & ~b.acc_liability[acct]).sum())
    table = pa.table(
        {"account_id": take(acc_id, acct), "balance_date": dates(b, day), "balance": money(balance)}
    )
    return Rows("balances", table, day, b.acc_number[acct])


def _transactions(b: Bank, acc_id: np.ndarray) -> Rows:
    p = b.ledger.merged()
    order = np.lexsort((p["acct"], p["sec"], p["day"]))
    q = {k: v[order] for k, v in p.items()}
    k = len(order)
    ts = (b.cal.start + q["day"]).astype("datetime64[s]") + q["sec"]
    own = q["cp_name"] < 0
    none = q["cp_name"] == np.iinfo(np.int64).min
    labels = pa.concat_arrays([pa.array(b.names.tolist(), pa.string()), acc_id])
    name_idx = np.where(own, len(b.names) + (-q["cp_name"] - 1), q["cp_name"])
    table = pa.table(
        {
            "transaction_id": ids("T", np.arange(1, k + 1), 12),
            "account_id": take(acc_id, q["acct"]),
            "transaction_date": dates(b, q["day"]),
            "transaction_at": pa.array(ts, pa.timestamp("s")),
            "transaction_type_code": take(ref.TX_TYPES, q["type"]),
            "direction": take(["debit", "credit"], q["credit"]),
            "amount": money(q["amount"]),
            "channel": take(ref.CHANNELS, q["channel"]),
            "counterparty_type": take(ref.COUNTERPARTY_TYPES, q["cp_type"]),
            "counterparty_name": take(labels, name_idx, mask=none),
            "counterparty_bank_code": take(ref.BANK_CODES, q["bank"], mask=q["bank"] < 0),
            "merchant_category": take(ref.MERCHANT_CATEGORIES, q["mcat"], mask=q["mcat"] < 0),
        }
    )
    b.tx_type_of_row = q["type"]
    return Rows("transactions", table, q["day"], np.arange(k))


def _repayments(b: Bank, acc_id: np.ndarray) -> Rows:
    parts = b.instalment_parts
    acct, due, paid, amount_due, amount_paid = (np.concatenate(x) for x in zip(*parts, strict=True))
    order = np.lexsort((acct, due))
    acct, due, paid, amount_due, amount_paid = (
        x[order] for x in (acct, due, paid, amount_due, amount_paid)
    )
    k = len(acct)
    inst = np.arange(k)
    on_time = paid == due
    late = paid > due
    unpaid = paid < 0
    month_ends = b.cal.month_starts[1:] - 1
    me = np.broadcast_to(month_ends, (k, len(month_ends)))
    ui, uj = np.nonzero(unpaid[:, None] & (me > due[:, None]))
    # deliveries: on the due date, on a late payment, and at month ends while unpaid
    row_inst = np.r_[inst, inst[late], ui]
    row_day = np.r_[due, paid[late], me[ui, uj]]
    is_paid = np.r_[on_time, np.ones(late.sum(), bool), np.zeros(len(ui), bool)]
    dpd = np.r_[np.zeros(k, np.int64), (paid - due)[late], me[ui, uj] - due[ui]]
    table = pa.table(
        {
            "repayment_id": ids("R", row_inst + 1, 10),
            "account_id": take(acc_id, acct[row_inst]),
            "due_date": dates(b, due[row_inst]),
            "paid_date": dates(b, np.where(is_paid, paid[row_inst], 0), mask=~is_paid),
            "amount_due": money(amount_due[row_inst]),
            "amount_paid": money(np.where(is_paid, amount_paid[row_inst], 0)),
            "days_past_due": pa.array(dpd).cast(pa.string()),
        }
    )
    return Rows("repayments", table, row_day, row_inst)


def _complaints(b: Bank, cust_id: np.ndarray) -> Rows:
    c = b.complaints
    order = np.lexsort((c["cust"], c["day"]))
    c = {k: v[order] for k, v in c.items()}
    k = len(order)
    later = c["resolved"] > c["day"]
    idx = np.r_[np.arange(k), np.flatnonzero(later)]
    resolved_known = np.r_[c["resolved"] == c["day"], np.ones(later.sum(), bool)]
    day = np.r_[c["day"], c["resolved"][later]]
    table = pa.table(
        {
            "complaint_id": ids("CP", idx + 1, 9),
            "customer_id": take(cust_id, c["cust"][idx]),
            "complaint_date": dates(b, c["day"][idx]),
            "category": strings(np.array(contract.COMPLAINT_CATEGORIES)[c["category"][idx]]),
            "channel": strings(np.array(contract.CONTACT_CHANNELS)[c["channel"][idx]]),
            "severity": strings(np.array(contract.SEVERITIES)[c["severity"][idx]]),
            "resolved_date": dates(b, np.maximum(c["resolved"][idx], 0), mask=~resolved_known),
        }
    )
    return Rows("complaints", table, day, idx)


def _contacts(b: Bank, cust_id: np.ndarray) -> Rows:
    c = b.contacts
    order = np.lexsort((c["campaign"], c["cust"], c["day"]))
    c = {k: v[order] for k, v in c.items()}
    table = pa.table(
        {
            "contact_id": ids("CT", np.arange(1, len(order) + 1), 9),
            "customer_id": take(cust_id, c["cust"]),
            "campaign_id": strings(np.array([x[0] for x in b.campaigns])[c["campaign"]]),
            "contact_date": dates(b, c["day"]),
            "channel": strings(np.array(contract.CONTACT_CHANNELS)[c["channel"]]),
            "response": strings(np.array(contract.CONTACT_RESPONSES)[c["response"]]),
        }
    )
    return Rows("campaign_contacts", table, c["day"], np.arange(len(order)))


def _reference(b: Bank) -> dict[str, Rows]:
    def snapshot(name: str, columns: dict[str, list[str]]) -> Rows:
        table = pa.table({k: pa.array(v, pa.string()) for k, v in columns.items()})
        key = next(e for e in contract.ENTITIES if e.name == name).key[0]
        rank = np.argsort(np.argsort(np.array(columns[key]), kind="stable"))
        return Rows(name, table, np.zeros(table.num_rows, np.int64), rank)

    products = ref.PRODUCTS
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
            {
                k: [br[i] for br in b.branches]
                for i, k in enumerate(("branch_id", "branch_name", "city", "region"))
            },
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
            {
                k: [c[i] for c in b.campaigns]
                for i, k in enumerate(
                    ("campaign_id", "campaign_name", "campaign_type", "start_date", "end_date")
                )
            },
        ),
    }


def ground_truth(b: Bank, cust_id: np.ndarray) -> tuple[pa.Table, dict[str, int]]:
    """Planted behaviour per customer, checked against the month-average AUM the
    landed balances imply (a plant that did not show is not reported)."""
    p, _run, opening = final_balances(b)
    aum_acct = b.acc_aum[p["acct"]]
    cust = b.acc["cust"][p["acct"]]
    sign = np.where(p["credit"], 1, -1)
    flat = cust[aum_acct] * b.D + p["day"][aum_acct]
    daily = np.bincount(flat, (sign * p["amount"])[aum_acct] / 100, minlength=b.n * b.D)
    pre = b.acc_aum & (b.acc["open_day"] < 0)
    daily[: b.n * b.D : b.D] += np.bincount(b.acc["cust"][pre], opening[pre] / 100, minlength=b.n)
    daily = daily.reshape(b.n, b.D)
    aum = np.cumsum(daily, axis=1)
    ms = b.cal.month_starts
    month_avg = np.add.reduceat(aum, ms[:-1], axis=1) / np.diff(ms)[None, :]
    m = month_avg.shape[1]
    churned = np.zeros((b.n, m), bool)
    for k in range(3, m):
        prior = month_avg[:, k - 3 : k].mean(axis=1)
        churned[:, k] = (prior >= 10_000) & (month_avg[:, k] < 0.5 * prior)
    first = np.where(churned.any(axis=1), churned.argmax(axis=1), -1)
    planted = b.reason >= 0
    shown = planted & (first >= 0) & (first >= b.churn_month - 1)
    hi = np.where(b.corporate, 10e6, 3e6)
    mid = np.where(b.corporate, 1e6, 5e5)
    tier = (month_avg >= mid[:, None]).astype(int) + (month_avg >= hi[:, None])
    upgraded = (b.upgrade_day >= 0) & (tier[:, -1] > tier[:, 0])
    dormant = b.dormant & (b.D - b.active_end > 180)
    labels = np.array([b.cal.month_label(k) for k in range(m)] + [""])
    tier_last = tier[:, -1][np.maximum(b.onboard, 0) < ms[-2]]
    table = pa.table(
        {
            "customer_id": cust_id,
            "archetype": strings(np.array(ARCHETYPES)[b.arch]),
            "customer_type": strings(np.where(b.arch == CORP, "corporate", "retail")),
            "onboarded_date": dates(b, b.onboard),
            "planted_churn_reason": strings(
                np.where(shown, np.array(REASONS + ("",))[b.reason], "")
            ),
            "planted_churn_month": strings(np.where(shown, labels[first], "")),
            "is_planted_dormant": strings(np.where(dormant, "true", "false")),
            "is_planted_upgrade": strings(np.where(upgraded, "true", "false")),
            "planted_closed_date": dates(
                b, np.minimum(b.close_day, b.D - 1), mask=b.close_day >= b.D
            ),
        }
    )
    stats = {
        "planted_churners": int(planted.sum()),
        "planted_churn_not_shown": int((planted & ~shown).sum()),
        "unplanted_value_churners": int((~planted & (first >= 0)).sum()),
        "planted_upgrades_shown": int(upgraded.sum()),
        "planted_dormant": int(dormant.sum()),
        "share_high_net_worth_last_month": round(float((tier_last == 2).mean()), 4)
        if len(tier_last)
        else 0.0,
        "share_mid_value_last_month": round(float((tier_last == 1).mean()), 4)
        if len(tier_last)
        else 0.0,
    }
    return table, stats
