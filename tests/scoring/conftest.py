"""A small synthetic bank (mart rows, signal rows with the churn label, transactions,
holdings) and a temporary warehouse holding every table scoring.warehouse_io reads."""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from include.config import Settings, load_settings
from include.warehouse import connect
from scoring.business_rules import business_rules, read_seed
from scoring.features import MART_COLUMNS, SIGNAL_COLUMNS

RULES = business_rules()
LABEL_HORIZON = RULES.churn_label_horizon_months
# docs/metrics.md value churn, simplified for the fixture: AUM below half of month M's
VALUE_CHURN_RATIO = 0.5
# not the code's defaults (0.2 / 0.5), so a test can tell the seed was read
RISK_BANDS_SEED = (("low", 0.0, 0.25), ("medium", 0.25, 0.6), ("high", 0.6, 1.01))
# (product_code, product_category, is_aum, is_investment), as the seed product_categories
PRODUCTS = (
    ("CA01", "current_account", True, False),
    ("TD01", "time_deposit", True, False),
    ("FD01", "fund", True, True),
    ("CC01", "credit_card", False, False),
)


def add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass
class SyntheticBank:
    months: pd.DataFrame  # fct_customer_months: MART_COLUMNS + contribution_amount
    signals: pd.DataFrame  # fct_customer_signal_months: SIGNAL_COLUMNS
    transactions: pd.DataFrame  # fct_transactions: customer_id, transaction_date, initiated
    accounts: pd.DataFrame  # the customers' accounts: customer_id, product_code, closed_date


def value_tier(customer_type: str, aum: float) -> str:
    """The highest tier of the seed value_tier_thresholds whose minimum ``aum`` reaches."""
    reached = [
        (float(row["min_month_average_aum"]), row["value_tier"])
        for row in read_seed("value_tier_thresholds")
        if row["customer_type"] == customer_type and aum >= float(row["min_month_average_aum"])
    ]
    return max(reached)[1]


