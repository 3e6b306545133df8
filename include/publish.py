"""Publish a read-only copy of the BI-facing schemas, swapped in atomically.

BI tools never open the warehouse file (DuckDB allows one writer, and a reader
would block the pipeline). Each publication is written whole into a release
folder of its own beside the published path, then made current in one step:

    published/
      releases/<UTC timestamp>-<run id hash>/
        bank.duckdb                       marts schema + main.publication
        parquet/marts/<table>.parquet     every marts table but the monthly ones
        parquet/marts/fct_transactions/month=<YYYY-MM>/*.parquet
                                          a monthly table (the transactions, the
                                          customer-month facts), one folder a month
        parquet/publication.parquet       the same publication record
      current -> releases/<id>            swapped atomically (rename of a symlink)
      bank.duckdb -> current/bank.duckdb  the stable path readers open

A reader resolves the links once when it opens a file, so it sees one whole
publication, never half of two.

The transactions and the customer-month facts (``MONTHLY_TABLES``) change by about a
day's rows a day, and copying all of them into every release cost minutes at bank
scale. They are published as one
Parquet folder a month; a month whose rows are unchanged since the previous release
(same row count and sum of row hashes, same columns: ``months.json`` beside the
folders) is hard-linked from it, not written again. In the DuckDB copy the table is a
view over its release's Parquet files (by absolute path: the release folder never
changes once complete), so both formats hold the same rows. The last ``KEPT_RELEASES`` releases stay on disk,
so a reader still going through an older release is not pulled from under.

Write-audit-publish: a copy is published only when the run's latest mart
validation (``expectations/marts.py``, recorded in ``audit.validation_runs``)
passed. The DAG already stops before ``publish_for_bi`` when validation fails;
the gate also holds when the task is run by hand or validation was marked
successful, so the published copy stays at the last good version.

On ``WAREHOUSE_TARGET=postgres`` the same happens inside the database: after the same
gate, one transaction copies the marts and the publication record into a new schema
and renames it to ``published`` in place of the previous one (PostgreSQL's DDL is
transactional). BI tools (role ``bi_reader``) read ``published``: a query sees the
publication before the swap or the one after, never one new and one old mart, which
reading ``marts`` in place would show while dbt rebuilds them. A query already running
holds its tables until it ends (the swap waits for it); one issued during the swap
waits for the commit and then reads the new tables. ``audit.publications`` lists every
publication.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from include.audit import AUDIT_SCHEMA, VALIDATION_RUNS_TABLE, ensure_audit_schema, utc_now
from include.config import Settings
from include.crash_points import crash_point
from include.warehouse import Session, connect, session

PUBLISHED_SCHEMAS = ("marts",)
# Suites written by ``expectations.marts.validate_marts`` (SQL LIKE patterns).
GATE_SUITES = ("marts__%", "warehouse__%")
# Releases kept after a swap (the current one included): a reader has at least two
# more publications' time to finish with the release it resolved.
KEPT_RELEASES = 3
RELEASES_DIR = "releases"
CURRENT_LINK = "current"
PARQUET_DIR = "parquet"
PUBLICATION_TABLE = "publication"
# Marts published a month at a time (the date column that says the month), reused
# from the previous release where a month is unchanged: the transactions and the
# customer-month facts, of which a daily run changes the open month and the few its
# new rows or labels touch.
MONTHLY_TABLES = {
    "marts.fct_transactions": "transaction_date",
    "marts.fct_customer_months": "month_start_date",
    "marts.fct_customer_signal_months": "month_start_date",
    "marts.fct_customer_churn_months": "month_start_date",
    "marts.fct_customer_tier_migrations": "month_start_date",
}
MONTH_FINGERPRINTS = "months.json"
# PostgreSQL: the schema BI reads, its next version while it is written, who may read
# it, and one row per publication.
POSTGRES_PUBLISHED_SCHEMA = "published"
POSTGRES_READERS = ("analyst", "bi_reader")
PUBLICATIONS_TABLE = f"{AUDIT_SCHEMA}.publications"


class PublishRefusedError(Exception):
    """The run's marts did not pass validation; the published copy was left as it was."""


def gate_failures(con: Session, run_id: str) -> list[str]:
    """Why ``run_id`` may not publish: no mart validation, or a suite whose latest result failed."""
    patterns = " or ".join("suite like ?" for _ in GATE_SUITES)
    # A subquery, not DuckDB's ``qualify``: the gate runs on PostgreSQL too.
    rows = con.fetchall(
        "select suite, success from ("
        "select suite, success, row_number() over (partition by suite order by checked_at desc)"
        f" as latest from {VALIDATION_RUNS_TABLE} where run_id = ? and ({patterns})"
        ") as checks where latest = 1 order by suite",
        [run_id, *GATE_SUITES],
    )
    if not rows:
        return [f"no mart validation recorded for run {run_id}"]
    return [f"{suite} failed" for suite, success in rows if not success]


