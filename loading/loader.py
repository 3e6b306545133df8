"""Loading landed files into the warehouse's raw schema, checked by Great Expectations.

Entry point for the Airflow task: :func:`load_landing`. Steps:

1. discover files dated up to the run's business date that are not registered yet;
2. register re-deliveries (same entity, business date and content under another
   name) as ``duplicate``, unless their original quarantined rows for an unknown
   parent: those are re-checked (step 3) and the rows that now pass are loaded;
3. per entity, parents first, in batches of whole files: stage the files in the
   warehouse (``staging.py``: DuckDB's CSV reader, or the exact reader where
   only it will do), run the entity's suites on the batch inside DuckDB
   (``expectations/landing.py``), then write the batch in one transaction: good
   rows to ``raw.<system>__<entity>``, failing rows to ``raw._quarantine`` with
   the rule and reason, one row per file to ``raw._load_registry``; so a crash
   never leaves part of a file;
4. mark refused files that a later delivery of their entity and business date
   replaced as ``superseded`` (they stop failing runs);
5. reconcile every loaded file, not only this run's (``reconciliation.py``);
6. build the run's GX Data Docs under ``REPORTS_PATH/<run id>/data_docs/``;
7. raise :class:`LandingRejectedError` if any file is still refused, after loading the others.

Re-running with the same files changes nothing: a registered (path, checksum)
is skipped. A rejected file is retried each run; fixed content loads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from great_expectations.data_context import AbstractDataContext

from expectations.data_docs import publish_data_docs
from expectations.landing import LandingCheck, run_landing_suites
from expectations.runner import SuiteRun, gx_context, write_report
from include.audit import record_check, utc_now
from include.config import Settings
from include.crash_points import crash_point
from include.landing.entities import Entity, load_order
from include.warehouse import connect, in_any_order, transaction
from loading.discovery import Discovery, LandedFile, discover_new_files
from loading.reader import LandingFileError
from loading.reconciliation import reconcile
from loading.registry import (
    DUPLICATE,
    LOADED,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    RECHECKED,
    REGISTRY_TABLE,
    REJECTED,
    Registration,
    ensure_raw_schema,
    supersede_refused,
    write_registration,
)
from loading.staging import (
    BATCH_TABLE,
    WORK_SCHEMA,
    StagedFile,
    drop_work_schema,
    seal_batch,
    stage_file,
    start_batch,
)

log = logging.getLogger(__name__)

CSV_RULE = "csv_structure"
# Rules that quarantine a row for an unknown parent key (``<column>__is_known``): the
# rows a re-delivery of their file re-checks once the parent has arrived.
ORPHAN_RULE_MARK = "__is_known)"
# Files of an entity are staged and checked together in batches of whole files of
# about this many rows: GX runs once per batch, and DuckDB spills what does not fit
# its memory limit, so the size trades the number of GX runs against work-table size.
BATCH_ROWS = 10_000_000


class LandingRejectedError(Exception):
    """Some files were rejected whole; the others were loaded. Carries the run's summary."""

    def __init__(self, summary: LoadSummary) -> None:
        self.summary = summary
        listing = "\n".join(f"  - {path}: {message}" for path, message in summary.rejected.items())
        super().__init__(f"{len(summary.rejected)} landed file(s) rejected:\n{listing}")


@dataclass
class EntityCounts:
    files_loaded: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    seconds: float = 0.0  # staging, checking and writing the entity's files


@dataclass
class LoadSummary:
    run_id: str
    business_date: date
    files_seen: int = 0  # files dated up to the business date, registered or not
    files_loaded: int = 0
    duplicates: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    # refused file -> the later delivery of its entity and business date that replaced it
    superseded: dict[str, str] = field(default_factory=dict)
    # re-deliveries that loaded rows their original had quarantined for an unknown parent
    rechecked: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    files_for_later_dates: int = 0
    files_reconciled: int = 0  # every loaded file is re-checked each run
    per_entity: dict[str, EntityCounts] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return sum(counts.rows_loaded for counts in self.per_entity.values())

    @property
    def rows_quarantined(self) -> int:
        return sum(counts.rows_quarantined for counts in self.per_entity.values())

    def as_dict(self) -> dict:
        """JSON-friendly form (for XCom and logs)."""
        data = asdict(self)
        data["business_date"] = self.business_date.isoformat()
        data["rows_loaded"] = self.rows_loaded
        data["rows_quarantined"] = self.rows_quarantined
        return data


