"""The per-run report: one self-contained HTML page beside the run's Data Docs.

``write_run_report(settings, run_id)`` reads the marts of the published copy and the
load audit of the warehouse and writes ``REPORTS_PATH/<run id>/report.html``.
"""

from reporting.report import write_run_report

__all__ = ["write_run_report"]
