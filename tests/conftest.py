"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from include.config import DBT_PROJECT_DIR, REPO_ROOT
from tests.postgres_server import PostgresUnavailable, running_postgres

PATH_VARIABLES = (
    "LANDING_PATH",
    "WAREHOUSE_PATH",
    "PUBLISHED_PATH",
    "MODEL_STORE_PATH",
    "REPORTS_PATH",
    "AIRFLOW_HOME",
)


def pipeline_environment(data_dir: Path) -> dict[str, str]:
    """The process environment of bin/env.sh with every path under ``data_dir``."""
    env = {key: value for key, value in os.environ.items() if key not in PATH_VARIABLES}
    env["BANK_DATA_DIR"] = str(data_dir)
    shell = f". '{REPO_ROOT}/bin/env.sh' && env -0"
    output = subprocess.run(["bash", "-c", shell], env=env, check=True, capture_output=True).stdout
    return dict(item.split("=", 1) for item in output.decode().split("\0") if "=" in item)


def run_command(
    args: list[str], env: dict[str, str], timeout: int = 900
) -> subprocess.CompletedProcess:
    """Run a project command; on failure show its output in the test report."""
    result = subprocess.run(
        args, env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(args)} exited {result.returncode}\n"
            f"--- stdout (tail)\n{result.stdout[-6000:]}\n--- stderr (tail)\n{result.stderr[-6000:]}"
        )
    return result


@pytest.fixture(scope="session")
def dbt_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest the DAG renders from (bin/setup builds it; build it here when missing)."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest.exists():
        env = pipeline_environment(tmp_path_factory.mktemp("parse"))
        dbt = str(Path(sys.executable).with_name("dbt"))
        run_command(
            [
                dbt,
                "parse",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            env,
        )
    return manifest


# The daily run date of the shared pipeline run (the tiny bank ends on it).
RUN_DATE = "2025-04-30"


def table_counts(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    tables = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ?",
        [schema],
    ).fetchall()
    return {t: con.execute(f'select count(*) from {schema}."{t}"').fetchone()[0] for (t,) in tables}


def prepare_tiny_bank(data_dir: Path, env: dict[str, str]) -> str:
    """Generate the tiny bank of the pipeline tests into ``data_dir`` and prepare Airflow's
    metadata database and writer pool; returns the ``airflow`` command."""
    bin_dir = Path(sys.executable).parent
    run_command(
        [
            str(bin_dir / "python"),
            "-m",
            "include.bank_generator",
            "--customers",
            "150",
            "--months",
            "4",
            "--start-date",
            "2025-01-01",
            "--dirt-rate",
            "0.01",
            "--out",
            str(data_dir),
        ],
        env,
    )
    airflow = str(bin_dir / "airflow")
    run_command([airflow, "db", "migrate"], env)
    run_command([airflow, "pools", "set", "duckdb_writer", "1", "warehouse writers"], env)
    return airflow


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    """One tiny generated bank run through Airflow, shared by every test that only reads it:
    a daily run with no approved model, the monthly training, a daily run that scores."""
    data_dir = tmp_path_factory.mktemp("bank")
    env = pipeline_environment(data_dir)
    airflow = prepare_tiny_bank(data_dir, env)
    logs = []
    logs.append(run_command([airflow, "dags", "test", "customer_operations_daily", RUN_DATE], env))
    with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
        scores_before_training = table_counts(con, "scores")
    logs.append(run_command([airflow, "dags", "test", "churn_model_training", RUN_DATE], env))
    logs.append(run_command([airflow, "dags", "test", "customer_operations_daily", RUN_DATE], env))
    return {
        "env": env,
        "data_dir": data_dir,
        "airflow": airflow,
        "scores_before_training": scores_before_training,
        "log": "".join(completed.stdout + completed.stderr for completed in logs),
    }


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[dict[str, str]]:
    """A throwaway PostgreSQL 15 server (tests/postgres_server.py) for the session: its
    WAREHOUSE_POSTGRES_* settings. Fails, never skips, when the binaries are missing."""
    try:
        with running_postgres() as settings:
            yield settings
    except PostgresUnavailable as missing:
        pytest.fail(str(missing))
