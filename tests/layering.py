"""The import rule of ARCHITECTURE.md as code: layers import downwards only, and nothing cycles.

Every import counts, including the lazy ones inside functions: a lazy import is still a
dependency, and the cycles this rule exists to prevent hid in them.
"""

from __future__ import annotations

import ast
from pathlib import Path

# Low to high. A module may import its own package and any package of a lower rank.
# The shared basics (top-level modules) have rank 0; sources and store are peers.
RANKS = {
    "sources": 1,
    "store": 1,
    "data": 2,
    "universe": 3,
    "prep": 3,
    "models": 4,
    "evaluation": 4,
    "inference": 5,
    "training": 6,
    "execution": 7,
    "backtest": 8,
    "registry": 8,
    "sweep": 9,
    "forecasting": 9,
    "jobs": 10,
    "tuning": 10,
    "cli": 11,
    "__main__": 12,
}
BASICS = {
    "bars",
    "settings",
    "config",
    "runconfig",
    "errors",
    "fingerprint",
    "paths",
    "runlock",
    "target",
    "threadpolicy",
    "tickers",
    "jsonable",
    "tomlfile",
    "__init__",
}
# Third-party modules that only some layers may touch.
ONLY_IN = {
    "typer": {"cli"},
    "rich": {"cli"},
    "sqlite3": {"store"},
    "yfinance": {"sources"},
    "curl_cffi": {"sources"},
    "distributed": {"execution"},
    "dask": {"execution"},
    "onnxruntime": {"models"},
    "optuna": {"tuning"},
}
NO_TORCH = {"sources", "store", "data", "universe", "prep", "evaluation", "inference", "forecasting"}
# The lazy-import rule: an import inside a function is for weight only. It may name a heavy
# third-party package, or a package module that imports one as it loads (directly or through
# the modules it imports). The CLI may also import any package module lazily: a command
# imports its library when it runs, so that `--help` loads none of it.
HEAVY = {
    "pandas",
    "torch", "onnx", "onnxruntime", "dask", "distributed", "matplotlib", "scipy", "yfinance",
    "curl_cffi", "exchange_calendars", "optuna", "arch", "safetensors",
    "rich",  # 0.03-0.05 s: a command that prints JSON (a cron forecast) loads none of it
}  # fmt: skip
# Standard-library modules heavy enough to import only where used: importlib.metadata loads
# email, zipfile and csv (17 ms of a cold forecast).
HEAVY_STDLIB = {"importlib.metadata"}
LAZY_ANYTHING = {"cli"}


def modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package at `root`."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imports_of(path: Path, name: str, is_package: bool) -> set[str]:
    """Absolute names imported anywhere in the module (functions included)."""
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _from_module(node, package)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return found


def _from_module(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a `from ... import` names, relative imports resolved."""
    base = node.module or ""
    if not node.level:
        return base
    anchor = package.split(".")
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, base] if base else anchor)


def lazy_imports(path: Path, name: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute name) of every import inside a function body."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if is_package else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.Import):
                found.extend((node.lineno, a.name) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                found.append((node.lineno, _from_module(node, package)))
    return sorted(set(found))


def top_level_imports(path: Path, name: str, is_package: bool) -> set[str]:
    """Names imported as the module loads: everything but function bodies and TYPE_CHECKING."""
    tree = ast.parse(path.read_text(), str(path))
    lazy = {n for _, n in lazy_imports(path, name, is_package)}
    typing_only: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module:
                    typing_only.add(inner.module)
    return imports_of(path, name, is_package) - lazy - typing_only


def heavy_modules(root: Path) -> set[str]:
    """Package modules that load a HEAVY package as they load, directly or through others."""
    mods = modules(root)
    loads = {name: top_level_imports(path, name, path.name == "__init__.py") for name, path in mods.items()}
    heavy = {n for n, deps in loads.items() if any(d.split(".")[0] in HEAVY for d in deps)}
    grew = True
    while grew:
        grew = False
        for n, deps in loads.items():
            if n not in heavy and any(d in heavy for d in deps):
                heavy.add(n)
                grew = True
    return heavy


def lazy_violations(root: Path) -> list[str]:
    """Imports inside functions that no weight justifies: they belong at the top of the module."""
    mods = modules(root)
    heavy = heavy_modules(root)
    problems = []
    for name, path in mods.items():
        for line, dep in lazy_imports(path, name, path.name == "__init__.py"):
            top = dep.split(".")[0]
            if top in HEAVY or dep in heavy or dep in HEAVY_STDLIB:
                continue
            if top == root.name and layer(name) in LAZY_ANYTHING:
                continue
            problems.append(
                f"{path.relative_to(root.parent)}:{line} imports {dep} inside a function; it is not"
                " heavy: import it at the top of the module"
            )
    return problems


def layer(module: str) -> str:
    """The layer a module belongs to: its sub-package, or "basics" for a top-level module."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in BASICS:
        return "basics"
    return parts[1]


def rank(layer_name: str) -> int:
    return 0 if layer_name == "basics" else RANKS.get(layer_name, -1)


def graph(root: Path) -> dict[str, set[str]]:
    """Module -> the package modules it imports."""
    mods = modules(root)
    out = {}
    for name, path in mods.items():
        raw = imports_of(path, name, path.name == "__init__.py")
        out[name] = {m for m in raw if m in mods and m != name}
        out[name] |= {m for m in raw if m.split(".")[0] != root.name}  # third-party, for ONLY_IN
    return out


def violations(root: Path) -> list[str]:
    """Every upward or sideways import, layer-restricted library use, and import cycle."""
    g = graph(root)
    internal = {m: {d for d in deps if d in g} for m, deps in g.items()}
    problems = []
    for mod, deps in g.items():
        here = layer(mod)
        if rank(here) < 0:
            problems.append(f"{mod}: package {here!r} has no place in the layer order")
            continue
        for dep in sorted(deps):
            if dep in g:
                there = layer(dep)
                if there != here and not rank(there) < rank(here):
                    problems.append(f"{mod} imports {dep}: {there} is not below {here}")
                continue
            top = dep.split(".")[0]
            allowed = ONLY_IN.get(top)
            if allowed is not None and here not in allowed:
                problems.append(f"{mod} imports {top}, which only {', '.join(sorted(allowed))} may use")
            if top == "torch" and here in NO_TORCH:
                problems.append(f"{mod} imports torch; {here} must work without it")
    problems.extend(f"import cycle: {' -> '.join(c)}" for c in cycles(internal))
    return problems


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """One representative cycle per strongly connected component larger than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append([*sorted(component), sorted(component)[0]])

    for v in sorted(g):
        if v not in index:
            visit(v)
    return found


def diagram(root: Path) -> str:
    """The layer diagram of ARCHITECTURE.md, drawn from RANKS and each package's docstring:
    the highest layer first, packages of one rank on one line, the basics at the bottom."""
    import ast

    by_rank: dict[int, list[str]] = {}
    for name, rank in RANKS.items():
        if (root / name / "__init__.py").exists():
            by_rank.setdefault(rank, []).append(name)
    lines = []
    for rank in sorted(by_rank, reverse=True):
        for name in sorted(by_rank[rank]):
            doc = ast.get_docstring(ast.parse((root / name / "__init__.py").read_text())) or ""
            lines.append(f" {name + '/':<13} {doc.splitlines()[0] if doc else ''}")
        lines.append("   |" if rank > 1 else "")
    basics = "  ".join(sorted(b for b in BASICS if b != "__init__"))
    lines.append(f" {basics}    the shared basics, importable from anywhere")
    return "\n".join(line for line in lines if line != "") + "\n"
