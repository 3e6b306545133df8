"""Print what a run produced: rows per layer, customers per tier, where things are.

uv run python -m include.run_summary
"""

from __future__ import annotations

from pathlib import Path

from include.config import Settings, load_settings
from include.warehouse import connect

LAYERS = ("raw", "staging", "intermediate", "marts", "scores", "restricted", "audit")


def rows_per_layer(settings: Settings) -> dict[str, dict[str, int]]:
    """Row count of every table and view in each layer's schema of the warehouse."""
    con = connect(settings.warehouse_path, read_only=True)
    try:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by 1, 2"
        ).fetchall()
        counts: dict[str, dict[str, int]] = {}
        for schema, table in relations:
            if schema in LAYERS:
                (count,) = con.execute(f'select count(*) from {schema}."{table}"').fetchone()
                counts.setdefault(schema, {})[table] = count
        return counts
    finally:
        con.close()


def data_quality(settings: Settings) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Files per load status, quarantined rows per (entity, rule), reconciliation state."""
    con = connect(settings.warehouse_path, read_only=True)
    try:
        files = con.execute(
            "select status, count(*), sum(rows_landed), sum(rows_loaded), sum(rows_quarantined) "
            "from raw._load_registry group by all order by 1"
        ).fetchall()
        quarantine = con.execute(
            "select entity, rule, count(*) as rows, min(reason) as example_reason "
            "from raw._quarantine group by all order by rows desc limit 12"
        ).fetchall()
        reconciliation = con.execute(
            "select count(*), count(*) filter (where is_balanced) from ("
            "  select distinct on (file_path, file_checksum) is_balanced from audit.reconciliation"
            "  order by file_path, file_checksum, checked_at desc)"
        ).fetchall()
        return files, quarantine, reconciliation
    finally:
        con.close()


def customers_per_tier(settings: Settings) -> list[tuple[str, str, int]]:
    """Customers per (customer type, value tier) in the latest month of the published copy."""
    con = connect(settings.published_path, read_only=True)
    try:
        return con.execute(
            """
            select customer_type, coalesce(value_tier, '(no open account)') as value_tier,
                   count(*) as customers
            from marts.fct_customer_months
            where month_start_date = (select max(month_start_date) from marts.fct_customer_months)
            group by all
            order by customer_type, customers desc
            """
        ).fetchall()
    finally:
        con.close()


def current_scores(settings: Settings) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """From the published copy: customers per risk band and per behaviour segment (with
    mean predicted 12-month value), and the latest drift per watched variable."""
    con = connect(settings.published_path, read_only=True)
    try:
        bands = con.execute(
            "select churn_risk_band, count(*), round(avg(churn_probability), 3)"
            " from marts.mart_customer_scores group by all order by 3"
        ).fetchall()
        segments = con.execute(
            "select segment_id, segment_name, count(*), round(avg(predicted_value_12m))"
            " from marts.mart_customer_scores group by all order by 1"
        ).fetchall()
        drift = con.execute(
            "select variable, round(population_stability_index, 3), drift_status"
            " from marts.mart_score_drift"
            " where score_date = (select max(score_date) from marts.mart_score_drift)"
            " order by 1"
        ).fetchall()
        return bands, segments, drift
    finally:
        con.close()


def latest_run_report(settings: Settings) -> Path | None:
    """The newest run report (reporting.write_run_report), if any run wrote one."""
    reports = sorted(
        settings.reports_path.glob("*/report.html"), key=lambda path: path.stat().st_mtime
    )
    return reports[-1] if reports else None


def render_summary(settings: Settings) -> str:
    lines = ["", "== Run summary", "", "Rows per layer (warehouse):"]
    for schema, tables in rows_per_layer(settings).items():
        lines.append(f"  {schema:<13} {sum(tables.values()):>12,} rows in {len(tables)} relations")
        for table, count in tables.items():
            lines.append(f"      {table:<45} {count:>12,}")
    files, quarantine, reconciliation = data_quality(settings)
    lines += ["", "Landed files by status (files, rows landed, loaded, quarantined):"]
    for status, count, landed, loaded, quarantined in files:
        lines.append(
            f"  {status:<10} {count:>6,} files {landed or 0:>12,} {loaded or 0:>12,} "
            f"{quarantined or 0:>8,}"
        )
    ((checked, balanced),) = reconciliation
    lines.append(
        f"Reconciliation (landed = loaded + quarantined): {balanced:,} of {checked:,} "
        "files balanced"
    )
    lines += ["", "Quarantined rows by entity and rule (raw._quarantine):"]
    for entity, rule, rows, reason in quarantine:
        lines.append(f"  {entity:<18} {rows:>6,}  {rule[:48]:<48} e.g. {reason[:70]}")
    if settings.published_path.exists():
        lines += ["", "Customers per value tier, latest month (published copy):"]
        for customer_type, tier, customers in customers_per_tier(settings):
            lines.append(f"  {customer_type:<10} {tier:<20} {customers:>8,}")
        bands, segments, drift = current_scores(settings)
        lines += ["", "Current scores (published copy), customers per churn risk band:"]
        lines += [f"  {band:<8} {count:>8,}  mean p {mean}" for band, count, mean in bands]
        lines += ["Behaviour segments (id, name, customers, mean predicted 12-month value):"]
        lines += [
            f"  {segment_id!s:>3} {name!s:<36} {count:>8,} {value!s:>12}"
            for segment_id, name, count, value in segments
        ]
        lines += ["Score drift vs the training window (PSI):"]
        lines += [f"  {variable:<32} {psi!s:>7} {status}" for variable, psi, status in drift]
    report = latest_run_report(settings)
    if report is not None:
        lines += ["", f"Run report (open in a browser): {report.as_uri()}"]
    lines += [
        "",
        f"Warehouse (pipeline only): {settings.warehouse_path}",
        f"Published copy (BI, read-only): {settings.published_path}",
        f"Landing files: {settings.landing_path}",
        f"Reports: {settings.reports_path}",
        f"Airflow logs: {settings.data_dir / 'airflow' / 'logs'}",
        "",
        "Query it:  duckdb -readonly " + str(settings.published_path),
        "           select * from marts.fct_customer_months limit 10;",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_summary(load_settings()))