def _file_registration(
    landed: LandedFile,
    status: str,
    run_id: str,
    message: str | None,
    *,
    checksum: str | None = None,
    rows: tuple[int, int, int] = (0, 0, 0),
    loaded_at: datetime | None = None,
) -> Registration:
    """Registry row of a landed file; ``rows`` = (landed, loaded, quarantined).

    A file that was not loaded (duplicate or rejected) counts no rows.
    """
    rows_landed, rows_loaded, rows_quarantined = rows
    return Registration(
        file_path=landed.relative_path,
        entity=landed.entity.name,
        business_date=landed.business_date,
        file_checksum=checksum or landed.checksum,
        status=status,
        rows_landed=rows_landed,
        rows_loaded=rows_loaded,
        rows_quarantined=rows_quarantined,
        run_id=run_id,
        loaded_at=loaded_at or utc_now(),
        message=message,
        file_size=landed.size,
        file_modified_ns=landed.modified_ns,
    )


def _register_alone(con: duckdb.DuckDBPyConnection, registration: Registration) -> None:
    with transaction(con):
        write_registration(con, registration)


def stage_batches(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    files: list[LandedFile],
    run_id: str,
    summary: LoadSummary,
    batch_rows: int,
) -> Iterator[list[StagedFile]]:
    """Stage the files in batches of whole files; a refused file is registered and skipped."""
    batch: list[StagedFile] = []
    rows = 0
    start_batch(con)
    for landed in files:
        try:
            staged = stage_file(con, landed, len(batch), rows)
        except LandingFileError as error:
            log.error("rejected %s", error)
            summary.rejected[landed.relative_path] = str(error)
            _register_alone(con, _file_registration(landed, REJECTED, run_id, str(error)))
            continue
        batch.append(staged)
        rows += staged.rows_staged
        if rows >= batch_rows:
            seal_batch(con, batch)
            yield batch
            batch, rows = [], 0
            start_batch(con)
    if batch:
        seal_batch(con, batch)
        yield batch


def load_entity(
    con: duckdb.DuckDBPyConnection,
    context: AbstractDataContext,
    entity: Entity,
    files: list[LandedFile],
    settings: Settings,
    run_id: str,
    summary: LoadSummary,
    batch_rows: int = BATCH_ROWS,
) -> None:
    """Stage, check (GX inside DuckDB) and write the entity's files, batch by batch."""
    counts = summary.per_entity.setdefault(entity.raw_table, EntityCounts())
    started = time.perf_counter()
    for number, batch in enumerate(
        stage_batches(con, entity, files, run_id, summary, batch_rows), 1
    ):
        check = run_landing_suites(con, context, entity, BATCH_TABLE, WORK_SCHEMA, RAW_SCHEMA)
        for run in check.runs:
            name = run.suite if number == 1 else f"{run.suite}__batch{number}"
            write_report(run, settings.reports_path, run_id, name)
            record_validation_run(con, run, run_id)
        for registration in write_batch(con, entity, batch, check, run_id):
            if registration.status == DUPLICATE:
                summary.duplicates.append(registration.file_path)
                continue
            if registration.status == RECHECKED:
                summary.rechecked.append(registration.file_path)
            counts.files_loaded += 1
            counts.rows_loaded += registration.rows_loaded
            counts.rows_quarantined += registration.rows_quarantined
            summary.files_loaded += 1
        log.info("%s: batch %d, %d file(s) written", entity.raw_table, number, len(batch))
    counts.seconds += round(time.perf_counter() - started, 2)


def record_validation_run(con: duckdb.DuckDBPyConnection, run: SuiteRun, run_id: str) -> None:
    record_check(con, run_id, run.suite, run.success, run.evaluated, run.failed)


def _files_table(batch: list[StagedFile]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "_file_number": [staged.number for staged in batch],
            "_file_checksum": [staged.checksum for staged in batch],
            "is_recheck": [bool(staged.landed.recheck_of) for staged in batch],
        }
    )


def _recheck_lines_table(batch: list[StagedFile]) -> pd.DataFrame:
    pairs = [
        (staged.number, line) for staged in batch for line in sorted(staged.landed.recheck_lines)
    ]
    return pd.DataFrame(pairs, columns=["_file_number", "_source_line"]).astype("int64")


