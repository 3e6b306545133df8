"""The publication of the real DAG: the DuckDB copy and the Parquet files are the same
release, hold the same rows and record, and carry no personal data (docs/bi.md)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from expectations.personal_data import PERSONAL_DATA_COLUMNS
from include.config import Settings, load_settings
from include.publish import (
    KEPT_RELEASES,
    MONTH_FINGERPRINTS,
    current_release,
    parquet_relations,
    publication_root,
)
from tests import published_reader
from tests.fingerprints import fingerprint

PUBLICATION_COLUMNS = ["run_id", "published_at"]


@pytest.fixture(scope="module")
def settings(pipeline_run: dict) -> Settings:
    return load_settings(pipeline_run["env"])


@pytest.fixture(scope="module")
def release(settings: Settings) -> Path:
    release = current_release(settings)
    assert release is not None, "the pipeline run published nothing"
    return release


def test_current_points_to_the_newest_release_of_the_latest_run(
    settings: Settings, release: Path
) -> None:
    releases = sorted(p.name for p in (publication_root(settings) / "releases").iterdir())
    assert 1 <= len(releases) <= KEPT_RELEASES
    assert release.name == releases[-1]
    assert settings.published_path.resolve() == release / settings.published_path.name
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as warehouse:
        (latest_run,) = warehouse.execute(
            "select run_id from audit.validation_runs where suite like 'marts__%' and success "
            "order by checked_at desc limit 1"
        ).fetchone()
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        assert con.execute("select run_id from main.publication").fetchall() == [(latest_run,)]


def test_parquet_and_duckdb_copy_hold_the_same_tables_and_record(release: Path) -> None:
    files = parquet_relations(release)
    with duckdb.connect(str(release / "bank.duckdb"), read_only=True) as con:
        tables = {
            f"marts.{table}"
            for (table,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        assert set(files) == tables | {"publication"}
        for table in sorted(tables):
            duckdb_side = fingerprint(con, f'marts."{table.split(".", 1)[1]}"')
            assert fingerprint(con, files[table]) == duckdb_side, table
        record = con.execute(
            f"select {', '.join(PUBLICATION_COLUMNS)} from main.publication"
        ).fetchall()
        parquet_record = con.execute(f"select * from {files['publication']}").fetchall()
        assert parquet_record == record
        assert len(parquet_record) == 1


def test_the_published_copy_carries_no_personal_data_and_only_marts(release: Path) -> None:
    personal = set(PERSONAL_DATA_COLUMNS)
    assert personal, "the landing contract flags no personal-data column"
    with duckdb.connect(str(release / "bank.duckdb"), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
        assert {(s, t) for s, t in relations if s != "marts"} == {("main", "publication")}
        columns = con.execute(
            "select table_schema || '.' || table_name, lower(column_name) "
            "from information_schema.columns where table_catalog = current_database()"
        ).fetchall()
        assert [(table, c) for table, c in columns if c in personal] == []
        for name, relation in parquet_relations(release).items():
            described = con.execute(f"describe select * from {relation}").fetchall()
            assert not {row[0].lower() for row in described} & personal, name
    # every file is the DuckDB copy, or the Parquet of a mart or of the record (a monthly
    # mart: its month folders and their fingerprints)
    published = set(parquet_relations(release))
    for path in (p.relative_to(release) for p in release.rglob("*") if p.is_file()):
        parts = path.parts
        if parts == ("bank.duckdb",) or parts == ("parquet", "publication.parquet"):
            continue
        assert parts[0] == "parquet" and len(parts) >= 3, path
        table = f"{parts[1]}.{Path(parts[2]).stem}"
        assert table in published, f"a file beyond the marts and the publication record: {path}"
        if len(parts) > 3:  # a monthly mart's folder
            assert parts[3] == MONTH_FINGERPRINTS or (
                parts[3].startswith("month=") and path.suffix == ".parquet"
            ), path


def test_readers_during_the_runs_never_failed_nor_saw_two_publications_at_once(
    pipeline_run: dict, settings: Settings
) -> None:
    """A BI reader queried the DuckDB copy and the Parquet files in a loop while the
    shared pipeline run executed (tests/published_reader.py): no read failed, the runs
    were not blocked (they succeeded), and every read matched one release whole."""
    reader = pipeline_run["reader"]
    assert reader["errors"] == []
    releases = sorted((publication_root(settings) / "releases").iterdir())
    assert len(releases) == 2, "one publication per daily run"
    whole = []
    for release in releases:
        with duckdb.connect(str(release / settings.published_path.name), read_only=True) as con:
            from_duckdb = published_reader.snapshot(con, published_reader.DUCKDB_RELATIONS)
        with duckdb.connect() as con:
            from_parquet = published_reader.snapshot(
                con, published_reader.parquet_relations(release)
            )
        assert from_duckdb == from_parquet, release.name
        whole.append(from_duckdb)
    assert whole[0] != whole[1], "the two publications must differ for the check to mean anything"
    for kind in ("duckdb", "parquet"):
        seen = reader["seen"][kind]
        assert len(seen) >= 20, f"{kind}: only {len(seen)} reads during the runs"
        assert all(read in whole for read in seen), kind
