"""The stages import in one direction only:

    the command line (ccreview.cli)
      -> the flows, the generator and how Prefect is reached (ccreview.flows,
         ccreview.synthetic, ccreview.prefect_runtime)
        -> the stages, each on its own (ccreview.sources — pulling from the source
           systems —, ccreview.contracts, ccreview.transforms, ccreview.reports: none
           imports another)
          -> the core (ccreview.core: config, errors, identifiers, vocabularies, history)

Read from the source (every import statement, also those inside functions), so a new
import that runs back up fails here with the module and the line, before it can knot."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# source folder -> package it installs as (pyproject.toml: package-dir)
FOLDERS = {"ccreview": "ccreview", "flows": "ccreview.flows",
           "contracts": "ccreview.contracts", "transforms": "ccreview.transforms",
           "reports": "ccreview.reports"}
LAYERS = (
    ("ccreview.cli",),
    ("ccreview.flows", "ccreview.synthetic", "ccreview.prefect_runtime"),
    ("ccreview.sources", "ccreview.contracts", "ccreview.transforms", "ccreview.reports"),
    ("ccreview.core",),
)


def _unit(module: str) -> tuple[int, str] | None:
    """(layer, unit) a module belongs to; None outside the project."""
    for depth, units in enumerate(LAYERS):
        for unit in units:
            if module == unit or module.startswith(unit + "."):
                return depth, unit
    return None


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            found[".".join((package, *parts)).removesuffix(".__init__")] = path
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return out


def test_every_module_belongs_to_a_layer():
    assert not [m for m in _modules() if m != "ccreview" and _unit(m) is None]


def test_stages_import_in_one_direction_only():
    wrong = []
    for module, path in _modules().items():
        here = _unit(module)
        if here is None:
            continue
        for line, name in _imports(path):
            there = _unit(name)
            if there is None or there[1] == here[1]:
                continue
            if there[0] <= here[0]:  # the same layer (a sibling) or one above
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_nothing_imports_the_old_top_level_packages():
    old = ("contracts", "flows", "reports", "transforms")
    stray = [f"{p.relative_to(ROOT)}:{line} {name}"
             for p in [*_modules().values(), *(ROOT / "tests").rglob("*.py"),
                       *(ROOT / "bench").rglob("*.py")]
             for line, name in _imports(p) if name.split(".")[0] in old]
    assert not stray, "\n".join(stray)


def test_reports_select_from_models_and_join_nothing():
    """Report-shaped joins belong in the SQL graph (a model with a key), not in Python."""
    import re

    joins = [f"{p.relative_to(ROOT)}:{n}" for p in (ROOT / "reports").glob("*.py")
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\b(inner|left|right|full|cross|outer)\s+join\b|\bjoin\s+\(?select\b"
                          r"|\bjoin\s+\w+(\s+as\s+\w+)?\s+(using|on)\b", line, re.IGNORECASE)]
    assert not joins, "\n".join(joins)


def test_the_command_line_answers_help_without_loading_prefect():
    """`ccreview --help` and usage errors stay instant: Prefect (about a second to import)
    and the data libraries load only when a run starts."""
    import subprocess
    import sys

    code = ("import sys, ccreview.cli as c\n"
            "c.build_parser()\n"
            "print(sorted(m for m in ('prefect', 'duckdb', 'pandas', 'great_expectations') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_a_usage_error_in_a_run_loads_no_data_library(tmp_path):
    """A run's usage error (an input folder that is not there) is answered before pandas,
    pandera, DuckDB or Prefect load (0.74 s of imports when they came first)."""
    import subprocess
    import sys

    code = ("import sys, ccreview.cli as c\n"
            f"sys.argv = ['ccreview', 'review', '--input', {str(tmp_path / 'none')!r}, "
            f"'--out', {str(tmp_path / 'out')!r}]\n"
            "print(c.main())\n"
            "print(sorted(m for m in ('prefect', 'duckdb', 'pandas', 'pandera', "
            "'great_expectations') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert run.stdout.split() == ["2", "[]"]
    assert "not a folder" in run.stderr
