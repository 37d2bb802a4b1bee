"""`run_manifest.json`: the audit evidence of one run — every input (size, SHA-256, format,
rows read / accepted / quarantined), the settings, the versions, every output's SHA-256."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import duckdb
import pandas as pd

from ccreview.core.digest import file_sha256
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


def write_run_manifest(con: duckdb.DuckDBPyConnection, path: Path, *, as_of: str,
                       input_dir: str, settings: dict[str, str], outputs: list[Path]) -> Path:
    files = con.execute("select * from input_files order by source_file").df()
    recon = con.execute("select * from input_reconciliation").df()
    inputs = []
    for rec in files.to_dict("records"):
        tables = recon[recon["source_file"] == rec["source_file"]]
        inputs.append({
            "path": rec["source_file"], "size_bytes": int(rec["size_bytes"]),
            "sha256": rec["sha256"], "format": rec["format"], "status": rec["status"],
            "note": rec["note"] or "",
            # the evidence store's: the as-of of the run that read the file (an earlier one:
            # this run took its rows from the store without reading it again)
            **({"stored_as_of": rec["stored_as_of"].date().isoformat()}
               if rec.get("stored_as_of") is not None and not pd.isna(rec["stored_as_of"])
               else {}),
            "tables": {t["table_name"]: {"read": int(t["rows_read"]),
                                         "accepted": int(t["rows_accepted"]),
                                         "quarantined": int(t["rows_quarantined"])}
                       for t in tables.to_dict("records")},
        })
    counts = dict(con.execute("select rule, count(*) from findings group by rule "
                              "order by rule").fetchall())
    manifest = {
        "as_of": as_of, "input_dir": input_dir, "inputs": inputs, "settings": settings,
        "findings_by_rule": {k: int(v) for k, v in counts.items()},
        "versions": versions(),
        "outputs": [{"path": p.name, "size_bytes": p.stat().st_size, "sha256": file_sha256(p)}
                    for p in outputs],
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path
