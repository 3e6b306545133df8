"""Benchmark: load + GX-validate one landed transactions file of ~1M rows.

    uv run python benchmarks/load_landing.py [--rows 1000000] [--accounts 50000] [--orphaned]

Writes a synthetic landing area (customers, accounts, one big transactions file
with a little dirt: malformed rows, orphans, negative amounts) into a temporary
folder, then times each stage on its own and the whole ``load_landing`` call.
Not part of the test suite: it takes about a minute.

    uv run python benchmarks/load_landing.py --validate-only <landing root>

times only read + GX validation of an existing landing area (e.g. a generated
100,000-customer x 12-month bank), entity by entity in the loader's batches,
without opening or writing any warehouse: the landing area is only read.
"""

from __future__ import annotations

import argparse
import csv
import random
import tempfile
import time
from datetime import date
from pathlib import Path

import pandas as pd

from include.config import Settings, load_settings
from include.landing.entities import ENTITIES_BY_TABLE, landing_dir, landing_file_name

DAY = "2025-03-31"
DIRT_EVERY = 1000  # one dirty row per this many


def _path(settings: Settings, table: str) -> Path:
    entity = ENTITIES_BY_TABLE[table]
    folder = settings.landing_path / landing_dir(entity.system, entity.name, DAY)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / landing_file_name(entity.name, DAY)


def write_landing(settings: Settings, rows: int, accounts: int, orphaned: bool = False) -> Path:
    """Customers (one per two accounts), accounts, and ``rows`` transactions.

    ``orphaned`` lands an empty accounts file: every transaction is then quarantined
    (the worst case for the quarantine path, e.g. after the accounts file was rejected).
    """
    rng = random.Random(7)
    customers = max(accounts // 2, 1)
    with _path(settings, "core_banking__customers").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENTITIES_BY_TABLE["core_banking__customers"].column_names)
        for i in range(customers):
            writer.writerow([f"C{i:07d}", "retail", f"Name {i}", f"ID{i}", "138", "", "Road",
                             "Shanghai", "1980-01-01", "F", "B001", "2024-01-01"])  # fmt: skip
    with _path(settings, "core_banking__accounts").open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENTITIES_BY_TABLE["core_banking__accounts"].column_names)
        for i in range(0 if orphaned else accounts):
            writer.writerow([f"A{i:08d}", f"C{i // 2:07d}", "CUR_RETAIL", "B001", "CNY",
                             "2024-01-01", "", "open", "", "", "0.0035", "", "", ""])  # fmt: skip
    target = _path(settings, "core_banking__transactions")
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(ENTITIES_BY_TABLE["core_banking__transactions"].column_names)
        for i in range(rows):
            account = f"A{rng.randrange(accounts):08d}"
            amount = f"{rng.random() * 5000:.2f}"
            dirt = i % DIRT_EVERY == 0 and i > 0
            if dirt and i % (3 * DIRT_EVERY) == 0:
                handle.write(f"T{i:09d},{account},{DAY},truncated\n")
                continue
            if dirt and i % (3 * DIRT_EVERY) == DIRT_EVERY:
                account = "A_UNKNOWN"
            elif dirt:
                amount = "-1.00"
            writer.writerow([f"T{i:09d}", account, DAY, f"{DAY} {i % 24:02d}:{i % 60:02d}:00",
                             "merchant_payment", "debit", amount, "mobile", "merchant",
                             "Shop, Ltd", "", "grocery"])  # fmt: skip
    return target


