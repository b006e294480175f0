"""The house rules, checked from the code itself with ``ast``.

- No import loops between modules of ``src/townhall`` (imports inside functions
  count too: a loop hidden in a function is still a loop).
- No module imports another module's ``_private`` name.
- No list of level codes is written outside ``townhall/levels.py``: a tuple, list,
  set or dict literal with two or more level codes, or a SQL string naming two or
  more quoted level codes, fails. Single level codes (``level="lad"``) are fine:
  they name one level, they do not repeat the vocabulary.
- Layers run one way: an analysis never imports the API, the CLI or the web.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "src" / "townhall"
LEVEL_CODES = {"lad", "town", "pcon24", "cty", "cauth", "rgn", "ctry", "bua22", "ttwa11", "pcon10",
               "msoa21", "lsoa21", "msoa11", "lsoa11"}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in PKG.rglob("*.py")}


def _resolve(mod: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".")
    is_pkg = MODULES[mod].name == "__init__.py"
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(mod: str) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken, line) for every import in a module."""
    tree = ast.parse(MODULES[mod].read_text("utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(mod, node)
            names = [a.name for a in node.names]
            # 'from townhall.web import towns' imports the module townhall.web.towns
            subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            if subs:
                out += [(s, [], node.lineno) for s in subs]
                names = [n for n in names if f"{target}.{n}" not in MODULES]
            if names:
                out.append((target, names, node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for mod in MODULES:
        deps = set()
        for target, _, _ in _imports(mod):
            # importing a.b.c also runs a and a.b, but those are packages' __init__s, which
            # import nothing of their children here; count the module named itself.
            if target in MODULES and target != mod:
                deps.add(target)
        g[mod] = deps
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_walker_sees_a_loop() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_loops() -> None:
    loops = _cycles(_graph())
    assert not loops, "import loops: " + "; ".join(" <-> ".join(c) for c in loops)


def test_no_private_names_imported_across_modules() -> None:
    bad = []
    for mod in MODULES:
        for target, names, line in _imports(mod):
            if not target.startswith("townhall") or target == mod:
                continue
            for n in names:
                if n.startswith("_") and not n.startswith("__"):
                    bad.append(f"{MODULES[mod].relative_to(PKG.parent)}:{line} imports {n} from {target}")
    assert not bad, "\n".join(bad)


#: Analyses, the atlas and the sources may not reach up into these.
UPPER = ("townhall.api", "townhall.cli", "townhall.web")
LOWER = ("townhall.sources", "townhall.atlas", "townhall.places", "townhall.measures", "townhall.assembly",
         "townhall.elections", "townhall.evidence", "townhall.infrastructure", "townhall.funding",
         "townhall.levels", "townhall.errors", "townhall.config")


def test_layers_run_one_way() -> None:
    bad = []
    for mod in MODULES:
        if not mod.startswith(LOWER):
            continue
        for target, _, line in _imports(mod):
            if target.startswith(UPPER):
                bad.append(f"{mod}:{line} imports {target}")
    assert not bad, "\n".join(bad)


_QUOTED_LEVEL = re.compile(r"'(" + "|".join(sorted(LEVEL_CODES)) + r")'")


def _level_lists(path: Path) -> list[str]:
    tree = ast.parse(path.read_text("utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    lines = path.read_text("utf-8").splitlines()
    found = []
    for node in ast.walk(tree):
        if id(node) in docstrings:  # prose about levels is not a list of them
            continue
        if hasattr(node, "lineno") and lines[node.lineno - 1].rstrip().endswith("# frame columns"):
            continue  # column names that happen to be spelled like levels, marked where written
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            elts = node.elts
        elif isinstance(node, ast.Dict):
            elts = [k for k in node.keys if k is not None]
        else:
            elts = None
        if elts is not None:
            codes = [e.value for e in elts if isinstance(e, ast.Constant) and e.value in LEVEL_CODES]
            if len(codes) >= 2:
                found.append(f"line {node.lineno}: {codes}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            codes = _QUOTED_LEVEL.findall(node.value)
            if len(codes) >= 2:
                found.append(f"line {node.lineno}: SQL/string with {codes}")
    return found


def test_the_level_finder_finds_lists(tmp_path: Path) -> None:
    p = tmp_path / "x.py"
    p.write_text("A = ('lad', 'town')\nB = \"level IN ('lsoa21', 'msoa21')\"\nC = {'lad': 1, 'rgn': 2}\n"
                 "D = level == 'lad'\nE = df[['town', 'ttwa11']]  # frame columns\n")
    assert len(_level_lists(p)) == 3


@pytest.mark.parametrize("path", sorted(p for p in PKG.rglob("*.py") if p.name != "levels.py"),
                         ids=lambda p: str(p.relative_to(PKG)))
def test_no_level_list_outside_the_levels_module(path: Path) -> None:
    found = _level_lists(path)
    assert not found, f"{path.relative_to(PKG.parent)} writes level lists (take them from townhall.levels): " + "; ".join(found)
