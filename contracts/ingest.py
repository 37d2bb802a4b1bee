"""Ingest and validate: every input row ends up accepted or quarantined.

`ingest_inputs` reads each file of the input folder with the reader that recognises it and
loads every row it found into `ingested_<table>` in the warehouse (typed per the contract,
with `_row_id`, `source_file`, `source_line`), plus the parse issues. `validate_ingested`
runs each table's pandera contract and splits the rows into `raw_<table>` (accepted) and
`quarantine` (one row per failed rule). Per file and table: read = accepted + quarantined.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pandera.pandas as pa

from ccreview.contracts.read_ahead import Prepared
from ccreview.contracts.readers import display_name, read_input_file, sign_in_events_csv, survey
from ccreview.contracts.schemas import CONTRACTS, ROW_CHECK_COLUMNS, Contract, reason_for
from ccreview.core.config import (
    HOSPITAL_CULTURES,
    HOSPITAL_TIME_ZONES,
    ApplicationListLayout,
    Cultures,
    TimeZones,
)
from ccreview.core.digest import file_sha256
from ccreview.core.duckdb_catalog import drop_relation, has_table, table_columns
from ccreview.core.errors import UnreadableInputError
from ccreview.core.patient_data import table_home
from ccreview.core.progress import progress_bar

log = logging.getLogger(__name__)

QUARANTINE_DDL = """
create or replace table quarantine (
  table_name varchar, source_file varchar, source_line integer,
  column_name varchar, rule varchar, reason varchar
)"""
INPUT_FILES_DDL = """
create or replace table input_files (
  source_file varchar, format varchar, status varchar, note varchar,
  size_bytes bigint, sha256 varchar, stored_as_of date
)"""
# rows of an event file the evidence store already had from an earlier file (by natural
# key), left out of the run's rows: filled by the store's `collect_with_store`
ALREADY_STORED_DDL = """
create or replace table input_already_stored (
  source_file varchar, table_name varchar, rows bigint
)"""
# a snapshot (directory, Entra users, an application list, the portal's lists) the run
# takes from the evidence store because its folder has none of that kind: the as-of of the
# run that read it (review_notes names one older than `evidence_age_days`); filled by the
# store's `collect_with_store`
STORED_SNAPSHOTS_DDL = """
create or replace table input_stored_snapshots (
  source_file varchar, stored_as_of date
)"""
# rows of an event file the evidence store holds (or held) that the run does not use: past
# the store's retention, or more than the run needs (the census: each account's latest
# successful sign-in only); filled by the store's `assemble_from_store`. Not used = the
# file's stored rows minus the rows of it the run has (input_summary.rows_not_used)
STORED_ROWS_DDL = """
create or replace table input_stored_rows (
  source_file varchar, table_name varchar, rows_stored bigint, why_not_used varchar
)"""


@dataclass
class InputFile:
    """One file of the input folder: what it was, and what became of its rows."""
    source_file: str  # relative to the input folder
    format: str
    status: str  # read | unreadable | unrecognised | ignored | skipped | not read | from store
    note: str = ""
    size_bytes: int = 0
    sha256: str = ""
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows read
    stored_as_of: date | None = None  # the evidence store's: as-of of the run that read it


def create_ingest_tables(con: duckdb.DuckDBPyConnection, input_files: bool = True,
                         staging: bool = False) -> None:
    """Empty `ingested_*` and `parse_issues` (and `input_files`, unless told not to).
    `staging`: the bulk tables are temporary (in memory, spilling to the warehouse's spill
    folder), for the evidence store's reading of one new file at a time — written to the
    warehouse file only to be emptied, a million sign-ins cost 0.3 s more — and have the
    columns the store keeps only (`Column.stored_only`); the warehouse's do not."""
    for c in CONTRACTS.values():
        con.execute(f"drop table if exists ingested_{c.table}")
        home = table_home(con, f"ingested_{c.table}")
        create = "create temp table" if staging and c.bulk else "create table"
        # (staging: with the columns only the evidence store keeps, read into it from here)
        con.execute(c.ddl(stored=staging).replace(f"create table {c.table} (",
                                                  f"{create} {home} (\n  _row_id integer,", 1))
    con.execute(PARSE_ISSUES_DDL)
    if input_files:
        con.execute(INPUT_FILES_DDL)
        con.execute(ALREADY_STORED_DDL)
        con.execute(STORED_SNAPSHOTS_DDL)
        con.execute(STORED_ROWS_DDL)