def publication_root(settings: Settings) -> Path:
    """The folder of the published path: it holds ``releases/`` and ``current``."""
    return settings.published_path.parent


def release_id(published_at: datetime, run_id: str) -> str:
    """Sorts by publication time; the run id hash tells same-instant publications apart."""
    run_hash = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"{published_at:%Y%m%dT%H%M%S%fZ}-{run_hash}"


def current_release(settings: Settings) -> Path | None:
    """The release folder ``current`` points to, or None before the first publication."""
    current = publication_root(settings) / CURRENT_LINK
    return current.resolve() if current.is_symlink() else None


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


_PUBLISHED_TABLES_SQL = (
    "select table_name from information_schema.tables "
    "where table_catalog = current_database() and table_schema = ? "
    "order by table_name"
)


def _published_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    return [table for (table,) in con.execute(_PUBLISHED_TABLES_SQL, [schema]).fetchall()]


def _write_duckdb_copy(
    con: duckdb.DuckDBPyConnection, database: Path, run_id: str, published_at: datetime
) -> dict[str, int]:
    """The published schemas and the publication record, into a new DuckDB file
    attached as ``published`` (left attached for the Parquet export)."""
    row_counts: dict[str, int] = {}
    con.execute(f"attach {_literal(database)} as published (read_only false)")
    for schema in PUBLISHED_SCHEMAS:
        con.execute(f"create schema published.{schema}")
        for table in _published_tables(con, schema):
            if f"{schema}.{table}" in MONTHLY_TABLES:
                continue  # a view over its Parquet months, made once they are in place
            con.execute(
                f'create table published.{schema}."{table}" as select * from {schema}."{table}"'
            )
            (count,) = con.execute(f'select count(*) from published.{schema}."{table}"').fetchone()
            row_counts[f"{schema}.{table}"] = count
    con.execute(
        f"create table published.main.{PUBLICATION_TABLE} as "
        "select ?::varchar as run_id, ?::timestamp as published_at",
        [run_id, published_at.replace(tzinfo=None)],
    )
    return row_counts


def _write_parquet(
    con: duckdb.DuckDBPyConnection, folder: Path, tables: list[str]
) -> dict[str, Path]:
    """Each table (``schema.table``) of the attached copy and its publication record as
    Parquet, exported from the copy itself so both formats hold the same rows."""
    sources = {
        qualified: (f'published.{schema}."{table}"', folder / schema / f"{table}.parquet")
        for qualified in tables
        for schema, table in [qualified.split(".", 1)]
    }
    sources[PUBLICATION_TABLE] = (
        f"published.main.{PUBLICATION_TABLE}",
        folder / f"{PUBLICATION_TABLE}.parquet",
    )
    for source, file in sources.values():
        file.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"copy {source} to {_literal(file)} (format parquet)")
    return {name: file for name, (_, file) in sources.items()}


def _monthly_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The MONTHLY_TABLES the warehouse holds."""
    return [
        qualified
        for qualified in MONTHLY_TABLES
        for schema, table in [qualified.split(".", 1)]
        if table in _published_tables(con, schema)
    ]


def _month_key(date_column: str) -> str:
    return f"coalesce(strftime({date_column}, '%Y-%m'), 'none')"


def _month_fingerprints(con: duckdb.DuckDBPyConnection, qualified: str, date_column: str) -> dict:
    """Per month of ``qualified`` its row count and the sum of its row hashes, and the
    table's columns: what tells an unchanged month from one to write again."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ? "
        "order by ordinal_position",
        qualified.split(".", 1),
    ).fetchall()
    row_hash = "hash(" + ", ".join(f'"{name}"' for name, _ in columns) + ")"
    months = con.execute(
        f"select {_month_key(date_column)} as month, count(*), sum({row_hash})::varchar "
        f"from {qualified} group by month order by month"
    ).fetchall()
    return {
        "columns": [list(column) for column in columns],
        "months": {month: [count, row_hashes] for month, count, row_hashes in months},
    }


