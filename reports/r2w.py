"""Report2Web: the distribution list, and one Physician Census workbook per subscribed
provider.

`r2w_distribution_<as-of>.xlsx` / `r2w_distribution.csv`: each provider x alert with its
delivery method, fax and valid email recipients; providers whose group has no DAA in force
and recipients left off are listed on their own sheets. `census/`: one workbook per
provider (named by request number and NPI, never by a patient), with the patients admitted
or in the ED as of the run and their movements, and `census/census_manifest.csv` saying
which workbook goes to whom. Census workbooks hold PHI: they are encrypted (standard
Office encryption that Excel and LibreOffice open) when a password is given through the
environment — `CCREVIEW_CENSUS_PASSWORD`, or a file named by
`CCREVIEW_CENSUS_PASSWORD_FILE` — never on the command line or in the config file.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import duckdb

from ccreview.core.processes import exit_at_once
from ccreview.core.secrets import secret
from ccreview.core.vocabulary import ADT_EVENTS
from ccreview.reports.files import (
    atomic_path,
    building_folder,
    child_path,
    start_building,
    swap_in,
    write_csv,
)
from ccreview.reports.xlsx_direct import Table, write_table_book

DIST_COLUMNS = ["request_number", "group_name", "provider_name", "provider_email",
                "provider_npi", "alert", "delivery_method", "fax_number", "email_recipients",
                "recipient_names", "recipients_left_off", "lab_facilities", "physician_census",
                "distributed", "not_distributed_reason"]
DIST_HEADERS = ["Request number", "Group", "Provider", "Provider email", "NPI", "Alert",
                "Delivery", "Fax", "Email recipients", "Recipient names",
                "Recipients left off", "Lab facilities", "Physician Census", "Distributed",
                "Why not distributed"]
CENSUS_COLUMNS = ["patient_family_name", "patient_given_name", "birth_date", "fin", "mrn",
                  "facility", "unit", "room", "bed", "admit_at", "visit_state",
                  "chief_complaint", "patient_phone", "pcp_name"]
CENSUS_HEADERS = ["Last name", "First name", "Date of birth", "FIN", "MRN", "Facility",
                  "Unit", "Room", "Bed", "Admitted / registered", "Status", "Chief complaint",
                  "Patient phone", "Primary care physician"]
MOVEMENT_HEADERS = ["FIN", "Last name", "Event", "When", "Facility", "Unit", "Room", "Bed"]
PASSWORD_VARIABLE = "CCREVIEW_CENSUS_PASSWORD"
# the warehouse models each report reads: a census run builds these and what they need
DISTRIBUTION_MODELS = ("r2w_distribution", "int_r2w_recipients")
CENSUS_MODELS = ("census_providers", "census_patients", "census_movements",
                 "census_summary")
MANIFEST_COLUMNS = ["file", "request_number", "provider_name", "provider_email",
                    "provider_npi", "recipients", "patients", "encrypted"]


def census_password(secret_block: str | None = None) -> str | None:
    """The census password: from the environment (CCREVIEW_CENSUS_PASSWORD, or the file
    CCREVIEW_CENSUS_PASSWORD_FILE names), else from the Prefect Secret block the config
    names (`[census] password_secret`); None = none. Never from the command line."""
    return secret(PASSWORD_VARIABLE, secret_block, "census.password_secret")


def census_encrypted(secret_block: str | None = None) -> bool:
    """Whether the census workbooks get a password, without fetching a Secret block's
    value (a bad password file fails here all the same)."""
    return secret(PASSWORD_VARIABLE) is not None or bool(secret_block)


def write_distribution(con: duckdb.DuckDBPyConnection, out_dir: Path,
                       as_of: dt.date) -> list[Path]:
    rows = con.execute(f"select {', '.join(DIST_COLUMNS)} from r2w_distribution").fetchall()
    left_off = con.execute(
        "select request_number, provider_name, recipient_email, recipient_name, problem "
        "from int_r2w_recipients where problem is not null "
        "order by request_number, provider_name, recipient_email").fetchall()
    csv_path = out_dir / "r2w_distribution.csv"
    write_csv(csv_path, DIST_COLUMNS, [r for r in rows if r[13]])
    xlsx = out_dir / f"r2w_distribution_{as_of.isoformat()}.xlsx"
    # one row per provider (70,000 at 10,000 groups): written directly, 5 -> 2 s there
    write_table_book(xlsx, as_of, "Report2Web distribution list", [
        Table("Distribution", DIST_HEADERS[:-1], [r[:-1] for r in rows if r[13]]),
        Table("Not distributed", DIST_HEADERS, [r for r in rows if not r[13]]),
        Table("Recipients left off",
              ["Request number", "Provider", "Recipient email", "Recipient", "Why"],
              left_off)])
    return [csv_path, xlsx]


CENSUS_FOLDER = "census"


def write_census(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                 password: str | None) -> list[Path]:
    """One workbook per subscribed provider, built in a temporary folder that replaces
    `census/` only when complete. (The flow runs the same three steps with the workbooks
    split into shards across its task runner's workers.)"""
    prepare_census(out_dir)
    write_census_shard(con, out_dir, as_of, password, 0, 1)
    return finish_census(con, out_dir, as_of, password)


def prepare_census(out_dir: Path) -> None:
    start_building(out_dir, CENSUS_FOLDER)


def _census_providers(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(request number, NPI, name, email, patients) of every census recipient provider."""
    return con.execute("select request_number, provider_npi, provider_name, provider_email, "
                       "patients from census_providers order by all").fetchall()


def _census_file(rn: str, npi: str, as_of: dt.date) -> str:
    if not (re.fullmatch(r"CS\d{7}", rn) and re.fullmatch(r"\d{10}", npi)):
        raise ValueError("a census file name needs a request number and a ten-digit NPI")
    return f"census_{rn}_{npi}_{as_of.isoformat()}.xlsx"


# A census run renders on no process pool (its workbooks are small: a pool's start costs
# more than it shares), so a long shard is shared with one spawned process instead (this one
# has DuckDB's threads: not forked), which opens the warehouse itself. Its start (imports,
# a connection) is about half a second. Measured on 2 cores: the 10,414 workbooks of 10,000
# groups in 0.69x the time of one process alone, and the daily census's report stage 20.2
# and 24.3 -> 15.2 and 16.6 s; the 1,061 of 1,000 groups 0.90x alone, but in the census
# no faster (the report stage 2.3 -> 2.4 s, medians of four: the Data Docs builder has the
# other core then).
CENSUS_HELPER_BOOKS = 2_000


def write_census_shard(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                       password: str | None, shard: int, shards: int,
                       reopen: Callable[[], duckdb.DuckDBPyConnection] | None = None) -> int:
    """The census workbooks of every `shards`-th provider from `shard`, into the building
    folder; returns how many. `reopen` (picklable: how another process opens this
    warehouse read-only) lets a shard of `CENSUS_HELPER_BOOKS` or more be shared with a
    second process, every other workbook each."""
    building = building_folder(out_dir, CENSUS_FOLDER)
    mine = _census_providers(con)[shard::shards]
    if reopen is None or len(mine) < CENSUS_HELPER_BOOKS \
            or multiprocessing.current_process().daemon:  # (a Dask worker may have none)
        _write_census_books(con, building, as_of, password, mine)
        return len(mine)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=exit_at_once) as helper:
        theirs = helper.submit(_census_books_apart, reopen, building, as_of, password,
                               mine[1::2])
        _write_census_books(con, building, as_of, password, mine[0::2])
        theirs.result()  # its failure is the shard's (a dead helper: BrokenProcessPool)
    return len(mine)


def _census_books_apart(reopen: Callable[[], duckdb.DuckDBPyConnection], building: Path,
                        as_of: dt.date, password: str | None, providers: list[tuple]) -> None:
    """In the helper process: the workbooks of `providers`, from a connection of its own."""
    with reopen() as con:
        _write_census_books(con, building, as_of, password, providers)


def _write_census_books(con: duckdb.DuckDBPyConnection, building: Path, as_of: dt.date,
                        password: str | None, providers: list[tuple]) -> None:
    keys = [f"{rn}|{npi}" for rn, npi, *_ in providers]
    # two queries for all of them, not two per provider
    patients: dict[str, list[tuple]] = {}
    for row in con.execute(
            f"select request_number || '|' || provider_npi, {', '.join(CENSUS_COLUMNS)} "
            "from census_patients where request_number || '|' || provider_npi in "
            "(select unnest(?::varchar[])) order by request_number, provider_name, "
            "patient_family_name, patient_given_name, fin", [keys]).fetchall():
        patients.setdefault(row[0], []).append(row[1:])
    moves: dict[str, list[tuple]] = {}
    for row in con.execute(
            "select request_number || '|' || provider_npi, fin, patient_family_name, "
            "event_type, event_at, facility, unit, room, bed from census_movements "
            "where request_number || '|' || provider_npi in (select unnest(?::varchar[])) "
            "order by patient_family_name, fin, event_at", [keys]).fetchall():
        moves.setdefault(row[0], []).append(row[1:])
    for key, (rn, npi, name, _, _) in zip(keys, providers, strict=True):
        _census_workbook(child_path(building, _census_file(rn, npi, as_of)), as_of, name,
                         patients.get(key, []), moves.get(key, []), password)


def finish_census(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                  password: str | None) -> list[Path]:
    """Check every workbook is there, write the manifest, swap the folder in."""
    recipients = dict(((rn, npi), emails) for rn, npi, emails in con.execute(
        "select request_number, provider_npi, recipients from census_providers").fetchall())
    manifest = []
    for rn, npi, name, email, patients in _census_providers(con):
        file_name = _census_file(rn, npi, as_of)
        to = "; ".join(x for x in (email, recipients.get((rn, npi))) if x)
        manifest.append([file_name, rn, name, email, npi, to, patients, password is not None])
    write_csv(building_folder(out_dir, CENSUS_FOLDER) / "census_manifest.csv",
              MANIFEST_COLUMNS, manifest)
    final = swap_in(out_dir, CENSUS_FOLDER, [m[0] for m in manifest])
    return [final / m[0] for m in manifest] + [final / "census_manifest.csv"]


def _census_workbook(path: Path, as_of: dt.date, provider: str, rows: list, moves: list,
                     password: str | None) -> None:
    write_table_book(path, as_of, f"Physician Census: {provider}", [
        Table("Census", CENSUS_HEADERS, rows, title=(
            f"Physician Census for {provider} as of {as_of.isoformat()}: {len(rows)} "
            "patients. Protected health information: do not forward outside the practice.")),
        Table("Movements", MOVEMENT_HEADERS,
              [[m[0], m[1], ADT_EVENTS[m[2]][0], *m[3:]] for m in moves])], phi=True,
        in_building=True)  # the census folder is built aside and swapped in whole
    if password is not None:
        _encrypt_in_place(path, password)


def _encrypt_in_place(path: Path, password: str) -> None:
    """Standard Office (Agile) encryption, as Excel's "Encrypt with Password" writes it."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with atomic_path(path) as tmp, path.open("rb") as plain, tmp.open("wb") as encrypted:
        OOXMLFile(plain).encrypt(password, encrypted)
