"""What the report reads: marts of the published copy, load audit of the warehouse.

On ``WAREHOUSE_TARGET=postgres`` both come from PostgreSQL: the marts and the
publication record of the ``published`` schema (include/publish.py), and the load audit
the load task shipped there. The SQL is the same on both engines.

Every business figure comes from a mart as published; the SQL here only picks rows
and columns (and counts a mart's rows where the report shows customers per band).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from include.config import Settings
from include.publish import POSTGRES_PUBLISHED_SCHEMA, PUBLICATION_TABLE
from include.warehouse import Session, connect, session, warehouse_location

KPI_SQL = """
select month_start_date, customer_type, value_tier, customer_count, new_customer_count,
       active_customer_count, digitally_active_customer_count, active_rate,
       digitally_active_rate, month_average_aum_total, month_average_aum_per_customer,
       opening_customer_count, churned_customer_count, churn_rate,
       churned_property_purchase_count, churned_campaign_deposit_maturity_count,
       churned_rate_competition_count, churned_service_dissatisfaction_count,
       churned_disengagement_count, upgraded_customer_count, downgraded_customer_count
from {marts}.mart_monthly_kpis
order by month_start_date, customer_type, value_tier
"""

# The matrix of the latest month the migration mart has.
MIGRATIONS_SQL = """
select month_start_date, customer_type, from_tier, to_tier, customer_count
from {marts}.mart_tier_migrations
where month_start_date = (select max(month_start_date) from {marts}.mart_tier_migrations)
order by customer_type, from_tier, to_tier
"""

# The latest month whose 12-month lookback is inside the history (shares are empty before).
UPGRADE_SOURCES_SQL = """
select month_start_date, customer_type, value_tier, lookback_months, customer_count,
       from_lower_tier_share, new_customer_share, from_same_or_higher_tier_share
from {marts}.mart_tier_upgrade_sources
where has_full_lookback
  and month_start_date = (
      select max(month_start_date) from {marts}.mart_tier_upgrade_sources where has_full_lookback
  )
order by customer_type, value_tier
"""

RISK_BANDS_SQL = """
select churn_risk_band, count(*) as customers
from {marts}.mart_customer_scores
group by churn_risk_band
"""

# High-value customers (top two tiers) in the medium or high churn-risk band. Only the
# key and derived fields: the marts carry no personal data, the report adds none.
AT_RISK_SQL = """
select customer_360.customer_id, customer_360.customer_type, customer_360.value_tier,
       customer_360.month_average_aum, customer_360.churn_probability,
       customer_360.churn_risk_band, customer_360.reason_code_1,
       actions.action_code, actions.channel, actions.description_en, actions.description_zh
from {marts}.mart_customer_360 as customer_360
inner join {marts}.mart_next_best_actions as actions
    on customer_360.customer_id = actions.customer_id
where customer_360.value_tier in ('high_net_worth', 'mid_value')
  and customer_360.churn_risk_band in ('high', 'medium')
order by customer_360.churn_probability desc, customer_360.customer_id
limit ?
"""

PUBLICATION_SQL = "select run_id, published_at from {publication}"

# Rows landed, loaded and quarantined per entity: all loads so far and this run's.
LOADS_SQL = """
select entity,
       count(*) as files,
       coalesce(sum(rows_landed), 0) as rows_landed,
       coalesce(sum(rows_loaded), 0) as rows_loaded,
       coalesce(sum(rows_quarantined), 0) as rows_quarantined,
       coalesce(sum(rows_loaded) filter (where run_id = ?), 0) as rows_loaded_this_run,
       coalesce(sum(rows_quarantined) filter (where run_id = ?), 0) as rows_quarantined_this_run
from raw._load_registry
group by entity
order by entity
"""

# Rules only, never the quarantined row or its reason text: those may quote a
# landed value (a phone number, a name) and this page gets shared.
QUARANTINE_SQL = """
select entity, rule, count(*) as rows, count(*) filter (where run_id = ?) as rows_this_run
from raw._quarantine
group by entity, rule
order by rows desc, entity, rule
"""

AT_RISK_LIMIT = 50


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows, as read (no figures computed here)."""

    publication: pd.DataFrame
    kpis: pd.DataFrame
    migrations: pd.DataFrame
    upgrade_sources: pd.DataFrame
    risk_bands: pd.DataFrame
    at_risk: pd.DataFrame
    loads: pd.DataFrame
    quarantine: pd.DataFrame


def _read_marts(con: Session, marts: str, publication: str) -> dict[str, pd.DataFrame]:
    """The report's marts from schema ``marts`` and the record from table ``publication``."""
    names = {"marts": marts, "publication": publication}
    return {
        "publication": con.frame(PUBLICATION_SQL.format(**names)),
        "kpis": con.frame(KPI_SQL.format(**names)),
        "migrations": con.frame(MIGRATIONS_SQL.format(**names)),
        "upgrade_sources": con.frame(UPGRADE_SOURCES_SQL.format(**names)),
        "risk_bands": con.frame(RISK_BANDS_SQL.format(**names)),
        "at_risk": con.frame(AT_RISK_SQL.format(**names), [AT_RISK_LIMIT]),
    }


def read_published(settings: Settings) -> dict[str, pd.DataFrame]:
    """The marts the report shows, from the published copy (read-only), or on
    PostgreSQL from the published schema."""
    if settings.on_postgres:
        schema = POSTGRES_PUBLISHED_SCHEMA
        with session(settings.postgres) as con:
            return _read_marts(con, schema, f"{schema}.{PUBLICATION_TABLE}")
    if not settings.published_path.exists():
        raise FileNotFoundError(
            f"no published copy at {settings.published_path}: run publish_for_bi first"
        )
    con = Session("duckdb", connect(settings.published_path, read_only=True))
    try:
        return _read_marts(con, "marts", f"main.{PUBLICATION_TABLE}")
    finally:
        con.close()


def read_load_audit(settings: Settings, run_id: str) -> dict[str, pd.DataFrame]:
    """Rows loaded and quarantined per entity and rule, from the warehouse's audit tables.

    Opened read-write like every pipeline task (include.warehouse.connect): inside
    ``airflow dags test`` dbt-duckdb keeps a read-write connection in this process.
    """
    with session(warehouse_location(settings)) as con:
        return {
            "loads": con.frame(LOADS_SQL, [run_id, run_id]),
            "quarantine": con.frame(QUARANTINE_SQL, [run_id]),
        }


def read_report_data(settings: Settings, run_id: str) -> ReportData:
    return ReportData(**read_published(settings), **read_load_audit(settings, run_id))
