"""`make bench`: the review at hospital scale, against the floor this machine sets.

For each size (S = 100, M = 1,000, L = 10,000 groups; events in proportion, about 30
million sign-in and access rows at L) it generates the organisation once (cached under
`bench/cache/`), runs `ccreview review` as a subprocess and records the seconds of each
stage, the peak RSS of the whole run, input rows, findings and spreadsheet cells written.
In the same run it measures the floor for the same work: DuckDB's raw `read_csv` of the
same event files, and xlsxwriter in constant-memory mode writing the same number of cells;
and the ingest's own floor as issue 18 defines it (one typed `read_csv` per kind of event
file, rows keeping their file and line).
Results: `bench/results.json` and `bench/results.md`.

Targets (L): end-to-end <= 3x the floor; peak RSS <= 4 GB; seconds per group within 25%
from S to L. This is a benchmark, not a test: nothing here fails the build.

The evidence store (issue 17), in the same run: after the first review (which fills
`evidence.duckdb`), a second review of the unchanged folder, a review a day later with one
more day of sign-in events (a new export beside the others), and the daily census on the
same store; each as a share of the first review's stage seconds (targets: <= 20%, <= 25%,
<= 15%).

Last, the command line's answers to `--help` and to usage errors, each a whole process
(target, issue 18: <= 1 s); `--command-line-only` measures them alone, added to the
existing results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / "cache"
AS_OF = "2026-11-01"
SEED = 9
SIZES = {"S": 100, "M": 1_000, "L": 10_000}
EVENTS_PER_PERSON = 120  # sign-ins per person; access logs add about as many again
BIN = Path(sys.executable).parent


def _generate(size: str, groups: int) -> Path:
    folder = CACHE / f"{size}-{groups}-{SEED}-{EVENTS_PER_PERSON}"
    stamp = folder / "generation.json"
    if stamp.exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    t = time.perf_counter()
    subprocess.run([str(BIN / "ccreview"), "generate", "--out", str(folder), "--groups",
                    str(groups), "--seed", str(SEED), "--as-of", AS_OF,
                    "--events-per-person", str(EVENTS_PER_PERSON)], check=True)
    print(f"  generated {size} in {time.perf_counter() - t:.0f}s", flush=True)
    return folder


def _review(folder: Path, out: Path, command: str = "review", as_of: str = AS_OF,
            fresh: bool = True, extra: tuple[str, ...] = (), env: dict | None = None
            ) -> tuple[float, dict[str, float], int, str]:
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run([str(BIN / "ccreview"), command, "--input", str(folder), "--out",
                           str(out), "--as-of", as_of, *extra], capture_output=True,
                          text=True, check=False, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"ccreview {command} failed on {folder}: "
                         f"{proc.stderr.strip()[-300:]}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stages = {}
    m = re.search(r"^Stages: (.*)$", proc.stdout, re.M)
    if m:
        for part in m.group(1).split(", "):
            name, secs = part.rsplit(" ", 1)
            stages[name] = float(secs.rstrip("s"))
    return seconds, stages, max(peak_kb, before), proc.stdout


def _one_more_day(folder: Path, day: str, target: Path) -> Path:
    """The folder a day later: the same files (hard links) plus one more day of Entra
    sign-ins, as a new export: every 30th sign-in of the existing logs, moved to `day`
    with a new Request ID."""
    import duckdb

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(folder, target, copy_function=os.link)
    logs = sorted(str(p) for p in (folder / "signins").glob("*.csv"))
    con = duckdb.connect()
    new = target / "signins" / f"entra_sign_ins_{day}.csv"
    con.execute(f"""
        copy (
            select * replace (
                strftime(timestamp '{day}' + to_seconds((n * 7919) % 86400),
                         '%Y-%m-%dT%H:%M:%SZ') as "Date (UTC)",
                uuid()::varchar as "Request ID")
            from (select *, row_number() over () as n
                  from read_csv(?, header=true, all_varchar=true, union_by_name=true))
            where n % 30 = 0
        ) to '{new}' (header, delimiter ',')""", [logs])
    con.close()
    return target


def _on_a_running_server(folders: dict[str, Path]) -> dict:
    """The fixed cost where production runs: against a Prefect server that is already up
    (`docs/production.md`), not the temporary one a lone command starts. One server: S
    reviewed three times (the first warms the server: its database, the flow's first
    registration), then each larger size once; per size, the least fixed cost after the
    warming run."""
    import tempfile
    import urllib.request

    home = Path(tempfile.mkdtemp(prefix="ccreview-bench-prefect-"))
    port = 4300 + os.getpid() % 500
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    plan = [("S", folders["S"])] * 3 + [(s, f) for s, f in folders.items() if s != "S"]
    out = CACHE / "out-server"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the Prefect server for the bench did not start") from None
                time.sleep(0.5)
        runs = []
        for size, folder in plan:
            seconds, stages, _, _ = _review(folder, out, env={"PREFECT_HOME": str(home),
                                                              "PREFECT_API_URL": url})
            runs.append({"size": size, "seconds_end_to_end": round(seconds, 2),
                         "stage_seconds": stages,
                         "fixed_seconds": round(seconds - sum(stages.values()), 2)})
            print(f"  {size} on the running server: fixed {runs[-1]['fixed_seconds']} s",
                  flush=True)
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    by_size: dict[str, float] = {}
    for run in runs[1:]:
        by_size[run["size"]] = min(by_size.get(run["size"], run["fixed_seconds"]),
                                   run["fixed_seconds"])
    return {"runs": runs, "fixed_seconds": by_size["S"], "fixed_seconds_by_size": by_size}


# what a person types by mistake or to ask, and the command line's answer (issue 18:
# "answers --help and usage errors in <= 1 s"): the arguments, and the exit status wanted
COMMAND_LINE_ANSWERS = (
    (("--help",), 0),
    (("review", "--help"), 0),
    (("census", "--help"), 0),
    (("review",), 2),  # --input missing
    (("review", "--input", "/nonexistent/ccreview-bench", "--out", "/nonexistent/o"), 2),
    (("revue",), 2),  # no such command
    # a folder without what a review needs: found after the temporary server has started
    (("review", "--input", "{empty}", "--out", "{empty}/out"), 2),
)


def _command_line_answers(repeats: int = 5) -> dict:
    """Seconds for the command line to answer `--help` and usage errors, as a process
    (start, imports, answer, exit): the median of `repeats` runs of each, after one run
    that warms the file cache."""
    import tempfile

    timings = {}
    empty = tempfile.mkdtemp(prefix="ccreview-bench-empty-")
    for template, status in COMMAND_LINE_ANSWERS:
        argv = [a.replace("{empty}", empty) for a in template]
        seconds = []
        for i in range(repeats + 1):
            t = time.perf_counter()
            proc = subprocess.run([str(BIN / "ccreview"), *argv], capture_output=True,
                                  text=True, check=False)
            if i:
                seconds.append(time.perf_counter() - t)
            if proc.returncode != status:
                raise SystemExit(f"ccreview {' '.join(argv)} exited {proc.returncode}, not "
                                 f"{status}: {proc.stderr.strip()[-300:]}")
        timings[" ".join(template).replace("{empty}", "EMPTY")] = round(
            sorted(seconds)[len(seconds) // 2], 3)
    shutil.rmtree(empty, ignore_errors=True)
    slowest = max(timings, key=timings.get)
    print(f"  command line: slowest answer {timings[slowest]} s ({slowest})", flush=True)
    return {"median_seconds": timings, "slowest_seconds": timings[slowest]}


def _stage_total(stages: dict[str, float]) -> float:
    return round(sum(stages.values()), 2)


def _store_runs(folder: Path, out: Path, first_stages: dict[str, float]) -> dict:
    """Second review of the unchanged folder, a review a day later with one more day of
    events, the daily census: each on the store the first review filled."""
    first = _stage_total(first_stages)
    day = (dt.date.fromisoformat(AS_OF) + dt.timedelta(days=1)).isoformat()
    _, again, _, _ = _review(folder, out, fresh=False)
    later_folder = _one_more_day(folder, day, out.parent / f"{out.name}-input-plus-a-day")
    _, later, _, _ = _review(later_folder, out, as_of=day, fresh=False)
    census_out = out.parent / f"{out.name}-census"
    shutil.rmtree(census_out, ignore_errors=True)
    _, census, _, _ = _review(later_folder, census_out, "census", as_of=day,
                              extra=("--store", str(out / "evidence.duckdb")))
    shutil.rmtree(later_folder, ignore_errors=True)
    runs = {"first_review": first_stages, "second_review_unchanged": again,
            "review_plus_one_day_of_events": later, "daily_census": census}
    return {name: {"stage_seconds": st, "total": _stage_total(st),
                   "share_of_first": round(_stage_total(st) / first, 3) if first else None}
            for name, st in runs.items()}


def _cells_written(out: Path) -> int:
    import openpyxl

    cells = 0
    for path in [*out.glob("*.xlsx"), *(out / "census").glob("*.xlsx"),
                 *(out / "attestation").glob("*.xlsx")]:
        wb = openpyxl.load_workbook(path, read_only=True)
        for ws in wb.worksheets:  # the sheet's recorded dimensions: no cell is read
            cells += (ws.max_row or 0) * (ws.max_column or 0)
        wb.close()
    return cells


def _floor_read_csv(folder: Path) -> tuple[float, int]:
    import duckdb

    files = sorted(str(p) for p in [*(folder / "signins").glob("*.csv"),
                                     *(folder / "access_logs").glob("*.csv")])
    con = duckdb.connect()
    t = time.perf_counter()
    rows = sum(con.execute("select count(*) from read_csv(?, header=true, all_varchar=true)",
                           [f]).fetchall()[0][0] for f in files)
    return time.perf_counter() - t, rows


# the columns the ingest keeps from each kind of event file, typed as it types them
_TYPED_READS = {
    "signins": """select filename, try_cast(replace("Date (UTC)", 'Z', '') as timestamp)
                      as occurred_at, "Request ID" as request_id, "Username" as "user",
                      "Application" as application, "Status" = 'Success' as success""",
    "access_logs": """select filename, try_cast(replace("timestamp", 'Z', '') as timestamp)
                          as occurred_at, "user", application,
                          try_cast(success as boolean) as success""",
}


def _floor_typed_read(folder: Path) -> float:
    """Issue 18's floor for the ingest: one `read_csv` over all event files of a kind,
    typed in the same pass, into a table whose rows keep their file and line (a new
    table's rowid is the read's order: a file's line is its rowid less the file's first,
    plus the header)."""
    import duckdb

    con = duckdb.connect()
    t = time.perf_counter()
    for kind, select in _TYPED_READS.items():
        files = sorted(str(p) for p in (folder / kind).glob("*.csv"))
        con.execute(f"create table {kind} as {select} from read_csv(?, header=true, "
                    "all_varchar=true, filename=true)", [files])
        con.execute(f"create table {kind}_lines as select filename, min(rowid) - 2 as "
                    f"line_offset from {kind} group by filename")
    return time.perf_counter() - t


def _floor_xlsx(cells: int, tmp: Path) -> float:
    import xlsxwriter

    cols = 12
    rows = max(cells // cols, 1)
    t = time.perf_counter()
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    ws = wb.add_worksheet()
    value = "CS0001234 someone@example.org"
    for r in range(rows):
        ws.write_row(r, 0, [value] * cols)
    wb.close()
    return time.perf_counter() - t


def run(sizes: list[str]) -> dict:
    CACHE.mkdir(parents=True, exist_ok=True)
    results = {"date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
               "events_per_person": EVENTS_PER_PERSON, "sizes": {}}
    for size in sizes:
        groups = SIZES[size]
        print(f"{size}: {groups} groups", flush=True)
        folder = _generate(size, groups)
        out = CACHE / f"out-{size}"
        seconds, stages, peak_kb, _ = _review(folder, out)
        meta = json.loads((folder / "generation.json").read_text())
        manifest = json.loads((out / "run_manifest.json").read_text())
        input_rows = sum(t["read"] for i in manifest["inputs"] for t in i["tables"].values())
        event_rows = sum(t["read"] for i in manifest["inputs"]
                         for name, t in i["tables"].items() if name == "sign_in_events")
        findings = sum(manifest["findings_by_rule"].values())
        cells = _cells_written(out)
        read_floor, floor_rows = _floor_read_csv(folder)
        typed_floor = _floor_typed_read(folder)
        xlsx_floor = _floor_xlsx(cells, CACHE / f"floor-{size}.xlsx")
        floor = read_floor + xlsx_floor
        row = {
            "groups": groups, "people": meta["people"], "input_rows": input_rows,
            "event_rows": event_rows, "findings": findings, "cells_written": cells,
            "seconds_end_to_end": round(seconds, 2), "stage_seconds": stages,
            "seconds_per_group": round(seconds / groups, 5),
            "rows_per_second_ingest": round(input_rows / max(stages.get("ingest", 0), 1e-9)),
            "cells_per_second_report": round(cells / max(stages.get("report", 0), 1e-9)),
            "peak_rss_mb": round(peak_kb / 1024),
            "floor": {"duckdb_read_csv_seconds": round(read_floor, 2),
                      "duckdb_read_csv_rows": floor_rows,
                      "duckdb_typed_read_seconds": round(typed_floor, 2),
                      "xlsxwriter_constant_memory_seconds": round(xlsx_floor, 2),
                      "seconds": round(floor, 2)},
            "ratio_to_floor": round(seconds / floor, 2) if floor else None,
        }
        row["fixed_seconds"] = round(seconds - sum(stages.values()), 2)
        row["store"] = _store_runs(folder, out, stages)
        results["sizes"][size] = row
        print(f"  {seconds:.1f}s end to end ({row['ratio_to_floor']}x floor), "
              f"peak {row['peak_rss_mb']} MB, {findings} findings, {cells} cells", flush=True)
    if "S" in sizes:
        print("On a running Prefect server", flush=True)
        results["running_server"] = _on_a_running_server(
            {size: _generate(size, SIZES[size]) for size in sizes})
    print("The command line's answers", flush=True)
    results["command_line"] = _command_line_answers()
    results["targets"] = _targets(results["sizes"], results.get("running_server"),
                                  results["command_line"])
    return results


def _targets(sizes: dict, running_server: dict | None = None,
             command_line: dict | None = None) -> dict:
    out = _speed_targets(sizes)
    if command_line:
        out["command_line_answers_within_1s"] = {
            "seconds": command_line["slowest_seconds"],
            "met": command_line["slowest_seconds"] <= 1}
    if running_server:
        # results from before M and L were measured there name S only
        by_size = running_server.get("fixed_seconds_by_size",
                                     {"S": running_server["fixed_seconds"]})
        for size, fixed in by_size.items():
            out[f"{size}_fixed_cost_within_4s_on_a_running_server"] = {"seconds": fixed,
                                                                        "met": fixed <= 4}
    big = sizes.get("L") or sizes[max(sizes, key=lambda k: sizes[k]["groups"])]
    out["peak_rss_within_4gb"] = {"mb": big["peak_rss_mb"], "met": big["peak_rss_mb"] <= 4096}
    # issue 17: "at 1,000 and 10,000 groups", each
    for size in [k for k in ("M", "L") if k in sizes] or [max(sizes, key=lambda k:
                                                               sizes[k]["groups"])]:
        for name, limit in (("second_review_unchanged", 0.20),
                            ("review_plus_one_day_of_events", 0.25), ("daily_census", 0.15)):
            share = sizes[size].get("store", {}).get(name, {}).get("share_of_first")
            if share is not None:
                out[f"{size}_store_{name}_within_{round(limit * 100)}pct"] = {
                    "share": share, "met": share <= limit}
    small = sizes.get("S")
    if small and big is not small:
        change = big["seconds_per_group"] / small["seconds_per_group"] - 1
        out["seconds_per_group_within_25pct"] = {"change": round(change, 3),
                                                 "met": abs(change) <= 0.25}
    return out


def _speed_targets(sizes: dict) -> dict:
    """Issue 18's targets, for the sizes this run measured."""
    out = {}
    for size, r in sizes.items():
        st, floor = r["stage_seconds"], r["floor"]
        out[f"{size}_fixed_cost_within_4s"] = {"seconds": r["fixed_seconds"],
                                              "met": r["fixed_seconds"] <= 4}
        # the ingest's floor as the issue defines it (typed, with file and line); a
        # results file from before it was measured falls back to the bare read
        ingest_floor = floor.get("duckdb_typed_read_seconds", floor["duckdb_read_csv_seconds"])
        ingest_ratio = round(st.get("ingest", 0) / max(ingest_floor, 1e-9), 2)
        out[f"{size}_ingest_within_1.5x_its_floor"] = {"ratio": ingest_ratio,
                                                      "met": ingest_ratio <= 1.5}
    limits = {"S": ("data quality", 2.0), "L": ("data quality", 5.0)}
    for size, (stage, limit) in limits.items():
        if size in sizes:
            secs = sizes[size]["stage_seconds"].get(stage, 0)
            out[f"{size}_data_quality_within_{limit:g}s"] = {"seconds": secs,
                                                             "met": secs <= limit}
    if "L" in sizes:
        st = sizes["L"]["stage_seconds"]
        share = round(st.get("validate", 0) / max(st.get("ingest", 0), 1e-9), 2)
        out["L_validate_within_half_of_ingest"] = {"share": share, "met": share <= 0.5}
    for size, limit in (("M", 3), ("L", 2)):
        if size in sizes:
            ratio = sizes[size]["ratio_to_floor"]
            out[f"{size}_end_to_end_within_{limit}x_floor"] = {"ratio": ratio,
                                                               "met": ratio <= limit}
    return out


