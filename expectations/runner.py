"""Running Great Expectations suites: on warehouse tables (GX's SQL engine) or DataFrames.

Landing batches are validated where they are, in DuckDB, through GX's SQL
engine and the adapter in ``warehouse_source.py``; small mart checks still
validate DataFrames. Each run uses an in-memory (ephemeral) context with analytics
and progress bars off. GX 1.24.1 ships no analytics sender at all; the variable
``GX_ANALYTICS_ENABLED`` is still the documented switch (``enable_analytics``
docstring in ``abstract_data_context.py``), so it is set too, for older or
newer GX versions.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Must be in the environment before GX reads it; never phone home from a bank.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

import great_expectations as gx
import pandas as pd
from great_expectations.core import ExpectationSuiteValidationResult
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

# Rows listed per expectation in the JSON report; the quarantine table has them all.
REPORT_LIST_LIMIT = 1000
_LIST_KEYS = ("unexpected_list", "unexpected_index_list", "partial_unexpected_list")


@dataclass(frozen=True)
class Failure:
    """One expectation a row broke: ``rule`` is "expectation_type(column)"."""

    rule: str
    meta: dict[str, Any]


@dataclass(frozen=True)
class SuiteRun:
    suite: str
    success: bool
    evaluated: int
    failed: int
    result: ExpectationSuiteValidationResult

    def summary(self) -> str:
        lines = [f"{self.suite}: {self.failed} of {self.evaluated} expectations failed"]
        for item in self.result.results:
            if not item.success:
                unexpected = item.result.get("unexpected_count")
                observed = item.result.get("observed_value")
                sample = item.result.get("partial_unexpected_list") or []
                detail = (
                    f"{unexpected} unexpected, e.g. {sample[:5]}"
                    if unexpected is not None
                    else f"observed {observed!r}"
                )
                if item.exception_info.get("raised_exception"):
                    detail = f"error: {item.exception_info.get('exception_message')}"
                lines.append(f"  - {rule_name(item.expectation_config)}: {detail}")
        return "\n".join(lines)


def gx_context() -> AbstractDataContext:
    """An ephemeral GX context: nothing written to disk, no analytics, no progress bars."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def rule_name(config: Any) -> str:
    """``expect_x(column)`` or ``expect_x(col_a, col_b)`` from an expectation configuration."""
    kwargs = config.kwargs
    columns = (
        [kwargs["column"]]
        if "column" in kwargs
        else [kwargs[key] for key in ("column_A", "column_B") if key in kwargs]
        or list(kwargs.get("column_list", []))
    )
    return f"{config.type}({', '.join(columns)})"


def run_suite(
    context: AbstractDataContext, suite: gx.ExpectationSuite, frame: pd.DataFrame
) -> SuiteRun:
    """Validate ``frame`` with COMPLETE results so failing rows come back by index."""
    source = context.data_sources.add_or_update_pandas(name=f"{suite.name}__source")
    asset = source.add_dataframe_asset(name=suite.name)
    batch = asset.add_batch_definition_whole_dataframe("whole").get_batch(
        batch_parameters={"dataframe": frame}
    )
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    return _suite_run(suite, result)


def run_suite_on_table(
    source: Any, suite: gx.ExpectationSuite, table: str, row_id: str
) -> SuiteRun:
    """Validate a warehouse table or view through GX's SQL engine (``source``: a SQL data source).

    BASIC results: counts and a sample per expectation, plus, for each failed
    one, GX's query for its failing rows keyed by ``row_id``
    (:func:`unexpected_index_queries`), to be run in the warehouse.
    """
    asset = source.add_table_asset(name=f"{suite.name}__{table}", table_name=table)
    return _validate_sql_asset(source, asset, suite, [row_id])


def run_suite_on_query(
    source: Any, suite: gx.ExpectationSuite, query: str, row_ids: list[str]
) -> SuiteRun:
    """:func:`run_suite_on_table` on the rows of a query (a table with derived columns)."""
    asset = source.add_query_asset(name=f"{suite.name}__query", query=query)
    return _validate_sql_asset(source, asset, suite, row_ids)


