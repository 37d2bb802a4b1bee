"""Shared fixtures: the review's stages run on a real DuckDB, without Prefect, so rule
tests are fast; one session-scoped Prefect test harness serves the flow tests."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import settings

from ccreview import prefect_runtime
from ccreview.contracts.ingest import ingest_inputs, validate_ingested
from ccreview.core.config import ReviewConfig
from ccreview.transforms.warehouse import build_models, load_reference_tables

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
SAMPLE_AS_OF = dt.date(2026, 11, 1)
FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "Zyx-Patient-Secret"  # a value that must never be copied into a reason or log

prefect_runtime.configure()  # the same settings as the command line, before prefect loads

# Property tests assert behaviour, never speed (speed is `make bench`'s): without a
# deadline, since a loaded CI machine took 264-350 ms over Hypothesis's default 200 ms
# for one example of the DuckDB round trips in test_identifiers, and failed them
settings.register_profile("ccreview", deadline=None)
settings.load_profile("ccreview")


def build_warehouse(input_dir: Path, as_of: dt.date, config: ReviewConfig | None = None,
                    history: Path | None = None, store: Path | None = None
                    ) -> duckdb.DuckDBPyConnection:
    """Ingest, validate and transform a folder into an in-memory warehouse (`history`: the
    run history earlier runs recorded, read by the models comparing with them; `store`:
    through that evidence store, recording the run in it once it succeeded)."""
    config = config or ReviewConfig()
    con = duckdb.connect()
    if store is None:
        ingest_inputs(input_dir, con, config.application_lists, config.time_zones,
                      config.cultures)
    else:
        from ccreview.contracts.store import ingest_with_store

        ingest_with_store(input_dir, con, store, as_of, config)
    validate_ingested(con)
    load_reference_tables(con, config, as_of, history)
    build_models(con)
    if store is not None:
        from ccreview.contracts.store import commit_run

        commit_run(con, store, as_of, config)
    return con


def finding_keys(con: duckdb.DuckDBPyConnection, rules: set[str] | None = None) -> set[tuple]:
    rows = con.execute("select rule, request_number, email, application from findings").fetchall()
    return {r for r in rows if rules is None or r[0] in rules}


def expected_keys(folder: Path, rules: set[str] | None = None) -> set[tuple]:
    df = pd.read_csv(folder / "expected_findings.csv", dtype=str, keep_default_na=False)
    return {tuple(r) for r in df.itertuples(index=False, name=None)
            if rules is None or r[0] in rules}


@pytest.fixture(scope="session")
def sample_warehouse() -> duckdb.DuckDBPyConnection:
    return build_warehouse(SAMPLE, SAMPLE_AS_OF)


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture
def bad_inputs(tmp_path: Path) -> Path:
    """A folder with a bad row of every kind, an empty, a truncated and an unknown file."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ad.csv").write_text(
        "SamAccountName,UserPrincipalName,mail,Enabled,whenCreated,lastLogonTimestamp\n"
        "good,good@cc.example.org,good@x.example,True,1/2/2024 3:04:05 PM,133182469920000000\n"
        f"badtime,badtime@cc.example.org,b@x.example,True,{SECRET},133182469920000000\n"
        f"nofiletime,nf@cc.example.org,nf@x.example,True,1/2/2024 3:04:05 PM,{SECRET}\n"
        ",,nobody@x.example,True,,\n"
        "short,short@cc.example.org\n"
        f"badmail,badmail@cc.example.org,{SECRET},Maybe,1/2/2024 3:04:05 PM,0\n")
    doc = json.loads((FIXTURES / "enrollment_single.json").read_text())
    doc["members"].append({"first_name": "X", "last_name": SECRET, "email": SECRET,
                           "staff_type": "Janitor", "suffix": "Staff",
                           "applications": ["Cerner Millennium", "Minesweeper"]})
    doc["members"].append({"email": "nameless@test.example", "staff_type": "Staff"})
    (folder / "enrollment.json").write_text(json.dumps(doc))
    bad_sub = dict(doc, request_number="REQ42", members=[])
    (folder / "enrollment2.json").write_text(json.dumps([bad_sub]))
    shutil.copy(FIXTURES / "application_users.csv", folder / "apps.csv")
    with (folder / "apps.csv").open("a") as fh:
        fh.write("Minesweeper,jdoe,,x,true,,,\n")
    (folder / "empty.csv").write_bytes(b"")
    (folder / "truncated.json").write_text('{"value": [{"userPrincipalName": ')
    (folder / "notes.txt").write_text("meeting notes\n")
    return folder


@pytest.fixture(scope="session")
def workbooks(tmp_path_factory) -> dict[str, list[Path]]:
    """kind -> the workbooks of that kind, from one review of the sample (with its data
    quality stage) and the intake of filled-in attestation copies."""
    from ccreview.contracts.attestation_returns import check_returns
    from ccreview.contracts.expectations import run_expectations
    from ccreview.core.history import HISTORY, recording_run
    from ccreview.reports.access_review import ReviewContext, write_review_reports
    from ccreview.reports.attestation import write_attestation_workbooks
    from ccreview.reports.dormant_accounts import write_dormant_reports
    from ccreview.reports.r2w import write_census, write_distribution
    from ccreview.reports.remediation import write_remediation
    from ccreview.synthetic.returns import fill_returns

    con = build_warehouse(SAMPLE, SAMPLE_AS_OF)
    out = tmp_path_factory.mktemp("out")
    run_expectations(con, SAMPLE_AS_OF, out / "data_quality")
    settings = ReviewConfig().as_flat_dict()
    with recording_run(con, out, SAMPLE_AS_OF):
        written = write_review_reports(con, out, ReviewContext(SAMPLE_AS_OF, settings, "t"))
        written += write_attestation_workbooks(con, out, SAMPLE_AS_OF, 30)
    written += write_dormant_reports(con, out, SAMPLE_AS_OF, settings)
    written += write_distribution(con, out, SAMPLE_AS_OF)
    written += write_census(con, out, SAMPLE_AS_OF, None)
    fill_returns(out / "attestation", out / "returned")
    result = check_returns(out / "returned", out / HISTORY, None, SAMPLE_AS_OF)
    written += write_remediation(result, out)
    kinds: dict[str, list[Path]] = {}
    for p in written:
        if p.suffix == ".xlsx":
            kind = ("attestation" if p.parent.name == "attestation" else
                    "census" if p.parent.name == "census" else p.stem.rsplit("_", 1)[0])
            kinds.setdefault(kind, []).append(p)
    return kinds
