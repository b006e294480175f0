"""Citizens' assemblies: fair, auditable selection of a panel from a pool of volunteers.

>>> from townhall.assembly import select
>>> s = select("pool.csv", "quotas.csv", 30, method="leximin")  # doctest: +SKIP
>>> s.commitment  # publish this before the seed is known          # doctest: +SKIP
>>> s.draw("Lotto 2025-06-07: 3 11 19 28 40 47")                 # doctest: +SKIP

Modules: :mod:`~townhall.assembly.pool` (volunteers), :mod:`~townhall.assembly.quotas`
(quota tables, from files, shares or a census profile), :mod:`~townhall.assembly.distribution`
(LEXIMIN, maximin and Nash welfare by column generation on HiGHS),
:mod:`~townhall.assembly.legacy` (the greedy baseline), :mod:`~townhall.assembly.lottery`
(rounding to a uniform lottery, commitment and draw), :mod:`~townhall.assembly.selection`
(the whole process), :mod:`~townhall.assembly.replacement` (refilling after dropouts),
:mod:`~townhall.assembly.report` (HTML, CSV, JSON), :mod:`~townhall.assembly.synthetic`
(synthetic pools with self-selection bias, and hard instances) and
:mod:`~townhall.assembly.verify` (an independent check of any distribution over panels).
"""

from __future__ import annotations

from townhall.assembly.distribution import Distribution, Progress, leximin, maximin, nash
from townhall.assembly.legacy import legacy_probabilities, legacy_runs
from townhall.assembly.lottery import SEED_RULE, Lottery, round_lottery, seed_index
from townhall.assembly.model import Instance, PanelOracle
from townhall.assembly.pool import Pool, age_band, parse_band, read_pool
from townhall.assembly.quotas import (
    InfeasibleQuotasError,
    Quotas,
    quotas_from_profile,
    quotas_from_shares,
    read_quotas,
)
from townhall.assembly.replacement import replace
from townhall.assembly.selection import (
    METHODS,
    Selection,
    SelectionOptions,
    build_instance,
    check_feasible,
    gini,
    run_selection,
    select,
)
from townhall.assembly.synthetic import (
    EXAMPLE_PROFILE,
    default_bias,
    hard_pool,
    synthetic_pool,
    tight_quotas,
)
from townhall.assembly.verify import verify_distribution

__all__ = [
    "EXAMPLE_PROFILE",
    "METHODS",
    "SEED_RULE",
    "Distribution",
    "InfeasibleQuotasError",
    "Instance",
    "Lottery",
    "PanelOracle",
    "Pool",
    "Progress",
    "Quotas",
    "Selection",
    "SelectionOptions",
    "age_band",
    "build_instance",
    "check_feasible",
    "default_bias",
    "gini",
    "hard_pool",
    "legacy_probabilities",
    "legacy_runs",
    "leximin",
    "maximin",
    "nash",
    "parse_band",
    "quotas_from_profile",
    "quotas_from_shares",
    "read_pool",
    "read_quotas",
    "replace",
    "round_lottery",
    "run_selection",
    "seed_index",
    "select",
    "synthetic_pool",
    "tight_quotas",
    "verify_distribution",
]
