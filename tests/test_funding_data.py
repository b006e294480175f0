"""The finance data in the real atlas, checked by hand against the mirror's files.

Hand values (read from the raw files):
* DLUHC Table 9 2023-24, sheet Data_Billing: Adur (E3831 / E07000223) tax base for tax
  setting 21,937.3, own average Band D incl. parish 344.07, county (West Sussex) 1,633.41,
  police 239.91, fire 0, area Band D (line 17) 2,217.39; England (TE) Band D 2,065.06 and
  tax base 18,749,055; Barnsley (E08000016, recoded E08000038 in 2025) tax base 66,446.8.
* ctr_2223.xlsx, sheet Data, 2022-23 tax base of the seven North Yorkshire districts:
  Craven 23,234.40966 + Hambleton 37,907.4 + Harrogate 65,124.7 + Richmondshire 19,786.9 +
  Ryedale 22,226.854 + Scarborough 38,694.1 + Selby 32,767.9992 = 239,742.36286.
* spi_la_raw.csv: Hartlepool total_tax_amount "155" (£m).
"""

from __future__ import annotations

import pytest

from townhall.errors import InputError
from townhall.funding import (
    compare,
    council_summary,
    frontier_for,
    inputs,
    load_groups,
    run,
    run_group,
    shipped,
)
from townhall.funding.data import capacity, finance, national_band_d, read_need_csv

ADUR, NORTH_YORKS, BARNSLEY = "E07000223", "E06000065", "E08000038"


def test_a_councils_2023_24_band_d_and_tax_base(atlas):
    assert finance(atlas, "ct_taxbase", "2023-24")[ADUR] == pytest.approx(21937.3)
    assert finance(atlas, "ct_band_d_own", "2023-24")[ADUR] == pytest.approx(344.07)
    # two tiers kept apart: the district's own share and the county's share of the same bill
    assert finance(atlas, "ct_band_d_county", "2023-24")[ADUR] == pytest.approx(1633.41)
    assert finance(atlas, "ct_band_d_police", "2023-24")[ADUR] == pytest.approx(239.91)
    assert finance(atlas, "ct_band_d_area", "2023-24")[ADUR] == pytest.approx(2217.39)
    assert atlas.values("ct_band_d", level="lad", period="2023-24").set_index("area").loc[ADUR, "value"] == \
        pytest.approx(2217.39)


def test_national_average_band_d(atlas):
    assert national_band_d(atlas, "2023-24") == pytest.approx(2065.06)
    assert finance(atlas, "ct_taxbase", "2023-24").sum() == pytest.approx(18_749_055.0)


def test_merged_council_gets_its_predecessors_summed(atlas):
    row = atlas.query("SELECT value, predecessors FROM council_finance WHERE code = ? AND year = '2022-23' "
                      "AND measure = 'ct_taxbase' AND tier = 'billing'", [NORTH_YORKS])
    assert row["value"].iloc[0] == pytest.approx(239_742.36286)
    assert row["predecessors"].iloc[0].count("+") == 6
    assert finance(atlas, "ct_taxbase", "2023-24")[BARNSLEY] == pytest.approx(66_446.8)


def test_296_councils_every_year(atlas):
    df = atlas.query("SELECT year, count(*) AS n FROM council_finance WHERE measure = 'ct_taxbase' "
                     "AND tier = 'billing' GROUP BY year")
    assert set(df["n"]) == {296}
    assert len(df) == 10  # 2014-15 to 2023-24


def test_capacity_and_income(atlas):
    cap = capacity(atlas, "2023-24").table.set_index("code")
    assert cap.loc[ADUR, "ct_capacity"] == pytest.approx(21937.3 * 2065.06)
    assert cap.loc["E06000001", "income_tax"] == pytest.approx(155e6)
    assert cap["ct_capacity"].sum() == pytest.approx(18_749_055.0 * 2065.06)


def test_need_units_sum_to_population(atlas):
    inp = inputs(atlas)
    assert len(inp.codes) == 296
    assert inp.need.sum() == pytest.approx(inp.population.sum())
    per_head = inp.need / inp.population
    assert per_head.max() / per_head.min() == pytest.approx(1.5 / 0.75)  # need.toml: low 0.75, high 1.5


