"""Which dbt events cosmos's watcher producer copies to XCom: the ones a sensor reads.

For each of dbt's events about a node (NodeStart, NodeCompiling, NodeExecuting,
NodeFinished) cosmos 1.15's producer pushes the node's ``_dbt_event`` XCom again, while
its sensors read that XCom once, when the node has finished, to log dbt's message
(astronomer-cosmos#2777, open). At 150 customers the three pushes that are overwritten
cost 6.5 s of a 38 s producer task (about 930 of its 1,650 XCom writes; BENCHMARKS.md,
"Orchestration"). Cosmos filters the events by a module-level allowlist; this keeps
in it the errors and NodeFinished, whose push is the value every sensor reads (its
status, timings and message, an error's text included).
"""

from __future__ import annotations

from cosmos.operators._watcher import base as watcher_base

# The events whose pushes are overwritten before any sensor reads them.
OVERWRITTEN_EVENTS = frozenset({"NodeStart", "NodeCompiling", "NodeExecuting"})


def push_only_read_events() -> frozenset[str]:
    """Drop the overwritten events from cosmos's allowlist; returns the allowlist."""
    watcher_base._DBT_EVENT_ALLOWLIST = watcher_base._DBT_EVENT_ALLOWLIST - OVERWRITTEN_EVENTS
    return watcher_base._DBT_EVENT_ALLOWLIST
