"""Loading landed files into the warehouse's raw schema, validated by Great Expectations.

Entry point for the Airflow task: :func:`load_landing`. Steps:

1. discover files dated up to the run's business date that are not registered yet;
2. register re-deliveries (same entity, business date and content under another
   name) as ``duplicate``, unless their original quarantined rows for an unknown
   parent: those are re-checked (step 3) and the rows that now pass are loaded;
3. per entity, parents first: read every new file, validate all of them as one
   GX batch, then write each file in its own transaction (good rows to
   ``raw.<system>__<entity>``, failing rows to ``raw._quarantine``, one row to
   ``raw._load_registry``), so a crash never leaves half a file;
4. mark refused files that a later delivery of their entity and business date
   replaced as ``superseded`` (they stop failing runs);
5. reconcile every loaded file, not only this run's (landed = loaded + quarantined,
   and the tables agree), recorded in ``audit.reconciliation``;
6. build the run's GX Data Docs under ``REPORTS_PATH/<run id>/data_docs/``;
7. raise :class:`LandingRejectedError` if any file is still refused, after loading the others.

Re-running with the same files changes nothing: a registered (path, checksum)
is skipped. A rejected file is retried each run; fixed content loads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from great_expectations.data_context import AbstractDataContext

from expectations import landing as landing_suites
from expectations.data_docs import build_data_docs
from expectations.runner import SuiteRun, gx_context, write_report
from include.config import Settings
from include.landing.discovery import Discovery, LandedFile, discover_new_files
from include.landing.entities import ENTITIES, Entity
from include.landing.reader import LandingFileError, ParsedFile, read_landed_file
from include.landing.registry import (
    DUPLICATE,
    LOADED,
    LOADING_STATUSES,
    QUARANTINE_TABLE,
    RAW_SCHEMA,
    RECHECKED,
    RECONCILIATION_TABLE,
    REGISTRY_TABLE,
    REJECTED,
    VALIDATION_RUNS_TABLE,
    Registration,
    ensure_raw_schema,
    supersede_refused,
    write_registration,
)
from include.warehouse import connect

log = logging.getLogger(__name__)

CSV_RULE = "csv_structure"
# Rules that quarantine a row for an unknown parent key (``<column>__is_known``): the
# rows a re-delivery of their file re-checks once the parent has arrived.
ORPHAN_RULE_MARK = "__is_known)"
# All new files of an entity are validated as one GX batch (GX's per-batch overhead
# is large), but a first run over a long history is cut into batches of whole files
# so memory stays bounded: about 2 GB is in flight per million transaction rows.
BATCH_ROWS = 2_000_000


class LandingRejectedError(Exception):
    """Some files were rejected whole; the others were loaded. Carries the run's summary."""

    def __init__(self, summary: LoadSummary) -> None:
        self.summary = summary
        listing = "\n".join(f"  - {path}: {message}" for path, message in summary.rejected.items())
        super().__init__(f"{len(summary.rejected)} landed file(s) rejected:\n{listing}")


class ReconciliationError(Exception):
    """Row counts of a loaded file do not add up."""


@dataclass
class EntityCounts:
    files_loaded: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0


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


@dataclass
class _FileOutcome:
    """A parsed file split into the rows to load and the rows to quarantine."""

    parsed: ParsedFile
    landed: LandedFile
    good: pd.DataFrame
    quarantine: pd.DataFrame
    still_failing: int = 0  # a re-check: re-checked rows that still fail (stay quarantined)


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def batch_frame(parsed_files: list[tuple[LandedFile, ParsedFile]]) -> pd.DataFrame:
    """All files of one entity as one frame with a RangeIndex (GX reports failing rows by index)."""
    frames = []
    for number, (landed, parsed) in enumerate(parsed_files):
        frame = parsed.rows.copy()
        frame["_source_file"] = landed.relative_path
        frame["_business_date"] = pd.Timestamp(landed.business_date)
        frame["_file_number"] = number
        frame["_row_in_file"] = np.arange(len(frame))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def known_parent_keys(con: duckdb.DuckDBPyConnection, entity: Entity) -> dict[str, pd.Series]:
    """Parent keys already in raw (this run's parents were loaded before their children)."""
    keys = {}
    for ref in landing_suites.REFERENCES.get(entity.raw_table, ()):
        keys[ref.column] = con.execute(
            f"select distinct {ref.parent_column} from {RAW_SCHEMA}.{ref.parent_table} "
            f"where {ref.parent_column} is not null"
        ).df()[ref.parent_column]
    return keys


