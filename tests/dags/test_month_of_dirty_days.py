"""A month of dirty days, run one date after the other through Airflow, ends where a clean bank does.

A small bank is generated with its dirt turned up (5 % of rows: duplicates, malformed
rows, orphans, unknown values, late-arriving transactions, re-delivered files; listed in
the generator's manifest), and beside it the same bank (same seed) with no dirt. The
dirty bank's first run loads January, the churn model is trained, then every date of
the next ``MONTH_OF_DIRTY_DAYS`` days is run with ``airflow dags test``
in order. On top of the generator's dirt:

- the transactions file of one day is corrupt (a NUL byte on line 3): that day's run
  and the next fail naming the file, line and column, having loaded the other files;
  the corrected file is re-delivered two days later and loads;
- one balance file is late: held back, it lands three days after its date and is
  taken by that day's run.

Then a date in the middle is run again, and the last date again. Proven:

- every landed file up to the last date is registered: loaded (landed rows = loaded +
  quarantined, counted from the file itself), duplicate (the byte copies) or superseded
  (the corrupt file); no record is loaded twice;
- the quarantine equals the manifest's defects row for row, each by its rule;
- the audit names the run that loaded the late and the corrected file;
- re-running the middle date and then the last date changes nothing (content hashes);
- the marts equal the clean bank's after one run of the last date, with the records
  that had not arrived by then (late rows landing after the last date) left out of the
  clean bank too. Not compared: the marts built from the scores (the clean bank has no
  trained model) and the tier history (built from one snapshot per run, so it depends
  on which dates ran).

Every case above already occurs in 4 days, so the suite (and CI) runs 4 (7 minutes
alone on the standard machine); the 30 days, about 1 minute a day, are run by hand with
``MONTH_OF_DIRTY_DAYS=30 bin/test -n 0 -m month`` (results in RELIABILITY.md).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
from collections import Counter
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from include.bank_generator.dirt import LATE, REDELIVERED, ROW_KINDS
from include.config import REPO_ROOT
from tests.conftest import pipeline_environment, prepare_bank
from tests.fingerprints import RUN_STAMPS, fingerprint, warehouse_fingerprints
from tests.include.test_dirt_manifest import business_date, expected_rule

pytestmark = pytest.mark.month

DAILY, TRAINING = "customer_operations_daily", "churn_model_training"
DAYS = int(os.environ.get("MONTH_OF_DIRTY_DAYS", "4"))
BANK = ("--customers", "60", "--months", "3", "--start-date", "2025-01-01", "--seed", "7")
DIRT_RATE = "0.05"
FIRST_RUN = date(2025, 1, 31)
DATES = [FIRST_RUN + timedelta(days=day) for day in range(1, DAYS + 1)]
LAST = DATES[-1]
CORRUPT = DATES[max(0, DAYS // 3 - 1)]  # its run and the next fail
FIXED = CORRUPT + timedelta(days=2)  # the corrected file lands
LATE_ARRIVAL = DATES[max(DATES.index(FIXED) + 1, 2 * DAYS // 3 - 1)]
LATE_FILE_DATE = LATE_ARRIVAL - timedelta(days=3)
MIDDLE = DATES[DAYS // 2 - 1]


def landing_file(landing: Path, folder: str, day: date, suffix: str = "") -> Path:
    name = folder.rsplit("/", 1)[1]
    return landing / folder / f"business_date={day}" / f"{name}_{day:%Y%m%d}{suffix}.csv"


def run_day(airflow: str, env: dict[str, str], dag_id: str, day: date) -> dict:
    """One ``airflow dags test`` of ``dag_id`` for ``day``: exit code, output, run id."""
    result = subprocess.run(
        [airflow, "dags", "test", dag_id, day.isoformat()],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    with closing(sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")) as db:
        [(run_id,)] = db.execute(
            "select run_id from dag_run where dag_id = ? and substr(logical_date, 1, 10) = ?",
            [dag_id, day.isoformat()],
        ).fetchall()
    return {
        "date": day.isoformat(),
        "returncode": result.returncode,
        "run_id": run_id,
        "output": (result.stdout + result.stderr)[-6000:],
        # the loader's refusals, wherever they are in the run's long log
        "refusals": sorted(
            {line.strip() for line in (result.stdout + result.stderr).splitlines()
             if "landed file(s) rejected" in line or ": line " in line and "csv" in line}
        ),
    }  # fmt: skip


def succeeded(run: dict) -> dict:
    assert run["returncode"] == 0, f"the run of {run['date']} failed:\n{run['output'][-6000:]}"
    return run


def marts_compared_with_the_clean_bank(manifest: Path) -> list[str]:
    """The marts that do not read the scores and do not read the tier snapshot."""
    nodes = json.loads(manifest.read_text())["nodes"].values()
    return sorted(
        node["alias"]
        for node in nodes
        if node["resource_type"] == "model"
        and node["fqn"][1] == "marts"
        and "needs_scores" not in node["config"]["tags"]
        and node["alias"] not in TIER_HISTORY
    )


def mart_fingerprints(warehouse: str, marts: list[str]) -> dict[str, tuple[int, str]]:
    with duckdb.connect(warehouse, read_only=True) as con:
        columns = {
            table: [f'"{column}"' for column in names if column not in RUN_STAMPS]
            for table, names in con.execute(
                "select table_name, list(column_name order by ordinal_position) "
                "from information_schema.columns where table_schema = 'marts' group by 1"
            ).fetchall()
        }
        return {mart: fingerprint(con, f'marts."{mart}"', columns[mart]) for mart in marts}


# Built from one snapshot of the tiers per run: they depend on which dates ran.
TIER_HISTORY = ("fct_customer_tier_migrations", "mart_tier_migrations", "mart_tier_upgrade_sources")


def state_fingerprints(warehouse: str, day: date) -> dict:
    """Every layer but the tier history, scores of ``day`` only."""
    layers = warehouse_fingerprints(warehouse, score_date=day.isoformat())
    for table in TIER_HISTORY:
        layers["marts"].pop(table, None)
    return layers


def remove_records_arrived_later(dirty: Path, clean: Path, manifest: list[dict]) -> int:
    """Take out of the clean bank the records that reach the dirty bank only after LAST
    (late rows in files dated later): both then hold what had arrived by LAST."""
    arriving_later: dict[str, set[str]] = {}
    for row in manifest:
        if row["kind"] == LATE and date.fromisoformat(business_date(row["file"])) > LAST:
            folder = row["file"].rsplit("/", 2)[0]
            lines = (dirty / "landing" / row["file"]).read_text(encoding="utf-8").split("\n")
            arriving_later.setdefault(folder, set()).add(lines[int(row["line"]) - 1])
    removed = 0
    for folder, records in arriving_later.items():
        for path in sorted((clean / "landing" / folder).rglob("*.csv")):
            lines = path.read_text(encoding="utf-8").split("\n")
            kept = [line for line in lines if line not in records]
            if len(kept) < len(lines):
                removed += len(lines) - len(kept)
                path.write_text("\n".join(kept), encoding="utf-8")
    return removed


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path) -> dict:
    root = tmp_path_factory.mktemp("month")
    dirty, clean = root / "dirty", root / "clean"
    # a refused file fails the load at once: its retries (kept) need not wait
    no_wait = {"TASK_RETRY_DELAY_SECONDS": "0"}
    env, clean_env = pipeline_environment(dirty) | no_wait, pipeline_environment(clean) | no_wait
    airflow = prepare_bank(dirty, env, (*BANK, "--dirt-rate", DIRT_RATE))
    prepare_bank(clean, clean_env, (*BANK, "--dirt-rate", "0"))
    landing = dirty / "landing"
    manifest = list(csv.DictReader((dirty / "ground_truth" / "dirt.csv").open()))

    # the corrupt file: a transactions file with no byte copy among the generator's dirt
    corrupt = landing_file(landing, "core_banking/transactions", CORRUPT)
    assert not landing_file(landing, "core_banking/transactions", CORRUPT, "_redelivered").exists()
    original = corrupt.read_bytes()
    lines = original.split(b"\n")
    corrupt.write_bytes(b"\n".join([*lines[:2], b"\x00" + lines[2], *lines[3:]]))
    fixed = landing_file(landing, "core_banking/transactions", CORRUPT, "_corrected")
    # the late file: held back until LATE_ARRIVAL. Not of a day the generator re-sends:
    # its copy would land on time and load, and the late original be a duplicate (the
    # 30-day month met that: balances of 2025-02-17)
    [late, *_] = [
        landing_file(landing, folder, LATE_FILE_DATE)
        for folder in ("core_banking/balances", "core_banking/transactions", "loans/repayments")
        if landing_file(landing, folder, LATE_FILE_DATE).exists()
        and not landing_file(landing, folder, LATE_FILE_DATE, "_redelivered").exists()
    ]
    held = root / "held_back" / late.name
    held.parent.mkdir()
    shutil.move(late, held)

    runs = [succeeded(run_day(airflow, env, DAILY, FIRST_RUN))]
    succeeded(run_day(airflow, env, TRAINING, FIRST_RUN))
    for day in DATES:
        if day == FIXED:
            fixed.write_bytes(original)
        if day == LATE_ARRIVAL:
            shutil.move(held, late)
        runs.append(run_day(airflow, env, DAILY, day))
    after_last = state_fingerprints(env["WAREHOUSE_PATH"], LAST)
    middle_rerun = succeeded(run_day(airflow, env, DAILY, MIDDLE))
    last_rerun = succeeded(run_day(airflow, env, DAILY, LAST))
    removed = remove_records_arrived_later(dirty, clean, manifest)
    succeeded(run_day(airflow, clean_env, DAILY, LAST))
    return {
        "env": env, "clean_env": clean_env, "runs": runs, "manifest": manifest,
        "after_last": after_last, "middle_rerun": middle_rerun, "last_rerun": last_rerun,
        "corrupt": corrupt.relative_to(landing).as_posix(),
        "fixed": fixed.relative_to(landing).as_posix(),
        "late": late.relative_to(landing).as_posix(), "removed": removed,
    }  # fmt: skip


def registry(env: dict[str, str]) -> list[dict]:
    with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
        frame = con.execute("select * from raw._load_registry").df()
    return frame.to_dict("records")


def run_of(month: dict, day: date) -> dict:
    [run] = [run for run in month["runs"] if run["date"] == day.isoformat()]
    return run


def test_the_corrupt_file_fails_two_runs_and_its_correction_loads(month: dict) -> None:
    failed = [run["date"] for run in month["runs"] if run["returncode"] != 0]
    assert failed == [CORRUPT.isoformat(), (CORRUPT + timedelta(days=1)).isoformat()]
    for day in failed:
        refusals = "\n".join(run_of(month, date.fromisoformat(day))["refusals"])
        assert f"{month['corrupt']}: line 3, column 1: NUL byte" in refusals, refusals
    statuses = {row["file_path"]: row for row in registry(month["env"])}
    assert statuses[month["fixed"]]["status"] == "loaded"
    assert statuses[month["fixed"]]["run_id"] == run_of(month, FIXED)["run_id"]
    assert all(
        row["status"] == "superseded"
        for row in registry(month["env"])
        if row["file_path"] == month["corrupt"]
    )


def test_the_late_file_is_loaded_by_the_run_of_the_day_it_landed(month: dict) -> None:
    [row] = [row for row in registry(month["env"]) if row["file_path"] == month["late"]]
    assert row["status"] == "loaded"
    assert str(row["business_date"])[:10] == LATE_FILE_DATE.isoformat()
    assert row["run_id"] == run_of(month, LATE_ARRIVAL)["run_id"]


def test_every_landed_row_is_loaded_or_quarantined_once(month: dict) -> None:
    landing = Path(month["env"]["LANDING_PATH"])
    landed = {
        path.relative_to(landing).as_posix(): path
        for path in landing.rglob("*.csv")
        if date.fromisoformat(business_date(path.as_posix())) <= LAST
    }
    copies = {row["file"] for row in month["manifest"] if row["kind"] == REDELIVERED}
    rows = registry(month["env"])
    final = {row["file_path"]: row["status"] for row in rows if row["status"] != "rejected"}
    expected = {
        file: "duplicate" if file in copies else "superseded" if file == month["corrupt"]
        else "loaded"
        for file in landed
    }  # fmt: skip
    assert final == expected
    for row in rows:
        if row["status"] == "loaded":
            lines = landed[row["file_path"]].read_bytes().count(b"\n") - 1
            assert row["rows_landed"] == lines == row["rows_loaded"] + row["rows_quarantined"]
    with duckdb.connect(month["env"]["WAREHOUSE_PATH"], read_only=True) as con:
        twice = con.execute(
            " union all ".join(
                f"select _source_file, _source_line from raw.{table} "
                "group by all having count(*) > 1"
                for (table,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'raw' and not starts_with(table_name, '_')"
                ).fetchall()
            )
        ).fetchall()
    assert twice == []


def test_the_quarantine_equals_the_manifest_row_for_row(month: dict) -> None:
    renamed = {month["corrupt"]: month["fixed"]}  # its rows loaded from the corrected copy
    expected = Counter(
        (renamed.get(row["file"], row["file"]), int(row["line"]),
         expected_rule(row["kind"], row["column"]))
        for row in month["manifest"]
        if row["kind"] in ROW_KINDS and date.fromisoformat(business_date(row["file"])) <= LAST
    )  # fmt: skip
    with duckdb.connect(month["env"]["WAREHOUSE_PATH"], read_only=True) as con:
        found = Counter(
            con.execute("select source_file, source_line, rule from raw._quarantine").fetchall()
        )
    assert sum(expected.values()) > 50
    assert found == expected


def test_rerunning_the_middle_date_then_the_last_changes_nothing(month: dict) -> None:
    again = state_fingerprints(month["env"]["WAREHOUSE_PATH"], LAST)
    assert again == month["after_last"]


def test_the_marts_equal_the_clean_banks(month: dict, dbt_manifest: Path) -> None:
    assert month["removed"] > 0  # some late rows land after the last date
    marts = marts_compared_with_the_clean_bank(dbt_manifest)
    assert "fct_customer_months" in marts and "mart_monthly_kpis" in marts
    dirty = mart_fingerprints(month["env"]["WAREHOUSE_PATH"], marts)
    clean = mart_fingerprints(month["clean_env"]["WAREHOUSE_PATH"], marts)
    assert dirty == clean