def _customer_rows(
    rng: np.random.Generator, number: int, months: int, first_month: date
) -> tuple[list[dict], list[dict], list[dict]]:
    """Mart rows, signal rows (without label) and accounts of one customer.

    Some customers drift away: from a random month on their AUM decays and their
    transactions and payroll dry up; four months later they close. From two months
    before the drift (the first month whose label fires) they complain and move
    money to other banks, so signals and features can see the churn coming."""
    customer_id = f"C{number:05d}"
    customer_type = "corporate" if rng.random() < 0.15 else "retail"
    level = float(rng.lognormal(mean=11.0, sigma=1.2))
    rate = float(np.clip(rng.lognormal(mean=1.3, sigma=0.7), 0.3, 15.0))
    # Gamma-Gamma's assumption: each transaction earns a gamma-distributed amount
    # around the customer's own mean, and those means vary between customers
    value_per_transaction = 3.0 / float(rng.gamma(shape=4.0, scale=1.0 / 60.0))
    has_payroll = customer_type == "retail" and rng.random() < 0.6
    joined = int(rng.integers(0, 4))
    drift_start = int(rng.integers(3, months + 4)) if rng.random() < 0.35 else None
    mart: list[dict] = []
    signals: list[dict] = []
    closed_on: date | None = None
    codes = ["CA01", *(code for code in ("TD01", "FD01", "CC01") if rng.random() < 0.4)]
    aum_codes = [code for code, _, is_aum, _ in PRODUCTS if is_aum and code in codes]
    investment_share = round(
        sum(code in aum_codes for code, _, _, is_investment in PRODUCTS if is_investment)
        / len(aum_codes),
        4,
    )
    for offset in range(joined, months):
        month = add_months(first_month, offset)
        drifting = drift_start is not None and offset >= drift_start
        warning = drift_start is not None and offset >= drift_start - 2
        steps = offset - drift_start + 1 if drifting else 0
        if steps > 4:
            break  # closed: the mart has no more rows for the customer
        aum = level * (0.55**steps) * float(rng.uniform(0.9, 1.1))
        count = 0 if steps >= 2 else int(rng.poisson(rate * (0.3**steps)))
        digital = int(rng.binomial(count, 0.6))
        is_active = count >= RULES.active_transaction_threshold
        closing = drifting and steps == 4
        if closing:
            closed_on = date(month.year, month.month, 20)
        payroll = int(has_payroll and not drifting)
        mart.append(
            {
                "customer_id": customer_id,
                "month_start_date": month,
                "customer_type": customer_type,
                "month_average_aum": aum,
                "month_end_aum": aum * float(rng.uniform(0.8, 1.2)),
                "customer_initiated_transaction_count": count,
                "digital_transaction_count": digital,
                "is_active": is_active,
                "is_digitally_active": is_active and digital >= 1,
                "has_open_account": not closing,
                "value_tier": value_tier(customer_type, aum),
                "payroll_credit_count": payroll,
                "contribution_amount": round(
                    float(rng.gamma(3.0, value_per_transaction / 3.0, size=count).sum()), 2
                ),
            }
        )
        # the customer's months are consecutive, so the last rows are the last months
        previous = mart[-4:-1]
        # the dbt definitions: prior average of exactly 3 months; trend against the
        # month 3 months before (empty without it or when its AUM is 0)
        prior = (
            round(float(np.mean([row["month_average_aum"] for row in previous])), 2)
            if len(previous) == 3
            else None
        )
        earlier = mart[-4]["month_average_aum"] if len(mart) >= 4 else 0.0
        trend = round(aum / earlier - 1, 4) if earlier > 0 else None
        had_payroll = len(previous) == 3 and all(row["payroll_credit_count"] for row in previous)
        active = [row["is_active"] for row in mart]
        maturing = rng.random() < 0.08
        maturing_amount = round(aum * float(rng.uniform(0.1, 0.5)), 2) if maturing else 0.0
        other_bank_share = rng.uniform(0.5, 0.95) if warning else rng.uniform(0.0, 0.4)
        property_payment = round(aum * 0.6, 2) if rng.random() < 0.02 else 0.0
        signals.append(
            {
                "customer_id": customer_id,
                "month_start_date": month,
                "aum_trend_3m": trend,
                "prior_3m_average_aum": prior,
                "other_bank_outflow_share_3m": round(float(other_bank_share), 4),
                "maturing_time_deposit_count_30d": int(maturing),
                "maturing_time_deposit_amount_30d": maturing_amount,
                "is_payroll_missing": payroll == 0 and had_payroll,
                "complaint_count_90d": int(rng.random() < (0.5 if warning else 0.03)),
                "active_months_3m": sum(active[-3:]),
                "active_months_fall": sum(active[-6:-3]) - sum(active[-3:]),
                "matured_campaign_deposit_count_3m": int(rng.random() < 0.05),
                "largest_real_estate_payment_amount_3m": property_payment,
                "real_estate_payment_share_of_prior_aum_3m": (
                    round(property_payment / prior, 4) if prior else None
                ),
                # accounts close on the 20th of the closing month: none open at its end
                "investment_account_share": None if closing else investment_share,
            }
        )
    accounts = [
        {"customer_id": customer_id, "product_code": code, "closed_date": closed_on}
        for code in codes
    ]
    return mart, signals, accounts


def churn_labels(months: pd.DataFrame, last_month: date) -> pd.Series:
    """The fixture's churn_label_3m per mart row (same index): True when in M+1..M+3
    the customer has no row, no open account or less than half of month M's AUM;
    NULL when M+3 is after ``last_month`` (the horizon is not observed yet)."""
    index = [value.year * 12 + value.month - 1 for value in months["month_start_date"]]
    last = last_month.year * 12 + last_month.month - 1
    later = {
        (customer_id, month): (is_open, aum)
        for customer_id, month, is_open, aum in zip(
            months["customer_id"],
            index,
            months["has_open_account"],
            months["month_average_aum"],
            strict=True,
        )
    }
    labels: list[object] = []
    for customer_id, month, aum in zip(
        months["customer_id"], index, months["month_average_aum"], strict=True
    ):
        if month + LABEL_HORIZON > last:
            labels.append(pd.NA)
            continue
        ahead = [later.get((customer_id, month + step)) for step in range(1, LABEL_HORIZON + 1)]
        labels.append(
            any(row is None or not row[0] or row[1] < VALUE_CHURN_RATIO * aum for row in ahead)
        )
    return pd.Series(labels, index=months.index, dtype="boolean")


