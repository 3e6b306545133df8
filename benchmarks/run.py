"""The bank-scale benchmark: generate a bank, run the DAGs through Airflow, time each stage.

    uv run python benchmarks/run.py --customers 10000 [--months 12] [--data-dir DIR]
        [--landing DIR]   (reuse a bank generated before instead of generating one)
        [--snapshot-before-next-day DIR]   (keep the state before the next day, to re-run it)
        [--resume]   (continue the benchmark in --data-dir from the step that stopped it)

Stages, each with its wall time and the peak memory of its process tree:

1. generate: ``python -m include.bank_generator`` writes the landing files.
2. first daily run: ``airflow dags test customer_operations_daily <D-1>`` where D is
   the last business date with landed files and D-1 the one before. The loader takes
   only files dated up to the run's date, so day D's files stay in the landing folder
   unloaded: "one new day landed" for step 4. Broken down by task from Airflow's
   metadata database (task instance start and end): load + quality gate, the dbt
   task groups (watcher mode: the one `dbt build` and the node tasks; local mode: by
   layer), mart checks, scoring, publish, what Airflow spends outside the tasks, and
   dbt's own time per node summed by layer (from dbt's lines in the run's log).
3. training: ``airflow dags test churn_model_training <D-1>`` approves a first model.
4. next business day: ``airflow dags test customer_operations_daily <D>``: loads day
   D's files, rebuilds, scores with the approved model, publishes.
5. single-pass limit: one hand-written DuckDB query over the raw tables as loaded by
   the first daily run (deliveries up to D-1), computing per customer and month what the marts' core
   figures need (month-average AUM with carry-forward over balance intervals,
   customer-initiated and digital transaction counts, inflows and outflows). The
   ratio ``dbt build / limit`` compares it with the first run's dbt task groups.

Peak memory is the largest sum of resident set sizes over the stage's process and its
children, sampled every 0.2 s with psutil (shared pages count once per process, so
it errs high; a peak shorter than the interval can be missed). A task's peak is the
largest sample inside its start and end.

Each step's figures are printed and kept in ``<data-dir>/benchmark-progress.json`` as
soon as it ends, so a step that fails (a full disk, say) loses only itself; ``--resume``
runs the steps not recorded yet. At the end it prints a table and writes the figures as
JSON (``--json``, default ``<data-dir>/benchmark.json``). The bank and every file a run writes stay under the
data dir, by default a new temporary folder; it must be outside the repository.
``DBT_EXECUTION_MODE`` (``--execution-mode``) picks how cosmos runs dbt.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
DAILY_DAG = "customer_operations_daily"
TRAINING_DAG = "churn_model_training"
DBT_GROUPS = ("transform", "scored_marts")
PATH_VARIABLES = (
    "BANK_DATA_DIR",
    "LANDING_PATH",
    "WAREHOUSE_PATH",
    "PUBLISHED_PATH",
    "MODEL_STORE_PATH",
    "REPORTS_PATH",
    "AIRFLOW_HOME",
    "AIRFLOW__COSMOS__CACHE_DIR",
)
SAMPLE_SECONDS = 0.2
PROGRESS_FILE = "benchmark-progress.json"


@dataclass
class Measurement:
    wall_seconds: float
    peak_rss_bytes: int
    samples: list[tuple[float, int]] = field(default_factory=list, repr=False)

    def peak_between(self, start: float, end: float) -> int:
        inside = [rss for at, rss in self.samples if start <= at <= end]
        return max(inside, default=0)


@dataclass
class Stage:
    name: str
    wall_seconds: float
    peak_rss_bytes: int
    level: int = 0  # 0: a stage of the benchmark; 1: a part of the stage above
    note: str = ""


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def run_measured(args: list[str], env: dict[str, str], log: Path) -> Measurement:
    """Run a command with its output in ``log``, sampling its process tree's memory."""
    log.parent.mkdir(parents=True, exist_ok=True)
    samples: list[tuple[float, int]] = []
    with log.open("w") as output:
        started = time.time()
        child = subprocess.Popen(args, env=env, cwd=REPO_ROOT, stdout=output, stderr=output)
        process = psutil.Process(child.pid)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    samples.append((time.time(), tree_rss(process)))
                except psutil.NoSuchProcess:
                    return
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        returncode = child.wait()
        wall = time.time() - started
        done.set()
        sampler.join()
    if returncode != 0:
        tail = log.read_text(errors="replace")[-4000:]
        raise SystemExit(f"{' '.join(args)} exited {returncode}; log {log}:\n{tail}")
    return Measurement(wall, max((rss for _, rss in samples), default=0), samples)