def markdown(results: dict) -> str:
    lines = ["# Benchmark", "", f"Run {results['date']} on {results['machine']['cpus']} cores "
             f"(`make bench`); {results['events_per_person']} sign-ins per person.", "",
             "| size | groups | people | input rows | findings | cells | ingest s | "
             "validate s | data quality s | transform s | report s | end to end s | s/group | "
             "floor s | x floor | peak RSS MB |", "|" + "---|" * 16]
    for size, r in results["sizes"].items():
        st = r["stage_seconds"]
        lines.append(
            f"| {size} | {r['groups']} | {r['people']} | {r['input_rows']} | {r['findings']} | "
            f"{r['cells_written']} | {st.get('ingest', '')} | {st.get('validate', '')} | "
            f"{st.get('data quality', '')} | {st.get('transform', '')} | "
            f"{st.get('report', '')} | {r['seconds_end_to_end']} | {r['seconds_per_group']} | "
            f"{r['floor']['seconds']} | {r['ratio_to_floor']} | {r['peak_rss_mb']} |")
    lines += ["", "Each stage beside its own floor (ingest: one DuckDB `read_csv` over all "
              "event files of a kind, typed in the same pass, into a table that keeps each "
              "row's file and line, as issue 18 defines it; the bare read: a `count(*)` of "
              "each file untyped, the end-to-end floor's part; report: xlsxwriter in constant "
              "memory writing the same number of cells); fixed: end to end minus the stages "
              "(process start, imports, the Prefect server and flow, the work after the "
              "report).", "",
              "| size | ingest s | its floor s | bare read s | validate s | data quality s | "
              "transform s | report s | its floor s | fixed s | end to end s |",
              "|" + "---|" * 11]
    for size, r in results["sizes"].items():
        st, floor = r["stage_seconds"], r["floor"]
        lines.append(
            f"| {size} | {st.get('ingest', '')} | "
            f"{floor.get('duckdb_typed_read_seconds', '')} | {floor['duckdb_read_csv_seconds']} | "
            f"{st.get('validate', '')} | {st.get('data quality', '')} | "
            f"{st.get('transform', '')} | {st.get('report', '')} | "
            f"{floor['xlsxwriter_constant_memory_seconds']} | {r.get('fixed_seconds', '')} | "
            f"{r['seconds_end_to_end']} |")
    server = results.get("running_server")
    if server:
        runs = ", ".join(f"{r.get('size', 'S')} {r['fixed_seconds']} s "
                         f"({r['seconds_end_to_end']} s end to end)" for r in server["runs"])
        lines += ["", "Fixed cost where production runs, against a Prefect server already up "
                  "(the temporary server above starts with every command): S reviewed three "
                  "times, the first warming the server, then each larger size once; fixed "
                  f"cost of each run in order: {runs}."]
    answers = results.get("command_line")
    if answers:
        each = ", ".join(f"`ccreview {argv}` {secs} s"
                         for argv, secs in answers["median_seconds"].items())
        lines += ["", "The command line's answer to `--help` and to usage errors, as a whole "
                  f"process (median of five runs each; EMPTY is an empty folder, refused once the "
                  f"temporary server has started): {each}."]
    lines += ["", "Evidence store: stage seconds of each run on the store the first review "
              "filled, and their share of the first review's.", "",
              "| size | first review s | second review, unchanged | plus one day of events | "
              "daily census |", "|---|---|---|---|---|"]
    for size, r in results["sizes"].items():
        st = r.get("store")
        if not st:
            continue
        cells = [f"{st[k]['total']} s ({st[k]['share_of_first']:.0%})"
                 for k in ("second_review_unchanged", "review_plus_one_day_of_events",
                           "daily_census")]
        lines.append(f"| {size} | {st['first_review']['total']} | " + " | ".join(cells) + " |")
    lines += ["", "Targets:", ""]
    for name, t in results["targets"].items():
        lines.append(f"- {name}: {'met' if t['met'] else 'MISSED'} ({t})")
    lines += ["", "Why a target is missed, and the profile of where the time goes: "
              "ARCHITECTURE.md, section *Performance*."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="S,M,L", help="comma-separated: S, M, L")
    parser.add_argument("--running-server-only", action="store_true",
                        help="measure only the runs on a running Prefect server (of "
                             "--sizes), added to the existing results")
    parser.add_argument("--command-line-only", action="store_true",
                        help="measure only the command line's answers to --help and usage "
                             "errors, added to the existing results")
    args = parser.parse_args()
    sizes = [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES]
    if bad:
        raise SystemExit(f"--sizes: unknown size(s) {bad}; use S, M, L")
    if args.running_server_only or args.command_line_only:
        results = json.loads((ROOT / "bench" / "results.json").read_text())
        if args.running_server_only:
            results["running_server"] = _on_a_running_server(
                {size: _generate(size, SIZES[size]) for size in ["S", *sizes]})
        if args.command_line_only:
            results["command_line"] = _command_line_answers()
        results["targets"] = _targets(results["sizes"], results.get("running_server"),
                                      results.get("command_line"))
        (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (ROOT / "bench" / "results.md").write_text(markdown(results))
        print(markdown(results))
        return
    results = run(sizes)
    (ROOT / "bench" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "bench" / "results.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    main()
