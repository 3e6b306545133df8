"""The CDNOW sample used by the published BG/NBD and Gamma-Gamma fits (see datasets/README.md).

2,357 customers who made their first purchase at CDNOW in the first 12 weeks of 1997, with
all their purchases up to 30 June 1998. The papers calibrate on the first 39 weeks.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

CDNOW_SAMPLE_PATH = Path(__file__).parent / "datasets" / "CDNOW_sample.txt"
CDNOW_CALIBRATION_END = date(1997, 9, 30)
CDNOW_COLUMNS: tuple[str, ...] = ("customer_id", "customer_index", "date", "cd_count", "amount")


def read_cdnow_sample(path: Path = CDNOW_SAMPLE_PATH) -> pd.DataFrame:
    """The sample's transactions: customer_id (master-file id, kept as text with its leading
    zeros), customer_index (1..2,357, the ``ID`` of the published summaries), date
    (YYYYMMDD text), cd_count and amount (US dollars)."""
    return pd.read_csv(
        path,
        sep=r"\s+",
        header=None,
        names=list(CDNOW_COLUMNS),
        dtype={"customer_id": str, "customer_index": "int64", "date": str},
    )
