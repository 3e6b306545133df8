"""Great Expectations checks on the marts, run after dbt and before anything is published.

``validate_marts`` validates each checked mart where it is, through GX's SQL
engine: on DuckDB with the adapter of ``warehouse_source.py`` (as the landing
gate), on PostgreSQL with GX's ``postgres`` data source; derived columns a suite
compares against are computed by the checked query, so no mart is read into
Python (at 1,000,000 customers the customer-months are 11 M rows). The small
datasets of the privacy, reconciliation and distribution suites are built by SQL
and validated as frames. It records one row per suite in ``audit.validation_runs``
of the warehouse (and a failed row per missing mart; the publish gate and dbt's test
scoping read them), writes the GX results as JSON under ``REPORTS_PATH/<run_id>/``
with the run's Data Docs beside them, and raises :class:`MartValidationError` with
a readable summary when a suite fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import great_expectations as gx

from expectations import dim_customers, fct_customer_months, mart_distributions, personal_data
from expectations.data_docs import publish_data_docs
from expectations.runner import (
    SuiteRun,
    failing_rows,
    gx_context,
    run_suite,
    run_suite_on_query,
    write_report,
)
from expectations.warehouse_source import session_source
from include.audit import ensure_audit_schema, record_check
from include.config import Settings
from include.crash_points import crash_point
from include.warehouse import Session, session, warehouse_location

MARTS_SCHEMA = "marts"


class MartValidationError(Exception):
    """A mart broke its expectations; nothing downstream should publish it."""


@dataclass(frozen=True)
class MartCheck:
    """A checked mart: its table, its suite, the query GX validates and the mart's key."""

    table: str
    build_suite: Callable[[], gx.ExpectationSuite]
    query: str
    row_ids: list[str]


def mart_checks(
    active_threshold: int = fct_customer_months.DEFAULT_ACTIVE_THRESHOLD,
) -> list[MartCheck]:
    return [
        MartCheck(
            fct_customer_months.TABLE,
            fct_customer_months.build_suite,
            fct_customer_months.checked_query(MARTS_SCHEMA, active_threshold),
            ["customer_id", "month_start_date"],
        ),
        MartCheck(
            dim_customers.TABLE,
            dim_customers.build_suite,
            f"select * from {MARTS_SCHEMA}.{dim_customers.TABLE}",
            ["customer_id"],
        ),
    ]


def _table_exists(con: Session, schema: str, table: str) -> bool:
    [(count,)] = con.fetchall(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    )
    return count > 0


def _record(con: Session, runs: list[SuiteRun], run_id: str, missing: list[str]) -> None:
    """One audit row per suite run, and a failed row per missing mart (publish checks them)."""
    rows = [(run.suite, run.success, run.evaluated, run.failed) for run in runs]
    rows += [(f"{MARTS_SCHEMA}__{name.split('.')[-1]}", False, 0, 1) for name in missing]
    with con.transaction():
        for suite, success, evaluated, failed in rows:
            record_check(con, run_id, suite, success, evaluated, failed)


def validate_marts(
    settings: Settings,
    run_id: str,
    allow_missing: bool = False,
    active_threshold: int = fct_customer_months.DEFAULT_ACTIVE_THRESHOLD,
) -> dict:
    """Validate the marts; returns a JSON-friendly summary, raises when a suite fails.

    ``allow_missing`` lets tests (or a first deployment) skip marts not built yet;
    otherwise a missing mart is an error.
    """
    context = gx_context()
    runs: list[SuiteRun] = []
    missing: list[str] = []
    with session(warehouse_location(settings)) as con:
        with session_source(context, "marts", con, MARTS_SCHEMA) as source:
            for check in mart_checks(active_threshold):
                if not _table_exists(con, MARTS_SCHEMA, check.table):
                    missing.append(f"{MARTS_SCHEMA}.{check.table}")
                    continue
                suite = check.build_suite()
                runs.append(run_suite_on_query(source, suite, check.query, check.row_ids))
        catalogue = con.frame(personal_data.catalogue_query())
        privacy = run_suite(context, personal_data.build_suite(), catalogue)
        runs.append(privacy)
        counts = mart_distributions.reconciliation_frame(con)
        runs.append(run_suite(context, mart_distributions.build_reconciliation_suite(), counts))
        if f"{MARTS_SCHEMA}.{fct_customer_months.TABLE}" not in missing:
            shares = mart_distributions.distribution_frame(con)
            runs.append(run_suite(context, mart_distributions.build_distribution_suite(), shares))
        ensure_audit_schema(con)
        _record(con, runs, run_id, [] if allow_missing else missing)
    crash_point("validate_marts:results_recorded")
    reports = [str(write_report(run, settings.reports_path, run_id)) for run in runs]
    publish_data_docs(Path(settings.reports_path), run_id)
    failed = [run for run in runs if not run.success]
    problems = [run.summary() for run in failed]
    if any(run.suite == mart_distributions.RECONCILIATION_SUITE for run in failed):
        off = counts[counts["upper_rows"] != counts["lower_rows"]]
        problems += [
            f"counts do not reconcile: {row.check}: {row.upper_rows} vs {row.lower_rows}"
            for row in off.itertuples()
        ]
    if not privacy.success:
        leaks = catalogue.loc[sorted(failing_rows(privacy))]
        problems.append(
            "personal data outside the restricted schema: "
            + ", ".join(
                f"{r.table_schema}.{r.table_name}.{r.column_name}" for r in leaks.itertuples()
            )
        )
    if missing and not allow_missing:
        problems.append("missing marts: " + ", ".join(missing))
    if problems:
        raise MartValidationError("mart validation failed:\n" + "\n".join(problems))
    return {
        "run_id": run_id,
        "suites": {
            run.suite: {"success": run.success, "evaluated": run.evaluated, "failed": run.failed}
            for run in runs
        },
        "missing": missing,
        "reports": reports,
    }