def validate_only(landing_root: Path, batch_rows: int) -> None:
    """Read + GX-validate every landed file as the loader would, writing nothing.

    Parent keys for the referential checks come from the parent files read
    earlier in the same pass (what the loader would have loaded into raw).
    """
    from expectations import landing as suites
    from expectations.runner import gx_context
    from include.landing.discovery import scan_landing
    from include.landing.loader import batch_frame
    from include.landing.reader import LandingFileError, read_landed_file

    files, _, _ = scan_landing(landing_root, date.max)
    context = gx_context()
    keys: dict[str, set[str]] = {}
    totals = {"read": 0.0, "prepare": 0.0, "gx": 0.0, "rows": 0}
    print(f"{'entity':<28}{'files':>6}{'rows':>12}{'read s':>9}{'derive s':>10}{'GX s':>8}"
          f"{'failing':>9}")  # fmt: skip
    for entity in suites.load_order():
        mine = [f for f in files if f.entity == entity]
        refs = suites.REFERENCES.get(entity.raw_table, ())
        known = {ref.column: pd.Series(sorted(keys.get(ref.parent_table, set()))) for ref in refs}
        stats = {"read": 0.0, "prepare": 0.0, "gx": 0.0, "rows": 0, "failing": 0}
        batch, rows = [], 0
        for position, landed in enumerate(mine):
            t0 = time.perf_counter()
            try:
                parsed = read_landed_file(landed.path, entity, landed.relative_path)
            except LandingFileError:
                parsed = None
            stats["read"] += time.perf_counter() - t0
            if parsed is not None:
                batch.append((landed, parsed))
                rows += parsed.rows_landed
            if batch and (rows >= batch_rows or position == len(mine) - 1):
                t1 = time.perf_counter()
                frame = suites.prepare_frame(batch_frame(batch), entity, known)
                t2 = time.perf_counter()
                _, failures = suites.run_suites(context, entity, frame)
                t3 = time.perf_counter()
                if entity.raw_table in {r.parent_table for rs in suites.REFERENCES.values()
                                        for r in rs}:  # fmt: skip
                    good = frame.drop(index=failures.index)
                    keys.setdefault(entity.raw_table, set()).update(good[entity.key[0]].dropna())
                stats["prepare"] += t2 - t1
                stats["gx"] += t3 - t2
                stats["rows"] += len(frame)
                stats["failing"] += len(failures)
                batch, rows = [], 0
                del frame, failures
        for name in ("read", "prepare", "gx", "rows"):
            totals[name] += stats[name]
        print(f"{entity.raw_table:<28}{len(mine):>6}{stats['rows']:>12,}{stats['read']:>9.1f}"
              f"{stats['prepare']:>10.1f}{stats['gx']:>8.1f}{stats['failing']:>9,}")  # fmt: skip
    print(f"{'total':<28}{len(files):>6}{totals['rows']:>12,}{totals['read']:>9.1f}"
          f"{totals['prepare']:>10.1f}{totals['gx']:>8.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="write here instead of a temporary folder")
    parser.add_argument("--orphaned", action="store_true", help="no accounts: quarantine all")
    parser.add_argument(
        "--validate-only", type=Path, metavar="LANDING", help="time read + GX on this landing area"
    )
    parser.add_argument("--batch-rows", type=int, default=2_000_000)
    args = parser.parse_args()
    if args.validate_only:
        validate_only(args.validate_only, args.batch_rows)
        return

    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings({"BANK_DATA_DIR": str(args.keep or scratch)})
        started = time.perf_counter()
        big = write_landing(settings, args.rows, args.accounts, args.orphaned)
        print(f"generated {args.rows:,} transactions ({big.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - started:.1f}s")  # fmt: skip

        # Stages on their own (the loader does the same work in load_landing).
        from expectations import landing as suites
        from expectations.runner import gx_context
        from include.landing.loader import batch_frame, load_landing
        from include.landing.reader import read_landed_file

        entity = ENTITIES_BY_TABLE["core_banking__transactions"]
        t0 = time.perf_counter()
        parsed = read_landed_file(big, entity)
        t1 = time.perf_counter()
        from include.landing.discovery import LandedFile

        landed = LandedFile(big, big.name, entity, date.fromisoformat(DAY))
        known = {"account_id": parsed.rows["account_id"].iloc[: 0 if args.orphaned else None]}
        frame = suites.prepare_frame(batch_frame([(landed, parsed)]), entity, known)
        t2 = time.perf_counter()
        context = gx_context()
        runs, failures = suites.run_suites(context, entity, frame)
        t3 = time.perf_counter()
        evaluated = sum(run.evaluated for run in runs)
        print(f"read+parse {t1 - t0:.1f}s | derive check columns {t2 - t1:.1f}s | "
              f"GX suites ({evaluated} expectations, {len(failures):,} failing rows) "
              f"{t3 - t2:.1f}s")  # fmt: skip
        del parsed, frame, runs, failures

        t4 = time.perf_counter()
        summary = load_landing(settings, date.fromisoformat(DAY), "benchmark")
        t5 = time.perf_counter()
        counts = summary.per_entity["core_banking__transactions"]
        print(f"load_landing end to end {t5 - t4:.1f}s: {counts.rows_loaded:,} loaded, "
              f"{counts.rows_quarantined:,} quarantined")  # fmt: skip
        t6 = time.perf_counter()
        again = load_landing(settings, date.fromisoformat(DAY), "benchmark-rerun")
        rerun = time.perf_counter() - t6
        print(f"re-run (nothing new) {rerun:.1f}s, files loaded: {again.files_loaded}")


if __name__ == "__main__":
    main()
