"""Run history: every review's findings kept in `<out>/history.duckdb`, so each run can say
what is new, still open and resolved since the previous one, and how open findings per
rule trend over time.

A run is identified by its as-of date: running the same as-of again replaces that run, in
one transaction, so a rerun never duplicates it and a killed run leaves the history as it
was. "Previous" is the latest recorded as-of date before this one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

HISTORY = "history.duckdb"


def record_run(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date) -> dict:
    """Store this run's findings and input hashes in the history; build `finding_changes`
    (one row per finding of this run or the previous one, with its status) and
    `finding_trend` (as-of x rule -> open findings) in the warehouse."""
    path = (out_dir / HISTORY).resolve()
    con.execute(f"attach '{path}' as history")
    try:
        con.execute("""
            create table if not exists history.runs (
                as_of date primary key, recorded_at timestamp, inputs json, findings integer)
        """)
        con.execute("""
            create table if not exists history.run_findings (
                as_of date, finding_key varchar, rule varchar, severity varchar,
                request_number varchar, email varchar, application varchar, detail varchar)
        """)
        inputs = json.dumps(dict(con.execute(
            "select source_file, sha256 from input_files order by source_file").fetchall()))
        con.execute("begin transaction")
        try:
            con.execute("delete from history.run_findings where as_of = ?", [as_of])
            con.execute("delete from history.runs where as_of = ?", [as_of])
            con.execute("""
                insert into history.run_findings
                select ?, finding_key, rule, severity, request_number, email, application,
                       detail
                from findings""", [as_of])
            con.execute("insert into history.runs select ?, ?, ?, (select count(*) from "
                        "findings)", [as_of, dt.datetime.combine(as_of, dt.time(0)), inputs])
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
        previous = con.execute("select max(as_of) from history.runs where as_of < ?",
                               [as_of]).fetchall()[0][0]
        con.execute("""
            create or replace table finding_changes as
            with now as (select * from history.run_findings where as_of = $1),
                 before as (select * from history.run_findings where as_of = $2)
            select
                coalesce(n.finding_key, b.finding_key) as finding_key,
                coalesce(n.rule, b.rule) as rule,
                coalesce(n.severity, b.severity) as severity,
                coalesce(n.request_number, b.request_number) as request_number,
                coalesce(n.email, b.email) as email,
                coalesce(n.application, b.application) as application,
                case
                    when $2 is null or b.finding_key is null then 'new'
                    when n.finding_key is null then 'resolved'
                    else 'still open'
                end as status,
            from now as n
            full outer join before as b using (finding_key)
        """, [as_of, previous])
        con.execute("""
            create or replace table finding_trend as
            select as_of, rule, count(*) as open_findings
            from history.run_findings
            where as_of <= ?
            group by all
            order by as_of, rule
        """, [as_of])
        counts = dict(con.execute("select status, count(*) from finding_changes group by 1"
                                  ).fetchall())
    finally:
        con.execute("detach history")
    return {"previous_as_of": previous.isoformat() if previous else None,
            "new": counts.get("new", 0), "still_open": counts.get("still open", 0),
            "resolved": counts.get("resolved", 0)}
