"""generate_bank(): simulate the bank block by block, appending landing files, ground
truth and dirt manifest as each block is done, so memory holds a few blocks.

Blocks are simulated in worker processes (``GeneratorConfig.workers``) while this
process writes the finished ones in customer order; nothing a block produces
depends on another block, so the files are the same for any block size and any
number of workers.
"""

from __future__ import annotations

import multiprocessing
import shutil
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from tqdm import tqdm

from include.bank_generator import dirt, hostile_text
from include.bank_generator.config import GeneratorConfig
from include.bank_generator.shared import SharedData, shared_data
from include.bank_generator.simulate import simulate_block
from include.bank_generator.tables import (
    ACCOUNT_ID,
    CUSTOMER_ID,
    ROWS_PER_CUSTOMER_DIGITS,
    EntityRows,
    block_rows,
    reference_rows,
)
from include.bank_generator.truth import TruthCounts, ground_truth
from include.bank_generator.writer import LandingWriter, render
from include.landing.entities import ENTITIES


def blocks(customers: int, block_size: int) -> list[tuple[int, int]]:
    """(first customer, size) of each block."""
    return [
        (first, min(block_size, customers - first)) for first in range(0, customers, block_size)
    ]


@dataclass(frozen=True)
class BuiltBlock:
    """What the writer needs of one block (small enough to pass between processes)."""

    rows: dict[str, EntityRows]
    truth: pa.Table
    truth_counts: TruthCounts
    negative_deposit_balances: int


def build_block(shared: SharedData, first: int, size: int) -> BuiltBlock:
    block = simulate_block(shared, first, size)
    landed = block_rows(shared, block)
    truth, counts = ground_truth(shared, block)
    return BuiltBlock(landed.rows, truth, counts, landed.negative_deposit_balances)


_WORKER_SHARED: SharedData | None = None


def _start_worker(config: GeneratorConfig) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared_data(config)


def _build_in_worker(first: int, size: int) -> BuiltBlock:
    assert _WORKER_SHARED is not None
    return build_block(_WORKER_SHARED, first, size)


def built_blocks(config: GeneratorConfig, shared: SharedData) -> Iterator[BuiltBlock]:
    """Every block in customer order: built here (``workers == 0``) or by worker
    processes, with at most ``workers + 1`` finished blocks waiting to be written."""
    plan = blocks(config.customers, config.block_size)
    if config.workers == 0:
        for first, size in plan:
            yield build_block(shared, first, size)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        config.workers, mp_context=context, initializer=_start_worker, initargs=(config,)
    ) as pool:
        pending: deque = deque()
        for first, size in plan:
            pending.append(pool.submit(_build_in_worker, first, size))
            if len(pending) > config.workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


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
        # account numbers start with the customer's: none is above the next customer's
        "account_id": dirt.KeySpace(
            *ACCOUNT_ID, (config.customers + 1) * 10 ** ROWS_PER_CUSTOMER_DIGITS["accounts"]
        ),
    }
    references = reference_rows(shared)
    hostile = (
        hostile_text.plan(
            config.seed,
            config.customers,
            {name: len(rows.day) for name, rows in references.items()},
        )
        if config.hostile_text
        else None
    )
    writer = LandingWriter(landing, shared, config.seed, config.dirt_rate, parents, hostile)
    try:
        for rows in references.values():
            writer.write(rows)
        truth, negative = TruthCounts(), 0
        truth_path = truth_dir / "customers.csv"
        progress = tqdm(
            total=config.customers,
            desc="customers",
            unit="customer",
            disable=not config.show_progress,
        )
        with progress, open(truth_path, "wb") as truth_file:
            for number, built in enumerate(built_blocks(config, shared)):
                for entity in ENTITIES:
                    if entity.name in built.rows:
                        writer.write(built.rows[entity.name])
                if number == 0:
                    truth_file.write((",".join(built.truth.column_names) + "\n").encode())
                truth_file.write(render(built.truth))
                truth += built.truth_counts
                negative += built.negative_deposit_balances
                progress.update(built.truth.num_rows)
        files = writer.finish()
    finally:
        writer.close()
    defects = writer.write_manifest(truth_dir / "dirt.csv")
    hostile_values = (
        writer.write_hostile_manifest(truth_dir / hostile_text.MANIFEST) if hostile else None
    )
    return {
        "files": files["files"],
        "rows": {e.name: writer.rows[e.name] for e in ENTITIES},
        "defects": defects,
        **({"hostile_values": hostile_values} if hostile_values is not None else {}),
        "truth": truth.summary(),
        "negative_deposit_balances": negative,
        "block_size": config.block_size,
        "workers": config.workers,
        "seconds": round(time.perf_counter() - started, 1),
    }
