"""Static checks of the Docker Compose deployment (docker-compose.yml, Dockerfile, .env.example).

No network and no containers: the files are parsed and checked against the repository.
`docker compose config` runs only where the Compose plugin is installed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
ENV_SH = REPO_ROOT / "bin" / "env.sh"

AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-api-server",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)
DATABASES = ("airflow-metadata-db", "warehouse-db")
INIT = "airflow-init"
METADATA_DB = "airflow-metadata-db"
# Job types `airflow jobs check --job-type` accepts in Airflow 3.
JOB_TYPES = {
    "airflow-scheduler": "SchedulerJob",
    "airflow-dag-processor": "DagProcessorJob",
    "airflow-triggerer": "TriggererJob",
}
HEALTH_ENDPOINT = "/api/v2/monitor/health"
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET_KEY")
# $$ is Compose's escape for a literal $ (left to the container's shell).
VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def strings(node: Any) -> Iterator[str]:
    """Every string of a parsed YAML document, keys included (Compose interpolates values)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def interpolations(text: str) -> Iterator[tuple[str, str]]:
    """(variable, modifier) of each ${VAR...} or $VAR Compose would substitute in ``text``."""
    for match in VARIABLE.finditer(text.replace("$$", "")):
        yield (match.group(1) or match.group(3)), (match.group(2) or "")


def env_example() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            entries[name.strip()] = value.strip()
    return entries


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(key): str(value) for key, value in env.items()}


