"""Smoke run of the benchmark command (benchmarks/run.py) on a tiny bank, so it cannot rot.

Not a timed test: it checks that every stage is measured and reported, never how
fast. The run is the session's shared pipeline run (tests/conftest.py ``pipeline_run``,
which the pipeline tests read): two daily runs and a training through `airflow dags test`.
"""

from __future__ import annotations

from tests.conftest import FIRST_RUN_DATE, RUN_DATE

STAGES = ("generate", "first daily run", "training", "next business day", "total")
DAILY_PARTS = ("load + quality gate", "dbt transform", "mart checks", "scoring", "publish")


def test_the_benchmark_reports_every_stage_and_the_limit_ratio(pipeline_run: dict) -> None:
    result, stdout = pipeline_run["benchmark"]["figures"], pipeline_run["benchmark"]["stdout"]
    top = [stage for stage in result["stages"] if stage["level"] == 0]
    names = [stage["name"] for stage in top]
    for stage in STAGES:
        assert any(name.startswith(stage) for name in names), (stage, names)
    assert any(name.startswith("single-pass limit") for name in names)
    for stage in top:
        assert stage["wall_seconds"] > 0, stage
        assert stage["peak_rss_bytes"] > 0, stage
    # the daily runs are broken down by task
    parts = [stage["name"] for stage in result["stages"] if stage["level"] == 1]
    for part in DAILY_PARTS:
        assert sum(name.startswith(part) for name in parts) >= 2, (part, parts)
    # the next day loaded one new business day on top of the first run's
    assert (result["first_run_date"], result["next_run_date"]) == (FIRST_RUN_DATE, RUN_DATE)
    assert result["single_pass"]["customer_months"] > 0
    assert result["single_pass"]["customers"] > 0
    assert result["dbt_build_to_limit_ratio"] > 0
    assert "ratio dbt build / limit" in stdout
    for stage in STAGES:
        assert stage in stdout
