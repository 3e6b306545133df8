"""The shared command line of the dated scoring jobs (scoring.train, scoring.score):
a date option, a run id, the job's summary printed as JSON."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import date
from typing import Any

from include.config import Settings, load_settings

DatedJob = Callable[[Settings, date, str], dict[str, Any]]


def run_dated_job(description: str, date_option: str, job: DatedJob, argv: list[str] | None) -> int:
    """Parse ``--<date_option> YYYY-MM-DD --run-id ID``, run ``job`` with the project's
    settings, print its summary as JSON."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        f"--{date_option}", required=True, type=date.fromisoformat, help="YYYY-MM-DD"
    )
    parser.add_argument("--run-id", required=True, help="run identifier stored with the results")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    day = getattr(arguments, date_option.replace("-", "_"))
    summary = job(load_settings(), day, arguments.run_id)
    json.dump(summary, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0
