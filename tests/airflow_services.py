"""Airflow's services for tests that need the scheduler (run by hand: ``-m scheduler``).

``running_services(env, names)`` starts the API server (tasks and callbacks report to
it; the others start once it answers), the scheduler (LocalExecutor), the DAG processor and, when asked, the triggerer,
each in a process group of its own with its log under ``AIRFLOW_HOME/logs/services``,
and always stops them. ``wait_for`` polls a check with a bound and shows the services'
logs when it runs out.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from include.config import REPO_ROOT

SERVICES = ("api-server", "scheduler", "dag-processor")


def airflow() -> str:
    return str(Path(sys.executable).with_name("airflow"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def services_log_dir(env: dict[str, str]) -> Path:
    return Path(env["AIRFLOW_HOME"]) / "logs" / "services"


@contextmanager
def running_services(
    airflow_env: dict[str, str], names: tuple[str, ...] = SERVICES
) -> Iterator[dict[str, str]]:
    """Airflow's services on a free port of 127.0.0.1; yields their environment."""
    port = free_port()
    env = airflow_env | {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
    }
    logs = services_log_dir(env)
    logs.mkdir(parents=True, exist_ok=True)
    services = []
    try:
        for name in names:
            with (logs / f"{name}.log").open("w") as out:
                services.append(
                    subprocess.Popen(
                        [airflow(), name],
                        env=env,
                        cwd=REPO_ROOT,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
            if name == "api-server":  # tasks report to it from their first second
                wait_for(lambda: api_answers(port), 180, "answer from the API server", logs)
        yield env
    finally:
        for process in services:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in services:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def api_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=5):
            return True
    except urllib.error.HTTPError:  # it answers, if only to refuse
        return True
    except OSError:  # not listening yet
        return False


def wait_for(check: Callable, timeout: float, what: str, logs: Path, every: float = 2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if found := check():
            return found
        time.sleep(every)
    tails = "\n".join(
        f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(logs.glob("*.log"))
    )
    pytest.fail(f"no {what} after {timeout:.0f} s\n{tails}")


def dag_parsed(env: dict[str, str], dag_id: str) -> bool:
    listed = subprocess.run(
        [airflow(), "dags", "list", "-o", "plain"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return dag_id in listed.stdout
