"""The evidence store: each input file ingested once, kept beyond what its source keeps.

A persistent DuckDB file (`evidence.duckdb` in the output folder unless `--store` puts it
elsewhere; owner-only) into which every input file is read once, keyed by its SHA-256. A
run reads only the files the store has not seen; a file seen before is listed as such
and its rows come from the store. The run's `ingested_*` tables are then assembled from
the store, as the readers would have left them for one folder, and validated as usual.

Two kinds of evidence:
- **events** (enrollment submissions, DocuSign envelopes, ADT messages, sign-in logs,
  application access logs) accumulate: every file's rows are appended, except rows an
  earlier file already brought (overlapping exports), judged by their natural key: the
  sign-in log's request ID (else user, application, time, success and source for access
  logs), the submission's request number and submission time (with its people and
  application requests), the envelope ID and status time (with its recipients), the
  message control ID. A run as of a date uses every event file first stored by a run as
  of that date or earlier, whether or not its folder still holds it.
- **snapshots** (Active Directory, Entra users, application user lists, the portal's
  member lists and DAA status lists) replace each other: for each table and partition
  (the application of an application list, the group of a portal member list, else the
  whole table) the current state is the files of the latest run, as of the review date,
  that saw one. Earlier snapshots stay for point-in-time questions.

Retention (`[retention]` in the config): sign-in and access events older than
`event_days` are removed, except each account's latest successful event (the dormancy
evidence); ADT messages (PHI) are removed once their visit was discharged more than
`adt_days_after_discharge` days before the review date. A file whose rows were removed is
still known by its SHA-256, so dropping it in again does not bring them back.

Each run reads what it needs: the census uses the folder's enrollment, DocuSign,
application-list, ADT and directory files (the last to check R2W recipients' accounts);
the dormant lists its directory, sign-in, application-list and enrollment files. A file
of another kind is listed as not read, whether or not the store knows it: what the run's
models use of that kind comes from the store as the last successful run left it (a run
whose folder holds none of what it cannot do without needs the store to have it:
`STORED_NEEDS`, `require_stored`).

The census needs only each account's latest successful sign-in per source and application
(`RUN_COMPACTS`); the store keeps those rows in `latest_sign_ins`, merged in whenever a run
stores new sign-in files (`_refresh_latest_sign_ins`), so that a census copies them instead
of searching every stored event.

Each file's rows are a reading of it: `store.files.readers` records the readers'
fingerprint (`readers_fingerprint`: their code, the parsing libraries, the reading
settings) it was read under, and a file the folder holds under another one is read again,
its stored reading replaced (`_forget_reading`); one the folder no longer holds keeps it.

The contracts' verdicts on a file's rows (failures and warnings) are kept with them, under a
fingerprint of the rules (`ingest.rules_fingerprint`): a later run checks only the rows of
files the store has no verdicts for (`_stored_verdicts`, `_keep_verdicts`).

What a run's folder held is recorded (`commit_run`) only once the run succeeded, so a run
that failed or was refused (a partial export) changes no later run's snapshot; the files
it read stay in the store, unused until a successful run sees them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ccreview.contracts.ingest import (
    ALREADY_STORED_DDL,
    INPUT_FILES_DDL,
    STORED_ROWS_DDL,
    STORED_SNAPSHOTS_DDL,
    VERDICTS_DDL,
    InputFile,
    _ingest_file,
    _insert,
    _size,
    create_ingest_tables,
    empty_ingest_tables,
    rules_fingerprint,
)
from ccreview.contracts.read_ahead import ReadAhead, worth_reading_ahead
from ccreview.contracts.readers import (
    adt_hl7,
    display_name,
    docusign_json,
    enrollment_json,
    entra_sign_in_json,
    is_event_log,
    readers_fingerprint,
    sign_in_events_csv,
    sniff_kinds,
    survey,
)
from ccreview.contracts.schemas import CONTRACTS
from ccreview.core.config import Retention, ReviewConfig
from ccreview.core.digest import file_sha256
from ccreview.core.duckdb_catalog import has_table, sql_path
from ccreview.core.errors import UsageError
from ccreview.core.progress import progress_bar
from ccreview.core.vocabulary import ADT_CLOSED, ADT_EVENTS

log = logging.getLogger(__name__)

STORE = "evidence.duckdb"
SCHEMA_VERSION = "1"

EVENT_FORMATS = frozenset({
    enrollment_json.FORMAT, docusign_json.FORMAT, adt_hl7.FORMAT_HL7, adt_hl7.FORMAT_CSV,
    sign_in_events_csv.FORMAT_ENTRA, sign_in_events_csv.FORMAT_ACCESS,
    entra_sign_in_json.FORMAT,
})
# every other format (directory, Entra users, application lists, the portal's member and
# DAA lists) is a snapshot
# the column whose value says which part of a table a snapshot file replaces
SNAPSHOT_PARTITION = {"application_accounts": "application",
                      "enrollment_people": "group_request_number"}
# the kinds of file (readers.sniff_kinds) each run parses; None: every file
RUN_READS: dict[str, frozenset[str] | None] = {
    "review": None,
    # (the folder's directory exports too: the census leaves off an R2W recipient whose
    # account is disabled or dormant, as of the freshest export there is)
    "census": frozenset({"enrollment", "docusign", "applications", "adt", "directory"}),
    # (the folder's enrollment too: without it an account added since the last review is
    # an orphan to disable)
    "dormant": frozenset({"directory", "sign_in", "applications", "enrollment"}),
}
# tables a run never uses: left empty, not even copied from the store
RUN_LEAVES_EMPTY = {"dormant": frozenset({"adt_events"})}
# tables a run needs only the latest successful event of, per account, source and
# application (the dormancy evidence): the census checks R2W recipients' activity, nothing
# else of the sign-in logs, so it copies one row per account instead of every event
RUN_COMPACTS = {"census": frozenset({"sign_in_events"})}


def _family(fmt: str) -> str:
    return fmt.replace("-csv", "").replace("-xlsx", "")


EVENT_FAMILIES = frozenset(_family(f) for f in EVENT_FORMATS)


def kind_of(fmt: str) -> str:
    """'event' or 'snapshot' for a reader's format name (its -xlsx flavour included)."""
    return "event" if _family(fmt) in EVENT_FAMILIES else "snapshot"


@dataclass
class StoreSummary:
    """What the store did for a run: files read now, seen before, taken from the store
    without being in the folder, left unread (retention's removals: `commit_run`)."""
    path: str
    new: int = 0
    seen_before: int = 0
    from_store: int = 0
    not_read: int = 0
    rows_already_stored: int = 0  # rows of the new files an earlier file had brought
    read_again: int = 0  # of `new`: files the store held, read under other readers


