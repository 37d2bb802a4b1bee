"""`ccreview` — the command line.

Exit status: 0 success (findings are output, not failure); 2 unusable arguments or input,
with a one-line message naming the file or argument; 1 an internal error (one line; rerun
with --debug for the traceback, which may quote input data).
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import gc
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from ccreview import prefect_runtime
from ccreview.core import redaction, run_lock

prefect_runtime.configure()  # before anything imports prefect: it reads settings once

from ccreview.core.errors import UsageError  # noqa: E402
from ccreview.flows.runners import (  # noqa: E402
    AUTO_PROCESS_POOL_GROUPS,
    AUTO_PROCESS_POOL_GROUPS_CENSUS,
    RUNNERS,
)

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
GENERATED_FOLDERS = ("enrollment", "directory", "entra", "applications", "docusign", "signins",
                     "access_logs", "adt")


def _run_flow(flow: Callable[..., dict], *args: object) -> dict:
    """Run a flow against Prefect's API: PREFECT_API_URL, else a temporary server that
    stops with the run (and dies with it if the run is killed)."""
    with prefect_runtime.prefect_api():
        return flow(*args)


def _as_of(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of must be a date YYYY-MM-DD, got {value!r}") \
            from None


def _at_least(minimum: float, kind: type = int, what: str = "a whole number"):
    """An argparse type: a `kind` number >= `minimum`, else a one-line usage error."""
    def parse(value: str):
        try:
            n = kind(value)
        except ValueError:
            n = minimum - 1
        if n < minimum:
            raise argparse.ArgumentTypeError(f"must be {what} >= {minimum:g}, got {value!r}")
        return n
    return parse


_positive = _at_least(1)
_seconds = _at_least(0, float, "a number of seconds")


def _wait_flag(parser: argparse.ArgumentParser,
               busy: str = "another run is writing to --out") -> None:
    parser.add_argument("--wait", type=_seconds, metavar="SECONDS",
                        default=run_lock.DEFAULT_WAIT_SECONDS,
                        help=f"when {busy}, wait this long for it before giving up "
                             f"(default {run_lock.DEFAULT_WAIT_SECONDS:g})")


def _folders_and_config(parser: argparse.ArgumentParser, input_help: str, out_help: str,
                        as_of_help: str | None) -> None:
    """The arguments every run command shares: input and output folders, as-of, config."""
    parser.add_argument("--input", required=True, type=Path, metavar="DIR", help=input_help)
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help=out_help)
    if as_of_help:
        parser.add_argument("--as-of", type=_as_of, metavar="YYYY-MM-DD", help=as_of_help)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="TOML file: thresholds, severities, domain lists, application "
                             "list layouts, exceptions (see data/config/review.example.toml)")
    parser.add_argument("--task-runner", choices=("auto", *RUNNERS), default="auto",
                        help="where the report stage renders its workbooks: a local process "
                             "pool, a Dask cluster (CCREVIEW_DASK_ADDRESS, else a local "
                             "one), threads, or one at a time; auto (default) uses the "
                             f"process pool from {AUTO_PROCESS_POOL_GROUPS} groups up, "
                             f"{AUTO_PROCESS_POOL_GROUPS_CENSUS} for the census")
    parser.add_argument("--workers", type=_positive, metavar="N",
                        help="render workers (default: the number of CPUs, at most 8)")
    parser.add_argument("--store", type=Path, metavar="FILE",
                        help="the evidence store every input file is kept in once (default: "
                             "evidence.duckdb in --out)")
    if as_of_help:  # a run (not serve)
        parser.add_argument("--force", action="store_true",
                            help="recompute even when nothing changed since the last run "
                                 "into --out (same inputs, history, settings and version: "
                                 "by default its reports are kept as they are)")
        parser.add_argument("--no-store", action="store_true",
                            help="read every file of --input from scratch, without the "
                                 "evidence store (nothing kept from or for other runs)")
        _wait_flag(parser)
        parser.add_argument("--accept-shrink", action="store_true",
                            help="run even though the inputs shrank drastically against the "
                                 "previous run into --out, a file of --input cannot be read "
                                 "or an export of accounts holds none, a requested "
                                 "application's user list or the DAA envelopes are missing "
                                 "altogether, or an export says it is incomplete: a Graph or "
                                 "DocuSign page missing or its envelopes without recipients, an "
                                 "HL7 batch cut short, or (the dormant run) the latest "
                                 "sign-in is long before the as-of date (by default "
                                 "refused: a partial or old export)")


def _patient_data_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--keep-patient-data", action="store_true",
                        help="keep the patient-level ADT tables in warehouse.duckdb (by "
                             "default they are removed once the census is written)")


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line naming the argument, exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ccreview",
        description="Clinical Connectivity access reviews: read the enrollment submissions "
                    "and account exports in a folder, validate them, compute the findings "
                    "and write the workbooks.")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks of internal errors on the terminal (they may "
                             "quote input data; never stored)")
    parser.add_argument("--version", action="version", version=f"ccreview {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    review = sub.add_parser(
        "review", help="run the periodic access review on a folder of exports",
        description="Run the periodic access review: every file in --input is recognised by "
                    "its content, validated (bad rows quarantined with reasons), every rule of "
                    "the findings catalog computed, and written to --out: the compliance "
                    "workbook access_review_<as-of>.xlsx, findings.csv/.parquet, the support "
                    "desk's dormant-account lists, the Report2Web distribution list and census "
                    "workbooks, quarantine.csv, Data Docs, run_manifest.json, history.duckdb "
                    "and warehouse.duckdb.")
    _folders_and_config(review, "folder of exports (searched recursively)",
                        "folder for the reports (created if missing)",
                        "review date: thresholds count back from it (default: today)")
    review.add_argument("--replace", action="store_true",
                        help="rerun an as-of date whose attestation returns were already "
                             "taken in (the earlier run is kept in the history as "
                             "superseded)")
    _patient_data_flag(review)

    dormant = sub.add_parser(
        "dormant", help="the support desk's dormant and orphaned account lists",
        description="Write the support desk's lists: dormant_accounts.csv, "
                    "dormant_accounts_<as-of>.xlsx (one sheet per Group Administrator) and "
                    "dormant_disable_lan_ids.csv, for accounts concerned by DORMANT_ACCOUNT, "
                    "NEVER_SIGNED_IN, DISABLED_WITH_ACCESS, ORPHAN_ACCOUNT, "
                    "REMOVED_MEMBER_ACTIVE or APP_UNUSED. `review` writes them too.")
    _folders_and_config(dormant, "folder of exports (searched recursively)",
                        "folder for the lists (created if missing)",
                        "date inactivity counts back from (default: today)")
    dormant.add_argument("--days", type=_positive, metavar="N",
                         help="dormancy threshold in days (default: the config's, 90)")

    census = sub.add_parser(
        "census", help="Report2Web's distribution list and Physician Census workbooks",
        description="Write r2w_distribution_<as-of>.xlsx / r2w_distribution.csv and, from the "
                    "ADT feed, one Physician Census workbook per subscribed provider in "
                    "census/ with census_manifest.csv. The workbooks hold PHI: set "
                    "CCREVIEW_CENSUS_PASSWORD (or CCREVIEW_CENSUS_PASSWORD_FILE, a file "
                    "holding it) to encrypt them. `review` writes them too.")
    _folders_and_config(census, "folder of exports with the ADT feed (searched recursively)",
                        "folder for the workbooks (created if missing)",
                        "census date: patients admitted at the end of it, midnight on the "
                        "hospital's clock (default: today)")
    _patient_data_flag(census)

    serve = sub.add_parser(
        "serve", help="serve the scheduled deployments on a Prefect server (long-running)",
        description="Register and serve the deployments: quarterly access review, weekly "
                    "dormant accounts, daily census, each reviewing --input as of the day it "
                    "runs into its own folder under --out, and attestation intake on demand "
                    "(returned workbooks from --out/returned). Point PREFECT_API_URL at a "
                    "long-lived `prefect server start` first (see README). Stops on Ctrl-C.")
    _folders_and_config(serve, "folder the exports are dropped into",
                        "folder for every run's reports", None)
    serve.add_argument("--ephemeral", action="store_true",
                       help="serve on a temporary Prefect server when PREFECT_API_URL is not "
                            "set (its schedules and run history vanish when serve stops; "
                            "for a trial, not for production)")

    pull_cmd = sub.add_parser(
        "pull", help="fetch evidence from Graph, ServiceNow or DocuSign into the input folder",
        description="Fetch what a source system holds into --input, in the shapes the "
                    "readers take: graph (Entra users with signInActivity, replaced whole; "
                    "the sign-in log since the last pull), servicenow (enrollment "
                    "submissions updated since the last pull), docusign (DAA envelopes "
                    "changed since the last pull). Settings in the config's [pull.<source>]; "
                    "secrets from the environment (CCREVIEW_GRAPH_CLIENT_SECRET, "
                    "CCREVIEW_SERVICENOW_PASSWORD, CCREVIEW_DOCUSIGN_PRIVATE_KEY, or the "
                    "same names with _FILE) or the Prefect Secret blocks the config names; "
                    "never from the command line. An interrupted pull resumes where it "
                    "stopped when run again.")
    pull_cmd.add_argument("source", choices=("graph", "servicenow", "docusign"),
                          help="the source system to pull")
    pull_cmd.add_argument("--input", required=True, type=Path, metavar="DIR",
                          help="the input folder the reviews read (the cursors are kept in "
                               "its .ccreview-pull/)")
    pull_cmd.add_argument("--config", type=Path, metavar="FILE", required=True,
                          help="TOML file with the [pull.<source>] section")
    _wait_flag(pull_cmd, "another pull of the source is running")

    attest = sub.add_parser(
        "attest", help="read returned attestation workbooks; write the remediation list",
        description="Read the attestation workbooks the groups sent back (any file names, "
                    "rows in any order), check them against what the review in --out issued "
                    "(unknown or missing decisions, edited evidence, another group or review "
                    "period, duplicate returns), record each group's status (complete, "
                    "returned, incomplete, overdue, not returned) for the next compliance "
                    "workbook, and write remediation_<as-of>.xlsx and .csv to --out: what to "
                    "revoke or change, grouped by application team. Rerun as returns arrive.")
    attest.add_argument("--returned", required=True, type=Path, metavar="DIR",
                        help="folder of returned workbooks (searched recursively)")
    attest.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="the review's output folder (holds history.duckdb)")
    attest.add_argument("--as-of", type=_as_of, metavar="YYYY-MM-DD",
                        help="the review whose workbooks these are (default: the latest)")
    attest.add_argument("--received-by", type=_as_of,
                        metavar="YYYY-MM-DD",
                        help="date of this intake: groups past due with nothing returned "
                             "are overdue (default: today on the hospital's clock)")
    _wait_flag(attest)

    hist = sub.add_parser(
        "history", help="list the runs recorded in an output folder; restore a backup",
        description="List the reviews recorded in --out/history.duckdb (as-of, when it "
                    "ran, inputs, findings, attestation workbooks issued and returned, "
                    "current or superseded) and the backups taken before each change; "
                    "--restore NAME puts a backup back (the current file is backed up "
                    "first).")
    hist.add_argument("--out", required=True, type=Path, metavar="DIR",
                      help="the output folder holding history.duckdb")
    hist.add_argument("--restore", metavar="BACKUP",
                      help="file name of a backup listed by `ccreview history`")
    hist.add_argument("--as-of", type=_as_of, metavar="YYYY-MM-DD",
                      help="point in time: who held which application at the review as of "
                           "this date, and what it found (writes a CSV with --csv)")
    hist.add_argument("--application", metavar="CODE",
                      help="with --as-of: only this application (CERNER, PACS, DSM, QVENTUS, "
                           "R2W)")
    hist.add_argument("--person", metavar="TEXT",
                      help="with --as-of: only people whose name or email contains TEXT")
    hist.add_argument("--csv", type=Path, metavar="FILE",
                      help="with --as-of: write the rows to FILE (owner-only) instead of "
                           "the terminal")

    gen = sub.add_parser(
        "generate", help="write a synthetic organisation (every input format + ground truth)",
        description="Write a seeded, realistic synthetic organisation: enrollment submissions, "
                    "Active Directory (PowerShell 5.1 and 7) and Entra ID (Graph) exports, "
                    "application user lists, DocuSign envelopes, and expected_findings.csv, "
                    "the ground truth of every injected defect for `review --as-of` the same "
                    "date. The same seed gives byte-identical files.")
    gen.add_argument("--out", required=True, type=Path, metavar="DIR",
                     help="folder to write (must be empty or an earlier generator output)")
    gen.add_argument("--groups", type=_positive, default=24, metavar="N",
                     help="number of enrolled groups (default 24; ~12 people each)")
    gen.add_argument("--seed", type=int, default=1, metavar="N", help="random seed (default 1)")
    gen.add_argument("--as-of", type=_as_of, default=dt.date.today(), metavar="YYYY-MM-DD",
                     help="date the organisation is observed at (default: today)")
    gen.add_argument("--events-per-person", type=_positive, default=4, metavar="N",
                     help="successful sign-ins per person in the sign-in log (default 4; "
                          "about 250 is a quarter's worth); the access logs get half")
    for command in sub.choices.values():  # `ccreview review --debug` works too
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help=argparse.SUPPRESS)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ccreview")
    except metadata.PackageNotFoundError:
        return "dev"


def _prepare_run(args: argparse.Namespace, run: str) -> None:
    """Everything that can be checked before anything is written or Prefect starts: the
    folders, the configuration, the inputs the run cannot do without."""
    from ccreview.core.config import load_config

    _check_folders(args)
    if args.store and args.no_store:
        raise UsageError("--store and --no-store: give one or the other")
    if args.store and args.store.is_dir():
        raise UsageError(f"--store {args.store}: a folder; give the store's file, e.g. "
                         f"{args.store / 'evidence.duckdb'}")
    config = load_config(args.config)
    if args.as_of is None:  # today on the hospital's clock, not the machine's
        args.as_of = config.time_zones.today()
    # the arguments are sound: the temporary Prefect server starts now, while the checks
    # below and the flow's modules load (their imports take a third of a second before
    # the first input is looked at); a check that fails stops it
    prefect_runtime.start_server_early()
    try:
        # (imported once the server starts: half a second of pandas and pandera that the
        # server's start-up now covers, and that a usage error above never waits for)
        from ccreview.contracts.readers import require_inputs
        from ccreview.contracts.store import STORE, require_stored

        kinds = require_inputs(args.input, run, config.application_lists)
        # what the folder lacks, from the evidence store: refused here, before the flow (and
        # its failure hooks) starts or the output folder is made
        store = None if args.no_store else args.store or args.out / STORE
        require_stored(run, args.input, kinds, store, args.as_of, certain=False)
        if run == "review":
            from ccreview.core.history import refuse_silent_replacement

            refuse_silent_replacement(args.out, args.as_of, args.replace)
    except BaseException:
        prefect_runtime.stop_server_early()
        raise
    # the Data Docs builder imports Great Expectations while the run starts
    from ccreview.contracts.expectations import start_builder_early

    start_builder_early()


def cmd_review(args: argparse.Namespace) -> int:
    _prepare_run(args, "review")
    print(f"ccreview review: {args.input} as of {args.as_of} -> {args.out}", flush=True)
    from ccreview.contracts.store import stored_rows_summary
    from ccreview.flows.access_review import access_review

    with run_lock.holding(args.out, "access-review", args.wait):
        result = _run_flow(access_review, str(args.input), str(args.out),
                           args.as_of.isoformat(), str(args.config) if args.config else None,
                           args.task_runner, args.workers, args.accept_shrink, args.replace,
                           args.keep_patient_data, _store(args), args.no_store, args.force)
    _print_outputs(result, args.out)
    findings = result["findings_by_rule"]
    print(f"\nFindings: {sum(findings.values())}")
    for rule, n in sorted(findings.items()):
        print(f"  {rule:<24} {n}")
    ing, val = result["ingest"], result["validate"]
    more = stored_rows_summary(ing.get("store_rows_already_stored", 0), val.get("not_used", 0))
    print(f"Inputs: {ing['files']} files, {val['read']} rows read, {val['accepted']} accepted, "
          f"{val['quarantined']} quarantined{more}")
    if not _census_encrypted(args) and any("/census/census_" in str(p)
                                           for p in result["outputs"]):
        print("Census workbooks hold PHI and are NOT encrypted: set CCREVIEW_CENSUS_PASSWORD "
              "or CCREVIEW_CENSUS_PASSWORD_FILE, or name a Prefect Secret block in the "
              "config ([census] password_secret), to encrypt them")
    dq = result["data_quality"]
    print(f"Data quality: {dq['expectations']} expectations, {dq['not_met']} not met "
          f"(Data Docs: {args.out / 'data_quality' / 'index.html'})")
    _print_review_notes(args.out)
    _print_census_feed(args.out)
    _print_patient_data(result)
    problems = sum(ing.get(f"files_{s}", 0) for s in ("unreadable", "unrecognised", "skipped"))
    if problems:
        print(f"  {problems} file(s) could not be used: see the Summary sheet or "
              "run_manifest.json")
    return EXIT_OK


def _store(args: argparse.Namespace) -> str | None:
    return str(args.store.resolve()) if args.store else None


def _print_review_notes(out: Path) -> None:
    """What the review leaves to resolve that is not a finding (review_notes.csv), counted
    by kind: an ambiguous account, an unknown suffix, no sign-in evidence at all..."""
    import csv
    from collections import Counter

    try:
        with (out / "review_notes.csv").open(encoding="utf-8", newline="") as fh:
            kinds = Counter(row.get("note") or "" for row in csv.DictReader(fh))
    except OSError:
        return
    if kinds:
        print("To resolve (not findings; the workbook's To resolve sheet): "
              + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())))


def _print_census_feed(out: Path) -> None:
    """How the run's census used the ADT feed (`census_feed` in run_manifest.json: counts
    only), so that the R2W team sees a feed that stopped or visits left off."""
    try:
        feed = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))[
            "census_feed"]
    except (OSError, ValueError, KeyError):
        return
    off = ", ".join(f"{feed[k]} {what}" for k, what in (
        ("visits_out_of_scope", "out of census scope"), ("visits_cancelled", "cancelled"),
        ("visits_pre_admitted", "pre-admitted"),
        ("discharges_without_admit", "discharged with no admission seen")) if feed[k])
    print(f"ADT feed: {feed['messages']} messages ({feed['duplicate_messages']} sent "
          f"twice), {feed['visits']} visits: {feed['on_census']} in the hospital in census "
          f"scope, {feed['on_census_pcp_not_subscribed']} of them with a primary care "
          f"physician who receives no census{f'; not listed: {off}' if off else ''}")


def _print_patient_data(result: dict) -> None:
    if result.get("patient_data_kept"):
        print("warehouse.duckdb keeps the patient-level ADT tables (--keep-patient-data)")
    elif result.get("patient_rows_removed"):
        print(f"Patient-level ADT data ({result['patient_rows_removed']} rows) was removed "
              "from warehouse.duckdb once the census was written")


def cmd_dormant(args: argparse.Namespace) -> int:
    _prepare_run(args, "dormant")
    print(f"ccreview dormant: {args.input} as of {args.as_of} -> {args.out}", flush=True)
    from ccreview.flows.access_review import dormant_accounts

    with run_lock.holding(args.out, "dormant-accounts", args.wait):
        result = _run_flow(dormant_accounts, str(args.input), str(args.out),
                           args.as_of.isoformat(), str(args.config) if args.config else None,
                           args.days, args.task_runner, args.workers, args.accept_shrink,
                           _store(args), args.no_store, args.force)
    _print_outputs(result, args.out)
    from ccreview.core.vocabulary import support_desk_findings

    support = support_desk_findings(result["findings_by_rule"])
    print(f"\nSupport findings: {sum(support.values())}")
    for rule, n in sorted(support.items()):
        print(f"  {rule:<24} {n}")
    return EXIT_OK


def _census_encrypted(args: argparse.Namespace) -> bool:
    """Whether the census workbooks get a password: from the environment (a bad secret file
    fails here, before the run) or the Prefect Secret block the config names (read by the
    run itself, from its Prefect server)."""
    from ccreview.core.config import load_config
    from ccreview.reports.r2w import census_encrypted

    return census_encrypted(load_config(args.config).census_password_secret)


def cmd_census(args: argparse.Namespace) -> int:
    _prepare_run(args, "census")
    encrypted = _census_encrypted(args)
    print(f"ccreview census: {args.input} as of {args.as_of} -> {args.out} "
          f"({'encrypted' if encrypted else 'NOT encrypted: set CCREVIEW_CENSUS_PASSWORD'})",
          flush=True)
    from ccreview.flows.access_review import daily_census

    with run_lock.holding(args.out, "daily-census", args.wait):
        result = _run_flow(daily_census, str(args.input), str(args.out),
                           args.as_of.isoformat(), str(args.config) if args.config else None,
                           args.task_runner, args.workers, args.accept_shrink,
                           args.keep_patient_data, _store(args), args.no_store, args.force)
    _print_outputs(result, args.out)
    _print_census_feed(args.out)
    _print_patient_data(result)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ccreview.core.config import load_config, local_time_zone

    _check_folders(args)
    config = load_config(args.config)
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url and not args.ephemeral:
        raise UsageError(
            "serve needs a long-lived Prefect server to keep the schedules and the runs: "
            "start one (`prefect server start`, see README) and set PREFECT_API_URL, e.g. "
            "http://127.0.0.1:4200/api; or pass --ephemeral to serve on a temporary server "
            "whose schedules and history vanish when serve stops")
    zone = config.schedule_time_zone or local_time_zone()
    with prefect_runtime.prefect_api() as url:  # checks PREFECT_API_URL answers
        from prefect import serve

        from ccreview.flows.deployments import SCHEDULES, build_deployments

        deployments = build_deployments(args.input, args.out, args.config, args.task_runner,
                                        args.workers, args.store, zone)
        print(f"Serving on {url}{' (temporary: --ephemeral)' if args.ephemeral else ''}; "
              f"schedules in {zone}:")
        for name, (_, cron, folder) in SCHEDULES.items():
            print(f"  {name:<26} cron '{cron}' ({zone}) -> {args.out / folder}")
        from ccreview.flows.deployments import PULL_CRON

        for source in config.pull:
            print(f"  {'pull-' + source:<26} cron '{PULL_CRON}' ({zone}) -> {args.input}")
        print(f"  {'attestation-intake':<26} on demand: {args.out / 'returned'} -> "
              f"{args.out / 'access_review'}")
        print(f"  evidence store shared by the runs: "
              f"{args.store or args.out / 'evidence.duckdb'}")
        serve(*deployments)
    return EXIT_OK


def cmd_pull(args: argparse.Namespace) -> int:
    from ccreview.core.config import load_config

    config = load_config(args.config)  # a missing section is one line before Prefect starts
    if args.source not in config.pull:
        raise UsageError(f"{args.config}: no [pull.{args.source}] section (see "
                         "data/config/review.example.toml)")
    if args.input.exists() and not args.input.is_dir():
        raise UsageError(f"--input {args.input}: not a folder")
    from ccreview.flows.pull import PULL_FLOWS

    lines = _run_flow(PULL_FLOWS[args.source], str(args.input), str(args.config), args.wait)
    print("\n".join(lines))
    return EXIT_OK


def cmd_attest(args: argparse.Namespace) -> int:
    if not args.returned.is_dir():
        raise UsageError(f"--returned {args.returned}: not a folder")
    if not args.out.is_dir():
        raise UsageError(f"--out {args.out}: not a folder (the review's output folder)")
    if not (args.out / "history.duckdb").is_file():
        raise UsageError(f"--out {args.out}: no review history here (history.duckdb); "
                         "run `ccreview review` with this --out first")
    from ccreview.core.history import check_register

    check_register(args.out / "history.duckdb", args.as_of)
    print(f"ccreview attest: {args.returned} -> {args.out}", flush=True)
    from ccreview.flows.attestation_intake import attestation_intake

    with run_lock.holding(args.out, "attestation-intake", args.wait):
        result = _run_flow(attestation_intake, str(args.returned), str(args.out),
                           args.as_of.isoformat() if args.as_of else None,
                           args.received_by.isoformat() if args.received_by else None)
    print("\nWrote:")
    for p in result["outputs"]:
        print(f"  {p}")
    print(f"\nAttestations for the review of {result['as_of']} ({result['files']} files read):")
    for status, n in sorted(result["groups_by_status"].items()):
        print(f"  {status:<14} {n} groups")
    print(f"Rows to revoke or change: {result['to_revoke_or_change']}; problems in the returns: "
          f"{result['problems']}")
    if result["blocking_problems"]:
        print(f"{result['blocking_problems']} problem(s) block a group's attestation: see the "
              "Problems sheet")
    return EXIT_OK


MIN_FREE_BYTES = 64 << 20  # a run needs room for its warehouse and workbooks


def _check_folders(args: argparse.Namespace) -> None:
    if not args.input.is_dir():
        raise UsageError(f"--input {args.input}: not a folder")
    _check_writable(args.out, "--out")


def _check_writable(out: Path, flag: str) -> None:
    """A read-only, full or unusable output folder is a usage error before anything
    starts; nothing is created to find out."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{flag} {out}: exists and is not a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {out}: not writable ({existing} is read-only for this user)")
    free = shutil.disk_usage(existing).free
    if free < MIN_FREE_BYTES:
        raise UsageError(f"{flag} {out}: the disk is full ({free >> 20} MB free; a run "
                         f"needs at least {MIN_FREE_BYTES >> 20} MB)")