def _quarantine_rows(
    con: duckdb.DuckDBPyConnection,
    batch: list[StagedFile],
    check: LandingCheck,
    run_id: str,
    started: datetime,
) -> pd.DataFrame:
    """Rows failing the suites (not of re-checks: theirs stay quarantined once) and CSV bad rows."""
    failed = con.execute(
        f"""
        select batch._file_number, batch._source_line, failures.rule, failures.reason
        from {check.failures} as failures
        join {check.checked} as batch using (_row_id)
        order by batch._file_number, batch._source_line
        """
    ).df()
    frames = []
    failed_by_file = dict(tuple(failed.groupby("_file_number"))) if len(failed) else {}
    for staged in batch:
        mine = failed_by_file.get(staged.number, failed.iloc[0:0])
        if staged.landed.recheck_of or (mine.empty and not staged.bad_rows):
            continue
        lines = mine["_source_line"].astype("int64").tolist()
        texts = staged.raw_rows(lines) if lines else {}
        checked = pd.DataFrame(
            {
                "source_line": lines,
                "raw_row": [texts[line] for line in lines],
                "rule": mine["rule"].tolist(),
                "reason": mine["reason"].tolist(),
            }
        )
        unreadable = pd.DataFrame(
            {
                "source_line": [bad.line for bad in staged.bad_rows],
                "raw_row": [bad.raw_row for bad in staged.bad_rows],
                "rule": CSV_RULE,
                "reason": [bad.reason for bad in staged.bad_rows],
            }
        )
        parts = [frame for frame in (unreadable, checked) if len(frame)]
        if parts:
            frames.append(
                pd.concat(parts)
                .sort_values("source_line", kind="stable")
                .assign(
                    run_id=run_id,
                    entity=staged.landed.entity.name,
                    source_file=staged.landed.relative_path,
                    quarantined_at=_loaded_at(started, staged),
                )
            )
    columns = ["source_line", "raw_row", "rule", "reason", "run_id", "entity", "source_file"]
    return pd.concat(frames) if frames else pd.DataFrame(columns=columns)


def _loaded_at(started: datetime, staged: StagedFile) -> datetime:
    """Load time of a file: the batch's time, one microsecond apart per file in load order.

    Staging's "latest delivery wins" orders by load time within a business date,
    so files keep the order they were loaded in, as if written one by one.
    """
    return started + timedelta(microseconds=staged.number)


def _good_rows_sql(check: LandingCheck, joins: str = "") -> str:
    """FROM clause of a batch's rows to load: no failure, and of a re-check only recovered rows."""
    return f"""
        from {check.checked} as batch
        join landing_files as files using (_file_number)
        {joins}
        anti join {check.failures} as failures using (_row_id)
        where (not files.is_recheck
            or (batch._file_number, batch._source_line) in (
                select (_file_number, _source_line) from landing_recheck_lines
            ))
    """


def write_batch(
    con: duckdb.DuckDBPyConnection,
    entity: Entity,
    batch: list[StagedFile],
    check: LandingCheck,
    run_id: str,
) -> list[Registration]:
    """Good rows, quarantined rows and a registry row per file of a batch, in one transaction.

    A re-delivery re-checked for orphans (``recheck_of``) takes only its
    original's orphan rows that now pass; rows that still fail stay quarantined
    under the original, once; every other row was loaded from the original already.
    """
    started = utc_now()
    con.register("landing_files", _files_table(batch))
    con.register("landing_recheck_lines", _recheck_lines_table(batch))
    good_rows = _good_rows_sql(check)
    try:
        recovered = _recovered_lines(con, good_rows, batch)
        quarantine = _quarantine_rows(con, batch, check, run_id, started)
        loaded = _rows_to_load(con, batch, check, recovered)
        per_file = quarantine["source_file"].value_counts()
        registrations = [
            _registration(
                staged, loaded.get(staged.number, 0), per_file, recovered, run_id, started
            )
            for staged in batch
        ]
        times = pd.DataFrame(
            {
                "_file_number": [staged.number for staged in batch],
                "_loaded_at": [_loaded_at(started, staged) for staged in batch],
            }
        )
        con.register("landing_load_times", times)
        names = ", ".join(f"batch.{name}" for name in entity.column_names)
        with transaction(con):
            with in_any_order(con):  # raw rows carry their file and line
                con.execute(
                    f"""
                    insert into {RAW_SCHEMA}.{entity.raw_table} by name
                    select {names}, batch._source_line, batch._source_file, batch._business_date,
                        files._file_checksum, ? as _run_id, times._loaded_at
                    {_good_rows_sql(check, "join landing_load_times as times using (_file_number)")}
                    """,
                    [run_id],
                )
            if len(quarantine):
                con.register("landing_quarantine", quarantine)
                con.execute(
                    f"insert into {QUARANTINE_TABLE} by name select * from landing_quarantine"
                )
            for registration in registrations:
                write_registration(con, registration)
    finally:
        for view in (
            "landing_files",
            "landing_recheck_lines",
            "landing_load_times",
            "landing_quarantine",
        ):
            con.unregister(view)
    return registrations


