"""What `pip install .` puts into site-packages: one import root, and every file the
pipeline reads at run time (SQL models, policy and catalog CSVs)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_installs_one_top_level_name_with_its_data(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(tmp_path), str(ROOT)], check=True,
                   capture_output=True)
    (wheel,) = tmp_path.glob("ccreview-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"ccreview"}
    sql = {n for n in names if n.endswith(".sql")}
    assert len(sql) == len(list((ROOT / "transforms").rglob("*.sql")))
    folders = {"ccreview": "ccreview", "flows": "ccreview/flows",
               "contracts": "ccreview/contracts", "transforms": "ccreview/transforms",
               "reports": "ccreview/reports"}
    sources = {f"{target}/{p.relative_to(ROOT / folder).as_posix()}"
               for folder, target in folders.items() for p in (ROOT / folder).rglob("*.py")}
    assert sources <= set(names), sorted(sources - set(names))  # no module left behind
    for needed in ("ccreview/contracts/findings_catalog.csv",
                   "ccreview/contracts/policy/entitlement_policy.csv",
                   "ccreview/contracts/policy/suffix_classes.csv",
                   "ccreview/contracts/policy/applications.csv",
                   "ccreview/flows/access_review.py", "ccreview/core/config.py"):
        assert needed in names


def test_the_command_answers_from_any_folder(tmp_path):
    cli = Path(sys.executable).parent / "ccreview"
    done = subprocess.run([str(cli), "--help"], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and "review" in done.stdout
