"""The loading stage: landed files -> raw tables, through the landing suites of ``expectations``."""