def create_store_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The store's tables in the attached database `store` (kept if they exist)."""
    con.execute("create table if not exists store.meta (key varchar primary key, "
                "value varchar)")
    con.execute("insert or ignore into store.meta values ('schema_version', ?)",
                [SCHEMA_VERSION])
    con.execute("""create table if not exists store.files (
        sha256 varchar primary key, source_file varchar, format varchar, note varchar,
        size_bytes bigint, kind varchar, first_as_of date, read_at timestamp)""")
    # the readers' fingerprint a file's rows were read under (`readers_fingerprint`;
    # empty in a store made before it was kept)
    con.execute("alter table store.files add column if not exists readers varchar")
    con.execute("""create table if not exists store.file_tables (
        sha256 varchar, table_name varchar, rows_read bigint, rows_stored bigint)""")
    con.execute("""create table if not exists store.file_parts (
        sha256 varchar, table_name varchar, part varchar)""")
    con.execute("""create table if not exists store.sightings (
        as_of date, sha256 varchar, source_file varchar, ord integer)""")
    # the contracts' verdicts on each file's rows (failures and warnings; a row without
    # one passed), for the files validated whole under the rules fingerprint `rules`
    con.execute("""create table if not exists store.verdicts (
        sha256 varchar, table_name varchar, file_row integer, column_name varchar,
        rule varchar, reason varchar, warning boolean)""")
    con.execute("""create table if not exists store.verdicts_made (
        sha256 varchar, table_name varchar, rules varchar)""")
    con.execute("""create table if not exists store.parse_issues (
        sha256 varchar, table_name varchar, file_row integer, column_name varchar,
        rule varchar, reason varchar, target_column varchar)""")
    if not con.execute("""select count(*) from duckdb_columns() where database_name = 'store'
                          and table_name = 'parse_issues' and column_name = 'target_column'
                          """).fetchone()[0]:
        # a store made before issues named their canonical column: the readers of then
        # named a required column as its canonical name in any case, or accountEnabled
        con.execute("alter table store.parse_issues add column target_column varchar")
        con.execute("""update store.parse_issues set target_column = case
                           when lower(column_name) = 'accountenabled' then 'enabled'
                           else lower(column_name) end""")
    for c in CONTRACTS.values():
        ddl = c.ddl(stored=True).replace(f"create table {c.table} (",
                              f"create table if not exists store.rows_{c.table} (", 1)
        con.execute(ddl)
        con.execute(f"alter table store.rows_{c.table} add column if not exists "
                    "sha256 varchar")
        con.execute(f"alter table store.rows_{c.table} add column if not exists "
                    "file_row integer")
    # a column a contract gained since the store was made (e.g. sign_in_events.request_id)
    for c in CONTRACTS.values():
        have = set(_store_columns(con, f"rows_{c.table}"))
        for col in c.columns:
            if col.name not in have:
                con.execute(f'alter table store.rows_{c.table} add column "{col.name}" '
                            f"{col.type}")


def _columns(table: str, stored: bool = True) -> list[str]:
    """The quoted columns of `table`'s rows as the store keeps them or, not `stored`, as
    the warehouse does (without those the store keeps only)."""
    return [f'"{c.name}"' for c in CONTRACTS[table].kept_columns(stored)] + ["source_line"]


# which rows of a newly read event file the store already has, by natural key. The keys
# both sides share are found by scanning the store against the new file's keys (the hash
# table is built on the file, a day's rows, not on the store's millions), then the file's
# rows with those keys are left out: SQL over the file's rows in `ingested_<table>` (i).
#
# The natural key of each event table whose rows decide duplicates (children follow their
# parent: a submission's people and application requests, an envelope's recipients), and
# the temporary table the keys the store already has go to
# (a submission's later export that says ServiceNow closed it unfulfilled is not the same
# row as its earlier one: `closed_as` is part of its key, compared with nulls equal)
_KEYS = {"adt_events": ("_dup_messages", ("message_control_id",)),
         "enrollment_submissions": ("_dup_submissions",
                                    ("request_number", "submitted_at", "closed_as")),
         "daa_envelopes": ("_dup_envelopes", ("envelope_id", "status_changed_at"))}
_NULL_SAFE_KEYS = frozenset({"closed_as"})


def _same(a: str, b: str, keys: tuple[str, ...]) -> str:
    return " and ".join(f"{a}.{k} is not distinct from {b}.{k}" if k in _NULL_SAFE_KEYS
                        else f"{a}.{k} = {b}.{k}" for k in keys)


def _dup_keys_sql(table: str, temp: str, keys: tuple[str, ...]) -> str:
    return (f"create or replace temp table {temp} as select distinct "
            f"{', '.join(f's.{k}' for k in keys)} from store.rows_{table} as s "
            f"semi join ingested_{table} as i on {_same('s', 'i', keys)}")


def _anti_sql(temp: str, keys: tuple[str, ...]) -> str:
    return f"anti join {temp} as d on {_same('d', 'i', keys)}"


_DEDUP_SETUP = {
    "sign_in_events": """
        create or replace temp table _dup_requests as
        select distinct s.request_id from store.rows_sign_in_events as s
        semi join (select request_id from ingested_sign_in_events
                   where request_id is not null) as i on i.request_id = s.request_id;
        create or replace temp table _dup_accesses as
        select distinct s."user", s.application, s.occurred_at, s.success, s.source
        from store.rows_sign_in_events as s
        semi join (select "user", application, occurred_at, success, source
                   from ingested_sign_in_events where request_id is null) as i
            on i."user" = s."user" and i.application = s.application
            and i.occurred_at = s.occurred_at and i.success = s.success
            and i.source = s.source
        where s.request_id is null""",
    **{table: _dup_keys_sql(table, temp, keys) for table, (temp, keys) in _KEYS.items()},
}
_DEDUP = {
    "sign_in_events": """
        anti join _dup_requests as k on k.request_id = i.request_id
        anti join _dup_accesses as a
            on i.request_id is null and a."user" = i."user"
            and a.application = i.application and a.occurred_at = i.occurred_at
            and a.success = i.success and a.source = i.source""",
    **{table: _anti_sql(temp, keys) for table, (temp, keys) in _KEYS.items()},
    # (a submission's people and requests by its number and time: their rows have no
    # `closed_as`; the duplicate submissions' keys are in `_dup_submissions`)
    **dict.fromkeys(("enrollment_people", "enrollment_app_requests"),
                    _anti_sql("_dup_submissions", ("request_number", "submitted_at"))),
    "daa_recipients": """
        anti join (select distinct envelope_id from _dup_envelopes) as d
            on d.envelope_id = i.envelope_id""",
}
# the table whose keys decide each table's duplicates (children follow their parent)
_DEDUP_BY = {"enrollment_people": "enrollment_submissions",
             "enrollment_app_requests": "enrollment_submissions",
             "daa_recipients": "daa_envelopes"}
