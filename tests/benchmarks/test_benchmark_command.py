"""Smoke run of the benchmark command (benchmarks/run.py) on a tiny bank, so it cannot rot.

Not a timed test: it checks that every stage is measured and reported, never how
fast. Runs with the rest of the suite (about 3-4 minutes on the standard machine:
two daily runs and a training through `airflow dags test`).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from include.config import REPO_ROOT
from tests.conftest import run_command

STAGES = ("generate", "first daily run", "training", "next business day", "total")
DAILY_PARTS = ("load + quality gate", "dbt transform", "mart checks", "scoring", "publish")


def test_the_benchmark_reports_every_stage_and_the_limit_ratio(tmp_path: Path) -> None:
    data_dir = tmp_path / "bank"
    figures = tmp_path / "benchmark.json"
    env = dict(os.environ)
    completed = run_command(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "run.py"),
            "--customers",
            "200",
            "--months",
            "3",
            "--data-dir",
            str(data_dir),
            "--json",
            str(figures),
        ],
        env,
        timeout=1200,
    )
    result = json.loads(figures.read_text())
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
    assert result["next_run_date"] > result["first_run_date"]
    assert result["single_pass"]["customer_months"] > 0
    assert result["single_pass"]["customers"] > 0
    assert result["dbt_build_to_limit_ratio"] > 0
    assert "ratio dbt build / limit" in completed.stdout
    for stage in STAGES:
        assert stage in completed.stdout