def empty_ingest_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty the `ingested_*` tables and `parse_issues` that `create_ingest_tables` made:
    between two files read into the evidence store, 4 ms instead of 20 ms for dropping and
    creating them again (about 0.5 s of a 100-group review's 24 new files)."""
    for c in CONTRACTS.values():
        con.execute(f"delete from ingested_{c.table}")
    con.execute("delete from parse_issues")


def ingest_inputs(input_dir: Path, con: duckdb.DuckDBPyConnection,
                  layouts: tuple[ApplicationListLayout, ...] = (),
                  time_zones: TimeZones = HOSPITAL_TIME_ZONES,
                  cultures: Cultures = HOSPITAL_CULTURES) -> list[InputFile]:
    """Read every file of `input_dir` into the `ingested_*` tables. Unreadable files are
    recorded (and logged by name) and the run goes on with the others. `layouts`: the
    configured application-list layouts; `time_zones`: the sources' configured zones."""
    create_ingest_tables(con)
    next_id = dict.fromkeys(CONTRACTS, 0)
    files: list[InputFile] = []
    paths, skipped = survey(input_dir)
    for name, why in skipped:  # named in the manifest and the Summary, never silently
        files.append(InputFile(name, "skipped", "skipped", why))
        log.warning("skipped input %s: %s", name, why)
    sizes = [_size(p) for p in paths]
    with progress_bar(sum(sizes), "ingest", "B", True) as bar:
        for path, size in zip(paths, sizes, strict=True):
            _ingest_file(input_dir, path, con, (layouts, time_zones, cultures), next_id,
                         files)
            bar.update(size)
    files.sort(key=lambda f: f.source_file)
    inputs = pd.DataFrame([{k: v for k, v in asdict(f).items() if k != "tables"}
                           for f in files], columns=["source_file", "format", "status", "note",
                                                     "size_bytes", "sha256", "stored_as_of"])
    _insert(con, "input_files", inputs)
    return files


def _ingest_file(input_dir: Path, path: Path, con: duckdb.DuckDBPyConnection,
                 settings: tuple[tuple[ApplicationListLayout, ...], TimeZones, Cultures],
                 next_id: dict[str, int], files: list[InputFile], sha256: str = "",
                 prepared: Prepared | None = None) -> None:
    """Read one file into the `ingested_*` tables and record it in `files` (`sha256`: its
    digest when the caller already has it; `prepared`: what a read-ahead worker made of
    it)."""
    rel = display_name(path, input_dir)
    entry = InputFile(rel, "unknown", "read", size_bytes=_size(path))
    files.append(entry)
    try:
        try:
            entry.sha256 = sha256 or file_sha256(path)
        except OSError as exc:
            raise UnreadableInputError(rel, f"cannot be read ({os.strerror(exc.errno or 0)})") \
                from None
        recognised = (prepared.read(path, settings) if prepared is not None
                      else read_input_file(path, *settings))
    except UnreadableInputError as exc:
        entry.status, entry.note = "unreadable", exc.reason
        log.warning("unreadable input %s: %s", rel, exc.reason)
        return
    entry.format = recognised.format
    if recognised.bulk:
        table = recognised.bulk
        try:
            n, entry.note = sign_in_events_csv.load(con, path, rel, recognised.format,
                                                    next_id[table])
        except (duckdb.Error, UnicodeError, OSError) as exc:  # messages may quote content
            entry.status = "unreadable"
            entry.note = f"not readable as CSV ({exc.__class__.__name__})"
            log.warning("unreadable input %s: %s", rel, entry.note)
            return
        next_id[table] += n
        entry.tables[table] = n
        log.info("read %s as %s: %d %s", rel, entry.format, n, table)
        return
    if recognised.result is None:
        entry.status = "unrecognised" if recognised.format == "unrecognised" else "ignored"
        entry.note = recognised.note
        if entry.status == "unrecognised":
            log.warning("no reader recognises %s; it is listed in the run report", rel)
        return
    res = recognised.result
    entry.note = recognised.note  # (how it was read, when that needs saying)
    first_id: dict[str, int] = {}
    for table, rows in res.rows.items():
        first_id[table] = next_id[table]
        next_id[table] += len(rows)
        entry.tables[table] = len(rows)
        _load_rows(con, CONTRACTS[table], rows, first_id[table], rel)
    if res.issues:
        issues = pd.DataFrame([{"table_name": i.table,
                                "_row_id": first_id[i.table] + i.row_index,
                                "column_name": i.column, "rule": i.rule,
                                "reason": i.reason, "target_column": i.target}
                               for i in res.issues])
        _insert(con, "parse_issues", issues)
    log.info("read %s as %s: %s", rel, entry.format,
             ", ".join(f"{n} {t}" for t, n in entry.tables.items()) or "no rows")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _load_rows(con: duckdb.DuckDBPyConnection, contract: Contract, rows: list[dict],
               base: int, rel: str) -> None:
    # (the columns the evidence store keeps only are in its staging tables alone)
    have = set(table_columns(con, f"ingested_{contract.table}"))
    names = [c.name for c in contract.columns if c.name in have]
    df = pd.DataFrame(rows)
    keep = [n for n in names if n in df.columns]
    df = df[keep + ["source_line"]].copy()
    df.insert(0, "_row_id", range(base, base + len(df)))
    df["source_file"] = rel
    _insert(con, f"ingested_{contract.table}", df)


def _insert(con: duckdb.DuckDBPyConnection, table: str, df: pd.DataFrame,
            create: bool = False) -> None:
    """Append a DataFrame's columns (by name) to a warehouse table (or replace it by a
    temporary table of those rows, with `create`)."""
    con.register("_incoming", df)
    try:
        if create:
            con.execute(f"create or replace temp table {table} as select * from _incoming")
        else:
            con.execute(f"insert into {table} by name select * from _incoming")
    finally:
        con.unregister("_incoming")


@dataclass
class TableCounts:
    read: int = 0
    accepted: int = 0
    quarantined: int = 0


@functools.cache
def rules_fingerprint() -> str:
    """What a row's verdict depends on besides its own values: the contracts' code and the
    modules their checks call, and pandera's and pandas' versions. The evidence store
    reuses a file's verdicts only under the fingerprint they were made with."""
    from importlib import metadata

    from ccreview.contracts import schemas
    from ccreview.core import identifiers, vocabulary

    digest = hashlib.sha256(
        f"{metadata.version('pandera')}|{metadata.version('pandas')}".encode())
    for module in (schemas, identifiers, vocabulary):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


# what a reader could not read, per row: `column_name` as the export names it,
# `target_column` the canonical column the value was for (empty for a row-level issue)
PARSE_ISSUES_DDL = """create or replace table parse_issues (
    table_name varchar, _row_id integer, column_name varchar, rule varchar, reason varchar,
    target_column varchar)"""
VERDICTS_DDL = """create or replace table {name} (
    table_name varchar, _row_id integer, column_name varchar, rule varchar, reason varchar,
    warning boolean)"""
VERDICT_COLUMNS = ["_row_id", "column_name", "rule", "reason"]


def validate_ingested(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], TableCounts]:
    """Apply each contract; fill `raw_<table>` and `quarantine`. Returns (file, table) ->
    counts, which reconcile: read = accepted + quarantined.

    On rows assembled from the evidence store (`verdict_files`, `stored_verdicts`: see
    `contracts/store.py`), the contracts' checks run only over the rows of files the store
    has no verdicts for; the others' verdicts (every check is a function of its row) come
    from the store, and the new ones are left in `verdicts_now` for it to keep."""
    con.execute(QUARANTINE_DDL)
    con.execute(QUARANTINE_DDL.replace("table quarantine", "table row_warnings"))
    # the quarantined rows' ids, per table: what raw_<table> leaves out
    con.execute("create or replace table quarantined_row_ids "
                "(table_name varchar, _row_id bigint)")
    reuse = has_table(con, "verdict_files")
    if reuse:
        con.execute(VERDICTS_DDL.format(name="verdicts_now"))
    for contract in CONTRACTS.values():
        t = contract.table
        issues = con.execute(
            "select _row_id, column_name, rule, reason, target_column from parse_issues "
            "where table_name = ?", [t]).df()
        df = None if contract.bulk else con.execute(_rows_to_check(con, t, reuse)).df()
        failures = (_required_failures(con, contract) if df is None
                    else _contract_failures(contract.schema, df))
        warned = (_contract_failures(contract.warning_schema, df)
                  if contract.has_warnings and df is not None else None)
        if reuse and df is not None:
            failures, warned = _with_stored_verdicts(con, t, failures, warned)
        if warned is not None:
            _record_warnings(con, t, warned)
        if len(issues) and len(failures):  # a value that did not parse is not also "missing"
            parsed = {(r, c) for r, named, target in zip(
                issues["_row_id"], issues["column_name"], issues["target_column"], strict=True)
                for c in (named, target)}
            failures = failures[[(r, c) not in parsed or rule != "not_nullable" for r, c, rule
                                 in zip(failures["_row_id"], failures["column_name"],
                                        failures["rule"], strict=True)]]
        all_issues = pd.concat([issues.drop(columns="target_column"), failures],
                               ignore_index=True)
        if len(all_issues):
            all_issues["table_name"] = t
            _insert(con, "_issues", all_issues[["table_name", "_row_id", "column_name", "rule",
                                                "reason"]], create=True)
            con.execute(f"""
                insert into quarantine
                select i.table_name, r.source_file, r.source_line, i.column_name, i.rule,
                       i.reason
                from _issues as i inner join ingested_{t} as r using (_row_id)
                order by r.source_file, r.source_line, i.column_name, i.rule""")
            con.execute("insert into quarantined_row_ids "
                        "select distinct table_name, _row_id from _issues")
        drop_relation(con, f"raw_{t}")
        cols = ", ".join(f'"{c.name}"' for c in contract.warehouse_columns)
        accepted = (f"select {cols}, source_file, source_line from ingested_{t} "
                    f"where _row_id not in (select _row_id from quarantined_row_ids "
                    f"where table_name = '{t}')")
        home = table_home(con, f"raw_{t}")
        if home == f"raw_{t}":
            # a view, not a copy: copying the 28 million sign-ins of 10,000 groups took 22
            # of the stage's 27 s (12 s of it sorting them by row id), and copying the
            # other tables 2 of the census's 5 s there; their staging models read them once
            # (the bulk ones aggregated, whatever their order; the others in row order)
            con.execute(f"create view raw_{t} as {accepted}"
                        + ("" if contract.bulk else " order by _row_id"))
            continue
        # a patient table is copied into the patient database, which the run drops whole
        con.execute(contract.ddl().replace(f"create table {t} (", f"create table {home} (", 1))
        con.execute(f"insert into raw_{t} {accepted} order by _row_id")
    con.execute("create or replace table input_reconciliation as " + " union all ".join(
        f"""select source_file, '{c.table}' as table_name, count(*)::bigint as rows_read,
                   count(*) filter (where b._row_id is null)::bigint as rows_accepted,
                   count(b._row_id)::bigint as rows_quarantined
            from ingested_{c.table} as i
            left join (select _row_id from quarantined_row_ids
                       where table_name = '{c.table}') as b
                using (_row_id)
            group by source_file""" for c in CONTRACTS.values()) + " order by all")
    # what of the files' stored rows the run left out (`input_stored_rows`, by the store's
    # assemble; empty without a store): the file's rows = read + already stored + not used
    con.execute("""
        create or replace table input_not_used as
        select s.source_file, s.table_name,
               (s.rows_stored - coalesce(c.rows_read, 0))::bigint as rows, s.why_not_used
        from input_stored_rows as s
        left join input_reconciliation as c using (source_file, table_name)
        where s.rows_stored > coalesce(c.rows_read, 0)
        order by all""")
    rows = con.execute("select * from input_reconciliation").fetchall()
    return {(f, t): TableCounts(r, a, q) for f, t, r, a, q in rows}