def split_outcomes(
    parsed_files: list[tuple[LandedFile, ParsedFile]],
    frame: pd.DataFrame,
    failures: pd.DataFrame,
    run_id: str,
) -> list[_FileOutcome]:
    """Per file: rows without failures to load; failing rows (and CSV bad rows) to quarantine.

    ``failures`` is indexed like ``frame`` and holds ``rule`` and ``reason``.
    """
    failing = np.zeros(len(frame), dtype=bool)
    failing[failures.index.to_numpy(dtype=np.int64)] = True
    located = frame.loc[failures.index, ["_file_number", "_source_line", "_row_in_file"]]
    failed = pd.concat([located, failures], axis=1)
    file_numbers = frame["_file_number"].to_numpy()
    outcomes = []
    for number, (landed, parsed) in enumerate(parsed_files):
        mine = failed[failed["_file_number"].to_numpy() == number]
        checked = pd.DataFrame(
            {
                "source_line": mine["_source_line"].to_numpy(dtype=np.int64),
                "raw_row": parsed.raw_rows(mine["_row_in_file"].to_numpy(dtype=np.int64)),
                "rule": mine["rule"].to_numpy(dtype=object),
                "reason": mine["reason"].to_numpy(dtype=object),
            }
        )
        unreadable = pd.DataFrame(
            {
                "source_line": [bad.line for bad in parsed.bad_rows],
                "raw_row": [bad.raw_row for bad in parsed.bad_rows],
                "rule": CSV_RULE,
                "reason": [bad.reason for bad in parsed.bad_rows],
            }
        )
        quarantine = (
            pd.concat([frame_ for frame_ in (unreadable, checked) if len(frame_)] or [checked])
            .sort_values("source_line", kind="stable")
            .assign(run_id=run_id, entity=landed.entity.name, source_file=landed.relative_path)
            .reset_index(drop=True)
        )
        good_positions = frame.loc[(file_numbers == number) & ~failing, "_row_in_file"].to_numpy()
        good = parsed.rows.iloc[good_positions].reset_index(drop=True)
        if landed.recheck_of:
            outcomes.append(_recheck_outcome(parsed, landed, good, quarantine))
        else:
            outcomes.append(_FileOutcome(parsed, landed, good, quarantine))
    return outcomes


def _recheck_outcome(
    parsed: ParsedFile, landed: LandedFile, good: pd.DataFrame, quarantine: pd.DataFrame
) -> _FileOutcome:
    """A re-delivery re-checked for orphans: load only its original's orphan rows that now pass.

    The file was validated whole (so the key check sees every row), but only the
    rows its original quarantined for an unknown parent, and no file of the same
    delivery has loaded since, are taken. Rows that still fail stay quarantined
    under the original, once; every other row was loaded from the original already.
    """
    pending = good["_source_line"].isin(landed.recheck_lines).to_numpy()
    recovered = good[pending].reset_index(drop=True)
    return _FileOutcome(
        parsed,
        landed,
        recovered,
        quarantine.iloc[0:0],
        still_failing=len(landed.recheck_lines) - len(recovered),
    )