def _print_outputs(result: dict, out: Path) -> None:
    """The files written; a subfolder of many (attestation, census) as one line."""
    # folders as strings, each resolved once: at 10,000 groups the outputs are 20,000
    # files, and a Path and a resolve (a system call per part of its path) for each took
    # over a second of the run
    by_folder: dict[str, list[str]] = {}
    for p in result["outputs"]:
        by_folder.setdefault(os.path.dirname(p), []).append(p)
    here = out.resolve()
    top = {folder for folder in by_folder if Path(folder).resolve() == here}
    if result.get("unchanged"):
        print(f"\nNothing changed since the last run into {out} (same inputs, history, "
              "settings and version): its reports are current; --force recomputes")
    print("\nCurrent, unchanged:" if result.get("unchanged") else "\nWrote:")
    for p in result["outputs"]:
        folder = os.path.dirname(p)
        siblings = by_folder[folder]
        if folder in top or len(siblings) <= 5:
            print(f"  {p}")
        elif p == siblings[0]:
            print(f"  {folder}{os.sep} ({len(siblings)} files)")
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result["stage_seconds"].items())
    print(f"Stages: {stages}")


def cmd_history(args: argparse.Namespace) -> int:
    from ccreview.core import history as run_history

    if not (args.out / run_history.HISTORY).is_file() and not args.restore:
        raise UsageError(f"--out {args.out}: no review history here (history.duckdb)")
    if args.restore:
        with run_lock.holding(args.out, "history restore", run_lock.DEFAULT_WAIT_SECONDS):
            restored = run_history.restore_backup(args.out, args.restore)
        print(f"Restored {restored.name} as {args.out / run_history.HISTORY} (the file it "
              "replaced was backed up first)")
        return EXIT_OK
    if args.as_of:
        return _history_as_of(args)
    if args.application or args.person or args.csv:
        raise UsageError("--application, --person and --csv go with --as-of")
    runs, backups = run_history.list_runs(args.out), run_history.list_backups(args.out)
    print(f"{'as of':<11} {'status':<11} {'ran at':<20} {'inputs':>6} {'findings':>8} "
          f"{'issued':>6} {'returned':>8}  run id")
    for r in runs:
        print(f"{r['as_of']:<11} {r['status']:<11} {r['ran_at']:<20} {r['inputs']:>6} "
              f"{r['findings']:>8} {r['issued']:>6} {r['returned']:>8}  {r['run_id']}")
    print(f"\nBackups in {args.out / run_history.BACKUPS} (newest last):")
    for b in backups:
        print(f"  {b}")
    if not backups:
        print("  none yet")
    return EXIT_OK


