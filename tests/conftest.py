"""Fixtures shared by the whole suite."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import duckdb
import pytest
from filelock import FileLock
from xdist.scheduler import LoadScopeScheduling

# the benchmark's: the environment of bin/env.sh with every path under a data folder
from benchmarks.run import pipeline_environment, tool
from include.config import DBT_PROJECT_DIR, REPO_ROOT
from tests.postgres_server import PostgresUnavailable, running_postgres

# Test files that read one pipeline run (made by a session fixture): pytest-xdist sends
# each group to one worker, so each run is made once per test run, and runs the groups
# first, as they take longest, each in the order listed here. The two groups split the
# long fixtures about evenly between two workers: the shared DuckDB run and its readers
# with the resource faults, against the PostgreSQL run and the crash chain (which
# needs the shared run: the other worker makes it meanwhile). Every other file is one
# unit too (module fixtures run once).
PIPELINE_GROUPS = {
    "tests/benchmarks/test_benchmark_command.py": "duckdb_pipeline",
    "tests/dags/test_end_to_end.py": "duckdb_pipeline",
    "tests/dags/test_hostile_values.py": "duckdb_pipeline",
    "tests/dags/test_published_copy.py": "duckdb_pipeline",
    "tests/reporting/test_report_in_browser.py": "duckdb_pipeline",
    "tests/dags/test_resource_faults.py": "duckdb_pipeline",
    "tests/dags/test_postgres_pipeline.py": "second_pipeline",
    "tests/dags/test_crash_recovery.py": "second_pipeline",
    "tests/dags/test_month_of_dirty_days.py": "month_of_dirty_days",
}
PIPELINE_ORDER = {path: rank for rank, path in enumerate(PIPELINE_GROUPS)}


class PipelineGroupScheduling(LoadScopeScheduling):
    """xdist's ``--dist loadfile``, with the files of a pipeline group as one unit.
    (xdist's own ``loadgroup`` marks do not group under pytest 9: it renames the test's
    node id through an attribute pytest 9 no longer reads.)"""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return PIPELINE_GROUPS.get(path, path)


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> LoadScopeScheduling:
    return PipelineGroupScheduling(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # the pipeline groups first, in their order (the sort is stable: tests keep theirs)
    items.sort(
        key=lambda item: PIPELINE_ORDER.get(item.nodeid.split("::", 1)[0], len(PIPELINE_ORDER))
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """With SUITE_CPU_LOG set, append each test's wall and CPU seconds (this process and
    the commands it waited for, fixtures included) to that file as JSON lines: where the
    suite's time goes, since CI is bounded by two cores' CPU, not by wall time alone."""
    log = os.environ.get("SUITE_CPU_LOG")
    if not log:
        return (yield)
    started = time.monotonic()
    before = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    try:
        return (yield)
    finally:
        after = [
            resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        ]
        own, children = (
            (a.ru_utime + a.ru_stime) - (b.ru_utime + b.ru_stime) for a, b in zip(after, before)
        )
        entry = {
            "test": item.nodeid, "worker": os.environ.get("PYTEST_XDIST_WORKER", "main"),
            "wall": round(time.monotonic() - started, 2),
            "cpu_self": round(own, 2), "cpu_children": round(children, 2),
        }  # fmt: skip
        with open(log, "a") as out:
            out.write(json.dumps(entry) + "\n")


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
        dbt = tool("dbt")
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


# The tiny bank of the pipeline tests and its two daily run dates: the last business
# date it has files for, and the one before (the benchmark command's "first daily run").
TINY_BANK = (
    "--customers", "150", "--months", "4", "--start-date", "2025-01-01",
    "--seed", "42", "--dirt-rate", "0.01", "--hostile-text",
)  # fmt: skip
FIRST_RUN_DATE = "2025-04-29"
RUN_DATE = "2025-04-30"


def table_counts(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, int]:
    tables = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ?",
        [schema],
    ).fetchall()
    return {t: con.execute(f'select count(*) from {schema}."{t}"').fetchone()[0] for (t,) in tables}


def prepare_bank(
    data_dir: Path, env: dict[str, str], generator_args: tuple[str, ...] = TINY_BANK
) -> str:
    """Generate a bank (by default the tiny bank of the pipeline tests) into ``data_dir`` and
    prepare Airflow's metadata database and writer pool; returns the ``airflow`` command."""
    run_command(
        [tool("python"), "-m", "include.bank_generator", *generator_args, "--quiet",
         "--out", str(data_dir)],
        env,
    )  # fmt: skip
    airflow = tool("airflow")
    run_command([airflow, "db", "migrate"], env)
    run_command([airflow, "pools", "set", "duckdb_writer", "1", "warehouse writers"], env)
    return airflow


