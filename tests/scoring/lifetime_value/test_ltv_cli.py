"""``python -m scoring.lifetime_value`` end to end on small CSV files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from include.config import REPO_ROOT
from scoring.lifetime_value import bgnbd
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


# Three hand-made customers appended to the CDNOW log (ids that CDNOW does not use).
HAND_MADE = """90001,1997-01-10,12.00
90001,1997-03-01,0.00
90001,1997-05-01,0
90001,1997-07-01,0.00
90002,1997-02-01,40.00
90002,1997-04-15,15.00
90002,1997-04-15,-30.00
90003,1997-01-20,25.00
90003,1997-03-10,30.00
90003,1997-03-10,-5.00
90003,1997-06-01,20.00
"""
# 90001: repeat purchases all free (3 repeat days, mean 0);
# 90002: a return nets its only repeat day to 15 - 30 = -15;
# 90003: ordinary, a same-day return leaves 25 on 10 March (repeat mean (25 + 20) / 2).
HAND_MADE_SUMMARY = {
    "90001": {"frequency": 3, "monetary_value": 0.0, "value_basis": "zero_mean_value"},
    "90002": {"frequency": 1, "monetary_value": -15.0, "value_basis": "negative_mean_value"},
    "90003": {"frequency": 2, "monetary_value": 22.5, "value_basis": "own_history"},
}


def cdnow_frame(customers: int = 300) -> pd.DataFrame:
    """The first ``customers`` CDNOW customers as a log with ISO dates."""
    sample = read_cdnow_sample()
    sample = sample[sample["customer_index"] <= customers]
    return pd.DataFrame(
        {
            "customer_id": sample["customer_id"],
            "date": pd.to_datetime(sample["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "amount": sample["amount"],
        }
    )


@pytest.fixture
def cdnow_log(tmp_path: Path) -> Path:
    """The first 300 CDNOW customers as a CSV log with ISO dates."""
    path = tmp_path / "cdnow.csv"
    cdnow_frame().to_csv(path, index=False)
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


def test_cli_keeps_zero_and_negative_value_customers_and_counts_them(tmp_path: Path) -> None:
    cdnow = cdnow_frame()
    transactions, output = tmp_path / "log.csv", tmp_path / "predictions.csv"
    transactions.write_text(cdnow.to_csv(index=False) + HAND_MADE)
    result = run_cli(transactions, output, "1997-09-30")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)

    # what CDNOW itself contributes, counted here without the package's summary code
    in_calibration = cdnow[cdnow["date"] <= "1997-09-30"]
    days = in_calibration.groupby(["customer_id", "date"])["amount"].sum()
    cdnow_repeat = int((days.groupby(level="customer_id").size() > 1).sum())
    assert report["customers"] == 303
    assert report["repeat_customers"] == cdnow_repeat + 3
    assert report["returns"] == {
        "negative_lines": 2,
        # 90001's three free days, 90002's netted day, CDNOW's own zero-value days
        "days_with_net_value_not_positive": 4 + int((days <= 0).sum()),
    }
    gamma_gamma_report = report["gamma_gamma"]
    assert gamma_gamma_report["left_out"] == {
        "no_repeat_transactions": 300 - cdnow_repeat,
        "zero_mean_value": 1,
        "negative_mean_value": 1,
    }
    assert gamma_gamma_report["customers"] == cdnow_repeat + 1
    p, q, gamma = (gamma_gamma_report[name] for name in ("p", "q", "gamma"))
    population_mean = p * gamma / (q - 1)
    assert gamma_gamma_report["left_out_value_per_transaction"] == pytest.approx(population_mean)
    assert "2 of" in result.stderr and "left out of the Gamma-Gamma fit" in result.stderr

    predictions = pd.read_csv(output, dtype={"customer_id": str}).set_index("customer_id")
    assert len(predictions) == 303 and predictions.notna().all().all()
    assert (predictions["value_basis"] != "own_history").sum() == 300 - cdnow_repeat + 2
    hand_made = predictions.loc[list(HAND_MADE_SUMMARY)]
    for customer, expected in HAND_MADE_SUMMARY.items():
        row = hand_made.loc[customer]
        assert row["frequency"] == expected["frequency"], customer
        assert row["monetary_value"] == pytest.approx(expected["monetary_value"]), customer
        assert row["value_basis"] == expected["value_basis"], customer
    # BG/NBD predictions for all three, from the parameters the command printed
    params = bgnbd.BgNbdParams(**{k: report["bgnbd"][k] for k in ("r", "alpha", "a", "b")})
    history = (hand_made["frequency"], hand_made["recency"], hand_made["T"])
    assert hand_made["expected_transactions"].to_numpy() == pytest.approx(
        bgnbd.expected_transactions(params, 26.0, *history)
    )
    assert hand_made["probability_alive"].to_numpy() == pytest.approx(
        bgnbd.probability_alive(params, *history)
    )
    assert (hand_made["expected_transactions"] > 0).all()
    # the documented value for the two left out; the ordinary one shrunk towards it
    left_out = hand_made.loc[["90001", "90002"], "expected_value_per_transaction"]
    assert left_out.to_numpy() == pytest.approx([population_mean] * 2)
    weight = p * 2 / (p * 2 + q - 1)
    assert hand_made.loc["90003", "expected_value_per_transaction"] == pytest.approx(
        (1 - weight) * population_mean + weight * 22.5
    )
    assert hand_made["predicted_value"].to_numpy() == pytest.approx(
        (
            hand_made["expected_transactions"] * hand_made["expected_value_per_transaction"]
        ).to_numpy()
    )


def test_cli_still_refuses_an_amount_it_cannot_read(tmp_path: Path) -> None:
    transactions, output = tmp_path / "log.csv", tmp_path / "predictions.csv"
    lines = LOG.splitlines()
    lines[6] = "003,2024-01-15,-"  # line 7 of the file
    transactions.write_text("\n".join(lines) + "\n")
    result = run_cli(transactions, output, "2024-06-30")
    assert result.returncode != 0
    assert "line 7, column 'amount': cannot read '-' as an amount" in result.stderr
    assert not output.exists()
