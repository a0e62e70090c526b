"""The package tree keeps its layers: imports go down only, nothing cycles, every package says its job."""

from __future__ import annotations

import ast
from pathlib import Path

import layering
from conftest import ROOT

PACKAGE = ROOT / "src" / "lstmcast"


def test_imports_go_down_the_layers_and_never_cycle() -> None:
    assert layering.violations(PACKAGE) == []


def test_only_the_shared_basics_sit_at_the_top() -> None:
    top = {p.stem for p in PACKAGE.glob("*.py")}
    assert top <= layering.BASICS | {"__main__"}, top - layering.BASICS
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(layering.RANKS) - {"__main__"}


def test_every_module_opens_with_a_docstring_saying_its_job() -> None:
    missing = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "py.typed" and not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert missing == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "lstmcast"
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    for d in {p.parent for p in root.rglob("*.py")}:
        (d / "__init__.py").touch()
    return root


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {"prep/windows.py": "def f():\n    from lstmcast.training.loop import fit\n", "training/loop.py": ""},
    )
    assert layering.violations(root) == [
        "lstmcast.prep.windows imports lstmcast.training.loop: training is not below prep"
    ]


def test_the_check_catches_a_cycle_inside_a_package_and_a_sideways_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "training/run.py": "from lstmcast.training import registry\n",
            "training/registry.py": "def f():\n    from .run import train\n",
            "sources/yahoo.py": "from lstmcast.store.prices import COLUMNS\n",
            "store/prices.py": "",
        },
    )
    found = layering.violations(root)
    assert "lstmcast.sources.yahoo imports lstmcast.store.prices: store is not below sources" in found
    assert any(v.startswith("import cycle:") and "training.registry" in v for v in found)


def test_the_check_keeps_typer_in_the_cli_and_torch_out_of_prep(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"prep/scaling.py": "import torch\n", "training/loop.py": "import typer\n"})
    found = layering.violations(root)
    assert "lstmcast.prep.scaling imports torch; prep must work without it" in found
    assert "lstmcast.training.loop imports typer, which only cli may use" in found
