"""Dataset-level expectations (Great Expectations), after the row-level contracts.

pandera decides row by row what is accepted; these suites judge each accepted table as a
whole: uniqueness, references between submissions, DAA envelopes and accounts, and the
freshness of each export against the as-of date. They never reject rows: a failed
expectation is a data-quality warning shown in the workbook and in the Data Docs written to
`<out>/data_quality/`. Results use `BOOLEAN_ONLY`, so the Data Docs show expectation names
and outcomes, never data values (which may be PHI).

Large tables (sign-in events) are summarised in DuckDB first (one row per file), so no
suite loads tens of millions of rows into pandas.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ccreview.core.duckdb_catalog import sql_path
from ccreview.core.vocabulary import CLOSED_AS

log = logging.getLogger(__name__)

# How recent the latest activity in an export must be for the export to count as current.
FRESHNESS_DAYS = {"directory_accounts": 21, "entra_users": 7, "application_accounts": 7,
                  "sign_in_events": 7, "adt_events": 2}


@dataclass(frozen=True)
class Check:
    """One expectation: its Great Expectations class name, keyword arguments, and what it
    asks in plain words (shown in the workbook and the HTML summary)."""
    kind: str
    kwargs: dict
    label: str


def _frames(con: duckdb.DuckDBPyConnection, as_of: dt.date
            ) -> dict[str, tuple[str, list[Check]]]:
    """suite name -> (SQL giving its frame, its expectations)."""
    day = pd.Timestamp(as_of)
    tomorrow = day + pd.Timedelta(days=1)

    def fresh(table: str) -> dict:
        return {"min_value": day - pd.Timedelta(days=FRESHNESS_DAYS[table]),
                "max_value": tomorrow}

    def current(what: str, table: str) -> str:
        return f"{what} within {FRESHNESS_DAYS[table]} days of the review day"

    return {
        "enrollment_submissions": (
            "select request_number, submitted_at, "
            "group_request_number in (select request_number from raw_enrollment_submissions "
            "  where request_type = 'new_group') as registration_known "
            "from raw_enrollment_submissions "
            # (a later export of a request ServiceNow closed unfulfilled is its second row)
            f"where closed_as is null or closed_as not in {tuple(CLOSED_AS)}",
            [Check("ExpectColumnValuesToBeUnique", {"column": "request_number"},
                   "Each request number appears once"),
             Check("ExpectColumnMaxToBeBetween", {"column": "submitted_at",
                                                  "max_value": tomorrow},
                   "No submission is dated after the review day"),
             Check("ExpectColumnValuesToBeInSet", {"column": "registration_known",
                                                   "value_set": [True]},
                   "Every request belongs to a registered group")]),
        "enrollment_people": (
            "select request_number, request_type, lower(email) as email, form_section "
            "from raw_enrollment_people",
            [Check("ExpectCompoundColumnsToBeUnique",
                   {"column_list": ["request_number", "request_type", "email",
                                    "form_section"]},
                   "No one is listed twice in the same section of a request")]),
        "directory_accounts": (
            "select sam_account_name, lower(user_principal_name) as upn, last_logon_at, "
            "lower(trim(mail)) in (select lower(trim(email)) from raw_enrollment_people) "
            "as matches_enrolled_member from raw_directory_accounts",
            [Check("ExpectColumnValuesToBeUnique", {"column": "sam_account_name"},
                   "Each LAN ID appears once"),
             Check("ExpectColumnValuesToBeUnique", {"column": "upn"},
                   "Each UPN appears once"),
             Check("ExpectColumnMaxToBeBetween", {"column": "last_logon_at",
                                                  **fresh("directory_accounts")},
                   current("The export is current: its latest sign-in",
                           "directory_accounts")),
             Check("ExpectColumnValuesToBeInSet", {"column": "matches_enrolled_member",
                                                   "value_set": [True], "mostly": 0.9},
                   "At least 90% of accounts carry an enrolled member's email")]),
        "entra_users": (
            "select lower(user_principal_name) as upn, object_id, last_successful_sign_in_at "
            "from raw_entra_users",
            [Check("ExpectColumnValuesToBeUnique", {"column": "upn"},
                   "Each UPN appears once"),
             Check("ExpectColumnValuesToBeUnique", {"column": "object_id"},
                   "Each object ID appears once"),
             Check("ExpectColumnMaxToBeBetween", {"column": "last_successful_sign_in_at",
                                                  **fresh("entra_users")},
                   current("The export is current: its latest sign-in", "entra_users"))]),
        "application_accounts": (
            "select application, lower(username) as username, last_access_at "
            "from raw_application_accounts",
            [Check("ExpectCompoundColumnsToBeUnique",
                   {"column_list": ["application", "username"]},
                   "Each application account appears once"),
             Check("ExpectColumnMaxToBeBetween", {"column": "last_access_at",
                                                  **fresh("application_accounts")},
                   current("The lists are current: their latest access",
                           "application_accounts"))]),
        "daa_envelopes": (
            "select envelope_id, status_changed_at, request_number in ("
            "  select request_number from raw_enrollment_submissions "
            "  where request_type = 'new_group') as group_known from raw_daa_envelopes",
            [Check("ExpectColumnValuesToBeUnique", {"column": "envelope_id"},
                   "Each envelope appears once"),
             Check("ExpectColumnValuesToBeInSet", {"column": "group_known",
                                                   "value_set": [True]},
                   "Every envelope belongs to a registered group"),
             Check("ExpectColumnMaxToBeBetween", {"column": "status_changed_at",
                                                  "max_value": tomorrow},
                   "No status change is dated after the review day")]),
        "sign_in_events": (
            # each export of this run's folder must be current; the events the evidence
            # store keeps from earlier exports are old by design (ordered: a grouping's
            # order varies, and the Data Docs show the frame's fingerprint)
            "select source_file, max(occurred_at) as latest_event, count(*) as events "
            "from raw_sign_in_events where source_file in (select source_file from "
            "input_files where status = 'read') group by source_file "
            "order by source_file",
            [Check("ExpectColumnMinToBeBetween", {"column": "latest_event",
                                                  **fresh("sign_in_events")},
                   current("Every export read is current: its latest event",
                           "sign_in_events"))]),
        "adt_events": (
            "select message_control_id, message_at from raw_adt_events",
            [Check("ExpectColumnValuesToBeUnique", {"column": "message_control_id",
                                                    "mostly": 0.9},
                   "Message control IDs are unique (at least 90%)"),
             Check("ExpectColumnMaxToBeBetween", {"column": "message_at",
                                                  **fresh("adt_events")},
                   current("The feed is current: its latest message", "adt_events"))]),
    }


RESULT_COLUMNS = ["suite", "expectation", "column_name", "success", "rows",
                  "description"]


NOT_JUDGED_DDL = "create or replace table data_quality_not_judged (suite varchar)"
# the kind of input (`readers.sniff_kinds`, a run's `store.RUN_READS`) each suite judges
SUITE_KINDS = {"enrollment_submissions": "enrollment", "enrollment_people": "enrollment",
               "directory_accounts": "directory", "entra_users": "directory",
               "application_accounts": "applications", "daa_envelopes": "docusign",
               "sign_in_events": "sign_in", "adt_events": "adt"}


def measure_expectations(con: duckdb.DuckDBPyConnection, as_of: dt.date,
                         frames_dir: Path | None = None,
                         reads: frozenset[str] | None = None) -> pd.DataFrame:
    """Every expectation judged in DuckDB, where the data is (counts and extremes only,
    Great Expectations' own rules: nulls ignored, `mostly` as the share of non-null values
    that pass, an empty column's max or min failing); stored as `data_quality_results`
    and returned. With `frames_dir`, each suite's frame is also written there as Parquet
    for the Data Docs builder.

    `reads`: the kinds of input the run reads (None: all, a review). A suite of a kind it
    does not read is not judged (`data_quality_not_judged`): the daily census reads no
    sign-in export, the dormant run no DocuSign or ADT file, and their suites' frames are
    empty; "the export is current" failed on no rows, an alarm on every such run that
    said nothing of the data."""
    results = []
    not_judged = []
    if frames_dir is not None:
        frames_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for suite_name, (sql, checks) in _frames(con, as_of).items():
        if reads is not None and SUITE_KINDS[suite_name] not in reads:
            not_judged.append(suite_name)
            continue
        con.execute(f"create or replace temp table _dq_frame as {sql}")
        rows = con.execute("select count(*) from _dq_frame").fetchall()[0][0]
        for check in checks:
            column = check.kwargs.get("column") or ", ".join(
                check.kwargs.get("column_list", []))
            results.append({"suite": suite_name, "expectation": _snake(check.kind),
                            "column_name": column, "success": _judge(con, check),
                            "rows": rows, "description": check.label})
        if frames_dir is not None:
            con.execute(f"copy _dq_frame to '{sql_path(frames_dir / suite_name)}.parquet' "
                        "(format parquet)")
        con.execute("drop table _dq_frame")
    frame = pd.DataFrame(results, columns=RESULT_COLUMNS)
    con.register("_dq", frame)
    con.execute("create or replace table data_quality_results as select * from _dq")
    con.unregister("_dq")
    con.execute(NOT_JUDGED_DDL)
    if not_judged:
        con.executemany("insert into data_quality_not_judged values (?)",
                        [[n] for n in not_judged])
    log.info("data quality: %d expectations, %d not met; %d table(s) this run does not "
             "read not judged",
             len(frame), int((~frame["success"]).sum()) if len(frame) else 0,
             len(not_judged))
    return frame


def _snake(kind: str) -> str:
    """ExpectColumnValuesToBeUnique -> expect_column_values_to_be_unique (GE's type)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return f"timestamp '{pd.Timestamp(value).isoformat(sep=' ')}'"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _mostly(nonnull: int, unexpected: int, mostly: float) -> bool:
    """Great Expectations' rule: vacuously met with no values; else the share that pass
    is at least `mostly`."""
    if nonnull == 0:
        return True
    return (nonnull - unexpected) / nonnull >= mostly


def _judge(con: duckdb.DuckDBPyConnection, check: Check) -> bool:
    """One expectation over `_dq_frame`, as Great Expectations decides it."""
    kw = check.kwargs
    mostly = float(kw.get("mostly", 1.0))
    if check.kind == "ExpectColumnValuesToBeUnique":
        col = f'"{kw["column"]}"'
        nonnull, unexpected = con.execute(f"""
            with v as (select {col} as v from _dq_frame where {col} is not null),
            n as (select v, count(*) as n from v group by v)
            select coalesce(sum(n), 0), coalesce(sum(n) filter (where n > 1), 0) from n
        """).fetchall()[0]
        return _mostly(int(nonnull), int(unexpected), mostly)
    if check.kind == "ExpectCompoundColumnsToBeUnique":
        cols = ", ".join(f'"{c}"' for c in kw["column_list"])
        all_missing = " and ".join(f'"{c}" is null' for c in kw["column_list"])
        nonnull, unexpected = con.execute(f"""
            with n as (select {cols}, count(*) as n from _dq_frame
                       where not ({all_missing}) group by all)
            select coalesce(sum(n), 0), coalesce(sum(n) filter (where n > 1), 0) from n
        """).fetchall()[0]
        return _mostly(int(nonnull), int(unexpected), mostly)
    if check.kind == "ExpectColumnValuesToBeInSet":
        col = f'"{kw["column"]}"'
        values = ", ".join(_literal(v) for v in kw["value_set"])
        nonnull, unexpected = con.execute(
            f"select count({col}), count(*) filter (where {col} is not null and "
            f"{col} not in ({values})) from _dq_frame").fetchall()[0]
        return _mostly(int(nonnull), int(unexpected), mostly)
    if check.kind in ("ExpectColumnMaxToBeBetween", "ExpectColumnMinToBeBetween"):
        col = f'"{kw["column"]}"'
        agg = "max" if check.kind == "ExpectColumnMaxToBeBetween" else "min"
        bounds = [f"v >= {_literal(kw['min_value'])}" if kw.get("min_value") is not None
                  else "true",
                  f"v <= {_literal(kw['max_value'])}" if kw.get("max_value") is not None
                  else "true"]
        met = con.execute(f"select v is not null and {' and '.join(bounds)} from "
                          f"(select {agg}({col}) as v from _dq_frame)").fetchall()[0][0]
        return bool(met)
    raise ValueError(f"no DuckDB rule for {check.kind}")


def data_docs_paths(docs_dir: Path) -> tuple[Path, Path]:
    """(frames, staging) beside `docs_dir`: what a build in progress leaves."""
    docs_dir = docs_dir.resolve()  # Great Expectations wants an absolute path
    return (docs_dir.with_name(f".{docs_dir.name.lstrip('.')}.frames"),
            docs_dir.with_name(f".{docs_dir.name.lstrip('.')}.building"))


class DataDocsError(Exception):
    """The Data Docs could not be built, or judged an expectation otherwise than the
    workbook; one line (class names and counts, never data)."""


@dataclass
class DataDocsBuild:
    """Great Expectations building the Data Docs in a process of its own, from the frames
    `measure_expectations` wrote. Importing it takes seconds, so the process is started
    early (`start`: at the beginning of a run, while the inputs are read) and waits; `go`
    hands it the measured frames, and it builds beside the rest of the run. `finish`
    waits, checks that its verdicts are the ones measured in DuckDB, and puts the site at
    `docs_dir`; `cancel` stops it and removes what it left."""
    process: subprocess.Popen
    docs_dir: Path
    as_of: dt.date
    measured: pd.DataFrame | None = None

    @classmethod
    def start(cls, docs_dir: Path, as_of: dt.date) -> DataDocsBuild:
        """The build of `docs_dir`'s Data Docs: by the builder `start_builder_early`
        started, if this process has one still waiting, else by a new one."""
        global _early
        frames, staging = data_docs_paths(docs_dir)
        shutil.rmtree(staging, ignore_errors=True)
        process, _early = _early, None
        if process is None or process.poll() is not None:
            process = _spawn_builder()
        return cls(process, docs_dir.resolve(), as_of)

    def go(self, measured: pd.DataFrame) -> None:
        """The frames are written (`measured`: DuckDB's verdicts): build now."""
        self.measured = measured
        assert self.process.stdin is not None
        frames, staging = data_docs_paths(self.docs_dir)
        try:
            self.process.stdin.write(GO + json.dumps(
                [str(frames), str(staging), self.as_of.isoformat()]).encode() + b"\n")
            self.process.stdin.close()
        except BrokenPipeError:  # it died waiting: `finish` says how
            pass

    def finish(self, timeout: float = 1800) -> None:
        frames, staging = data_docs_paths(self.docs_dir)
        try:
            if self.measured is None:
                raise DataDocsError("the Data Docs builder was never given the frames")
            code = self.process.wait(timeout)
            outcome = json.loads((frames / "results.json").read_text(encoding="utf-8")) \
                if (frames / "results.json").exists() else {}
            if code != 0 or "results" not in outcome:
                why = outcome.get("error") or f"exit status {code}"
                raise DataDocsError(f"the Data Docs builder failed ({why})")
            theirs = {(r["suite"], r["expectation"], r["column_name"]): r["success"]
                      for r in outcome["results"]}
            ours = {(r.suite, r.expectation, r.column_name): bool(r.success)
                    for r in self.measured.itertuples()}
            if theirs != ours:
                differ = len(set(theirs.items()) ^ set(ours.items()))
                raise DataDocsError(f"Great Expectations and the DuckDB checks disagree on "
                                    f"{differ} expectation results; the run is stopped "
                                    "rather than publish both")
            shutil.rmtree(self.docs_dir, ignore_errors=True)
            staging.rename(self.docs_dir)
        finally:
            self.cancel()

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        for path in data_docs_paths(self.docs_dir):
            shutil.rmtree(path, ignore_errors=True)


def _spawn_builder() -> subprocess.Popen:
    """A builder process: it imports Great Expectations, then waits to be told what to
    build (`DataDocsBuild.go`); it dies with this process."""
    from ccreview.core.processes import die_with_parent

    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false"}
    return subprocess.Popen(
        [sys.executable, "-m", "ccreview.contracts.expectations"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # a traceback may quote data: its result file says
        env=env, preexec_fn=die_with_parent(background=True))


# the builder `start_builder_early` started, until a run's DataDocsBuild takes it
_early: subprocess.Popen | None = None


def start_builder_early() -> None:
    """Start this process's Data Docs builder now, before Prefect's server and the flow's
    modules (seconds each), so that Great Expectations' import (seconds) overlaps them
    instead of the run's stages; the run's `DataDocsBuild.start` takes it. It is told
    nothing until then (no folder, no date), and stops with this process."""
    global _early
    if _early is None:
        import atexit

        _early = _spawn_builder()
        atexit.register(_stop_early)


def _stop_early() -> None:
    global _early
    process, _early = _early, None
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


def run_expectations(con: duckdb.DuckDBPyConnection, as_of: dt.date,
                     docs_dir: Path, wait: bool = True, build: DataDocsBuild | None = None,
                     reads: frozenset[str] | None = None) -> pd.DataFrame | DataDocsBuild:
    """Judge every expectation in DuckDB (`data_quality_results`; `reads`: the kinds of
    input the run reads, as `measure_expectations` takes them) and build the Data Docs
    under `docs_dir` (by `build`, a builder started earlier for it, or a new one): waits
    and returns the results, or (`wait=False`) returns the build under way (its `measured`
    are the results) for the caller to `finish`."""
    frames, _ = data_docs_paths(docs_dir)
    shutil.rmtree(frames, ignore_errors=True)
    if build is None:
        build = DataDocsBuild.start(docs_dir, as_of)
    if build.docs_dir != docs_dir.resolve() or build.as_of != as_of:
        build.cancel()
        raise ValueError("a Data Docs builder started for another folder or date")
    try:
        measured = measure_expectations(con, as_of, frames, reads)
    except BaseException:
        build.cancel()
        raise
    build.go(measured)
    if not wait:
        return build
    build.finish()
    return measured


def build_data_docs(frames: Path, staging: Path, as_of: dt.date) -> list[dict]:
    """Run every suite with Great Expectations on the frames (Parquet) and build its Data
    Docs site in `staging`, made offline; returns its verdicts."""
    import great_expectations as gx  # ~3 s: only in the builder's own process

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    for site in list(context.variables.data_docs_sites or {}):
        context.delete_data_docs_site(site)
    context.add_data_docs_site(site_name="ccreview", site_config={
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(staging)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    })
    source = context.data_sources.add_pandas("warehouse")
    from great_expectations.core.run_identifier import RunIdentifier

    # named and dated by the review, not the clock: the same review gives the same Data Docs
    run_id = RunIdentifier(run_name=f"review {as_of.isoformat()}",
                           run_time=dt.datetime.combine(as_of, dt.time(0), tzinfo=dt.UTC))
    results = []
    reader = duckdb.connect()
    for suite_name, (_, checks) in _frames(reader, as_of).items():
        if not (frames / f"{suite_name}.parquet").exists():
            continue  # a table the run does not read: not judged (`measure_expectations`)
        df = reader.execute("select * from read_parquet(?)",
                            [str(frames / f"{suite_name}.parquet")]).df()
        asset = source.add_dataframe_asset(name=suite_name)
        batch = asset.add_batch_definition_whole_dataframe("accepted rows")
        suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
        for check in checks:
            suite.add_expectation(getattr(gx.expectations, check.kind)(
                **check.kwargs, description=check.label))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"review {suite_name}", validation_definitions=[definition],
            result_format={"result_format": "BOOLEAN_ONLY"}))
        outcome = checkpoint.run(batch_parameters={"dataframe": df}, run_id=run_id)
        for run in outcome.run_results.values():
            for r in run.results:
                cfg = r.expectation_config
                column = cfg.kwargs.get("column") or ", ".join(cfg.kwargs.get("column_list", []))
                results.append({"suite": suite_name, "expectation": cfg.type,
                                "column_name": column, "success": bool(r.success)})
    # once for every suite (a docs action on each checkpoint rebuilt the whole site each
    # time: 8 builds, 3.5 s of the stage's 9.6 s in a profile at 100 groups)
    context.build_data_docs(site_names=["ccreview"])
    make_offline(staging)
    return results


# Great Expectations' pages load Bootstrap, jQuery, Vega and Font Awesome from public CDNs
# and its logo from S3: on a closed hospital network they would render blank. Every
# external reference is removed and a local stylesheet (ours) lays the pages out; what
# needs those scripts (sortable tables, charts) is lost, the results are all there.
_EXTERNAL_TAG = re.compile(
    r"<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*[\"'](?:https?:)?//[^\"']*[\"'][^>]*>"
    r"(?:\s*</script>)?", re.IGNORECASE)
_EXTERNAL_LOGO = re.compile(r"(\bsrc\s*=\s*[\"'])(?:https?:)?//[^\"']*/(logo-long\.png)"
                            r"[^\"']*([\"'])", re.IGNORECASE)
_EXTERNAL_ATTR = re.compile(r"\b(src|href)\s*=\s*([\"'])(?:https?:)?//[^\"']*\2",
                            re.IGNORECASE)
_EXTERNAL_CSS_URL = re.compile(r"url\(\s*[\"']?(?:https?:)?//[^)\"']*[\"']?\s*\)",
                               re.IGNORECASE)
# what Great Expectations writes from the clock or at random, so that the same review gives
# the same pages: the batch's load time (a row of its markers) and the ids of the "Show
# more info" blocks
_LOAD_TIME_ROW = re.compile(r"<tr>(?:(?!<tr>).)*?>ge_load_time<.*?</tr>", re.DOTALL)
_RANDOM_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
OFFLINE_CSS = """/* ccreview: the Data Docs without their CDN assets (closed networks) */
body { font-family: system-ui, -apple-system, "Segoe UI", Arial, sans-serif; margin: 0;
       color: #212529; background: #fff; line-height: 1.45; }
.container, .container-fluid { max-width: 1200px; margin: 0 auto; padding: 0 1rem; }
nav, .navbar { background: #f3f4f6; padding: .5rem 1rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { border: 1px solid #d0d4da; padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #eef1f5; }
.card { border: 1px solid #d0d4da; border-radius: 4px; margin: .75rem 0; padding: .5rem; }
.text-danger, .fa-times { color: #b00020; }
.text-success, .fa-check { color: #1b7f3b; }
img { max-height: 48px; }
.d-none, .modal { display: none; }
.ge-index-page-tabs-container { display: none; }  /* script-filled tabs: listed instead */
"""


def make_offline(docs_dir: Path) -> None:
    """Rewrite every page under `docs_dir` so that it loads nothing from the internet, and
    holds nothing from the clock or chance (`_the_same_every_time`)."""
    css = docs_dir / "static" / "styles" / "ccreview_offline.css"
    css.parent.mkdir(parents=True, exist_ok=True)
    css.write_text(OFFLINE_CSS, encoding="utf-8")
    for page in docs_dir.rglob("*.html"):
        up = "../" * (len(page.relative_to(docs_dir).parts) - 1)
        text = page.read_text(encoding="utf-8")
        text = _EXTERNAL_TAG.sub("", text)
        text = _EXTERNAL_LOGO.sub(rf"\g<1>{up}static/images/\g<2>\g<3>", text)
        text = _EXTERNAL_ATTR.sub(lambda m: f'{m.group(1)}="#"', text)
        text = _EXTERNAL_CSS_URL.sub("none", text)
        link = f'<link rel="stylesheet" href="{up}static/styles/ccreview_offline.css">'
        text = text.replace("</head>", f"{link}\n</head>", 1)
        if page == docs_dir / "index.html":
            text = _with_static_index(text, docs_dir)
        page.write_text(_the_same_every_time(text), encoding="utf-8")


def _the_same_every_time(text: str) -> str:
    """A page without the batch's load time (the build's clock, not the review's date,
    which the page names) and with its random element ids numbered in order instead."""
    text = _LOAD_TIME_ROW.sub("", text)
    ids: dict[str, str] = {}
    return _RANDOM_ID.sub(lambda m: ids.setdefault(m.group(0), f"id{len(ids) + 1}"), text)


def _with_static_index(text: str, docs_dir: Path) -> str:
    """The index lists its pages in tables its scripts fill; without them, plain links."""
    import html

    def links(folder: str) -> str:
        pages = sorted(p.relative_to(docs_dir).as_posix()
                       for p in (docs_dir / folder).rglob("*.html"))
        return "".join(f'<li><a href="{html.escape(p)}">'
                       f"{html.escape(p.split('/')[1].removesuffix('.html'))}"
                       f"{' — ' + html.escape(p.split('/')[2]) if p.count('/') > 2 else ''}"
                       "</a></li>" for p in pages)
    block = ('<div class="container-fluid ccreview-offline-index">'
             f"<h3>Validation results</h3><ul>{links('validations')}</ul>"
             f"<h3>Expectation suites</h3><ul>{links('expectations')}</ul></div>\n")
    anchor = '<div id="section-1-content-block-2"'
    if anchor in text:
        return text.replace(anchor, block + anchor, 1)
    return text.replace("</body>", block + "</body>", 1)


GO = b"go "  # what the run writes to the waiting builder once the frames are there,
# followed by what to build: [frames, staging, as-of] as JSON, on one line


def main() -> int:
    """`python -m ccreview.contracts.expectations` (the builder process): imports Great
    Expectations, waits for `go [FRAMES, STAGING, AS_OF]` on its standard input (the
    frames are written), then writes FRAMES/results.json — the verdicts, or the error's
    class name. Without `go` (the run stopped first) it leaves without building."""
    os.umask(0o077)
    import great_expectations  # noqa: F401 - seconds: done while the run reads its inputs

    line = sys.stdin.buffer.readline()
    if not line.startswith(GO):
        return 0
    where, staged, day = json.loads(line[len(GO):])
    frames, staging, as_of = Path(where), Path(staged), dt.date.fromisoformat(day)
    try:
        outcome: dict = {"results": build_data_docs(frames, staging, as_of)}
    except Exception as exc:  # noqa: BLE001 - its message may quote data: the class only
        outcome = {"error": exc.__class__.__name__}
    (frames / "results.json").write_text(json.dumps(outcome), encoding="utf-8")
    return 0 if "results" in outcome else 1


if __name__ == "__main__":
    # the results are written and closed: leave without Python's teardown of Great
    # Expectations' modules, a second the run would otherwise wait for (`finish`)
    from ccreview.core.processes import leave_now

    leave_now(main())
