"""Social infrastructure: what each place has, what it lost and when, and how far people travel.

Analyses over the facility ledger the build writes (:mod:`townhall.atlas.facilities`):

- :func:`facilities`, :func:`counts`, :func:`counts_by_class`, :func:`place_ledger`,
  :func:`build_report` (:mod:`.ledger`);
- :func:`access`, :func:`service_deserts`, :func:`desert_flags` (:mod:`.access`);
- :func:`closures_by_class`, :func:`pub_decline` (:mod:`.claims`).

Every function takes an open :class:`townhall.atlas.store.Atlas` and returns a small
result object with ``.table`` and ``.as_dict()``.
"""

from townhall.atlas.facilities import KINDS, Kind, check_kind
from townhall.infrastructure.access import Access, Deserts, access, desert_flags, service_deserts
from townhall.infrastructure.claims import (
    Association,
    ClosureRates,
    PubDecline,
    associate,
    clopper_pearson,
    closures_by_class,
    pub_decline,
    rates_table,
)
from townhall.infrastructure.ledger import (
    BuildReport,
    Counts,
    FacilityList,
    PlaceLedger,
    build_report,
    counts,
    counts_by_class,
    facilities,
    place_ledger,
    tally,
)

__all__ = [
    "KINDS", "Access", "Association", "BuildReport", "ClosureRates", "Counts", "Deserts", "FacilityList", "Kind",
    "PlaceLedger", "PubDecline", "access", "associate", "build_report", "check_kind", "clopper_pearson",
    "closures_by_class", "counts", "counts_by_class", "desert_flags", "facilities", "place_ledger", "pub_decline",
    "rates_table", "service_deserts", "tally",
]