def pipeline_environment(data_dir: Path, execution_mode: str | None = None) -> dict[str, str]:
    """The environment of bin/env.sh with every path under ``data_dir``."""
    env = {key: value for key, value in os.environ.items() if key not in PATH_VARIABLES}
    env["BANK_DATA_DIR"] = str(data_dir)
    shell = f". '{REPO_ROOT}/bin/env.sh' && env -0"
    output = subprocess.run(["bash", "-c", shell], env=env, check=True, capture_output=True).stdout
    env = dict(item.split("=", 1) for item in output.decode().split("\0") if "=" in item)
    if execution_mode:
        env["DBT_EXECUTION_MODE"] = execution_mode
    return env


def tool(name: str) -> str:
    """A command of the environment this script runs in (python, airflow, dbt)."""
    return str(Path(sys.executable).with_name(name))


def business_dates(landing: Path) -> list[date]:
    """Every business date with a landed file, ascending."""
    dates = {
        date.fromisoformat(folder.name.split("=", 1)[1])
        for folder in landing.glob("*/*/business_date=*")
        if folder.is_dir() and any(folder.glob("*.csv"))
    }
    return sorted(dates)


def parse_utc(value: str | None) -> float | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def task_instances(airflow_home: Path, dag_id: str, run_date: date) -> list[dict]:
    """Task instances of the DAG run for ``run_date``: task id, start and end (epoch seconds)."""
    with sqlite3.connect(airflow_home / "airflow.db") as db:
        rows = db.execute(
            "select ti.task_id, ti.start_date, ti.end_date, ti.state "
            "from task_instance ti join dag_run dr "
            "on ti.dag_id = dr.dag_id and ti.run_id = dr.run_id "
            "where dr.dag_id = ? and substr(dr.logical_date, 1, 10) = ?",
            [dag_id, run_date.isoformat()],
        ).fetchall()
    tasks = []
    for task_id, start, end, state in rows:
        start_at, end_at = parse_utc(start), parse_utc(end)
        if start_at is None or end_at is None:
            continue
        tasks.append({"task_id": task_id, "start": start_at, "end": end_at, "state": state})
    return tasks


def node_layers(manifest_path: Path) -> dict[str, str]:
    """dbt node name -> layer: the model's folder under models/, or seeds, snapshots, tests."""
    manifest = json.loads(manifest_path.read_text())
    layers: dict[str, str] = {}
    for node in manifest["nodes"].values():
        kind = node["resource_type"]
        if kind == "model":
            layers[node["name"]] = node["fqn"][1] if len(node["fqn"]) > 2 else "models"
        elif kind in ("seed", "snapshot"):
            layers[node["name"]] = f"{kind}s"
        elif kind in ("test", "unit_test"):
            layers[node["name"]] = "tests over two models"
    return layers


def dbt_task_layer(task_id: str, layers: dict[str, str]) -> str:
    """The layer a cosmos task belongs to, from its id (``group.<node>_<kind>_build``,
    ``group.<node>.run``, ``group.<node>_test``...)."""
    local = task_id.split(".", 1)[1]
    if local == "dbt_producer_watcher":
        return "dbt build (watcher producer)"
    node = local.split(".", 1)[0]
    for suffix in ("_model_build", "_seed_build", "_snapshot_build", "_run", "_test", "_build"):
        if node.endswith(suffix) and node[: -len(suffix)] in layers:
            node = node[: -len(suffix)]
            break
    return layers.get(node, "other dbt tasks")


