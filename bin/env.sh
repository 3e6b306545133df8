# Environment shared by every command of the project. Source it: `. bin/env.sh`.
# Each value keeps one the caller has already exported (documented in include/config.py).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT
export BANK_DATA_DIR="${BANK_DATA_DIR:-$REPO_ROOT/data}"
export LANDING_PATH="${LANDING_PATH:-$BANK_DATA_DIR/landing}"
export WAREHOUSE_PATH="${WAREHOUSE_PATH:-$BANK_DATA_DIR/warehouse/bank.duckdb}"
export PUBLISHED_PATH="${PUBLISHED_PATH:-$BANK_DATA_DIR/published/bank.duckdb}"
export MODEL_STORE_PATH="${MODEL_STORE_PATH:-$BANK_DATA_DIR/models}"
export REPORTS_PATH="${REPORTS_PATH:-$BANK_DATA_DIR/reports}"

# Airflow: metadata database and logs live beside the data; DAGs come from the repo.
export AIRFLOW_HOME="${AIRFLOW_HOME:-$BANK_DATA_DIR/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO_ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
export AIRFLOW__CORE__UNIT_TEST_MODE="${AIRFLOW__CORE__UNIT_TEST_MODE:-False}"

# dbt reads its profile from the project folder.
export DBT_PROJECT_DIR="$REPO_ROOT/dbt_project"
export DBT_PROFILES_DIR="$REPO_ROOT/dbt_project"

# cosmos keeps dbt's partial-parse file between runs; kept per bank, not one folder in /tmp
# for every bank of the machine: its profile (the warehouse path) differs per bank, and a
# changed profile makes dbt parse the whole project again (3 s of each build).
export AIRFLOW__COSMOS__CACHE_DIR="${AIRFLOW__COSMOS__CACHE_DIR:-$BANK_DATA_DIR/cosmos}"

# cosmos watcher: by default the dbt producer rewrites its whole XCom backup (an Airflow
# Variable) after every node, which grows with the square of the node count (55 s of a
# 155 s build at 150 customers). Off, the backup is written when the producer fails; after
# a killed producer its node tasks rebuild their own nodes (docs/data_engineer.md).
export AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY="${AIRFLOW__COSMOS__ENABLE_WATCHER_RELIABLE_RETRY:-False}"

# Nothing phones home: a bank's network will not allow it, and offline it only fails noisily.
export AIRFLOW__USAGE_DATA_COLLECTION__ENABLED=False
export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False
export DO_NOT_TRACK=1
export SCARF_ANALYTICS=false
export DBT_SEND_ANONYMOUS_USAGE_STATS=False
export GX_ANALYTICS_ENABLED=False
