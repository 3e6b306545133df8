"""Build the dbt project on a tiny hand-made raw schema and check the marts.

One `dbt build` (seeds, models, data tests, unit tests) runs per module and
target: on a temporary DuckDB file, and on a database of its own on the test
session's PostgreSQL server (fixture postgres_server); the expected values below
are worked out by hand from the fixture in dbt_raw_fixture.py (as-of date
2024-03-10) and hold on both.

dbt runs in a subprocess, as the DAG runs it: in-process, dbt-duckdb keeps the
database open and the test could not read it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg2
import pytest
import yaml
from dbt_raw_fixture import build_postgres_raw_fixture, build_raw_fixture

from include.config import DBT_PROJECT_DIR
from include.landing.entities import ENTITIES
from tests.postgres_server import connect_kwargs, create_database

AS_OF_DATE = "2024-03-10"
RAW_METADATA = [
    "_source_file",
    "_source_line",
    "_business_date",
    "_file_checksum",
    "_run_id",
    "_loaded_at",
]
PERSONAL_COLUMNS = {
    column.name for entity in ENTITIES for column in entity.columns if column.is_personal_data
}
# The fixture holds one transaction on an unknown account (A999): only its warn test may fire.
EXPECTED_WARNINGS = {
    (
        "relationships_stg_core_banking__transactions_account_id"
        "__account_id__ref_stg_core_banking__accounts_"
    )
}


DBT = str(Path(sys.executable).with_name("dbt"))


@dataclass(frozen=True)
class DbtRun:
    returncode: int
    stdout: str
    statuses: dict[str, str]  # node name -> status, from run_results.json
    models: frozenset[str]  # models the command built


def _node_name(unique_id: str) -> str:
    # model.<project>.<name>, test.<project>.<name>.<hash>, unit_test.<project>.<model>.<name>
    parts = unique_id.split(".")
    return parts[3] if parts[0] == "unit_test" else parts[2]


@dataclass(frozen=True)
class DbtProject:
    warehouse: Path
    target_path: Path
    # WAREHOUSE_POSTGRES_* settings: build with the postgres target instead of DuckDB
    postgres: Mapping[str, str] | None = field(default=None)

    @property
    def target(self) -> str:
        return "duckdb" if self.postgres is None else "postgres"

    def invoke(self, *args: str, environment: Mapping[str, str] | None = None) -> DbtRun:
        """Run a dbt command against the temporary warehouse (``environment``: more
        environment variables for it)."""
        results = self.target_path / "run_results.json"
        results.unlink(missing_ok=True)
        env = os.environ | {
            "WAREHOUSE_PATH": str(self.warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            **(self.postgres or {}),
            **(environment or {}),
        }
        completed = subprocess.run(
            [
                DBT,
                *args,
                "--target",
                self.target,
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(self.target_path),
                "--log-path",
                str(self.target_path / "logs"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        unique_ids = {}
        if results.exists():
            for result in json.loads(results.read_text())["results"]:
                unique_ids[result["unique_id"]] = result["status"]
        return DbtRun(
            completed.returncode,
            completed.stdout + completed.stderr,
            {_node_name(unique_id): status for unique_id, status in unique_ids.items()},
            frozenset(_node_name(uid) for uid in unique_ids if uid.startswith("model.")),
        )

    def query(self, sql: str) -> list[tuple]:
        if self.postgres is not None:
            return self._postgres(sql)
        # short-lived read-only connection: dbt needs the write lock between queries
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql).fetchall()

    def execute(self, sql: str) -> None:
        """Run a statement that writes (committed)."""
        if self.postgres is not None:
            self._postgres(sql)
            return
        with duckdb.connect(str(self.warehouse)) as con:
            con.execute(sql)

    def _postgres(self, sql: str) -> list[tuple]:
        assert self.postgres is not None
        con = psycopg2.connect(**connect_kwargs(dict(self.postgres)))
        try:
            with con, con.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall() if cur.description else []
        finally:
            con.close()


def postgres_project(root: Path, server: Mapping[str, str], database: str) -> DbtProject:
    """A DbtProject on a new database of the session's PostgreSQL server, holding the
    raw fixture and empty scores tables."""
    settings = create_database(dict(server), database)
    con = psycopg2.connect(**connect_kwargs(settings))
    try:
        build_postgres_raw_fixture(con)
    finally:
        con.close()
    return DbtProject(root / "unused.duckdb", root / "target", settings)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DbtProject]:
    root = tmp_path_factory.mktemp("dbt")
    if request.param == "postgres":
        yield postgres_project(root, request.getfixturevalue("postgres_server"), "dbt_project")
        return
    warehouse = root / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        build_raw_fixture(con)
    yield DbtProject(warehouse, root / "target")


@pytest.fixture(scope="module")
def build(project: DbtProject) -> DbtRun:
    return project.invoke("build", "--vars", f"{{as_of_date: {AS_OF_DATE}}}")


def test_build_succeeds_with_only_the_expected_warning(build: DbtRun) -> None:
    assert build.returncode == 0, build.stdout[-5000:]
    statuses = build.statuses
    assert len(statuses) > 100
    assert not {name for name, status in statuses.items() if status in ("error", "fail")}
    assert {name for name, status in statuses.items() if status == "warn"} == EXPECTED_WARNINGS
    # the unit tests ran and passed as part of the build
    unit_tests = {name for name, status in statuses.items() if name.startswith("test_")}
    assert len(unit_tests) >= 10
    assert all(statuses[name] == "pass" for name in unit_tests)


def test_the_as_of_date_comes_from_the_var_or_else_the_environment(project: DbtProject) -> None:
    """The DAG gives the business date as WAREHOUSE_AS_OF_DATE (a changed var would make
    dbt parse the whole project again); a var given on the command line wins."""
    inline = ("compile", "--inline", "select {{ date_var_literal('as_of_date') }} as as_of_date")
    from_env = project.invoke(*inline, environment={"WAREHOUSE_AS_OF_DATE": "2024-02-29"})
    assert from_env.returncode == 0, from_env.stdout[-3000:]
    assert "cast('2024-02-29' as date)" in from_env.stdout
    both = project.invoke(
        *inline,
        "--vars",
        "{as_of_date: 2024-03-10}",
        environment={"WAREHOUSE_AS_OF_DATE": "2024-02-29"},
    )
    assert "cast('2024-03-10' as date)" in both.stdout and "2024-02-29" not in both.stdout
    refused = project.invoke(*inline, environment={"WAREHOUSE_AS_OF_DATE": "29/02/2024"})
    assert refused.returncode != 0
    assert "var as_of_date must be YYYY-MM-DD, got '29/02/2024'" in refused.stdout


def test_customer_months_match_hand_computed_values(project: DbtProject, build: DbtRun) -> None:
    rows = project.query(
        "select customer_id, substr(cast(month_start_date as varchar), 1, 7), is_complete_month,"
        " month_average_aum, month_end_aum, customer_initiated_transaction_count,"
        " digital_transaction_count, is_active, is_digitally_active, has_open_account, value_tier"
        " from marts.fct_customer_months order by 1, 2"
    )
    d = Decimal
    # fmt: off
    assert rows == [
        # C001 Jan (31 days): A001 opens 01-16 with 310,000 carried to 01-31 (16 days); the
        # loan A002 is not AUM. 16 x 310,000 = 4,960,000 / 31 = 160,000.00 -> mass.
        # Transactions: deposit (branch), transfer_out (mobile) = 2 customer-initiated,
        # 1 digital; interest_credit does not count -> not active.
        ("C001", "2024-01", True, d("160000.00"), d("310000.00"), 2, 1, False, False, True, "mass"),
        # C001 Feb (29 days): A001 600,000 x 29 = 17,400,000; TD A003 opens 02-01 with 290,000
        # and closes 02-20 -> 19 days (02-01..02-19) x 290,000 = 5,510,000 (the 5,000 delivered
        # after closing is ignored). 22,910,000 / 29 = 790,000.00 -> mid_value. Month end:
        # A001 only = 600,000. bill_payment (online), withdrawal, merchant_payment (delivered
        # twice, counted once) = 3, 1 digital; salary_credit and fee_charge do not count.
        ("C001", "2024-02", True, d("790000.00"), d("600000.00"), 3, 1, True, True, True,
         "mid_value"),
        # C001 Mar, partial to 03-10 (10 days): 600,000 x 4 (03-01..03-04) + 900,000 x 6
        # (03-05..03-10) = 7,800,000 / 10 = 780,000.00. One mobile deposit on 03-09; the one
        # on 03-11 is after the as-of date.
        ("C001", "2024-03", False, d("780000.00"), d("900000.00"), 1, 1, False, False, True,
         "mid_value"),
        # C002 corporate Jan: 10,000,000 every day -> exactly the HNW minimum.
        ("C002", "2024-01", True, d("10000000.00"), d("10000000.00"), 0, 0, False, False, True,
         "high_net_worth"),
        # C002 Feb: 10,000,000 x 14 (02-01..02-14) + 12,000,000 x 15 (02-15..02-29)
        # = 320,000,000 / 29 = 11,034,482.758... -> 11,034,482.76. Three branch transfers:
        # active, not digitally active.
        ("C002", "2024-02", True, d("11034482.76"), d("12000000.00"), 3, 0, True, False, True,
         "high_net_worth"),
        # C002 Mar: the 03-01 balance was re-delivered as 9,000,000 (replacing 8,000,000):
        # 9,000,000 x 10 / 10 -> below 10,000,000 -> mid_value.
        ("C002", "2024-03", False, d("9000000.00"), d("9000000.00"), 0, 0, False, False, True,
         "mid_value"),
        # C003 has no account: no rows.
    ]
    # fmt: on


def test_dim_customers_uses_latest_delivery_and_latest_complete_month(
    project: DbtProject, build: DbtRun
) -> None:
    rows = project.query(
        "select customer_id, customer_type, city, birth_year, value_tier,"
        " substr(cast(value_tier_month_start_date as varchar), 1, 7) from marts.dim_customers"
        " order by 1"
    )
    assert rows == [
        # C001's second delivery (Shanghai) wins; February is the latest complete month.
        ("C001", "retail", "Shanghai", 1985, "mid_value", "2024-02"),
        ("C002", "corporate", "Shenzhen", None, "high_net_worth", "2024-02"),
        ("C003", "retail", "Wuhan", 1990, None, None),
    ]


def test_contribution_loyalty_rfm_and_risk_match_hand_computed_values(
    project: DbtProject, build: DbtRun
) -> None:
    d = Decimal
    contribution = project.query(
        "select customer_id, substr(cast(month_start_date as varchar), 1, 7), margin_income_amount,"
        " fee_income_amount, contribution_amount, outflow_amount, payroll_credit_count"
        " from marts.fct_customer_months where month_start_date < '2024-03-01' order by 1, 2"
    )
    # fmt: off
    assert contribution == [
        # Jan: A001 310,000 x 16 / 31 = 160,000 x 2 % / 12 = 266.67; loan A002 100,000 x 16 / 31
        # x 3 % / 12 = 129.03. The fixture posts every transaction as a 100.00 debit: T01-T03.
        ("C001", "2024-01", d("395.70"), d("0.00"), d("395.70"), d("300.00"), 0),
        # Feb: A001 600,000 -> 1,000.00; A002 100,000 -> 250.00; TD A003 290,000 x 19 / 29
        # = 190,000 x 1 % / 12 = 158.33; fee T08 100.00 -> 1,508.33. Outflows: T04-T08.
        ("C001", "2024-02", d("1408.33"), d("100.00"), d("1508.33"), d("500.00"), 1),
        # CUR_CORP 1.8 %: 10,000,000 -> 15,000.00; Feb 11,034,482.758... -> 16,551.72
        ("C002", "2024-01", d("15000.00"), d("0.00"), d("15000.00"), d("0.00"), 0),
        ("C002", "2024-02", d("16551.72"), d("0.00"), d("16551.72"), d("300.00"), 0),
    ]
    loyalty = project.query(
        "select customer_id, tenure_months, product_depth, active_months_12, is_primary_bank,"
        " loyalty_score, is_dormant from marts.mart_customer_loyalty order by 1"
    )
    assert loyalty == [
        # opened 01-16, as of 03-10: 1 month; current account + loan (TD closed); active in
        # Feb; one payroll month of 3. 0.25 x 1/60 + 0.25 x 2/4 + 0.30 x 1/12 = 0.15417
        ("C001", 1, 2, 1, False, d("15.4"), False),
        # opened 01-01: 2 months; 0.25 x 2/60 + 0.25 x 1/4 + 0.30 x 1/12 = 0.09583
        ("C002", 2, 1, 1, False, d("9.6"), False),
    ]
    rfm = project.query(
        "select customer_id, recency_days, frequency_count, monetary_amount, recency_score,"
        " frequency_score, monetary_score, rfm_segment from marts.mart_customer_rfm order by 1"
    )
    assert rfm == [
        # two customers: the worse scores ceil(5 x 1 / 2) = 3, the better 5; FM (5+3)/2 = 4
        ("C001", 1, 6, d("1904.03"), 5, 5, 3, "champions"),
        ("C002", 32, 3, d("31551.72"), 3, 3, 5, "loyal"),
    ]
    # fmt: on
    assert project.query(
        "select customer_id, value_tier, is_potential from marts.mart_customer_value order by 1"
    ) == [("C001", "mid_value", False), ("C002", "high_net_worth", False)]
    # R001 was paid on its due date
    assert project.query(
        "select customer_id, max_days_past_due, days_past_due_bucket"
        " from marts.mart_customer_credit_risk order by 1"
    ) == [("C001", 0, "0"), ("C002", 0, "0")]


def test_personal_data_only_in_restricted_schema(project: DbtProject, build: DbtRun) -> None:
    assert PERSONAL_COLUMNS == {"full_name", "national_id", "phone", "email", "address"}
    columns = project.query(
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_schema not in ('raw', 'restricted', 'pg_catalog', 'information_schema')"
    )
    assert {schema for schema, _, _ in columns} >= {"staging", "intermediate", "marts", "seeds"}
    leaked = [column for column in columns if column[2] in PERSONAL_COLUMNS]
    assert leaked == []
    restricted = project.query(
        "select column_name from information_schema.columns"
        " where table_schema = 'restricted' and table_name = 'restricted_customer_personal_data'"
    )
    assert PERSONAL_COLUMNS <= {name for (name,) in restricted}


def test_scores_models_are_tagged_and_built_after_scoring(
    project: DbtProject, build: DbtRun
) -> None:
    project.execute(
        "insert into scores.customer_scores (score_date, customer_id, churn_probability,"
        " churn_risk_band, reason_code_1, predicted_value_12m, segment_id, segment_name,"
        " model_version, run_id, scored_at) values"
        " ('2024-03-09', 'C001', 0.80, 'high', 'aum_falling', 100, 1, 'savers', 'v1', 'r1',"
        "  '2024-03-09 23:00:00'),"
        " ('2024-03-10', 'C001', 0.20, 'low', null, 6000, 1, 'savers', 'v1', 'r2',"
        "  '2024-03-10 23:00:00'),"
        " ('2024-03-10', 'C002', 0.50, 'medium', 'recent_complaint', 5000, 2, 'investors',"
        "  'v1', 'r2', '2024-03-10 23:00:00')"
    )
    project.execute(
        "insert into scores.score_drift values ('2024-03-10', 'churn_probability', 0.31,"
        " 'shifted', 2, 100, 'v1', 'r2', '2024-03-10 23:00:00')"
    )
    scored = project.invoke(
        "build", "--select", "tag:needs_scores", "--vars", f"{{as_of_date: {AS_OF_DATE}}}"
    )
    assert scored.returncode == 0, scored.stdout[-5000:]
    assert scored.models == {
        "stg_scores__customer_scores",
        "stg_scores__score_drift",
        "mart_customer_scores",
        "mart_customer_360",
        "mart_score_drift",
        "mart_next_best_actions",
    }
    rows = project.query(
        "select customer_id, cast(score_date as varchar), churn_probability,"
        " churn_risk_band, value_tier, is_potential_by_predicted_value"
        " from marts.mart_customer_scores order by 1"
    )
    # C001's latest score date (03-10) wins over the 03-09 score. C001 (retail,
    # mid_value) predicts 6,000, but no retail customer is in the next tier
    # (C002 is corporate): no median to reach, so not potential by predicted value;
    # C002 is in the top tier. The rule itself: unit test in _customer__unit_tests.yml.
    assert rows == [
        ("C001", "2024-03-10", 0.20, "low", "mid_value", False),
        ("C002", "2024-03-10", 0.50, "medium", "high_net_worth", False),
    ]
    in_360 = project.query(
        "select customer_id, churn_risk_band, segment_name, is_potential"
        " from marts.mart_customer_360 order by 1"
    )
    assert in_360 == [
        ("C001", "low", "savers", False),
        ("C002", "medium", "investors", False),
        ("C003", None, None, None),  # no account: no value row, not scored
    ]
    assert project.query("select variable, is_shifted from marts.mart_score_drift") == [
        ("churn_probability", True)
    ]


def test_reporting_window_defaults_to_the_data(project: DbtProject, build: DbtRun) -> None:
    shown = project.invoke(
        "--quiet", "show", "--select", "int_reporting_window", "--output", "json"
    )
    assert shown.returncode == 0, shown.stdout[-5000:]
    output = json.loads(shown.stdout[shown.stdout.index("{") : shown.stdout.rindex("}") + 1])
    # without vars: history starts at the first balance (A010, 2024-01-01); the as-of date is
    # the latest transaction date 2024-03-11 (T10), later than the last balance date 2024-03-05
    assert output["show"] == [{"history_start_date": "2024-01-01", "as_of_date": "2024-03-11"}]


def test_sources_describe_every_landing_column() -> None:
    declared: dict[str, list[str]] = {}
    for path in (DBT_PROJECT_DIR / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            for table in source["tables"]:
                identifier = table.get("identifier", table["name"])
                declared[f"{source['schema']}.{identifier}"] = [
                    column["name"] for column in table["columns"] if column.get("description")
                ]
    for entity in ENTITIES:
        assert declared[f"raw.{entity.raw_table}"] == [*entity.column_names, *RAW_METADATA], (
            entity.raw_table
        )
    assert {"raw._load_registry", "raw._quarantine", "scores.customer_scores"} <= set(declared)