# what makes a row the same as a stored one, said in a file's note
_SAME_AS = {"sign_in_events": "the same Request ID",
            "enrollment_submissions": "the same request number and submission time",
            "daa_envelopes": "the same envelope ID and status time",
            "adt_events": "the same message control ID"}


def already_stored_note(fmt: str, rows: dict[str, int]) -> str:
    """The note of an event file (format `fmt`) some of whose rows (`rows`: per table) the
    store already had from an earlier file: how many, by which key, and that the stored
    ones are used."""
    same = ("the same user, application, time and result"
            if _family(fmt) == _family(sign_in_events_csv.FORMAT_ACCESS)
            else "; ".join(sorted({_SAME_AS[_DEDUP_BY.get(t, t)] for t in rows})))
    return (f"{sum(rows.values())} of its rows the evidence store already had from an "
            f"earlier file ({same}): those are used, not stored again")


def already_stored_summary(rows: int) -> str:
    """The run's one line for `rows` rows of its new files the store already had (the
    command line and the Prefect artifact both say it so); empty when there are none."""
    return (f"{rows} rows of new files already in the evidence store from an earlier file "
            "(Inputs sheet: by file)" if rows else "")


def not_used_summary(rows: int) -> str:
    """The run's one line for `rows` stored event rows it left out (past the store's
    retention; the census's sign-ins but each account's latest success); empty when none."""
    return (f"{rows} stored event rows not used by this run: past the evidence store's "
            "retention or not needed (Inputs sheet: by file)" if rows else "")


def stored_rows_summary(already_stored: int, not_used: int) -> str:
    """What the run's line on its inputs adds about the evidence store's rows (the command
    line and the Prefect artifact say it alike): `; `-led parts, empty when there are none."""
    return "".join(f"; {part}" for part in (already_stored_summary(already_stored),
                                            not_used_summary(not_used)) if part)


def _store_file(con: duckdb.DuckDBPyConnection, entry: InputFile, as_of: dt.date,
                readers: str, replacing: bool = False) -> int:
    """Append the file just read into `ingested_*` (row ids from 0) to the store, in one
    transaction: its rows (events without those the store already has), parse issues,
    per-table counts and, for a snapshot, the partitions it replaces; `replacing`: what
    the store held of it, read under other readers, goes first. The rows left out as
    already stored are counted in the file's note (kept with it); returns how many."""
    kind = kind_of(entry.format)
    sha = entry.sha256
    left_out: dict[str, int] = {}
    con.execute("begin transaction")
    try:
        if replacing:
            _forget_reading(con, sha)
        if kind == "event":
            for table, sql in _DEDUP_SETUP.items():
                if table in entry.tables:
                    for statement in sql.split(";"):
                        con.execute(statement)
        for table, read in entry.tables.items():
            cols = ", ".join(f"i.{c}" for c in _columns(table))
            decided_by = _DEDUP_BY.get(table, table)
            dedup = (_DEDUP.get(table, "") if kind == "event"
                     and decided_by in entry.tables and decided_by in _DEDUP_SETUP else "")
            # (each statement below reads this file's rows, not the store's)
            stored = con.execute(f"insert into store.rows_{table} "
                                 f"({', '.join(_columns(table))}, sha256, file_row) "
                                 f"select {cols}, ?, i._row_id from ingested_{table} as i "
                                 f"{dedup}", [sha]).fetchall()[0][0]
            if con.execute("select count(*) from parse_issues where table_name = ?",
                           [table]).fetchall()[0][0]:  # the issues of the rows stored
                kept = (f"semi join (select i._row_id from ingested_{table} as i {dedup}) "
                        "as r on r._row_id = p._row_id" if dedup else "")
                con.execute(f"""
                    insert into store.parse_issues
                    select ?, p.table_name, p._row_id, p.column_name, p.rule, p.reason,
                           p.target_column
                    from parse_issues as p {kept}
                    where p.table_name = ?""", [sha, table])
            con.execute("insert into store.file_tables values (?, ?, ?, ?)",
                        [sha, table, read, stored])
            if stored < read:
                left_out[table] = read - stored
            if kind == "snapshot":
                column = SNAPSHOT_PARTITION.get(table)
                part = f"coalesce({column}::varchar, '')" if column else "''"
                con.execute(f"""
                    insert into store.file_parts
                    select distinct ?, ?, {part} from ingested_{table}
                    union select ?, ?, '' where not exists (select 1 from ingested_{table})
                    """, [sha, table, sha, table])  # a snapshot's rows are stored whole
        if left_out:
            note = already_stored_note(entry.format, left_out)
            entry.note = f"{entry.note}; {note}" if entry.note else note
        con.execute("insert into store.files (sha256, source_file, format, note, size_bytes, "
                    "kind, first_as_of, read_at, readers) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [sha, entry.source_file, entry.format, entry.note, entry.size_bytes, kind,
                     as_of, dt.datetime.now(dt.UTC).replace(tzinfo=None), readers])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return sum(left_out.values())


def _forget_reading(con: duckdb.DuckDBPyConnection, sha: str) -> None:
    """Remove what the store holds of file `sha` as read (rows, issues, counts, parts,
    verdicts, its entry), inside the caller's transaction, before it is stored again as
    read now; its sightings stay. The kept latest sign-ins are then rebuilt whole and the
    next prune searches every stored sign-in: rows retention had removed come back with
    the new reading and are judged again."""
    had_sign_ins = con.execute("select exists (select 1 from store.file_tables where "
                               "sha256 = ? and table_name = 'sign_in_events')",
                               [sha]).fetchone()[0]
    for table in CONTRACTS:
        con.execute(f"delete from store.rows_{table} where sha256 = ?", [sha])
    for about in ("parse_issues", "file_tables", "file_parts", "verdicts", "verdicts_made",
                  "files"):
        con.execute(f"delete from store.{about} where sha256 = ?", [sha])
    if had_sign_ins:
        con.execute("create table if not exists store.latest_sign_ins_files "
                    "(sha256 varchar)")
        con.execute("delete from store.latest_sign_ins_files")
        con.execute("delete from store.meta where key = ?", [PRUNED_KEY])


# a sign-in event that is its account's latest success for its source and application
_LATEST_SUCCESS = """(r.success and (r."user", r.source, r.application, r.occurred_at) in (
    select ("user", source, application, max(occurred_at)) from {rows}
    where success group by "user", source, application))"""


