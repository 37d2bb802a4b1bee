"""Where patient-level data (PHI from the ADT feed) lives during a run: never in the
warehouse file. The patient tables are created in a database of their own, attached to
each connection of the run as `phi` (`<warehouse>.phi`, owner-only) and found by name
through the search path, so every query reads them as if they were in the warehouse. Once
the census is written the file is deleted — the kept warehouse never held a patient row,
not even in a freed page — unless `--keep-patient-data` copies them into it."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from ccreview.core.duckdb_catalog import sql_path

# every table that holds patient-level data (PHI) from the ADT feed: the census is written
# from them, and the kept warehouse has none of them unless told to keep them
PATIENT_TABLES = ("ingested_adt_events", "raw_adt_events", "stg_adt_events",
                  "int_adt_visits", "census_patients", "census_movements")
PATIENT_CATALOG = "phi"


def patient_data_path(warehouse: str | Path) -> Path:
    return Path(f"{warehouse}.phi")


# DuckDB gives the connections of one process to one file the same database, attachments
# included: two render threads each opening the warehouse must not both attach
_ATTACHING = threading.Lock()


def attach_patient_data(con: duckdb.DuckDBPyConnection, warehouse: str | Path,
                        read_only: bool = False) -> None:
    """Attach the run's patient database (unless another connection of this process to the
    same warehouse has) and put it on the search path (after the warehouse's own tables)."""
    path = sql_path(patient_data_path(warehouse))
    with _ATTACHING:
        attached = con.execute("select path from duckdb_databases() where database_name = ?",
                               [PATIENT_CATALOG]).fetchall()
        if not attached:
            con.execute(f"attach '{path}' as {PATIENT_CATALOG}"
                        + (" (read_only)" if read_only else ""))
        elif Path(attached[0][0]).resolve() != patient_data_path(warehouse).resolve():
            raise RuntimeError("another patient database is attached as "
                               f"{PATIENT_CATALOG}: not this warehouse's")
    main = con.execute("select current_database()").fetchone()[0].replace('"', '""')
    con.execute(f"set search_path = '\"{main}\".main,{PATIENT_CATALOG}.main'")


def table_home(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The name to create `table` under: in the patient database when it is a patient
    table and the connection has one (a test's in-memory warehouse has not)."""
    if table in PATIENT_TABLES and con.execute(
            "select count(*) from duckdb_databases() where database_name = ?",
            [PATIENT_CATALOG]).fetchone()[0]:
        return f"{PATIENT_CATALOG}.{table}"
    return table
