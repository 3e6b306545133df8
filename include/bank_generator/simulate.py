"""The simulated bank: customers and their plans, accounts, postings, CRM events.

Everything is vectorised over customers, accounts or postings; the only Python
loops run over months, time-deposit roll-over generations or a fixed number of
event streams. Amounts are integer cents so balances add up exactly.
"""

from __future__ import annotations

import numpy as np

from include.bank_generator import reference as ref
from include.bank_generator.config import Calendar
from include.bank_generator.ledger import NO_NAME, Ledger, balance_at, running_balances
from include.bank_generator.people import Pools

ARCHETYPES = (
    "salaried",
    "young_digital",
    "retiree_saver",
    "business_owner",
    "wealthy_investor",
    "corporate",
)
SAL, YOUNG, RET, BUS, RICH, CORP = range(6)
SHARE = np.array([0.38, 0.20, 0.14, 0.10, 0.06, 0.12])
AGE_RANGE = np.array([[25, 58], [20, 32], [60, 80], [30, 62], [35, 72], [0, 1]])
WEALTH_MEDIAN = np.array([45e3, 15e3, 120e3, 180e3, 2.4e6, 500e3])
WEALTH_SIGMA = np.array([1.0, 0.9, 0.9, 1.0, 0.65, 1.2])
INCOME_MEDIAN = np.array([12e3, 8e3, 4.5e3, 25e3, 50e3, 80e3])
# share of income spent each month (low, high): the rest is saved, so AUM grows slowly
SPEND_SHARE = np.array([[0.65, 0.95], [0.7, 0.98], [0.6, 0.9], [0.85, 1.0], [0.8, 1.0], [0.9, 1.0]])
TX_RATE = np.array([10.0, 15.0, 5.0, 14.0, 7.0, 22.0])
DIGITAL = np.array([0.6, 0.92, 0.15, 0.5, 0.5, 0.75])
HAS_SALARY = np.array([0.92, 0.8, 0.95, 0.0, 0.35, 0.0])
# holding probability and weight of: current, time deposit, wealth, fund, insurance
HOLD_P = np.array(
    [
        [1, 0.5, 0.25, 0.3, 0.15],
        [1, 0.1, 0.1, 0.4, 0.02],
        [1, 0.85, 0.3, 0.1, 0.3],
        [1, 0.5, 0.5, 0.3, 0.2],
        [1, 0.8, 0.9, 0.6, 0.5],
        [1, 0.5, 0.4, 0, 0],
    ]
)
HOLD_W = np.array(
    [
        [1.2, 1, 0.6, 0.4, 0.3],
        [2, 0.5, 0.3, 0.5, 0.2],
        [0.5, 1.5, 0.4, 0.2, 0.3],
        [1, 0.6, 0.6, 0.3, 0.2],
        [0.4, 0.6, 1, 0.5, 0.3],
        [1.2, 0.7, 0.5, 0, 0],
    ]
)
PERSONAL_LOAN_P = np.array([0.12, 0.15, 0, 0.15, 0.05, 0])
MORTGAGE_P = np.array([0.2, 0.05, 0, 0.1, 0.1, 0])
BUSINESS_LOAN_P = np.array([0, 0, 0, 0, 0, 0.35])
CARD_P = np.array([0.45, 0.55, 0.05, 0.45, 0.7, 0])
PLATINUM_P = np.array([0.05, 0, 0, 0.4, 0.7, 0])
REASONS = (
    "rate_competition",
    "campaign_deposit_maturity",
    "property_purchase",
    "service_dissatisfaction",
    "disengagement",
)
REASON_RATE = np.array([0.025, 0.015, 0.01, 0.012, 0.018])
SPEND_TYPES = np.array(
    [
        ref.TX[t]
        for t in (
            "card_spend",
            "merchant_payment",
            "bill_payment",
            "withdrawal",
            "transfer_out",
            "transfer_in",
            "deposit",
        )
    ]
)
SPEND_P = np.array(
    [
        [0.30, 0.22, 0.12, 0.08, 0.12, 0.10, 0.06],
        [0.40, 0.30, 0.10, 0.02, 0.10, 0.06, 0.02],
        [0.15, 0.15, 0.20, 0.30, 0.05, 0.05, 0.10],
        [0.15, 0.20, 0.05, 0.05, 0.25, 0.25, 0.05],
        [0.20, 0.20, 0.10, 0.05, 0.20, 0.20, 0.05],
        [0.0, 0.20, 0.10, 0.0, 0.35, 0.35, 0.0],
    ]
)
SPEND_W = np.array([1.0, 1.5, 0.8, 1.2, 3.0, 1.0, 1.0])
IS_INFLOW = np.array([False, False, False, False, False, True, True])
DEVELOPERS = (
    "安居置业有限公司",
    "恒信房地产开发有限公司",
    "嘉和置业有限公司",
    "锦绣房地产开发有限公司",
    "龙湾置业有限公司",
    "盛世家园房地产有限公司",
)
PENSION_PAYER = "社会保险基金管理中心"
CENTS = 100
DAY = 86_400


def add_months(day: np.ndarray, months: np.ndarray | int, start: np.datetime64) -> np.ndarray:
    """Day index + calendar months (clamped to the month's last day)."""
    date = start + np.asarray(day)
    month = date.astype("datetime64[M]")
    dom = (date - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months)
    last = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    return (target.astype("datetime64[D]") + np.minimum(dom, last - 1) - start).astype(np.int64)


def cents(values: np.ndarray) -> np.ndarray:
    return np.maximum(np.round(np.asarray(values, dtype=float) * CENTS), 1).astype(np.int64)


class Bank:
    """All simulated state; built by :func:`simulate`."""

    def __init__(self, n: int, cal: Calendar, rng: np.random.Generator, pools: Pools) -> None:
        self.n, self.cal, self.rng, self.pools = n, cal, rng, pools
        self.D = cal.n_days
        self.ledger = Ledger()
        self._acc: dict[str, list[np.ndarray]] = {}
        self.names = np.concatenate(
            [pools.companies, self._people(3000), np.array(DEVELOPERS), np.array([PENSION_PAYER])]
        )
        self.person0 = len(pools.companies)
        self.developer0 = self.person0 + 3000
        self.pension_name = len(self.names) - 1

    def _people(self, k: int) -> np.ndarray:
        p = self.pools
        surname = p.surnames[self.rng.integers(0, len(p.surnames), k)]
        given = np.concatenate([p.male_names, p.female_names])
        return np.char.add(surname, given[self.rng.integers(0, len(given), k)])

    # accounts -------------------------------------------------------------
    def new_accounts(
        self, cust: np.ndarray, product: np.ndarray, open_day: np.ndarray, **extra: np.ndarray
    ) -> np.ndarray:
        """Register accounts; returns their indexes."""
        k = len(cust)
        first = sum(len(c) for c in self._acc.get("cust", []))
        cols = {
            "cust": cust,
            "product": product,
            "open_day": open_day,
            "close_day": np.full(k, self.D),
            "opening": np.zeros(k, np.int64),
            "term": np.full(k, -1),
            "maturity": np.full(k, -(10**6)),
            "rate": np.full(k, np.nan),
            "campaign": np.full(k, -1),
            "principal": np.full(k, -1, np.int64),
            "limit": np.full(k, -1, np.int64),
        }
        cols.update(extra)
        for name, values in cols.items():
            self._acc.setdefault(name, []).append(np.broadcast_to(values, (k,)).copy())
        return np.arange(first, first + k)

    def freeze_accounts(self) -> None:
        self.acc = {k: np.concatenate(v) for k, v in self._acc.items()}
        category = ref.PRODUCT_CATEGORY[self.acc["product"]]
        self.acc_liability = np.isin(category, ["loan", "credit_card"])
        self.acc_aum = ~self.acc_liability
        self.acc_current = category == "current_account"


