"""generate_bank(): simulate the bank block by block, appending landing files, ground
truth and dirt manifest as each block is done, so memory holds one block."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from tqdm import tqdm

from include.bank_generator import dirt
from include.bank_generator.config import GeneratorConfig
from include.bank_generator.shared import SharedData, shared_data
from include.bank_generator.simulate import simulate_block
from include.bank_generator.tables import (
    ACCOUNT_ID,
    CUSTOMER_ID,
    IdCounters,
    block_rows,
    reference_rows,
)
from include.bank_generator.truth import TruthCounts, ground_truth
from include.bank_generator.writer import LandingWriter, render
from include.landing.entities import ENTITIES

# Orphan account keys are drawn above this number, which no bank of this generator
# reaches (it is not known how many accounts the bank has until its last block).
ACCOUNT_NUMBER_BOUND = 10 ** ACCOUNT_ID[1] - 10**7 - 1


def blocks(customers: int, block_size: int) -> list[tuple[int, int]]:
    """(first customer, size) of each block."""
    return [
        (first, min(block_size, customers - first)) for first in range(0, customers, block_size)
    ]


def generate_bank(config: GeneratorConfig) -> dict[str, object]:
    """Generate the bank described by ``config`` into ``config.out``; returns a summary."""
    started = time.perf_counter()
    out = Path(config.out)
    landing, truth_dir = out / "landing", out / "ground_truth"
    for folder in (landing, truth_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    shared: SharedData = shared_data(config)
    parents = {
        "customer_id": dirt.KeySpace(*CUSTOMER_ID, config.customers),
        "account_id": dirt.KeySpace(*ACCOUNT_ID, ACCOUNT_NUMBER_BOUND),
    }
    writer = LandingWriter(landing, shared, config.seed, config.dirt_rate, parents)
    for rows in reference_rows(shared).values():
        writer.write(rows)
    counters, truth, negative = IdCounters(), TruthCounts(), 0
    truth_path = truth_dir / "customers.csv"
    for first, size in tqdm(
        blocks(config.customers, config.block_size),
        desc="customer blocks",
        unit="block",
        disable=not config.show_progress,
    ):
        block = simulate_block(shared, first, size)
        landed = block_rows(shared, block, counters)
        for entity in ENTITIES:
            if entity.name in landed.rows:
                writer.write(landed.rows[entity.name])
        table, counts = ground_truth(shared, block)
        with open(truth_path, "ab") as handle:
            if first == 0:
                handle.write((",".join(table.column_names) + "\n").encode())
            handle.write(render(table))
        counters, truth = landed.counters, truth + counts
        negative += landed.negative_deposit_balances
        del block, landed, table
    files = writer.finish()
    defects = writer.write_manifest(truth_dir / "dirt.csv")
    return {
        "files": files["files"],
        "rows": {e.name: writer.rows[e.name] for e in ENTITIES},
        "defects": defects,
        "truth": truth.summary(),
        "negative_deposit_balances": negative,
        "block_size": config.block_size,
        "seconds": round(time.perf_counter() - started, 1),
    }