def run_tiny_bank_benchmark(data_dir: Path) -> dict:
    """The benchmark command (benchmarks/run.py) on the tiny bank: generate, a daily run
    with no approved model (FIRST_RUN_DATE), the training, the next business day's run
    (RUN_DATE) that scores; the bank as it was before that run is kept beside ``data_dir``
    (``before_next_day``). Returns its figures and its printed table."""
    figures = data_dir.parent / "benchmark.json"
    completed = run_command(
        [
            sys.executable,
            str(REPO_ROOT / "benchmarks" / "run.py"),
            *TINY_BANK,
            "--data-dir",
            str(data_dir),
            "--json",
            str(figures),
            "--snapshot-before-next-day",
            str(data_dir.parent / "before_next_day"),
        ],
        dict(os.environ),
        timeout=1800,
    )
    return {"figures": json.loads(figures.read_text()), "stdout": completed.stdout}


def latest_daily_report(env: dict[str, str]) -> Path:
    """The run report of the latest daily run (logical date) of a pipeline environment."""
    from expectations.runner import safe_run_id  # imports GX: only when a test needs it

    with closing(sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        [(run_id,)] = db.execute(
            "select run_id from dag_run where dag_id = 'customer_operations_daily'"
            " order by logical_date desc limit 1"
        ).fetchall()
    return Path(env["REPORTS_PATH"]) / safe_run_id(run_id) / "report.html"


@contextmanager
def reading_the_published_copy(
    data_dir: Path, work: Path, postgres: dict[str, str] | None = None
) -> Iterator[Path]:
    """A BI reader (tests/published_reader.py) in its own process for the duration of the
    block: of the bank's published DuckDB copy and Parquet files, or with ``postgres``
    (WAREHOUSE_POSTGRES_* settings) of PostgreSQL's published schema. Yields the path of
    its results (written when the block ends)."""
    work.mkdir()
    stop, results = work / "stop", work / "results.json"
    if postgres:
        settings = work / "postgres.json"
        settings.write_text(json.dumps(postgres))
        target = ["--postgres", str(settings)]
    else:
        target = ["--published", pipeline_environment(data_dir)["PUBLISHED_PATH"]]
    reader = subprocess.Popen(
        [sys.executable, "-m", "tests.published_reader", *target,
         "--stop", str(stop), "--out", str(results)],
        cwd=REPO_ROOT,
    )  # fmt: skip
    try:
        yield results
    finally:
        stop.touch()
        reader.wait(timeout=120)


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    """One tiny generated bank run through Airflow by the benchmark command, shared by every
    test that only reads it (a test that writes works on a copy). Made once per test run,
    whatever the number of pytest-xdist workers: the first worker to ask makes it under a
    file lock, the others read what it recorded."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    record = shared / "pipeline_run.json"
    with FileLock(str(shared / "pipeline_run.lock")):
        if not record.exists():
            data_dir = shared / "pipeline_bank"
            try:
                with reading_the_published_copy(data_dir, shared / "reader") as reads:
                    made = {"benchmark": run_tiny_bank_benchmark(data_dir)}
                made["reader"] = json.loads(reads.read_text())
            except BaseException as failure:  # pytest.fail raises an exception outside Exception
                record.write_text(json.dumps({"failure": str(failure)}))
                raise
            record.write_text(
                json.dumps(
                    made
                    | {
                        "data_dir": str(data_dir),
                        "before_next_day": str(shared / "before_next_day"),
                    }
                )
            )
    run = json.loads(record.read_text())
    if "failure" in run:
        pytest.fail(f"the shared pipeline run failed in another worker:\n{run['failure']}")
    data_dir = Path(run["data_dir"])
    logs = data_dir / "benchmark-logs"
    return run | {
        "data_dir": data_dir,
        "before_next_day": Path(run["before_next_day"]),
        "env": pipeline_environment(data_dir),
        "airflow": tool("airflow"),
        "log": "".join(path.read_text(errors="replace") for path in sorted(logs.glob("*.log"))),
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
