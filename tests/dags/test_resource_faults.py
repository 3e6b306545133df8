"""Resource faults in the dbt build and the publication fail the task clearly, leave the
warehouse and the published copy whole, and the next run recovers.

On a copy of the shared run's bank (its last date done), the daily DAG's dbt build
(the task ``transform.dbt_producer_watcher``, through ``airflow tasks test``) runs
three times:

1. with DuckDB's memory cap (WAREHOUSE_MEMORY_LIMIT) at 30 MB: the build fails part-way
   (the first models pass) with DuckDB's "Out of Memory Error";
2. with the warehouse file on a file system only a little larger than it (a tmpfs
   mount): the build fails part-way with "No space left on device". DuckDB's temp
   directory is beside the file, so a spill would meet the same full disk;
3. after the file system is grown: the build succeeds.

After each failure the task is up for retry, an alert in ``audit.alerts`` names the
task and the cause, and every table of every layer still equals the clean run's
(content hashes), so readers and the next run see a whole warehouse; after the
recovery too. Then the publication (``publish_for_bi``) runs with the published folder
on a file system with 64 KiB to spare: it fails with "No space left on device", leaves
no partial release behind, and the current publication stays as it was, readable and
equal to the clean run's; once the file system is grown it publishes a new release.
And the load (``load_landing_files``) of the next business day, from the bank as it was
before it, with the warehouse on a file system with 64 KiB to spare: it fails part-way
(the first files committed) with the same message; once the file system is grown the
next try loads the rest, and the raw layer equals the clean run's: nothing lost, nothing
loaded twice. Mounting needs root (as in CI); elsewhere the test is skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from benchmarks.run import copy_bank
from include.config import REPO_ROOT
from tests.conftest import RUN_DATE, pipeline_environment
from tests.fingerprints import published_fingerprints, warehouse_fingerprints

pytestmark = pytest.mark.faults

DAILY = "customer_operations_daily"
PRODUCER = "transform.dbt_producer_watcher"
MEMORY_CAP = "30MB"
PUBLISH = "publish_for_bi"
LOAD = "load_landing_files"
DISK_HEADROOM_BYTES = 192 * 1024  # free space beside the warehouse file on the small disk
PUBLICATION_HEADROOM_BYTES = 64 * 1024  # free space beside the publications on theirs
LOAD_HEADROOM_BYTES = 64 * 1024  # free space beside the warehouse file for the load


def run_task(airflow: str, env: dict[str, str], task_id: str = PRODUCER) -> str:
    """A task of the daily DAG (by default its dbt build) through ``airflow tasks test``,
    in the date's run; its output."""
    result = subprocess.run(
        [airflow, "tasks", "test", DAILY, task_id, RUN_DATE],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    return result.stdout + result.stderr


def alerts(warehouse: str) -> list[tuple[str, str, str]]:
    with duckdb.connect(warehouse, read_only=True) as con:
        return con.execute(
            "select event, task_id, reason from audit.alerts order by alerted_at"
        ).fetchall()


def mount_small_disk(mount_point: Path, size_bytes: int) -> None:
    mount_point.mkdir(parents=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes // 1024}k", "tmpfs", str(mount_point)],
        check=True,
    )


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if not path.is_symlink())


def publication_state(published: Path) -> dict:
    """What a reader of the published folder sees: the current release, the releases on
    disk (a partial one would be listed) and the current copy's fingerprints."""
    root = published.parent
    return {
        "current": os.readlink(root / "current"),
        "releases": sorted(path.name for path in (root / "releases").iterdir()),
        "fingerprints": published_fingerprints(str(published)),
    }


def publication_on_a_full_disk(airflow: str, env: dict[str, str], mount_point: Path) -> dict:
    """The publication with the published folder on a file system too small for another
    release, then after it grew: each output and the publication's state after it."""
    source = Path(env["PUBLISHED_PATH"]).parent
    mount_small_disk(mount_point, folder_bytes(source) + PUBLICATION_HEADROOM_BYTES)
    try:
        shutil.copytree(source, mount_point / source.name, symlinks=True)
        published = mount_point / source.name / Path(env["PUBLISHED_PATH"]).name
        publish_env = env | {"PUBLISHED_PATH": str(published)}
        before = publication_state(published)
        full = run_task(airflow, publish_env, PUBLISH)
        after_full = publication_state(published)
        grow(mount_point)
        grown = run_task(airflow, publish_env, PUBLISH)
        after_grown = publication_state(published)
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)
    return {
        "before": before, "full": full, "after_full": after_full,
        "grown": grown, "after_grown": after_grown,
    }  # fmt: skip


@contextmanager
def warehouse_on_a_small_disk(
    env: dict[str, str], mount_point: Path, headroom_bytes: int
) -> Iterator[dict[str, str]]:
    """A copy of the warehouse file on a file system of its size plus ``headroom_bytes``
    (DuckDB's temp directory beside it): the environment that uses it. Unmounted after."""
    warehouse = Path(env["WAREHOUSE_PATH"])
    mount_small_disk(mount_point, warehouse.stat().st_size + headroom_bytes)
    try:
        on_disk = mount_point / warehouse.name
        shutil.copy2(warehouse, on_disk)
        yield env | {"WAREHOUSE_PATH": str(on_disk)}
    finally:
        subprocess.run(["umount", str(mount_point)], check=False)