# the stored sign-in files whose rows `store.latest_sign_ins` does not cover yet
_NOT_MERGED = """(select sha256 from store.file_tables
                  where table_name = 'sign_in_events' and rows_stored > 0
                  except select sha256 from store.latest_sign_ins_files)"""


def _refresh_latest_sign_ins(con: duckdb.DuckDBPyConnection) -> None:
    """Bring `store.latest_sign_ins` up to the stored sign-ins: `_LATEST_SUCCESS` over
    `store.rows_sign_in_events`, kept as files are stored, for the runs that copy only
    that (`RUN_COMPACTS`) instead of grouping every stored event each time (2 of the 5 s
    a census took to assemble its rows at 10,000 groups). `store.latest_sign_ins_files`
    lists the files it covers; the sign-ins of files stored since are merged in (the
    latest of the latest and the new is the latest of all: retention never removes a
    latest success, and nothing else removes a stored row). Rebuilt from every stored
    sign-in when missing or when the stored rows gained a column. One transaction."""
    con.execute("create table if not exists store.latest_sign_ins_files (sha256 varchar)")
    rebuild = _store_columns(con, "latest_sign_ins") != _store_columns(con,
                                                                     "rows_sign_in_events")
    if not rebuild and not con.execute(f"select exists {_NOT_MERGED}").fetchone()[0]:
        return
    whole = rebuild or not con.execute(
        "select exists (select 1 from store.latest_sign_ins_files)").fetchone()[0]
    con.execute("begin transaction")
    try:
        if whole:  # straight from the stored rows (collecting them first took 15 s at L)
            con.execute("delete from store.latest_sign_ins_files")
            con.execute(f"""
                create or replace table store.latest_sign_ins as
                select * from store.rows_sign_in_events as r
                where {_LATEST_SUCCESS.format(rows="store.rows_sign_in_events")}""")
        else:
            con.execute(f"""
                create or replace temp table _latest_candidates as
                select * from store.latest_sign_ins
                union all
                select * from store.rows_sign_in_events
                where success and sha256 in {_NOT_MERGED}""")
            con.execute(f"""
                create or replace table store.latest_sign_ins as
                select * from _latest_candidates as r
                where {_LATEST_SUCCESS.format(rows="_latest_candidates")}""")
        con.execute(f"insert into store.latest_sign_ins_files select * from {_NOT_MERGED}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists _latest_candidates")


def _latest_sign_ins_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `store.latest_sign_ins` covers every stored sign-in file, with the stored
    rows' columns."""
    if not _store_columns(con, "latest_sign_ins_files") or _store_columns(
            con, "latest_sign_ins") != _store_columns(con, "rows_sign_in_events"):
        return False
    return not con.execute(f"select exists {_NOT_MERGED}").fetchone()[0]


def _store_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """The columns of the store's `table`, in order (none when it is missing)."""
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_catalog = 'store' "
        "and table_name = ? order by ordinal_position", [table]).fetchall()]


def _event_cutoff(retention: Retention, as_of: dt.date) -> dt.datetime:
    """Sign-in and access events before this are past retention (but an account's latest
    success)."""
    return dt.datetime.combine(as_of - dt.timedelta(days=retention.event_days), dt.time(0))


def _any_past_retention(con: duckdb.DuckDBPyConnection, rows: str, retention: Retention,
                        as_of: dt.date) -> bool:
    """Whether any sign-in or access event of `rows` is older than retention allows: when
    none is, retention has nothing to judge and the latest-success search over every event
    (seconds at hospital scale) is skipped."""
    return bool(con.execute(f"select exists (select 1 from {rows} where occurred_at < ?)",
                            [_event_cutoff(retention, as_of)]).fetchone()[0])


def _retained(table: str, rows: str, retention: Retention, as_of: dt.date) -> str | None:
    """SQL condition (over `rows`, alias r) a row of `table` must meet to be kept, or None
    for a table retention does not touch."""
    cutoff = _event_cutoff(retention, as_of)
    adt_cutoff = dt.datetime.combine(
        as_of - dt.timedelta(days=retention.adt_days_after_discharge), dt.time(0))
    if table == "sign_in_events":
        # old events go, except the latest success per account, source and application:
        # without it an account idle for longer than the retention would look never used
        return (f"(r.occurred_at is null or r.occurred_at >= timestamp '{cutoff}' or "
                f"{_LATEST_SUCCESS.format(rows=rows)})")
    if table == "adt_events":
        # a visit whose latest event saying whether the patient is there (ADT_EVENTS, or
        # another event carrying a discharge time; in event-time order as int_adt_visits
        # reads them) discharged or cancelled it before the cutoff: a cancelled discharge
        # (A13) keeps it
        says = ", ".join(f"'{code}'" for code, (_, effect) in ADT_EVENTS.items() if effect)
        closes = ", ".join(f"'{code}'" for code, (_, effect) in ADT_EVENTS.items()
                           if effect in ADT_CLOSED)
        return f"""(r.fin is null or r.fin not in (
            select fin from {rows}
            where (event_type in ({says}) or discharge_at is not null) and fin is not null
            qualify row_number() over (
                partition by fin order by coalesce(recorded_at, message_at) desc,
                message_at desc, message_control_id desc) = 1
            and (event_type in ({closes}) or event_type not in ({says}))
            and coalesce(discharge_at, recorded_at, message_at) < timestamp '{adt_cutoff}'))"""
    return None


def _prune(con: duckdb.DuckDBPyConnection, as_of: dt.date, config: ReviewConfig) -> int:
    """Remove what retention no longer allows from the store; returns the rows removed."""
    before = _stored_rows(con)
    cutoff = _event_cutoff(config.retention, as_of)
    con.execute("begin transaction")
    try:
        for table in ("sign_in_events", "adt_events"):
            if table == "sign_in_events" and (
                    not _any_past_retention(con, "store.rows_sign_in_events",
                                            config.retention, as_of)
                    or _nothing_newly_past(con, cutoff)):
                continue
            keep = _retained(table, f"store.rows_{table}", config.retention, as_of)
            con.execute(f"delete from store.rows_{table} as r where not {keep}")
            if table == "sign_in_events":
                con.execute("insert or replace into store.meta values (?, ?)",
                            [PRUNED_KEY, _prune_mark(con, cutoff)])
            for about_rows in ("parse_issues", "verdicts"):  # what is said of the rows gone
                # (usually nothing of any sign-in: then the search below, which reads every
                # stored row's file and line, 2-3 s each for 29 million, is not made)
                if not con.execute(f"select exists (select 1 from store.{about_rows} "
                                   "where table_name = ?)", [table]).fetchone()[0]:
                    continue
                con.execute(f"""
                    delete from store.{about_rows} as p
                    where p.table_name = '{table}' and not exists (
                        select 1 from store.rows_{table} as r
                        where r.sha256 = p.sha256 and r.file_row = p.file_row)""")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return before - _stored_rows(con)


