"""Recompute April's tiers, activity, contribution and value churn from the landing files.

A small clean bank is generated, loaded and built (generator, loader and dbt each
in a subprocess, as the DAG runs them). The expected figures are then worked out
with pandas straight from the landed CSV files and the seeds, following the
metric contract (docs/metrics.md: "Building blocks", "Value tier", "Active in a
month", "Churn") and the landing contract (include/landing/README.md), and
compared with what the marts publish for 2025-04 (a complete month).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from include.config import DBT_PROJECT_DIR
from tests.conftest import pipeline_environment, run_command

AS_OF_DATE = "2025-05-31"
MONTH = pd.Timestamp("2025-04-01")
PRIOR_MONTHS = [pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"), pd.Timestamp("2025-03-01")]
# docs/metrics.md "Churn": value churn below 50 % of the previous three months' mean, mean >= 10,000.
VALUE_CHURN_DROP_RATIO = Decimal("0.5")
VALUE_CHURN_MIN_PRIOR_AUM = Decimal(10000)
ACTIVE_MIN_TRANSACTIONS = 3
SEEDS = DBT_PROJECT_DIR / "seeds"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Built:
    landing: Path
    warehouse: Path

    def query(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    data_dir = tmp_path_factory.mktemp("independent_bank")
    env = pipeline_environment(data_dir)
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    python = sys.executable
    run_command(
        [
            python,
            "-m",
            "include.bank_generator",
            "--customers",
            "120",
            "--months",
            "5",
            "--start-date",
            "2025-01-01",
            "--dirt-rate",
            "0",
            "--out",
            str(data_dir),
        ],
        env,
    )
    # the loader reads its paths from the environment (pipeline_environment: all under data_dir)
    run_command(
        [
            python,
            "-c",
            (
                "from datetime import date\n"
                "from include.config import load_settings\n"
                "from loading.loader import load_landing\n"
                "load_landing(load_settings(), date(2025, 5, 31), 'test')\n"
            ),
        ],
        env,
    )
    target = data_dir / "dbt_target"
    run_command(
        [
            str(Path(python).with_name("dbt")),
            "build",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target),
            "--log-path",
            str(target / "logs"),
            "--exclude",
            "tag:needs_scores",
            "--vars",
            f"{{as_of_date: {AS_OF_DATE}}}",
        ],
        env,
    )
    return Built(Path(env["LANDING_PATH"]), Path(env["WAREHOUSE_PATH"]))


# --------------------------------------------------------------------------- landing files


def read_entity(landing: Path, system: str, entity: str, key: list[str]) -> pd.DataFrame:
    """Every delivery of an entity; the latest delivery of a key wins.

    Latest = latest business date, then file name (a suffixed extra delivery sorts
    after the plain one), then line in the file.
    """
    frames = []
    for path in sorted((landing / system / entity).glob("business_date=*/*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        frame["_business_date"] = path.parent.name.split("=", 1)[1]
        frame["_file"] = path.name
        frame["_line"] = range(len(frame))
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    rows = rows.sort_values(["_business_date", "_file", "_line"], kind="stable")
    return rows.drop_duplicates(key, keep="last").reset_index(drop=True)


def read_seed(name: str) -> pd.DataFrame:
    return pd.read_csv(SEEDS / f"{name}.csv", dtype=str)


def cents(value: str) -> int:
    return int((Decimal(value) * 100).to_integral_value())


def month_end(month: pd.Timestamp) -> pd.Timestamp:
    return month + pd.offsets.MonthEnd(0)


@dataclass(frozen=True)
class Expected:
    customer_type: dict[str, str]
    month_average: dict[tuple[str, pd.Timestamp], Decimal]  # (customer, month) -> CNY, cents
    exact_month_average: dict[tuple[str, pd.Timestamp], Decimal]  # unrounded
    has_open_account: dict[str, bool]  # in April
    tier: dict[str, str | None]  # April
    active: set[str]  # April
    value_churn: set[str]  # April
    value_churn_three_full_months: set[str]  # April, only customers with 3 prior history months
    contribution: dict[str, Decimal]  # April, CNY


@pytest.fixture(scope="module")
def expected(built: Built) -> Expected:
    landing = built.landing
    customers = read_entity(landing, "core_banking", "customers", ["customer_id"])
    accounts = read_entity(landing, "core_banking", "accounts", ["account_id"])
    balances = read_entity(landing, "core_banking", "balances", ["account_id", "balance_date"])
    transactions = read_entity(landing, "core_banking", "transactions", ["transaction_id"])
    products = read_entity(landing, "reference", "products", ["product_code"])

    categories = read_seed("product_categories")
    aum_categories = set(categories.loc[categories.is_aum == "true", "product_category"])
    aum_products = set(products.loc[products.product_category.isin(aum_categories), "product_code"])

    accounts["opened_date"] = pd.to_datetime(accounts.opened_date)
    accounts["closed_date"] = pd.to_datetime(accounts.closed_date)
    customer_type = dict(zip(customers.customer_id, customers.customer_type, strict=True))

    # ---- daily AUM per account: carry forward, 0 before opening and from the closing day on
    history_start = pd.to_datetime(balances.balance_date).min()
    days = pd.date_range(history_start, month_end(MONTH), freq="D")
    balances["balance_date"] = pd.to_datetime(balances.balance_date)
    balances["cents"] = balances.balance.map(cents)
    daily = (
        balances.pivot(index="balance_date", columns="account_id", values="cents")
        .reindex(days.union(balances.balance_date.unique()))
        .sort_index()
        .ffill()
        .fillna(0)
        .reindex(days)
        .astype("int64")
    )
    daily = daily.reindex(columns=accounts.account_id, fill_value=0)
    index = daily.index.values[:, None]
    opened = accounts.opened_date.values[None, :]
    closed = accounts.closed_date.values[None, :]
    open_mask = (index >= opened) & ~(index >= closed)  # NaT compares False
    daily = daily.where(open_mask, 0)  # every account, liabilities too (contribution)
    account_daily = daily
    aum_accounts = accounts[accounts.product_code.isin(aum_products)]
    daily = daily[aum_accounts.account_id]
    owner = dict(zip(aum_accounts.account_id, aum_accounts.customer_id, strict=True))
    customer_daily = daily.T.groupby(daily.columns.map(owner)).sum().T  # day x customer, cents

    # ---- month averages over the covered calendar days, rounded to cents
    month_average: dict[tuple[str, pd.Timestamp], Decimal] = {}
    exact_month_average: dict[tuple[str, pd.Timestamp], Decimal] = {}
    all_customers = sorted(set(accounts.customer_id))
    for month in [*PRIOR_MONTHS, MONTH]:
        covered = customer_daily.loc[max(month, history_start) : month_end(month)]
        n_days = len(pd.date_range(max(month, history_start), month_end(month)))
        sums = covered.sum()
        for customer in all_customers:
            total = int(sums.get(customer, 0))
            exact = Decimal(total) / 100 / n_days
            exact_month_average[(customer, month)] = exact
            month_average[(customer, month)] = exact.quantize(CENT, rounding=ROUND_HALF_UP)

    # ---- tiers: open account (any account existing on some day of April; the closing day
    # counts), highest threshold of the customer's type reached by the month average
    april_end = month_end(MONTH)
    existed = (accounts.opened_date <= april_end) & (
        accounts.closed_date.isna() | (accounts.closed_date >= MONTH)
    )
    open_customers = set(accounts.loc[existed, "customer_id"])
    thresholds = read_seed("value_tier_thresholds")
    thresholds["minimum"] = thresholds.min_month_average_aum.map(Decimal)
    tier: dict[str, str | None] = {}
    has_open_account: dict[str, bool] = {}
    for customer in all_customers:
        has_open_account[customer] = customer in open_customers
        if customer not in open_customers:
            tier[customer] = None
            continue
        average = month_average[(customer, MONTH)]
        reached = thresholds[
            (thresholds.customer_type == customer_type[customer]) & (thresholds.minimum <= average)
        ].sort_values("minimum")
        tier[customer] = reached.value_tier.iloc[-1]

    # ---- activity: customer-initiated transactions in April, own-account transfers once
    rules = read_seed("transaction_type_rules")
    initiated_types = set(rules.loc[rules.is_customer_initiated == "true", "transaction_type_code"])
    account_owner = dict(zip(accounts.account_id, accounts.customer_id, strict=True))
    txn = transactions.copy()
    txn["transaction_date"] = pd.to_datetime(txn.transaction_date)
    txn = txn[(txn.transaction_date >= MONTH) & (txn.transaction_date <= april_end)]
    txn["customer_id"] = txn.account_id.map(account_owner)
    counterparty_owner = txn.counterparty_name.map(account_owner)
    own_transfer_credit_leg = (
        (txn.direction == "credit")
        & (counterparty_owner == txn.customer_id)
        & (txn.counterparty_name != txn.account_id)
    )
    counted = txn[txn.transaction_type_code.isin(initiated_types) & ~own_transfer_credit_leg]
    per_customer = counted.groupby("customer_id").size()
    active = set(per_customer[per_customer >= ACTIVE_MIN_TRANSACTIONS].index)

    # ---- contribution in April: per account, the exact balance total x annual margin /
    # (days x 12) rounded half up to cents once, plus the fees posted on it
    margins = read_seed("product_margins")
    margin = dict(zip(margins.product_code, margins.annual_margin_rate.map(Decimal), strict=True))
    april_days = len(pd.date_range(MONTH, april_end))
    april_totals = account_daily.loc[MONTH:april_end].sum()
    fee_types = set(rules.loc[rules.is_fee == "true", "transaction_type_code"])
    fees = txn[txn.transaction_type_code.isin(fee_types)]
    fee_cents = fees.groupby("account_id").amount.agg(
        lambda amounts: sum(cents(amount) for amount in amounts)
    )
    contribution: dict[str, Decimal] = {}
    for account_id, product_code, customer in zip(
        accounts.account_id, accounts.product_code, accounts.customer_id, strict=True
    ):
        exact_margin = (
            Decimal(int(april_totals[account_id]))
            / 100
            * margin.get(product_code, Decimal(0))
            / (april_days * 12)
        )
        account_contribution = (
            exact_margin.quantize(CENT, rounding=ROUND_HALF_UP)
            + Decimal(int(fee_cents.get(account_id, 0))) / 100
        )
        contribution[customer] = contribution.get(customer, Decimal(0)) + account_contribution

    # ---- value churn in April against the mean of January-March
    first_opened = accounts.groupby("customer_id").opened_date.min()
    value_churn: set[str] = set()
    value_churn_three_full_months: set[str] = set()
    for customer in all_customers:
        prior_mean = sum(month_average[(customer, m)] for m in PRIOR_MONTHS) / len(PRIOR_MONTHS)
        if (
            prior_mean >= VALUE_CHURN_MIN_PRIOR_AUM
            and month_average[(customer, MONTH)] < VALUE_CHURN_DROP_RATIO * prior_mean
        ):
            value_churn.add(customer)
            if first_opened[customer] <= month_end(PRIOR_MONTHS[0]):
                value_churn_three_full_months.add(customer)

    return Expected(
        customer_type=customer_type,
        month_average=month_average,
        exact_month_average=exact_month_average,
        has_open_account=has_open_account,
        tier=tier,
        active=active,
        value_churn=value_churn,
        value_churn_three_full_months=value_churn_three_full_months,
        contribution=contribution,
    )


# --------------------------------------------------------------------------- marts


def april_rows(built: Built) -> dict[str, tuple]:
    rows = built.query(
        "select customer_id, customer_type, month_average_aum, value_tier, is_active,"
        " has_open_account, is_complete_month from marts.fct_customer_months"
        " where month_start_date = date '2025-04-01'"
    )
    return {row[0]: row[1:] for row in rows}


def test_april_is_a_complete_month(built: Built) -> None:
    rows = april_rows(built)
    assert rows
    assert all(is_complete for *_, is_complete in rows.values())


def published_month_averages(built: Built) -> dict[tuple[str, pd.Timestamp], Decimal]:
    return {
        (customer, pd.Timestamp(month)): average
        for customer, month, average in built.query(
            "select customer_id, month_start_date, month_average_aum"
            " from marts.fct_customer_months where month_start_date <= date '2025-04-01'"
        )
    }


def test_month_average_aum_per_customer(built: Built, expected: Expected) -> None:
    """Each published month average is the exact mean of daily AUM to within half a cent."""
    published = published_month_averages(built)
    assert published.keys() <= expected.exact_month_average.keys()
    off = {
        key: (value, expected.exact_month_average[key])
        for key, value in published.items()
        if abs(value - expected.exact_month_average[key]) > Decimal("0.005")
    }
    assert off == {}
    # every customer month the marts leave out has no AUM at all
    assert all(v == 0 for k, v in expected.exact_month_average.items() if k not in published)


def test_month_average_aum_rounds_half_cents_up(built: Built, expected: Expected) -> None:
    published = published_month_averages(built)
    mine = {key: value for key, value in expected.month_average.items() if key in published}
    assert published == mine


def test_customers_per_type_and_tier(built: Built, expected: Expected) -> None:
    rows = april_rows(built)
    published = pd.Series(
        [(ctype, tier) for ctype, _, tier, *_ in rows.values()], dtype=object
    ).value_counts()
    mine = pd.Series(
        [(expected.customer_type[c], expected.tier[c]) for c in rows], dtype=object
    ).value_counts()
    assert published.sort_index().to_dict() == mine.sort_index().to_dict()
    # same per customer, and no customer with an account in April is missing from the mart
    assert {c: r[2] for c, r in rows.items()} == {c: expected.tier[c] for c in rows}
    assert {c for c, is_open in expected.has_open_account.items() if is_open} <= set(rows)


def test_active_customers(built: Built, expected: Expected) -> None:
    rows = april_rows(built)
    published = {customer for customer, row in rows.items() if row[3]}
    assert len(expected.active) > 0
    assert len(published) == len(expected.active)
    assert published == expected.active


def test_value_churned_customers(built: Built, expected: Expected) -> None:
    churn_table = built.query(
        "select count(*) from information_schema.columns where table_schema = 'marts'"
        " and table_name = 'fct_customer_churn_months' and column_name = 'is_value_churn'"
    )[0][0]
    if not churn_table:
        pytest.skip("marts.fct_customer_churn_months.is_value_churn is not built")
    published = {
        customer
        for (customer,) in built.query(
            "select customer_id from marts.fct_customer_churn_months"
            " where month_start_date = date '2025-04-01' and is_value_churn"
        )
    }
    # customers whose first account opened after January have fewer than three prior
    # months; they are reported, not asserted, because docs/metrics.md leaves that case open
    assert expected.value_churn - expected.value_churn_three_full_months == set(), (
        "value churners with fewer than three months of history (zeros assumed): "
        f"{sorted(expected.value_churn - expected.value_churn_three_full_months)}"
    )
    assert len(published) == len(expected.value_churn)
    assert published == expected.value_churn


def test_contribution_rounds_half_up_once_per_account_month(
    built: Built, expected: Expected
) -> None:
    published = dict(
        built.query(
            "select customer_id, contribution_amount from marts.fct_customer_months"
            " where month_start_date = date '2025-04-01'"
        )
    )
    assert any(value != 0 for value in published.values())
    mine = {customer: expected.contribution.get(customer, Decimal(0)) for customer in published}
    assert published == mine