def _pick(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One category per row of a probability matrix."""
    cum = np.cumsum(probs, axis=1)
    return (rng.random(len(probs))[:, None] * cum[:, -1:] > cum).sum(axis=1)


def plan_customers(b: Bank) -> None:
    """Archetypes, onboarding, wealth, income and the planted behaviours."""
    n, rng, cal, D = b.n, b.rng, b.cal, b.D
    arch = rng.choice(6, n, p=SHARE)
    b.arch, b.corporate = arch, arch == CORP
    new = rng.random(n) < (0.15 if D > 60 else 0.0)
    b.onboard = np.where(new, rng.integers(0, max(D - 20, 1), n), -rng.integers(30, 6000, n))
    lo, hi = AGE_RANGE[arch, 0], AGE_RANGE[arch, 1]
    age_days = ((lo + rng.random(n) * (hi - lo)) * 365.25).astype(np.int64)
    b.birth = np.where(b.corporate, np.datetime64("NaT"), cal.start - age_days)
    b.male = rng.random(n) < 0.5
    b.wealth = WEALTH_MEDIAN[arch] * np.exp(rng.normal(0, WEALTH_SIGMA[arch]))
    b.income = INCOME_MEDIAN[arch] * np.exp(rng.normal(0, 0.4, n))
    b.digital = np.clip(DIGITAL[arch] + rng.normal(0, 0.1, n), 0.02, 0.98)
    b.salaried = rng.random(n) < HAS_SALARY[arch]
    b.employer = rng.integers(0, b.person0, n)
    b.payday = rng.choice([4, 9, 14, 19, 24], n)
    b.rate = TX_RATE[arch] * np.exp(rng.normal(0, 0.3, n))
    b.active_end = np.full(n, D)  # customer-initiated activity stops here
    b.cutoff = np.full(n, D)  # investments liquidated here (churners)
    b.close_day = np.full(n, D)
    b.reason = np.full(n, -1)
    b.churn_month = np.full(n, -1)
    b.churn_day = np.full(n, D)
    b.dormant = np.zeros(n, bool)
    b.upgrade_day = np.full(n, -1)
    b.upgrade_amount = np.zeros(n)
    b.churn_start = np.full(n, D)
    b.delinquent_from = np.full(n, D)
    b.closing = np.zeros(0, np.int64)
    taken = np.zeros(n, bool)
    pre = b.onboard < 0

    def choose(mask: np.ndarray, count: int) -> np.ndarray:
        pool = np.flatnonzero(mask & ~taken)
        chosen = np.sort(rng.permutation(pool)[: min(count, len(pool))])
        taken[chosen] = True
        return chosen

    if cal.n_months >= 4:
        eligible = pre & ~b.corporate & (b.wealth >= 60_000)
        for r, rate in enumerate(REASON_RATE):
            who = choose(eligible, max(3, round(rate * n)))
            b.reason[who] = r
            b.churn_month[who] = rng.integers(3, cal.n_months, len(who))
        churners = np.flatnonzero(b.reason >= 0)
        b.churn_day[churners] = cal.month_starts[b.churn_month[churners]]
        b.closing = churners[rng.random(len(churners)) < 0.3]
    if D >= 200:
        who = choose(pre, max(2, int(0.02 * n)))
        b.dormant[who] = True
        b.active_end[who] = rng.integers(15, D - 185, len(who))
    if cal.n_months >= 3:
        threshold = np.where(b.corporate, 1e6, 5e5)
        threshold = np.where(
            b.wealth >= threshold, threshold * np.where(b.corporate, 10, 6), threshold
        )
        near = pre & (b.wealth >= 0.4 * threshold) & (b.wealth <= 0.85 * threshold)
        who = choose(near, max(2, int(0.03 * n)))
        b.upgrade_day[who] = rng.integers(cal.month_starts[1], cal.month_starts[-2], len(who))
        b.upgrade_amount = np.where(
            b.upgrade_day >= 0, threshold * rng.uniform(1.2, 1.6, n) - b.wealth, 0
        )


def _funding_legs(
    b: Bank,
    accts: np.ndarray,
    cur: np.ndarray,
    day: np.ndarray,
    amount: np.ndarray,
    tx_type: np.ndarray,
    opening: bool,
) -> None:
    """Internal transfer between a customer's current account and another own account.
    ``opening``: money moves current -> account (placement/purchase), else back."""
    rng, cust = b.rng, b.acc["cust"][accts]
    channel = _channel(b, cust, digital_ok=True)
    sec = _seconds(rng, channel)
    common = {
        "day": day,
        "sec": sec,
        "type": tx_type,
        "amount": amount,
        "channel": channel,
        "cp_type": ref.CP["same_bank"],
        "bank": 0,
    }
    b.ledger.add(acct=accts, credit=opening, cp_name=-(cur + 1), **common)
    b.ledger.add(acct=cur, credit=not opening, cp_name=-(accts + 1), **common)


def _channel(
    b: Bank,
    cust: np.ndarray,
    digital_ok: bool | np.ndarray = True,
    physical: int | np.ndarray = ref.CH["branch"],
) -> np.ndarray:
    rng, k = b.rng, len(cust)
    digital = (rng.random(k) < b.digital[cust]) & digital_ok
    mobile = rng.random(k) < np.where(b.arch[cust] == YOUNG, 0.85, 0.6)
    return np.where(digital, np.where(mobile, ref.CH["mobile"], ref.CH["online"]), physical).astype(
        np.int8
    )


def _seconds(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    lo = np.select(
        [
            channel == ref.CH["system"],
            channel == ref.CH["branch"],
            channel == ref.CH["atm"],
            channel == ref.CH["pos"],
        ],
        [0, 9, 6, 8],
        7,
    )
    hi = np.select(
        [
            channel == ref.CH["system"],
            channel == ref.CH["branch"],
            channel == ref.CH["atm"],
            channel == ref.CH["pos"],
        ],
        [3, 17, 23, 22],
        24,
    )
    return ((lo + rng.random(len(channel)) * (hi - lo)) * 3600).astype(np.int64)


def campaign_at(b: Bank, day: np.ndarray) -> np.ndarray:
    """Index (into b.campaigns) of the deposit-push campaign running on ``day``, or -1."""
    idx = np.searchsorted(b.push_start, day, side="right") - 1
    ok = (idx >= 0) & (day <= b.push_end[np.maximum(idx, 0)])
    return np.where(ok, b.push_ids[np.maximum(idx, 0)], -1)


def open_accounts(b: Bank) -> None:
    """Current accounts, investments, liabilities; time-deposit roll-over chains."""
    rng, n, _cal, D = b.rng, b.n, b.cal, b.D
    cust = np.arange(n)
    current_product = np.where(
        b.corporate, ref.PRODUCT_INDEX["CUR_CORP"], ref.PRODUCT_INDEX["CUR_RETAIL"]
    )
    held = rng.random((n, 5)) < HOLD_P[b.arch]
    # campaign churners hold their deposit in the maturing campaign deposit instead
    held[b.reason == 1, 1] = False
    weights = np.where(held, HOLD_W[b.arch], 0)
    share = weights / weights.sum(axis=1, keepdims=True)
    amount = b.wealth[:, None] * share
    b.current = b.new_accounts(cust, current_product, b.onboard)
    b.cur_share = amount[:, 0]
    pre = b.onboard < 0
    b.pending_opening = cents(amount[:, 0])
    inv_parts = []
    for slot, (retail, corp) in enumerate(
        [
            (None, None),
            (None, "TD_CORP_12M"),
            (("WM_STABLE", "WM_GROWTH"), "WM_CORP"),
            (("FUND_EQUITY", "FUND_BOND"), None),
            (("INS_LIFE",), None),
        ]
    ):
        if slot == 0:
            continue
        who = np.flatnonzero(held[:, slot] & (amount[:, slot] > 0))
        if slot == 1:
            codes = np.array(["TD_3M", "TD_6M", "TD_12M", "TD_36M"])[
                rng.choice(4, len(who), p=[0.2, 0.25, 0.4, 0.15])
            ]
            codes = np.where(b.corporate[who], "TD_CORP_12M", codes)
        else:
            codes = np.array(retail)[rng.integers(0, len(retail), len(who))]
            if corp:
                codes = np.where(b.corporate[who], corp, codes)
        product = np.array([ref.PRODUCT_INDEX[c] for c in codes], dtype=np.int64)
        opened = np.where(
            pre[who],
            b.onboard[who] + rng.integers(0, 400, len(who)),
            b.onboard[who] + rng.integers(1, 45, len(who)),
        )
        opened = np.where(pre[who], np.minimum(opened, -1), opened)
        if slot == 1:  # a deposit held at the start matures within one term of it
            term = np.array([ref.TD_TERMS[c] for c in codes])
            held_since = add_months(rng.integers(1, 1 + term * 29), -term, b.cal.start)
            opened = np.where(pre[who], held_since, opened)
        keep = opened < np.minimum(b.cutoff[who], D - 1)
        inv_parts.append((who[keep], product[keep], opened[keep], cents(amount[who[keep], slot])))
    b.td_queue = []
    for who, product, opened, principal in inv_parts:
        is_td = np.isin(ref.PRODUCT_CATEGORY[product], ["time_deposit"])
        b.td_queue.append((who[is_td], product[is_td], opened[is_td], principal[is_td], None))
        b.investments = getattr(b, "investments", []) + [
            (who[~is_td], product[~is_td], opened[~is_td], principal[~is_td])
        ]
    _plan_campaign_churn_deposits(b)
    _schedule_churn(b)
    _plan_new_deposits(b)
    _liabilities(b)


def _plan_campaign_churn_deposits(b: Bank) -> None:
    """Campaign churners: a campaign time deposit opened in a deposit push that
    matures in the later part of the period; the churn month follows from it."""
    rng, cal = b.rng, b.cal
    who = np.flatnonzero(b.reason == 1)
    if not len(who):
        return
    windows = [(s, e) for s, e in zip(b.push_start, b.push_end, strict=True)]
    days = np.concatenate([np.arange(s, e + 1) for s, e in windows])
    terms = np.array([3, 6, 12])
    k = 60
    open_day = days[rng.integers(0, len(days), (len(who), k))]
    term = terms[rng.integers(0, 3, (len(who), k))]
    maturity = add_months(open_day, term, cal.start)
    # the money must be gone within the month it matured in or the next one
    dom = maturity - cal.month_starts[cal.month_of_day(maturity)]
    ok = (
        (maturity >= cal.month_starts[3])
        & (open_day < maturity)
        & ((maturity < cal.month_starts[-2]) | (dom < 5))
    )
    first = np.argmax(ok, axis=1)
    found = ok[np.arange(len(who)), first]
    who, open_day = who[found], open_day[found, first[found]]
    term, maturity = term[found, first[found]], maturity[found, first[found]]
    b.reason[np.setdiff1d(np.flatnonzero(b.reason == 1), who)] = 4  # no window fits: disengage
    b.churn_day[who] = maturity
    b.churn_month[who] = b.cal.month_of_day(maturity)
    b.cutoff[who] = maturity
    product = np.array([ref.PRODUCT_INDEX[f"TD_{t}M"] for t in term])
    principal = cents(b.wealth[who] * rng.uniform(0.6, 0.8, len(who)))
    b.cur_share[who] = b.wealth[who] - principal / CENTS
    b.pending_opening[who] = cents(np.maximum(b.cur_share[who], 1000))
    b.td_queue.append((who, product, open_day, principal, campaign_at(b, open_day)))


def _schedule_churn(b: Bank) -> None:
    """When each churner's money starts to move (investments are liquidated that day)
    and, for some, when every account is closed (a month after the decline)."""
    rng, cal = b.rng, b.cal
    who = np.flatnonzero(b.reason >= 0)
    r = b.reason[who]
    start = b.churn_day[who] + rng.integers(0, 3, len(who))
    start = np.where(r == 1, b.churn_day[who], start)
    start = np.where(r == 4, cal.month_starts[np.maximum(b.churn_month[who] - 2, 0)], start)
    b.churn_start[who] = start
    b.cutoff[who] = start
    c = b.closing[b.churn_month[b.closing] + 1 < cal.n_months]
    b.close_day[c] = cal.month_starts[b.churn_month[c] + 1] + rng.integers(3, 20, len(c))
    b.active_end[c] = b.close_day[c]


def _plan_new_deposits(b: Bank) -> None:
    """Deposit-push placements during the period and upgrade money parked in deposits."""
    rng, D = b.rng, b.D
    starts, ends = np.maximum(b.push_start, 0), np.minimum(b.push_end, D - 1)
    for s, e, cid in zip(starts, ends, b.push_ids, strict=True):
        if s > e:
            continue
        who = np.flatnonzero((rng.random(b.n) < 0.06) & (b.reason < 0) & ~b.dormant)
        day = rng.integers(s, e + 1, len(who))
        who, day = who[day > b.onboard[who]], day[day > b.onboard[who]]
        product = np.where(
            b.corporate[who],
            ref.PRODUCT_INDEX["TD_CORP_12M"],
            rng.choice([ref.PRODUCT_INDEX[c] for c in ("TD_3M", "TD_6M", "TD_12M")], len(who)),
        )
        principal = cents(np.maximum(b.cur_share[who], 10_000) * rng.uniform(0.3, 0.6, len(who)))
        b.td_queue.append((who, product, day, principal, np.full(len(who), cid)))
    up = np.flatnonzero(b.upgrade_day >= 0)
    day = np.minimum(b.upgrade_day[up] + rng.integers(5, 20, len(up)), D - 1)
    product = np.where(
        b.corporate[up], ref.PRODUCT_INDEX["TD_CORP_12M"], ref.PRODUCT_INDEX["TD_12M"]
    )
    b.td_queue.append((up, product, day, cents(b.upgrade_amount[up] * 0.6), None))


def _liabilities(b: Bank) -> None:
    rng, n, cal, arch = b.rng, b.n, b.cal, b.arch
    free = (b.reason < 0) & ~b.dormant
    loan_specs = [
        ("LOAN_PERSONAL", PERSONAL_LOAN_P, 36, (3, 12)),
        ("LOAN_MORTGAGE", MORTGAGE_P, 240, (60, 150)),
        ("LOAN_BUSINESS", BUSINESS_LOAN_P, 36, (2, 8)),
    ]
    b.loans = []
    for code, probs, term, (lo, hi) in loan_specs:
        who = np.flatnonzero(free & (rng.random(n) < probs[arch]))
        pre = b.onboard[who] < 0
        elapsed = np.where(pre, rng.integers(1, term, len(who)), 1)
        dom = rng.integers(0, 28, len(who))
        open_day = np.where(
            pre,
            add_months(dom, -elapsed, cal.start),
            b.onboard[who] + rng.integers(10, 60, len(who)),
        )
        keep = open_day < b.D - 1
        b.loans.append(
            (
                who[keep],
                ref.PRODUCT_INDEX[code],
                term,
                open_day[keep],
                elapsed[keep],
                cents(b.income[who[keep]] * rng.uniform(lo, hi, keep.sum())),
            )
        )
    who = np.flatnonzero(free & (rng.random(n) < CARD_P[arch]))
    platinum = rng.random(len(who)) < PLATINUM_P[arch[who]]
    product = np.where(
        platinum, ref.PRODUCT_INDEX["CARD_PLATINUM"], ref.PRODUCT_INDEX["CARD_STANDARD"]
    )
    open_day = np.where(
        b.onboard[who] < 0,
        b.onboard[who] + rng.integers(0, 300, len(who)),
        b.onboard[who] + rng.integers(0, 30, len(who)),
    )
    open_day = np.where(b.onboard[who] < 0, np.minimum(open_day, -1), open_day)
    keep = open_day < b.D - 1
    limit = np.where(platinum, rng.uniform(1e5, 3e5, len(who)), rng.uniform(1e4, 5e4, len(who)))
    b.cards = (who[keep], product[keep], open_day[keep], cents(limit[keep]))
    holders = np.unique(np.concatenate([w for w, *_ in b.loans] + [who[keep]]))
    late = holders[rng.random(len(holders)) < 0.04]
    rich = holders[b.wealth[holders] >= 2e6]
    late = np.union1d(late, rich[rng.random(len(rich)) < 0.15][:20])
    if cal.n_months >= 2:
        b.delinquent_from[late] = cal.month_starts[rng.integers(0, cal.n_months - 1, len(late))]


def build_accounts_and_structure(b: Bank) -> None:
    """Create accounts in a fixed order and post their structural events."""
    rng, D, cal = b.rng, b.D, b.cal
    # investments (wealth, fund, insurance): pre-existing or bought, redeemed or liquidated
    b.inv_accounts = []
    for who, product, opened, principal in b.investments:
        natural = np.where(
            (rng.random(len(who)) < 0.15) & (ref.PRODUCT_CATEGORY[product] != "insurance"),
            rng.integers(1, D, len(who)),
            D,
        )
        natural = np.where((natural <= opened) | (natural >= b.active_end[who]), D, natural)
        close = np.minimum(natural, b.cutoff[who])
        close = np.where(close <= opened, D, close)
        accts = b.new_accounts(
            who,
            product,
            opened,
            close_day=close,
            opening=np.where(opened < 0, principal, 0),
            principal=principal,
        )
        b.inv_accounts.append((accts, who, opened, close, principal))
    # time deposits: roll-over chains
    b.td_accounts = []
    queue = list(b.td_queue)
    while queue:
        who, product, opened, principal, campaign = queue.pop(0)
        if not len(who):
            continue
        term = np.array([ref.TD_TERMS[ref.PRODUCT_CODES[p]] for p in product], dtype=np.int64)
        if campaign is None:
            # churners planted for another reason hold no campaign deposits, so the
            # campaign-maturity rule (checked before theirs) cannot claim them
            other_reason = np.isin(b.reason[who], [0, 3, 4])
            campaign = np.where(
                (rng.random(len(who)) < 0.5) & ~other_reason, campaign_at(b, opened), -1
            )
        rate = np.array([ref.TD_RATES[ref.PRODUCT_CODES[p]] for p in product])
        rate = np.round(rate + np.where(campaign >= 0, ref.CAMPAIGN_TD_BONUS, 0), 4)
        maturity = add_months(opened, term, b.cal.start)
        close = np.minimum(maturity, b.cutoff[who])
        close = np.where(close < D, close, D)
        accts = b.new_accounts(
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
        b.td_accounts.append((accts, who, opened, close, principal, maturity, rate, term))
        roll = (
            (maturity < D)
            & (maturity < b.cutoff[who])
            & (maturity < b.active_end[who])
            & (rng.random(len(who)) < 0.65)
        )
        if roll.any():
            queue.append((who[roll], product[roll], maturity[roll], principal[roll], None))
    # liabilities
    b.loan_accounts = []
    for who, product, term, open_day, elapsed, principal in b.loans:
        inst = principal // term
        last = principal - inst * (term - 1)
        owed = np.where(open_day < 0, inst * (term - elapsed) + last, 0)
        accts = b.new_accounts(
            who,
            np.full(len(who), product),
            open_day,
            opening=owed,
            term=np.full(len(who), term),
            principal=principal,
            rate=np.full(
                len(who), 0.0435 if product != ref.PRODUCT_INDEX["LOAN_MORTGAGE"] else 0.039
            ),
            maturity=add_months(open_day, term, cal.start),
        )
        b.loan_accounts.append((accts, who, term, open_day, elapsed, principal, inst, last))
    who, product, open_day, limit = b.cards
    b.card_accounts = b.new_accounts(who, product, open_day, limit=limit)
    b.card_of = np.full(b.n, -1)
    b.card_of[who] = b.card_accounts
    b.card_open = np.full(b.n, D)
    b.card_open[who] = open_day
    b.freeze_accounts()
    # a customer's tenure starts with their first account
    first_open = np.full(b.n, 0)
    np.minimum.at(first_open, b.acc["cust"], b.acc["open_day"])
    b.onboard = np.where(b.onboard < 0, np.minimum(b.onboard, first_open), b.onboard)
    b.acc["open_day"][b.current] = b.onboard
    b.acc["opening"][b.current] = np.where(b.onboard < 0, b.pending_opening, 0)
    _structural_postings(b)


def _structural_postings(b: Bank) -> None:
    rng, D = b.rng, b.D
    cur = b.current
    # opening deposits of customers who join during the period
    new = np.flatnonzero(b.onboard >= 0)
    ch = _channel(b, new, digital_ok=False)
    b.opening_posting = len(b.ledger.parts)
    b.ledger.add(
        acct=cur[new],
        day=b.onboard[new],
        sec=_seconds(rng, ch),
        type=ref.TX["deposit"],
        credit=True,
        amount=b.pending_opening[new],
        channel=ch,
    )
    b.new_customers = new
    for accts, who, opened, close, principal in b.inv_accounts:
        buy = opened >= 0
        _funding_legs(
            b,
            accts[buy],
            cur[who[buy]],
            opened[buy],
            principal[buy],
            ref.TX["wealth_purchase"],
            opening=True,
        )
        out = close < D
        _funding_legs(
            b,
            accts[out],
            cur[who[out]],
            close[out],
            principal[out],
            ref.TX["wealth_redemption"],
            opening=False,
        )
    for accts, who, opened, close, principal, maturity, rate, term in b.td_accounts:
        place = opened >= 0
        _funding_legs(
            b,
            accts[place],
            cur[who[place]],
            opened[place],
            principal[place],
            ref.TX["time_deposit_placement"],
            opening=True,
        )
        out = close < D
        common = {
            "day": close[out],
            "sec": rng.integers(0, 3 * 3600, out.sum()),
            "type": ref.TX["time_deposit_maturity"],
            "amount": principal[out],
            "channel": ref.CH["system"],
            "cp_type": ref.CP["same_bank"],
            "bank": 0,
        }
        b.ledger.add(acct=accts[out], credit=False, cp_name=-(cur[who[out]] + 1), **common)
        b.ledger.add(acct=cur[who[out]], credit=True, cp_name=-(accts[out] + 1), **common)
        matured = out & (close == maturity)
        interest = np.round(principal[matured] * rate[matured] * term[matured] / 12).astype(
            np.int64
        )
        b.ledger.add(
            acct=cur[who[matured]],
            day=close[matured],
            sec=3 * 3600 + 1,
            type=ref.TX["interest_credit"],
            credit=True,
            amount=np.maximum(interest, 1),
            channel=ref.CH["system"],
        )
    _loan_schedule(b)


def _loan_schedule(b: Bank) -> None:
    """Disbursements and instalments of loans; repayment rows for loans."""
    rng, D, cal = b.rng, b.D, b.cal
    cur = b.current
    rows = []
    for accts, who, term, open_day, elapsed, principal, inst, last in b.loan_accounts:
        new = open_day >= 0
        common = {
            "day": open_day[new],
            "sec": rng.integers(0, 3 * 3600, new.sum()),
            "type": ref.TX["loan_disbursement"],
            "amount": principal[new],
            "channel": ref.CH["system"],
            "cp_type": ref.CP["same_bank"],
            "bank": 0,
        }
        b.ledger.add(acct=accts[new], credit=False, cp_name=-(cur[who[new]] + 1), **common)
        b.ledger.add(acct=cur[who[new]], credit=True, cp_name=-(accts[new] + 1), **common)
        k = elapsed[:, None] + np.arange(cal.n_months + 2)[None, :]
        due = add_months(open_day[:, None], k, cal.start)
        valid = (due >= 0) & (due < D) & (k <= term) & (due > open_day[:, None])
        i, j = np.nonzero(valid)
        amount = np.where(k[i, j] == term, last[i], inst[i])
        rows.append((accts[i], who[i], due[i, j], amount, k[i, j] == term))
    if rows:
        accts, who, due, amount, final = (np.concatenate(x) for x in zip(*rows, strict=True))
        _instalments(b, accts, who, due, amount, final, "loan")


def _instalments(
    b: Bank,
    accts: np.ndarray,
    who: np.ndarray,
    due: np.ndarray,
    amount: np.ndarray,
    final: np.ndarray,
    kind: str,
) -> None:
    """Pay (on time, late, or never for delinquents) and record repayment rows."""
    rng, D = b.rng, b.D
    unpaid = due >= b.delinquent_from[who]
    late = ~unpaid & (rng.random(len(due)) < 0.06)
    paid_day = np.where(unpaid, -1, due + np.where(late, rng.integers(1, 25, len(due)), 0))
    unpaid |= paid_day >= D
    paid_day = np.where(unpaid, -1, paid_day)
    pay = paid_day >= 0
    on_time = pay & ~late
    tx_type = np.where(
        kind == "card",
        ref.TX["card_repayment"],
        np.where(on_time, ref.TX["loan_repayment_auto"], ref.TX["loan_repayment_manual"]),
    )
    channel = np.where(
        on_time & (kind == "loan"), ref.CH["system"], _channel(b, who, physical=ref.CH["branch"])
    )
    sec = _seconds(rng, channel)
    cur = b.current[who]
    common = {
        "day": paid_day[pay],
        "sec": sec[pay],
        "type": tx_type[pay],
        "amount": amount[pay],
        "channel": channel[pay],
        "cp_type": ref.CP["same_bank"],
        "bank": 0,
    }
    b.ledger.add(acct=accts[pay], credit=True, cp_name=-(cur[pay] + 1), **common)
    b.ledger.add(acct=cur[pay], credit=False, cp_name=-(accts[pay] + 1), **common)
    closes = pay & final
    b.acc["close_day"][accts[closes]] = paid_day[closes]
    b.instalment_parts = getattr(b, "instalment_parts", []) + [
        (accts, due, paid_day, amount, np.where(pay, amount, 0))
    ]


def regular_activity(b: Bank) -> None:
    """Salary, everyday spending, fees, interest, reversals and upgrade inflows."""
    rng, cal, D, n = b.rng, b.cal, b.D, b.n
    cur = b.current
    ms = cal.month_starts
    m = cal.n_months
    # activity multiplier per customer and month (disengagement fades first)
    mult = np.ones((n, m))
    months = np.arange(m)[None, :]
    churn_m = b.churn_month[:, None]
    is_churner = (b.reason >= 0)[:, None]
    mult = np.where(is_churner & (months >= churn_m), 0.3, mult)
    fade = (b.reason == 4)[:, None]
    mult = np.where(fade & (months == churn_m - 2), 0.5, mult)
    mult = np.where(fade & (months == churn_m - 1), 0.3, mult)
    mult = np.where(fade & (months >= churn_m), 0.15, mult)
    lo = np.maximum(ms[:-1][None, :], b.onboard[:, None] + 1)
    hi = np.minimum(ms[1:][None, :], b.active_end[:, None])
    span = np.clip(hi - lo, 0, None)
    full = (ms[1:] - ms[:-1])[None, :]
    count = rng.poisson(b.rate[:, None] * mult * span / full)
    c_idx, m_idx = np.nonzero(count)
    reps = count[c_idx, m_idx]
    cust = np.repeat(c_idx, reps)
    day = np.repeat(lo[c_idx, m_idx], reps) + (
        rng.random(reps.sum()) * np.repeat(span[c_idx, m_idx], reps)
    ).astype(np.int64)
    arch = b.arch[cust]
    kind = _pick(rng, SPEND_P[arch])
    k = len(cust)
    # amounts: outflows spend a share of income, inflows bring income for non-payroll customers
    loan_due = np.zeros(n)
    for accts, who, term, *_rest, inst, _last in b.loan_accounts:
        np.add.at(loan_due, who, inst / CENTS)
    p_out = (SPEND_P[b.arch][:, ~IS_INFLOW] * SPEND_W[~IS_INFLOW]).sum(axis=1)
    p_in = SPEND_P[b.arch][:, IS_INFLOW].sum(axis=1)
    budget = np.maximum(
        0.2 * b.income,
        b.income * rng.uniform(SPEND_SHARE[b.arch, 0], SPEND_SHARE[b.arch, 1]) - loan_due,
    )
    out_unit = budget / np.maximum(b.rate * p_out, 0.1)
    in_unit = b.income * 0.08 / np.maximum(b.rate * p_in, 0.1)
    noise = np.exp(rng.normal(-0.245, 0.7, k))
    amount = np.where(IS_INFLOW[kind], in_unit[cust], out_unit[cust] * SPEND_W[kind]) * noise
    tx_type = SPEND_TYPES[kind]
    is_card = tx_type == ref.TX["card_spend"]
    on_card = is_card & (b.card_of[cust] >= 0) & (day > b.card_open[cust]) & (rng.random(k) < 0.7)
    acct = np.where(on_card, b.card_of[cust], cur[cust])
    physical = np.select(
        [is_card | (tx_type == ref.TX["merchant_payment"]), tx_type == ref.TX["withdrawal"]],
        [ref.CH["pos"], ref.CH["atm"]],
        ref.CH["branch"],
    )
    physical = np.where(
        (tx_type == ref.TX["withdrawal"]) & (rng.random(k) < 0.3), ref.CH["branch"], physical
    )
    digital_ok = (tx_type != ref.TX["withdrawal"]) & (tx_type != ref.TX["deposit"])
    digital_ok &= ~is_card | (rng.random(k) < 0.35)
    channel = _channel(b, cust, digital_ok=digital_ok, physical=physical)
    merchant = np.isin(
        tx_type, [ref.TX["card_spend"], ref.TX["merchant_payment"], ref.TX["bill_payment"]]
    )
    transfer = np.isin(tx_type, [ref.TX["transfer_in"], ref.TX["transfer_out"]])
    other_bank = transfer & (rng.random(k) < 0.55)
    cp_type = np.select(
        [merchant, other_bank, transfer],
        [ref.CP["merchant"], ref.CP["other_bank"], ref.CP["same_bank"]],
        ref.CP["none"],
    )
    mcat = np.where(
        tx_type == ref.TX["bill_payment"],
        rng.choice([3, 4, 5], k),
        rng.choice(9, k, p=[0.25, 0.2, 0.06, 0.04, 0.04, 0.06, 0.2, 0.05, 0.1]),
    )
    cp_name = np.select(
        [merchant, transfer],
        [rng.integers(0, b.person0, k), b.person0 + rng.integers(0, 3000, k)],
        NO_NAME,
    )
    bank = np.select([other_bank, transfer], [rng.integers(1, len(ref.BANK_CODES), k), 0], -1)
    b.ledger.add(
        acct=acct,
        day=day,
        sec=_seconds(rng, channel),
        type=tx_type,
        credit=IS_INFLOW[kind],
        amount=cents(amount),
        channel=channel,
        cp_type=cp_type,
        cp_name=cp_name,
        bank=bank,
        mcat=np.where(merchant, mcat, -1),
    )
    # a few reversals of debits, posted by the system 1-3 days later
    rev = np.flatnonzero(~IS_INFLOW[kind] & (rng.random(k) < 0.0015))
    rday = day[rev] + rng.integers(1, 4, len(rev))
    keep = rday < np.minimum(b.active_end[cust[rev]], D)
    rev, rday = rev[keep], rday[keep]
    b.ledger.add(
        acct=acct[rev],
        day=rday,
        sec=rng.integers(0, 3 * 3600, len(rev)),
        type=ref.TX["reversal"],
        credit=True,
        amount=cents(amount[rev]),
        channel=ref.CH["system"],
    )
    _salaries(b)
    _business_income(b)
    _fees_and_interest(b)
    _card_statements(b)
    up = np.flatnonzero(b.upgrade_day >= 0)
    b.ledger.add(
        acct=cur[up],
        day=b.upgrade_day[up],
        sec=_seconds(rng, np.full(len(up), 7)),
        type=ref.TX["transfer_in"],
        credit=True,
        amount=cents(b.upgrade_amount[up]),
        channel=_channel(b, up),
        cp_type=ref.CP["other_bank"],
        cp_name=b.person0 + rng.integers(0, 3000, len(up)),
        bank=rng.integers(1, len(ref.BANK_CODES), len(up)),
    )


def _salaries(b: Bank) -> None:
    rng, cal = b.rng, b.cal
    who = np.flatnonzero(b.salaried)
    days = cal.month_starts[:-1][None, :] + b.payday[who][:, None]
    days = np.minimum(days, cal.month_starts[1:][None, :] - 1)
    # rate-competition churners move their payroll away; disengaging ones fade out
    stop = np.select(
        [b.reason[who] == 0, b.reason[who] == 4],
        [b.churn_day[who], b.churn_start[who]],
        b.active_end[who],
    )
    ok = (days > b.onboard[who][:, None]) & (days < stop[:, None])
    i, j = np.nonzero(ok)
    c = who[i]
    pension = b.arch[c] == RET
    b.ledger.add(
        acct=b.current[c],
        day=days[i, j],
        sec=rng.integers(3600, 3 * 3600, len(c)),
        type=ref.TX["salary_credit"],
        credit=True,
        amount=cents(b.income[c] * rng.normal(1, 0.03, len(c))),
        channel=ref.CH["system"],
        cp_type=np.where(pension, ref.CP["government"], ref.CP["employer"]),
        cp_name=np.where(pension, b.pension_name, b.employer[c]),
        bank=np.where(rng.random(len(c)) < 0.5, 0, rng.integers(1, len(ref.BANK_CODES), len(c))),
    )


def _business_income(b: Bank) -> None:
    """Customers without payroll get their income as regular incoming transfers
    (clients, rents, dividends): three a month, so balances do not swing wildly."""
    rng, cal = b.rng, b.cal
    who = np.flatnonzero(~b.salaried)
    offsets = np.array([0, 10, 20])
    days = (
        cal.month_starts[:-1][None, :, None]
        + (b.payday[who] % 10)[:, None, None]
        + offsets[None, None, :]
    )
    days = np.minimum(days, cal.month_starts[1:][None, :, None] - 1).reshape(len(who), -1)
    stop = np.where(
        b.reason[who] >= 0, np.minimum(b.churn_day[who], b.churn_start[who]), b.active_end[who]
    )
    ok = (days > b.onboard[who][:, None]) & (days < stop[:, None])
    i, j = np.nonzero(ok)
    c = who[i]
    other = rng.random(len(c)) < 0.6
    channel = _channel(b, c)
    b.ledger.add(
        acct=b.current[c],
        day=days[i, j],
        sec=_seconds(rng, channel),
        type=ref.TX["transfer_in"],
        credit=True,
        amount=cents(b.income[c] / 3 * rng.normal(1, 0.15, len(c)).clip(0.5)),
        channel=channel,
        cp_type=np.where(other, ref.CP["other_bank"], ref.CP["same_bank"]),
        cp_name=np.where(
            b.corporate[c],
            rng.integers(0, b.person0, len(c)),
            b.person0 + rng.integers(0, 3000, len(c)),
        ),
        bank=np.where(other, rng.integers(1, len(ref.BANK_CODES), len(c)), 0),
    )


def _fees_and_interest(b: Bank) -> None:
    rng, cal, n = b.rng, b.cal, b.n
    cur = b.current
    open_from = np.maximum(b.onboard, 0)
    fee_payer = b.corporate | (rng.random(n) < 0.12)
    fee = np.where(b.corporate, rng.uniform(50, 300, n), 10.0)
    for month in range(cal.n_months):
        day = cal.month_starts[month] + 27
        label = cal.month_label(month)
        who = np.flatnonzero(fee_payer & (open_from < day) & (b.close_day > day))
        b.ledger.add(
            acct=cur[who],
            day=min(day, b.D - 1),
            sec=3600,
            type=ref.TX["fee_charge"],
            credit=False,
            amount=cents(fee[who]),
            channel=ref.CH["system"],
        )
        if label[-2:] in ("03", "06", "09", "12"):
            day = cal.month_starts[month] + 20
            who = np.flatnonzero((open_from < day) & (b.close_day > day))
            amount = np.round(np.maximum(b.cur_share[who], 0) * 0.0025 / 4, 2)
            who, amount = who[amount >= 0.01], amount[amount >= 0.01]
            b.ledger.add(
                acct=cur[who],
                day=day,
                sec=2 * 3600,
                type=ref.TX["interest_credit"],
                credit=True,
                amount=cents(amount),
                channel=ref.CH["system"],
            )
    cards = b.card_accounts
    opened = b.acc["open_day"][cards]
    annual = add_months(
        opened, (np.ceil(np.maximum(-opened, 1) / 365.25) * 12).astype(np.int64), cal.start
    )
    ok = (annual >= 0) & (annual < b.D)
    platinum = b.acc["product"][cards] == ref.PRODUCT_INDEX["CARD_PLATINUM"]
    b.ledger.add(
        acct=cards[ok],
        day=annual[ok],
        sec=3600,
        type=ref.TX["fee_charge"],
        credit=False,
        amount=np.where(platinum[ok], 100_000, 10_000),
        channel=ref.CH["system"],
    )
    adjust = np.flatnonzero(rng.random(n) < 0.002 * cal.n_months)
    day = rng.integers(0, b.D, len(adjust))
    ok = (day > b.onboard[adjust]) & (day < b.close_day[adjust])
    b.ledger.add(
        acct=cur[adjust[ok]],
        day=day[ok],
        sec=3600,
        type=ref.TX["system_adjustment"],
        credit=True,
        amount=cents(rng.uniform(0.01, 50, ok.sum())),
        channel=ref.CH["system"],
    )


def _card_statements(b: Bank) -> None:
    """Card owed at each month end is due on the 25th of the next month."""
    cal = b.cal
    p = b.ledger.merged()
    is_card = np.zeros(len(b.acc["cust"]), bool)
    is_card[b.card_accounts] = True
    on_card = is_card[p["acct"]]
    acct, day = p["acct"][on_card], p["day"][on_card]
    delta = np.where(p["credit"][on_card], -1, 1) * p["amount"][on_card]
    month = cal.month_of_day(day)
    slot = np.searchsorted(b.card_accounts, acct)
    spent = np.bincount(
        slot * cal.n_months + month, delta, minlength=len(b.card_accounts) * cal.n_months
    )
    spent = np.round(spent).astype(np.int64).reshape(len(b.card_accounts), cal.n_months)
    due_month = np.arange(1, cal.n_months)
    i, j = np.nonzero(spent[:, :-1] > 0)
    due = cal.month_starts[due_month[j]] + 24
    ok = due < b.D
    accts = b.card_accounts[i[ok]]
    _instalments(
        b,
        accts,
        b.acc["cust"][accts],
        due[ok],
        spent[i[ok], j[ok]],
        np.zeros(ok.sum(), bool),
        "card",
    )


def fix_deficits(b: Bank) -> None:
    """Raise opening balances so no deposit account ever goes below zero (the
    customer had the money before it was needed)."""
    p = b.ledger.merged()
    run = running_balances(p, b.acc["opening"], b.acc_liability)
    acct = p["acct"]
    starts = np.flatnonzero(np.r_[True, acct[1:] != acct[:-1]])
    low = np.minimum.reduceat(run, starts)
    owners = acct[starts]
    short = (low < 0) & b.acc_current[owners]
    raise_by = np.zeros(len(b.acc["cust"]), np.int64)
    raise_by[owners[short]] = -low[short] + b.rng.integers(100, 2000, short.sum()) * CENTS
    b.acc["opening"] += np.where(b.acc["open_day"] < 0, raise_by, 0)
    new = b.new_customers
    if len(new):
        part = b.ledger.parts[b.opening_posting]
        part["amount"] += raise_by[b.current[new]]
        b.pending_opening[new] += raise_by[b.current[new]]
    b.ledger._merged = None


def churn_outflows(b: Bank) -> None:
    """The money that leaves planted churners, as a share of their balance when it starts."""
    rng, D = b.rng, b.D
    p = b.ledger.merged()
    opening = np.where(b.acc["open_day"] < 0, b.acc["opening"], 0)
    run = running_balances(p, opening, b.acc_liability)
    who = np.flatnonzero(b.reason >= 0)
    reason, start = b.reason[who], b.churn_start[who]
    base = balance_at(p, run, opening, b.current[who], np.minimum(start, D - 1))
    last_day = np.minimum(b.close_day, D) - 1  # money leaves before the accounts close
    plans = {  # reason -> (number of outflows, first day offset, spread in days, total share)
        0: (4, 1, 14, 0.9),
        1: (2, 2, 12, 0.9),
        2: (1, 1, 5, 0.85),
        3: (4, 1, 10, 0.9),
    }
    for r, (k, first, spread, total) in plans.items():
        sel = reason == r
        c, s, base_r = who[sel], start[sel], base[sel]
        split = rng.dirichlet(np.ones(k), len(c)) * total
        for j in range(k):
            day = np.minimum(s + first + rng.integers(0, spread, len(c)), last_day[c])
            amount = np.maximum(base_r * split[:, j], CENTS).astype(np.int64)
            _outflow(b, c, day, amount, r, j)
    sel = reason == 4
    c, base_r, cm = who[sel], base[sel], b.churn_month[who[sel]]
    for j, (month_off, share) in enumerate([(-2, 0.12), (-1, 0.12), (0, 0.35), (0, 0.33)]):
        ms = b.cal.month_starts[cm + month_off]
        day = np.minimum(ms + rng.integers(0, 10 if month_off == 0 else 25, len(c)), last_day[c])
        _outflow(b, c, day, (base_r * share).astype(np.int64), 4, j)
    b.ledger._merged = None


def _outflow(
    b: Bank, cust: np.ndarray, day: np.ndarray, amount: np.ndarray, reason: int, j: int
) -> None:
    rng, k = b.rng, len(cust)
    if reason in (0, 1):  # to another bank (campaign money partly to own bank's customers)
        other = np.ones(k, bool) if reason == 0 else rng.random(k) < 0.7
        kind = np.where(other, ref.TX["transfer_out"], ref.TX["transfer_out"])
    elif reason == 2:
        other = np.zeros(k, bool)
        kind = np.full(k, ref.TX["merchant_payment"])
    elif reason == 3:  # mixed: first leg to another bank (~25%), rest own bank or cash
        other = np.full(k, j == 0)
        kind = np.where(rng.random(k) < 0.4, ref.TX["withdrawal"], ref.TX["transfer_out"])
        kind = np.where(other, ref.TX["transfer_out"], kind)
    else:
        other = np.zeros(k, bool)
        kind = np.where(rng.random(k) < 0.7, ref.TX["withdrawal"], ref.TX["transfer_out"])
    if reason == 3 and j == 0:
        amount = (amount * 0.9).astype(np.int64)
    cash = kind == ref.TX["withdrawal"]
    channel = _channel(
        b, cust, digital_ok=~cash, physical=np.where(cash, ref.CH["atm"], ref.CH["branch"])
    )
    cp_type = np.select(
        [reason == 2, other, cash],
        [ref.CP["merchant"], ref.CP["other_bank"], ref.CP["none"]],
        ref.CP["same_bank"],
    )
    if reason == 2:
        cp_name = b.developer0 + rng.integers(0, len(DEVELOPERS), k)
    else:
        cp_name = np.where(cash, NO_NAME, b.person0 + rng.integers(0, 3000, k))
    bank = np.select([other, cash], [1 + (cust % (len(ref.BANK_CODES) - 1)), -1], 0)
    b.ledger.add(
        acct=b.current[cust],
        day=day,
        sec=_seconds(rng, channel),
        type=kind,
        credit=False,
        amount=amount,
        channel=channel,
        cp_type=cp_type,
        cp_name=cp_name,
        bank=bank,
        mcat=ref.MCAT["real_estate"] if reason == 2 else -1,
    )


def closures(b: Bank) -> None:
    """Closing customers sweep what is left and close every account."""
    p = b.ledger.merged()
    opening = np.where(b.acc["open_day"] < 0, b.acc["opening"], 0)
    run = running_balances(p, opening, b.acc_liability)
    who = np.flatnonzero(b.close_day < b.D)
    day = b.close_day[who]
    left = balance_at(p, run, opening, b.current[who], day)
    pos = left > 0
    c = who[pos]
    other = b.rng.random(len(c)) < 0.6
    b.ledger.add(
        acct=b.current[c],
        day=day[pos],
        sec=86_000,
        type=ref.TX["transfer_out"],
        credit=False,
        amount=left[pos],
        channel=_channel(b, c),
        cp_type=np.where(other, ref.CP["other_bank"], ref.CP["same_bank"]),
        cp_name=b.person0 + b.rng.integers(0, 3000, len(c)),
        bank=np.where(other, 1 + (c % (len(ref.BANK_CODES) - 1)), 0),
    )
    owned = np.isin(b.acc["cust"], who)
    still_open = owned & (b.acc["close_day"] >= b.D)
    b.acc["close_day"][still_open] = b.close_day[b.acc["cust"][still_open]]


def crm(b: Bank) -> None:
    """Complaints (background and before dissatisfied churn) and campaign contacts."""
    rng, D, n, cal = b.rng, b.D, b.n, b.cal
    count = rng.poisson(0.004 * cal.n_months, n)
    cust = np.repeat(np.arange(n), count)
    day = rng.integers(0, D, len(cust))
    quiet = (
        (b.reason[cust] == 4) & (day >= b.churn_day[cust] - 120) & (day <= b.churn_day[cust] + 30)
    )
    ok = ~quiet & (day > b.onboard[cust]) & (day < b.close_day[cust])
    cust, day = cust[ok], day[ok]
    sad = np.flatnonzero(b.reason == 3)
    k = rng.integers(1, 4, len(sad))
    sad_c = np.repeat(sad, k)
    sad_d = b.churn_day[sad_c] - rng.integers(10, 80, len(sad_c))
    cust, day = np.concatenate([cust, sad_c]), np.concatenate([day, sad_d])
    sad_flag = np.r_[np.zeros(ok.sum(), bool), np.ones(len(sad_c), bool)]
    m = len(cust)
    category = np.where(sad_flag, rng.choice([1, 0, 3], m), rng.integers(0, 6, m))
    severity = np.where(sad_flag, rng.choice([1, 2], m), rng.choice(3, m, p=[0.6, 0.3, 0.1]))
    resolved = day + rng.integers(0, 21, m)
    resolved = np.where((rng.random(m) < 0.1) | (resolved >= D), -1, resolved)
    b.complaints = {
        "cust": cust,
        "day": day,
        "category": category,
        "severity": severity,
        "channel": _contact_channel(b, cust),
        "resolved": resolved,
    }
    # campaign contacts: accepted for every campaign deposit, random otherwise
    cid, cday = [], []
    for accts, who, opened, *_ in b.td_accounts:
        camp = b.acc["campaign"][accts]
        sel = (camp >= 0) & (opened >= 0)
        cid.append(camp[sel])
        cday.append(
            np.maximum(
                opened[sel] - rng.integers(0, 7, sel.sum()),
                np.maximum(b.camp_start[camp[sel]], b.onboard[who[sel]] + 1).clip(0),
            )
        )
        cust_list = who[sel]
        b._contacts = getattr(b, "_contacts", []) + [
            (cust_list, camp[sel], cday[-1], np.zeros(sel.sum(), np.int64))
        ]
    for i, (s, e) in enumerate(zip(b.camp_start, b.camp_end, strict=True)):
        s, e = max(s, 0), min(e, D - 1)
        if s > e:
            continue
        who = np.flatnonzero(rng.random(n) < 0.03)
        day = rng.integers(s, e + 1, len(who))
        ok = (day > b.onboard[who]) & (day < b.close_day[who])
        response = rng.choice(3, ok.sum(), p=[0.1, 0.3, 0.6])
        b._contacts.append((who[ok], np.full(ok.sum(), i), day[ok], response))
    parts = b._contacts
    cust = np.concatenate([p[0] for p in parts])
    b.contacts = {
        "cust": cust,
        "campaign": np.concatenate([p[1] for p in parts]),
        "day": np.concatenate([p[2] for p in parts]),
        "channel": _contact_channel(b, cust),
        "response": np.concatenate([p[3] for p in parts]),
    }


def _contact_channel(b: Bank, cust: np.ndarray) -> np.ndarray:
    """Index into CONTACT_CHANNELS (phone, sms, app, branch, email) by digital preference."""
    rng, k = b.rng, len(cust)
    digital = rng.random(k) < b.digital[cust]
    return np.where(digital, rng.choice([1, 2, 4], k, p=[0.3, 0.5, 0.2]), rng.choice([0, 3], k))


def simulate(n: int, cal: Calendar, rng: np.random.Generator, pools: Pools) -> Bank:
    """Run every step of the simulation in order."""
    b = Bank(n, cal, rng, pools)
    b.campaigns = ref.campaigns(cal)
    b.branches = ref.branches(rng)
    starts = np.array([np.datetime64(c[3]) for c in b.campaigns]) - cal.start
    ends = np.array([np.datetime64(c[4]) for c in b.campaigns]) - cal.start
    b.camp_start, b.camp_end = starts.astype(np.int64), ends.astype(np.int64)
    push = np.array([c[2] == "deposit_push" for c in b.campaigns])
    order = np.argsort(b.camp_start[push], kind="stable")
    b.push_ids = np.flatnonzero(push)[order]
    b.push_start, b.push_end = b.camp_start[b.push_ids], b.camp_end[b.push_ids]
    plan_customers(b)
    open_accounts(b)
    build_accounts_and_structure(b)
    regular_activity(b)
    fix_deficits(b)
    churn_outflows(b)
    fix_deficits(b)
    closures(b)
    crm(b)
    return b
