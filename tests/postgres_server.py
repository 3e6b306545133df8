"""A throwaway PostgreSQL server for tests: a real cluster, no mocks.

``running_postgres()`` initdb's a cluster in a fresh temporary directory, starts it on
127.0.0.1 on a free port, creates the project's database and a superuser login with a
password, yields the connection settings as the ``WAREHOUSE_POSTGRES_*`` variables the
dbt profile reads, and stops and removes the cluster at the end. tests/conftest.py
wraps it in the session fixture ``postgres_server``.

The server binaries come from the Debian ``postgresql`` package (bin/setup installs it
when running as root); ``POSTGRES_BIN_DIR`` points elsewhere. initdb and postgres refuse
to run as root, so as root they run as the ``postgres`` system user, which then owns
the temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg2

DATABASE = "warehouse"
USER = "warehouse"
PASSWORD = "warehouse-test-password"  # a throwaway cluster on 127.0.0.1 only
SYSTEM_USER = "postgres"
INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, postgres) not found. Install them with "
    "`apt-get install postgresql` (bin/setup does it when run as root), or set "
    "POSTGRES_BIN_DIR to the folder holding initdb."
)


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def find_bin_dir() -> Path:
    """The folder of initdb: POSTGRES_BIN_DIR, the newest Debian version, or the PATH."""
    candidates: list[Path] = []
    if os.environ.get("POSTGRES_BIN_DIR"):
        candidates.append(Path(os.environ["POSTGRES_BIN_DIR"]))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = [p for p in debian.iterdir() if re.fullmatch(r"\d+", p.name)]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: int(p.name), reverse=True)]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "postgres").is_file():
            return folder
    raise PostgresUnavailable(INSTALL_HINT)


def _as_server_user(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root
    return ["runuser", "-u", SYSTEM_USER, "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str]) -> None:
    completed = subprocess.run(
        _as_server_user(args), capture_output=True, text=True, check=False, timeout=120
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}")


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _make_workdir() -> Path:
    workdir = Path(tempfile.mkdtemp(prefix="pg-"))
    if os.geteuid() == 0:
        shutil.chown(workdir, SYSTEM_USER, SYSTEM_USER)
    return workdir


def _init_cluster(bin_dir: Path, workdir: Path) -> Path:
    data_dir = workdir / "data"
    password_file = workdir / "password"
    password_file.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(password_file, SYSTEM_USER, SYSTEM_USER)
    _run(
        [
            str(bin_dir / "initdb"),
            "--pgdata",
            str(data_dir),
            "--username",
            USER,
            "--pwfile",
            str(password_file),
            "--auth-host",
            "scram-sha-256",
            "--auth-local",
            "scram-sha-256",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",  # throwaway: durability is not needed
        ]
    )
    password_file.unlink()
    return data_dir


def _start(bin_dir: Path, data_dir: Path, workdir: Path, port: int) -> None:
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={workdir}"
        " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "start",
            "--wait",
            "--timeout",
            "60",
            "--pgdata",
            str(data_dir),
            "--log",
            str(workdir / "server.log"),
            "--options",
            options,
        ]
    )


def _stop(bin_dir: Path, data_dir: Path) -> None:
    _run(
        [
            str(bin_dir / "pg_ctl"),
            "stop",
            "--wait",
            "--mode",
            "immediate",
            "--pgdata",
            str(data_dir),
        ]
    )


def create_database(settings: dict[str, str], name: str) -> dict[str, str]:
    """Create database ``name`` on the server; return the settings pointing at it
    (tests that build the project each take a database of their own)."""
    con = psycopg2.connect(**connect_kwargs(settings, database="postgres"))
    try:
        con.autocommit = True  # CREATE DATABASE cannot run in a transaction
        with con.cursor() as cur:
            cur.execute(f'create database "{name}"')
    finally:
        con.close()
    return settings | {"WAREHOUSE_POSTGRES_DATABASE": name}


def connect_kwargs(settings: dict[str, str], database: str | None = None) -> dict[str, object]:
    """psycopg2.connect keyword arguments for WAREHOUSE_POSTGRES_* settings."""
    return {
        "host": settings["WAREHOUSE_POSTGRES_HOST"],
        "port": int(settings["WAREHOUSE_POSTGRES_PORT"]),
        "dbname": database or settings["WAREHOUSE_POSTGRES_DATABASE"],
        "user": settings["WAREHOUSE_POSTGRES_USER"],
        "password": settings["WAREHOUSE_POSTGRES_PASSWORD"],
    }


@contextmanager
def running_postgres() -> Iterator[dict[str, str]]:
    """Run a fresh PostgreSQL cluster; yield its WAREHOUSE_POSTGRES_* settings."""
    bin_dir = find_bin_dir()
    workdir = _make_workdir()
    try:
        data_dir = _init_cluster(bin_dir, workdir)
        for attempt in range(3):  # the free port can be taken before the server binds it
            port = free_port()
            try:
                _start(bin_dir, data_dir, workdir, port)
                break
            except RuntimeError:
                if attempt == 2:
                    raise
                time.sleep(0.5)
        settings = {
            "WAREHOUSE_POSTGRES_HOST": "127.0.0.1",
            "WAREHOUSE_POSTGRES_PORT": str(port),
            "WAREHOUSE_POSTGRES_DATABASE": DATABASE,
            "WAREHOUSE_POSTGRES_USER": USER,
            "WAREHOUSE_POSTGRES_PASSWORD": PASSWORD,
        }
        try:
            yield create_database(settings, DATABASE)
        finally:
            _stop(bin_dir, data_dir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    # Manual use: print the settings of a server that runs until Ctrl-C.
    with running_postgres() as found:
        print(" ".join(f"{key}={value}" for key, value in found.items()), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
