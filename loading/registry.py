"""The raw schema the loader owns: one table per entity, the load registry and the quarantine.

dbt reads these as sources and never writes them. Entity columns are VARCHAR
exactly as landed (empty field = NULL); typing happens in dbt staging.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime

import duckdb

from include.audit import create_table, ensure_audit_schema
from include.landing.entities import ENTITIES, Entity

RAW_SCHEMA = "raw"
REGISTRY_TABLE = f"{RAW_SCHEMA}._load_registry"
QUARANTINE_TABLE = f"{RAW_SCHEMA}._quarantine"

# Registry statuses (one per landed file version, see include/landing/README.md):
LOADED = "loaded"  # rows went to raw and/or the quarantine
DUPLICATE = "duplicate"  # same entity, business date and bytes as a loaded file: nothing loaded
REJECTED = "rejected"  # refused whole; retried every run until fixed or superseded
SUPERSEDED = "superseded"  # a refused file replaced by a later delivery of its entity and date
RECHECKED = "rechecked"  # a re-delivery that loaded rows its original quarantined as orphans
# Statuses whose rows are in raw / the quarantine (reconciled every run).
LOADING_STATUSES = (LOADED, RECHECKED)
# Statuses of file versions that are done: never read again.
DONE_STATUSES = (LOADED, DUPLICATE, SUPERSEDED, RECHECKED)

METADATA_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_source_file", "VARCHAR"),  # path relative to the landing root
    ("_source_line", "BIGINT"),  # physical line in the file, header = 1
    ("_business_date", "DATE"),  # from the business_date= folder
    ("_file_checksum", "VARCHAR"),  # sha256 hex of the file
    ("_run_id", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),  # UTC
)

REGISTRY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("file_path", "VARCHAR NOT NULL"),
    ("entity", "VARCHAR NOT NULL"),
    ("business_date", "DATE"),
    ("file_checksum", "VARCHAR NOT NULL"),
    ("status", "VARCHAR NOT NULL"),
    ("rows_landed", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("run_id", "VARCHAR"),
    ("loaded_at", "TIMESTAMP"),
    ("message", "VARCHAR"),
    # size and modification time (ns since the epoch) of the file when it was hashed:
    # a later run takes the checksum from here while both are unchanged (the quick
    # check of rsync and make) instead of reading every landed file again
    ("file_size", "BIGINT"),
    ("file_modified_ns", "BIGINT"),
)

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("run_id", "VARCHAR"),
    ("entity", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_line", "BIGINT"),
    ("raw_row", "VARCHAR"),
    ("rule", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("quarantined_at", "TIMESTAMP"),
)


@dataclass(frozen=True)
class Registration:
    """One row of ``raw._load_registry``."""

    file_path: str
    entity: str
    business_date: date
    file_checksum: str
    status: str
    rows_landed: int
    rows_loaded: int
    rows_quarantined: int
    run_id: str
    loaded_at: datetime
    message: str | None = None
    file_size: int | None = None
    file_modified_ns: int | None = None


def entity_columns(entity: Entity) -> tuple[tuple[str, str], ...]:
    return tuple((name, "VARCHAR") for name in entity.column_names) + METADATA_COLUMNS


def _add_missing_columns(
    con: duckdb.DuckDBPyConnection, table: str, columns: tuple[tuple[str, str], ...]
) -> None:
    """A column added later (to the contract, or to the registry) is added to an existing
    table (NULL for older rows)."""
    schema, name = table.split(".")
    existing = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    for column, sql_type in columns:
        if column not in existing:
            con.execute(f'alter table {table} add column "{column}" {sql_type}')


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every table, also for entities with no files yet."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    ensure_audit_schema(con)
    for entity in ENTITIES:
        table = f"{RAW_SCHEMA}.{entity.raw_table}"
        create_table(con, table, entity_columns(entity))
        _add_missing_columns(con, table, entity_columns(entity))
    for table, columns in (
        (REGISTRY_TABLE, REGISTRY_COLUMNS),
        (QUARANTINE_TABLE, QUARANTINE_COLUMNS),
    ):
        create_table(con, table, columns)
        _add_missing_columns(con, table, columns)


def registered_files(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    """(file_path, file_checksum) -> status, for every registered file version."""
    rows = con.execute(f"select file_path, file_checksum, status from {REGISTRY_TABLE}").fetchall()
    return {(path, checksum): status for path, checksum, status in rows}


def known_checksums(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int, int], str]:
    """(file_path, size, modified ns) -> checksum, for file versions that are done."""
    statuses = ", ".join(f"'{status}'" for status in DONE_STATUSES)
    rows = con.execute(
        f"select file_path, file_size, file_modified_ns, file_checksum from {REGISTRY_TABLE} "
        f"where status in ({statuses}) and file_size is not null and file_modified_ns is not null"
    ).fetchall()
    return {(path, size, modified): checksum for path, size, modified, checksum in rows}


def loaded_deliveries(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, date, str], str]:
    """(entity, business date, checksum) -> the file path that delivery was first loaded from.

    A re-delivery is the same file for the same entity *and* business date: equal
    bytes on another date are a new delivery (a customer changed back to an earlier
    phone number) and load.
    """
    rows = con.execute(
        f"select entity, business_date, file_checksum, min(file_path) from {REGISTRY_TABLE} "
        f"where status = '{LOADED}' group by all"
    ).fetchall()
    return {(entity, day, checksum): path for entity, day, checksum, path in rows}


def write_registration(con: duckdb.DuckDBPyConnection, registration: Registration) -> None:
    """Insert a registry row, replacing an earlier *rejected* row of the same file version.

    A rejected file is retried every run; keeping one row per (path, checksum)
    keeps the registry at one row per landed file version. Refused again, the row
    keeps the run and time of the first refusal (only the message is renewed), so
    a later delivery can supersede it (:func:`supersede_refused`).
    """
    key = [registration.file_path, registration.file_checksum, REJECTED]
    if registration.status == REJECTED:
        [(earlier,)] = con.execute(
            f"select count(*) from {REGISTRY_TABLE} "
            "where file_path = ? and file_checksum = ? and status = ?",
            key,
        ).fetchall()
        if earlier:
            con.execute(
                f"update {REGISTRY_TABLE} set message = ? "
                "where file_path = ? and file_checksum = ? and status = ?",
                [registration.message, *key],
            )
            return
    con.execute(
        f"delete from {REGISTRY_TABLE} where file_path = ? and file_checksum = ? and status = ?",
        key,
    )
    values = asdict(registration)
    con.execute(
        f"insert into {REGISTRY_TABLE} ({', '.join(values)}) "
        f"values ({', '.join('?' for _ in values)})",
        list(values.values()),
    )


def supersede_refused(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Mark refused files superseded by a later delivery that replaces them.

    A refused file version ``<name>.csv`` is superseded once a file of the same
    entity and business date named ``<name>.csv`` (fixed content) or
    ``<name>_<suffix>.csv`` (a fix under a new name) was loaded by a *later run*
    than the one that first refused it. A file loaded in the same run as the first
    refusal is a sibling delivery of that day, not its fix; a file of another name
    (``transactions_20250102_extra.csv`` for ``transactions_20250102_main.csv``)
    fixes something else. The row keeps its counts (0) and gets
    ``status = superseded`` and a message naming the delivery that superseded it.
    Returns refused path -> superseding path.
    """
    rows = con.execute(
        f"""
        select refused.file_path, refused.file_checksum,
               arg_min(later.file_path, later.loaded_at) as by_path,
               arg_min(later.run_id, later.loaded_at) as by_run
        from {REGISTRY_TABLE} as refused
        join {REGISTRY_TABLE} as later
            on later.entity = refused.entity
            and later.business_date = refused.business_date
            and later.status = '{LOADED}'
            and later.run_id <> refused.run_id
            and later.loaded_at > refused.loaded_at
            and (
                later.file_path = refused.file_path
                or starts_with(
                    later.file_path,
                    left(refused.file_path, length(refused.file_path) - 4) || '_'
                )
            )
        where refused.status = '{REJECTED}'
        group by all
        order by 1
        """
    ).fetchall()
    for path, checksum, by_path, by_run in rows:
        con.execute(
            f"update {REGISTRY_TABLE} set status = ?, "
            "message = 'superseded by ' || ? || ' (loaded by run ' || ? || '); was refused: ' "
            "|| coalesce(message, '') "
            "where file_path = ? and file_checksum = ? and status = ?",
            [SUPERSEDED, by_path, by_run, path, checksum, REJECTED],
        )
    return {path: by_path for path, _, by_path, _ in rows}
