"""The warehouse's PostgreSQL roles, proven by logging in as a member of each.

The project (macros/warehouse_roles.sql, `grants` in dbt_project.yml) makes
engineer read and write everything, and analyst and bi_reader read the marts
only: never restricted (personal data) nor raw. The models are built on the
hand-made raw fixture in a database of their own on the session's server.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg2
import psycopg2.errors
import pytest
from test_dbt_project import AS_OF_DATE, DbtProject, postgres_project

from tests.postgres_server import connect_kwargs

PASSWORD = "role-test-password"
# one login user per role, as a bank gives each person or tool its own login
LOGINS = {"engineer": "erin_engineer", "analyst": "alice_analyst", "bi_reader": "bi_tool"}
MART = "marts.dim_customers"
RESTRICTED = "restricted.restricted_customer_personal_data"
RAW = "raw.core_banking__customers"


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: dict[str, str]
) -> Iterator[DbtProject]:
    project = postgres_project(tmp_path_factory.mktemp("roles"), postgres_server, "roles")
    # the roles first (idempotent: twice), then the models the checks read
    for _ in range(2):
        created = project.invoke("run-operation", "create_warehouse_roles")
        assert created.returncode == 0, created.stdout[-5000:]
    built = project.invoke(
        "build",
        "--select",
        "+dim_customers",
        "restricted_customer_personal_data",
        "--exclude-resource-type",
        "test",
        "unit_test",
        "--vars",
        f"{{as_of_date: {AS_OF_DATE}}}",
    )
    assert built.returncode == 0, built.stdout[-5000:]
    for role, login in LOGINS.items():
        project.execute(
            f"drop user if exists {login}; create user {login} login password '{PASSWORD}'"
            f" in role {role}"
        )
    yield project


def _select_as(project: DbtProject, role: str, relation: str) -> list[tuple]:
    assert project.postgres is not None
    settings = dict(project.postgres) | {
        "WAREHOUSE_POSTGRES_USER": LOGINS[role],
        "WAREHOUSE_POSTGRES_PASSWORD": PASSWORD,
    }
    con = psycopg2.connect(**connect_kwargs(settings))
    try:
        with con.cursor() as cur:
            cur.execute(f"select * from {relation}")
            return cur.fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("role", ["analyst", "bi_reader"])
def test_readers_read_the_marts(project: DbtProject, role: str) -> None:
    assert len(_select_as(project, role, MART)) == 3


@pytest.mark.parametrize("role", ["analyst", "bi_reader"])
@pytest.mark.parametrize("relation", [RESTRICTED, RAW, "staging.stg_core_banking__customers"])
def test_readers_cannot_read_personal_data_raw_or_staging(
    project: DbtProject, role: str, relation: str
) -> None:
    with pytest.raises(psycopg2.errors.InsufficientPrivilege, match="permission denied"):
        _select_as(project, role, relation)


@pytest.mark.parametrize("relation", [RESTRICTED, RAW, MART])
def test_engineer_reads_everything(project: DbtProject, relation: str) -> None:
    assert _select_as(project, "engineer", relation)


def test_engineer_writes(project: DbtProject) -> None:
    assert project.postgres is not None
    settings = dict(project.postgres) | {
        "WAREHOUSE_POSTGRES_USER": LOGINS["engineer"],
        "WAREHOUSE_POSTGRES_PASSWORD": PASSWORD,
    }
    con = psycopg2.connect(**connect_kwargs(settings))
    try:
        with con.cursor() as cur:  # rolled back: the rows stay as built
            cur.execute(f"delete from {RESTRICTED}")
            cur.execute(f"delete from {RAW}")
            assert cur.rowcount > 0
            cur.execute("create table staging.engineer_scratch (id int)")
        con.rollback()
    finally:
        con.close()
