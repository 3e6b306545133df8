"""Pure reshaping of mart rows for display: pivots, display order, masking.

No business figure is computed here ("one fact, one place": the marts compute them);
a cell missing from a pivot is a pair with no row in the mart, shown as 0 customers
or left empty for rates.
"""

from __future__ import annotations

import pandas as pd

# Display order only (the ranks themselves are the seed value_tier_ranks).
TIER_ORDER = ("mass", "mid_value", "high_net_worth")
FROM_TIER_ORDER = ("new", *TIER_ORDER)
TO_TIER_ORDER = (*TIER_ORDER, "churned")
RISK_BAND_ORDER = ("low", "medium", "high")
ROLLUP_TIER = "all"
# mart_monthly_kpis column per churn reason (docs/metrics.md "Churn reason", in order).
CHURN_REASON_COLUMNS = {
    "property_purchase": "churned_property_purchase_count",
    "campaign_deposit_maturity": "churned_campaign_deposit_maturity_count",
    "rate_competition": "churned_rate_competition_count",
    "service_dissatisfaction": "churned_service_dissatisfaction_count",
    "disengagement": "churned_disengagement_count",
}
UPGRADE_SHARE_COLUMNS = {
    "from_lower_tier_share": "from a lower tier",
    "new_customer_share": "new",
    "from_same_or_higher_tier_share": "from the same or a higher tier",
}
KPI_TABLE_COLUMNS = {
    "month": "month",
    "customer_type": "customer type",
    "customer_count": "customers",
    "new_customer_count": "new",
    "active_customer_count": "active",
    "digitally_active_customer_count": "digitally active",
    "active_rate": "active rate",
    "digitally_active_rate": "digitally active rate",
    "month_average_aum_total": "month-average AUM (CNY)",
    "month_average_aum_per_customer": "AUM per customer (CNY)",
    "churned_customer_count": "churned",
    "churn_rate": "churn rate",
    "upgraded_customer_count": "upgrades",
    "downgraded_customer_count": "downgrades",
}
AT_RISK_COLUMNS = {
    "masked_customer_id": "customer",
    "customer_type": "type",
    "value_tier": "tier",
    "month_average_aum": "month-average AUM (CNY)",
    "churn_probability": "churn probability",
    "churn_risk_band": "risk band",
    "reason_code_1": "main reason",
    "action_code": "action",
    "channel": "channel",
    "description_en": "next best action",
    "description_zh": "下一步最佳行动",
}
LOAD_TABLE_COLUMNS = {
    "entity": "entity",
    "files": "files",
    "rows_landed": "rows landed",
    "rows_loaded": "rows loaded",
    "rows_quarantined": "rows quarantined",
    "rows_loaded_this_run": "loaded (this run)",
    "rows_quarantined_this_run": "quarantined (this run)",
}
QUARANTINE_TABLE_COLUMNS = {
    "entity": "entity",
    "rule": "rule",
    "rows": "rows quarantined",
    "rows_this_run": "quarantined (this run)",
}
# Columns that would be personal data (docs/metrics.md "Personal data"); never shown.
PERSONAL_DATA_COLUMNS = frozenset(
    {"customer_id", "full_name", "national_id", "phone", "email", "address", "birth_date"}
)


def mask_customer_id(customer_id: str) -> str:
    """First 2 and last 2 characters, the rest starred; short ids are starred whole."""
    if len(customer_id) <= 4:
        return "*" * len(customer_id)
    return customer_id[:2] + "*" * (len(customer_id) - 4) + customer_id[-2:]


def month_label(dates: pd.Series) -> pd.Series:
    """``2025-04`` for the month starting 2025-04-01."""
    return pd.to_datetime(dates).dt.strftime("%Y-%m")


def in_order(values: pd.Series | list, order: tuple[str, ...]) -> list[str]:
    """The distinct values, those of ``order`` first in its order, then the rest sorted."""
    present = set(values)
    return [v for v in order if v in present] + sorted(present - set(order))


def series_name(customer_type: str, value_tier: str) -> str:
    return f"{customer_type} · {value_tier}"