# After a prune with cutoff C, every stored sign-in before C is its account's latest
# success. Until a file adds sign-ins, that stays true, so a later prune has something to
# delete only among events from C up to its own cutoff: the search over 28 million events
# (4 s at 10,000 groups) is skipped when there are none.
PRUNED_KEY = "sign_ins_pruned"


def _prune_mark(con: duckdb.DuckDBPyConnection, cutoff: dt.datetime) -> str:
    files = con.execute("select count(*) from store.file_tables "
                        "where table_name = 'sign_in_events'").fetchone()[0]
    return f"{cutoff.isoformat()}|{files}"


def _nothing_newly_past(con: duckdb.DuckDBPyConnection, cutoff: dt.datetime) -> bool:
    """Whether no stored sign-in can be past retention and not its account's latest
    success: no file has added sign-ins since the last prune (cutoff `before`), and no event
    lies between `before` and `cutoff`."""
    mark = con.execute("select value from store.meta where key = ?", [PRUNED_KEY]).fetchone()
    if mark is None:
        return False
    before = mark[0].split("|")[0]
    if _prune_mark(con, dt.datetime.fromisoformat(before)) != mark[0]:
        return False  # files were added
    return not con.execute(
        "select exists (select 1 from store.rows_sign_in_events "
        "where occurred_at >= ? and occurred_at < ?)",
        [dt.datetime.fromisoformat(before), cutoff]).fetchone()[0]


def _stored_rows(con: duckdb.DuckDBPyConnection) -> int:
    return int(sum(con.execute(f"select count(*) from store.rows_{t}").fetchall()[0][0]
                   for t in ("sign_in_events", "adt_events")))


# what a run needs in its folder or, failing that, in the evidence store as a successful
# run recorded it: (kind of file, the tables that hold it, what it is for)
STORED_NEEDS = {
    "dormant": ("enrollment", ("enrollment_people",),
                "enrollment submissions or portal member list, which the dormant lists match "
                "accounts against (without, every account would look orphaned)"),
    "census": ("directory", ("directory_accounts", "entra_users"),
               "directory export (Active Directory or Entra ID users), by which the census "
               "leaves off R2W recipients whose account is disabled or dormant (without, "
               "patient alerts could reach them)"),
}


def require_stored(run: str, input_dir: Path | str, kinds: Mapping[str, int],
                   store_path: Path | None, as_of: dt.date, *, certain: bool = True) -> bool:
    """A run whose folder holds none of `STORED_NEEDS[run]` needs it in the evidence store,
    recorded by a successful run as of its date or earlier; else a usage error, before
    anything is written. Returns whether the need is settled. With `certain=False` (the
    check before the run takes its locks) a store that cannot be opened now, perhaps
    another run writing it, leaves it unsettled instead: the run asks again once it holds
    the store."""
    if run not in STORED_NEEDS or kinds.get(STORED_NEEDS[run][0]):
        return True
    _, tables, what = STORED_NEEDS[run]
    if store_path is not None:
        found = has_stored(store_path, as_of, tables, certain=certain)
        if found is None:
            return False
        if found:
            return True
    where = ("the evidence store has none either (run a review into it first)"
             if store_path is not None else "and --no-store keeps none")
    raise UsageError(f"--input {input_dir}: found no {what}; {where}. Nothing was written.")


def has_stored(store_path: Path, as_of: dt.date, tables: tuple[str, ...], *,
               certain: bool = True) -> bool | None:
    """Whether a successful run as of `as_of` or earlier recorded rows of any of `tables`
    in the store: what a run whose folder holds none of that kind takes from it (the
    dormant run's enrollment, the census's directory accounts). A store that cannot be
    opened is a usage error, or None (not known now) when not `certain`."""
    if not store_path.exists():
        return False
    try:
        con = duckdb.connect(str(store_path), read_only=True)
    except duckdb.Error:  # the message may quote the file's bytes
        if not certain:
            return None
        raise UsageError(_UNOPENABLE.format(store_path)) from None
    with con:
        have = {t for (t,) in con.execute("select table_name from information_schema.tables"
                                          ).fetchall()}
        if not {"sightings", "file_tables"} <= have:
            return False
        return bool(con.execute("""
            select exists (
                select 1 from sightings as s inner join file_tables as t using (sha256)
                where list_contains(?, t.table_name) and t.rows_stored > 0
                    and s.as_of <= ?)""", [list(tables), as_of]).fetchone()[0])


def ingest_with_store(input_dir: Path, con: duckdb.DuckDBPyConnection, store_path: Path,
                      as_of: dt.date, config: ReviewConfig, run: str = "review"
                      ) -> tuple[list[InputFile], StoreSummary]:
    """`collect_with_store`, then `assemble_from_store`: the run's `ingested_*` tables and
    `input_files`, from the store."""
    files, summary = collect_with_store(input_dir, con, store_path, as_of, config, run)
    assemble_from_store(con, store_path, as_of, config, run)
    return files, summary


def collect_with_store(input_dir: Path, con: duckdb.DuckDBPyConnection, store_path: Path,
                       as_of: dt.date, config: ReviewConfig, run: str = "review"
                       ) -> tuple[list[InputFile], StoreSummary]:
    """Read the folder's new files into the store and decide which stored files the run
    uses: `input_files` (the folder's and the store's), `store_chosen` and `store_names`
    in the warehouse; no row is copied yet (an unchanged run stops here). What the folder
    held is kept in `store_sightings` and recorded in the store by `commit_run` once the
    run succeeded: a failed or refused run (a partial export) changes no later run."""
    settings = (config.application_lists, config.time_zones, config.cultures)
    reads = RUN_READS.get(run)
    _attach(con, store_path)
    try:
        summary = StoreSummary(str(store_path))
        files, sightings = _read_new_files(input_dir, con, as_of, settings, reads, summary)
        _refresh_latest_sign_ins(con)
        con.execute("create or replace table store_sightings (as_of date, sha256 varchar, "
                    "source_file varchar, ord integer)")
        if sightings:
            con.executemany("insert into store_sightings values (?, ?, ?, ?)",
                            [[as_of, sha, name, i] for i, (sha, name) in enumerate(sightings)])
        from_store = _choose(con, as_of,
                             {f.source_file for f in files if f.status == "not read"},
                             RUN_LEAVES_EMPTY.get(run, frozenset()))
        summary.from_store = len(from_store)
        files.extend(from_store)
        files.sort(key=lambda f: f.source_file)
        con.execute(INPUT_FILES_DDL)
        import pandas as pd

        _insert(con, "input_files", pd.DataFrame(
            [[f.source_file, f.format, f.status, f.note, f.size_bytes, f.sha256,
              f.stored_as_of] for f in files],
            columns=["source_file", "format", "status", "note", "size_bytes", "sha256",
                     "stored_as_of"]))
        con.execute(STORED_SNAPSHOTS_DDL)
        snapshots = [[f.source_file, f.stored_as_of] for f in from_store
                     if kind_of(f.format) == "snapshot"]
        if snapshots:
            con.executemany("insert into input_stored_snapshots values (?, ?)", snapshots)
        con.execute(ALREADY_STORED_DDL)
        con.execute("""
            insert into input_already_stored
            select n.name, t.table_name, t.rows_read - t.rows_stored
            from store.file_tables as t
            inner join store_names as n using (sha256)
            where t.rows_read > t.rows_stored
            order by n.name, t.table_name""")
        con.execute("checkpoint store")
    finally:
        con.execute("detach store")
    return files, summary