def grow(mount_point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,size=512m", str(mount_point)], check=True)


def needs_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting the small file systems of the disk-full cases needs root")


@pytest.fixture(scope="module")
def load_fault(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    needs_root()
    copy = tmp_path_factory.mktemp("load_fault") / "bank"
    copy_bank(pipeline_run["before_next_day"], copy)
    disk = copy.parent / "small_disk"
    with warehouse_on_a_small_disk(pipeline_environment(copy), disk, LOAD_HEADROOM_BYTES) as env:
        full = run_task(pipeline_run["airflow"], env, LOAD)
        with duckdb.connect(env["WAREHOUSE_PATH"], read_only=True) as con:
            [(loaded_before_the_fault,)] = con.execute(
                "select count(*) from raw._load_registry where status = 'loaded'"
            ).fetchall()
        grow(disk)
        grown = run_task(pipeline_run["airflow"], env, LOAD)
        raw = warehouse_fingerprints(env["WAREHOUSE_PATH"])["raw"]
    before_the_day = pipeline_environment(pipeline_run["before_next_day"])["WAREHOUSE_PATH"]
    with duckdb.connect(before_the_day, read_only=True) as con:
        [(loaded_before_the_day,)] = con.execute(
            "select count(*) from raw._load_registry where status = 'loaded'"
        ).fetchall()
    return {
        "full": full, "grown": grown, "raw": raw,
        "files_committed_before_the_fault": loaded_before_the_fault - loaded_before_the_day,
        "clean_raw": warehouse_fingerprints(pipeline_run["env"]["WAREHOUSE_PATH"])["raw"],
    }  # fmt: skip


@pytest.fixture(scope="module")
def faults(pipeline_run: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    needs_root()
    copy = tmp_path_factory.mktemp("resource_faults") / "bank"
    copy_bank(pipeline_run["data_dir"], copy)
    env = pipeline_environment(copy)
    airflow = pipeline_run["airflow"]
    clean = warehouse_fingerprints(pipeline_run["env"]["WAREHOUSE_PATH"])

    out_of_memory = run_task(airflow, env | {"WAREHOUSE_MEMORY_LIMIT": MEMORY_CAP})
    after_out_of_memory = warehouse_fingerprints(env["WAREHOUSE_PATH"])

    disk = copy.parent / "small_disk"
    with warehouse_on_a_small_disk(env, disk, DISK_HEADROOM_BYTES) as small_disk_env:
        on_disk = small_disk_env["WAREHOUSE_PATH"]
        disk_full = run_task(airflow, small_disk_env)
        after_disk_full = warehouse_fingerprints(on_disk)
        grow(disk)
        recovered = run_task(airflow, small_disk_env)
        after_recovery = warehouse_fingerprints(on_disk)
        publication = publication_on_a_full_disk(
            airflow, small_disk_env, copy.parent / "small_publication_disk"
        )
        recorded = alerts(on_disk)
    return {
        "clean": clean, "out_of_memory": out_of_memory, "disk_full": disk_full,
        "recovered": recovered, "after_out_of_memory": after_out_of_memory,
        "after_disk_full": after_disk_full, "after_recovery": after_recovery, "alerts": recorded,
        "publication": publication,
        "clean_published": published_fingerprints(pipeline_run["env"]["PUBLISHED_PATH"]),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "message"),
    [("out_of_memory", "Out of Memory Error"), ("disk_full", "No space left on device")],
)
def test_the_fault_fails_the_build_part_way_with_a_clear_message(
    faults: dict, fault: str, message: str
) -> None:
    output = faults[fault]
    assert "Task failed with exception" in output and "new_state=up_for_retry" in output
    assert message in output
    assert " OK created " in output, "the fault should hit mid-build, after the first models"
    assert "ALERT " in output  # the alert's log line
    recorded = [reason for event, task, reason in faults["alerts"] if event == "task_retry"]
    in_audit = any(message in reason for reason in recorded)
    # a disk too full for the build may refuse the alert's row too: then the log keeps it
    assert in_audit or (fault == "disk_full" and "ALERT not written to audit.alerts" in output)
    assert all(task in (PRODUCER, PUBLISH) for _, task, _ in faults["alerts"])


@pytest.mark.parametrize("state", ["after_out_of_memory", "after_disk_full", "after_recovery"])
def test_the_warehouse_stays_whole(faults: dict, state: str) -> None:
    assert faults[state] == faults["clean"]


def test_the_next_run_recovers(faults: dict) -> None:
    assert "new_state=success" in faults["recovered"]
    assert "Task failed" not in faults["recovered"]


def test_a_full_disk_fails_the_publication_and_keeps_the_current_one(faults: dict) -> None:
    publication = faults["publication"]
    output = publication["full"]
    assert "new_state=up_for_retry" in output and "No space left on device" in output
    assert any(
        task == PUBLISH and "No space left on device" in reason
        for event, task, reason in faults["alerts"]
        if event == "task_retry"
    )
    # no partial release left, the same release current, its copy whole
    assert publication["after_full"] == publication["before"]
    assert publication["before"]["fingerprints"] == faults["clean_published"]


def test_the_publication_recovers_once_the_disk_has_room(faults: dict) -> None:
    publication = faults["publication"]
    assert "new_state=success" in publication["grown"]
    after = publication["after_grown"]
    assert after["current"] != publication["before"]["current"]
    assert after["current"].split("/")[-1] in after["releases"]
    assert after["fingerprints"] == faults["clean_published"]


def test_a_full_disk_fails_the_load_part_way_and_the_next_try_loads_the_rest(
    load_fault: dict,
) -> None:
    output = load_fault["full"]
    assert "new_state=up_for_retry" in output and "No space left on device" in output
    assert "ALERT " in output
    assert load_fault["files_committed_before_the_fault"] > 0, "the fault should hit part-way"
    assert "new_state=success" in load_fault["grown"]
    assert load_fault["raw"] == load_fault["clean_raw"]
