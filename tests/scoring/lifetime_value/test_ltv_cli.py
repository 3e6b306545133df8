"""``python -m scoring.lifetime_value`` end to end on small CSV files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from include.config import REPO_ROOT
from scoring.lifetime_value.cdnow import read_cdnow_sample

LOG = """customer_id,date,amount
001,2024-01-02,20.00
001,2024-01-20,25.50
001,2024-03-05,18.00
002,20240110,60.00
002,20240301,55.00
002,2024-04-12,70.00
003,2024-01-15,12.00
004,2024-02-01,30.00
004,2024-02-01,10.00
004,2024-05-20,35.00
005,2024-03-03,15.00
005,2024-07-01,99.00
"""


def run_cli(transactions: Path, output: Path, calibration_end: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable,
        "-m",
        "scoring.lifetime_value",
        "--transactions",
        str(transactions),
        "--calibration-end",
        calibration_end,
        "--output",
        str(output),
        "--horizon",
        "26",
    ]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)


@pytest.fixture
def cdnow_log(tmp_path: Path) -> Path:
    """The first 300 CDNOW customers as a CSV log with ISO dates."""
    sample = read_cdnow_sample()
    sample = sample[sample["customer_index"] <= 300]
    log = pd.DataFrame(
        {
            "customer_id": sample["customer_id"],
            "date": pd.to_datetime(sample["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "amount": sample["amount"],
        }
    )
    path = tmp_path / "cdnow.csv"
    log.to_csv(path, index=False)
    return path


def test_cli_prints_parameters_and_writes_one_row_per_customer(
    cdnow_log: Path, tmp_path: Path
) -> None:
    output = tmp_path / "predictions.csv"
    result = run_cli(cdnow_log, output, "1997-09-30")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["customers"] == 300
    assert 0 < report["repeat_customers"] < 300
    assert set(report["bgnbd"]) >= {"r", "alpha", "a", "b", "log_likelihood"}
    assert set(report["gamma_gamma"]) >= {"p", "q", "gamma", "log_likelihood"}
    predictions = pd.read_csv(output, dtype={"customer_id": str})
    assert len(predictions) == 300
    assert predictions["customer_id"].is_unique
    assert predictions["customer_id"].str.len().eq(5).all()  # leading zeros kept
    assert predictions["predicted_value"].notna().all()
    assert report["total_predicted_value"] == pytest.approx(predictions["predicted_value"].sum())


def test_cli_reports_data_that_cannot_identify_the_model(tmp_path: Path) -> None:
    transactions, output = tmp_path / "log.csv", tmp_path / "predictions.csv"
    transactions.write_text(LOG)
    result = run_cli(transactions, output, "2024-06-30")
    assert result.returncode != 0
    assert "cannot identify the model" in result.stderr
    assert not output.exists()


def test_cli_names_the_line_and_column_of_a_bad_date(tmp_path: Path) -> None:
    transactions, output = tmp_path / "log.csv", tmp_path / "predictions.csv"
    lines = LOG.splitlines()
    lines[4] = "002,2024-13-10,60.00"  # line 5 of the file
    transactions.write_text("\n".join(lines) + "\n")
    result = run_cli(transactions, output, "2024-06-30")
    assert result.returncode != 0
    assert "line 5, column 'date'" in result.stderr
    assert "2024-13-10" in result.stderr
    assert not output.exists()
