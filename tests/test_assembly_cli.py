"""The ``townhall assembly`` commands, the report files, and quotas from the atlas."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from townhall.assembly import quotas_from_profile, seed_index, synthetic_pool
from townhall.cli import app
from townhall.errors import InputError

runner = CliRunner()

QUOTAS = "category,value,min,max\nsex,F,1,1\nsex,M,1,1\nage,young,1,1\nage,old,1,1\n"
POOL = (
    "id,name,email,sex,age,address\n"
    "a,Ann Example,ann@example.org,F,young,1 High St\n"
    "b,Bea Example,bea@example.org,F,old,2 High St\n"
    "c,Cal Example,cal@example.org,M,young,3 High St\n"
    "d,Dev Example,dev@example.org,M,old,4 High St\n"
    "e,Eve Example,eve@example.org,M,old,5 High St\n"
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "pool.csv").write_text(POOL)
    (tmp_path / "quotas.csv").write_text(QUOTAS)
    return tmp_path / "pool.csv", tmp_path / "quotas.csv"


def flat(text: str) -> str:
    return " ".join(text.split())


def test_select_prints_commitment_before_draw_and_writes_report(files, tmp_path: Path) -> None:
    pool, quotas = files
    out = tmp_path / "report"
    seed = "Lotto 2025-06-07: 3 11 19 28 40 47"
    r = runner.invoke(
        app,
        [
            "assembly",
            "select",
            str(pool),
            "--quotas",
            str(quotas),
            "--size",
            "2",
            "--seed",
            seed,
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    text = flat(r.stdout)
    lottery = json.loads((out / "lottery.json").read_text())
    commitment = lottery["commitment"]
    # The commitment comes before the draw.
    assert text.index(commitment) < text.index(f"draws panel number {seed_index(seed, 1000)}")
    assert "LEXIMIN: 2 seats from 5 volunteers; probabilities 0.3333 to 0.6667" in text
    assert sorted(p.name for p in out.iterdir()) == [
        "lottery.json",
        "panel.csv",
        "probabilities.csv",
        "quota_fit.csv",
        "report.html",
        "report.json",
    ]
    report = json.loads((out / "report.json").read_text())
    assert report["lottery"]["commitment"] == commitment and report["lottery"]["m"] == 1000
    assert report["panel"] == lottery["panels"][report["index"]]
    assert report["stats"]["leximin"]["minimum"] == pytest.approx(1 / 3)
    probs = pd.read_csv(out / "probabilities.csv")
    assert probs.columns.tolist() == [
        "id",
        "sex",
        "age",
        "probability",
        "lottery_probability",
        "legacy_probability",
    ]
    assert probs["probability"].round(6).tolist() == [
        0.666667,
        0.333333,
        0.333333,
        0.333333,
        0.333333,
    ]
    # Personal data never leaves: no names, emails or addresses in any output.
    for f in out.iterdir():
        body = f.read_text()
        for secret in ("Example", "example.org", "High St"):
            assert secret not in body, f.name
    for secret in ("Example", "example.org", "High St"):
        assert secret not in r.output
    html = (out / "report.html").read_text()
    assert commitment in html and "LEGACY" in html and "<svg" in html


def test_select_json_and_nothing_written_without_out(files, tmp_path: Path, monkeypatch) -> None:
    pool, quotas = files
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    r = runner.invoke(
        app,
        [
            "assembly",
            "select",
            str(pool),
            "-q",
            str(quotas),
            "-n",
            "2",
            "--method",
            "maximin",
            "--panels",
            "30",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["method"] == "maximin" and data["lottery"]["m"] == 30 and data["panel"] is None
    assert sorted(tmp_path.rglob("*")) == before


def test_draw_verifies_and_reproduces(files, tmp_path: Path) -> None:
    pool, quotas = files
    out = tmp_path / "r"
    r = runner.invoke(
        app, ["assembly", "select", str(pool), "-q", str(quotas), "-n", "2", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    lottery = json.loads((out / "lottery.json").read_text())
    r = runner.invoke(
        app, ["assembly", "draw", str(out / "lottery.json"), "--seed", "abc", "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["index"] == 965 and d["panel"] == lottery["panels"][965]
    lottery["panels"][0] = list(reversed(lottery["panels"][0]))
    (out / "lottery.json").write_text(json.dumps(lottery))
    r = runner.invoke(app, ["assembly", "draw", str(out / "lottery.json"), "--seed", "abc"])
    assert r.exit_code != 0 and isinstance(r.exception, InputError)


def test_replace_command(files, tmp_path: Path) -> None:
    pool, quotas = files
    r = runner.invoke(
        app,
        [
            "assembly",
            "replace",
            str(pool),
            "-q",
            str(quotas),
            "-n",
            "2",
            "--confirmed",
            "b",
            "--dropouts",
            "a",
            "--seed",
            "x",
            "--panels",
            "10",
            "--format",
            "json",
        ],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["panel"] == ["b", "c"]


def test_pool_command_writes_synthetic_pool(tmp_path: Path) -> None:
    out = tmp_path / "pool.csv"
    r = runner.invoke(
        app, ["assembly", "pool", "--size", "50", "--bias", "2", "--seed", "4", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    pd.testing.assert_frame_equal(pd.read_csv(out), synthetic_pool_frame(50, 4))


def synthetic_pool_frame(n: int, seed: int) -> pd.DataFrame:
    from townhall.assembly import EXAMPLE_PROFILE

    return synthetic_pool(EXAMPLE_PROFILE, n, bias=2.0, seed=seed)


def test_bad_input_exits_1_without_traceback(files, tmp_path: Path) -> None:
    pool, quotas = files
    bad = tmp_path / "bad.csv"
    bad.write_text(
        POOL.replace("d,Dev Example,dev@example.org,M,old", "d,Dev Example,dev@example.org,X,old")
    )
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from townhall.cli import main; main()",
            "assembly",
            "select",
            str(bad),
            "-q",
            str(quotas),
            "-n",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    err = flat(r.stderr)
    assert (
        "Error: Value not in the quotas." in err
        and "row 5" in err
        and "column 'sex'" in err
        and "value 'X'" in err
    )
    assert "Traceback" not in r.stderr
    # Infeasible quotas: said before solving, with the relaxation.
    tight = tmp_path / "tight.csv"
    # Two women and two young people on a panel of two: only a is both.
    tight.write_text("category,value,min,max\nsex,F,2,2\nsex,M,0,0\nage,young,2,2\nage,old,0,0\n")
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            "from townhall.cli import main; main()",
            "assembly",
            "select",
            str(pool),
            "-q",
            str(tight),
            "-n",
            "2",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 1
    err = flat(r.stderr)
    assert "No panel of 2 meets all the quotas at once." in err
    assert "Smallest change to the quotas that makes a selection possible:" in err
    assert "lower the minimum from 2 to 1" in err
    assert "lower the minimum from 2 to 1" in err
    assert "Traceback" not in r.stderr


def test_quotas_for_a_place_from_the_atlas(atlas, atlas_env, tmp_path: Path) -> None:
    profile = atlas.census_profile("Wigan")
    for cat in ("age", "sex", "ethnicity", "qualification", "tenure"):
        assert cat in profile and sum(profile[cat].values()) > 100_000
    expected = quotas_from_profile(profile, 30, 0.1).to_frame()
    out = tmp_path / "wigan.csv"
    r = runner.invoke(
        app, ["assembly", "quotas", "--place", "Wigan", "--size", "30", "--out", str(out)]
    )
    assert r.exit_code == 0, r.output
    got = pd.read_csv(out, dtype={"value": str})
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    # Every category can make a panel of 30.
    sums = got.groupby("category")[["min", "max"]].sum()
    assert (sums["min"] <= 30).all() and (sums["max"] >= 30).all()

    # A synthetic pool for Wigan, selected against Wigan's quotas, end to end.
    pool = tmp_path / "pool.csv"
    r = runner.invoke(
        app,
        [
            "assembly",
            "pool",
            "--place",
            "Wigan",
            "--size",
            "300",
            "--seed",
            "1",
            "--out",
            str(pool),
        ],
    )
    assert r.exit_code == 0, r.output
    report = tmp_path / "report"
    r = runner.invoke(
        app,
        [
            "assembly",
            "select",
            str(pool),
            "-q",
            str(out),
            "-n",
            "30",
            "--seed",
            "wigan",
            "--panels",
            "200",
            "--legacy-runs",
            "300",
            "--out",
            str(report),
        ],
    )
    assert r.exit_code == 0, r.output
    fit = pd.read_csv(report / "quota_fit.csv")
    assert ((fit["panel"] >= fit["min"]) & (fit["panel"] <= fit["max"])).all()
    stats = json.loads((report / "report.json").read_text())["stats"]
    assert stats["leximin"]["minimum"] > stats["legacy"]["minimum"]


def cli(*args: str) -> subprocess.CompletedProcess:
    """The real command in a fresh process: stdout and stderr exactly as a user sees them."""
    return subprocess.run(
        [sys.executable, "-c", "from townhall.cli import main; main()", "assembly", *args],
        capture_output=True,
        text=True,
    )


def test_json_and_csv_carry_only_their_format(files) -> None:
    pool, quotas = files
    r = cli("select", str(pool), "-q", str(quotas), "-n", "2", "--panels", "20", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)  # the whole of stdout is one JSON document (no HiGHS banner)
    assert data["optimality"]["optimal"] is True and data["optimality"]["gap"] == 0.0
    assert "HiGHS" not in r.stdout
    r = cli("select", str(pool), "-q", str(quotas), "-n", "2", "--panels", "20", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert (
        r.stdout.splitlines()[0] == "id,sex,age,probability,lottery_probability,legacy_probability"
    )
    frame = pd.read_csv(io.StringIO(r.stdout))
    assert frame["probability"].round(6).tolist() == [0.666667] + [0.333333] * 4
    assert "Commitment" in r.stderr and "Commitment" not in r.stdout
    # With a seed, the CSV is the drawn panel.
    r = cli("select", str(pool), "-q", str(quotas), "-n", "2", "--seed", "s", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert len(pd.read_csv(io.StringIO(r.stdout))) == 2


def test_bad_options_and_out_refused_before_the_solve(files, tmp_path: Path) -> None:
    pool, quotas = files
    base = ["assembly", "select", str(pool), "-q", str(quotas), "-n", "2"]

    def refused(*extra: str) -> str:
        r = runner.invoke(app, [*base, *extra])
        assert r.exit_code != 0 and isinstance(r.exception, InputError), r.output
        # Refused before any work: the quota check (the first step) never ran.
        assert "Checking the quotas" not in r.output
        return flat(str(r.exception))

    assert "The number of LEGACY runs cannot be negative." in refused("--legacy-runs", "-3")
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    assert "--out names an existing file" in refused("--out", str(taken))
    assert taken.read_text() == "keep me"
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.geteuid() != 0:  # root may write anywhere
            assert "is not a writable directory" in refused("--out", str(locked / "r"))
    finally:
        locked.chmod(0o700)
    done = tmp_path / "done"
    assert runner.invoke(app, [*base, "--out", str(done)]).exit_code == 0
    assert "already holds a report (report.html)" in refused("--out", str(done))


def test_time_limit_returns_a_valid_distribution_with_its_gap(tmp_path: Path) -> None:
    from townhall.assembly import hard_pool

    # 2,000 self-selected volunteers, 8 categories, quotas of +-1 seat, panel of 120: LEXIMIN
    # takes about a minute, so the run stops at the limit with the best so far.
    pool, quotas = hard_pool(2000, categories=8, size=120)
    pool.to_csv(tmp_path / "pool.csv", index=False)
    quotas.to_frame().to_csv(tmp_path / "quotas.csv", index=False)
    out = tmp_path / "report"
    r = cli(
        "select",
        str(tmp_path / "pool.csv"),
        "-q",
        str(tmp_path / "quotas.csv"),
        "-n",
        "120",
        "--time-limit",
        "10",
        "--panels",
        "50",
        "--legacy-runs",
        "0",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    text = flat(r.stdout)
    assert "Not proven optimal. Stopped at the time limit" in text
    gap = float(re.search(r"within (\S+) of", text).group(1))
    assert gap > 0
    report = json.loads((out / "report.json").read_text())
    opt = report["optimality"]
    assert opt["optimal"] is False and opt["stopped"] == "time limit"
    assert opt["gap"] == pytest.approx(gap, rel=0.01)
    assert opt["bound"] - opt["gap"] <= report["stats"]["leximin"]["minimum"] + 1e-6
    assert "Not proven optimal." in (out / "report.html").read_text()
    # The distribution is still a valid one: every lottery panel meets the quotas.
    lottery = json.loads((out / "lottery.json").read_text())
    frame = pool.set_index("id")
    for panel in lottery["panels"][:10]:
        rows = frame.loc[panel]
        assert len(rows) == 120
        for cat, val, lo, hi in quotas.table[["category", "value", "min", "max"]].itertuples(
            index=False
        ):
            assert lo <= int((rows[cat] == val).sum()) <= hi


def test_tolerance_is_asked_for_checked_and_stated(tmp_path: Path) -> None:
    from townhall.assembly import hard_pool

    pool, quotas = hard_pool(200, categories=5, size=40)
    pool.to_csv(tmp_path / "pool.csv", index=False)
    quotas.to_frame().to_csv(tmp_path / "quotas.csv", index=False)
    common = ["select", str(tmp_path / "pool.csv"), "-q", str(tmp_path / "quotas.csv"), "-n", "40",
              "--panels", "50", "--legacy-runs", "0", "--format", "json"]
    r = cli(*common, "--tolerance", "0.001")
    assert r.returncode == 0, r.stderr
    opt = json.loads(r.stdout)["optimality"]
    assert opt["tolerance"] == 0.001 and opt["optimal"] is True
    assert 0 <= opt["largest_stage_gap"] <= 0.001
    assert "tolerance of 1.0e-03" in opt["note"]
    bad = cli(*common, "--tolerance", "1.5")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "tolerance must be at least 0 and below 1" in flat(bad.stderr)
    assert bad.stdout == ""
