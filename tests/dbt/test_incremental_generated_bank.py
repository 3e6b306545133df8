"""Incremental runs equal a full refresh on a generated bank long enough to keep months.

The hand-made fixture of test_incremental_equality.py spans three months, so every
month model rebuilds all of it on each run (the churn flags rebuild from three months
before the open month). Here a small generated bank with dirt (late rows, re-delivered
files) has seven months: it is loaded day by day by the loader and built by `dbt run`
for the days around its last month end, so each run keeps the early months and
rebuilds only the recent ones. Then the last date's incremental build is compared
with a full refresh, and a date of the month before is run again (a re-run with
everything loaded) and compared with a full refresh of that date: every incremental
model and mart, EXCEPT ALL both ways.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from test_dbt_project import DbtProject
from test_incremental_equality import compared_relations, differences, run

from benchmarks.run import business_dates, pipeline_environment
from include.config import load_settings
from tests.conftest import run_command, tool

BANK = ("--customers", "40", "--months", "7", "--start-date", "2025-01-01", "--seed", "11")
CHURN_FLAGS_RUN_SQL = "int_customer_months_churn_flagged.sql"


def rebuilt_from(project: DbtProject) -> date:
    """The first month the latest incremental run of the churn flags rebuilt."""
    [compiled] = project.target_path.glob(f"compiled/**/{CHURN_FLAGS_RUN_SQL}")
    found = re.findall(
        r"month_start_date >= cast\('(\d{4}-\d{2}-\d{2})' as date\)", compiled.read_text()
    )
    return date.fromisoformat(found[-1])


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from loading.loader import load_into_warehouse  # imports GX: only when the test runs

    root = tmp_path_factory.mktemp("incremental_generated_bank")
    env = pipeline_environment(root / "bank")
    run_command(
        [tool("python"), "-m", "include.bank_generator", *BANK, "--dirt-rate", "0.03",
         "--quiet", "--out", str(root / "bank")],
        env,
    )  # fmt: skip
    settings = load_settings(env)
    project = DbtProject(Path(env["WAREHOUSE_PATH"]), root / "target")
    days = business_dates(Path(env["LANDING_PATH"]))
    last_month = (days[-1].year, days[-1].month)
    first_of_last_month = min(
        i for i, day in enumerate(days) if (day.year, day.month) == last_month
    )
    run_days = [days[first_of_last_month - 3], days[first_of_last_month - 1],
                days[first_of_last_month], days[-1]]  # fmt: skip
    past = days[first_of_last_month - 12]
    project.warehouse.parent.mkdir(parents=True, exist_ok=True)
    seeded = project.invoke("seed")
    assert seeded.returncode == 0, seeded.stdout[-5000:]
    rebuilt: list[date] = []
    for day in run_days:
        load_into_warehouse(settings, day, f"test__{day}")
        run(project, day.isoformat())
        if day != run_days[0]:  # the first run builds everything
            rebuilt.append(rebuilt_from(project))
    copy = DbtProject(root / "full_refresh.duckdb", root / "target_full")
    shutil.copy(project.warehouse, copy.warehouse)
    run(copy, run_days[-1].isoformat(), "--full-refresh")
    relations = compared_relations(project)
    found = {
        relation: differences(project.warehouse, copy.warehouse, relation) for relation in relations
    }
    run(project, past.isoformat())
    rebuilt.append(rebuilt_from(project))
    shutil.copy(project.warehouse, copy.warehouse)
    run(copy, past.isoformat(), "--full-refresh")
    return {
        "first_month": days[0].replace(day=1),
        "rebuilt_from": rebuilt,
        "differences": found,
        "past_differences": {
            relation: differences(project.warehouse, copy.warehouse, relation)
            for relation in relations
        },
    }


def test_the_daily_runs_kept_the_early_months(compared: dict) -> None:
    assert all(month > compared["first_month"] for month in compared["rebuilt_from"])


def test_the_last_date_equals_its_full_refresh(compared: dict) -> None:
    unequal = {name: counts for name, counts in compared["differences"].items() if counts != (0, 0)}
    assert unequal == {}, "(rows only incremental, rows only full refresh) per table"


def test_a_past_date_run_again_equals_its_full_refresh(compared: dict) -> None:
    unequal = {
        name: counts for name, counts in compared["past_differences"].items() if counts != (0, 0)
    }
    assert unequal == {}, "(rows only incremental, rows only full refresh) per table"
