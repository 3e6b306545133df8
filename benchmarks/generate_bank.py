"""Time the synthetic bank generator and print the figures.

    uv run python benchmarks/generate_bank.py --customers 100000 --months 12 --out /tmp/bench

Scale target: 1,000,000 customers x 12 months in under 15 minutes on 2 cores with peak
memory under 4 GiB. The printed peaks are the largest single process (this one or a
worker); measure the whole process tree with ``/usr/bin/time -v`` or a sampler.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from include.bank_generator import GeneratorConfig, generate_bank


def folder_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--dirt-rate", type=float, default=0.005)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--block-size", type=int, default=GeneratorConfig().block_size)
    parser.add_argument("--workers", type=int, default=GeneratorConfig().workers)
    parser.add_argument("--out", type=Path, default=None, help="default: a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        started = time.perf_counter()
        summary = generate_bank(
            GeneratorConfig(
                customers=args.customers,
                months=args.months,
                seed=args.seed,
                dirt_rate=args.dirt_rate,
                out=out,
                show_progress=False,
                block_size=args.block_size,
                workers=args.workers,
            )
        )
        wall = time.perf_counter() - started
        files, size = folder_size(out / "landing")
    rows = sum(summary["rows"].values())  # type: ignore[union-attr]
    print(
        json.dumps(
            {
                "customers": args.customers,
                "months": args.months,
                "block_size": args.block_size,
                "workers": args.workers,
                "wall_seconds": round(wall, 1),
                "peak_rss_megabytes_main": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                ),
                "peak_rss_megabytes_largest_worker": round(
                    resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                ),
                "landing_files": files,
                "landing_megabytes": round(size / 1e6, 1),
                "rows": rows,
                "rows_per_second": round(rows / wall),
                "rows_by_entity": summary["rows"],
                "truth": summary["truth"],
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