def _rows_to_load(
    con: duckdb.DuckDBPyConnection,
    batch: list[StagedFile],
    check: LandingCheck,
    recovered: dict[int, list[int]],
) -> dict[int, int]:
    """Rows each file loads: its staged rows less its failing ones (a re-check: the recovered)."""
    failing = dict(
        con.execute(
            f"select batch._file_number, count(*) from {check.failures} as failures "
            f"join {check.checked} as batch using (_row_id) group by all"
        ).fetchall()
    )
    return {
        staged.number: len(recovered.get(staged.number, []))
        if staged.landed.recheck_of
        else staged.rows_staged - failing.get(staged.number, 0)
        for staged in batch
    }


def _recovered_lines(
    con: duckdb.DuckDBPyConnection, good_rows: str, batch: list[StagedFile]
) -> dict[int, list[int]]:
    """Per re-checked file, the lines of its original's orphan rows that now pass."""
    if not any(staged.landed.recheck_of for staged in batch):
        return {}
    rows = con.execute(
        f"select batch._file_number, batch._source_line {good_rows} and files.is_recheck "
        "order by 1, 2"
    ).fetchall()
    recovered: dict[int, list[int]] = {}
    for number, line in rows:
        recovered.setdefault(number, []).append(line)
    return recovered


def _registration(
    staged: StagedFile,
    loaded: int,
    quarantined_per_file: pd.Series,
    recovered: dict[int, list[int]],
    run_id: str,
    started: datetime,
) -> Registration:
    landed = staged.landed
    quarantined = int(quarantined_per_file.get(landed.relative_path, 0))
    status, message, landed_rows = LOADED, None, staged.rows_landed
    if staged.control_file:
        message = f"complete per control file {Path(staged.control_file).name}"
    if landed.recheck_of:
        status, message, landed_rows = _recheck_registration(
            landed, recovered.get(staged.number, [])
        )
    return _file_registration(
        landed,
        status,
        run_id,
        message,
        checksum=staged.checksum,
        rows=(landed_rows, loaded, quarantined),
        loaded_at=_loaded_at(started, staged),
    )


def _recheck_registration(landed: LandedFile, recovered_lines: list[int]) -> tuple[str, str, int]:
    """(status, message, rows landed) of a re-checked re-delivery.

    ``rows_landed`` counts the rows taken from the file (the recovered ones), so
    landed = loaded + quarantined holds for it as for any loaded file.
    """
    recovered, checked = len(recovered_lines), len(landed.recheck_lines)
    head = (
        f"same content (sha256) as {landed.recheck_of}; re-checked its {checked} row(s) "
        "quarantined for an unknown parent"
    )
    if not recovered:
        return DUPLICATE, f"{head}: all still fail and stay quarantined; not loaded again", 0
    lines = ", ".join(str(line) for line in recovered_lines[:20])
    more = ", ..." if recovered > 20 else ""
    message = (
        f"{head}: {recovered} now pass and were loaded (lines {lines}{more}), "
        f"{checked - recovered} still fail and stay quarantined; the other rows were "
        f"loaded from {landed.recheck_of}"
    )
    return RECHECKED, message, recovered


