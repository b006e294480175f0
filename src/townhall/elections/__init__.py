"""Electoral geography: results by kind of place, swing, top areas, targets and marginals.

>>> from townhall import elections
>>> elections.by_class(atlas, "ge2017", scheme="hocl")
>>> elections.swing(atlas, "ge2015", "ge2017", coarse=True)
>>> elections.top(atlas, "eu2016", "remain", n=30)
>>> elections.targets(atlas, "ge2017", "lab")                 # the seats Labour needs for a majority
>>> elections.targets(atlas, "ge2017", "lab", kind="marginals", n=20)
>>> elections.place_results(atlas, "E14000810", "pcon10")     # one seat's results, for its page

The build step is :mod:`townhall.atlas.elections`; the rules are in docs/methods/elections.md.
"""

from townhall.elections.data import area_classes, check_election, elections, results, seats
from townhall.elections.geography import (
    ByClass,
    Swing,
    Top,
    butler,
    by_class,
    class_swing,
    swing,
    top,
)
from townhall.elections.place import PlaceResults, place_results
from townhall.elections.targets import Targets, majority_needed, targets, targets_from

__all__ = [
    "ByClass", "PlaceResults", "Swing", "Targets", "Top", "area_classes", "butler", "by_class", "check_election",
    "class_swing",
    "elections", "majority_needed", "place_results", "results", "seats", "swing", "targets", "targets_from", "top",
]
