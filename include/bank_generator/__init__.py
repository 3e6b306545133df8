"""Seeded, vectorised generator of a synthetic bank's daily landing files.

``generate_bank(GeneratorConfig(...))`` or
``python -m include.bank_generator --customers N --months M --start-date YYYY-MM-DD
--seed S --dirt-rate R --out DIR [--block-size B] [--workers W]`` writes
``DIR/landing/...`` (the format of ``include/landing/entities.py``) and
``DIR/ground_truth/`` (planted behaviour and the list of injected defects; never
part of the landing area).

The bank is simulated in blocks of customers and streamed to the files, so memory
holds one block; every random number is keyed by customer (``randomness``), so the
files are the same for any block size. One block, step by step
(``simulate.simulate_block``), each step returning its own frozen result:

- ``customers``: who they are, wealth and income, planted dormancy and upgrades
  (kinds of customer in ``archetypes``);
- ``churn``: planted churners, why and when, the money leaving them, closures;
- ``accounts``: holdings, then numbered accounts with roll-over chains;
- ``postings``: the money each account moves (``ledger``: postings and balances;
  ``channels``: channel and time of day);
- ``crm``: complaints and campaign contacts.

Then ``tables`` turns a block into landing rows, ``truth`` into ground truth, and
``writer`` appends them with the dirt (``dirt``) and its manifest; ``shared`` holds
what all blocks share, ``reference`` the codes the dbt seeds also hold.
"""

from include.bank_generator.config import GeneratorConfig
from include.bank_generator.generator import generate_bank

__all__ = ["GeneratorConfig", "generate_bank"]
