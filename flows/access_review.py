"""The periodic access review as a Prefect flow:
ingest -> validate -> data quality -> transform -> report.

Tasks pass paths (the warehouse file, the output folder), never DataFrames or connections,
and log counts, never data values. Nothing holding input data is cached (`NO_CACHE`).
The warehouse is built under a temporary name and renamed only once the reports are
written, so a failed run leaves the previous run's warehouse and reports in place.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from ccreview.contracts.completeness import (
    accounts_by_application,
    incomplete_export,
    missing_source,
    sign_in_evidence_ends_early,
)
from ccreview.contracts.expectations import DataDocsBuild, data_docs_paths
from ccreview.contracts.ingest import ingest_inputs, validate_ingested
from ccreview.contracts.readers import require_inputs
from ccreview.contracts.store import (
    STORE,
    assemble_from_store,
    collect_with_store,
    commit_run,
    require_stored,
    stored_rows_summary,
)
from ccreview.core import redaction, run_lock
from ccreview.core.config import load_config
from ccreview.core.errors import UsageError
from ccreview.core.history import HISTORY, recording_run, refuse_silent_replacement
from ccreview.core.patient_data import PATIENT_CATALOG, patient_data_path
from ccreview.core.progress import progress_bar
from ccreview.flows.notify import notify_failure
from ccreview.flows.runners import (
    default_workers,
    make_task_runner,
    resolve_runner,
    stopping_meanwhile,
)
from ccreview.reports.access_review import ReviewContext, write_review_reports
from ccreview.reports.attestation import (
    finish_attestation,
    prepare_attestation,
    write_attestation_shard,
)
from ccreview.reports.dormant_accounts import MODELS as DORMANT_MODELS
from ccreview.reports.dormant_accounts import write_dormant_reports
from ccreview.reports.files import replace_folder
from ccreview.reports.r2w import (
    CENSUS_MODELS,
    DISTRIBUTION_MODELS,
    census_encrypted,
    census_password,
    finish_census,
    prepare_census,
    write_census_shard,
    write_distribution,
)
from ccreview.reports.run_manifest import unchanged_run, write_run_manifest
from ccreview.transforms.warehouse import (
    build_models,
    connect_warehouse,
    load_reference_tables,
    run_fingerprint,
)

if TYPE_CHECKING:
    from prefect import Task
    from prefect.client.schemas.objects import TaskRun
    from prefect.states import State
    from prefect.task_runners import TaskRunner

T = TypeVar("T")

WAREHOUSE = "warehouse.duckdb"
ALL_REPORTS = ("review", "dormant", "r2w", "census")
# Data Docs are built aside and replace out/data_quality only when the whole run succeeded
PENDING_DATA_DOCS = ".data_quality.pending"
# and the reports are rendered aside and moved into place once every one is written
PENDING_REPORTS = ".reports.pending"

# the models each report reads (None: the review and its attestation workbooks read them
# all); a run builds only what its reports need
MODELS_READ: dict[str, tuple[str, ...] | None] = {
    "review": None, "dormant": (*DORMANT_MODELS, "int_evidence_age"),  # (its refusal's)
    "r2w": DISTRIBUTION_MODELS,
    "census": CENSUS_MODELS}


def models_needed(reports: tuple[str, ...]) -> tuple[str, ...] | None:
    """The models a run of `reports` must build (with their dependencies); None: all."""
    needed: list[str] = []
    for name in reports:
        read = MODELS_READ[name]
        if read is None:
            return None
        needed += [m for m in read if m not in needed]
    return tuple(needed)


class StageError(RuntimeError):
    """A stage failed. Its message names the stage and the exception class only: the
    original message may quote input data (PHI), and Prefect logs and stores it."""

    one_line = True


def _sanitized(stage: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Re-raise a stage's unexpected exception without its message (CCREVIEW_DEBUG=1, set
    by `ccreview --debug`, keeps the original for a developer)."""
    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(fn)
        def run(*args: object, **kwargs: object) -> T:
            try:
                return fn(*args, **kwargs)
            except (UsageError, StageError, OSError):
                raise  # our own one-line messages; OS errors name a path, retried on ingest
            except Exception as exc:
                if getattr(exc, "one_line", False):
                    raise  # ours, naming only what broke (e.g. a model's grain), no data
                if os.environ.get("CCREVIEW_DEBUG") == "1":
                    # the detail goes to the terminal only: never to a log handler,
                    # Prefect's database or a file (it may quote input data)
                    traceback.print_exc(file=sys.__stderr__)
                raise StageError(f"the {stage} stage failed ({exc.__class__.__name__}); "
                                 "rerun with --debug for details") from None
        return run
    return wrap