def orphan_lines(con: duckdb.DuckDBPyConnection, landed: LandedFile) -> frozenset[int]:
    """Lines of this delivery (entity, business date, checksum) still held for an unknown parent.

    Lines its loaded file quarantined with an orphan rule, minus lines any file of
    the same delivery has loaded since (equal bytes have equal lines).
    """
    entity = landed.entity
    rows = con.execute(
        f"""
        select quarantined.source_line
        from {QUARANTINE_TABLE} as quarantined
        join {REGISTRY_TABLE} as registry
            on registry.file_path = quarantined.source_file
            and registry.run_id = quarantined.run_id
            and registry.status = '{LOADED}'
        where registry.entity = ? and registry.business_date = ? and registry.file_checksum = ?
            and contains(quarantined.rule, ?)
        except
        select _source_line from {RAW_SCHEMA}.{entity.raw_table}
        where _business_date = ? and _file_checksum = ?
        """,
        [
            entity.name,
            landed.business_date,
            landed.checksum,
            ORPHAN_RULE_MARK,
            landed.business_date,
            landed.checksum,
        ],
    ).fetchall()
    return frozenset(line for (line,) in rows)


def _register_duplicates(
    con: duckdb.DuckDBPyConnection, discovery: Discovery, run_id: str, summary: LoadSummary
) -> list[LandedFile]:
    """Register re-deliveries as duplicates; return those to re-check for orphan rows."""
    rechecks = []
    for landed, original in discovery.duplicates:
        pending = orphan_lines(con, landed)
        if pending:
            rechecks.append(replace(landed, recheck_of=original, recheck_lines=pending))
            continue
        message = f"same content (sha256) as {original}; not loaded again"
        _register_alone(con, _file_registration(landed, DUPLICATE, run_id, message))
        summary.duplicates.append(landed.relative_path)
    return rechecks


def _supersede(con: duckdb.DuckDBPyConnection, summary: LoadSummary) -> None:
    with transaction(con):
        superseded = supersede_refused(con)
    for path, by in superseded.items():
        log.warning("refused file %s is superseded by %s", path, by)
        summary.rejected.pop(path, None)
        summary.superseded[path] = by


def load_landing(
    settings: Settings, business_date: date, run_id: str, batch_rows: int = BATCH_ROWS
) -> LoadSummary:
    """Load every new landed file dated up to ``business_date`` into the raw schema.

    Raises :class:`LandingRejectedError` (after loading the rest) when a file was
    rejected, and :class:`ReconciliationError` when counts do not add up.
    """
    summary = LoadSummary(run_id=run_id, business_date=business_date)
    con = connect(Path(settings.warehouse_path))
    try:
        ensure_raw_schema(con)
        discovery = discover_new_files(Path(settings.landing_path), con, business_date)
        summary.unknown = [str(item) for item in discovery.unknown]
        summary.files_for_later_dates = discovery.later_than_run
        summary.files_seen = (
            len(discovery.new) + len(discovery.duplicates) + discovery.already_registered
        )
        for item in discovery.unknown:
            log.warning("unknown item in landing area: %s", item)
        to_load = discovery.new + _register_duplicates(con, discovery, run_id, summary)
        if to_load:
            context = gx_context()
            for entity in load_order():
                files = [landed for landed in to_load if landed.entity == entity]
                if files:
                    load_entity(con, context, entity, files, settings, run_id, summary, batch_rows)
                    crash_point("load_landing_files:entity_loaded")
            drop_work_schema(con)
        _supersede(con, summary)
        summary.files_reconciled = reconcile(con, run_id)
    finally:
        con.close()
        publish_data_docs(Path(settings.reports_path), run_id)
    log.info("landing load summary: %s", summary.as_dict())
    if summary.rejected:
        raise LandingRejectedError(summary)
    return summary


def load_into_warehouse(settings: Settings, business_date: date, run_id: str) -> LoadSummary:
    """The load task: :func:`load_landing` (on DuckDB, whatever the target), then on
    ``WAREHOUSE_TARGET=postgres`` ship what was loaded (``postgres_copy.ship_load``),
    also when files were refused: the rest was loaded, and the audit says why."""
    if not settings.on_postgres:
        return load_landing(settings, business_date, run_id)
    from loading.postgres_copy import ship_load

    try:
        summary = load_landing(settings, business_date, run_id)
    except LandingRejectedError:
        ship_load(settings, run_id)
        raise
    shipped = ship_load(settings, run_id)
    log.info("shipped to PostgreSQL: %s", shipped)
    return summary
