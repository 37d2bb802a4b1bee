"""Sign-in and application access events: the large inputs (tens of millions of rows).

They are read and validated inside DuckDB (`read_csv` with a rejects table), never loaded
whole into pandas. Two layouts:

- **Entra ID sign-in log** as the portal's *Download* writes it (CSV, UTF-8): columns
  `Date (UTC)`, `Request ID`, `User`, `Username` (the UPN), `User ID`, `Application`,
  `Status` (`Success`, `Failure`, `Interrupted`), `Sign-in error code` (0 on success),
  `Failure reason`, `IP address`, and many more that are kept out. A sign-in counts as
  successful when its status is `Success`.
- **Application access log**, the canonical layout for Cerner, PACS, DSM, Qventus and
  Report2Web access events: `user` (LAN ID or UPN), `application` (code or display name),
  `timestamp` (ISO 8601, UTC), `success` (true/false).

Canonical table: `sign_in_events` (user, application, occurred_at, success, source).
A row whose fields cannot be split (wrong number of fields, broken quoting) is taken from
DuckDB's rejects table with its line number — the raw line, which may hold PHI, is never
copied. `source_line` is the physical line (one header line; no multi-line fields).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ccreview.contracts.readers.base import UNSPLIT_ROW
from ccreview.core.duckdb_catalog import table_columns
from ccreview.core.vocabulary import APPLICATION_NAMES

FORMAT_ENTRA = "entra-sign-in-log-csv"
FORMAT_ACCESS = "application-access-log-csv"
ENTRA_HEADERS = {"date (utc)", "username", "status", "application"}
ACCESS_HEADERS = {"user", "application", "timestamp", "success"}
TABLE = "sign_in_events"

# an application's code from its name in a log (core.vocabulary.APPLICATION_NAMES, keyed
# by its lower-cased trimmed name: the logs write their names one way), else the name
# upper-cased
_APP_CODES = ("case lower(trim({app})) "
              + " ".join(f"when '{name}' then '{code}'"
                         for name, code in APPLICATION_NAMES.items())
              + " else upper(trim({app})) end")


def detect(header: list[str]) -> str | None:
    names = set(header)
    if names >= ENTRA_HEADERS:
        return FORMAT_ENTRA
    if names >= ACCESS_HEADERS:
        return FORMAT_ACCESS
    return None


READ_AS_LATIN_1 = ("not UTF-8: read as Latin-1 (ISO 8859-1) text; the columns used (user, "
                   "application, time, result) are the same in Windows-1252")


def load(con: duckdb.DuckDBPyConnection, path: Path, rel: str, fmt: str,
         first_row_id: int) -> tuple[int, str]:
    """Load every row of the file into `ingested_sign_in_events` and its parse issues into
    `parse_issues`; returns the number of rows read (accepted + rejected) and a note on
    how it was read. A log that is not UTF-8 (saved by Excel or `Export-Csv -Encoding
    Default`: Windows-1252) is read as Latin-1, which DuckDB decodes itself; a file using
    Windows-1252's own characters (0x80-0x9F: `€`, curly quotes, `Š`) is refused by it,
    not misread."""
    # (DuckDB sets a row whose kept columns are not UTF-8 aside as INVALID ENCODING: every
    # row of such a log had been quarantined as one that does not split into its fields)
    n = _load(con, path, rel, fmt, first_row_id, "")
    if n is not None:
        return n, ""
    return _load(con, path, rel, fmt, first_row_id, ", encoding = 'latin-1'"), READ_AS_LATIN_1


def _load(con: duckdb.DuckDBPyConnection, path: Path, rel: str, fmt: str,
          first_row_id: int, encoding: str) -> int | None:
    """`load` in one encoding (`encoding`: read_csv's option, or empty for UTF-8); None,
    having loaded nothing, when a row was not in it."""
    for t in ("_events_typed", "_events_rejects", "_events_scan"):
        con.execute(f"drop table if exists {t}")
    options = ("header = true, all_varchar = true, auto_detect = true, "
               "normalize_names = false" + encoding)
    # the header as the loading read will see it (the same sniffing, bad rows set aside)
    header = [c[0] for c in con.execute(
        f"select * from read_csv(?, {options}, store_rejects = true, "
        "rejects_table = '_events_rejects', rejects_scan = '_events_scan') limit 0",
        [str(path)]).description]
    for t in ("_events_rejects", "_events_scan"):
        con.execute(f"drop table if exists {t}")
    cols = {c.lower(): c for c in header}
    if fmt == FORMAT_ENTRA:
        user = _col(cols, "username")
        app = _col(cols, "application")
        when = _col(cols, "date (utc)")
        success = f"lower(trim({_col(cols, 'status')})) = 'success'"
        success_ok = f"lower(trim({_col(cols, 'status')})) in ('success', 'failure', " \
                     f"'interrupted')"
        app_code = f"trim({app})"  # an Entra application, not one of the five
    else:
        user = _col(cols, "user")
        app = _col(cols, "application")
        when = _col(cols, "timestamp")
        success = f"lower(trim({_col(cols, 'success')})) in ('true', '1', 'yes')"
        success_ok = f"lower(trim({_col(cols, 'success')})) in ('true', 'false', '1', '0', " \
                     f"'yes', 'no')"
        app_code = _APP_CODES.format(app=app)
    occurred = (f"coalesce(try_cast(replace(trim({when}), 'Z', '') as timestamp), "
                f"try_strptime(trim({when}), ['%m/%d/%Y, %I:%M:%S %p', '%m/%d/%Y %I:%M:%S %p', "
                f"'%m/%d/%Y %H:%M:%S']))")
    # the natural key the evidence store dedups on, where the export has it
    request_id = (f"nullif(trim({_col(cols, 'request id')}), '')"
                  if fmt == FORMAT_ENTRA and "request id" in cols else "null::varchar")
    # typed in the same pass as the read, only the columns used (an Entra export has
    # dozens): a value that does not convert is null here, which is what its parse issue
    # below looks for (reading as text and typing in a second statement cost 1.9 s per
    # million sign-ins, this 1.2 s). A new table's rowid is its rows' order of insertion,
    # which is the file's: the row number without a window over the whole file
    con.execute(f"""
        create temp table _events_typed as
        select
            lower(trim({user})) as "user",
            {app_code} as application,
            {occurred} as occurred_at,
            case when {success_ok} then {success} end as success,
            {request_id} as request_id,
        from read_csv(?, {options}, store_rejects = true,
                      rejects_table = '_events_rejects', rejects_scan = '_events_scan')
    """, [str(path)])
    if not encoding and con.execute("select exists (select 1 from _events_rejects where "
                                    "error_type = 'INVALID ENCODING')").fetchall()[0][0]:
        return None
    con.execute("create or replace temp table _events_rejected_lines as "
                "select distinct line as r from _events_rejects order by r")
    con.execute("create or replace temp table _events_rejected_ranked as "
                "select r, row_number() over (order by r) as i from _events_rejected_lines")
    rejected_lines = con.execute("select count(*) from _events_rejected_lines").fetchall()[0][0]
    # line = data row + header + rejected lines before it (no rejects: no lookup per row)
    line = ("n + 1 + (select count(*) from _events_rejected_ranked where r - 1 - i < n)"
            if rejected_lines else "n + 1")
    source = "entra_sign_in_log" if fmt == FORMAT_ENTRA else "application_access_log"
    # the Request ID goes where the evidence store reads new files from, not into the
    # warehouse (a run without the store reads straight into it)
    stored_only = ("request_id," if "request_id" in table_columns(con, "ingested_" + TABLE)
                   else "")
    con.execute(f"""
        insert into ingested_sign_in_events by name
        select
            {first_row_id} + n - 1 as _row_id,
            "user", application, occurred_at, success,
            '{source}' as source,
            {stored_only}
            ? as source_file,
            {line} as source_line,
        from (select rowid + 1 as n, * from _events_typed)
    """, [rel])
    base = f"{first_row_id} + rowid"
    for column, target, rule, reason in (
        ("timestamp", "occurred_at", "datetime", "not a date/time in a known format"),
        ("success", "success", "boolean", "not a recognised success/status value"),
    ):
        con.execute(f"""
            insert into parse_issues
            select '{TABLE}', {base}, '{column}', '{rule}', '{reason}', '{target}'
            from _events_typed where {target} is null
        """)
    accepted = con.execute("select count(*) from _events_typed").fetchall()[0][0]
    rejected = rejected_lines
    if rejected:
        start = first_row_id + accepted
        con.execute(f"""
            insert into ingested_sign_in_events (_row_id, source_file, source_line)
            select {start} + row_number() over (order by r) - 1, ?, r
            from _events_rejected_lines
        """, [rel])
        con.execute(f"""
            insert into parse_issues
            select '{TABLE}', {start} + row_number() over (order by r) - 1, '(row)',
                   'csv_width', ?, null
            from _events_rejected_lines
        """, [UNSPLIT_ROW])
    for t in ("_events_typed", "_events_rejected_lines", "_events_rejected_ranked"):
        con.execute(f"drop table if exists {t}")
    return accepted + rejected


def _col(cols: dict[str, str], name: str) -> str:
    actual = cols[name]
    return '"' + actual.replace('"', '""') + '"'