def assemble_from_store(con: duckdb.DuckDBPyConnection, store_path: Path, as_of: dt.date,
                        config: ReviewConfig, run: str = "review") -> None:
    """Fill the run's `ingested_*` and `parse_issues` with the rows of the files
    `collect_with_store` chose, as retention allows."""
    _attach(con, store_path)
    try:
        _fill(con, as_of, RUN_LEAVES_EMPTY.get(run, frozenset()), config.retention,
              RUN_COMPACTS.get(run, frozenset()), config.time_zones.day_end(as_of))
    finally:
        con.execute("detach store")


def commit_run(con: duckdb.DuckDBPyConnection, store_path: Path, as_of: dt.date,
               config: ReviewConfig) -> int:
    """Once the run succeeded: record what its folder held (`store_sightings` of the
    warehouse `con`) as of `as_of` — replacing the snapshots an earlier run as of that
    date saw, adding to its events — and remove what retention no longer allows. Returns
    the rows removed."""
    _attach(con, store_path)
    try:
        con.execute("begin transaction")
        try:
            con.execute("""
                delete from store.sightings as s
                where s.as_of = ? and s.sha256 not in (
                    select sha256 from store.files where kind = 'event')""", [as_of])
            con.execute("""
                insert into store.sightings
                select h.* from store_sightings as h
                anti join store.sightings as s
                    on s.as_of = h.as_of and s.sha256 = h.sha256""")
            _keep_verdicts(con)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        for name in ("verdicts_now", "verdict_files", "stored_verdicts"):
            con.execute(f"drop table if exists {name}")
        removed = _prune(con, as_of, config)
        con.execute("checkpoint store")
    finally:
        con.execute("detach store")
    return removed


_UNOPENABLE = ("--store {}: cannot be opened as the evidence store (not a DuckDB database, "
               "unreadable, or in use by another program)")


def _attach(con: duckdb.DuckDBPyConnection, store_path: Path) -> None:
    store_path.parent.mkdir(parents=True, exist_ok=True)
    new_store = not store_path.exists()
    try:
        con.execute(f"attach '{sql_path(store_path)}' as store")
    except duckdb.Error:  # the message may quote the file's bytes
        raise UsageError(_UNOPENABLE.format(store_path)) from None
    if new_store:
        os.chmod(store_path, 0o600)
    create_store_tables(con)


READ_AGAIN = ("read again: the store held it as read by an earlier version of the readers "
              "or under other reading settings")


def _read_new_files(input_dir: Path, con: duckdb.DuckDBPyConnection, as_of: dt.date,
                    settings: tuple, reads: frozenset[str] | None, summary: StoreSummary
                    ) -> tuple[list[InputFile], list[tuple[str, str]]]:
    """Every file of the folder: known ones by their SHA-256, new ones read and stored.
    Returns the folder's entries and (sha256, name) of those the store holds, in order."""
    readers = readers_fingerprint(settings)
    known: dict[str, tuple] = {}
    stale: dict[str, dt.date] = {}  # stored under other readers: read again when in the folder
    for sha, fmt, note, first, current in con.execute(
            "select sha256, format, note, first_as_of, readers is not distinct from ? "
            "from store.files", [readers]).fetchall():
        if current:
            known[sha] = (fmt, note, first)
        else:
            stale[sha] = first
    files: list[InputFile] = []
    sightings: list[tuple[int, str, str]] = []  # (place in the folder, sha256, name)
    paths, skipped = survey(input_dir)
    for name, why in skipped:
        files.append(InputFile(name, "skipped", "skipped", why))
        log.warning("skipped input %s: %s", name, why)
    sizes = [_size(p) for p in paths]
    todo: list[tuple[int, Path, str, int]] = []
    for place, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        rel = display_name(path, input_dir)
        if reads is not None and (kinds := sniff_kinds(path, settings[0])) \
                and not kinds & reads:
            # another run's kind: the store keeps what the review or dormant run took.
            # Not hashed either: at hospital scale the sign-in logs are gigabytes that
            # a census would read whole only to list their SHA-256
            kind = "/".join(sorted(kinds))
            files.append(InputFile(rel, "not read", "not read",
                                   f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} file this "
                                   "run does not use; the runs that use it read it", size))
            summary.not_read += 1
        else:
            todo.append((place, path, rel, size))
    # the event logs first, the others read meanwhile by a second process when both are
    # large (`read_ahead`); the store's rows do not depend on the order of different
    # kinds, and each kind keeps the folder's order
    events = {place for place, path, _, _ in todo if is_event_log(path)}
    todo.sort(key=lambda job: job[0] not in events)
    ahead = None
    if worth_reading_ahead(sum(job[3] for job in todo if job[0] in events),
                           sum(job[3] for job in todo if job[0] not in events)):
        ahead = ReadAhead([(path, place not in events) for place, path, _, _ in todo],
                          settings, frozenset(known))
    made = False  # the ingested_* tables, made once and emptied between new files
    try:
        with progress_bar(sum(sizes), "ingest", "B", True) as bar:
            for place, path, rel, size in todo:
                prepared = ahead.take() if ahead is not None else None
                if prepared is not None:
                    sha = prepared.sha256
                else:
                    try:
                        sha = file_sha256(path)
                    except OSError:
                        sha = ""
                if sha and sha in known:  # listed as read: its rows, read earlier, are used
                    fmt, note, first = known[sha]
                    files.append(InputFile(rel, fmt, "read", note, size, sha,
                                           stored_as_of=first))
                    sightings.append((place, sha, rel))
                    summary.seen_before += 1
                else:
                    if made:  # what the previous new file left (stored, or unreadable)
                        empty_ingest_tables(con)
                    else:
                        create_ingest_tables(con, staging=True)
                        made = True
                    _ingest_file(input_dir, path, con, settings, dict.fromkeys(CONTRACTS, 0),
                                 files, sha, prepared)
                    entry = files[-1]
                    if entry.status == "read":
                        again = entry.sha256 in stale
                        # (a file read again keeps the as-of of the run that first stored it)
                        entry.stored_as_of = stale.pop(entry.sha256) if again else as_of
                        summary.rows_already_stored += _store_file(
                            con, entry, entry.stored_as_of, readers, again)
                        if again:  # (said in this run's listing, not stored with the file)
                            entry.note = "; ".join(filter(None, (entry.note, READ_AGAIN)))
                            summary.read_again += 1
                        known[entry.sha256] = (entry.format, entry.note, entry.stored_as_of)
                        sightings.append((place, entry.sha256, rel))
                        summary.new += 1
                bar.update(size)
            bar.update(sum(sizes) - sum(job[3] for job in todo))  # the files not read
    finally:
        if ahead is not None:
            ahead.close()
    if made:  # the staging tables go; `assemble` fills the warehouse's own
        create_ingest_tables(con, input_files=False)
    return files, [(sha, rel) for _, sha, rel in sorted(sightings)]