def _rows_to_check(con: duckdb.DuckDBPyConnection, table: str, reuse: bool) -> str:
    """The ingested rows the contract's checks must see: all of them, or (`reuse`) those
    of files whose verdicts the store has not (a row's file: the last one starting at or
    before its row id) — none, without matching the rows to their files, when the store
    has the verdicts of every file (the daily census at 10,000 groups: 0.1 s a table)."""
    if not reuse:
        return f"select * from ingested_{table} order by _row_id"
    if not con.execute("select count(*) from verdict_files where table_name = ? and not known",
                       [table]).fetchone()[0]:
        return f"select * from ingested_{table} where false"
    return f"""
        select i.* from ingested_{table} as i
        asof join (select first_row_id, known from verdict_files
                   where table_name = '{table}') as f on i._row_id >= f.first_row_id
        where not f.known order by i._row_id"""


def _with_stored_verdicts(con: duckdb.DuckDBPyConnection, table: str,
                          failures: pd.DataFrame, warned: pd.DataFrame | None
                          ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The verdicts just made (kept in `verdicts_now`) joined by the store's for the other
    rows: (failures, warnings)."""
    made = [frame.assign(warning=warning) for frame, warning
            in ((failures, False), (warned, True)) if frame is not None and len(frame)]
    if made:
        _insert(con, "verdicts_now",
                pd.concat(made, ignore_index=True).assign(table_name=table))
    stored = con.execute(f"select {', '.join(VERDICT_COLUMNS)}, warning from stored_verdicts "
                         "where table_name = ? order by all", [table]).df()
    if stored.empty:
        return failures, warned

    def joined(frame: pd.DataFrame, kept: pd.Series) -> pd.DataFrame:
        both = pd.concat([frame, stored.loc[kept, VERDICT_COLUMNS]], ignore_index=True)
        return both.astype({"_row_id": "int64"})

    return (joined(failures, ~stored["warning"]),
            None if warned is None else joined(warned, stored["warning"]))


def _required_failures(con: duckdb.DuckDBPyConnection, contract: Contract) -> pd.DataFrame:
    """SQL check of a bulk table's required columns (rows with a parse issue excluded:
    their value was already reported)."""
    parts = [f"""select _row_id, '{c.name}' as column_name, 'not_nullable' as rule,
                        '{reason_for("not_nullable")}' as reason
                 from ingested_{contract.table}
                 where "{c.name}" is null and _row_id not in (
                     select _row_id from parse_issues where table_name = '{contract.table}')"""
             for c in contract.warehouse_columns if c.required]
    return con.execute(" union all ".join(parts)).df()


def _record_warnings(con: duckdb.DuckDBPyConnection, table: str,
                     warnings: pd.DataFrame) -> None:
    """Rows kept despite a warning-level check: listed in `row_warnings`, not quarantined."""
    if warnings.empty:
        return
    warnings = warnings.assign(table_name=table)
    _insert(con, "_warned", warnings, create=True)
    con.execute(f"""
        insert into row_warnings
        select w.table_name, r.source_file, r.source_line, w.column_name, w.rule, w.reason
        from _warned as w inner join ingested_{table} as r using (_row_id)
        order by r.source_file, r.source_line""")


# failures pandera reports of a column, not of any row
_COLUMN_LEVEL = frozenset({"column_in_dataframe", "column_in_schema"})


class CheckCrashed(RuntimeError):
    """A contract check raised instead of judging the rows."""


def _contract_failures(schema: pa.DataFrameSchema, df: pd.DataFrame) -> pd.DataFrame:
    """pandera failure cases -> (_row_id, column, rule, reason); values are dropped."""
    columns = ["_row_id", "column_name", "rule", "reason"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    try:
        schema.validate(df, lazy=True)
        return pd.DataFrame(columns=columns)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    out = []
    for rec in fc.itertuples(index=False):
        idx = rec.index
        check = str(rec.check)
        if idx is None or (isinstance(idx, float) and pd.isna(idx)):
            if check not in _COLUMN_LEVEL:
                # the check itself raised: judged nothing, so it must not pass every row
                # (the exception's text may quote a value: only its type is named)
                raise CheckCrashed(
                    f"the contract check {check.split('(')[0]} could not run "
                    f"({str(rec.failure_case).split('(')[0]}): a defect, no row was judged")
            continue  # column-level failure (e.g. a whole column missing): not a row's fault
        rule = "not_nullable" if "not_nullable" in check else check.split("(")[0]
        row_level = rec.schema_context == "DataFrameSchema" or not isinstance(rec.column, str)
        column = ROW_CHECK_COLUMNS.get(rule, "(row)") if row_level else rec.column
        out.append({"_row_id": int(df.at[int(idx), "_row_id"]), "column_name": column,
                    "rule": rule, "reason": reason_for(rule)})
    return pd.DataFrame(out, columns=columns).drop_duplicates()
