"""Run history: every review's findings kept in `<out>/history.duckdb`, so each run can say
what is new, still open and resolved since the previous one, and how open findings per
rule trend over time.

A run is identified by its as-of date: running the same as-of again replaces that run, in
one transaction, so a rerun never duplicates it and a killed run leaves the history as it
was. What was replaced is never deleted: the earlier run's rows move to the `superseded_*`
tables (its register of issued attestation workbooks stays readable for `attest`). Once
returns were taken in for an as-of, rerunning it is refused unless the caller says
`replace`. Before every commit the history file is copied to `.history-backups/` (the
latest `BACKUPS_KEPT` are kept; `ccreview history --restore` brings one back). "Previous"
is the latest recorded as-of date before this one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from ccreview.core.attestation import IntakeResult
from ccreview.core.errors import UsageError

HISTORY = "history.duckdb"
BACKUPS = ".history-backups"
BACKUPS_KEPT = 10
# the tables one run writes, keyed by as_of; on a rerun their rows become superseded
RUN_TABLES = ("runs", "run_findings", "run_entitlements", "attestation_groups",
              "attestation_issued", "attestation_status")
# each review's entitlement snapshot (person x application with its evidence): who held
# what at that review, for `ccreview history --as-of`
ENTITLEMENT_COLUMNS = (
    ("request_number", "varchar"), ("group_name", "varchar"), ("person_name", "varchar"),
    ("email", "varchar"), ("role", "varchar"), ("member_status", "varchar"),
    ("application", "varchar"), ("allowed_by_policy", "boolean"), ("requested", "boolean"),
    ("requested_on", "date"), ("provisioned", "boolean"), ("account_active", "boolean"),
    ("accounts", "varchar"), ("last_used_on", "date"), ("daa_state", "varchar"),
    ("findings", "varchar"), ("highest_severity", "varchar"))


def returns_taken_in(out_dir: Path, as_of: dt.date) -> int:
    """How many groups' attestation returns the history holds for the review as of
    `as_of` (0 when there is no history)."""
    path = out_dir / HISTORY
    if not path.is_file():
        return 0
    con = duckdb.connect(str(path), read_only=True)
    try:
        if "attestation_status" not in {r[0] for r in con.execute("show tables").fetchall()}:
            return 0
        return con.execute("select count(*) from attestation_status where as_of = ? and "
                           "files <> ''", [as_of]).fetchone()[0]
    finally:
        con.close()


def refuse_silent_replacement(out_dir: Path, as_of: dt.date, replace: bool) -> None:
    """A usage error when rerunning `as_of` would replace attestation workbooks whose
    returns were already taken in, unless `replace` was given."""
    n = returns_taken_in(out_dir, as_of)
    if n and not replace:
        raise UsageError(
            f"--out {out_dir}: the review as of {as_of} issued attestation workbooks and "
            f"{n} group(s) returned theirs; rerunning it would replace what was issued. "
            "Nothing was written: give --replace to rerun it (the earlier run is kept as "
            "superseded, and its returns stay readable)")


def backup_history(out_dir: Path, label: str) -> Path | None:
    """Copy the history file (and its WAL) aside before it changes; keep the latest
    BACKUPS_KEPT copies. None when there is no history yet."""
    path = out_dir / HISTORY
    if not path.is_file():
        return None
    folder = out_dir / BACKUPS
    folder.mkdir(mode=0o700, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"history-{stamp}-{label}.duckdb"
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copy2(path, tmp)
    os.replace(tmp, target)
    wal = Path(f"{path}.wal")
    if wal.is_file():
        shutil.copy2(wal, Path(f"{target}.wal"))
    for old in sorted(folder.glob("history-*.duckdb"))[:-BACKUPS_KEPT]:
        old.unlink(missing_ok=True)
        Path(f"{old}.wal").unlink(missing_ok=True)
    return target


def record_run(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
               replace: bool = False) -> dict:
    """Record this run in the history at once (see `recording_run`)."""
    with recording_run(con, out_dir, as_of, replace) as changes:
        return changes


@contextlib.contextmanager
def recording_run(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                  replace: bool = False) -> Iterator[dict]:
    """Stage this run's findings and attestation register in the history, yield the
    counts of the warehouse's `finding_changes` model (new, still open, resolved since the
    previous run), and commit only if the block (writing the reports) succeeds: a failed
    or killed run leaves the history as it was. The history has its own
    connection: one DuckDB transaction may not write to two database files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    refuse_silent_replacement(out_dir, as_of, replace)
    backup_history(out_dir, as_of.isoformat())
    history = duckdb.connect(str((out_dir / HISTORY).resolve()))
    committed = False
    try:
        history.execute("""
            create table if not exists runs (
                as_of date primary key, recorded_at timestamp, inputs json, findings integer)
        """)
        # added later; an older history file gains the columns
        history.execute("alter table runs add column if not exists run_id varchar")
        history.execute("alter table runs add column if not exists counts json")
        history.execute("""
            create table if not exists run_findings (
                as_of date, finding_key varchar, rule varchar, severity varchar,
                request_number varchar, email varchar, application varchar, detail varchar)
        """)
        history.execute(
            "create table if not exists run_entitlements (as_of date, "
            + ", ".join(f"{c} {t}" for c, t in ENTITLEMENT_COLUMNS) + ")")
        for column, kind in ENTITLEMENT_COLUMNS:  # kept in step as the snapshot grows
            history.execute(f"alter table run_entitlements add column if not exists "
                            f"{column} {kind}")
        history.execute("""
            create table if not exists attestation_groups (
                as_of date, request_number varchar, group_name varchar, due_on date,
                workbook_id varchar, rows integer, high_rows integer)
        """)
        history.execute("""
            create table if not exists attestation_issued (
                as_of date, request_number varchar, row_id varchar, severity varchar,
                application varchar, application_team varchar, evidence json)
        """)
        history.execute("""
            create table if not exists attestation_status (
                as_of date, request_number varchar, status varchar, received_on date,
                files varchar, rows_decided integer, keep integer, revoke integer,
                modify integer, problems integer)
        """)
        history.execute("alter table runs add column if not exists ran_at timestamp")
        for table in RUN_TABLES:  # what a rerun replaced, never deleted
            history.execute(f"create table if not exists superseded_{table} as select *, "
                            f"''::varchar as superseded_run_id, now()::timestamp as "
                            f"superseded_at from {table} limit 0")
        _align_superseded(history)
        issued_groups, issued_rows = _attestation_register(con, as_of)
        inputs = json.dumps(dict(con.execute(
            "select source_file, sha256 from input_files order by source_file").fetchall()))
        current = con.execute("select ?::date as as_of, finding_key, rule, severity, "
                              "request_number, email, application, detail from findings",
                              [as_of]).df()
        entitlements = con.execute(
            "select ?::date as as_of, "
            + ", ".join(f"{c}::{t} as {c}" for c, t in ENTITLEMENT_COLUMNS)
            + " from entitlement_review order by request_number, email, application",
            [as_of]).df()
        history.execute("begin transaction")
        earlier = history.execute("select coalesce(run_id, 'unrecorded') from runs "
                                  "where as_of = ?", [as_of]).fetchall()
        if earlier:
            for table in RUN_TABLES:
                cols = ", ".join(_columns(history, table))
                history.execute(
                    f"insert into superseded_{table} ({cols}, superseded_run_id, "
                    f"superseded_at) select {cols}, ?, ? from {table} where as_of = ?",
                    [earlier[0][0], dt.datetime.now(), as_of])
            history.execute("delete from attestation_status where as_of = ?", [as_of])
        history.execute("delete from run_findings where as_of = ?", [as_of])
        history.execute("delete from run_entitlements where as_of = ?", [as_of])
        history.register("_held", entitlements)
        history.execute("insert into run_entitlements by name select * from _held")
        history.unregister("_held")
        history.execute("delete from runs where as_of = ?", [as_of])
        history.register("_current", current)
        history.execute("insert into run_findings select * from _current")
        history.unregister("_current")
        for table, frame in (("attestation_groups", issued_groups),
                             ("attestation_issued", issued_rows)):
            history.execute(f"delete from {table} where as_of = ?", [as_of])
            history.register("_frame", frame)
            history.execute(f"insert into {table} select * from _frame")
            history.unregister("_frame")
        history.execute("insert into runs (as_of, recorded_at, inputs, findings, run_id, "
                        "counts, ran_at) values (?, ?, ?, ?, ?, ?, ?)",
                        [as_of, dt.datetime.combine(as_of, dt.time(0)), inputs, len(current),
                         _run_id(), json.dumps(_run_counts(con), sort_keys=True),
                         dt.datetime.now()])
        previous = con.execute("select max(as_of) from history_runs").fetchall()[0][0]
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


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_name = ? "
        "order by ordinal_position", [table]).fetchall()]


