"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from include.config import DBT_PROJECT_DIR, REPO_ROOT

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