def _history_as_of(args: argparse.Namespace) -> int:
    """Point in time: the entitlement snapshot and findings of one recorded review."""
    from ccreview.core.history import ENTITLEMENT_COLUMNS, entitlements_as_of

    rows, found = entitlements_as_of(args.out, args.as_of, args.application, args.person)
    headers = [c for c, _ in ENTITLEMENT_COLUMNS]
    col = {c: i for i, c in enumerate(headers)}
    held = [r for r in rows if r[col["account_active"]]]
    if args.csv:
        from ccreview.reports.files import write_csv

        write_csv(args.csv, headers, rows)
        print(f"{len(rows)} rows ({len(held)} with an active account) as of {args.as_of} -> "
              f"{args.csv}")
    else:
        print(f"Review as of {args.as_of}: {len(rows)} person x application rows, "
              f"{len(held)} with an active account")

        def yes(value: object) -> str:
            return "yes" if value else "no"

        for r in rows:
            print(f"  {r[col['request_number']]}  {r[col['application']]:<8} "
                  f"{r[col['person_name']] or '':<28} {r[col['email']] or '':<40} "
                  f"{r[col['member_status']] or '':<8} requested {yes(r[col['requested']])} "
                  f"account {yes(r[col['provisioned']])} active "
                  f"{yes(r[col['account_active']])} last used "
                  f"{r[col['last_used_on']] or '-'}  findings: {r[col['findings']] or '-'}")
    print(f"Findings of that review: {sum(found.values())}")
    for rule, n in found.items():
        print(f"  {rule:<24} {n}")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    from ccreview.synthetic import generate

    out: Path = args.out
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out}: exists and is not a folder")
        if any(out.iterdir()) and not (out / "generation.json").exists():
            raise UsageError(f"--out {out}: not empty and not an earlier generator output; "
                             "refusing to write into it")
        for name in GENERATED_FOLDERS:  # an earlier, larger run may have left more pages
            shutil.rmtree(out / name, ignore_errors=True)
    print(f"ccreview generate: {args.groups} groups, seed {args.seed}, as of {args.as_of}",
          flush=True)
    counts = generate(out, args.groups, args.seed, args.as_of, args.events_per_person)
    total = sum(v for k, v in counts.items() if k != "expected_findings.csv")
    print(f"Wrote {len(counts)} files, {total} records, under {out}")
    print(f"Ground truth: {counts['expected_findings.csv']} expected findings in "
          f"{out / 'expected_findings.csv'}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    redaction.install()
    os.umask(0o077)  # every file a run writes is readable by its owner only
    if args.debug:
        os.environ["CCREVIEW_DEBUG"] = "1"
    os.environ.setdefault("CCREVIEW_PROGRESS", "1")  # bars on a terminal, never in logs
    handler = {"review": cmd_review, "dormant": cmd_dormant, "census": cmd_census,
               "serve": cmd_serve, "attest": cmd_attest, "pull": cmd_pull,
               "history": cmd_history,
               "generate": cmd_generate}[args.command]
    try:
        return handler(args)
    except UsageError as exc:
        print(f"ccreview: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.errno not in _STORAGE_ERRORS:
            return _internal(exc, args.debug)
        # a disk that filled up or turned read-only during the run: the path, never data
        print(f"ccreview: error: cannot write {exc.filename or 'the output'}: "
              f"{os.strerror(exc.errno)}", file=sys.stderr)
        return EXIT_USAGE
    except prefect_runtime.PrefectUnavailable as exc:
        print(f"ccreview: error: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
    except KeyboardInterrupt:
        print("ccreview: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _internal(exc, args.debug)


_STORAGE_ERRORS = (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT, errno.EPERM)


def _internal(exc: BaseException, debug: bool) -> int:
    if debug:
        raise exc
    print(f"ccreview: internal error ({exc.__class__.__name__}); rerun with --debug for "
          "the traceback", file=sys.stderr)
    return EXIT_INTERNAL


def run() -> int:
    """The `ccreview` command: `main`, then a process end without the interpreter's last
    sweep for unreachable objects. After a flow that sweep walks every object Prefect,
    pandas and DuckDB left (about 0.35 s, a tenth of a small run's fixed cost); freezing
    them first skips it. Exit handlers still run, and every file the run wrote is
    already closed. Not for `main` called in-process (the tests), whose process goes on."""
    code = main()
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(run())
