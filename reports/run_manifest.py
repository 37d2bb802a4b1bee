"""`run_manifest.json`: the audit evidence of one run — every input (size, SHA-256, format,
rows read / accepted / quarantined), the settings, the versions, every output's SHA-256."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import duckdb

from ccreview.core.digest import file_sha256
from ccreview.core.duckdb_catalog import has_table
from ccreview.reports.files import atomic_path

KEY_LIBRARIES = ("ccreview", "pandas", "pandera", "duckdb", "prefect", "openpyxl",
                 "great-expectations")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in KEY_LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _file_tables(reconciled: list[dict], already: dict[str, int],
                 not_used: dict[str, tuple[int, str]]) -> dict[str, dict]:
    """One file's rows per table: read = accepted + quarantined; `already_stored`, the
    rows the evidence store had from an earlier file (left out, the stored ones used);
    `not_used`, its rows the store holds or held that the run leaves out (past retention;
    the census's sign-ins but each account's latest success), and why. The file's rows
    are read + already stored + not used."""
    tables = {t: {"read": 0, "accepted": 0, "quarantined": 0} for t in (*already, *not_used)}
    for t in reconciled:
        tables[t["table_name"]] = {"read": int(t["rows_read"]),
                                   "accepted": int(t["rows_accepted"]),
                                   "quarantined": int(t["rows_quarantined"])}
    return {t: {**counts, "already_stored": already.get(t, 0),
                "not_used": not_used.get(t, (0, ""))[0],
                **({"not_used_because": not_used[t][1]} if t in not_used else {})}
            for t, counts in sorted(tables.items())}


def _census_feed(con: duckdb.DuckDBPyConnection) -> dict[str, int] | None:
    """How the ADT feed was used (`census_summary`: counts only), when the run built it."""
    if not has_table(con, "census_summary"):
        return None
    cur = con.execute("select * from census_summary")
    return {d[0]: int(v) for d, v in zip(cur.description, cur.fetchone(), strict=True)}


def write_run_manifest(con: duckdb.DuckDBPyConnection, path: Path, *, as_of: str,
                       input_dir: str, settings: dict[str, str], outputs: list[Path],
                       fingerprint: str | None = None) -> Path:
    files = con.execute("select source_file, size_bytes, sha256, format, status, note, "
                        "stored_as_of from input_files order by source_file").fetchall()
    recon: dict[str, list[dict]] = {}
    for source_file, table, read, accepted, quarantined in con.execute(
            "select source_file, table_name, rows_read, rows_accepted, rows_quarantined "
            "from input_reconciliation").fetchall():
        recon.setdefault(source_file, []).append(
            {"table_name": table, "rows_read": read, "rows_accepted": accepted,
             "rows_quarantined": quarantined})
    already = {(f, t): int(n) for f, t, n in con.execute(
        "select source_file, table_name, rows from input_already_stored").fetchall()}
    not_used = {(f, t): (int(n), why) for f, t, n, why in con.execute(
        "select source_file, table_name, rows, why_not_used from input_not_used").fetchall()
    } if has_table(con, "input_not_used") else {}
    inputs = []
    for source_file, size_bytes, sha256, fmt, status, note, stored_as_of in files:
        inputs.append({
            "path": source_file, "size_bytes": int(size_bytes), "sha256": sha256,
            "format": fmt, "status": status, "note": note or "",
            # the evidence store's: the as-of of the run that read the file (an earlier one:
            # this run took its rows from the store without reading it again)
            **({"stored_as_of": stored_as_of.isoformat()} if stored_as_of is not None
               else {}),
            "tables": _file_tables(
                recon.get(source_file, []),
                {t: n for (f, t), n in already.items() if f == source_file},
                {t: n for (f, t), n in not_used.items() if f == source_file}),
        })
    # a run that built no findings (the census) says nothing about them
    counts = dict(con.execute("select rule, count(*) from findings group by rule "
                              "order by rule").fetchall()) if has_table(con, "findings") \
        else None
    quality = con.execute(
        "select count(*), count(*) filter (where not success) from data_quality_results"
    ).fetchall()[0] if has_table(con, "data_quality_results") else (0, 0)
    # each application's accounts the run reviewed (the folder's lists or the store's): a
    # list cut short, compared per application by the next run's shrink check
    accounts = dict(con.execute(
        "select application, count(*) from raw_application_accounts "
        "where application is not null group by all order by all").fetchall()
    ) if has_table(con, "raw_application_accounts") else {}
    base = path.parent
    feed = _census_feed(con)
    manifest = {
        "as_of": as_of, "input_dir": input_dir, "inputs": inputs, "settings": settings,
        **({} if counts is None else
           {"findings_by_rule": {k: int(v) for k, v in counts.items()}}),
        "data_quality": {"expectations": int(quality[0]), "not_met": int(quality[1])},
        "accounts_by_application": {k: int(v) for k, v in accounts.items()},
        **({} if feed is None else {"census_feed": feed}),
        "versions": versions(),
        "outputs": [{"path": p.relative_to(base).as_posix() if p.is_relative_to(base)
                     else p.name, "size_bytes": p.stat().st_size, "sha256": file_sha256(p)}
                    for p in outputs],
        # what the results depend on: a rerun with the same fingerprint and these outputs
        # intact has nothing to do (see `unchanged_run`)
        **({"fingerprint": fingerprint} if fingerprint else {}),
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def unchanged_run(out_dir: Path, fingerprint: str) -> dict | None:
    """The previous run's manifest when it had this fingerprint and every output it wrote
    is still there, byte for byte (and the warehouse and Data Docs beside them); else None."""
    try:
        manifest = json.loads((out_dir / "run_manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("fingerprint") != fingerprint:
        return None
    for extra in ("warehouse.duckdb", "data_quality/index.html"):
        if not (out_dir / extra).is_file():
            return None
    for entry in manifest.get("outputs", []):
        path = out_dir / entry["path"]
        try:
            if path.stat().st_size != entry["size_bytes"] or file_sha256(path) != entry["sha256"]:
                return None
        except OSError:
            return None
    return manifest
