"""Seeded, vectorised generator of a synthetic bank's daily landing files.

``generate_bank(GeneratorConfig(...))`` or
``python -m include.bank_generator --customers N --months M --start-date YYYY-MM-DD
--seed S --dirt-rate R --out DIR`` writes ``DIR/landing/...`` (the format of
``include/landing/entities.py``) and ``DIR/ground_truth/`` (planted behaviour and
the list of injected defects; never part of the landing area).
"""

from include.bank_generator.config import GeneratorConfig
from include.bank_generator.generator import generate_bank

__all__ = ["GeneratorConfig", "generate_bank"]
