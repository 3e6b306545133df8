"""Churn marts on the hand-made raw fixture, and the churn-reason benchmark's matching.

The churn rules themselves are checked by the dbt unit tests in
dbt_project/models/marts/churn/_churn__unit_tests.yml (hand-worked rows); here the
marts are built on the fixture of dbt_raw_fixture.py (as of 2024-03-10: January
and February complete, March partial) to check that they cover every customer
month, keep their contracts and carry no label without a full horizon.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dbt_raw_fixture import build_raw_fixture
from test_dbt_project import AS_OF_DATE, DbtProject, DbtRun

CHURN_UNIT_TESTS = {
    "test_value_churn_at_exactly_half_and_the_floor",
    "test_closed_dormant_churn_and_the_label_window",
    "test_lifecycle_stage_precedence",
    "test_churn_reasons_in_order_at_their_edges",
    "test_signal_months_property_share_and_investment_accounts",
}
BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "churn_reason_agreement.py"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtProject]:
    root = tmp_path_factory.mktemp("dbt_churn")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_raw_fixture(con)
    yield DbtProject(warehouse, root / "target")


@pytest.fixture(scope="module")
def build(project: DbtProject) -> DbtRun:
    return project.invoke(
        "build",
        "--exclude",
        "tag:needs_scores",
        "--vars",
        f"{{as_of_date: {AS_OF_DATE}}}",
    )


def test_churn_build_succeeds_with_its_unit_tests(build: DbtRun) -> None:
    assert build.returncode == 0, build.stdout[-5000:]
    assert {"fct_customer_churn_months", "mart_customer_churn_signals"} <= build.models
    assert {name: build.statuses.get(name) for name in CHURN_UNIT_TESTS} == dict.fromkeys(
        CHURN_UNIT_TESTS, "pass"
    )


def test_churn_months_cover_every_customer_month_without_an_early_label(
    project: DbtProject, build: DbtRun
) -> None:
    assert build.returncode == 0
    missing = project.query(
        "select count(*) from marts.fct_customer_months as months"
        " left join marts.fct_customer_churn_months as churn"
        " using (customer_id, month_start_date) where churn.customer_id is null"
    )
    assert missing == [(0,)]
    # two complete months only: no month has its M+1..M+3 horizon yet
    assert project.query(
        "select count(churn_label_3m), count(*) > 0 from marts.fct_customer_churn_months"
    ) == [(0, True)]


def test_signals_one_row_per_customer_with_a_stage(project: DbtProject, build: DbtRun) -> None:
    assert build.returncode == 0
    rows = project.query(
        "select count(*), count(distinct customer_id), min(as_of_date)::varchar,"
        " count(*) filter (where lifecycle_stage is null and latest_complete_month_start_date"
        " is not null) from marts.mart_customer_churn_signals"
    )
    customers = project.query("select count(distinct customer_id) from marts.fct_customer_months")
    assert rows == [(customers[0][0], customers[0][0], AS_OF_DATE, 0)]


def _benchmark():
    spec = importlib.util.spec_from_file_location("churn_reason_agreement", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_benchmark_takes_the_planted_month_else_the_nearest_within_one() -> None:
    bench = _benchmark()
    planted = pd.DataFrame(
        {
            "customer_id": ["A", "B", "C", "D"],
            "planted_reason": ["rate_competition"] * 4,
            "planted_month": pd.PeriodIndex(["2025-05"] * 4, freq="M"),
        }
    )
    model = pd.DataFrame(
        {
            "customer_id": ["A", "A", "B", "B", "C"],
            "month": pd.PeriodIndex(
                ["2025-04", "2025-05", "2025-04", "2025-06", "2025-07"], freq="M"
            ),
            "churn_reason": [
                "disengagement",
                "rate_competition",
                "rate_competition",
                "disengagement",
                "rate_competition",
            ],
        }
    )
    result = bench.match_reasons(planted, model).set_index("customer_id")
    # A: the planted month wins; B: +-1 tie, the earlier month; C: 2 months away; D: none
    assert result["model_reason"].to_dict() == {
        "A": "rate_competition",
        "B": "rate_competition",
        "C": "(no churn month)",
        "D": "(no churn month)",
    }
    assert result["agrees"].tolist() == [True, True, False, False]


def test_the_360_holds_the_reason_summary_to_the_marts_trend(
    project: DbtProject, build: DbtRun
) -> None:
    # One name, one meaning: a reason summary quoting an AUM trend for the month of
    # the 360's churn signals must quote the 360's aum_trend_3m. The fixture's
    # latest complete month (February) has no month 3 months before, so the mart's
    # trend is empty: a sentence quoting one is a second meaning and fails the build.
    assert build.returncode == 0
    month = project.query(
        "select min(latest_complete_month_start_date)::varchar"
        " from marts.mart_customer_churn_signals"
    )[0][0]
    assert project.query(
        "select count(*) from marts.mart_customer_churn_signals"
        f" where customer_id = 'C001' and aum_trend_3m is null"
        f" and latest_complete_month_start_date = '{month}'"
    ) == [(1,)]

    def score_with(summary: str) -> DbtRun:
        with duckdb.connect(str(project.warehouse)) as con:
            con.execute("delete from scores.customer_scores")
            con.execute(
                "insert into scores.customer_scores (score_date, customer_id,"
                " feature_month_start_date, churn_probability, churn_risk_band,"
                " reason_code_1, reason_summary, model_version, run_id, scored_at)"
                f" values ('{AS_OF_DATE}', 'C001', '{month}', 0.8, 'high', 'aum_falling',"
                f" '{summary}', 'v1', 'r1', '{AS_OF_DATE} 23:00:00')"
            )
        return project.invoke(
            "build", "--select", "tag:needs_scores", "--vars", f"{{as_of_date: {AS_OF_DATE}}}"
        )

    quoted = score_with("month-average AUM changed -51% against 3 months earlier")
    assert quoted.returncode != 0
    failed = [name for name, status in quoted.statuses.items() if status in ("fail", "error")]
    assert failed and all(
        name.startswith("expression_is_true_mart_customer_360") for name in failed
    ), failed
    honest = score_with("AUM falling (no month-average AUM 3 months earlier to compare with)")
    assert honest.returncode == 0, honest.stdout[-3000:]


def test_scorings_rules_are_what_dbt_seeded(project: DbtProject, build: DbtRun) -> None:
    # scoring.business_rules reads the seed files and vars; dbt seeded the same values
    from scoring.business_rules import business_rules

    assert build.returncode == 0
    rules = business_rules()
    tiers = project.query("select value_tier from seeds.value_tier_ranks order by tier_rank desc")
    assert tuple(tier for (tier,) in tiers) == rules.value_tiers
    assert project.query(
        "select cast(declining_max_aum_trend as double) from seeds.lifecycle_stage_thresholds"
    ) == [(rules.declining_max_aum_trend,)]
    assert project.query(
        "select cast(property_min_share_of_prior_aum as double),"
        " cast(rate_min_other_bank_share as double) from seeds.churn_reason_thresholds"
    ) == [(rules.property_min_share_of_prior_aum, rules.rate_min_other_bank_share)]
