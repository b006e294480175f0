"""Indices, the open left-behind index, inequality and hot spots on the real atlas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from townhall.cli import app
from townhall.errors import InputError
from townhall.measures import leftbehind
from townhall.measures.inequality import RURAL, place_classes, regions, spatial_gini, theil_by
from townhall.measures.spatial import hotspot_points, hotspots
from townhall.measures.spec import build_index, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]
SIMPLE = ROOT / "examples" / "simple_index.toml"
runner = CliRunner()


def flat(text: str) -> str:
    """Output with rich's table rules and line wrapping undone."""
    for ch in "│┃║":
        text = text.replace(ch, " ")
    return " ".join(text.split())


def test_simple_index_at_lsoa_matches_hand_formula(atlas):
    # z-scored income (x2), employment, health, education over England's 33,755 LSOAs
    run = build_index(SIMPLE, atlas, draws=0)
    ix = run.index
    assert len(ix.scores) == 33_755
    assert ix.dropped == []  # IoD2025 is England only: no Welsh LSOA is read at all
    z = (ix.data - ix.data.mean()) / ix.data.std(ddof=0)
    by_hand = (2 * z["imd25_income_score"] + z["imd25_employment_score"] + z["imd25_health_score"]
               + z["imd25_education_score"]) / 5
    assert np.allclose(ix.scores.to_numpy(), by_hand.to_numpy())
    assert run.table["code"].iloc[0] == by_hand.idxmax()


def test_cli_index_build_prints_top_bottom_intervals_drivers(atlas_env):
    r = runner.invoke(app, ["index", "build", str(SIMPLE), "--level", "lad", "--top", "5"],
                      env={"COLUMNS": "160"})
    assert r.exit_code == 0, r.output
    out = flat(r.stdout)
    assert "Simple deprivation index at lad: 296 places (rolled up from lsoa21)" in out
    assert "Monte Carlo: 1,000 draws (seed 1)" in out
    assert "Top 5 (highest score)" in out and "Bottom 5 (lowest score)" in out
    assert "90% rank interval" in out and "drivers (raising the score)" in out
    # Blackpool is England's most deprived council on this index under every choice drawn
    assert "Blackpool (E06000009) 1.188 1–1 1 Income deprivation" in out