def _retry_on_io_error(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry reading only when the failure looks transient (an OS-level I/O error)."""
    try:
        state.result()
    except UsageError:
        return False
    except OSError:
        return True
    except Exception:
        return False
    return False


@task(name="ingest", retries=2, retry_delay_seconds=2, retry_condition_fn=_retry_on_io_error,
      cache_policy=NO_CACHE)
@_sanitized("ingest")
def ingest(input_dir: str, warehouse: str, config_path: str | None, as_of: str | None = None,
           store: str | None = None, run: str = "review") -> dict[str, int]:
    """Read the input folder into the warehouse: through the evidence store (`store`: its
    path) — new files read and kept, files seen before taken from it — or, without one,
    every file of the folder from scratch."""
    logger = get_run_logger()
    config = load_config(config_path)
    kept: dict[str, int] = {}
    with connect_warehouse(warehouse) as con:
        if store:  # rows are copied from the store by `assemble`, unless nothing changed
            files, summary = collect_with_store(Path(input_dir), con, Path(store),
                                                dt.date.fromisoformat(as_of or ""), config,
                                                run)
            kept = {"store_new": summary.new, "store_seen_before": summary.seen_before,
                    "store_from_store": summary.from_store, "store_not_read": summary.not_read,
                    "store_rows_already_stored": summary.rows_already_stored,
                    "store_read_again": summary.read_again}
            logger.info("evidence store: %d files read and stored (%d of them read again, "
                        "held as read by earlier readers; %d of their rows already stored "
                        "from an earlier file), %d seen before (not read again), %d no "
                        "longer in the folder but kept, %d not needed by this run",
                        summary.new, summary.read_again, summary.rows_already_stored,
                        summary.seen_before, summary.from_store, summary.not_read)
        else:
            files = ingest_inputs(Path(input_dir), con, config.application_lists,
                                  config.time_zones, config.cultures)
    by_status: dict[str, int] = {}
    for f in files:
        by_status[f.status] = by_status.get(f.status, 0) + 1
    for f in files:
        if f.status in ("unreadable", "unrecognised", "skipped"):
            logger.warning("input %s is %s: %s", f.source_file, f.status, f.note)
    rows = sum(sum(f.tables.values()) for f in files)
    logger.info("ingested %d files (%s), %d rows", len(files),
                ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())), rows)
    return {"files": len(files), "rows": rows,
            **{f"files_{k.replace(' ', '_')}": v for k, v in by_status.items()}, **kept}


@task(name="assemble", cache_policy=NO_CACHE)
@_sanitized("ingest")
def assemble(warehouse: str, store: str, as_of: str, config_path: str | None,
             run: str = "review") -> None:
    """Copy the rows of the stored files this run uses into the warehouse."""
    with connect_warehouse(warehouse) as con:
        assemble_from_store(con, Path(store), dt.date.fromisoformat(as_of),
                            load_config(config_path), run)


@task(name="record evidence", cache_policy=NO_CACHE)
@_sanitized("record evidence")
def record_evidence(warehouse: str, store: str, as_of: str, config_path: str | None) -> int:
    """Once everything else succeeded: record in the evidence store what this run's folder
    held, and apply retention. Returns the rows retention removed."""
    logger = get_run_logger()
    with connect_warehouse(warehouse) as con:
        removed = commit_run(con, Path(store), dt.date.fromisoformat(as_of),
                             load_config(config_path))
    logger.info("evidence store: this run's files recorded as of %s; %d rows past retention "
                "removed", as_of, removed)
    return removed


@task(name="validate", cache_policy=NO_CACHE)
@_sanitized("validate")
def validate(warehouse: str) -> dict[str, int]:
    logger = get_run_logger()
    with connect_warehouse(warehouse) as con:
        counts = validate_ingested(con)
        not_used = int(con.execute("select coalesce(sum(rows), 0) from input_not_used"
                                   ).fetchone()[0])
    read = sum(c.read for c in counts.values())
    accepted = sum(c.accepted for c in counts.values())
    quarantined = sum(c.quarantined for c in counts.values())
    logger.info("validated %d rows: %d accepted, %d quarantined; %d stored rows not used",
                read, accepted, quarantined, not_used)
    return {"read": read, "accepted": accepted, "quarantined": quarantined,
            "not_used": not_used}


@task(name="data quality", cache_policy=NO_CACHE)
@_sanitized("data quality")
def data_quality(warehouse: str, as_of: str, out_dir: str, run: str = "review"
                 ) -> dict[str, int]:
    """The expectations judged in DuckDB (`data_quality_results`, for the workbooks), those
    of the inputs the run reads; the Data Docs are built by Great Expectations in a process
    of its own meanwhile, awaited by `finish_data_docs` before anything is published."""
    from ccreview.contracts.expectations import run_expectations
    from ccreview.contracts.store import RUN_READS

    logger = get_run_logger()
    with connect_warehouse(warehouse) as con:
        build = run_expectations(con, dt.date.fromisoformat(as_of),
                                 Path(out_dir) / PENDING_DATA_DOCS, wait=False,
                                 build=_DATA_DOCS_BUILDS.pop(out_dir, None),
                                 reads=RUN_READS.get(run))
        not_judged = con.execute("select count(*) from data_quality_not_judged"
                                 ).fetchall()[0][0]
    _DATA_DOCS_BUILDS[out_dir] = build
    results = build.measured
    failed = int((~results["success"]).sum()) if len(results) else 0
    logger.info("data quality: %d expectations, %d not met%s (see data_quality/index.html)",
                len(results), failed,
                f"; {not_judged} table(s) this run does not read not judged"
                if not_judged else "")
    return {"expectations": len(results), "not_met": failed}


# the Data Docs build under way per output folder (a process handle: kept here, never
# passed through Prefect)
_DATA_DOCS_BUILDS: dict[str, DataDocsBuild] = {}


def start_data_docs(out_dir: str, as_of: str) -> None:
    """Start the run's Data Docs builder now: it imports Great Expectations (seconds)
    while the inputs are read, then waits for the data-quality stage's frames."""
    cancel_data_docs(out_dir)
    _DATA_DOCS_BUILDS[out_dir] = DataDocsBuild.start(Path(out_dir) / PENDING_DATA_DOCS,
                                                     dt.date.fromisoformat(as_of))


@_sanitized("data quality")
def finish_data_docs(out_dir: str) -> None:
    """Wait for the run's Data Docs (and the check that they judged as DuckDB did)."""
    build = _DATA_DOCS_BUILDS.pop(out_dir, None)
    if build is not None:
        started = time.perf_counter()
        build.finish()
        get_run_logger().info("Data Docs ready (waited %.1f s for them)",
                              time.perf_counter() - started)


def cancel_data_docs(out_dir: str) -> None:
    build = _DATA_DOCS_BUILDS.pop(out_dir, None)
    if build is not None:
        build.cancel()


@task(name="transform", cache_policy=NO_CACHE)
@_sanitized("transform")
def transform(warehouse: str, as_of: str, config_path: str | None,
              dormancy_days: int | None = None, out_dir: str | None = None,
              models: tuple[str, ...] | None = None) -> dict[str, int] | None:
    """Build the models (`models` and their dependencies, or all); returns the findings
    per rule, or None when the run's reports need no findings (the census)."""
    logger = get_run_logger()
    config = load_config(config_path).with_dormancy_days(dormancy_days)
    with connect_warehouse(warehouse) as con:
        load_reference_tables(con, config, dt.date.fromisoformat(as_of),
                              Path(out_dir) / HISTORY if out_dir else None)
        built = build_models(con, models)
        if "findings" not in built:
            logger.info("built %d models (no findings: not needed by this run)", len(built))
            return None
        counts = dict(con.execute("select rule, count(*) from findings group by rule "
                                  "order by rule").fetchall())
    logger.info("built %d models; %d findings", len(built), sum(counts.values()))
    return {k: int(v) for k, v in counts.items()}


# the report stage's units of work: (report, sharded across the workers?)
RENDER_UNITS = (("review", False), ("attestation", True), ("census", True),
                ("dormant", False), ("r2w", False))


def render_plan(reports: tuple[str, ...], workers: int) -> list[tuple[str, int, int]]:
    """(unit, shard, shards) for each render task, largest first: the attestation and
    census workbooks — thousands of small files at hospital scale — are split into two
    shards per worker, so that the workers finish close together."""
    wanted = set(reports) | ({"attestation"} if "review" in reports else set())
    plan = []
    for unit, sharded in RENDER_UNITS:
        if unit in wanted:
            n = 2 * workers if sharded and workers > 1 else 1
            plan += [(unit, i, n) for i in range(n)]
    return plan


@task(name="render", cache_policy=NO_CACHE, task_run_name="render {unit} {shard}/{shards}")
@_sanitized("report")
def render(unit: str, shard: int, shards: int, warehouse: str, out_dir: str, as_of: str,
           config_path: str | None, dormancy_days: int | None = None) -> list[str]:
    """Write one report (or one shard of the per-group / per-provider workbooks) from the
    finished warehouse, opened read-only so that render tasks run side by side."""
    redaction.install()  # a task may run in a fresh worker process
    config = load_config(config_path).with_dormancy_days(dormancy_days)
    settings = config.as_flat_dict()
    out = Path(out_dir)
    day = dt.date.fromisoformat(as_of)
    with connect_warehouse(warehouse, read_only=True) as con:
        if unit == "review":
            ctx = ReviewContext(as_of=day, settings=settings, version=_version())
            written = write_review_reports(con, out, ctx)
        elif unit == "attestation":
            n = write_attestation_shard(con, out, day, config.thresholds.attestation_due_days,
                                        shard, shards)
            get_run_logger().info("wrote %d attestation workbooks (shard %d of %d)", n,
                                  shard + 1, shards)
            written = []
        elif unit == "census":
            # alone on its runner (one shard), a long census shares its workbooks with a
            # second process
            reopen = functools.partial(connect_warehouse, warehouse, read_only=True) \
                if shards == 1 else None
            n = write_census_shard(con, out, day,
                                   census_password(config.census_password_secret), shard,
                                   shards, reopen)
            get_run_logger().info("wrote %d census workbooks (shard %d of %d)", n, shard + 1,
                                  shards)
            written = []
        elif unit == "dormant":
            written = write_dormant_reports(con, out, day, settings)
        elif unit == "r2w":
            written = write_distribution(con, out, day)
        else:
            raise UsageError(f"unknown report {unit!r}")
    return [str(p) for p in written]


@task(name="start report worker", cache_policy=NO_CACHE)
def start_worker() -> None:
    """Nothing: a worker process of the report stage's pool, started with this module
    imported while the warehouse is still being built."""


def start_render_pool(warehouse: str, reports: tuple[str, ...], task_runner: str,
                      workers: int | None) -> TaskRunner | None:
    """The report stage's process pool, started now when the run will render on one: its
    workers' start (a process each, Prefect and the report modules imported: about 1.8 s
    at 1,000 groups, before any workbook is written) overlaps validation and the models
    instead of delaying the report. Judged from the submissions' groups, which the models
    count the same way; the report stage decides again (`resolve_runner`) and shuts an
    unneeded pool down. Returns the entered runner, or None."""
    workers = workers or default_workers()
    if "review" not in reports or workers < 2 or task_runner not in ("auto", "process"):
        return None
    with connect_warehouse(warehouse, read_only=True) as con:
        groups = con.execute("select count(distinct group_request_number) from "
                             "ingested_enrollment_submissions").fetchall()[0][0]
    if resolve_runner(task_runner, groups, len(render_plan(reports, workers))) != "process":
        return None
    runner = make_task_runner("process", workers)
    runner.__enter__()
    for _ in range(workers):  # each submission finds no idle worker: a process each
        runner.submit(start_worker, {})
    return runner


@_sanitized("report")
def report(warehouse: str, out_dir: str, as_of: str, input_dir: str,
           config_path: str | None, reports: tuple[str, ...] = ALL_REPORTS,
           dormancy_days: int | None = None, task_runner: str = "auto",
           workers: int | None = None, replace: bool = False,
           fingerprint: str | None = None,
           before_publish: Callable[[], None] | None = None,
           pool: TaskRunner | None = None) -> list[str]:
    """Render every report on the chosen task runner, then finish: `before_publish` (the
    Data Docs, built meanwhile), swap the per-group and per-provider folders in, write the
    manifest, and commit the run history — last, so a failure anywhere leaves the history
    as it was."""
    logger = get_run_logger()
    config = load_config(config_path).with_dormancy_days(dormancy_days)
    out = Path(out_dir)
    day = dt.date.fromisoformat(as_of)
    workers = workers or default_workers()
    with contextlib.ExitStack() as history:
        with connect_warehouse(warehouse) as con:
            groups = con.execute("select count(*) from int_groups").fetchall()[0][0]
            if "review" in reports:
                # stages this run in the history; commits when the block below succeeds
                changes = history.enter_context(recording_run(con, out, day,
                                                              replace=replace))
                logger.info("since the previous run (%s): %d new, %d still open, "
                            "%d resolved", changes["previous_as_of"] or "none",
                            changes["new"], changes["still_open"], changes["resolved"])
        # every task writes into a pending folder, moved into place only when all succeeded:
        # a failed run leaves every previous report, not a mix of old and new
        pending = out / PENDING_REPORTS
        shutil.rmtree(pending, ignore_errors=True)
        pending.mkdir()
        if "review" in reports:
            prepare_attestation(pending)
        if "census" in reports:
            prepare_census(pending)
        plan = render_plan(reports, workers)
        task_runner = resolve_runner(task_runner, groups, len(plan),
                                     census_only="review" not in reports
                                     and "census" in reports)
        if task_runner in ("sequential", "thread"):
            # one shard each: threads share one interpreter (a long census shard takes a
            # helper process of its own instead: `write_census_shard`)
            plan = render_plan(reports, 1)
        logger.info("rendering %d report tasks on the %s task runner%s", len(plan),
                    task_runner, "" if task_runner == "sequential" else f" ({workers} workers)")
        started = pool if task_runner == "process" else None  # stopped by the caller
        with (contextlib.nullcontext(started) if started is not None
              else make_task_runner(task_runner, workers)) as runner:
            futures = [runner.submit(render, {
                "unit": unit, "shard": shard, "shards": shards, "warehouse": warehouse,
                "out_dir": str(pending), "as_of": as_of, "config_path": config_path,
                "dormancy_days": dormancy_days}) for unit, shard, shards in plan]
            with progress_bar(len(futures), "report", "task") as bar:
                for _ in as_completed(futures):
                    bar.update()
            written = [Path(p) for f in futures for p in f.result()]  # in plan order
        if before_publish is not None:
            before_publish()
        with connect_warehouse(warehouse, read_only=True) as con:
            if "review" in reports:
                written += finish_attestation(con, pending, day,
                                              config.thresholds.attestation_due_days)
            if "census" in reports:
                census = finish_census(con, pending, day,
                                       census_password(config.census_password_secret))
                logger.info("wrote %d census workbooks", len(census) - 1)
                written += census
            written = [out / p.relative_to(pending) for p in written]
            _move_into_place(pending, out)
            manifest = write_run_manifest(con, out / "run_manifest.json", as_of=as_of,
                                          input_dir=input_dir,
                                          settings=config.as_flat_dict(),
                                          outputs=[p for p in written if p.is_file()],
                                          fingerprint=fingerprint)
    logger.info("wrote %d report files", len(written) + 1)
    return [str(p) for p in [*written, manifest]]


def _move_into_place(pending: Path, out: Path) -> None:
    """Every finished report from the pending folder into the output folder: files by an
    atomic rename, folders (attestation, census) swapped whole."""
    for entry in sorted(pending.iterdir()):
        target = out / entry.name
        if entry.is_dir():
            replace_folder(entry, target)
        else:
            os.replace(entry, target)
    pending.rmdir()


def _version() -> str:
    try:
        return metadata.version("ccreview")
    except metadata.PackageNotFoundError:
        return "dev"


def run_name(flow_name: str, default: str = "today") -> Callable[[], str]:
    """`<flow> <as-of>` for the Prefect UI (e.g. `access-review 2026-11-01`); a scheduled
    run without an as-of date reviews as of the day it runs."""
    def name() -> str:
        from prefect.runtime import flow_run

        parameters = flow_run.parameters or {}
        as_of = parameters.get("as_of")
        if not as_of and default == "today":
            as_of = load_config(parameters.get("config_path")).time_zones.today().isoformat()
        return f"{flow_name} {as_of or default}"
    return name


@flow(name="access-review", flow_run_name=run_name("access-review"), log_prints=True,
      on_failure=[notify_failure], on_crashed=[notify_failure])
def access_review(input_dir: str, out_dir: str, as_of: str | None = None,
                  config_path: str | None = None, task_runner: str = "auto",
                  workers: int | None = None, accept_shrink: bool = False,
                  replace: bool = False, keep_patient_data: bool = False,
                  store: str | None = None, no_store: bool = False,
                  force: bool = False) -> dict:
    """The periodic review of one input folder as of a date; returns counts only."""
    return run_stages(input_dir, out_dir, as_of, config_path, ALL_REPORTS,
                      task_runner=task_runner, workers=workers, accept_shrink=accept_shrink,
                      replace=replace, keep_patient_data=keep_patient_data, store=store,
                      no_store=no_store, force=force)


@flow(name="dormant-accounts", flow_run_name=run_name("dormant-accounts"), log_prints=True,
      on_failure=[notify_failure], on_crashed=[notify_failure])
def dormant_accounts(input_dir: str, out_dir: str, as_of: str | None = None,
                     config_path: str | None = None, dormancy_days: int | None = None,
                     task_runner: str = "auto", workers: int | None = None,
                     accept_shrink: bool = False, store: str | None = None,
                     no_store: bool = False, force: bool = False) -> dict:
    """The support desk's weekly dormant and orphaned account lists; returns counts only."""
    return run_stages(input_dir, out_dir, as_of, config_path, ("dormant",), dormancy_days,
                      task_runner, workers, accept_shrink=accept_shrink, store=store,
                      no_store=no_store, force=force)


@flow(name="daily-census", flow_run_name=run_name("daily-census"), log_prints=True,
      on_failure=[notify_failure], on_crashed=[notify_failure])
def daily_census(input_dir: str, out_dir: str, as_of: str | None = None,
                 config_path: str | None = None, task_runner: str = "auto",
                 workers: int | None = None, accept_shrink: bool = False,
                 keep_patient_data: bool = False, store: str | None = None,
                 no_store: bool = False, force: bool = False) -> dict:
    """Report2Web's daily run: the distribution list and the Physician Census workbooks."""
    return run_stages(input_dir, out_dir, as_of, config_path, ("r2w", "census"),
                      task_runner=task_runner, workers=workers, accept_shrink=accept_shrink,
                      keep_patient_data=keep_patient_data, store=store, no_store=no_store,
                      force=force)


# which run (for its required inputs) a set of reports is
RUN_OF_REPORTS = {ALL_REPORTS: "review", ("dormant",): "dormant", ("r2w", "census"): "census"}
FLOW_OF_RUN = {"review": "access-review", "dormant": "dormant-accounts",
               "census": "daily-census"}


def run_stages(input_dir: str, out_dir: str, as_of: str | None, config_path: str | None,
               reports: tuple[str, ...], dormancy_days: int | None = None,
               task_runner: str = "auto", workers: int | None = None,
               accept_shrink: bool = False, replace: bool = False,
               keep_patient_data: bool = False, store: str | None = None,
               no_store: bool = False, force: bool = False) -> dict:
    """ingest -> validate -> data quality -> transform -> report, inside a flow. A scheduled
    run without an as-of date reviews as of the day it runs. The inputs go through the
    evidence store (`store`, default `<out>/evidence.duckdb`) unless `no_store`.

    Before anything is written: the inputs the run cannot do without must be there, and the
    output folder must be free (one run at a time). Every file the run writes is readable
    by its owner only."""
    redaction.install()  # also when a deployment runs the flow outside the CLI
    os.umask(0o077)
    config = load_config(config_path)
    as_of = as_of or config.time_zones.today().isoformat()  # today on the hospital's clock
    run = RUN_OF_REPORTS.get(tuple(reports), "review")
    kinds = require_inputs(Path(input_dir), run, config.application_lists)
    out = Path(out_dir)
    store_path = None if no_store else Path(store) if store else out / STORE
    # asked before the locks too, so that a refusal leaves no folder or lock file behind
    settled = require_stored(run, input_dir, kinds, store_path,
                             dt.date.fromisoformat(as_of), certain=False)
    with run_lock.holding(out, FLOW_OF_RUN[run]), contextlib.ExitStack() as locks:
        if store_path is not None and store_path.parent.resolve() != out.resolve():
            # a store shared by several output folders: one run at a time writes it
            locks.enter_context(run_lock.holding(store_path.parent, FLOW_OF_RUN[run]))
        if not settled:
            require_stored(run, input_dir, kinds, store_path, dt.date.fromisoformat(as_of))
        if run == "review":
            refuse_silent_replacement(out, dt.date.fromisoformat(as_of), replace)
        make_private(out)
        building = out / f".{WAREHOUSE}.building"
        half_built = (*_warehouse_files(building), out / PENDING_DATA_DOCS,
                      *data_docs_paths(out / PENDING_DATA_DOCS))
        _remove(half_built)  # what a killed run may have left
        try:
            return _stages(input_dir, out, as_of, config_path, reports, dormancy_days,
                           task_runner, workers, accept_shrink, replace, keep_patient_data,
                           building, store_path, run, force)
        except BaseException:
            cancel_data_docs(out_dir)
            _remove(half_built)  # a failed run leaves the previous run's files as they were
            raise


def _warehouse_files(building: Path) -> tuple[Path, ...]:
    """The warehouse being built, its patient database, and their write-ahead logs."""
    phi = patient_data_path(building)
    return building, Path(f"{building}.wal"), phi, Path(f"{phi}.wal")


def _remove(paths: tuple[Path, ...]) -> None:
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def make_private(out: Path) -> None:
    """Owner-only modes on the output folder and everything an earlier run left in it."""
    for path in (out, *out.rglob("*")):
        with contextlib.suppress(OSError):  # a file removed meanwhile
            if not path.is_symlink():
                path.chmod(0o700 if path.is_dir() else 0o600)


def _stages(input_dir: str, out: Path, as_of: str, config_path: str | None,
            reports: tuple[str, ...], dormancy_days: int | None, task_runner: str,
            workers: int | None, accept_shrink: bool, replace: bool,
            keep_patient_data: bool, building: Path, store: Path | None = None,
            run: str = "review", force: bool = False) -> dict:
    out_dir = str(out)
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now

    start_data_docs(out_dir, as_of)
    ingested = ingest(input_dir, str(building), config_path, as_of,
                      str(store) if store else None, run)
    fingerprint = fingerprint_run(str(building), out_dir, as_of, config_path, reports,
                                  dormancy_days, keep_patient_data)
    previous = None if force or replace else unchanged_run(out, fingerprint)
    if previous is not None:  # same inputs, history, settings and code: same reports
        lap("ingest")
        cancel_data_docs(out_dir)
        _remove(_warehouse_files(building))
        return _unchanged_result(as_of, out, ingested, previous, seconds)
    if store is not None:
        assemble(str(building), str(store), as_of, config_path, run)
    lap("ingest")
    pool = start_render_pool(str(building), reports, task_runner, workers)
    try:
        validated = validate(str(building))
        lap("validate")
        if not accept_shrink:
            check_incomplete_exports(str(building), run)
            check_shrink(str(building), out_dir)
        quality = data_quality(str(building), as_of, out_dir, run)
        lap("data quality")
        findings = transform(str(building), as_of, config_path, dormancy_days, out_dir,
                             models_needed(reports))
        if run == "dormant" and not accept_shrink:
            check_evidence_age(str(building))
        lap("transform")
        written = report(str(building), out_dir, as_of, input_dir, config_path, reports,
                         dormancy_days, task_runner, workers, replace, fingerprint,
                         functools.partial(finish_data_docs, out_dir), pool)
    except BaseException:  # the report stage's workers, started early (or not needed)
        if pool is not None:
            pool.__exit__(None, None, None)
        raise
    lap("report")
    with stopping_meanwhile(pool):  # the workers exit while the run finishes
        if store is not None:
            ingested["store_rows_removed"] = record_evidence(str(building), str(store),
                                                             as_of, config_path)
        patient_rows = remove_patient_data(building, keep_patient_data)
        final = out / WAREHOUSE
        os.replace(building, final)
        shutil.rmtree(out / "data_quality", ignore_errors=True)
        os.replace(out / PENDING_DATA_DOCS, out / "data_quality")
        shutil.rmtree(out / ".duckdb_spill", ignore_errors=True)
    written.append(str(final))
    written.append(str(out / "data_quality" / "index.html"))
    if findings is None:
        found = ""
    elif run == "dormant":  # (every rule is computed; the support desk acts on its own)
        from ccreview.core.vocabulary import support_desk_findings

        found = f"{sum(support_desk_findings(findings).values())} support findings, "
    else:
        found = f"{sum(findings.values())} findings, "
    title = {"census": "Census", "dormant": "Dormant accounts"}.get(run, "Review")
    print(f"{title} as of {as_of}: {found}"
          f"{validated['quarantined']} input rows quarantined, {ingested['files']} files read, "
          f"{quality['not_met']} of {quality['expectations']} data-quality expectations not met")
    if keep_patient_data:
        print("warehouse.duckdb keeps the patient-level ADT tables (--keep-patient-data)")
    elif patient_rows:
        print(f"Patient-level ADT data ({patient_rows} rows) removed from warehouse.duckdb "
              "once the census was written (--keep-patient-data keeps it)")
    _publish_artifacts(run, as_of, ingested, validated, quality, findings, seconds)
    return {"as_of": as_of, "ingest": ingested, "validate": validated,
            "data_quality": quality, "findings_by_rule": findings or {}, "outputs": written,
            "stage_seconds": seconds, "patient_data_kept": keep_patient_data,
            "patient_rows_removed": patient_rows}


@_sanitized("ingest")
def fingerprint_run(warehouse: str, out_dir: str, as_of: str, config_path: str | None,
                    reports: tuple[str, ...], dormancy_days: int | None,
                    keep_patient_data: bool) -> str:
    """The fingerprint of what this run's reports depend on (see `run_fingerprint`)."""
    config = load_config(config_path).with_dormancy_days(dormancy_days)
    parameters = {"reports": list(reports), "settings": config.as_flat_dict(),
                  "keep_patient_data": keep_patient_data,
                  "census_encrypted": "census" in reports
                  and census_encrypted(config.census_password_secret)}
    with connect_warehouse(warehouse, read_only=True) as con:
        return run_fingerprint(con, Path(out_dir) / HISTORY, dt.date.fromisoformat(as_of),
                               parameters)


def _unchanged_result(as_of: str, out: Path, ingested: dict, manifest: dict,
                      seconds: dict[str, float]) -> dict:
    """The result of a run that found the previous one's reports current: its counts, from
    the manifest, and nothing written."""
    tables = [t for i in manifest.get("inputs", []) for t in i.get("tables", {}).values()]
    validated = {k: sum(int(t.get(k, 0)) for t in tables)
                 for k in ("read", "accepted", "quarantined", "not_used")}
    get_run_logger().info("as of %s: nothing changed since the last run into this folder; "
                          "its reports are current", as_of)  # the CLI says it in full
    return {"as_of": as_of, "unchanged": True, "ingest": ingested, "validate": validated,
            "data_quality": manifest.get("data_quality", {"expectations": 0, "not_met": 0}),
            "findings_by_rule": manifest.get("findings_by_rule", {}),
            "outputs": [str(out / o["path"]) for o in manifest.get("outputs", [])],
            "stage_seconds": seconds, "patient_data_kept": False, "patient_rows_removed": 0}


# measures a run's inputs are compared on, and how far they may fall before the run is
# refused as a probable partial export
SHRINK_TABLES = {"enrollment_people": "enrolled people", "directory_accounts":
                 "Active Directory accounts", "entra_users": "Entra ID users",
                 "application_accounts": "application accounts"}
SHRINK_LIMIT = 0.5  # refuse when a measure fell below half of the previous run's
SHRINK_MINIMUM = 20  # ...and the previous run had at least this many


@_sanitized("validate")
def check_incomplete_exports(warehouse: str, run: str = "review") -> None:
    """Refuse a run one of whose exports says it is incomplete, or that holds nothing of a
    source its enrollment says exists (`contracts.completeness.incomplete_export` and
    `missing_source` say which and why). `--accept-shrink` overrides."""
    with connect_warehouse(warehouse, read_only=True) as con:
        missing = incomplete_export(con) or missing_source(con, run)
    if missing:
        raise UsageError(missing)


@_sanitized("transform")
def check_evidence_age(warehouse: str) -> None:
    """Refuse a dormant run whose sign-in evidence ends long before its as-of date
    (`contracts.completeness.sign_in_evidence_ends_early`). `--accept-shrink` overrides."""
    with connect_warehouse(warehouse, read_only=True) as con:
        refusal = sign_in_evidence_ends_early(con)
    if refusal:
        raise UsageError(refusal)


@_sanitized("validate")
def check_shrink(warehouse: str, out_dir: str) -> None:
    """Refuse a run whose inputs shrank drastically against the previous run into the same
    folder (its run_manifest.json): a partial export is the usual cause, and the reports
    and attestation workbooks it would replace were right. `--accept-shrink` overrides."""
    manifest = Path(out_dir) / "run_manifest.json"
    try:
        previous = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    before: dict[str, int] = {}
    for entry in previous.get("inputs", []):
        for table, counts in entry.get("tables", {}).items():
            before[table] = before.get(table, 0) + int(counts.get("accepted", 0))
    with connect_warehouse(warehouse, read_only=True) as con:
        now = dict(con.execute("select table_name, sum(rows_accepted) from "
                               "input_reconciliation group by 1").fetchall())
        accounts = accounts_by_application(con)
    # each application's list on its own too: one list of five cut short (its requests then
    # not provisioned, its access to revoke unflagged) leaves the sum above half
    measures = [(before.get(t, 0), int(now.get(t, 0) or 0), label)
                for t, label in SHRINK_TABLES.items()]
    measures += [(int(was), int(accounts.get(app, 0)), f"{app} application accounts")
                 for app, was in sorted(previous.get("accounts_by_application", {}).items())]
    for was, is_, label in measures:
        if was >= SHRINK_MINIMUM and is_ < was * SHRINK_LIMIT:
            raise UsageError(
                f"{label} fell from {was} to {is_} since the previous run into this folder "
                f"(as of {previous.get('as_of', '?')}); a partial export is the usual cause. "
                "No report was written: check the export, or rerun with --accept-shrink")


def remove_patient_data(warehouse: Path, keep: bool = False) -> int:
    """Minimum necessary: once the census is written the patient tables' own database
    (`ccreview.core.patient_data`) is deleted — the warehouse file never held them, so
    nothing needs rewriting — or, with `keep`, copied into the warehouse first. Returns the
    patient rows removed (0 when kept)."""
    phi = patient_data_path(warehouse)
    if not phi.exists():
        return 0
    with connect_warehouse(warehouse) as con:
        present = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_catalog = ? "
            "order by table_name", [PATIENT_CATALOG]).fetchall()]
        rows = sum(con.execute(f"select count(*) from {PATIENT_CATALOG}.{t}").fetchone()[0]
                   for t in present)
        if keep:
            main = con.execute("select current_database()").fetchone()[0]
            for table in present:
                con.execute(f'create table "{main}".main.{table} as '
                            f"select * from {PATIENT_CATALOG}.{table}")
        con.execute(f"detach {PATIENT_CATALOG}")
    for path in (phi, Path(f"{phi}.wal")):
        path.unlink(missing_ok=True)
    return 0 if keep else int(rows)