def command_script(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else "\n".join(map(str, command))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions():
        if keyword == "ENV":
            for item in shlex.split(arguments):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def image_in_repo(path: str) -> Path:
    """Where a path of the image lies in the repository: the Dockerfile copies it to WORKDIR."""
    workdir = [
        arguments for keyword, arguments in dockerfile_instructions() if keyword == "WORKDIR"
    ]
    assert workdir, "the Dockerfile sets no WORKDIR"
    relative = PurePosixPath(path).relative_to(PurePosixPath(workdir[-1]))
    return REPO_ROOT / relative


def test_airflow_services_and_both_databases_exist(services: dict[str, dict[str, Any]]) -> None:
    missing = [name for name in (*AIRFLOW_SERVICES, *DATABASES) if name not in services]
    assert not missing, f"services missing from docker-compose.yml: {missing}"


def test_every_image_is_pinned_or_built_here(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            build = service["build"]
            context = build if isinstance(build, str) else build.get("context", ".")
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile")
            assert (REPO_ROOT / context / (dockerfile or "Dockerfile")).is_file(), name
        image = service.get("image")
        assert image or "build" in service, f"{name} has neither image nor build"
        if image:
            _, _, tag = image.partition(":")
            assert tag and tag != "latest", f"{name}: image {image!r} is not pinned by tag"
            if "build" not in service:
                assert re.match(r"\d+(\.\d+)+", tag), f"{name}: tag {tag!r} names no version"


def test_airflow_services_use_the_project_image(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name].get("image") for name in AIRFLOW_SERVICES}
    assert len(images) == 1, f"the Airflow services run different images: {images}"
    assert all("build" in services[name] for name in AIRFLOW_SERVICES)


def test_postgres_databases_are_postgres_15_with_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    for name in DATABASES:
        service = services[name]
        assert service["image"].startswith("postgres:15."), service["image"]
        mounts = [str(volume).split(":") for volume in service["volumes"]]
        data = [source for source, target, *_ in mounts if target == "/var/lib/postgresql/data"]
        assert data and data[0] in compose["volumes"], f"{name} keeps its data in no named volume"


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name == INIT:
            assert service.get("restart") == "no", "airflow-init is one-shot: restart must be 'no'"
            continue
        healthcheck = service.get("healthcheck") or {}
        assert healthcheck.get("test") and not healthcheck.get("disable"), (
            f"{name} has no healthcheck"
        )


def test_healthchecks_probe_the_right_component(services: dict[str, dict[str, Any]]) -> None:
    for name in DATABASES:
        assert "pg_isready" in " ".join(services[name]["healthcheck"]["test"])
    api_probe = " ".join(services["airflow-api-server"]["healthcheck"]["test"])
    assert f"localhost:8080{HEALTH_ENDPOINT}" in api_probe
    for name, job_type in JOB_TYPES.items():
        probe = services[name]["healthcheck"]["test"]
        assert probe[:4] == ["CMD", "airflow", "jobs", "check"], probe
        assert probe[probe.index("--job-type") + 1] == job_type, probe


def test_api_server_listens_on_8080(services: dict[str, dict[str, Any]]) -> None:
    service = services["airflow-api-server"]
    assert service["command"][:2] == ["airflow", "api-server"]
    assert any(str(port).endswith(":8080") for port in service["ports"])


def test_airflow_services_wait_for_the_database_and_init(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in AIRFLOW_SERVICES:
        depends_on = services[name].get("depends_on") or {}
        assert depends_on.get(METADATA_DB, {}).get("condition") == "service_healthy", name
        if name != INIT:
            condition = depends_on.get(INIT, {}).get("condition")
            assert condition == "service_completed_successfully", name


def test_airflow_settings_shared_by_every_airflow_service(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith(
            "postgresql+psycopg2://${AIRFLOW_DB_USER"
        ), name
        assert f"@{METADATA_DB}:5432/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == (
            "http://airflow-api-server:8080/execution/"
        ), name
        for setting in (
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW__API__SECRET_KEY",
        ):
            # The same value in every service: tokens signed by one are checked by another.
            assert env[setting] == environment(services["airflow-scheduler"])[setting], setting
        for variable in (
            "WAREHOUSE_TARGET",
            "WAREHOUSE_POSTGRES_HOST",
            "WAREHOUSE_POSTGRES_PORT",
            "WAREHOUSE_POSTGRES_DATABASE",
            "WAREHOUSE_POSTGRES_USER",
            "WAREHOUSE_POSTGRES_PASSWORD",
        ):
            assert variable in env, f"{name} does not get {variable}"
        assert "duckdb" in env["WAREHOUSE_TARGET"], "the default warehouse is DuckDB"


def test_data_and_logs_live_in_named_volumes(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    airflow_home = dockerfile_env()["AIRFLOW_HOME"]
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        mounts = dict(str(volume).split(":")[1::-1] for volume in services[name]["volumes"])
        assert mounts.get(env["BANK_DATA_DIR"]) in compose["volumes"], (
            f"{name}: BANK_DATA_DIR is not a named volume"
        )
        assert mounts.get(f"{airflow_home}/logs") in compose["volumes"], (
            f"{name}: the Airflow logs are not in a named volume"
        )


def test_variables_match_env_example(compose: dict[str, Any]) -> None:
    used = {name for text in strings(compose) for name, _ in interpolations(text)}
    listed = set(env_example())
    assert used - listed == set(), (
        f"used in docker-compose.yml, not in .env.example: {used - listed}"
    )
    assert listed - used == set(), f"in .env.example, unused by docker-compose.yml: {listed - used}"


def test_env_example_comments_every_variable() -> None:
    previous = ""
    for line in ENV_EXAMPLE.read_text().splitlines():
        if re.match(r"[A-Z_][A-Z0-9_]*=", line):
            assert previous.startswith("#"), f"{line.split('=')[0]} has no comment above it"
        previous = line.strip()


def test_secrets_are_required_and_placeholders_in_env_example(compose: dict[str, Any]) -> None:
    secrets = {name for name in env_example() if SECRET_NAME.search(name)}
    assert secrets, ".env.example lists no secret"
    for name in secrets:
        assert env_example()[name] == "change-me", f".env.example gives {name} a real value"
    for text in strings(compose):
        for name, modifier in interpolations(text):
            if name in secrets:
                # A default would be a password written in the compose file.
                assert modifier.startswith(":?"), f"${{{name}}} must be required (:?) in {text!r}"


def required_variable(text: str) -> bool:
    """Whether ``text`` is one ${VAR:?message}: a value Compose refuses to run without."""
    return re.fullmatch(r"\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}", text) is not None


def url_password(url: str) -> str | None:
    """The password of a database URL whose parts may be ${...} interpolations."""
    parts: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        parts.append(match.group(0))
        return f"var{len(parts) - 1}x"

    password = urlsplit(re.sub(r"\$\{[^}]*\}", placeholder, url)).password
    if password is None:
        return None
    return re.sub(r"var(\d+)x", lambda match: parts[int(match.group(1))], password)


def test_no_literal_password_in_compose(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert required_variable(value), f"{name}: {key} is not from the environment"
            if "://" in value:
                password = url_password(value)
                assert password is None or required_variable(password), (
                    f"{name}: {key} holds a password that is not from the environment"
                )
    conn = environment(services["airflow-scheduler"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url_password(conn) is not None, "the metadata database URL has no password"


def test_init_creates_the_pool_the_dags_use(services: dict[str, dict[str, Any]]) -> None:
    dags_folder = str(REPO_ROOT / "dags")
    sys.path.insert(0, dags_folder)
    try:
        from pipeline_defaults import WRITER_TASK_ARGS
    finally:
        sys.path.remove(dags_folder)

    script = command_script(services[INIT])
    assert "airflow db migrate" in script
    pools = [
        shlex.split(line.strip())
        for line in script.splitlines()
        if line.strip().startswith("airflow pools set ")
    ]
    assert len(pools) == 1, f"airflow-init should create exactly one pool: {pools}"
    name, slots = pools[0][3], pools[0][4]
    assert name == WRITER_TASK_ARGS["pool"]
    assert slots == "1", "DuckDB allows one writing process: the pool has one slot"


def test_init_sets_the_admin_password_of_the_simple_auth_manager(
    services: dict[str, dict[str, Any]],
) -> None:
    # SimpleAuthManager (Airflow 3's default) has no `airflow users create`: its users come
    # from [core] simple_auth_manager_users, their passwords from the passwords file.
    init, api = services[INIT], services["airflow-api-server"]
    script = command_script(init)
    assert "users create" not in script
    assert "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in script
    assert "AIRFLOW_ADMIN_PASSWORD" in environment(init)
    assert "AIRFLOW_ADMIN_PASSWORD" not in environment(api), "only airflow-init needs it"
    passwords_file = environment(api)["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    for service in (init, api):
        mounts = dict(str(volume).split(":")[1::-1] for volume in service["volumes"])
        assert str(PurePosixPath(passwords_file).parent) in mounts, "the file is not shared"
    assert environment(api)["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].endswith(":admin")


def test_dockerfile_base_image_is_pinned() -> None:
    bases = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "FROM"]
    assert bases, "the Dockerfile has no FROM"
    for base in bases:
        image = base.split()[0]
        _, _, tag = image.partition(":")
        assert re.match(r"3\.11\.\d+-", tag), f"base image {image!r} is not pinned to a version"


def test_dockerfile_installs_the_lock_file_as_a_non_root_user() -> None:
    runs = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "RUN"]
    assert any(re.search(r"pip install .*uv==\d+\.\d+\.\d+", run) for run in runs), (
        "uv is not installed at a pinned version"
    )
    syncs = [run for run in runs if "uv sync" in run]
    assert syncs and all("--frozen" in run and "--no-dev" in run for run in syncs), syncs
    assert "--no-install-project" in syncs[0], "dependencies are not a layer of their own"
    users = [arguments for keyword, arguments in dockerfile_instructions() if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the image runs as root"
    # The DAGs render their dbt task groups from a manifest that .dockerignore keeps out.
    assert any("dbt parse" in run for run in runs), "the image builds no dbt manifest"


def test_dockerfile_environment() -> None:
    env = dockerfile_env()
    assert "/.venv/bin" in env["PATH"].split(":")[0], "the venv is not first on PATH"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW_HOME"]
    dags = image_in_repo(env["AIRFLOW__CORE__DAGS_FOLDER"])
    assert dags.is_dir() and (dags / "customer_operations_daily.py").is_file(), dags
    assert image_in_repo(env["DBT_PROJECT_DIR"]) == REPO_ROOT / "dbt_project"


def test_dockerfile_turns_off_the_telemetry_of_bin_env_sh() -> None:
    # The switches under "Nothing phones home" in bin/env.sh, with the same values.
    block = ENV_SH.read_text().split("Nothing phones home", 1)[1]
    switches = dict(re.findall(r"^export ([A-Z_]+)=(\S+)$", block, flags=re.MULTILINE))
    for name in (
        "AIRFLOW__USAGE_DATA_COLLECTION__ENABLED",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY",
        "DBT_SEND_ANONYMOUS_USAGE_STATS",
        "GX_ANALYTICS_ENABLED",
    ):
        assert name in switches, f"bin/env.sh no longer sets {name}"
    env = dockerfile_env()
    for name, value in switches.items():
        assert env.get(name) == value, f"the Dockerfile does not set {name}={value}"


def test_dockerignore_keeps_the_host_state_out_and_the_code_in() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for excluded in (".venv", "data", ".git", "logs", "dbt_project/target", "**/__pycache__"):
        assert excluded in patterns, f".dockerignore does not exclude {excluded}"
    assert ".env" in patterns, "a filled-in .env must not reach the image"
    for needed in ("dags", "dbt_project", "include", "loading", "scoring", "expectations"):
        assert not {needed, f"{needed}/"} & patterns, f".dockerignore excludes {needed}"


def docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


@pytest.mark.skipif(
    not docker_compose_available(),
    reason="the docker compose plugin is not installed here; "
    "`docker compose config` (Compose's own validation) was not run",
)
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        [
            "docker",
            "compose",
            "--env-file",
            str(ENV_EXAMPLE),
            "--file",
            str(COMPOSE_FILE),
            "config",
            "--quiet",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
