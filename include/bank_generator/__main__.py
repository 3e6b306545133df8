"""Command line: ``python -m include.bank_generator --customers 2000 --months 12 ...``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from include.bank_generator.config import GeneratorConfig
from include.bank_generator.generator import generate_bank


def parse_args(argv: list[str] | None = None) -> GeneratorConfig:
    defaults = GeneratorConfig()
    parser = argparse.ArgumentParser(
        prog="python -m include.bank_generator",
        description="Generate a synthetic bank's landing files.",
    )
    parser.add_argument("--customers", type=int, default=defaults.customers)
    parser.add_argument("--months", type=int, default=defaults.months)
    parser.add_argument("--start-date", default=defaults.start_date, help="YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--dirt-rate",
        type=float,
        default=defaults.dirt_rate,
        help="share of rows with an injected defect (0 = clean)",
    )
    parser.add_argument(
        "--hostile-text",
        action="store_true",
        help="put hostile text (quotes, SQL, Jinja, emoji, right-to-left, control "
        "characters, ...) into a few rows' free-text fields; listed in "
        "OUT/ground_truth/hostile_text.csv",
    )
    parser.add_argument(
        "--out", type=Path, default=defaults.out, help="writes OUT/landing and OUT/ground_truth"
    )
    parser.add_argument(
        "--block-size",
        type=int,
        default=defaults.block_size,
        help="customers simulated at once (memory); the files do not depend on it",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=defaults.workers,
        help="processes that simulate blocks while this one writes (0: none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    return GeneratorConfig(
        customers=args.customers,
        months=args.months,
        start_date=args.start_date,
        seed=args.seed,
        dirt_rate=args.dirt_rate,
        hostile_text=args.hostile_text,
        out=args.out,
        show_progress=not args.quiet,
        block_size=args.block_size,
        workers=args.workers,
    )


def main(argv: list[str] | None = None) -> None:
    summary = generate_bank(parse_args(argv))
    print(json.dumps(summary, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
