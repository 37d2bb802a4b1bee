"""The report stage alone on each task runner, over one finished warehouse: the speed-up
of rendering on a process pool or a local Dask cluster against one task at a time.

    .venv/bin/python -m bench.render_runners --warehouse OUT/warehouse.duckdb \
        --input INPUT_DIR --as-of 2026-11-01 [--workers 2] [--runners sequential,process,dask]

Writes bench/render_runners.json. Each runner renders into its own temporary folder from
its own copy of the warehouse; the figures include each pool's start-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ccreview import prefect_runtime  # noqa: E402

prefect_runtime.configure()  # before prefect is imported

from prefect import flow  # noqa: E402

from ccreview.flows.access_review import ALL_REPORTS, report  # noqa: E402

RESULTS = Path(__file__).parent / "render_runners.json"


@flow(name="bench-render")
def render_only(warehouse: str, out_dir: str, as_of: str, input_dir: str, runner: str,
                workers: int) -> float:
    start = time.perf_counter()
    report(warehouse, out_dir, as_of, input_dir, None, ALL_REPORTS, None, runner, workers)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", required=True, type=Path)
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runners", default="sequential,process,dask")
    args = parser.parse_args()
    results = {"workers": args.workers, "cpus": os.cpu_count(), "seconds": {}}
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        for runner in args.runners.split(","):
            out = Path(tmp) / runner
            out.mkdir()
            warehouse = out / ".warehouse.duckdb.building"
            shutil.copyfile(args.warehouse, warehouse)
            seconds = render_only(str(warehouse), str(out), args.as_of, str(args.input),
                                  runner, args.workers)
            results["seconds"][runner] = round(seconds, 1)
            print(f"{runner:<10} {seconds:7.1f} s", flush=True)
            shutil.rmtree(out)
    base = results["seconds"].get("sequential")
    if base:
        results["speed_up"] = {r: round(base / s, 2) for r, s in results["seconds"].items()}
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