# what each run's artifacts are called and titled in the Prefect UI: one key per flow, so
# the weekly dormant run never shows as the latest review
ARTIFACT_TITLES = {"review": "Clinical Connectivity access review",
                   "dormant": "Dormant and orphaned accounts",
                   "census": "Report2Web distribution and daily census"}


def _publish_artifacts(run: str, as_of: str, ingested: dict, validated: dict, quality: dict,
                       findings: dict[str, int] | None, seconds: dict[str, float]) -> None:
    """A markdown summary and a table of counts on the flow run in the Prefect UI, under
    keys of their own flow (`access-review-summary`, `dormant-accounts-summary`, ...):
    counts only, never data values. A run that computes no findings (the census) has no
    findings table."""
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    flow_name = FLOW_OF_RUN[run]
    already = stored_rows_summary(ingested.get("store_rows_already_stored", 0),
                                  validated.get("not_used", 0))
    create_markdown_artifact(
        key=f"{flow_name}-summary",
        markdown=(f"# {ARTIFACT_TITLES[run]} as of {as_of}\n\n"
                  + ("" if findings is None else
                     f"- findings: **{sum(findings.values())}**\n")
                  + f"- input files: {ingested['files']}; rows read {validated['read']}, "
                  f"accepted {validated['accepted']}, quarantined {validated['quarantined']}"
                  f"{already}\n"
                  f"- data-quality expectations not met: {quality['not_met']} of "
                  f"{quality['expectations']}\n"
                  f"- stage seconds: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()) + "\n"),
        description=f"{ARTIFACT_TITLES[run]} as of {as_of}: counts only; the reports are in "
                    "the output folder.")
    if findings is None:
        return
    create_table_artifact(
        key=f"{flow_name}-findings-by-rule",
        table=[{"rule": rule, "findings": n} for rule, n in sorted(findings.items())],
        description=f"Findings per rule, {flow_name} as of {as_of}")

