"""Data tests of the daily-growing tables check the rows of the latest loads.

dbt_project.yml gives their tests `where: "loaded_at >= __latest_load__"`
(macros/tests/latest_load_scope.sql): rows loaded by runs whose marts passed their
checks are not tested again. A duplicate planted among such rows must therefore
pass the scoped test, and fail it once it is in scope: with
`data_tests_on_all_rows`, and when the run that loaded it has no successful mart
validation (it stopped before its checks, or failed them).
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from dbt_raw_fixture import build_raw_fixture
from test_dbt_project import AS_OF_DATE, DbtProject

UNIQUE_TEST = "unique_stg_core_banking__transactions_transaction_id"
VALIDATED_RUN, LATEST_RUN = "run_validated", "run_latest"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DbtProject]:
    root = tmp_path_factory.mktemp("dbt_latest_load_scope")
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_raw_fixture(con)
    project = DbtProject(warehouse, root / "target")
    run = project.invoke(
        "run",
        "--select",
        "stg_core_banking__transactions",
        "--vars",
        f"{{as_of_date: {AS_OF_DATE}}}",
    )
    assert run.returncode == 0, run.stdout[-5000:]
    with duckdb.connect(str(warehouse)) as con:
        # a copy of T01 loaded long ago, by a run whose marts passed their checks
        con.execute(
            "insert into staging.stg_core_banking__transactions "
            "select * replace (cast('2000-01-01 00:00:00' as timestamp) as loaded_at) "
            "from staging.stg_core_banking__transactions where transaction_id = 'T01'"
        )
        con.execute(
            "insert into raw._load_registry (file_path, status, run_id, loaded_at) values "
            f"('old.csv', 'loaded', '{VALIDATED_RUN}', '2000-01-01 00:00:00'), "
            f"('new.csv', 'loaded', '{LATEST_RUN}', '2024-02-01 00:00:00')"
        )
        con.execute("create schema audit")
        con.execute(
            "create table audit.validation_runs (run_id varchar, suite varchar, success boolean,"
            " evaluated bigint, failed bigint, checked_at timestamp)"
        )
        con.execute(
            "insert into audit.validation_runs values "
            f"('{VALIDATED_RUN}', 'marts__dim_customers', true, 5, 0, '2000-01-01 01:00:00')"
        )
    yield project


def unique_test_status(project: DbtProject, *extra: str) -> str:
    run = project.invoke(
        "test", "--select", UNIQUE_TEST, "--vars", f"{{as_of_date: {AS_OF_DATE}{''.join(extra)}}}"
    )
    return run.statuses[UNIQUE_TEST]


def test_rows_of_a_validated_run_are_not_tested_again(project: DbtProject) -> None:
    assert unique_test_status(project) == "pass"


def test_every_row_is_tested_on_request(project: DbtProject) -> None:
    assert unique_test_status(project, ", data_tests_on_all_rows: true") == "fail"


def test_rows_of_a_run_without_successful_mart_checks_are_tested(project: DbtProject) -> None:
    with duckdb.connect(str(project.warehouse)) as con:
        con.execute("update audit.validation_runs set success = false")
    try:
        assert unique_test_status(project) == "fail"
    finally:
        with duckdb.connect(str(project.warehouse)) as con:
            con.execute("update audit.validation_runs set success = true")