def write_file(con: duckdb.DuckDBPyConnection, outcome: _FileOutcome, run_id: str) -> Registration:
    """Good rows, quarantined rows and the registry row of one file, in one transaction."""
    landed, parsed = outcome.landed, outcome.parsed
    loaded_at = _utc_now()
    good = outcome.good.assign(
        _source_file=landed.relative_path,
        _business_date=landed.business_date,
        _file_checksum=parsed.checksum,
        _run_id=run_id,
        _loaded_at=loaded_at,
    )
    quarantine = outcome.quarantine.assign(quarantined_at=loaded_at)
    status, message, landed_rows = LOADED, None, parsed.rows_landed
    if parsed.control_file:
        message = f"complete per control file {Path(parsed.control_file).name}"
    if landed.recheck_of:
        status, message, landed_rows = _recheck_registration(outcome)
    registration = Registration(
        file_path=landed.relative_path,
        entity=landed.entity.name,
        business_date=landed.business_date,
        file_checksum=parsed.checksum,
        status=status,
        rows_landed=landed_rows,
        rows_loaded=len(good),
        rows_quarantined=len(quarantine),
        run_id=run_id,
        loaded_at=loaded_at,
        message=message,
    )
    con.begin()
    try:
        if len(good):
            con.register("_landing_good", good)
            con.execute(
                f"insert into {RAW_SCHEMA}.{landed.entity.raw_table} by name "
                "select * from _landing_good"
            )
        if len(quarantine):
            con.register("_landing_quarantine", quarantine)
            con.execute(f"insert into {QUARANTINE_TABLE} by name select * from _landing_quarantine")
        write_registration(con, registration)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    finally:
        for view in ("_landing_good", "_landing_quarantine"):
            con.unregister(view)
    return registration


def _recheck_registration(outcome: _FileOutcome) -> tuple[str, str, int]:
    """(status, message, rows landed) of a re-checked re-delivery.

    ``rows_landed`` counts the rows taken from the file (the recovered ones), so
    landed = loaded + quarantined holds for it as for any loaded file.
    """
    landed, recovered = outcome.landed, len(outcome.good)
    checked = len(landed.recheck_lines)
    head = (
        f"same content (sha256) as {landed.recheck_of}; re-checked its {checked} row(s) "
        "quarantined for an unknown parent"
    )
    if not recovered:
        return DUPLICATE, f"{head}: all still fail and stay quarantined; not loaded again", 0
    lines = ", ".join(str(line) for line in sorted(outcome.good["_source_line"].tolist())[:20])
    more = ", ..." if recovered > 20 else ""
    message = (
        f"{head}: {recovered} now pass and were loaded (lines {lines}{more}), "
        f"{outcome.still_failing} still fail and stay quarantined; the other rows were "
        f"loaded from {landed.recheck_of}"
    )
    return RECHECKED, message, recovered


def _register_alone(con: duckdb.DuckDBPyConnection, registration: Registration) -> None:
    con.begin()
    try:
        write_registration(con, registration)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _bare_registration(landed: LandedFile, status: str, run_id: str, message: str) -> Registration:
    """Registry row of a file that was not loaded (duplicate or rejected): no rows counted."""
    return Registration(
        file_path=landed.relative_path,
        entity=landed.entity.name,
        business_date=landed.business_date,
        file_checksum=landed.checksum,
        status=status,
        rows_landed=0,
        rows_loaded=0,
        rows_quarantined=0,
        run_id=run_id,
        loaded_at=_utc_now(),
        message=message,
    )


def record_validation_run(con: duckdb.DuckDBPyConnection, run: SuiteRun, run_id: str) -> None:
    con.execute(
        f"insert into {VALIDATION_RUNS_TABLE} values (?, ?, ?, ?, ?, ?)",
        [run_id, run.suite, run.success, run.evaluated, run.failed, _utc_now()],
    )


def validate_batch(
    context: AbstractDataContext,
    entity: Entity,
    frame: pd.DataFrame,
    known_keys: dict[str, pd.Series],
) -> tuple[list[SuiteRun], pd.DataFrame, pd.DataFrame]:
    """Run the entity's suites on the batch; return the runs, the checked frame and failing rows."""
    checked = landing_suites.prepare_frame(frame, entity, known_keys)
    runs, failures = landing_suites.run_suites(context, entity, checked)
    return runs, checked, failures


