"""Named crash points for the crash-recovery test (tests/dags/test_crash_recovery.py).

With ``PIPELINE_CRASH_POINT=<name>`` in a task's environment, the process that reaches
:func:`crash_point` with that name kills itself with SIGKILL: no exception, no
``finally`` block, no clean-up, as when a worker is killed or its machine dies. A kill
on a timer would land in a short task only on a slow machine; a named point lands at
the same moment of the task on any machine, and at the moment that matters (something
written, the rest not yet). Unset (always, outside that test) it does nothing.

| name                               | where                                                   |
|------------------------------------|---------------------------------------------------------|
| load_landing_files:entity_loaded   | the first entity's files loaded and committed, the rest not |
| validate_marts:results_recorded    | validation results in the audit, the reports not written |
| score_customers:scores_written     | the scores written, the drift figures not               |
| publish_for_bi:release_written     | the new release complete on disk, not yet current       |
"""

from __future__ import annotations

import os
import signal

CRASH_POINT_VARIABLE = "PIPELINE_CRASH_POINT"


def crash_point(name: str) -> None:
    """SIGKILL this process when ``name`` is the crash point the environment asks for."""
    if os.environ.get(CRASH_POINT_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