def synthetic_transactions(months: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The mart's customer-initiated transactions on random days of their month, plus
    one payroll credit (not customer-initiated) per payroll month."""
    rng = np.random.default_rng(seed)
    frames = []
    for column, initiated in (
        ("customer_initiated_transaction_count", True),
        ("payroll_credit_count", False),
    ):
        counts = months[column].to_numpy(dtype="int64")
        rows = months.loc[months.index.repeat(counts)]
        lengths = rows["month_start_date"].map(
            lambda value: calendar.monthrange(value.year, value.month)[1]
        )
        days = rng.integers(0, lengths.to_numpy(dtype="int64"))
        frames.append(
            pd.DataFrame(
                {
                    "customer_id": rows["customer_id"].to_numpy(),
                    "transaction_date": pd.to_datetime(rows["month_start_date"]).to_numpy()
                    + days.astype("timedelta64[D]"),
                    "is_customer_initiated": initiated,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def synthetic_bank(
    customers: int = 300, months: int = 15, seed: int = 7, first_month: date = date(2023, 1, 1)
) -> SyntheticBank:
    """A bank of ``customers`` over ``months`` months from ``first_month`` (see
    ``_customer_rows``); labels are NULL for the last three months."""
    rng = np.random.default_rng(seed)
    mart_rows: list[dict] = []
    signal_rows: list[dict] = []
    account_rows: list[dict] = []
    for number in range(customers):
        mart, signals, accounts = _customer_rows(rng, number, months, first_month)
        mart_rows += mart
        signal_rows += signals
        account_rows += accounts
    mart_frame = pd.DataFrame(mart_rows, columns=[*MART_COLUMNS, "contribution_amount"])
    signal_frame = pd.DataFrame(signal_rows, columns=list(SIGNAL_COLUMNS[:-1]))
    signal_frame["churn_label_3m"] = churn_labels(
        mart_frame, add_months(first_month, months - 1)
    ).to_numpy()
    return SyntheticBank(
        months=mart_frame,
        signals=signal_frame,
        transactions=synthetic_transactions(mart_frame, seed),
        accounts=pd.DataFrame(account_rows, columns=["customer_id", "product_code", "closed_date"]),
    )


WAREHOUSE_DDL = """
create schema if not exists marts;
create schema if not exists seeds;
create or replace table marts.fct_customer_months (
    customer_id varchar, month_start_date date, customer_type varchar,
    month_average_aum double, month_end_aum double,
    customer_initiated_transaction_count integer, digital_transaction_count integer,
    is_active boolean, is_digitally_active boolean, has_open_account boolean,
    value_tier varchar, payroll_credit_count integer, contribution_amount decimal(18, 2),
    customer_initiated_transaction_days integer, first_customer_initiated_date date,
    last_customer_initiated_date date
);
create or replace table marts.fct_customer_signal_months (
    customer_id varchar, month_start_date date, aum_trend_3m decimal(12, 4),
    prior_3m_average_aum decimal(18, 2),
    other_bank_outflow_share_3m decimal(9, 4), maturing_time_deposit_count_30d integer,
    maturing_time_deposit_amount_30d decimal(18, 2), is_payroll_missing boolean,
    complaint_count_90d integer, active_months_3m integer, active_months_fall integer,
    matured_campaign_deposit_count_3m integer,
    largest_real_estate_payment_amount_3m decimal(18, 2),
    real_estate_payment_share_of_prior_aum_3m decimal(12, 4),
    investment_account_share decimal(9, 4), churn_label_3m boolean
);
create or replace table marts.fct_transactions (
    customer_id varchar, transaction_date date, is_customer_initiated boolean
);
create or replace table marts.mart_customer_loyalty (customer_id varchar, product_depth integer);
create or replace table seeds.churn_risk_bands (
    churn_risk_band varchar, min_churn_probability decimal(5, 2),
    max_churn_probability decimal(5, 2)
);
"""


def with_transaction_days(months: pd.DataFrame, transactions: pd.DataFrame) -> pd.DataFrame:
    """``months`` with what fct_customer_months says of the customer-initiated
    ``transactions``: the month's transaction days and the customer's first and last
    customer-initiated date up to the month's end."""
    initiated = transactions.loc[transactions["is_customer_initiated"]].assign(
        transaction_date=lambda frame: pd.to_datetime(frame["transaction_date"]),
    )
    initiated["month_start_date"] = initiated["transaction_date"].dt.to_period("M").dt.start_time
    per_month = initiated.groupby(["customer_id", "month_start_date"]).agg(
        customer_initiated_transaction_days=("transaction_date", "nunique"),
        first_in_month=("transaction_date", "min"),
        last_in_month=("transaction_date", "max"),
    )
    keys = months.assign(month_start_date=pd.to_datetime(months["month_start_date"]))
    joined = keys.merge(per_month, on=["customer_id", "month_start_date"], how="left")
    joined = joined.sort_values(["customer_id", "month_start_date"])
    by_customer = joined.groupby("customer_id")
    joined["first_customer_initiated_date"] = by_customer["first_in_month"].cummin()
    joined["last_customer_initiated_date"] = by_customer["last_in_month"].cummax()
    joined["customer_initiated_transaction_days"] = (
        joined["customer_initiated_transaction_days"].fillna(0).astype("int64")
    )
    joined["month_start_date"] = joined["month_start_date"].dt.date
    return joined.drop(columns=["first_in_month", "last_in_month"]).sort_index()


def write_warehouse(warehouse_path: Path, bank: SyntheticBank) -> None:
    """(Re)create every table scoring.warehouse_io reads in a (temporary) warehouse file."""
    categories = {code: category for code, category, _, _ in PRODUCTS}
    loyalty = (
        bank.accounts.assign(category=bank.accounts["product_code"].map(categories))
        .groupby("customer_id", as_index=False)["category"]
        .nunique()
        .rename(columns={"category": "product_depth"})
    )
    tables = {
        "marts.fct_customer_months": with_transaction_days(bank.months, bank.transactions),
        "marts.fct_customer_signal_months": bank.signals,
        "marts.fct_transactions": bank.transactions,
        "marts.mart_customer_loyalty": loyalty,
        "seeds.churn_risk_bands": pd.DataFrame(
            RISK_BANDS_SEED,
            columns=["churn_risk_band", "min_churn_probability", "max_churn_probability"],
        ),
    }
    con = connect(warehouse_path)
    try:
        con.execute(WAREHOUSE_DDL)
        for table, frame in tables.items():
            con.register("incoming", frame)
            columns = ", ".join(frame.columns)
            con.execute(f"insert into {table} ({columns}) select {columns} from incoming")
            con.unregister("incoming")
    finally:
        con.close()


@pytest.fixture(autouse=True, scope="session")
def single_openmp_thread() -> Iterator[None]:
    """HistGradientBoosting's OpenMP threads spin-wait for each other: on a small
    machine shared with other processes one fit took 10-50x longer than with a
    single thread. One thread keeps the suite fast and its timing predictable."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime the limit applies to)

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"BANK_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture(scope="session")
def make_bank() -> Callable[..., SyntheticBank]:
    return synthetic_bank


@pytest.fixture(scope="session")
def fill_warehouse() -> Callable[[Path, SyntheticBank], None]:
    return write_warehouse
