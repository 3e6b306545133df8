"""Hand-made ``fct_customer_months`` frames and a temporary warehouse for the scoring tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.config import Settings, load_settings
from include.warehouse import connect


def add_months(start: date, months: int) -> date:
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def synthetic_customer_months(
    customers: int = 300, months: int = 18, seed: int = 7, first_month: date = date(2023, 1, 1)
) -> pd.DataFrame:
    """A bank where some customers drift away: from a random month on, their AUM
    decays and their transactions dry up, and a few months later they close.
    Drifting is visible in the features before the label fires, so a model can
    learn it; everyone else fluctuates around a stable level."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(customers):
        customer_id = f"C{number:05d}"
        customer_type = "corporate" if rng.random() < 0.15 else "retail"
        level = float(rng.lognormal(mean=11.0, sigma=1.2))
        rate = float(rng.uniform(3, 15))
        joined = int(rng.integers(0, 4))
        drift_start = int(rng.integers(4, months + 4)) if rng.random() < 0.35 else None
        for offset in range(joined, months):
            drifting = drift_start is not None and offset >= drift_start
            steps = offset - drift_start + 1 if drifting else 0
            if drifting and steps > 4:
                break  # closed: the mart has no more rows for the customer
            aum = level * (0.55**steps) * float(rng.uniform(0.9, 1.1))
            count = int(rng.poisson(rate * (0.3**steps)))
            digital = int(rng.binomial(count, 0.6))
            tier = "high_net_worth" if aum >= 3e6 else "mid_value" if aum >= 5e5 else "mass"
            rows.append(
                {
                    "customer_id": customer_id,
                    "month_start_date": add_months(first_month, offset),
                    "customer_type": customer_type,
                    "month_average_aum": aum,
                    "month_end_aum": aum * float(rng.uniform(0.8, 1.2)),
                    "customer_initiated_transaction_count": count,
                    "digital_transaction_count": digital,
                    "is_active": count >= 3,
                    "is_digitally_active": count >= 3 and digital >= 1,
                    "has_open_account": not (drifting and steps == 4),
                    "value_tier": tier,
                }
            )
    return pd.DataFrame(rows)


MART_DDL = """
create schema if not exists marts;
create or replace table marts.fct_customer_months (
    customer_id varchar, month_start_date date, customer_type varchar,
    month_average_aum double, month_end_aum double,
    customer_initiated_transaction_count integer, digital_transaction_count integer,
    is_active boolean, is_digitally_active boolean, has_open_account boolean,
    value_tier varchar
);
"""


def write_mart(warehouse_path: Path, months: pd.DataFrame) -> None:
    """Fill marts.fct_customer_months of a (temporary) warehouse file."""
    con = connect(warehouse_path)
    try:
        con.execute(MART_DDL)
        con.register("incoming", months)
        con.execute("insert into marts.fct_customer_months select * from incoming")
    finally:
        con.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"BANK_DATA_DIR": str(tmp_path / "data")})


@pytest.fixture
def make_months() -> Callable[..., pd.DataFrame]:
    return synthetic_customer_months


@pytest.fixture
def fill_mart() -> Callable[[Path, pd.DataFrame], None]:
    return write_mart
