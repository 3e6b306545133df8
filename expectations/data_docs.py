"""Great Expectations Data Docs (HTML) for one pipeline run.

Every suite run writes its result as JSON under ``REPORTS_PATH/<run id>/`` (see
``runner.write_report``). :func:`build_data_docs` renders all of them, landing
and marts alike, into a static GX Data Docs site at
``REPORTS_PATH/<run id>/data_docs/index.html``. It is rebuilt from the JSON each
time it is called, so the loader and the mart validation (separate Airflow
tasks, maybe separate processes) each leave a complete site for the run so far.

The pages reference Bootstrap and fonts on public CDNs; offline (a bank's
network) they render unstyled but complete.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from great_expectations.core.expectation_validation_result import (
    expectationSuiteValidationResultSchema,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)

from expectations.runner import gx_context, safe_run_id

log = logging.getLogger(__name__)

SITE_NAME = "run_data_docs"
DOCS_FOLDER = "data_docs"


def data_docs_dir(reports_path: Path, run_id: str) -> Path:
    return reports_path / safe_run_id(run_id) / DOCS_FOLDER


def build_data_docs(reports_path: Path, run_id: str) -> Path | None:
    """Render the run's JSON validation results as Data Docs; returns the index page.

    Returns None when the run has no validation results yet.
    """
    results = sorted((reports_path / safe_run_id(run_id)).glob("*.json"))
    if not results:
        return None
    target = data_docs_dir(reports_path, run_id)
    context = gx_context()
    context.add_data_docs_site(
        SITE_NAME,
        {
            "class_name": "SiteBuilder",
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(target),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    run = RunIdentifier(run_name=safe_run_id(run_id))
    for path in results:
        result = expectationSuiteValidationResultSchema.load(json.loads(path.read_text("utf-8")))
        # The file name, not the suite name: a long history is validated in several
        # batches of one suite (``<suite>__batch2``), each its own page.
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=path.stem), run, "batch")
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=[SITE_NAME])
    return target / "index.html"


def publish_data_docs(reports_path: Path, run_id: str) -> None:
    """Render the run's Data Docs; a rendering problem is logged, never fails the run."""
    try:
        index = build_data_docs(reports_path, run_id)
    except Exception:  # the HTML is a convenience; the JSON results and audit rows remain
        log.exception("could not build Data Docs for run %s", run_id)
        return
    if index is not None:
        log.info("Data Docs: %s", index)