def _choose(con: duckdb.DuckDBPyConnection, as_of: dt.date,
            not_read: set[str] = frozenset(),
            unused: frozenset[str] = frozenset()) -> list[InputFile]:
    """Which stored files the review as of `as_of` uses: every event file a successful
    run as of that date or earlier saw (this one included), and each snapshot partition's
    files of the latest such run (`store_chosen`); their names and order (`store_names`):
    the folder's files keep theirs, the others follow, named `<name> [evidence store
    <sha256 prefix>]`. Returns entries for those others; their note says whether a file
    of that name is still in the folder (`not_read`: there, of a kind this run does not
    read, so not hashed either) or no longer. Tables the run leaves empty (`unused`: the
    dormant lists' ADT) are chosen from no file: their files are not listed as used."""
    # what successful runs saw, with this run in place of an earlier one as of its date
    # (for snapshots; the event files an earlier run as of that date saw stay in use)
    con.execute("""
        create or replace temp table _sightings as
        select s.as_of, s.sha256 from store.sightings as s
        inner join store.files as f using (sha256)
        where s.as_of <= $as_of and (s.as_of <> $as_of or f.kind = 'event')
        union
        select as_of, sha256 from store_sightings
    """, {"as_of": as_of})
    # (file, table, part) the review uses; part null: every row (an event file)
    con.execute("""
        create or replace table store_chosen as
        with parts as (
            select s.as_of, p.sha256, p.table_name, p.part
            from _sightings as s
            inner join store.file_parts as p using (sha256)
        ),
        latest as (
            select table_name, part, max(as_of) as as_of from parts group by all
        )
        select * from (
            select distinct t.sha256, t.table_name, null::varchar as part
            from store.file_tables as t
            inner join store.files as f using (sha256)
            where f.kind = 'event' and t.sha256 in (select sha256 from _sightings)
            union all
            select distinct p.sha256, p.table_name, p.part
            from parts as p inner join latest using (table_name, part, as_of)
        )
        where not list_contains($unused::varchar[], table_name)
    """, {"unused": sorted(unused)})
    con.execute("""
        create or replace table store_names as
        with here as (
            select sha256, any_value(source_file) as name, min(ord) as ord
            from store_sightings group by sha256
        ),
        used as (select distinct sha256 from store_chosen)
        select u.sha256, coalesce(h.name, f.source_file || ' [evidence store '
                                  || substr(u.sha256, 1, 8) || ']') as name,
               h.sha256 is not null as in_folder,
               row_number() over (order by h.ord nulls last, f.first_as_of, f.source_file,
                                  u.sha256) as ord,
        from used as u
        inner join store.files as f using (sha256)
        left join here as h using (sha256)
    """)
    others = con.execute("""
        select n.name, f.format, f.size_bytes, f.sha256, f.first_as_of, f.source_file
        from store_names as n inner join store.files as f using (sha256)
        where not n.in_folder order by n.ord""").fetchall()
    return [InputFile(name, fmt, "from store",
                      f"{orig}, read by the run as of {first}: "
                      + ("this run does not read the folder's files of its kind, " if orig
                         in not_read else "no longer in the folder, ")
                      + "its rows are kept in the evidence store", int(size or 0), sha,
                      stored_as_of=first)
            for name, fmt, size, sha, first, orig in others]


# why a run leaves stored event rows out (input_summary's note names it): the tables whose
# rows `_fill` filters (retention; the census's latest successes only)
_NOT_USED_BECAUSE = {
    "sign_in_events": lambda retention, compact: (
        "this run uses each account's latest successful sign-in only" if compact else
        f"older than the evidence store keeps ({retention.event_days} days; each "
        "account's latest successful sign-in is kept)"),
    "adt_events": lambda retention, compact: (
        f"visits that ended (discharged or cancelled) more than "
        f"{retention.adt_days_after_discharge} days before the as-of date: the evidence "
        "store keeps no patient data of them"),
}


