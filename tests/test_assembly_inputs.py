"""Reading pools and quotas: formats, derived fields, and every bad-input message."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from townhall.assembly import (
    InfeasibleQuotasError,
    Quotas,
    age_band,
    check_feasible,
    parse_band,
    read_pool,
    read_quotas,
    select,
)
from townhall.errors import InputError, TownhallError

QUOTAS = "category,value,min,max\nsex,Female,1,2\nsex,Male,1,2\nage,16-29,1,2\nage,30+,1,2\n"
POOL = "id,name,sex,age,address\np1,Ann,Female,16-29,1 High St\np2,Bob,Male,30+,2 High St\np3,Cat,female,30+,1 high st \np4,Dan,Male,16-29,\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def quotas(tmp_path: Path) -> Quotas:
    return read_quotas(write(tmp_path, "quotas.csv", QUOTAS))


def test_read_pool_keeps_only_id_and_categories(tmp_path: Path, quotas: Quotas) -> None:
    pool = read_pool(write(tmp_path, "pool.csv", POOL), quotas, households="address")
    assert list(pool.frame.columns) == ["id", "sex", "age"]
    assert pool.ids == ["p1", "p2", "p3", "p4"]
    # "female" is matched to the quota's spelling, ignoring case.
    assert pool.frame["sex"].tolist() == ["Female", "Male", "Female", "Male"]
    # "1 High St" and "1 high st " are one household; a blank address is a household of one.
    assert pool.household[0] == pool.household[2]
    assert len(set(pool.household.tolist())) == 3
    assert pool.codes(quotas).tolist() == [[0, 0], [1, 1], [0, 1], [1, 0]]


def test_read_pool_xlsx(tmp_path: Path, quotas: Quotas) -> None:
    frame = pd.read_csv(write(tmp_path, "pool.csv", POOL), dtype=str, keep_default_na=False)
    path = tmp_path / "pool.xlsx"
    frame.to_excel(path, index=False)
    pool = read_pool(path, quotas)
    assert pool.frame["age"].tolist() == ["16-29", "30+", "30+", "16-29"]


def test_row_number_ids_when_no_id_column(tmp_path: Path, quotas: Quotas) -> None:
    pool = read_pool(write(tmp_path, "r.csv", "sex,age\nMale,30+\nFemale,16-29\n"), quotas)
    assert pool.ids == ["1", "2"]


def test_quota_formats(tmp_path: Path) -> None:
    sf = read_quotas(
        write(
            tmp_path,
            "f.csv",
            "feature,value,min,max,min_flex,max_flex\nsex,F,1,2,0,3\nsex,M,0,1,0,1\n",
        )
    )
    paper = read_quotas(
        write(tmp_path, "c.csv", "category,feature,min,max\nsex,F,1,2\nsex,M,0,1\n")
    )
    for q in (sf, paper):
        assert q.table[["category", "value", "min", "max"]].values.tolist() == [
            ["sex", "F", 1, 2],
            ["sex", "M", 0, 1],
        ]
    shares = read_quotas(
        write(tmp_path, "s.csv", "category,value,share\nsex,F,0.5\nsex,M,0.5\n"), 20, tolerance=0.1
    )
    # 10 seats each, +-10 %: 9 to 11.
    assert shares.table[["min", "max"]].values.tolist() == [[9, 11], [9, 11]]


def test_age_bands() -> None:
    assert parse_band("16-29") == (16, 29)
    assert parse_band("75+") == (75, None)
    assert parse_band("75 and over") == (75, None)
    assert parse_band("under 18") == (0, 17)
    assert age_band([16, 29, 30, 44, 45, 99], ["16-29", "30-44", "45+"]) == [
        "16-29",
        "16-29",
        "30-44",
        "30-44",
        "45+",
        "45+",
    ]
    with pytest.raises(ValueError):
        parse_band("young")


def test_age_band_from_birth_year(tmp_path: Path, quotas: Quotas) -> None:
    text = "id,sex,born\na,Female,2000\nb,Male,1995\nc,Male,1996\n"
    pool = read_pool(write(tmp_path, "b.csv", text), quotas, birth_year="born", reference_year=2025)
    # Ages at 2025: 25, 30, 29.
    assert pool.frame["age"].tolist() == ["16-29", "30+", "16-29"]


# --- every bad-input message -----------------------------------------------------------------


def message(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value)


def test_missing_pool_column(tmp_path: Path, quotas: Quotas) -> None:
    path = write(tmp_path, "p.csv", "id,sex\na,Male\n")
    with pytest.raises(InputError) as exc:
        read_pool(path, quotas)
    assert message(exc).startswith("The pool has no column for the quota category 'age'.")
    assert f"file {path}" in message(exc)
    assert "column 'age'" in message(exc)
    assert "Pool columns are: id, sex" in message(exc)


def test_value_not_in_quotas(tmp_path: Path, quotas: Quotas) -> None:
    path = write(tmp_path, "p.csv", "id,sex,age\na,Male,30+\nb,Femal,30+\n")
    with pytest.raises(InputError) as exc:
        read_pool(path, quotas)
    e = exc.value
    assert (e.file, e.row, e.column, e.value) == (str(path), 3, "sex", "Femal")
    assert "Value not in the quotas" in message(exc)
    assert "The quotas for 'sex' list: Female, Male" in message(exc)


def test_duplicate_id(tmp_path: Path, quotas: Quotas) -> None:
    path = write(tmp_path, "p.csv", "id,sex,age\na,Male,30+\nb,Male,30+\na,Female,30+\n")
    with pytest.raises(InputError) as exc:
        read_pool(path, quotas)
    assert (exc.value.row, exc.value.column, exc.value.value) == (4, "id", "a")
    assert "Duplicate id" in message(exc)
    assert "First seen on row 2." in message(exc)


def test_blank_id_and_blank_value(tmp_path: Path, quotas: Quotas) -> None:
    with pytest.raises(InputError, match=r"A volunteer has no id. \(file .*, row 3, column 'id'\)"):
        read_pool(write(tmp_path, "p.csv", "id,sex,age\na,Male,30+\n,Male,30+\n"), quotas)
    with pytest.raises(InputError, match=r"Blank value. \(file .*, row 2, column 'age'\)"):
        read_pool(write(tmp_path, "q.csv", "id,sex,age\na,Male,\n"), quotas)


def test_missing_id_and_household_columns(tmp_path: Path, quotas: Quotas) -> None:
    path = write(tmp_path, "p.csv", "id,sex,age\na,Male,30+\n")
    with pytest.raises(InputError, match=r"The id column is missing.*column 'ref'"):
        read_pool(path, quotas, id_column="ref")
    with pytest.raises(InputError, match=r"The household column is missing.*column 'postcode'"):
        read_pool(path, quotas, households="postcode")


def test_bad_birth_year(tmp_path: Path, quotas: Quotas) -> None:
    path = write(tmp_path, "p.csv", "id,sex,born\na,Male,19x5\n")
    with pytest.raises(InputError) as exc:
        read_pool(path, quotas, birth_year="born", reference_year=2025)
    assert (exc.value.row, exc.value.column, exc.value.value) == (2, "born", "19x5")
    path = write(tmp_path, "q.csv", "id,sex,born\na,Male,2015\n")
    with pytest.raises(InputError, match="Age 10 falls in none of the quota's age bands"):
        read_pool(path, quotas, birth_year="born", reference_year=2025)


def test_missing_file() -> None:
    with pytest.raises(InputError, match=r"File not found. \(file nowhere.csv\)"):
        read_quotas("nowhere.csv")


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("name,min,max\nx,1,2\n", "needs a category and a value column"),
        ("category,value,lo\nsex,F,1\n", "needs min and max columns"),
        (
            "category,value,min,max\nsex,F,one,2\n",
            r"Expected a whole number. \(file .*, row 2, column 'min', value 'one'\)",
        ),
        ("category,value,min,max\nsex,F,1.5,2\n", r"Expected a whole number.*value '1.5'"),
        ("category,value,min,max\nsex,F,-1,2\n", "Quotas cannot be negative"),
        (
            "category,value,min,max\nsex,F,3,2\n",
            r"The minimum \(3\) is above the maximum \(2\).*row 2",
        ),
        (
            "category,value,min,max\nsex,F,1,2\nsex,F,1,2\n",
            r"listed twice.*row 3.*\nFirst listed on row 2",
        ),
        ("category,value,share\nsex,F,x\n", "Expected a number"),
        # A target column holds seats: alone, it is refused, never read as shares or bounds.
        (
            "category,value,target\nsex,F,5\nsex,M,5\n",
            r"target column but no min and max columns.*column 'target'",
        ),
        (
            "category,value,min,target\nsex,F,4,5\n",
            r"a min column but no max column.*column 'max'",
        ),
    ],
)
def test_bad_quota_files(tmp_path: Path, text: str, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern):
        read_quotas(write(tmp_path, "q.csv", text), 10)


def test_category_bounds_cannot_reach_size(tmp_path: Path) -> None:
    path = write(tmp_path, "q.csv", "category,value,min,max\nsex,F,1,2\nsex,M,1,2\n")
    with pytest.raises(
        InfeasibleQuotasError,
        match="maximums of category 'sex' add up to 4, less than the panel size 5",
    ):
        read_quotas(path, 5)
    with pytest.raises(
        InfeasibleQuotasError,
        match="minimums of category 'sex' add up to 2, more than the panel size 1",
    ):
        read_quotas(path, 1)


def test_too_few_volunteers_with_a_value_proposes_relaxation(
    tmp_path: Path, quotas: Quotas
) -> None:
    # Quotas want at least one 16-29, nobody in the pool is.
    pool = read_pool(
        write(tmp_path, "p.csv", "id,sex,age\na,Male,30+\nb,Female,30+\nc,Male,30+\n"), quotas
    )
    with pytest.raises(InfeasibleQuotasError) as exc:
        check_feasible(pool, quotas, 2)
    assert "at least 1 with age = '16-29', but the pool has only 0" in message(exc)
    # Lowering that one minimum is enough: panels of two 30+ people meet everything else.
    assert exc.value.relaxation.values.tolist() == [["age", "16-29", 1, 2, 0, 2]]
    assert "age=16-29: lower the minimum from 1 to 0" in message(exc)


def test_conflicting_quotas_smallest_relaxation(tmp_path: Path) -> None:
    # Everybody female is young and everybody male is old; the quotas want 2 women and 2 old
    # people on a panel of 2: impossible. Cheapest fix: one seat of slack somewhere.
    q = read_quotas(
        write(
            tmp_path,
            "q.csv",
            "category,value,min,max\nsex,F,2,2\nsex,M,0,0\nage,young,0,0\nage,old,2,2\n",
        )
    )
    pool = read_pool(
        write(tmp_path, "p.csv", "id,sex,age\na,F,young\nb,F,young\nc,M,old\nd,M,old\n"), q
    )
    with pytest.raises(InfeasibleQuotasError) as exc:
        check_feasible(pool, q, 2)
    assert message(exc).startswith("No panel of 2 meets all the quotas at once.")
    fix = exc.value.relaxation
    # Total slack of the suggestion is the minimum possible: a panel of two must contain two
    # of {F,young} or {M,old} people; either way 4 seats of quota slack (e.g. min F 2->0 and
    # max M 0->2) are needed.
    slack = int((fix["min"] - fix["new_min"]).sum() + (fix["new_max"] - fix["max"]).sum())
    assert slack == 4
    table = q.to_frame().merge(fix[["category", "value", "new_min", "new_max"]], how="left")
    relaxed = q.with_bounds(
        table["new_min"].fillna(table["min"]).to_numpy(),
        table["new_max"].fillna(table["max"]).to_numpy(),
    )
    check_feasible(pool, relaxed, 2)  # the suggestion works


def test_pool_smaller_than_panel(tmp_path: Path, quotas: Quotas) -> None:
    pool = read_pool(write(tmp_path, "p.csv", "id,sex,age\na,Male,30+\n"), quotas)
    with pytest.raises(
        InfeasibleQuotasError, match="The pool has 1 volunteers, fewer than the panel size 2"
    ):
        check_feasible(pool, quotas, 2)


def test_unknown_method(tmp_path: Path, quotas: Quotas) -> None:
    with pytest.raises(InputError, match="Unknown method 'random'"):
        select(write(tmp_path, "p.csv", POOL), quotas, 2, method="random")


def test_errors_are_townhall_errors() -> None:
    assert issubclass(InfeasibleQuotasError, TownhallError)


@pytest.mark.parametrize("size", [0, -3])
def test_panel_size_must_be_positive(tmp_path: Path, size: int) -> None:
    path = write(tmp_path, "q.csv", "category,value,min,max\nsex,F,0,2\nsex,M,0,2\n")
    pool = pd.DataFrame({"id": ["a", "b"], "sex": ["F", "M"]})
    with pytest.raises(InputError, match="The panel size must be at least 1"):
        select(pool, path, size, legacy_runs=0)