def _read_or_reject(
    con: duckdb.DuckDBPyConnection, landed: LandedFile, run_id: str, summary: LoadSummary
) -> ParsedFile | None:
    """Parse a file; a file-level failure registers it as rejected and returns None."""
    try:
        return read_landed_file(landed.path, landed.entity, landed.relative_path, landed.control)
    except LandingFileError as error:
        log.error("rejected %s", error)
        summary.rejected[landed.relative_path] = str(error)
        _register_alone(con, _bare_registration(landed, REJECTED, run_id, str(error)))
        return None


def file_batches(
    con: duckdb.DuckDBPyConnection,
    files: list[LandedFile],
    run_id: str,
    summary: LoadSummary,
    batch_rows: int,
) -> Iterator[list[tuple[LandedFile, ParsedFile]]]:
    """Parsed files grouped into GX batches of whole files, about ``batch_rows`` rows each."""
    batch: list[tuple[LandedFile, ParsedFile]] = []
    rows = 0
    for landed in files:
        parsed = _read_or_reject(con, landed, run_id, summary)
        if parsed is None:
            continue
        batch.append((landed, parsed))
        rows += parsed.rows_landed
        if rows >= batch_rows:
            yield batch
            batch, rows = [], 0
    if batch:
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
    """Read, validate (one GX batch for all files, or several for a long history) and write."""
    counts = summary.per_entity.setdefault(entity.raw_table, EntityCounts())
    for number, parsed_files in enumerate(
        file_batches(con, files, run_id, summary, batch_rows), start=1
    ):
        frame = batch_frame(parsed_files)
        failures = landing_suites.failure_table(frame, [])
        if len(frame):
            runs, frame, failures = validate_batch(
                context, entity, frame, known_parent_keys(con, entity)
            )
            for run in runs:
                name = run.suite if number == 1 else f"{run.suite}__batch{number}"
                write_report(run, settings.reports_path, run_id, name)
                record_validation_run(con, run, run_id)
            log.info("%s: %d rows, %d failing", entity.raw_table, len(frame), len(failures))
        for outcome in split_outcomes(parsed_files, frame, failures, run_id):
            registration = write_file(con, outcome, run_id)
            if registration.status == DUPLICATE:
                summary.duplicates.append(registration.file_path)
                continue
            if registration.status == RECHECKED:
                summary.rechecked.append(registration.file_path)
            counts.files_loaded += 1
            counts.rows_loaded += registration.rows_loaded
            counts.rows_quarantined += registration.rows_quarantined
            summary.files_loaded += 1


RECONCILIATION_CHECK = "landing__reconciliation"


def reconciliation_query() -> str:
    """Every loaded file version against what the tables hold, plus rows no loaded file explains.

    Raw rows are matched by (file, checksum); quarantined rows by (file, run that
    loaded it), since a file version is loaded by exactly one run.
    """
    raw_counts = " union all ".join(
        f"select _source_file, _file_checksum, count(*) as rows_in_raw "
        f"from {RAW_SCHEMA}.{entity.raw_table} group by all"
        for entity in ENTITIES
    )
    return f"""
        with registry as (
            select file_path, entity, file_checksum, run_id as loaded_by,
                   rows_landed, rows_loaded, rows_quarantined
            from {REGISTRY_TABLE}
            where status in ({", ".join(f"'{status}'" for status in LOADING_STATUSES)})
        ),
        in_raw as ({raw_counts}),
        in_quarantine as (
            select source_file, run_id, count(*) as rows_in_quarantine
            from {QUARANTINE_TABLE} group by all
        ),
        by_file as (
            select
                coalesce(r.file_path, q.source_file, w._source_file) as file_path,
                r.entity,
                coalesce(r.file_checksum, w._file_checksum) as file_checksum,
                r.loaded_by,
                r.rows_landed, r.rows_loaded, r.rows_quarantined,
                coalesce(w.rows_in_raw, 0) as rows_in_raw,
                coalesce(q.rows_in_quarantine, 0) as rows_in_quarantine
            from registry as r
            full join in_raw as w
                on w._source_file = r.file_path and w._file_checksum = r.file_checksum
            full join in_quarantine as q
                on q.source_file = r.file_path and q.run_id = r.loaded_by
        )
        select *,
            coalesce(rows_landed = rows_loaded + rows_quarantined
                     and rows_in_raw = rows_loaded
                     and rows_in_quarantine = rows_quarantined, false) as is_balanced
        from by_file
        order by file_path
    """


