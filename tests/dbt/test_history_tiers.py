"""Tier history on the hand-made raw fixture: the SCD2 snapshot and the migration marts.

The snapshot must build inside `dbt build` (the DAG runs it that way, node by
node) and a second build on the same data must add no version. The project is
built as of 2024-02-10 (latest complete month January) and then twice as of
2024-03-10 (latest complete month February); figures are worked out by hand
from dbt_raw_fixture.py (see test_dbt_project.py for the month averages).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pytest
from dbt_raw_fixture import build_raw_fixture
from test_dbt_project import AS_OF_DATE, DbtProject, DbtRun

EARLIER_AS_OF_DATE = "2024-02-10"
SNAPSHOT_ROWS = (
    "select customer_id, value_tier, strftime(value_tier_month_start_date, '%Y-%m'),"
    " dbt_valid_to is null from snapshots.snp_customer_value_tiers order by 1, 3 nulls first"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtProject]:
    root = tmp_path_factory.mktemp("dbt_history")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_raw_fixture(con)
    yield DbtProject(warehouse, root / "target")


@pytest.fixture(scope="module")
def builds(project: DbtProject) -> dict[str, object]:
    """Build as of the earlier date, then twice as of AS_OF_DATE; keep the snapshot after each."""
    snapshots: list[list[tuple]] = []
    runs: list[DbtRun] = []
    # the first build only needs the snapshot and what feeds it (cautious: no
    # test on a model outside the selection)
    first = ["--select", "+snp_customer_value_tiers", "--indirect-selection", "cautious"]
    selections = (first, [], [])
    for as_of, selection in zip(
        (EARLIER_AS_OF_DATE, AS_OF_DATE, AS_OF_DATE), selections, strict=True
    ):
        run = project.invoke("build", *selection, "--vars", f"{{as_of_date: {as_of}}}")
        runs.append(run)
        snapshots.append(project.query(SNAPSHOT_ROWS) if run.returncode == 0 else [])
    return {"runs": runs, "snapshots": snapshots}


def test_every_build_succeeds_and_runs_the_snapshot(builds: dict) -> None:
    for run in builds["runs"]:
        assert run.returncode == 0, run.stdout[-5000:]
        assert run.statuses.get("snp_customer_value_tiers") == "success"
        assert not {name for name, status in run.statuses.items() if status in ("error", "fail")}


def test_snapshot_keeps_one_version_per_change_and_is_idempotent(builds: dict) -> None:
    first, second, third = builds["snapshots"]
    # C003 onboarded 2024-02-15, after the first as-of date: not a customer yet
    assert first == [
        ("C001", "mass", "2024-01", True),
        ("C002", "high_net_worth", "2024-01", True),
    ]
    assert second == [
        # C001 moved to mid_value; C002 kept its tier but was assessed on a new month
        ("C001", "mass", "2024-01", False),
        ("C001", "mid_value", "2024-02", True),
        ("C002", "high_net_worth", "2024-01", False),
        ("C002", "high_net_worth", "2024-02", True),
        # C003 is a customer now, with no account: no tier
        ("C003", None, None, True),
    ]
    # the same data built again adds no version
    assert third == second


def test_tier_migrations_match_hand_computed_values(project: DbtProject, builds: dict) -> None:
    rows = project.query(
        "select customer_id, strftime(month_start_date, '%Y-%m'), from_tier, to_tier,"
        " migration_type, is_upgrade, is_downgrade, previous_month_average_aum,"
        " month_average_aum from marts.fct_customer_tier_migrations order by 1, 2"
    )
    d = Decimal
    assert rows == [
        # January is the first month of the window (no month before it); March is partial.
        ("C001", "2024-02", "mass", "mid_value", "upgrade", True, False,
         d("160000.00"), d("790000.00")),
        ("C002", "2024-02", "high_net_worth", "high_net_worth", "unchanged", False, False,
         d("10000000.00"), d("11034482.76")),
    ]  # fmt: skip
    matrix = project.query(
        "select strftime(month_start_date, '%Y-%m'), customer_type, from_tier, to_tier,"
        " customer_count, month_average_aum from marts.mart_tier_migrations order by 1, 2"
    )
    assert matrix == [
        ("2024-02", "corporate", "high_net_worth", "high_net_worth", 1, d("11034482.76")),
        ("2024-02", "retail", "mass", "mid_value", 1, d("790000.00")),
    ]


def test_upgrade_sources_say_when_the_lookback_is_short(project: DbtProject, builds: dict) -> None:
    rows = project.query(
        "select strftime(month_start_date, '%Y-%m'), customer_type, value_tier,"
        " has_full_lookback, customer_count, from_lower_tier_share, new_customer_share"
        " from marts.mart_tier_upgrade_sources order by 1, 2"
    )
    # two months of history: no 12-month lookback, so counts only
    assert rows == [
        ("2024-01", "corporate", "high_net_worth", False, 1, None, None),
        ("2024-01", "retail", "mass", False, 1, None, None),
        ("2024-02", "corporate", "high_net_worth", False, 1, None, None),
        ("2024-02", "retail", "mid_value", False, 1, None, None),
    ]
