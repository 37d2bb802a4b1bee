"""Every source's encoding of a value means the same value.

The same two submissions (a registration whose sponsor is also the administrator, with a
Corporate/Legal Representative, a provider with Report2Web and a scheduler with Qventus;
then an addition) written by hand as the tools write them: one JSON document per file, a
JSON array, a ServiceNow Table API response with plain values, one with
`sysparm_display_value=all` pairs (labels and the exporting user's local times on the
display side), and the portal's member list as CSV and XLSX. The staged rows must be
identical, field for field.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest

from tests.cases import AS_OF, npi, servicenow_pairs
from tests.conftest import build_warehouse

SPONSOR = {"first_name": "Ada", "middle_initial": "", "no_middle_initial": True,
           "last_name": "Lovelace", "email": "Ada.Lovelace@Clinic.example",
           "phone": "(602) 555-0101", "staff_type": "Sponsoring Physician", "suffix": "MD",
           "licensed_state": "AZ", "state_license_number": "MD-12345", "npi": npi("123456789"),
           "applications": ["Cerner Millennium", "PACS Synapse", "Report2Web"],
           "report2web": {"fax_number": "602-555-0199",
                          "lab_facilities": ["Raymond Medical Center"],
                          "alerts": {"Discharged": "fax", "Labs ordered by you": "both"},
                          "recipients": ["grace.hopper@clinic.example"],
                          "physician_census": True}}
SCHEDULER = {"first_name": "Grace", "middle_initial": "B", "no_middle_initial": False,
             "last_name": "Hopper", "email": "grace.hopper@clinic.example",
             "phone": "602.555.0102", "phone_extension": "12", "staff_type": "Staff",
             "suffix": "Surgery Scheduler",
             "applications": ["Cerner Millennium", "Qventus"],
             "qventus": {"role": "Scheduler", "facilities": ["Raymond Medical Center",
                                                             "Desert Surgery Center"]}}
BILLER = {"first_name": "Alan", "middle_initial": "", "no_middle_initial": True,
          "last_name": "Turing", "email": "alan.turing@clinic.example",
          "phone": "+1 602 555 0103", "staff_type": "Staff", "suffix": "Billing",
          "applications": ["Cerner Millennium"]}
REGISTRATION = {
    "request_number": "CS0000201", "request_type": "new_group",
    "group_request_number": "CS0000201", "submitted_at": "2026-03-04T17:22:10Z",
    "group": {"name": "Saguaro Family Medicine", "practice_fax": "602-555-0199",
              "corporate_or_legal_representative": "YES",
              "corporate_representative_full_name": "Lee Counsel",
              "corporate_representative_email": "lee@counsel.example"},
    "sponsoring_physician": SPONSOR, "group_administrator_same_as_sponsor": True,
    "group_administrator": None, "members": [SCHEDULER],
    "report2web_privacy_policy_accepted": True,
}
ADDITION = {"request_number": "CS0000202", "request_type": "add_members",
            "group_request_number": "CS0000201", "submitted_at": "2026-06-30T23:30:00Z",
            "members": [BILLER]}
DOCS = [REGISTRATION, ADDITION]

def _write(folder: Path, files: dict[str, object]) -> Path:
    folder.mkdir(parents=True)
    for name, body in files.items():
        (folder / name).write_text(json.dumps(body, indent=1), encoding="utf-8")
    return folder


ENCODINGS = {
    "documents": lambda: {f"doc_{i}.json": d for i, d in enumerate(DOCS)},
    "array": lambda: {"array.json": DOCS},
    "servicenow": lambda: {"sn.json": {"result": DOCS}},
    "servicenow_display_all": lambda: {"sn_all.json": {"result": [servicenow_pairs(d)
                                                                  for d in DOCS]}},
}
LINEAGE = ("source_file", "source_line")


def staged(folder: Path) -> dict[str, list[tuple]]:
    con = build_warehouse(folder, AS_OF)
    out = {}
    for table in ("stg_enrollment_submissions", "stg_enrollment_people",
                  "stg_enrollment_app_requests"):
        cols = [c for (c,) in con.execute(
            "select column_name from information_schema.columns where table_name = ? "
            "order by ordinal_position", [table]).fetchall() if c not in LINEAGE]
        out[table] = sorted(con.execute(f"select {', '.join(cols)} from {table}").fetchall(),
                            key=repr)
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return staged(_write(tmp_path_factory.mktemp("encodings") / "documents",
                         ENCODINGS["documents"]()))


def test_the_reference_reads_the_form_as_written(reference):
    people = {r[2]: r for r in reference["stg_enrollment_people"]}
    assert set(people) == {"ada.lovelace@clinic.example", "grace.hopper@clinic.example",
                           "alan.turing@clinic.example"}
    (sub,) = [s for s in reference["stg_enrollment_submissions"] if s[0] == "CS0000201"]
    assert sub[3] == "Saguaro Family Medicine" and sub[5] is True  # has a representative
    assert sub[8] is True and sub[9] == dt.datetime(2026, 3, 4, 17, 22, 10)


@pytest.mark.parametrize("encoding", [e for e in ENCODINGS if e != "documents"])
def test_every_json_encoding_stages_identical_rows(tmp_path, reference, encoding):
    assert staged(_write(tmp_path / encoding, ENCODINGS[encoding]())) == reference


def test_sponsor_who_administers_is_the_administrator_in_every_encoding(tmp_path):
    for encoding, files in ENCODINGS.items():
        con = build_warehouse(_write(tmp_path / encoding, files()), AS_OF)
        assert con.execute("select admin_email from group_admin_contacts").fetchall() == [
            ("ada.lovelace@clinic.example",)], encoding
        assert con.execute("select count(*) from findings where rule = 'GROUP_ROLES_INVALID'"
                           ).fetchone() == (0,), encoding


MEMBER_LIST_HEADER = ["Request Number", "First Name", "M.I.", "Last Name", "Phone Number",
                      "Email Address", "Title", "Specialty", "Suffix", "Staff Type",
                      "Licensed State", "State License Number", "NPI", "Cerner Millennium",
                      "PACS Synapse", "Report2Web", "Direct Secure Messaging", "Qventus"]


def _member_rows() -> list[list[str]]:
    rows = []
    for p in (SPONSOR, SCHEDULER, BILLER):
        apps = p["applications"]
        rows.append(["CS0000201", p["first_name"], p["middle_initial"], p["last_name"],
                     p["phone"], p["email"], "", "", p["suffix"], p["staff_type"],
                     p.get("licensed_state", ""), p.get("state_license_number", ""),
                     p.get("npi", "")]
                    + ["TRUE" if a in apps else "FALSE"
                       for a in ("Cerner Millennium", "PACS Synapse", "Report2Web",
                                 "Direct Secure Messaging", "Qventus")])
    return rows


PERSON_FIELDS = ("email", "npi", "first_name", "middle_initial", "no_middle_initial",
                 "last_name", "staff_type", "suffix", "licensed_state",
                 "state_license_number", "phone")


def _people_and_apps(folder: Path, member_list_only: bool) -> tuple[set, set]:
    con = build_warehouse(folder, AS_OF)
    where = "where request_type = 'member_list'" if member_list_only else ""
    people = set(con.execute(f"select {', '.join(PERSON_FIELDS)} from stg_enrollment_people "
                             f"{where}").fetchall())
    apps = set(con.execute(f"select email, application from stg_enrollment_app_requests "
                           f"{where}").fetchall())
    return people, apps


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_the_portal_member_list_states_the_same_people(tmp_path, kind):
    folder = tmp_path / kind
    folder.mkdir()
    if kind == "csv":
        with (folder / "members.csv").open("w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(MEMBER_LIST_HEADER)
            w.writerows(_member_rows())
    else:
        wb = openpyxl.Workbook()
        wb.active.append(MEMBER_LIST_HEADER)
        for row in _member_rows():
            wb.active.append(row)
        wb.save(folder / "members.xlsx")
    listed = _people_and_apps(folder, member_list_only=True)
    json_folder = _write(tmp_path / f"json_{kind}", ENCODINGS["documents"]())
    assert listed == _people_and_apps(json_folder, member_list_only=False)