def record_check(
    con: duckdb.DuckDBPyConnection, run_id: str, suite: str, evaluated: int, failed: int
) -> None:
    """A non-GX check in ``audit.validation_runs`` (``evaluated``/``failed`` count its items)."""
    con.execute(
        f"insert into {VALIDATION_RUNS_TABLE} values (?, ?, ?, ?, ?, ?)",
        [run_id, suite, failed == 0, evaluated, failed, _utc_now()],
    )


def reconcile(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Every loaded file, every run: landed = loaded + quarantined, and the tables hold just that.

    Writes one row to ``audit.reconciliation`` per file this run loaded and per
    file that is off (whenever it was loaded), and a summary row to
    ``audit.validation_runs``; raises :class:`ReconciliationError` when any file
    is off. Returns the number of files checked.
    """
    checked = con.execute(reconciliation_query()).df()
    off = checked[~checked["is_balanced"]]
    audited = checked[(checked["loaded_by"] == run_id) | ~checked["is_balanced"]]
    audited = audited.drop(columns="loaded_by").assign(run_id=run_id, checked_at=_utc_now())
    con.begin()
    try:
        if len(audited):
            con.register("_reconciliation", audited)
            con.execute(f"insert into {RECONCILIATION_TABLE} by name select * from _reconciliation")
            con.unregister("_reconciliation")
        record_check(con, run_id, RECONCILIATION_CHECK, len(checked), len(off))
        con.commit()
    except BaseException:
        con.rollback()
        raise
    if len(off):
        problems = [
            f"{row.file_path}: landed {_count(row.rows_landed)}, registry loaded "
            f"{_count(row.rows_loaded)} + quarantined {_count(row.rows_quarantined)}, "
            f"tables hold {row.rows_in_raw} + {row.rows_in_quarantine}"
            for row in off.itertuples()
        ]
        raise ReconciliationError("row counts do not reconcile:\n  " + "\n  ".join(problems))
    return len(checked)


def _count(value: object) -> str:
    """A registry count, or a note that no loaded file explains the rows."""
    return "(no loaded file)" if pd.isna(value) else str(int(value))


def publish_data_docs(settings: Settings, run_id: str) -> None:
    """Render the run's Data Docs; a rendering problem is logged, never fails the load."""
    try:
        index = build_data_docs(Path(settings.reports_path), run_id)
    except Exception:  # the HTML is a convenience; the JSON results and audit rows remain
        log.exception("could not build Data Docs for run %s", run_id)
        return
    if index is not None:
        log.info("Data Docs: %s", index)


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
        _register_alone(con, _bare_registration(landed, DUPLICATE, run_id, message))
        summary.duplicates.append(landed.relative_path)
    return rechecks


def _supersede(con: duckdb.DuckDBPyConnection, summary: LoadSummary) -> None:
    con.begin()
    try:
        superseded = supersede_refused(con)
        con.commit()
    except BaseException:
        con.rollback()
        raise
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
            for entity in landing_suites.load_order():
                files = [landed for landed in to_load if landed.entity == entity]
                if files:
                    load_entity(con, context, entity, files, settings, run_id, summary, batch_rows)
        _supersede(con, summary)
        summary.files_reconciled = reconcile(con, run_id)
    finally:
        con.close()
        publish_data_docs(settings, run_id)
    log.info("landing load summary: %s", summary.as_dict())
    if summary.rejected:
        raise LandingRejectedError(summary)
    return summary