def test_every_scheme_runs_on_real_data(atlas):
    for sid, s in shipped().items():
        r = run(sid, atlas)
        # the income statistics leave out Torbay and the Isles of Scilly
        assert len(r.table) == (294 if s.scheme.base in ("income_tax", "mix") else 296)
        if s.scheme.funding == "horizontal":
            assert r.summary["budget_neutral"]
    full = run("full", atlas).summary
    assert full["gap_closed"] == pytest.approx(1.0)
    assert full["gini_after"] == pytest.approx(0.0, abs=1e-9)


def test_frontier_has_every_shipped_scheme(atlas):
    f = frontier_for(atlas, steps=11)
    assert sorted(f.points["scheme"]) == sorted(shipped())
    assert len(f.sweep) == 11


def test_one_yorkshire_pooled(atlas):
    g = load_groups("one-yorkshire", atlas)[0]
    assert len(g.members) == 15
    inp = inputs(atlas)
    r = run_group("linear", inp, g)
    members = r.table[r.table["unit"] == "member"]
    pooled = r.table[r.table["unit"] == "pooled"].iloc[0]
    assert pooled["capacity"] == pytest.approx(members["capacity"].sum())
    assert pooled["need"] == pytest.approx(members["need"].sum())


def test_compare_and_council_summary(atlas):
    c = compare(atlas, ["none", "full"])
    assert list(c.table["scheme"]) == ["none", "full"]
    s = council_summary(atlas, ADUR)
    assert s.facts["band_d_area"] == pytest.approx(2217.39)
    assert set(s.table["scheme"]) == set(shipped())
    with pytest.raises(InputError, match="not an English council"):
        council_summary(atlas, "W06000015")


def test_need_csv_is_validated(atlas, tmp_path):
    inp = inputs(atlas)
    codes = list(inp.codes)
    import pandas as pd

    pop = pd.Series(inp.population, index=codes)
    f = tmp_path / "need.csv"
    f.write_text("code,share\n" + "\n".join(f"{c},1" for c in codes), encoding="utf-8")
    nd = read_need_csv(f, codes, pop)
    assert nd.table["need"].sum() == pytest.approx(pop.sum())
    f.write_text("code,weight\nE07000223,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"need\.csv.*column 'share'"):
        read_need_csv(f, codes, pop)
    f.write_text("code,share\nE07000223,lots\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 2, column 'share', value 'lots'"):
        read_need_csv(f, codes, pop)
    f.write_text("code,share\nE07000223,1\nW06000015,1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3, column 'code', value 'W06000015'"):
        read_need_csv(f, codes, pop)
    f.write_text("code,share\nE07000223,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="295 council"):
        read_need_csv(f, codes, pop)


def test_tax_bases_match_the_restated_historic_table(atlas, source_cache):
    """Cross-check against Em1lyK's restated table (``ctr_historic_taxbase_1516_2324.csv``, 285
    councils unchanged since 2015; the 11 reorganised ones are absent there): every tax base agrees."""
    import pandas as pd

    from townhall.atlas import codes
    from townhall.sources.catalogue import source_file

    hist = pd.read_csv(source_file("politics_finance/finance/council_tax/ctr_historic_taxbase_1516_2324.csv",
                                   source_cache))
    succ = codes.successors(source_cache)
    hist["code"] = hist["onscode"].map(lambda c: succ.get(c, c))
    checked = 0
    for col in [c for c in hist if c.startswith("tstb_")]:
        year = f"20{col[5:7]}-{col[7:9]}"
        ours = finance(atlas, "ct_taxbase", year)
        both = hist.set_index("code")[col].dropna()
        both = both[both.index.isin(ours.index)]
        diff = (ours.reindex(both.index) - both).abs()
        assert diff.max() < 0.5, (year, diff.idxmax(), float(diff.max()))
        checked += len(both)
    assert checked >= 9 * 280