def _write_monthly_parquet(
    con: duckdb.DuckDBPyConnection, folder: Path, qualified: str, previous: Path | None
) -> tuple[Path, int, dict[str, list[str]]]:
    """One Parquet folder a month of ``qualified`` into ``folder``/<schema>/<table>/:
    months unchanged since the ``previous`` release hard-linked from it, the others
    written. Returns the table's folder, its row count, and which months were
    written and which reused."""
    schema, table = qualified.split(".", 1)
    target = folder / schema / table
    target.mkdir(parents=True)
    date_column = MONTHLY_TABLES[qualified]
    fingerprints = _month_fingerprints(con, qualified, date_column)
    before: dict = {}
    if (
        previous is not None
        and (previous_file := previous / schema / table / MONTH_FINGERPRINTS).exists()
    ):
        before = json.loads(previous_file.read_text())
    same_columns = before.get("columns") == fingerprints["columns"]
    reused = [
        month
        for month, figures in fingerprints["months"].items()
        if same_columns and before["months"].get(month) == figures
    ]
    for month in reused:
        (target / f"month={month}").mkdir()
        for file in (previous / schema / table / f"month={month}").iterdir():
            os.link(file, target / f"month={month}" / file.name)
    written = [month for month in fingerprints["months"] if month not in reused]
    if written:
        # One pass for every changed month, into a folder of its own (DuckDB writes
        # partitions only into an empty one), then moved beside the reused months.
        fresh = target.with_name(f".{table}.written")
        months = ", ".join("'" + month.replace("'", "''") + "'" for month in written)
        con.execute(
            f"copy (select *, {_month_key(date_column)} as month from {qualified} "
            f"where {_month_key(date_column)} in ({months})) to {_literal(fresh)} "
            "(format parquet, partition_by (month), write_partition_columns false)"
        )
        for month_folder in fresh.iterdir():
            month_folder.rename(target / month_folder.name)
        fresh.rmdir()
    elif not fingerprints["months"]:
        # An empty table: one empty file, so the view over the folder keeps its columns.
        (target / "month=none").mkdir()
        con.execute(
            f"copy (select * from {qualified} limit 0) to "
            f"{_literal(target / 'month=none' / 'data_0.parquet')} (format parquet)"
        )
    (target / MONTH_FINGERPRINTS).write_text(json.dumps(fingerprints))
    rows = sum(count for count, _ in fingerprints["months"].values())
    return target, rows, {"written": written, "reused": reused}


def _monthly_views(
    con: duckdb.DuckDBPyConnection, database: Path, folders: dict[str, Path]
) -> None:
    """In the release's DuckDB copy, each monthly table as a view over its Parquet
    months (the folder's final, absolute path)."""
    con.execute(f"attach {_literal(database)} as published (read_only false)")
    try:
        for qualified, folder in folders.items():
            schema, table = qualified.split(".", 1)
            files = _literal(folder / "*" / "*.parquet")
            con.execute(
                f'create view published.{schema}."{table}" as '
                f"select * from read_parquet({files}, hive_partitioning = false)"
            )
    finally:
        con.execute("detach published")


def parquet_relations(release: Path) -> dict[str, str]:
    """Each table of a release (``schema.table``, and ``publication``) as a
    ``read_parquet(...)`` over its file, or over the month folders of a monthly table:
    what a reader of the Parquet side queries."""
    folder = release / PARQUET_DIR
    relations: dict[str, str] = {}
    for schema in PUBLISHED_SCHEMAS:
        for path in sorted((folder / schema).iterdir()):
            if path.is_dir():
                files = _literal(path / "*" / "*.parquet")
                relations[f"{schema}.{path.name}"] = (
                    f"read_parquet({files}, hive_partitioning = false)"
                )
            elif path.suffix == ".parquet":
                relations[f"{schema}.{path.stem}"] = f"read_parquet({_literal(path)})"
    record = folder / f"{PUBLICATION_TABLE}.parquet"
    relations[PUBLICATION_TABLE] = f"read_parquet({_literal(record)})"
    return relations


