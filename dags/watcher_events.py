"""Which dbt events cosmos's watcher producer copies to XCom: the ones a sensor reads.

For each of dbt's events about a node (NodeStart, NodeCompiling, NodeExecuting,
NodeFinished) cosmos 1.15's producer pushes the node's ``_dbt_event`` XCom again, while
its sensors read that XCom once, when the node has finished, to log dbt's message
(astronomer-cosmos#2777, open). At 150 customers the three pushes that are overwritten
cost 6.5 s of a 38 s producer task (about 930 of its 1,650 XCom writes; BENCHMARKS.md,
"Orchestration"). Cosmos filters the events by a module-level allowlist; this keeps
in it the errors and NodeFinished, whose push is the value every sensor reads (its
status, timings and message, an error's text included).

It also pushes that XCom for every data test, while a test has a sensor of its own only
when it is detached (a test over two models); the others are watched by their model's
test sensor, which reads the model's event and the tests' aggregated status. So only the
nodes a sensor of the DAG watches keep their event (``push_only_what_the_sensors_read``):
about 80 of the 310 pushes of a daily build.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG
from cosmos.operators._watcher import base as watcher_base

# The events whose pushes are overwritten before any sensor reads them.
OVERWRITTEN_EVENTS = frozenset({"NodeStart", "NodeCompiling", "NodeExecuting"})
# The nodes (dbt unique ids) that a sensor of a rendered DAG watches.
WATCHED_NODES: set[str] = set()
_push_node_event = watcher_base._process_dbt_log_event


def push_only_what_the_sensors_read(dag: DAG) -> frozenset[str]:
    """Drop the overwritten events from cosmos's allowlist and keep the ``_dbt_event``
    pushes of the nodes a sensor of ``dag`` watches; returns the allowlist."""
    watcher_base._DBT_EVENT_ALLOWLIST = watcher_base._DBT_EVENT_ALLOWLIST - OVERWRITTEN_EVENTS
    WATCHED_NODES.update(
        task.model_unique_id
        for task in dag.tasks
        if isinstance(task, watcher_base.BaseConsumerSensor)
    )
    watcher_base._process_dbt_log_event = _push_watched_node_event
    return watcher_base._DBT_EVENT_ALLOWLIST


def _push_watched_node_event(task_instance: Any, dbt_log: dict[str, Any]) -> None:
    node_info = (dbt_log.get("data") or {}).get("node_info") or {}
    unique_id = node_info.get("unique_id")
    if unique_id and unique_id not in WATCHED_NODES:
        return None
    return _push_node_event(task_instance, dbt_log)