def test_cli_index_build_json_points(atlas_env):
    r = runner.invoke(app, ["index", "build", str(SIMPLE), "--level", "rgn", "--draws", "200",
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    pts = doc["places"]
    assert len(pts) == 9 and doc["summary"]["uncertainty"]["draws"] == 200
    assert set(pts[0]) >= {"code", "name", "lat", "lon", "value", "label", "rank", "lower", "upper"}
    assert all(p["lower"] <= p["rank"] <= p["upper"] for p in pts)
    assert {p["name"] for p in pts} >= {"North East", "London", "South East"}


def test_unknown_indicator_names_file_key_and_close_ids(atlas, tmp_path):
    spec = tmp_path / "typo.toml"
    spec.write_text('[index]\nname = "x"\n[[indicator]]\nid = "imd25_income_scor"\n')
    with pytest.raises(InputError) as ei:
        build_index(load_spec(spec), atlas, draws=0)
    msg = str(ei.value)
    assert "Unknown indicator 'imd25_income_scor' at [[indicator]] 1, key 'id'" in msg
    assert "typo.toml" in msg and "imd25_income_score" in msg.split("Close ids:")[1]


def test_cli_unknown_indicator(atlas_env, tmp_path):
    spec = tmp_path / "typo.toml"
    spec.write_text('[index]\nname = "x"\n[[indicator]]\nid = "no_such_thing"\n')
    r = runner.invoke(app, ["index", "build", str(spec)])
    assert r.exit_code == 1 and isinstance(r.exception, InputError)
    assert "Unknown indicator 'no_such_thing'" in str(r.exception)


def test_parent_level_inputs_are_broadcast(atlas):
    spec = parse_spec('[index]\nname = "x"\n[[indicator]]\nid = "imd25_income_score"\n'
                      '[[indicator]]\nid = "els_library_walk"\nlevel = "lad"\npolarity = 1\n')
    run = build_index(spec, atlas, draws=0)
    data = run.index.data
    # every LSOA of a council takes that council's value
    lad = atlas.links("lsoa21", "lad").set_index("child")["parent"]
    per_lad = data["els_library_walk"].groupby(lad.reindex(data.index)).nunique()
    assert (per_lad == 1).all()
    hartlepool = atlas.values("els_library_walk").set_index("area").loc["E06000001", "value"]
    kids = lad[lad == "E06000001"].index
    assert (data.loc[data.index.intersection(kids), "els_library_walk"] == hartlepool).all()


def test_left_behind_validation_figures(atlas):
    v = leftbehind.validate(atlas)
    h = v.headline().set_index(["year", "rule"])
    assert v.coverage["2023"] == {"flag_areas": 33_755, "matched": 33_755, "flagged": 1_305,
                                  "flagged_matched": 1_305}
    assert v.coverage["2019"]["matched"] == 31_810 and v.coverage["2019"]["flagged_matched"] == 1_440
    # the figures recorded in docs/methods/left-behind.md
    r23 = h.loc[("2023", "top 1,305 (as many as OCSI)")]
    assert (r23["true_positives"], round(r23["precision"], 3), round(r23["auc"], 3)) == (509, 0.390, 0.942)
    assert r23["precision"] == r23["recall"]
    assert round(h.loc[("2023", "top 10% (3,376)"), "recall"], 3) == 0.704
    r19 = h.loc[("2019", "top 1,440 (as many as OCSI)")]
    assert (r19["true_positives"], round(r19["auc"], 3)) == (399, 0.862)
    md = v.to_markdown()
    assert "| 2023 | Open left-behind index | 33,755 | 1,305 | top 1,305 (as many as OCSI) | 0.390 | 0.390 | 0.942 |" in md


def test_auc_by_hand():
    # flagged scores 3, 5; unflagged 1, 4, 5: pairs (3>1 yes, 3>4 no, 3>5 no, 5>1, 5>4, 5=5 half)
    assert leftbehind.auc([3, 5, 1, 4, 5], [1, 1, 0, 0, 0]) == pytest.approx(3.5 / 6)


@pytest.mark.slow
def test_left_behind_rolled_up_to_towns(atlas):
    run = leftbehind.build(atlas, "town", draws=200, seed=3)
    assert len(run.table) == 1_100  # English towns (IoD2025 covers England)
    assert run.table["rank"].tolist() == sorted(run.table["rank"].tolist())
    frac_in = ((run.table["lower"] <= run.table["rank"]) & (run.table["rank"] <= run.table["upper"])).mean()
    assert frac_in > 0.9
    pts = run.points()
    assert pts[["lat", "lon"]].notna().all().all()
    assert pts["label"].iloc[0].startswith(f"{pts['name'].iloc[0]}: rank 1 (")


def test_place_classes_and_regions(atlas):
    cls = place_classes(atlas)
    eng = cls[cls.index.str.startswith("E")]
    assert set(eng.unique()) == {"City", "Large Towns", "Medium Towns", "Small Towns", RURAL}
    assert (eng == RURAL).sum() == 10_770
    rg = regions(atlas)
    assert rg.nunique() == 9 and len(rg) == 33_755


def test_theil_by_class_and_region(atlas):
    t = theil_by(atlas, "class")
    assert t.n == 33_755 and len(t.by_group) == 5
    assert t.T_within + t.T_between == pytest.approx(t.T)
    assert t.L_within + t.L_between == pytest.approx(t.L)
    assert (round(t.T, 3), round(t.between_share_T, 3)) == (0.217, 0.067)
    assert round(t.L, 3) == 0.248
    g = t.by_group.set_index("group")
    assert g["mean"].idxmax() == "City"  # cities have the highest income-deprivation rate
    r = theil_by(atlas, "region")
    assert len(r.by_group) == 9 and pytest.approx(t.T) == r.T  # same areas, same total
    assert round(r.between_share_T, 3) == 0.076


def test_spatial_gini_and_hotspots(atlas):
    g = spatial_gini(atlas, permutations=19)
    assert round(g.g, 3) == 0.373
    assert g.neighbour_ratio < 0.8 and g.polarization_p_sim == pytest.approx(0.05)
    h = hotspots(atlas, "imd25_income_score", permutations=99)
    assert round(float(h.moran.I), 3) == 0.536
    assert sum(h.counts.values()) == 33_755
    pts = hotspot_points(h)
    assert pts.columns.tolist()[:6] == ["code", "name", "lat", "lon", "value", "label"]
    top = pts[pts["label"] == "hot spot"].sort_values("local_i").iloc[-1]
    assert top["name"].startswith("Hackney")


def test_cli_inequality_and_hotspots(atlas_env):
    r = runner.invoke(app, ["inequality", "--by", "region", "--no-gini"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "Between regions: 7.6% of Theil T" in flat(r.stdout)
    r = runner.invoke(app, ["hotspots", "imd25_income_score", "--permutations", "99", "--format", "csv"])
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "code,name,lat,lon,value,label,p_sim,local_i" and len(lines) == 33_756


def test_cli_validate_prints_figures(atlas_env):
    r = runner.invoke(app, ["index", "validate"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    out = flat(r.stdout)
    assert "2023 Open left-behind index 33755 1305 top 1,305 (as many as OCSI) 0.390 0.390 0.942" in out
    assert "Inputs and weights" in out and "els_library_walk" in out
