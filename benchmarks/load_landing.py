"""Benchmark: load a landing area into a fresh warehouse, entity by entity.

    uv run python benchmarks/load_landing.py <landing root> [--business-date YYYY-MM-DD]
        [--batch-rows N] [--keep <folder>]

Loads every file of the landing area (e.g. a bank written by
``python -m include.bank_generator``) dated up to the business date (default:
the last one) into a new warehouse in a temporary folder (or ``--keep``), as the
daily DAG's first run would, and prints per entity the files, rows loaded and
quarantined and the seconds spent (staging, GX checks in DuckDB, writing),
then the total wall time and the peak memory of the process. The landing
area is only read.
"""

from __future__ import annotations

import argparse
import logging
import resource
import tempfile
import time
from datetime import date
from pathlib import Path

from include.config import load_settings
from loading.loader import BATCH_ROWS, LandingRejectedError, load_landing

PARTITION = "business_date="


def last_business_date(landing: Path) -> date:
    days = {part.name.removeprefix(PARTITION) for part in landing.glob(f"*/*/{PARTITION}*")}
    return date.fromisoformat(max(days))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--business-date", type=date.fromisoformat)
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS)
    parser.add_argument("--keep", type=Path, help="write the warehouse here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # batch progress
    business_date = args.business_date or last_business_date(args.landing)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        settings = load_settings(
            {"BANK_DATA_DIR": str(folder), "LANDING_PATH": str(args.landing.resolve())}
        )
        started = time.perf_counter()
        try:
            summary = load_landing(settings, business_date, "benchmark", args.batch_rows)
        except LandingRejectedError as error:
            summary = error.summary
        wall = time.perf_counter() - started
    print(f"{'entity':<28}{'files':>7}{'loaded':>14}{'quarantined':>13}{'seconds':>9}")
    for table, counts in summary.per_entity.items():
        print(
            f"{table:<28}{counts.files_loaded:>7}{counts.rows_loaded:>14,}"
            f"{counts.rows_quarantined:>13,}{counts.seconds:>9.1f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"total: {summary.files_loaded} files, {summary.rows_loaded:,} rows loaded, "
        f"{summary.rows_quarantined:,} quarantined, {len(summary.rejected)} refused; "
        f"{wall:.1f} s wall, peak {peak:.2f} GB"
    )


if __name__ == "__main__":
    main()