def _validate_sql_asset(
    source: Any, asset: Any, suite: gx.ExpectationSuite, row_ids: list[str]
) -> SuiteRun:
    batch = asset.add_batch_definition_whole_table("whole").get_batch()
    try:
        result = batch.validate(
            suite,
            result_format={
                "result_format": "BASIC",
                "unexpected_index_column_names": row_ids,
                "return_unexpected_index_query": True,
            },
        )
    finally:
        source.delete_asset(asset.name)
    return _suite_run(suite, result)


def _suite_run(suite: gx.ExpectationSuite, result: ExpectationSuiteValidationResult) -> SuiteRun:
    statistics = result.statistics
    return SuiteRun(
        suite=suite.name,
        success=bool(result.success),
        evaluated=int(statistics["evaluated_expectations"]),
        failed=int(statistics["unsuccessful_expectations"]),
        result=result,
    )


def unexpected_index_queries(run: SuiteRun) -> list[tuple[str, dict[str, Any], str, int]]:
    """(rule, meta, SQL returning the failing rows, their count) per failed expectation of a SQL run."""
    return [
        (
            rule_name(item.expectation_config),
            dict(item.expectation_config.meta or {}),
            str(item.result["unexpected_index_query"]),
            int(item.result["unexpected_count"]),
        )
        for item in run.result.results
        if not item.success and item.result.get("unexpected_index_query")
    ]


def failing_rows(run: SuiteRun) -> dict[int, list[Failure]]:
    """Index label of every failing row -> the expectations it broke.

    An expectation that raised (e.g. a missing column) has no row list; it is
    not per-row and must be handled by the caller through ``run.success``.
    """
    failures: dict[int, list[Failure]] = {}
    for item in run.result.results:
        if item.success:
            continue
        failure = Failure(
            rule_name(item.expectation_config), dict(item.expectation_config.meta or {})
        )
        for index in item.result.get("unexpected_index_list") or []:
            failures.setdefault(int(index), []).append(failure)
    return failures


def unexpected_rows(run: SuiteRun) -> list[tuple[str, dict[str, Any], list[int]]]:
    """(rule, meta, failing index labels) for every failed expectation that lists rows."""
    return [
        (
            rule_name(item.expectation_config),
            dict(item.expectation_config.meta or {}),
            [int(index) for index in item.result.get("unexpected_index_list") or []],
        )
        for item in run.result.results
        if not item.success and item.result.get("unexpected_index_list")
    ]


def raised_exceptions(run: SuiteRun) -> list[str]:
    """Expectations that could not be evaluated at all (configuration, data-type or SQL errors).

    GX reports an expectation's own error at the top of ``exception_info`` and a
    failed metric (SQL engine) under the metric's id.
    """
    problems = []
    for item in run.result.results:
        info = item.exception_info or {}
        found = [info] + [value for value in info.values() if isinstance(value, dict)]
        messages = [
            entry.get("exception_message") for entry in found if entry.get("raised_exception")
        ]
        if messages:
            problems.append(f"{rule_name(item.expectation_config)}: {messages[0]}")
    return problems


def safe_run_id(run_id: str) -> str:
    """Airflow run ids hold ':' and '+'; keep report folder names portable."""
    return re.sub(r"[^A-Za-z0-9._=-]", "_", run_id)


def write_report(run: SuiteRun, reports_path: Path, run_id: str, name: str | None = None) -> Path:
    """Write the GX result as JSON under ``<reports>/<run_id>/<name>.json`` (long lists capped).

    ``name`` defaults to the suite's name.
    """
    document = run.result.to_json_dict()
    for item in document.get("results", []):
        result = item.get("result") or {}
        for key in _LIST_KEYS:
            values = result.get(key)
            if isinstance(values, list) and len(values) > REPORT_LIST_LIMIT:
                result[key] = values[:REPORT_LIST_LIMIT]
                result[f"{key}_truncated_from"] = len(values)
        if not isinstance(result.get("unexpected_index_query"), str):
            result.pop("unexpected_index_query", None)  # pandas: repeats the whole index list
    folder = reports_path / safe_run_id(run_id)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name or run.suite}.json"
    target.write_text(json.dumps(document, indent=2, default=str), encoding="utf-8")
    return target
