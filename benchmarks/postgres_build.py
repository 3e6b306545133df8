"""Benchmark: `dbt build` on PostgreSQL and on DuckDB, side by side, on the same bank.

    uv run python benchmarks/postgres_build.py --warehouse <DuckDB file with raw loaded>
        [--as-of-date YYYY-MM-DD] [--threads N]

The warehouse is a DuckDB file the loader filled (e.g. ``benchmarks/load_landing.py
<landing> --keep <folder>`` writes ``<folder>/warehouse/bank.duckdb``); it is only read.
The script copies it to a scratch file (adding the empty scores tables dbt reads),
ships every table of its ``raw`` schema (with ``_load_registry`` and
``_quarantine``), ``audit`` when present and ``scores`` into PostgreSQL with
loading/postgres_copy.py, then runs ``dbt build --full-refresh`` on each target
against the same rows and prints the wall time of the copy and of each build, and
the PostgreSQL / DuckDB ratio.

PostgreSQL is the server of the WAREHOUSE_POSTGRES_* variables when
WAREHOUSE_POSTGRES_HOST is set (its database is written to), otherwise a
throwaway local server started like the tests' (tests/postgres_server.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import psycopg2

from include.config import DBT_PROJECT_DIR, REPO_ROOT
from loading.postgres_copy import copy_schemas
from scoring.warehouse_io import create_score_tables

COPIED_SCHEMAS = ("raw", "audit", "scores")
DBT = str(Path(sys.executable).with_name("dbt"))


@contextmanager
def postgres_settings() -> Iterator[dict[str, str]]:
    """The WAREHOUSE_POSTGRES_* settings of the environment, or of a throwaway server."""
    if os.environ.get("WAREHOUSE_POSTGRES_HOST"):
        yield {
            key: value for key, value in os.environ.items() if key.startswith("WAREHOUSE_POSTGRES_")
        }
        return
    sys.path.insert(0, str(REPO_ROOT / "tests"))
    from postgres_server import running_postgres  # a test helper, imported on demand

    with running_postgres() as settings:
        yield settings


def _connect(settings: Mapping[str, str]):
    return psycopg2.connect(
        host=settings["WAREHOUSE_POSTGRES_HOST"],
        port=int(settings.get("WAREHOUSE_POSTGRES_PORT", "5432")),
        dbname=settings["WAREHOUSE_POSTGRES_DATABASE"],
        user=settings["WAREHOUSE_POSTGRES_USER"],
        password=settings["WAREHOUSE_POSTGRES_PASSWORD"],
    )


def prepare_duckdb(source: Path, scratch: Path) -> Path:
    """A copy of the warehouse to build in, with the (empty) scores tables dbt reads."""
    copy = scratch / "bank.duckdb"
    shutil.copyfile(source, copy)
    with duckdb.connect(str(copy)) as con:
        create_score_tables(con)
    return copy


def ship_to_postgres(warehouse: Path, settings: Mapping[str, str]) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        pg = _connect(settings)
        try:
            return copy_schemas(con, pg, COPIED_SCHEMAS)
        finally:
            pg.close()


def dbt_build(target: str, env: Mapping[str, str], scratch: Path, extra: list[str]) -> float:
    """Wall seconds of one `dbt build --full-refresh`; exits when the build fails."""
    target_path = scratch / f"target_{target}"
    args = [
        DBT,
        "build",
        "--full-refresh",
        "--target",
        target,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path / "logs"),
        *extra,
    ]
    started = time.perf_counter()
    completed = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"dbt build --target {target} failed:\n{completed.stdout[-6000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="DuckDB file, raw loaded")
    parser.add_argument("--as-of-date", help="YYYY-MM-DD (default: the latest date in the data)")
    parser.add_argument("--threads", type=int, help="dbt threads on PostgreSQL (profile: 2)")
    args = parser.parse_args()
    extra = ["--vars", f"{{as_of_date: {args.as_of_date}}}"] if args.as_of_date else []
    with tempfile.TemporaryDirectory(prefix="pgbuild-") as folder, postgres_settings() as pg:
        scratch = Path(folder)
        warehouse = prepare_duckdb(args.warehouse, scratch)
        started = time.perf_counter()
        copied = ship_to_postgres(warehouse, pg)
        copy_seconds = time.perf_counter() - started
        env = os.environ | {
            "WAREHOUSE_PATH": str(warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        }
        env |= dict(pg)
        if args.threads:
            env["WAREHOUSE_POSTGRES_THREADS"] = str(args.threads)
        duckdb_seconds = dbt_build("duckdb", env, scratch, extra)
        postgres_seconds = dbt_build("postgres", env, scratch, extra)
    print(
        f"copy to PostgreSQL: {len(copied)} tables, {sum(copied.values()):,} rows, "
        f"{copy_seconds:.1f} s"
    )
    print(f"dbt build --full-refresh, DuckDB:     {duckdb_seconds:7.1f} s")
    print(f"dbt build --full-refresh, PostgreSQL: {postgres_seconds:7.1f} s")
    print(f"ratio PostgreSQL / DuckDB: {postgres_seconds / duckdb_seconds:.2f}")


if __name__ == "__main__":
    main()
