"""Run history: every review's findings kept in `<out>/history.duckdb`, so each run can say
what is new, still open and resolved since the previous one, and how open findings per
rule trend over time.

A run is identified by its as-of date: running the same as-of again replaces that run, in
one transaction, so a rerun never duplicates it and a killed run leaves the history as it
was. "Previous" is the latest recorded as-of date before this one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb

HISTORY = "history.duckdb"


def record_run(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date) -> dict:
    """Record this run in the history at once (see `recording_run`)."""
    with recording_run(con, out_dir, as_of) as changes:
        return changes


@contextlib.contextmanager
def recording_run(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date
                  ) -> Iterator[dict]:
    """Stage this run's findings in the history, build `finding_changes` (one row per
    finding of this run or the previous one, with its status) and `finding_trend` in the
    warehouse, yield the counts, and commit only if the block (writing the reports)
    succeeds: a failed or killed run leaves the history as it was. The history has its own
    connection: one DuckDB transaction may not write to two database files."""
    history = duckdb.connect(str((out_dir / HISTORY).resolve()))
    committed = False
    try:
        history.execute("""
            create table if not exists runs (
                as_of date primary key, recorded_at timestamp, inputs json, findings integer)
        """)
        history.execute("""
            create table if not exists run_findings (
                as_of date, finding_key varchar, rule varchar, severity varchar,
                request_number varchar, email varchar, application varchar, detail varchar)
        """)
        inputs = json.dumps(dict(con.execute(
            "select source_file, sha256 from input_files order by source_file").fetchall()))
        current = con.execute("select ?::date as as_of, finding_key, rule, severity, "
                              "request_number, email, application, detail from findings",
                              [as_of]).df()
        history.execute("begin transaction")
        history.execute("delete from run_findings where as_of = ?", [as_of])
        history.execute("delete from runs where as_of = ?", [as_of])
        history.register("_current", current)
        history.execute("insert into run_findings select * from _current")
        history.unregister("_current")
        history.execute("insert into runs values (?, ?, ?, ?)",
                        [as_of, dt.datetime.combine(as_of, dt.time(0)), inputs, len(current)])
        previous = history.execute("select max(as_of) from runs where as_of < ?",
                                   [as_of]).fetchall()[0][0]
        before = history.execute(
            "select finding_key, rule, severity, request_number, email, application "
            "from run_findings where as_of = ?", [previous]).df()
        trend = history.execute(
            "select as_of, rule, count(*) as open_findings from run_findings "
            "where as_of <= ? group by all order by as_of, rule", [as_of]).df()
        con.register("_before", before)
        con.register("_trend", trend)
        try:
            con.execute("""
                create or replace table finding_changes as
                select
                    coalesce(n.finding_key, b.finding_key) as finding_key,
                    coalesce(n.rule, b.rule) as rule,
                    coalesce(n.severity, b.severity) as severity,
                    coalesce(n.request_number, b.request_number) as request_number,
                    coalesce(n.email, b.email) as email,
                    coalesce(n.application, b.application) as application,
                    case
                        when b.finding_key is null then 'new'
                        when n.finding_key is null then 'resolved'
                        else 'still open'
                    end as status,
                from findings as n
                full outer join _before as b using (finding_key)
            """)
            con.execute("create or replace table finding_trend as "
                        "select as_of::date as as_of, rule, open_findings::integer "
                        "as open_findings from _trend")
        finally:
            con.unregister("_before")
            con.unregister("_trend")
        counts = dict(con.execute("select status, count(*) from finding_changes group by 1"
                                  ).fetchall())
        yield {"previous_as_of": previous.isoformat() if previous else None,
               "new": counts.get("new", 0), "still_open": counts.get("still open", 0),
               "resolved": counts.get("resolved", 0)}
        history.execute("commit")
        committed = True
    finally:
        if not committed:
            with contextlib.suppress(duckdb.Error):
                history.execute("rollback")
        history.close()
