"""Write the run's report: ``REPORTS_PATH/<run id>/report.html``, beside its Data Docs.

One static page, readable offline: plotly.js is inlined once in the head and each
chart is a div drawn by it; nothing is fetched when the page is viewed.

uv run python -m reporting.report --run-id <run id>
"""

from __future__ import annotations

import argparse
import html
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from expectations.data_docs import DOCS_FOLDER
from expectations.runner import safe_run_id
from include.config import Settings, load_settings
from reporting import reshape
from reporting.queries import AT_RISK_LIMIT, ReportData, read_report_data

REPORT_FILE = "report.html"
PLOT_CONFIG = {"displaylogo": False, "responsive": True}
NO_SCORES = (
    "No scores yet: the daily run scores only once the monthly training "
    "(DAG churn_model_training) has approved a model."
)
AT_RISK_TITLE = (
    f"High-value customers at risk (top {AT_RISK_LIMIT}: mid-value and high-net-worth, "
    "medium or high churn-risk band; ids masked)"
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .no-data { color: #8a5a00; background: #fff6e0; padding: 0.6rem 1rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f4f4f4; } td.text { text-align: left; }
.chart { min-height: 420px; }
"""


def report_path(settings: Settings, run_id: str) -> Path:
    return settings.reports_path / safe_run_id(run_id) / REPORT_FILE


# -- figures: one function per chart, from the reshaped mart rows ------------------


def tiers_figure(kpis: pd.DataFrame) -> go.Figure:
    customers = reshape.tier_pivot(kpis, "customer_count")
    aum = reshape.tier_pivot(kpis, "month_average_aum_total")
    figure = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Customers", "Month-average AUM (CNY)"),
        horizontal_spacing=0.08,
    )
    for column in customers.columns:
        for col, table in ((1, customers), (2, aum)):
            figure.add_trace(
                go.Scatter(
                    x=table.index,
                    y=table[column],
                    name=column,
                    legendgroup=column,
                    showlegend=col == 1,
                    mode="lines+markers",
                ),
                row=1,
                col=col,
            )
    figure.update_xaxes(type="category")
    return figure.update_layout(title="Customers and AUM by value tier, per complete month")


def migrations_figure(migrations: pd.DataFrame) -> go.Figure:
    customer_types = sorted(migrations["customer_type"].unique())
    month = reshape.month_label(migrations["month_start_date"]).iloc[0]
    figure = make_subplots(rows=1, cols=len(customer_types), subplot_titles=customer_types)
    for col, customer_type in enumerate(customer_types, start=1):
        matrix = reshape.migration_matrix(migrations, customer_type)
        figure.add_trace(
            go.Heatmap(
                z=matrix.to_numpy(),
                x=list(matrix.columns),
                y=list(matrix.index),
                text=matrix.to_numpy(),
                texttemplate="%{text}",
                colorscale="Blues",
                showscale=col == 1,
                hovertemplate="from %{y} to %{x}: %{z} customers<extra></extra>",
            ),
            row=1,
            col=col,
        )
        figure.update_xaxes(title_text="to tier", row=1, col=col)
    figure.update_yaxes(title_text="from tier", row=1, col=1)
    return figure.update_layout(title=f"Tier migration, {month}: customers from tier -> to tier")


def upgrade_sources_figure(upgrade_sources: pd.DataFrame) -> go.Figure:
    shares = reshape.upgrade_source_shares(upgrade_sources)
    month = reshape.month_label(upgrade_sources["month_start_date"]).iloc[0]
    lookback = int(upgrade_sources["lookback_months"].iloc[0])
    figure = go.Figure(
        [
            go.Bar(y=shares.index, x=shares[source], name=source, orientation="h")
            for source in shares
        ]
    )
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    return figure.update_layout(
        barmode="stack",
        title=f"Where the customers of each tier in {month} were {lookback} months earlier",
    )


def churn_rate_figure(kpis: pd.DataFrame) -> go.Figure:
    rates = reshape.tier_pivot(kpis, "churn_rate", with_rollup=True)
    figure = go.Figure(
        [
            go.Scatter(x=rates.index, y=rates[column], name=column, mode="lines+markers")
            for column in rates
        ]
    )
    figure.update_xaxes(type="category")
    figure.update_yaxes(tickformat=".1%", rangemode="tozero")
    return figure.update_layout(
        title="Churn rate by value tier (churned / the tier's customers the month before)"
    )


def churn_reasons_figure(kpis: pd.DataFrame) -> go.Figure:
    counts = reshape.churn_reason_counts(kpis)
    x = [list(counts.index.get_level_values(0)), list(counts.index.get_level_values(1))]
    figure = go.Figure([go.Bar(x=x, y=counts[reason], name=reason) for reason in counts])
    return figure.update_layout(
        barmode="stack", title="Churned customers by primary churn reason, per month and type"
    )


def risk_bands_figure(risk_bands: pd.DataFrame) -> go.Figure:
    counts = reshape.risk_band_counts(risk_bands)
    figure = go.Figure(
        go.Bar(x=list(counts.index), y=counts.to_numpy(), text=counts.to_numpy(), name="customers")
    )
    return figure.update_layout(title="Customers per churn-risk band (current scores)")


def loads_figure(loads: pd.DataFrame) -> go.Figure:
    figure = go.Figure(
        [
            go.Bar(x=loads["entity"], y=loads["rows_loaded"], name="rows loaded"),
            go.Bar(x=loads["entity"], y=loads["rows_quarantined"], name="rows quarantined"),
        ]
    )
    figure.update_yaxes(type="log", title_text="rows (log scale)")
    return figure.update_layout(barmode="group", title="Rows loaded and quarantined per entity")


# -- HTML ----------------------------------------------------------------------------


def chart_html(figure: go.Figure, chart_id: str) -> str:
    """A chart div drawn by the page's one inline plotly.js."""
    fragment = pio.to_html(
        figure, full_html=False, include_plotlyjs=False, div_id=chart_id, config=PLOT_CONFIG
    )
    return f'<div class="chart" data-chart="{chart_id}">{fragment}</div>'


def note_html(text: str) -> str:
    return f'<p class="no-data">{html.escape(text)}</p>'


def format_cell(column: str, value: object) -> tuple[str, bool]:
    """Display text of a cell and whether it is text (left-aligned)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—", False
    if isinstance(value, str):
        return value, True
    if "rate" in column or "probability" in column:
        return f"{float(value):.2%}", False
    if "CNY" in column:
        return f"{float(value):,.2f}", False
    if isinstance(value, int | float):
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}", False
    return str(value), True


def table_html(table: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = []
    for record in table.itertuples(index=False):
        cells = []
        for column, value in zip(table.columns, record):
            text, is_text = format_cell(str(column), value)
            css = ' class="text"' if is_text else ""
            cells.append(f"<td{css}>{html.escape(text)}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


Section = tuple[str, list[str], int]  # title, HTML parts, charts drawn


def chart_or_note(
    frame: pd.DataFrame, build: Callable[[pd.DataFrame], go.Figure], chart_id: str, note: str
) -> tuple[str, int]:
    if frame.empty:
        return note_html(note), 0
    return chart_html(build(frame), chart_id), 1


def table_or_note(table: pd.DataFrame, table_id: str, note: str) -> str:
    return note_html(note) if table.empty else table_html(table, table_id)


def display_columns(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The given columns, in order, under their display names (an empty frame stays empty)."""
    return frame.reindex(columns=list(columns)).rename(columns=columns)


def sections(data: ReportData) -> list[Section]:
    no_kpis = "No complete month in mart_monthly_kpis yet."
    tiers, n_tiers = chart_or_note(data.kpis, tiers_figure, "chart-tiers", no_kpis)
    migrations, n_migrations = chart_or_note(
        data.migrations,
        migrations_figure,
        "chart-tier-migrations",
        "No tier migrations yet: mart_tier_migrations needs two complete months.",
    )
    upgrades, n_upgrades = chart_or_note(
        data.upgrade_sources,
        upgrade_sources_figure,
        "chart-upgrade-sources",
        "No data yet: no month of mart_tier_upgrade_sources has its full lookback "
        "(var tier_upgrade_lookback_months, 12 months) inside the history.",
    )
    churn_rate, n_rate = chart_or_note(data.kpis, churn_rate_figure, "chart-churn-rate", no_kpis)
    reasons, n_reasons = chart_or_note(
        data.kpis, churn_reasons_figure, "chart-churn-reasons", no_kpis
    )
    bands, n_bands = chart_or_note(
        data.risk_bands, risk_bands_figure, "chart-risk-bands", NO_SCORES
    )
    no_loads = "No file loaded yet (raw._load_registry is empty)."
    loads, n_loads = chart_or_note(data.loads, loads_figure, "chart-loads", no_loads)
    kpis = reshape.kpi_table(data.kpis) if not data.kpis.empty else pd.DataFrame()
    if data.risk_bands.empty:
        at_risk_note = note_html(NO_SCORES)
    elif data.at_risk.empty:
        at_risk_note = note_html("No high-value customer in the medium or high band.")
    else:
        at_risk_note = ""
    return [
        ("Customers and AUM by value tier", [tiers], n_tiers),
        ("Tier migration", [migrations], n_migrations),
        ("Upgrade sources", [upgrades], n_upgrades),
        ("Churn", [churn_rate, reasons], n_rate + n_reasons),
        ("Churn-risk bands", [bands], n_bands),
        (
            "Monthly KPIs (all tiers, per customer type; mart_monthly_kpis)",
            [table_or_note(kpis, "kpi-table", no_kpis)],
            0,
        ),
        (
            "Data quality: rows loaded and quarantined (raw._load_registry, raw._quarantine)",
            [
                loads,
                # no note here: the chart's note already says nothing was loaded
                ""
                if data.loads.empty
                else table_html(
                    display_columns(data.loads, reshape.LOAD_TABLE_COLUMNS), "dq-entities"
                ),
                table_or_note(
                    display_columns(data.quarantine, reshape.QUARANTINE_TABLE_COLUMNS),
                    "dq-rules",
                    "No row quarantined.",
                ),
            ],
            n_loads,
        ),
        (
            AT_RISK_TITLE,
            # the table is there even when empty: its columns show what the list holds
            [at_risk_note, table_html(reshape.at_risk_table(data.at_risk), "at-risk-table")],
            0,
        ),
    ]


def publication_line(publication: pd.DataFrame, run_id: str) -> str:
    if publication.empty:
        return note_html("The published copy has no publication record.")
    published_run, published_at = publication.iloc[0]
    line = f"Marts of the published copy of run {published_run}, published {published_at} UTC."
    if published_run != run_id:
        return note_html(line + " It is not this run's: this run did not publish.")
    return f'<p class="meta">{html.escape(line)}</p>'


def render_page(data: ReportData, run_id: str, generated_at: datetime) -> str:
    parts = sections(data)
    charts = sum(count for _, _, count in parts)
    body = "\n".join(
        f"<section><h2>{html.escape(title)}</h2>{''.join(content)}</section>"
        for title, content, _ in parts
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="report-charts" content="{charts}">
<title>Run report {html.escape(run_id)}</title>
<style>{STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>Customer operations: run report</h1>
<p class="meta">Run {html.escape(run_id)} · written {generated_at:%Y-%m-%d %H:%M} UTC ·
validation results: <a href="{DOCS_FOLDER}/index.html">Data Docs</a></p>
{publication_line(data.publication, run_id)}
{body}
</body></html>
"""


def write_run_report(settings: Settings, run_id: str) -> Path:
    """Write ``REPORTS_PATH/<run id>/report.html`` from the published marts and the load
    audit; returns its path. Empty marts (no scores before a model is approved) give a
    note in their section, not an error."""
    data = read_report_data(settings, run_id)
    target = report_path(settings, run_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed: a reader never opens half a page.
    partial = target.with_name(f".{target.name}.tmp")
    partial.write_text(render_page(data, run_id, datetime.now(UTC)), encoding="utf-8")
    partial.replace(target)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-id", required=True, help="Airflow run id of the daily run")
    args = parser.parse_args()
    print(write_run_report(load_settings(), args.run_id))


if __name__ == "__main__":
    main()
