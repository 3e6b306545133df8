"""Finding landed files that the warehouse has not loaded yet.

Layout (see ``entities.py``)::

    <landing>/<system>/<entity>/business_date=YYYY-MM-DD/<entity>_YYYYMMDD[_<suffix>].csv

A run with logical date D takes every file dated D or earlier that is not yet
registered, so the first run loads all history and a late file for an earlier
date is taken by the next run. A file version is (path, sha256); a file whose size
and modification time are those registered with its checksum is not read again (the
quick check of rsync and make: history is not re-hashed every run). A re-delivery is
the same file for the same entity *and* business date: same entity, date and
sha256 as a loaded file, under another name (``duplicate``; the loader re-checks
it when its original quarantined rows for an unknown parent). Equal bytes on
another date are a new delivery. A control file (``<entity>_YYYYMMDD[_<suffix>].ctl``,
see ``control.py``) is attached to the data file of the same name. Anything
that does not fit the layout is reported as unknown.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb

from include.landing.control import CONTROL_SUFFIX
from include.landing.entities import ENTITIES, Entity
from loading.reader import file_checksum
from loading.registry import (
    DONE_STATUSES,
    known_checksums,
    loaded_deliveries,
    registered_files,
)

SETTLED_NS = 2_000_000_000  # a file unchanged this long is trusted to the quick check
PARTITION = re.compile(r"business_date=(\d{4}-\d{2}-\d{2})")
ENTITY_BY_FOLDER = {(entity.system, entity.name): entity for entity in ENTITIES}


@dataclass(frozen=True)
class LandedFile:
    path: Path
    relative_path: str  # POSIX path relative to the landing root, as stored in raw
    entity: Entity
    business_date: date
    checksum: str = ""
    size: int | None = None  # bytes, when scanned
    modified_ns: int | None = None  # modification time, ns since the epoch, when scanned
    control: Path | None = None  # the control file delivered with it, if any
    # A re-delivery re-checked for rows its original quarantined for an unknown parent:
    recheck_of: str = ""  # the original's path
    recheck_lines: frozenset[int] = frozenset()  # lines of those rows (same bytes, same lines)


@dataclass(frozen=True)
class UnknownItem:
    relative_path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.relative_path}: {self.reason}"


@dataclass
class Discovery:
    """What a run found: new files to load, re-deliveries, and what did not fit the layout."""

    new: list[LandedFile] = field(default_factory=list)
    duplicates: list[tuple[LandedFile, str]] = field(default_factory=list)  # (file, loaded path)
    already_registered: int = 0
    later_than_run: int = 0  # dated after the run's business date: left for later runs
    unknown: list[UnknownItem] = field(default_factory=list)


def file_name_pattern(
    entity: Entity, business_date: date, extension: str = ".csv"
) -> re.Pattern[str]:
    stamp = business_date.strftime("%Y%m%d")
    return re.compile(
        rf"{re.escape(entity.name)}_{stamp}(?:_[A-Za-z0-9][A-Za-z0-9_-]*)?{re.escape(extension)}"
    )


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _parse_partition(name: str) -> date | None:
    match = PARTITION.fullmatch(name)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def scan_landing(
    landing_root: Path, up_to: date
) -> tuple[list[LandedFile], list[UnknownItem], int]:
    """Walk the layout: (files dated up to ``up_to``, unknown items, count of later files).

    Only the four known levels are walked, so an unknown folder is reported
    once rather than file by file.
    """
    files: list[LandedFile] = []
    unknown: list[UnknownItem] = []
    later = 0
    if not landing_root.is_dir():
        return files, [UnknownItem(str(landing_root), "landing root does not exist")], 0
    systems = {entity.system for entity in ENTITIES}
    for system_dir in sorted(landing_root.iterdir()):
        if not system_dir.is_dir() or system_dir.name not in systems:
            unknown.append(UnknownItem(_relative(landing_root, system_dir), "not a source system"))
            continue
        for entity_dir in sorted(system_dir.iterdir()):
            entity = ENTITY_BY_FOLDER.get((system_dir.name, entity_dir.name))
            if not entity_dir.is_dir() or entity is None:
                reason = f"not an entity of {system_dir.name}"
                unknown.append(UnknownItem(_relative(landing_root, entity_dir), reason))
                continue
            for partition_dir in sorted(entity_dir.iterdir()):
                business_date = _parse_partition(partition_dir.name)
                if not partition_dir.is_dir() or business_date is None:
                    reason = "not a business_date=YYYY-MM-DD folder"
                    unknown.append(UnknownItem(_relative(landing_root, partition_dir), reason))
                    continue
                pattern = file_name_pattern(entity, business_date)
                control_pattern = file_name_pattern(entity, business_date, CONTROL_SUFFIX)
                entries = sorted(partition_dir.iterdir())
                names = {path.name for path in entries if path.is_file()}
                for path in entries:
                    relative = _relative(landing_root, path)
                    if path.is_file() and control_pattern.fullmatch(path.name):
                        if path.with_suffix(".csv").name not in names:
                            reason = f"control file without its data file {path.stem}.csv"
                            unknown.append(UnknownItem(relative, reason))
                    elif not path.is_file() or not pattern.fullmatch(path.name):
                        expected = f"{entity.name}_{business_date:%Y%m%d}[_<suffix>].csv"
                        unknown.append(UnknownItem(relative, f"not named {expected}"))
                    elif business_date > up_to:
                        later += 1
                    else:
                        control = path.with_suffix(CONTROL_SUFFIX)
                        stat = path.stat()
                        # a file changed in the last seconds may change again within
                        # the clock's resolution: not trusted to the quick check (git's
                        # "racily clean"), so it is hashed again next run
                        settled = time.time_ns() - stat.st_mtime_ns > SETTLED_NS
                        files.append(
                            LandedFile(
                                path,
                                relative,
                                entity,
                                business_date,
                                size=stat.st_size,
                                modified_ns=stat.st_mtime_ns if settled else None,
                                control=control if control.name in names else None,
                            )
                        )
    return files, unknown, later


def discover_new_files(
    landing_root: Path, con: duckdb.DuckDBPyConnection, business_date: date
) -> Discovery:
    """Classify the landed files up to ``business_date`` against ``raw._load_registry``.

    Read-only: the loader registers the duplicates. A (path, checksum) already
    registered as loaded, duplicate, rechecked or superseded is done; a rejected
    one is retried. Duplicates are keyed on (entity, business date, checksum).
    """
    files, unknown, later = scan_landing(landing_root, business_date)
    registered = registered_files(con)
    known = known_checksums(con)
    loaded = loaded_deliveries(con)
    discovery = Discovery(unknown=unknown, later_than_run=later)
    seen_this_run: dict[tuple[str, date, str], str] = {}
    for landed in sorted(files, key=lambda f: (f.business_date, f.relative_path)):
        try:
            checksum = known.get((landed.relative_path, landed.size, landed.modified_ns))
            checksum = checksum or file_checksum(landed.path)
        except OSError:
            # Unreadable (permissions, vanished): the reader refuses it with the reason.
            discovery.new.append(landed)
            continue
        landed = replace(landed, checksum=checksum)
        delivery = (landed.entity.name, landed.business_date, checksum)
        if registered.get((landed.relative_path, checksum)) in DONE_STATUSES:
            discovery.already_registered += 1
        elif delivery in loaded or delivery in seen_this_run:
            discovery.duplicates.append((landed, loaded.get(delivery) or seen_this_run[delivery]))
        else:
            seen_this_run[delivery] = landed.relative_path
            discovery.new.append(landed)
    return discovery
