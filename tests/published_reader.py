"""A BI reader of the published copy, run in its own process beside a pipeline run.

    python -m tests.published_reader --published <published bank.duckdb> --stop <file>
        --out <results.json> [--max-queries N]
    python -m tests.published_reader --postgres <settings.json> --stop <file> --out <results.json>

In a loop (until the stop file appears or ``--max-queries`` rounds), it reads the
DuckDB copy through its stable path and the Parquet files through the ``current``
link, as a BI tool does, or (``--postgres``, a JSON file of WAREHOUSE_POSTGRES_*
settings) the ``published`` schema of PostgreSQL: each read takes the publication
record and two marts in one query. It records what it saw, or the error, and writes
them as JSON at the end. The tests that read the results (tests/dags/test_published_copy.py,
tests/dags/test_postgres_pipeline.py) check that no read failed and that every read
saw one publication whole: its record and its two marts as that publication holds them.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

from include.publish import parquet_relations as release_relations

# One read: the publication record and two marts, in one query.
SNAPSHOT_QUERY = """
select
    (select run_id from {publication}) as run_id,
    (select count(*) from {customer_months}) as customer_months,
    (select round(sum(month_average_aum), 2)::double from {customer_months}) as month_average_aum,
    (select count(*) from {customer_360}) as customers
"""
# The same three in the DuckDB copy.
DUCKDB_RELATIONS = {
    "publication": "main.publication",
    "customer_months": "marts.fct_customer_months",
    "customer_360": "marts.mart_customer_360",
}
# PostgreSQL rounds numeric, not double precision.
POSTGRES_SNAPSHOT_QUERY = """
select
    (select run_id from published.publication) as run_id,
    (select count(*) from published.fct_customer_months) as customer_months,
    (select round(sum(month_average_aum)::numeric, 2)::float8
     from published.fct_customer_months) as month_average_aum,
    (select count(*) from published.mart_customer_360) as customers
"""
PAUSE_SECONDS = 0.1


def snapshot(con: duckdb.DuckDBPyConnection, relations: dict[str, str]) -> list:
    return list(con.execute(SNAPSHOT_QUERY.format(**relations)).fetchone())


def duckdb_snapshot(published: Path) -> list:
    """One read of the DuckDB copy, opened read-only through its stable path."""
    with duckdb.connect(str(published), read_only=True) as con:
        return snapshot(con, DUCKDB_RELATIONS)


def parquet_relations(release: Path) -> dict[str, str]:
    """The three of SNAPSHOT_QUERY as a Parquet reader finds them in ``release``."""
    files = release_relations(release)
    return {
        "publication": files["publication"],
        "customer_months": files["marts.fct_customer_months"],
        "customer_360": files["marts.mart_customer_360"],
    }


def parquet_snapshot(current: Path) -> list:
    """One read of the Parquet files of the release ``current`` points to (resolved once)."""
    release = current.resolve()
    with duckdb.connect() as con:
        return snapshot(con, parquet_relations(release))


def postgres_reads_until_stopped(settings: dict[str, str], stop: Path, max_queries: int) -> dict:
    """The same loop against PostgreSQL's ``published`` schema, one connection in
    autocommit (each query its own snapshot, no transaction held between reads)."""
    import psycopg2

    from tests.postgres_server import connect_kwargs

    seen: list[list] = []
    errors: list[str] = []
    rounds = 0
    con = psycopg2.connect(**connect_kwargs(settings))
    con.autocommit = True
    try:
        while not stop.exists() and rounds < max_queries:
            rounds += 1
            with con.cursor() as cur:
                cur.execute("select to_regclass('published.publication')")
                if cur.fetchone()[0] is not None:  # published once at least
                    try:
                        cur.execute(POSTGRES_SNAPSHOT_QUERY)
                        seen.append(list(cur.fetchone()))
                    except psycopg2.Error as error:  # the finding: record it, go on
                        errors.append(f"postgres: {type(error).__name__}: {error}")
            time.sleep(PAUSE_SECONDS)
    finally:
        con.close()
    return {"seen": {"postgres": seen}, "errors": errors, "rounds": rounds}


def read_until_stopped(published: Path, stop: Path, max_queries: int) -> dict:
    current = published.parent / "current"
    seen: dict[str, list] = {"duckdb": [], "parquet": []}
    errors: list[str] = []
    rounds = 0
    while not stop.exists() and rounds < max_queries:
        rounds += 1
        if current.exists():  # before the first publication there is nothing to read
            for kind, read in (("duckdb", lambda: duckdb_snapshot(published)),
                               ("parquet", lambda: parquet_snapshot(current))):  # fmt: skip
                try:
                    seen[kind].append(read())
                except (duckdb.Error, OSError) as error:  # the finding: record it, go on
                    errors.append(f"{kind}: {type(error).__name__}: {error}")
        time.sleep(PAUSE_SECONDS)
    return {"seen": seen, "errors": errors, "rounds": rounds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--published", type=Path)
    target.add_argument("--postgres", type=Path, help="JSON file of WAREHOUSE_POSTGRES_*")
    parser.add_argument("--stop", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-queries", type=int, default=100_000)
    args = parser.parse_args(argv)
    if args.postgres:
        settings = json.loads(args.postgres.read_text())
        results = postgres_reads_until_stopped(settings, args.stop, args.max_queries)
    else:
        results = read_until_stopped(args.published, args.stop, args.max_queries)
    args.out.write_text(json.dumps(results))


if __name__ == "__main__":
    main()
