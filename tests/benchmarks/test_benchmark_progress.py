"""The benchmark keeps each step's figures as it ends, so ``--resume`` can go on from there."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.run import Progress, Stage


def test_a_resumed_benchmark_keeps_the_steps_measured_before(tmp_path: Path) -> None:
    path = tmp_path / "benchmark-progress.json"
    first = Progress(path)
    stages = [Stage("first daily run (2025-12-30)", 12.5, 2_000), Stage("publish", 1.5, 900, 1)]
    first.record(
        "generate",
        [Stage("generate", 3.0, 1_000, note="10 transactions")],
        bank_rows={"transactions": 10},
    )
    first.record("first daily run", stages, first_run_dbt_seconds=7.0)

    resumed = Progress(path)
    resumed.load()
    assert resumed.done("generate") and resumed.done("first daily run")
    assert not resumed.done("training")
    assert resumed.stages("first daily run") == stages
    assert resumed.figures == {"bank_rows": {"transactions": 10}, "first_run_dbt_seconds": 7.0}


def test_resume_without_a_stopped_benchmark_says_so(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no benchmark stopped there"):
        Progress(tmp_path / "benchmark-progress.json").load()
