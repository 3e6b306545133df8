"""generate_bank(): simulate, then write landing files, ground truth and dirt manifest."""

from __future__ import annotations

import csv
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from tqdm import tqdm

from include.bank_generator import dirt
from include.bank_generator.config import GeneratorConfig, make_calendar
from include.bank_generator.people import Pools
from include.bank_generator.simulate import simulate
from include.bank_generator.tables import ACCOUNT_ID, CUSTOMER_ID, Rows, build_rows, ground_truth
from include.landing.entities import ENTITIES, landing_dir, landing_file_name

WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def render(table: pa.Table) -> bytes:
    """CSV body (no header) exactly as the landing contract asks."""
    table = pa.table(
        {
            name: col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )
    out = io.BytesIO()
    pacsv.write_csv(table, out, WRITE_OPTIONS)
    return out.getvalue()


def _late_arrivals(rng: np.random.Generator, rows: Rows, rate: float, n_days: int) -> None:
    """Move a share of transactions to a file 1-10 days after their date."""
    if rate <= 0:
        return
    k = len(rows.day)
    chosen = np.flatnonzero(rng.random(k) < rate)
    if not len(chosen) and k:
        chosen = rng.integers(0, k, 1)
    new_day = rows.day[chosen] + rng.integers(1, 11, len(chosen))
    ok = new_day < n_days
    rows.day[chosen[ok]] = new_day[ok]
    rows.late[chosen[ok]] = True
    rows.resort()


def generate_bank(config: GeneratorConfig) -> dict[str, object]:
    """Generate the bank described by ``config`` into ``config.out``; returns a summary."""
    started = time.perf_counter()
    out = Path(config.out)
    landing, truth_dir = out / "landing", out / "ground_truth"
    for folder in (landing, truth_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    cal = make_calendar(config.start_date, config.months)
    with tqdm(total=4, desc="simulate", disable=not config.show_progress, unit="step") as bar:
        bank = simulate(
            config.customers, cal, np.random.default_rng(config.seed), Pools(config.seed)
        )
        bar.update(1)
        bar.set_description("build rows")
        rows, ids = build_rows(bank)
        bar.update(1)
        bar.set_description("ground truth")
        truth, stats = ground_truth(bank, ids["customer_id"])
        bar.update(1)
        dirt_rng = np.random.default_rng([config.seed, 1])
        _late_arrivals(dirt_rng, rows["transactions"], config.dirt_rate, cal.n_days)
        bar.update(1)
    files = []  # (entity, rows, first, last, business day)
    for entity in ENTITIES:
        r = rows[entity.name]
        days, first = np.unique(r.day, return_index=True)
        bounds = np.r_[first, len(r.day)]
        files += [
            (entity, r, int(bounds[i]), int(bounds[i + 1]), int(d)) for i, d in enumerate(days)
        ]
    parents = {
        "customer_id": dirt.KeySpace(*CUSTOMER_ID, len(ids["customer_id"])),
        "account_id": dirt.KeySpace(*ACCOUNT_ID, len(ids["account_id"])),
    }
    plans = dirt.plan_dirt(dirt_rng, [(e, hi - lo) for e, _, lo, hi, _ in files], config.dirt_rate)
    manifest: list[tuple[str, str, str, str]] = []
    serial = 0
    for (entity, r, lo, hi, day), plan in tqdm(
        list(zip(files, plans, strict=True)),
        desc="write",
        unit="file",
        disable=not config.show_progress,
    ):
        date = str(cal.start + day)
        part = r.table.slice(lo, hi - lo)
        folder = landing_dir(entity.system, entity.name, date)
        (landing / folder).mkdir(parents=True, exist_ok=True)
        rel = f"{folder}/{landing_file_name(entity.name, date)}"
        body, found, row_lines = dirt.inject(
            dirt_rng, entity, part, render(part), plan, date, serial, parents
        )
        serial += len(found)
        data = (",".join(entity.column_names) + "\n").encode() + body
        (landing / rel).write_bytes(data)
        manifest += [(rel, str(line), kind, column) for line, kind, column in found]
        manifest += [
            (rel, str(line), dirt.LATE, "transaction_date") for line in row_lines[r.late[lo:hi]]
        ]
        if plan.redeliver:
            copy = f"{folder}/{landing_file_name(entity.name, date, 'redelivered')}"
            (landing / copy).write_bytes(data)
            manifest.append((copy, "", dirt.REDELIVERED, ""))
    truth_body = render(truth)
    (truth_dir / "customers.csv").write_bytes(
        (",".join(truth.column_names) + "\n").encode() + truth_body
    )
    manifest.sort(key=lambda m: (m[0], int(m[1] or 0), m[2]))
    with open(truth_dir / "dirt.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(dirt.MANIFEST_COLUMNS)
        writer.writerows(manifest)
    kinds: dict[str, int] = {}
    for _, _, kind, _ in manifest:
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "files": len(files) + sum(p.redeliver for p in plans),
        "rows": {e.name: rows[e.name].table.num_rows for e in ENTITIES},
        "defects": dict(sorted(kinds.items())),
        "truth": stats,
        "negative_deposit_balances": bank.negative_balances,
        "seconds": round(time.perf_counter() - started, 1),
    }
