"""Similar places: nearest on z-scores, and why."""

from __future__ import annotations

import pandas as pd
import pytest

from townhall.errors import TownhallError
from townhall.places.similar import most_similar, similar


def test_most_similar_synthetic():
    x = pd.DataFrame({"a": [0.0, 0.1, 5.0, 2.0], "b": [1.0, 1.0, 1.0, 3.0], "c": [10.0, 11.0, 10.0, 30.0]},
                     index=["P", "Q", "R", "S"])
    top, used = most_similar(x, "P", n=2)
    assert used == ["a", "b", "c"]
    assert top["code"].tolist() == ["Q", "R"]
    # P and Q: identical on b, close on a, close on c.
    assert top.iloc[0]["alike_1"] == "b"
    z = (x - x.mean()) / x.std(ddof=0)
    assert top.iloc[0]["distance"] == pytest.approx((((z.loc["Q"] - z.loc["P"]) ** 2).mean()) ** 0.5)
    with pytest.raises(TownhallError):
        most_similar(x[["a", "b"]], "P")


def test_similar_towns_and_councils(atlas):
    s = similar(atlas, "Barnsley")  # the town, as in compare
    assert s.place.level == "town" and len(s.table) == 10
    assert s.table["distance"].is_monotonic_increasing
    assert "E35000961" not in set(s.table["code"])
    assert s.table["alike_1"].notna().all() and s.table["why"].str.count(";").eq(2).all()
    lad = similar(atlas, "Barnsley", level="lad", n=5)
    assert lad.place.code == "E08000038" and len(lad.table) == 5
    assert "els_median_weekly_pay" in lad.features  # councils also use ONS local statistics
    assert "E08000018" in set(lad.table["code"])  # Rotherham, its neighbour in every sense
