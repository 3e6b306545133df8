"""The report's pure reshaping on small hand-made mart rows, and an empty-mart page."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from reporting import reshape
from reporting.queries import ReportData
from reporting.report import render_page


def kpi_row(month: str, customer_type: str, tier: str, customers: int, **figures: object) -> dict:
    row = {column: 0 for column in reshape.KPI_TABLE_COLUMNS if column != "month"}
    row |= {reason: 0 for reason in reshape.CHURN_REASON_COLUMNS.values()}
    return row | {
        "month_start_date": date.fromisoformat(f"{month}-01"),
        "customer_type": customer_type,
        "value_tier": tier,
        "customer_count": customers,
        **figures,
    }


KPIS = pd.DataFrame(
    [
        kpi_row("2025-02", "retail", "mass", 8, churn_rate=0.125),
        kpi_row("2025-02", "retail", "high_net_worth", 1),
        kpi_row("2025-02", "retail", "all", 9, churned_rate_competition_count=2),
        kpi_row("2025-01", "retail", "mass", 7, churn_rate=None),
        kpi_row("2025-01", "retail", "high_net_worth", 2),
        kpi_row("2025-01", "retail", "all", 9),
        kpi_row("2025-01", "corporate", "mid_value", 3),
        kpi_row("2025-01", "corporate", "all", 3, churned_disengagement_count=1),
    ]
)


@pytest.mark.parametrize(
    ("customer_id", "masked"),
    [("C00000003", "C0*****03"), ("AB123", "AB*23"), ("ABCD", "****"), ("", "")],
)
def test_customer_ids_keep_two_characters_at_each_end(customer_id: str, masked: str) -> None:
    assert reshape.mask_customer_id(customer_id) == masked


def test_tier_pivot_orders_months_and_tiers_and_leaves_the_rollup_out() -> None:
    customers = reshape.tier_pivot(KPIS, "customer_count")
    assert list(customers.index) == ["2025-01", "2025-02"]
    assert list(customers.columns) == [
        "corporate · mid_value",
        "retail · mass",
        "retail · high_net_worth",
    ]
    assert customers.loc["2025-02", "retail · mass"] == 8
    # corporate has no row in February: a gap, not a zero
    assert pd.isna(customers.loc["2025-02", "corporate · mid_value"])
    with_rollup = reshape.tier_pivot(KPIS, "churn_rate", with_rollup=True)
    assert "retail · all" in with_rollup.columns
    assert with_rollup.loc["2025-02", "retail · mass"] == 0.125


def test_migration_matrix_has_every_tier_and_zero_for_moves_nobody_made() -> None:
    migrations = pd.DataFrame(
        {
            "month_start_date": [date(2025, 2, 1)] * 3,
            "customer_type": ["retail", "retail", "corporate"],
            "from_tier": ["new", "mass", "mass"],
            "to_tier": ["mass", "churned", "mass"],
            "customer_count": [4, 1, 9],
        }
    )
    matrix = reshape.migration_matrix(migrations, "retail")
    assert list(matrix.index) == ["new", "mass", "mid_value", "high_net_worth"]
    assert list(matrix.columns) == ["mass", "mid_value", "high_net_worth", "churned"]
    assert matrix.loc["new", "mass"] == 4 and matrix.loc["mass", "churned"] == 1
    assert matrix.to_numpy().sum() == 5  # the corporate row stays out


def test_upgrade_source_shares_are_the_mart_shares_in_tier_order() -> None:
    sources = pd.DataFrame(
        {
            "customer_type": ["retail", "retail"],
            "value_tier": ["high_net_worth", "mass"],
            "from_lower_tier_share": [0.5, 0.0],
            "new_customer_share": [0.25, 0.1],
            "from_same_or_higher_tier_share": [0.25, 0.9],
        }
    )
    shares = reshape.upgrade_source_shares(sources)
    assert list(shares.index) == ["retail · mass", "retail · high_net_worth"]
    assert shares.loc["retail · high_net_worth"].tolist() == [0.5, 0.25, 0.25]
    assert list(shares.columns) == list(reshape.UPGRADE_SHARE_COLUMNS.values())


def test_churn_reasons_come_from_the_rollup_rows() -> None:
    counts = reshape.churn_reason_counts(KPIS)
    assert list(counts.columns) == list(reshape.CHURN_REASON_COLUMNS)
    assert counts.loc[("2025-02", "retail"), "rate_competition"] == 2
    assert counts.loc[("2025-01", "corporate"), "disengagement"] == 1
    assert len(counts) == 3


def test_risk_bands_low_to_high_and_kpi_table_newest_first() -> None:
    bands = pd.DataFrame({"churn_risk_band": ["high", "low", "medium"], "customers": [2, 90, 8]})
    assert reshape.risk_band_counts(bands).to_dict() == {"low": 90, "medium": 8, "high": 2}
    table = reshape.kpi_table(KPIS)
    assert table[["month", "customer type"]].values.tolist() == [
        ["2025-02", "retail"],
        ["2025-01", "corporate"],
        ["2025-01", "retail"],
    ]


def test_at_risk_table_masks_ids_and_shows_no_personal_data() -> None:
    at_risk = pd.DataFrame(
        [
            {
                "customer_id": "C00000042",
                "customer_type": "retail",
                "value_tier": "high_net_worth",
                "month_average_aum": 3_500_000.0,
                "churn_probability": 0.61,
                "churn_risk_band": "high",
                "reason_code_1": "rate_competition",
                "action_code": "retention_call",
                "channel": "relationship_manager",
                "description_en": "Call to retain",
                "description_zh": "挽留回访",
            }
        ]
    )
    table = reshape.at_risk_table(at_risk)
    assert table["customer"].tolist() == ["C0*****42"]
    assert "C00000042" not in table.to_string()
    assert not reshape.PERSONAL_DATA_COLUMNS & set(table.columns)


def test_a_page_over_empty_marts_says_no_data_yet() -> None:
    kpi_columns = list(KPIS.columns)
    empty = ReportData(
        publication=pd.DataFrame({"run_id": ["r1"], "published_at": [datetime(2025, 4, 30)]}),
        kpis=pd.DataFrame(columns=kpi_columns),
        migrations=pd.DataFrame(columns=["month_start_date", "customer_type"]),
        upgrade_sources=pd.DataFrame(),
        risk_bands=pd.DataFrame(columns=["churn_risk_band", "customers"]),
        at_risk=pd.DataFrame(columns=["customer_id", *list(reshape.AT_RISK_COLUMNS)[1:]]),
        loads=pd.DataFrame(),
        quarantine=pd.DataFrame(),
    )
    page = render_page(empty, "r1", datetime(2025, 4, 30, 6, 0))
    assert '<meta name="report-charts" content="0">' in page
    assert page.count('class="no-data"') >= 7
    assert "No scores yet" in page
    assert '<table id="at-risk-table">' in page