def tier_pivot(kpis: pd.DataFrame, value: str, with_rollup: bool = False) -> pd.DataFrame:
    """Months x (customer type · tier) of one mart_monthly_kpis column, tiers in rank order."""
    rows = kpis if with_rollup else kpis[kpis["value_tier"] != ROLLUP_TIER]
    if rows.empty:
        return pd.DataFrame()
    tiers = in_order(rows["value_tier"], (*TIER_ORDER, ROLLUP_TIER))
    columns = [
        series_name(customer_type, tier)
        for customer_type in sorted(rows["customer_type"].unique())
        for tier in tiers
        if ((rows["customer_type"] == customer_type) & (rows["value_tier"] == tier)).any()
    ]
    table = rows.assign(
        month=month_label(rows["month_start_date"]),
        series=[series_name(c, t) for c, t in zip(rows["customer_type"], rows["value_tier"])],
    ).pivot(index="month", columns="series", values=value)
    return table.sort_index()[columns]


def migration_matrix(migrations: pd.DataFrame, customer_type: str) -> pd.DataFrame:
    """From tier (rows) x to tier (columns) customers of one customer type; 0 where no row."""
    rows = migrations[migrations["customer_type"] == customer_type]
    return (
        rows.pivot_table(
            index="from_tier", columns="to_tier", values="customer_count", aggfunc="first"
        )
        .reindex(
            index=in_order([*FROM_TIER_ORDER, *rows["from_tier"]], FROM_TIER_ORDER),
            columns=in_order([*TO_TIER_ORDER, *rows["to_tier"]], TO_TIER_ORDER),
        )
        .fillna(0)
        .astype(int)
    )


def upgrade_source_shares(upgrade_sources: pd.DataFrame) -> pd.DataFrame:
    """(customer type · tier) x source shares of mart_tier_upgrade_sources, in tier order."""
    if upgrade_sources.empty:
        return pd.DataFrame(columns=list(UPGRADE_SHARE_COLUMNS.values()))
    rows = upgrade_sources.assign(
        rank=upgrade_sources["value_tier"].map(
            {tier: rank for rank, tier in enumerate(TIER_ORDER)}
        ),
        series=[
            series_name(c, t)
            for c, t in zip(upgrade_sources["customer_type"], upgrade_sources["value_tier"])
        ],
    ).sort_values(["customer_type", "rank", "value_tier"])
    return (
        rows.set_index("series")[list(UPGRADE_SHARE_COLUMNS)]
        .rename(columns=UPGRADE_SHARE_COLUMNS)
        .astype(float)
    )


def churn_reason_counts(kpis: pd.DataFrame) -> pd.DataFrame:
    """(month, customer type) x churn reason: churned customers of the `all` rows."""
    rows = kpis[kpis["value_tier"] == ROLLUP_TIER]
    table = rows.assign(month=month_label(rows["month_start_date"])).set_index(
        ["month", "customer_type"]
    )[list(CHURN_REASON_COLUMNS.values())]
    return table.rename(columns={v: k for k, v in CHURN_REASON_COLUMNS.items()}).sort_index()


def risk_band_counts(risk_bands: pd.DataFrame) -> pd.Series:
    """Customers per churn risk band, low to high."""
    counts = risk_bands.set_index("churn_risk_band")["customers"]
    return counts.reindex(in_order(counts.index, RISK_BAND_ORDER)).astype(int)


def kpi_table(kpis: pd.DataFrame) -> pd.DataFrame:
    """The `all` rows (one per month and customer type), newest month first."""
    rows = kpis[kpis["value_tier"] == ROLLUP_TIER]
    rows = rows.assign(month=month_label(rows["month_start_date"])).sort_values(
        ["month", "customer_type"], ascending=[False, True]
    )
    return rows[list(KPI_TABLE_COLUMNS)].rename(columns=KPI_TABLE_COLUMNS)


def at_risk_table(at_risk: pd.DataFrame) -> pd.DataFrame:
    """The at-risk list with the customer id masked and only the display columns."""
    masked = at_risk.assign(masked_customer_id=at_risk["customer_id"].map(mask_customer_id))
    table = masked[list(AT_RISK_COLUMNS)]
    leaked = PERSONAL_DATA_COLUMNS & set(table.columns)
    if leaked:  # a guard against a later edit of AT_RISK_COLUMNS
        raise ValueError(f"personal data columns in the at-risk list: {sorted(leaked)}")
    return table.rename(columns=AT_RISK_COLUMNS)