def _fill(con: duckdb.DuckDBPyConnection, as_of: dt.date, leave_empty: frozenset[str],
          retention: Retention, compact: frozenset[str], day_end: dt.datetime) -> None:
    """Copy the chosen files' rows into `ingested_*` and `parse_issues`, in the files'
    order as a read of one folder would (retention applied; `compact` tables keep each
    account's latest success only). A row's `_row_id` is its file's offset (the rows of
    the files before it, in the run's order) plus its row in the file: ordered as a read
    of the folder, though not gapless where the store left rows out — and computed
    without sorting the rows (a window over 28 million sign-ins spilled to disk for
    minutes)."""
    create_ingest_tables(con, input_files=False)
    con.execute(STORED_ROWS_DDL)
    con.execute("""create or replace table verdict_files (table_name varchar,
        sha256 varchar, first_row_id bigint, known boolean, complete boolean)""")
    con.execute(VERDICTS_DDL.format(name="stored_verdicts"))
    for table in CONTRACTS:
        if table in leave_empty:
            continue
        column = SNAPSHOT_PARTITION.get(table)
        part = f"coalesce(r.{column}::varchar, '')" if column else "''"
        cols = _columns(table, stored=False)
        con.execute(f"""
            create or replace temp table _offsets as
            with used as (
                select distinct c.sha256, n.ord, n.name,
                       coalesce(max(t.rows_read) over (partition by c.sha256), 0)
                           as rows_read
                from store_chosen as c
                inner join store_names as n using (sha256)
                left join store.file_tables as t
                    on t.sha256 = c.sha256 and t.table_name = c.table_name
                where c.table_name = '{table}'
            )
            select sha256, name, rows_read,
                   coalesce(sum(rows_read) over (order by ord rows between unbounded
                                                 preceding and 1 preceding), 0)::bigint
                       as first_row_id
            from used""")
        if column:  # a snapshot table: the files' parts the run uses
            rows = f"""(select r.* from store.rows_{table} as r
                        inner join store_chosen as c
                            on c.sha256 = r.sha256 and c.table_name = '{table}'
                            and (c.part is null or c.part = {part})
                        where r.sha256 in (select sha256 from _offsets))"""
        else:
            files = f"""
                select c.sha256 from store_chosen as c
                where c.table_name = '{table}' and (c.part is null or c.part = {part})
                  and c.sha256 in (select sha256 from _offsets)"""
            every_file = con.execute(f"""
                select count(*) = 0 from (select sha256 from store.file_tables
                                          where table_name = '{table}'
                                          except select sha256 from ({files}))""").fetchone()[0]
            # the usual case, every stored file chosen, needs no filter on the files: with
            # it DuckDB read every column of every row, not of the kept rows only (5.6
            # against 1.2 s for the census's half million of 28 million sign-ins)
            rows = (f"store.rows_{table}" if every_file else
                    f"(select * from store.rows_{table} where sha256 in ({files}))")
        # what retention keeps (a compacted table: each account's latest success, which
        # retention always keeps), judged on the stored rows before any is numbered and
        # named: through the numbered rows, the latest-success search read them twice
        # with every column (20 s for the 28 million sign-ins at 10,000 groups)
        # A review as of a past date counts the successes by the end of that date only
        # (`day_end`, on the hospital's clock, as int_last_successful_events): where a
        # stored latest success is later, the latest by then is searched for
        if table in compact and rows == "store.rows_sign_in_events" \
                and _latest_sign_ins_current(con) \
                and not con.execute("select exists (select 1 from store.latest_sign_ins "
                                    "where occurred_at >= ?)", [day_end]).fetchone()[0]:
            rows, keep = "store.latest_sign_ins", None  # kept as files were stored
        elif table in compact:
            rows = f"(select * from {rows} where occurred_at < timestamp '{day_end}')"
            keep = _LATEST_SUCCESS.format(rows=rows)
        elif table == "sign_in_events" and not _any_past_retention(con, rows, retention,
                                                                  as_of):
            keep = None
        else:
            keep = _retained(table, rows, retention, as_of)
        filtered = rows if keep is None else f"(select * from {rows} as r where {keep})"
        kept = f"""
            select (o.first_row_id + r.file_row)::integer as _row_id, o.name as _name, r.*
            from {filtered} as r inner join _offsets as o using (sha256)"""
        con.execute(f"insert into ingested_{table} (_row_id, {', '.join(cols)}, source_file) "
                    f"select _row_id, {', '.join(cols)}, _name from ({kept})")
        if table in _NOT_USED_BECAUSE:  # what of the files' stored rows the run leaves out
            con.execute(f"""
                insert into input_stored_rows
                select o.name, '{table}', t.rows_stored, ?
                from _offsets as o
                inner join store.file_tables as t
                    on t.sha256 = o.sha256 and t.table_name = '{table}'
                order by o.name""", [_NOT_USED_BECAUSE[table](retention, table in compact)])
        if con.execute("select count(*) from store.parse_issues where table_name = ? and "
                       "sha256 in (select sha256 from store_names)", [table]).fetchone()[0]:
            con.execute(f"""
                insert into parse_issues
                select p.table_name, r._row_id, p.column_name, p.rule, p.reason,
                       p.target_column
                from store.parse_issues as p
                inner join (select sha256, file_row, _row_id from ({kept})) as r
                    using (sha256, file_row)
                where p.table_name = '{table}'
                order by r._row_id, p.column_name""")
        if not CONTRACTS[table].bulk:
            _stored_verdicts(con, table)


def _stored_verdicts(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """For validation (`contracts/ingest.py`): the table's files, each with whether the
    store has its rows' verdicts under today's rules (`known`) and whether the run uses
    every row the store keeps of it now (`complete`: only then can this run's verdicts
    stand for the file), in `verdict_files`; the known files' verdicts on the rows the run
    uses in `stored_verdicts`. Both from the rows just copied into `ingested_<table>`
    (a row's file: the last one starting at or before its row id), not from the store
    again. The contracts' checks are functions of a row, so a file's verdicts hold for
    any of its rows, whichever run, date or retention brings them."""
    con.execute(f"""
        insert into verdict_files
        with files as (select sha256, first_row_id from _offsets where rows_read > 0),
        used as (
            select f.sha256, count(*) as rows from ingested_{table} as i
            asof join files as f on i._row_id >= f.first_row_id group by f.sha256
        ),
        stored as (
            select sha256, count(*) as rows from store.rows_{table}
            where sha256 in (select sha256 from files) group by sha256
        )
        select '{table}', f.sha256, f.first_row_id, m.sha256 is not null,
               coalesce(u.rows, 0) = coalesce(s.rows, 0)
        from files as f
        left join (select distinct sha256 from store.verdicts_made
                   where table_name = '{table}' and rules = ?) as m using (sha256)
        left join used as u using (sha256)
        left join stored as s using (sha256)""", [rules_fingerprint()])
    known = f"""(select sha256 from verdict_files
                 where table_name = '{table}' and known)"""
    if con.execute(f"select count(*) from store.verdicts where table_name = ? and sha256 in "
                   f"{known}", [table]).fetchone()[0]:
        con.execute(f"""
            insert into stored_verdicts
            select '{table}', r._row_id, v.column_name, v.rule, v.reason, v.warning
            from store.verdicts as v
            inner join _offsets as o using (sha256)
            inner join ingested_{table} as r on r._row_id = o.first_row_id + v.file_row
            where v.table_name = '{table}' and v.sha256 in {known}""")


def _keep_verdicts(con: duckdb.DuckDBPyConnection) -> None:
    """Keep the verdicts this run made (`verdicts_now`) for the files it validated whole."""
    if not has_table(con, "verdicts_now"):
        return
    con.execute("""
        insert into store.verdicts
        select f.sha256, n.table_name, (n._row_id - f.first_row_id)::integer,
               n.column_name, n.rule, n.reason, n.warning
        from verdicts_now as n
        asof join verdict_files as f
            on f.table_name = n.table_name and n._row_id >= f.first_row_id
        where not f.known and f.complete""")
    con.execute("""
        insert into store.verdicts_made
        select distinct sha256, table_name, ? from verdict_files where not known and complete
        """, [rules_fingerprint()])