# dbt's line for a finished node: "12 of 323 OK created sql table model marts.x ... [OK in 1.2s]"
NODE_FINISHED = re.compile(
    r"(\d+) of (\d+) (?:OK|PASS|WARN|ERROR|FAIL|SKIP)\S* (.+?)\s*\.*\s*\[[^\]]*? in ([0-9.]+)s\]"
)
NODE_NAME = re.compile(r"(?:model|seed file|snapshotted) [\w]+\.(\w+)")


def dbt_node_seconds(log_text: str, layers: dict[str, str]) -> dict[str, tuple[float, int]]:
    """dbt's own time per finished node, summed per layer (tests apart), from a run's log."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", log_text)
    seen: set[tuple[str, ...]] = set()
    totals: dict[str, tuple[float, int]] = {}
    for line in plain.splitlines():
        match = NODE_FINISHED.search(line)
        if not match:
            continue
        index, count, what, seconds = match.groups()
        # a watcher log repeats a node's line in its sensor task; one start of dbt per
        # task (local mode) numbers its nodes from 1 again, hence the timestamp
        stamp = line.split(" ", 1)[0] if "watcher" not in line else ""
        key = (stamp, index, count, what)
        if key in seen:
            continue
        seen.add(key)
        name = NODE_NAME.search(what)
        layer = layers.get(name.group(1), "other") if name else "tests"
        total, nodes = totals.get(layer, (0.0, 0))
        totals[layer] = (total + float(seconds), nodes + 1)
    return totals


def daily_parts(
    tasks: list[dict], measurement: Measurement, layers: dict[str, str], log_text: str
) -> tuple[list[Stage], float]:
    """Per-part stages of a daily run and the wall time of its dbt task groups."""
    parts: dict[str, list[dict]] = {}
    for task in tasks:
        task_id = task["task_id"]
        group = task_id.split(".", 1)[0]
        if task_id == "load_landing_files":
            part = "load + quality gate (GX)"
        elif group in DBT_GROUPS:
            local = task_id.split(".", 1)[1]
            if local == "dbt_producer_watcher":
                part = f"dbt {group}: dbt build (watcher producer)"
            elif any(t["task_id"] == f"{group}.dbt_producer_watcher" for t in tasks):
                part = f"dbt {group}: node tasks (watchers: status, retries)"
            else:
                part = f"dbt {group}: {dbt_task_layer(task_id, layers)}"
        elif task_id.startswith("validate_"):
            part = "mart checks (GX)"
        elif task_id == "score_customers":
            part = "scoring"
        elif task_id == "publish_for_bi":
            part = "publish"
        else:
            part = task_id
        parts.setdefault(part, []).append(task)
    order = ["load + quality gate (GX)"]
    order += sorted(p for p in parts if p.startswith("dbt transform"))
    order += ["mart checks (GX)", "scoring"]
    order += sorted(p for p in parts if p.startswith("dbt scored_marts"))
    order += ["publish"]
    order += sorted(p for p in parts if p not in order)
    stages = []
    in_tasks = 0.0
    for part in order:
        if part not in parts:
            continue
        members = parts[part]
        seconds = sum(t["end"] - t["start"] for t in members)
        in_tasks += seconds
        peak = max(measurement.peak_between(t["start"], t["end"]) for t in members)
        stages.append(Stage(part, seconds, peak, level=1, note=f"{len(members)} tasks"))
    stages.append(
        Stage(
            "Airflow outside the tasks (start, DAG parsing, scheduling)",
            measurement.wall_seconds - in_tasks,
            measurement.peak_rss_bytes,
            level=1,
        )
    )
    node_seconds = dbt_node_seconds(log_text, layers)
    if node_seconds:
        total = sum(seconds for seconds, _ in node_seconds.values())
        nodes = sum(count for _, count in node_seconds.values())
        stages.append(
            Stage("dbt's own time per node, summed (dbt log)", total, 0, 1, f"{nodes} nodes")
        )
        for layer in sorted(node_seconds):
            seconds, count = node_seconds[layer]
            stages.append(Stage(layer, seconds, 0, level=2, note=f"{count} nodes"))
    dbt_tasks = [t for t in tasks if t["task_id"].split(".", 1)[0] in DBT_GROUPS]
    dbt_seconds = 0.0
    for group in DBT_GROUPS:
        members = [t for t in dbt_tasks if t["task_id"].startswith(f"{group}.")]
        if members:
            # first start to last end: watcher sensors finish after their producer
            dbt_seconds += max(t["end"] for t in members) - min(t["start"] for t in members)
    return stages, dbt_seconds


def run_dag(
    env: dict[str, str], dag_id: str, run_date: date, logs: Path, label: str
) -> tuple[Measurement, list[dict]]:
    measurement = run_measured(
        [tool("airflow"), "dags", "test", dag_id, run_date.isoformat()],
        env,
        logs / f"{label}.log",
    )
    tasks = task_instances(Path(env["AIRFLOW_HOME"]), dag_id, run_date)
    failed = [t["task_id"] for t in tasks if t["state"] not in ("success", "skipped")]
    if failed:
        raise SystemExit(f"{dag_id} {run_date}: tasks not successful: {failed}; see {logs}")
    return measurement, tasks


# The single pass: the same raw tables and rules as the dbt models (latest delivery per
# key among the deliveries up to the as-of date, so later loads do not change it; seeds
# product_categories and transaction_type_rules, var digital_channels, own-account
# transfers counted once), written as one query, without the layers.
SINGLE_PASS_SQL = """
with
accounts as (
    select account_id, customer_id, product_code,
           cast(opened_date as date) as opened_date, cast(closed_date as date) as closed_date
    from raw.core_banking__accounts
    where _business_date <= $as_of
    qualify row_number() over (
        partition by account_id
        order by _business_date desc, _loaded_at desc, _source_file desc, _source_line desc) = 1
),
products as (
    select product_code, product_category
    from raw.reference__products
    where _business_date <= $as_of
    qualify row_number() over (
        partition by product_code
        order by _business_date desc, _loaded_at desc, _source_file desc, _source_line desc) = 1
),
aum_accounts as (
    select accounts.*
    from accounts
    join products using (product_code)
    where products.product_category in
        ('current_account', 'time_deposit', 'wealth_product', 'fund', 'insurance')
),
balances as (
    select account_id, cast(balance_date as date) as balance_date,
           cast(balance as decimal(18, 2)) as balance_amount
    from raw.core_banking__balances
    where cast(balance_date as date) <= $as_of and _business_date <= $as_of
    qualify row_number() over (
        partition by account_id, balance_date
        order by _business_date desc, _loaded_at desc, _source_file desc, _source_line desc) = 1
),
-- each delivered balance holds from its date until the next one, the closing date
-- or the day after the as-of date, whichever comes first (end exclusive)
intervals as (
    select aum_accounts.customer_id, balances.balance_amount,
           greatest(balances.balance_date, aum_accounts.opened_date) as valid_from,
           least(
               coalesce(lead(balances.balance_date) over (
                   partition by balances.account_id order by balances.balance_date),
                   $as_of + 1),
               coalesce(aum_accounts.closed_date, $as_of + 1),
               $as_of + 1) as valid_to
    from balances join aum_accounts using (account_id)
),
months as (
    select cast(month_start as date) as month_start,
           cast(least(month_start + interval 1 month, $as_of + 1) as date) as month_end,
           date_diff('day', cast(greatest(month_start, $history_start) as date),
                     cast(least(month_start + interval 1 month, $as_of + 1) as date))
               as covered_days
    from range(date_trunc('month', $history_start), $as_of + 1, interval 1 month) as t(month_start)
),
aum as (
    select intervals.customer_id, months.month_start,
           sum(intervals.balance_amount * date_diff('day',
               greatest(intervals.valid_from, months.month_start),
               least(intervals.valid_to, months.month_end)))
               / any_value(months.covered_days) as month_average_aum
    from intervals
    join months
        on intervals.valid_from < months.month_end and intervals.valid_to > months.month_start
    group by all
),
transactions as (
    select account_id, transaction_type_code, direction, channel, counterparty_type,
           counterparty_name, cast(amount as decimal(18, 2)) as amount,
           date_trunc('month', cast(transaction_date as date)) as month_start
    from raw.core_banking__transactions
    where cast(transaction_date as date) <= $as_of and _business_date <= $as_of
    qualify row_number() over (
        partition by transaction_id
        order by _business_date desc, _loaded_at desc, _source_file desc, _source_line desc) = 1
),
flows as (
    select accounts.customer_id, transactions.month_start,
           count(*) filter (
               where transactions.transaction_type_code in (
                   'deposit', 'withdrawal', 'transfer_in', 'transfer_out', 'bill_payment',
                   'merchant_payment', 'card_spend', 'wealth_purchase', 'wealth_redemption',
                   'time_deposit_placement', 'loan_repayment_manual', 'card_repayment')
               and not (own.account_id is not null and transactions.direction = 'credit')
           ) as customer_initiated_count,
           count(*) filter (
               where transactions.transaction_type_code in (
                   'deposit', 'withdrawal', 'transfer_in', 'transfer_out', 'bill_payment',
                   'merchant_payment', 'card_spend', 'wealth_purchase', 'wealth_redemption',
                   'time_deposit_placement', 'loan_repayment_manual', 'card_repayment')
               and not (own.account_id is not null and transactions.direction = 'credit')
               and transactions.channel in ('online', 'mobile')
           ) as digital_count,
           coalesce(sum(transactions.amount) filter (
               where aum_accounts.account_id is not null and own.account_id is null
               and transactions.direction = 'credit'), 0) as inflow_amount,
           coalesce(sum(transactions.amount) filter (
               where aum_accounts.account_id is not null and own.account_id is null
               and transactions.direction = 'debit'), 0) as outflow_amount
    from transactions
    join accounts using (account_id)
    left join aum_accounts on transactions.account_id = aum_accounts.account_id
    left join accounts as own
        on transactions.counterparty_type = 'same_bank'
        and transactions.counterparty_name = own.account_id
        and transactions.account_id <> own.account_id
        and accounts.customer_id = own.customer_id
    group by all
),
customer_months as (
    select coalesce(aum.customer_id, flows.customer_id) as customer_id,
           coalesce(aum.month_start, flows.month_start) as month_start,
           coalesce(aum.month_average_aum, 0) as month_average_aum,
           coalesce(flows.customer_initiated_count, 0) as customer_initiated_count,
           coalesce(flows.digital_count, 0) as digital_count,
           coalesce(flows.inflow_amount, 0) as inflow_amount,
           coalesce(flows.outflow_amount, 0) as outflow_amount
    from aum
    full join flows using (customer_id, month_start)
)
select count(*), count(distinct customer_id), sum(month_average_aum),
       sum(customer_initiated_count), sum(digital_count), sum(inflow_amount),
       sum(outflow_amount)