def _replace_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` in one step: a new link under a temporary name,
    renamed over the old link (or over a plain file, on migration)."""
    staging = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    staging.unlink(missing_ok=True)
    staging.symlink_to(target)
    os.replace(staging, link)


def _prune_releases(releases: Path, current: Path) -> list[str]:
    """Delete all but the newest ``KEPT_RELEASES`` releases (never the current one)
    and folders left by a publication that died half-way."""
    removed: list[str] = []
    names = sorted(p.name for p in releases.iterdir() if p.is_dir() and not p.name.startswith("."))
    for name in names[:-KEPT_RELEASES]:
        if releases / name != current:
            shutil.rmtree(releases / name)
            removed.append(name)
    # The caller holds the warehouse's write lock: no other publication is in progress.
    for leftover in releases.glob(".*.tmp"):
        shutil.rmtree(leftover, ignore_errors=True)
    return removed


def _check_gate(con: Session, run_id: str) -> None:
    ensure_audit_schema(con)
    refused = gate_failures(con, run_id)
    if refused:
        raise PublishRefusedError(
            f"not publishing run {run_id}, the published copy stays as it was: "
            + "; ".join(refused)
        )


def publish_in_postgres(settings: Settings, run_id: str, require_validation: bool = True) -> dict:
    """PostgreSQL: after the gate, swap in a new ``published`` schema holding a copy of the
    marts and the publication record, in one transaction; returns the record and the row
    counts."""
    published_at = utc_now()
    schema, next_schema = POSTGRES_PUBLISHED_SCHEMA, f"{POSTGRES_PUBLISHED_SCHEMA}_next"
    readers = ", ".join(POSTGRES_READERS)
    with session(settings.postgres) as con:
        if require_validation:
            _check_gate(con, run_id)
        tables = [name for (name,) in con.fetchall(_PUBLISHED_TABLES_SQL, [PUBLISHED_SCHEMAS[0]])]
        with con.transaction():
            con.execute(f"drop schema if exists {next_schema} cascade")
            con.execute(f"create schema {next_schema}")
            for table in tables:
                con.execute(
                    f'create table {next_schema}."{table}" as '
                    f'select * from {PUBLISHED_SCHEMAS[0]}."{table}"'
                )
            con.execute(
                f"create table {next_schema}.{PUBLICATION_TABLE} as "
                "select cast(? as varchar) as run_id, cast(? as timestamp) as published_at",
                [run_id, published_at],
            )
            con.execute(f"grant usage on schema {next_schema} to {readers}")
            con.execute(f"grant select on all tables in schema {next_schema} to {readers}")
            con.execute(f"drop schema if exists {schema} cascade")
            con.execute(f"alter schema {next_schema} rename to {schema}")
            con.execute(
                f"create table if not exists {PUBLICATIONS_TABLE}"
                " (run_id varchar, published_at timestamp)"
            )
            con.execute(f"insert into {PUBLICATIONS_TABLE} values (?, ?)", [run_id, published_at])
            row_counts = {
                f"{schema}.{table}": con.fetchall(f'select count(*) from {schema}."{table}"')[0][0]
                for table in tables
            }
    return {
        "published_in": f"{settings.postgres} (schema {schema}, roles {readers})",
        "publication_table": f"{schema}.{PUBLICATION_TABLE}",
        "published_at": published_at.isoformat(),
        "tables": row_counts,
    }


def publish_marts(settings: Settings, run_id: str, require_validation: bool = True) -> dict:
    """Write the marts as a DuckDB copy and as Parquet into a new release and make it current
    (on PostgreSQL: :func:`publish_in_postgres` instead).

    Raises :class:`PublishRefusedError` (publishing nothing) unless the run's
    marts passed validation; ``require_validation=False`` is for tools and tests.
    """
    if settings.on_postgres:
        return publish_in_postgres(settings, run_id, require_validation)
    target = settings.published_path
    root = publication_root(settings)
    releases = root / RELEASES_DIR
    published_at = datetime.now(UTC)
    release = releases / release_id(published_at, run_id)
    # Written under a hidden name, renamed when whole: a listed release is complete.
    staging = releases / f".{release.name}.tmp"

    previous = current_release(settings)
    con = connect(settings.warehouse_path)
    try:
        if require_validation:
            _check_gate(Session("duckdb", con), run_id)
        staging.mkdir(parents=True)
        try:
            row_counts = _write_duckdb_copy(con, staging / target.name, run_id, published_at)
            parquet = _write_parquet(con, staging / PARQUET_DIR, list(row_counts))
            monthly: dict[str, dict[str, list[str]]] = {}
            for qualified in _monthly_tables(con):
                folder, rows, months = _write_monthly_parquet(
                    con, staging / PARQUET_DIR, qualified,
                    previous / PARQUET_DIR if previous else None,
                )  # fmt: skip
                parquet[qualified], row_counts[qualified], monthly[qualified] = folder, rows, months
            con.execute("detach published")
        except BaseException:
            # On a full disk the detach's checkpoint can fail too: the folder goes anyway.
            with contextlib.suppress(duckdb.Error):
                con.execute("detach database if exists published")
            shutil.rmtree(staging, ignore_errors=True)
            raise
        staging.rename(release)
        try:
            _monthly_views(
                con,
                release / target.name,
                {
                    name: release / path.relative_to(staging)
                    for name, path in parquet.items()
                    if name in monthly
                },
            )
        except BaseException:
            shutil.rmtree(release, ignore_errors=True)  # never current: readers did not see it
            raise
        crash_point("publish_for_bi:release_written")
        _replace_symlink(root / CURRENT_LINK, f"{RELEASES_DIR}/{release.name}")
        stable_target = f"{CURRENT_LINK}/{target.name}"
        if not (target.is_symlink() and os.readlink(target) == stable_target):
            _replace_symlink(target, stable_target)  # first publication, or a plain file before
        removed = _prune_releases(releases, release)
    finally:
        con.close()
    return {
        "published_path": str(target),
        "release_dir": str(release),
        "duckdb_path": str(release / target.name),
        "parquet": {
            name: str(release / path.relative_to(staging)) for name, path in parquet.items()
        },
        "tables": row_counts,
        "months": monthly,
        "removed_releases": removed,
    }
