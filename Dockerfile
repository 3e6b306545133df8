# One image for every Airflow service of docker-compose.yml and for the pipeline itself:
# the locked environment (uv.lock) plus the project, run as a non-root user.
#
# Pinned by tag. For builds that must be reproducible byte for byte, pin the digest too:
#   FROM python:3.11.7-slim-bookworm@sha256:<digest>
# (`docker buildx imagetools inspect python:3.11.7-slim-bookworm` prints it).
FROM python:3.11.7-slim-bookworm

# The installer of the lock file, same version as bin/setup installs.
RUN pip install --no-cache-dir "uv==0.13.9"

# uid 50000 like the official Airflow image, so volume permissions carry over.
RUN useradd --create-home --uid 50000 --gid 0 airflow \
    && mkdir -p /opt/bank/data /opt/airflow/logs /opt/airflow/auth \
    && chown -R airflow:0 /opt/bank /opt/airflow

# Settings of bin/env.sh that hold inside the image. The paths of include/config.py
# follow BANK_DATA_DIR (a named volume, see docker-compose.yml).
ENV PATH="/opt/bank/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    BANK_DATA_DIR=/opt/bank/data \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/bank/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True \
    DBT_PROJECT_DIR=/opt/bank/dbt_project \
    DBT_PROFILES_DIR=/opt/bank/dbt_project \
    AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY=False

# Nothing phones home (the switches of bin/env.sh): a bank's network will not allow it.
ENV AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False \
    AIRFLOW__COSMOS__ENABLE_TELEMETRY=False \
    DO_NOT_TRACK=1 \
    SCARF_ANALYTICS=false \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    GX_ANALYTICS_ENABLED=False

USER airflow
WORKDIR /opt/bank

# Dependencies first: this layer is rebuilt only when pyproject.toml or uv.lock change.
COPY --chown=airflow:0 pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --compile-bytecode

# Then the project, installed editable (uv's default): include/config.py finds the repo
# (dags/, dbt_project/) relative to its own file, so the code must stay in /opt/bank.
COPY --chown=airflow:0 . .
RUN uv sync --frozen --no-dev --compile-bytecode

# The DAGs render their dbt task groups from this manifest (.dockerignore keeps the
# host's target/ out). dbt parse opens no warehouse; WAREHOUSE_PATH only fills the profile.
RUN WAREHOUSE_PATH=/opt/bank/data/warehouse/bank.duckdb \
    dbt parse --quiet --project-dir dbt_project --profiles-dir dbt_project

EXPOSE 8080
CMD ["airflow", "version"]