from customer_months
"""


def single_pass(warehouse: Path, as_of: date, history_start: date, memory_limit: str) -> dict:
    """Run the single-pass query on a read-only warehouse; its result counts and seconds."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute(f"set memory_limit = '{memory_limit}'")
    started = time.perf_counter()
    row = con.execute(SINGLE_PASS_SQL, {"as_of": as_of, "history_start": history_start}).fetchone()
    seconds = time.perf_counter() - started
    con.close()
    names = [
        "customer_months",
        "customers",
        "month_average_aum",
        "customer_initiated",
        "digital",
        "inflows",
        "outflows",
    ]
    return {"query_seconds": seconds, **{k: float(v or 0) for k, v in zip(names, row)}}


def format_table(stages: list[Stage]) -> str:
    lines = [f"{'stage':<64} {'wall s':>9} {'peak GB':>8}  note", "-" * 100]
    for stage in stages:
        name = ("  " * stage.level + stage.name)[:64]
        peak = f"{stage.peak_rss_bytes / 1e9:>8.2f}" if stage.peak_rss_bytes else f"{'-':>8}"
        lines.append(f"{name:<64} {stage.wall_seconds:>9.1f} {peak}  {stage.note}")
    return "\n".join(lines)


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, required=True)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--start-date", default="2025-01-01", help="YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--dirt-rate", type=float, default=0.005)
    parser.add_argument(
        "--hostile-text", action="store_true", help="the generator's --hostile-text"
    )
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="default: a new temporary folder"
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="default: <data-dir>/benchmark.json"
    )
    parser.add_argument(
        "--landing",
        type=Path,
        default=None,
        help="use this landing area (a bank generated before, only read) instead of generating",
    )
    parser.add_argument(
        "--snapshot-before-next-day",
        type=Path,
        default=None,
        metavar="DIR",
        help="copy the bank (warehouse, Airflow, models, landing...) to DIR just before the "
        "next business day's run, to run that day again from the same state",
    )
    parser.add_argument(
        "--execution-mode",
        choices=("watcher", "local"),
        default=None,
        help="DBT_EXECUTION_MODE for the DAGs (default: the DAG's default)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"continue the benchmark in --data-dir where it stopped (its {PROGRESS_FILE})",
    )
    parser.add_argument(
        "--single-pass-only",
        nargs=3,
        metavar=("WAREHOUSE", "AS_OF", "START"),
        help=argparse.SUPPRESS,
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.single_pass_only:
        warehouse, as_of, start = args.single_pass_only
        memory_limit = os.environ.get("WAREHOUSE_MEMORY_LIMIT", "4GB")
        result = single_pass(
            Path(warehouse), date.fromisoformat(as_of), date.fromisoformat(start), memory_limit
        )
        print(json.dumps(result))
        return result

    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="bank-benchmark-"))).resolve()
    if data_dir == REPO_ROOT or REPO_ROOT in data_dir.parents:
        raise SystemExit(f"--data-dir {data_dir} is inside the repository; pick a folder outside")
    progress = Progress(data_dir / PROGRESS_FILE)
    if args.resume:
        progress.load()
    elif data_dir.exists() and any(data_dir.iterdir()):
        raise SystemExit(
            f"--data-dir {data_dir} is not empty; the benchmark starts from nothing "
            "(--resume continues a benchmark that stopped)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    logs = data_dir / "benchmark-logs"
    env = pipeline_environment(data_dir, args.execution_mode)
    print(f"== benchmark in {data_dir} (logs in {logs})", flush=True)
    started = time.time()

    # Setup, not timed as a stage: the manifest the DAG renders from, Airflow's database.
    Path(env["WAREHOUSE_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    dbt_dirs = ["--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    run_measured([tool("dbt"), "parse", "--quiet", *dbt_dirs], env, logs / "setup-dbt-parse.log")
    if not progress.done("first daily run"):
        run_measured([tool("airflow"), "db", "migrate"], env, logs / "setup-airflow-db.log")
        run_measured(
            [tool("airflow"), "pools", "set", "duckdb_writer", "1", "warehouse writers"],
            env,
            logs / "setup-airflow-pool.log",
        )
    layers = node_layers(DBT_PROJECT_DIR / "target" / "manifest.json")

    if args.landing:
        env["LANDING_PATH"] = str(args.landing.resolve())
        print(f"== using the landing area {env['LANDING_PATH']} (not generated)", flush=True)
    elif not progress.done("generate"):
        print(f"== generating {args.customers} customers x {args.months} months", flush=True)
        generated = run_measured(
            [
                tool("python"),
                "-m",
                "include.bank_generator",
                "--customers",
                str(args.customers),
                "--months",
                str(args.months),
                "--start-date",
                args.start_date,
                "--seed",
                str(args.seed),
                "--dirt-rate",
                str(args.dirt_rate),
                *(["--hostile-text"] if args.hostile_text else []),
                "--out",
                str(data_dir),
                "--quiet",
            ],
            env,
            logs / "generate.log",
        )
        bank_rows = generator_rows(logs / "generate.log")
        note = (
            f"{bank_rows.get('transactions', 0):,} transactions, "
            f"{bank_rows.get('balances', 0):,} balances"
        )
        progress.record(
            "generate",
            [Stage("generate", generated.wall_seconds, generated.peak_rss_bytes, note=note)],
            bank_rows=bank_rows,
        )
    dates = business_dates(Path(env["LANDING_PATH"]))
    if len(dates) < 2:
        raise SystemExit("the generated bank has fewer than two business dates")
    first_date, next_date = dates[-2], dates[-1]
    history_start = date.fromisoformat(args.start_date)

    if not progress.done("first daily run"):
        print(f"== first daily run for {first_date}", flush=True)
        first, first_tasks = run_dag(env, DAILY_DAG, first_date, logs, "first-daily-run")
        first_parts, dbt_seconds = daily_parts(
            first_tasks, first, layers, (logs / "first-daily-run.log").read_text(errors="replace")
        )
        first_stage = Stage(
            f"first daily run ({first_date})", first.wall_seconds, first.peak_rss_bytes
        )
        progress.record(
            "first daily run", [first_stage, *first_parts], first_run_dbt_seconds=dbt_seconds
        )

    if not progress.done("training"):
        print(f"== training for {first_date}", flush=True)
        training, _ = run_dag(env, TRAINING_DAG, first_date, logs, "training")
        progress.record(
            "training",
            [Stage(f"training ({first_date})", training.wall_seconds, training.peak_rss_bytes)],
        )

    if not progress.done("next business day"):
        if args.snapshot_before_next_day:
            print(f"== copying the bank to {args.snapshot_before_next_day}", flush=True)
            copy_bank(data_dir, args.snapshot_before_next_day)
        print(f"== next business day for {next_date}", flush=True)
        following, following_tasks = run_dag(env, DAILY_DAG, next_date, logs, "next-business-day")
        following_parts, next_dbt_seconds = daily_parts(
            following_tasks,
            following,
            layers,
            (logs / "next-business-day.log").read_text(errors="replace"),
        )
        following_stage = Stage(
            f"next business day ({next_date}, one new day of files)",
            following.wall_seconds,
            following.peak_rss_bytes,
        )
        progress.record(
            "next business day",
            [following_stage, *following_parts],
            next_run_dbt_seconds=next_dbt_seconds,
        )

    if not progress.done("single-pass limit"):
        print("== single-pass limit over the raw tables", flush=True)
        limit_run = run_measured(
            [
                tool("python"),
                str(Path(__file__).resolve()),
                "--customers",
                "0",
                "--single-pass-only",
                env["WAREHOUSE_PATH"],
                first_date.isoformat(),
                history_start.isoformat(),
            ],
            env,
            logs / "single-pass.log",
        )
        limit = json.loads(limit_run_output(logs / "single-pass.log"))
        limit_stage = Stage(
            "single-pass limit (one DuckDB query over raw)",
            limit["query_seconds"],
            limit_run.peak_rss_bytes,
            note=f"process {limit_run.wall_seconds:.1f} s; {int(limit['customer_months'])} "
            "customer-months",
        )
        progress.record("single-pass limit", [limit_stage], single_pass=limit)

    stages = [
        *progress.stages("generate"),
        *progress.stages("first daily run"),
        *progress.stages("training"),
        *progress.stages("next business day"),
    ]
    total = sum(s.wall_seconds for s in stages if s.level == 0)
    peak = max(s.peak_rss_bytes for s in stages if s.level == 0)
    stages.append(Stage("total (generate, first run, training, next day)", total, peak))
    stages.extend(progress.stages("single-pass limit"))
    figures = progress.figures
    limit = figures["single_pass"]
    dbt_seconds = figures["first_run_dbt_seconds"]
    ratio = dbt_seconds / limit["query_seconds"] if limit["query_seconds"] > 0 else float("inf")
    result = {
        "customers": args.customers,
        "months": args.months,
        "seed": args.seed,
        "dirt_rate": args.dirt_rate,
        "first_run_date": first_date.isoformat(),
        "next_run_date": next_date.isoformat(),
        "bank_rows": figures.get("bank_rows", {}),
        "landing": env["LANDING_PATH"],
        "execution_mode": env.get("DBT_EXECUTION_MODE", "DAG default"),
        "machine": machine(),
        "data_dir": str(data_dir),
        "stages": [asdict(stage) for stage in stages],
        "first_run_dbt_seconds": dbt_seconds,
        "next_run_dbt_seconds": figures["next_run_dbt_seconds"],
        "single_pass": limit,
        "dbt_build_to_limit_ratio": ratio,
        "benchmark_wall_seconds": time.time() - started,
        "resumed": args.resume,
    }
    print()
    print(format_table(stages))
    print(
        f"\ndbt build of the first run (task groups, first start to last end): "
        f"{dbt_seconds:.1f} s; single-pass limit {limit['query_seconds']:.2f} s; "
        f"ratio dbt build / limit = {ratio:.1f}x"
    )
    json_path = args.json or data_dir / "benchmark.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(result, indent=2))
    print(f"figures: {json_path}")
    return result


class Progress:
    """The steps measured so far, kept in the data dir after each step: a step that
    fails (a full disk, a killed session) leaves the earlier figures, and ``--resume``
    runs only the steps not recorded yet."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.steps: dict[str, list[Stage]] = {}
        self.figures: dict = {}

    def load(self) -> None:
        if not self.path.exists():
            raise SystemExit(f"--resume: {self.path} not found (no benchmark stopped there)")
        saved = json.loads(self.path.read_text())
        self.steps = {
            name: [Stage(**stage) for stage in stages] for name, stages in saved["steps"].items()
        }
        self.figures = saved["figures"]
        print(f"== resuming after: {', '.join(self.steps)}", flush=True)

    def done(self, step: str) -> bool:
        return step in self.steps

    def stages(self, step: str) -> list[Stage]:
        return self.steps.get(step, [])

    def record(self, step: str, stages: list[Stage], **figures) -> None:
        self.steps[step] = stages
        self.figures.update(figures)
        print(format_table(stages), flush=True)
        saved = {
            "steps": {name: [asdict(s) for s in members] for name, members in self.steps.items()},
            "figures": self.figures,
        }
        self.path.write_text(json.dumps(saved, indent=2))


def copy_bank(source: Path, target: Path) -> None:
    """Copy a bank's data folder for another run of its own (links kept as links). Airflow
    writes a new airflow.cfg in the copy: the old one names the source's folders."""
    shutil.copytree(source, target, symlinks=True, ignore=shutil.ignore_patterns("airflow.cfg"))


def generator_rows(log: Path) -> dict[str, int]:
    """Rows per entity from the generator's JSON summary (empty if it printed none)."""
    text = log.read_text(errors="replace")
    try:
        summary = json.loads(text[text.index("{") :])
    except ValueError:
        return {}
    rows = summary.get("rows", {}) if isinstance(summary, dict) else {}
    return {str(k): int(v) for k, v in rows.items()} if isinstance(rows, dict) else {}


def limit_run_output(log: Path) -> str:
    """The JSON line the single-pass subprocess printed last."""
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    return lines[-1]


if __name__ == "__main__":
    main()