def _align_superseded(history: duckdb.DuckDBPyConnection) -> None:
    """A column a run table gained later is added to its superseded copy too."""
    for table in RUN_TABLES:
        have = set(_columns(history, f"superseded_{table}"))
        types = dict(history.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_name = ?", [table]).fetchall())
        for column in _columns(history, table):
            if column not in have:
                history.execute(f"alter table superseded_{table} add column {column} "
                                f"{types[column]}")


def _attestation_register(con: duckdb.DuckDBPyConnection, as_of: dt.date
                          ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What this run's attestation workbooks ask about: per group (due date, workbook id)
    and per row (the evidence as issued), so returned copies can be checked against it."""
    from ccreview.core.attestation import (
        EVIDENCE,
        due_date,
        evidence_json,
        issued_texts,
        workbook_id,
    )

    due_days = con.execute("select attestation_due_days from run_parameters").fetchall()[0][0]
    cols = ", ".join(f"{c}::date" if c.endswith("_on") else c for c, _ in EVIDENCE)
    rows = con.execute(
        f"select request_number, group_name, application, application_team, {cols} "
        "from entitlement_review order by request_number, row_id").fetchall()
    issued, groups = [], {}
    row_id = [h for _, h in EVIDENCE].index("Row ID")
    severity = [h for _, h in EVIDENCE].index("Severity")
    for r in rows:
        request_number, group_name, application, team = r[:4]
        texts = issued_texts(r[4:])  # as the cells hold them
        issued.append((as_of, request_number, texts[row_id], texts[severity] or None,
                       application, team, evidence_json(texts)))
        g = groups.setdefault(request_number, [group_name, [], 0])
        g[1].append(texts[row_id])
        g[2] += texts[severity] == "high"
    group_rows = [(as_of, rn, name, due_date(as_of, due_days), workbook_id(as_of, rn, ids),
                   len(ids), high) for rn, (name, ids, high) in sorted(groups.items())]
    return (pd.DataFrame(group_rows, columns=["as_of", "request_number", "group_name",
                                              "due_on", "workbook_id", "rows", "high_rows"]),
            pd.DataFrame(issued, columns=["as_of", "request_number", "row_id", "severity",
                                          "application", "application_team", "evidence"]))


def _run_id() -> str:
    """The Prefect flow run's id, or a fresh one outside a flow (a test, a script)."""
    from prefect.runtime import flow_run

    return str(flow_run.id or uuid.uuid4())


def _run_counts(con: duckdb.DuckDBPyConnection) -> dict:
    """Rows read, accepted and quarantined, and findings per rule: counts only."""
    read, accepted, quarantined = con.execute(
        "select coalesce(sum(rows_read), 0), coalesce(sum(rows_accepted), 0), "
        "coalesce(sum(rows_quarantined), 0) from input_reconciliation").fetchall()[0]
    by_rule = dict(con.execute("select rule, count(*) from findings group by 1 order by 1"
                               ).fetchall())
    return {"rows_read": int(read), "rows_accepted": int(accepted),
            "rows_quarantined": int(quarantined), "findings_by_rule": by_rule}


def list_runs(out_dir: Path) -> list[dict]:
    """Every run in the history, current and superseded, oldest first: as-of, when it ran,
    inputs, findings, attestation workbooks issued and returned, run id."""
    con = duckdb.connect(str(out_dir / HISTORY), read_only=True)
    try:
        tables = {r[0] for r in con.execute("show tables").fetchall()}
        parts = []
        for status, prefix in (("current", ""), ("superseded", "superseded_")):
            if f"{prefix}runs" not in tables:
                continue
            cols = set(_columns(con, f"{prefix}runs"))
            ran = "ran_at" if "ran_at" in cols else "recorded_at"
            run_id = "run_id" if "run_id" in cols else "null"
            key = "superseded_run_id" if prefix else run_id
            issued = (f"(select count(*) from {prefix}attestation_groups as g where "
                      f"g.as_of = r.as_of" + (" and g.superseded_run_id = r.superseded_run_id"
                                              if prefix else "") + ")"
                      if f"{prefix}attestation_groups" in tables else "0")
            returned = (f"(select count(*) from {prefix}attestation_status as s where "
                        f"s.as_of = r.as_of and s.files <> ''" +
                        (" and s.superseded_run_id = r.superseded_run_id" if prefix else "")
                        + ")" if f"{prefix}attestation_status" in tables else "0")
            parts.append(f"select '{status}' as status, as_of, {ran} as ran_at, inputs, "
                         f"findings, {issued} as issued, {returned} as returned, "
                         f"{key} as run_id from {prefix}runs as r")
        rows = con.execute(" union all ".join(parts) + " order by as_of, ran_at").fetchall()
    finally:
        con.close()
    return [{"status": status, "as_of": str(as_of),
             "ran_at": ran_at.strftime("%Y-%m-%d %H:%M:%S") if ran_at else "",
             "inputs": len(json.loads(inputs or "{}")), "findings": findings,
             "issued": issued, "returned": returned, "run_id": run_id or ""}
            for status, as_of, ran_at, inputs, findings, issued, returned, run_id in rows]


def list_backups(out_dir: Path) -> list[str]:
    return sorted(p.name for p in (out_dir / BACKUPS).glob("history-*.duckdb"))


def restore_backup(out_dir: Path, name: str) -> Path:
    """Put a backup back as the history (after backing up the current file)."""
    source = out_dir / BACKUPS / Path(name).name
    if not source.is_file() or source.name not in list_backups(out_dir):
        raise UsageError(f"--restore {name}: no such backup in {out_dir / BACKUPS} (see "
                         "`ccreview history --out`)")
    try:
        duckdb.connect(str(source), read_only=True).close()
    except duckdb.Error:
        raise UsageError(f"--restore {name}: not a readable history file") from None
    backup_history(out_dir, "before-restore")
    target = out_dir / HISTORY
    tmp = target.with_name(f".{target.name}.restoring")
    shutil.copy2(source, tmp)
    wal = Path(f"{source}.wal")
    Path(f"{target}.wal").unlink(missing_ok=True)
    if wal.is_file():
        shutil.copy2(wal, Path(f"{target}.wal"))
    os.replace(tmp, target)
    return source


# -- the attestation register: what `attest` checks returns against, and records --------

def check_register(history_path: Path, as_of: dt.date | None) -> None:
    """A usage error, before anything starts, when the history holds no attestation
    register for `as_of` (or none at all)."""
    read_register(history_path, as_of)


def read_register(history_path: Path, as_of: dt.date | None) -> dict:
    if not history_path.is_file():
        raise UsageError(f"{history_path}: no review history here; run `ccreview review` "
                         "with this --out first")
    con = duckdb.connect(str(history_path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("show tables").fetchall()}
        if "attestation_groups" not in tables:
            raise UsageError(f"{history_path}: no attestation workbooks were issued yet")
        if as_of is None:
            as_of = con.execute("select max(as_of) from attestation_groups").fetchall()[0][0]
        groups = {r[0]: (r[1], r[2], r[3]) for r in con.execute(
            "select request_number, group_name, due_on, workbook_id from attestation_groups "
            "where as_of = ?", [as_of]).fetchall()}
        if not groups:
            raise UsageError(f"no attestation workbooks were issued for the review of {as_of}")
        issued: dict[str, dict] = {rn: {} for rn in groups}
        for rn, rid, application, team, evidence in con.execute(
                "select request_number, row_id, application, application_team, evidence "
                "from attestation_issued where as_of = ?", [as_of]).fetchall():
            issued[rn][rid] = {"application": application, "team": team,
                               "evidence": json.loads(evidence)}
        superseded = _superseded_registers(con, tables, as_of)
    finally:
        con.close()
    return {"as_of": as_of, "groups": groups, "issued": issued, "superseded": superseded}


def _superseded_registers(con: duckdb.DuckDBPyConnection, tables: set[str],
                          as_of: dt.date) -> dict[str, dict[str, dict]]:
    """What earlier runs of this review issued before a rerun replaced them:
    request number -> workbook id -> row id -> issued row."""
    if "superseded_attestation_groups" not in tables:
        return {}
    out: dict[str, dict[str, dict]] = {}
    runs = dict(con.execute(
        "select superseded_run_id, list(request_number || '|' || workbook_id) "
        "from superseded_attestation_groups where as_of = ? group by 1", [as_of]).fetchall())
    for run_id, pairs in runs.items():
        ids = dict(p.split("|", 1) for p in pairs)
        for rn, rid, application, team, evidence in con.execute(
                "select request_number, row_id, application, application_team, evidence "
                "from superseded_attestation_issued where as_of = ? and superseded_run_id = ?",
                [as_of, run_id]).fetchall():
            rows = out.setdefault(rn, {}).setdefault(ids.get(rn, ""), {})
            rows[rid] = {"application": application, "team": team,
                         "evidence": json.loads(evidence)}
    return out


def record_status(history_path: Path, result: IntakeResult) -> None:
    """Replace this review's attestation status in the history (one transaction), so the
    next compliance workbook shows it on its Groups sheet. The history is backed up
    first."""
    backup_history(history_path.parent, f"attest-{result.as_of.isoformat()}")
    con = duckdb.connect(str(history_path))
    try:
        counts = result.problems_by_group()
        rows = [(result.as_of, g.request_number, g.status,
                 result.received_on if g.files else None, "; ".join(g.files), g.decided,
                 g.decisions.get("Keep", 0), g.decisions.get("Revoke", 0),
                 g.decisions.get("Modify", 0), counts.get(g.request_number, 0))
                for g in result.groups]
        con.execute("begin transaction")
        con.execute("delete from attestation_status where as_of = ?", [result.as_of])
        if rows:
            con.executemany("insert into attestation_status values "
                            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("commit")
    finally:
        con.close()


def entitlements_as_of(out_dir: Path, as_of: dt.date, application: str | None = None,
                       person: str | None = None) -> tuple[list[tuple], dict[str, int]]:
    """Who held what at the review as of `as_of` (person x application rows with their
    evidence, optionally for one application or people whose name or email contains
    `person`) and what that review found (findings per rule)."""
    path = out_dir / HISTORY
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {r[0] for r in con.execute("show tables").fetchall()}
        if not con.execute("select count(*) from runs where as_of = ?", [as_of]
                           ).fetchone()[0]:
            recorded = ", ".join(str(r[0]) for r in con.execute(
                "select as_of from runs order by as_of").fetchall()) or "none"
            raise UsageError(f"--as-of {as_of}: no review as of that date in {path} "
                             f"(recorded: {recorded})")
        if "run_entitlements" not in tables:
            raise UsageError(f"{path}: written before entitlement snapshots were kept; "
                             "only later reviews can say who held what")
        where, params = ["as_of = ?"], [as_of]
        if application:
            where.append("upper(application) = upper(?)")
            params.append(application)
        if person:
            where.append("(person_name ilike ? or email ilike ?)")
            params += [f"%{person}%"] * 2
        rows = con.execute(
            "select " + ", ".join(c for c, _ in ENTITLEMENT_COLUMNS) + " from run_entitlements"
            f" where {' and '.join(where)} order by request_number, person_name, email, "
            "application", params).fetchall()
        found = dict(con.execute("select rule, count(*) from run_findings where as_of = ? "
                                 "group by 1 order by 1", [as_of]).fetchall())
    finally:
        con.close()
    return rows, found
