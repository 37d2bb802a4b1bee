"""Report2Web distribution lists and the Physician Census, on hand-written HL7 sequences."""

from __future__ import annotations

import datetime as dt
import functools
import io

import duckdb
import openpyxl
import pytest

from ccreview.reports.r2w import write_census, write_distribution
from ccreview.transforms.warehouse import connect_warehouse
from tests.cases import AS_OF, Account, Case, days_ago, person
from tests.conftest import SAMPLE, build_warehouse, expected_keys

R2W = {"fax_number": "602.555.0123", "lab_facilities": ["Raymond Medical Center"],
       "alerts": {"Discharged": "fax", "ED/Admitted/OB over 20 weeks": "both"},
       "recipients": ["alan.turing@clinic.example", "stranger@elsewhere.example"],
       "physician_census": True}
ADA = person("Ada", "Lovelace", "Sponsoring Physician", "MD", ("CERNER", "R2W"),
             report2web=R2W)
JOAN = person("Joan", "Clarke", "Provider", "MD", ("CERNER", "R2W"),
              report2web=dict(R2W, recipients=["alan.turing@clinic.example"]))
ALAN = person("Alan", "Turing", "Staff", "Billing", ("CERNER",))
DAY = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)  # the as-of date, 08:00 UTC


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y%m%d%H%M%S+0000")


def _seg(name, fields):
    return name + "|" + "|".join(fields.get(i, "") for i in range(1, max(fields) + 1))


def adt(ctl, event, when, fin, family, pcp_npi, unit="4W", facility="VRMC", admit=None,
        discharge=None, cls="I", phone="", ts=_ts):
    return "\r".join([
        f"MSH|^~\\&|ADT|{facility}|R2W|CC|{ts(when)}||ADT^{event}^ADT_A01|{ctl}|P|2.5.1",
        f"EVN|{event}|{ts(when)}",
        _seg("PID", {1: "1", 3: f"MRN-{fin}", 5: f"{family}^PAT", 7: "19600101", 13: phone,
                     18: fin}),
        _seg("PD1", {4: f"{pcp_npi}^DOC^PCP"}),
        _seg("PV1", {1: "1", 2: cls, 3: f"{unit}^1^A^{facility}", 19: fin,
                     44: ts(admit) if admit else "", 45: ts(discharge) if discharge else ""}),
        "PV2|||^FEVER"])


def _case(messages: list[str]) -> Case:
    case = Case()
    case.register("CS0000001", ADA, None, [JOAN, ALAN])
    case.accounts.append(Account("alan", ALAN["email"], entra_last_success=days_ago(1)))
    case.adt = messages
    return case


def _write(case: Case, folder):
    case.write(folder)
    framed = b"".join(b"\x0b" + m.encode() + b"\r\x1c\r" for m in case.adt)
    (folder / "feed.hl7").write_bytes(framed)
    return folder


def sequence() -> list[str]:
    """A04 -> A01 -> A02 (another facility) -> A08 (PCP changes to Joan) -> A03, shuffled,
    with the transfer sent twice; plus a discharge without admit and an outside PCP."""
    ada, joan = ADA["npi"], JOAN["npi"]
    t = DAY - dt.timedelta(days=4)
    msgs = {
        "reg": adt("M1", "A04", t, "F1", "ALPHA", ada, unit="ED"),
        "admit": adt("M2", "A01", t + dt.timedelta(hours=4), "F1", "ALPHA", ada, admit=t),
        "transfer": adt("M3", "A02", t + dt.timedelta(days=1), "F1", "ALPHA", ada, unit="ICU",
                        facility="DMMC", admit=t),
        "update": adt("M4", "A08", t + dt.timedelta(days=2), "F1", "ALPHA", joan, unit="ICU",
                      facility="DMMC", admit=t),
        "discharge": adt("M5", "A03", DAY + dt.timedelta(hours=2), "F1", "ALPHA", joan,
                         unit="ICU", facility="DMMC", admit=t,
                         discharge=DAY + dt.timedelta(hours=2)),
        "orphan_discharge": adt("M6", "A03", t, "F2", "BETA", ada, discharge=t),
        "outside_pcp": adt("M7", "A01", t, "F3", "GAMMA", "1999999999", admit=t),
    }
    order = ["discharge", "update", "reg", "transfer", "admit", "transfer",
             "orphan_discharge", "outside_pcp"]
    return [msgs[k] for k in order]


@pytest.mark.parametrize(("days_before", "ada", "joan", "where"), [
    (5, [], [], None),                      # before the registration
    (4, ["F1"], [], ("4W", "VRMC")),        # registered then admitted that day
    (3, ["F1"], [], ("ICU", "DMMC")),       # transferred to another facility
    (2, [], ["F1"], ("ICU", "DMMC")),       # A08 made Joan the primary care provider
    (0, [], [], None),                      # discharged on the as-of date
])
def test_census_follows_the_stay_in_event_order(tmp_path, days_before, ada, joan, where):
    as_of = (DAY - dt.timedelta(days=days_before)).date()
    con = build_warehouse(_write(_case(sequence()), tmp_path / "in"), as_of)
    rows = con.execute("select provider_npi, fin, unit, facility from census_patients"
                       ).fetchall()
    assert sorted(f for n, f, *_ in rows if n == ADA["npi"]) == ada
    assert sorted(f for n, f, *_ in rows if n == JOAN["npi"]) == joan
    if where:
        assert {(u, f) for _, _, u, f in rows} == {where}
    cur = con.execute("select * from census_summary")
    summary = dict(zip([d[0] for d in cur.description], cur.fetchall()[0], strict=True))
    assert summary["duplicate_messages"] == 1
    if days_before <= 4:
        assert summary["discharges_without_admit"] == 1
        assert summary["on_census_pcp_not_subscribed"] == 1  # GAMMA: counted, not listed


def test_census_workbooks_with_movements_and_manifest(tmp_path):
    as_of = (DAY - dt.timedelta(days=3)).date()
    con = build_warehouse(_write(_case(sequence()), tmp_path / "in"), as_of)
    written = write_census(con, tmp_path / "out", as_of, password=None)
    names = sorted(p.name for p in written)
    assert names == sorted([f"census_CS0000001_{ADA['npi']}_{as_of}.xlsx",
                            f"census_CS0000001_{JOAN['npi']}_{as_of}.xlsx",
                            "census_manifest.csv"])  # Joan has no patient today: empty
    ada_path = next(p for p in written if ADA["npi"] in p.name)
    joan = openpyxl.load_workbook(next(p for p in written if JOAN["npi"] in p.name))
    assert joan["Census"].max_row == 3  # title, blank, header: no patients
    wb = openpyxl.load_workbook(ada_path)
    census = [r for r in wb["Census"].iter_rows(min_row=4, values_only=True)]
    assert [(r[0], r[3], r[5], r[6]) for r in census] == [("ALPHA", "F1", "DMMC", "ICU")]
    moves = [r[2] for r in wb["Movements"].iter_rows(min_row=2, values_only=True)]
    assert moves == ["Registration", "Admit", "Transfer"]
    manifest = (tmp_path / "out" / "census" / "census_manifest.csv").read_text()
    assert "alan.turing@clinic.example" in manifest
    assert "stranger@elsewhere.example" not in manifest  # not a member: left off


def _census_on_file(tmp_path) -> tuple:
    """(in-memory warehouse, a file holding its census tables, as-of date): two providers'
    workbooks, one with a patient and movements, one empty."""
    as_of = (DAY - dt.timedelta(days=3)).date()
    con = build_warehouse(_write(_case(sequence()), tmp_path / "in"), as_of)
    path = tmp_path / "census_tables.duckdb"
    con.execute(f"attach '{path}' as f")
    for table in ("census_providers", "census_patients", "census_movements"):
        con.execute(f"create table f.{table} as select * from {table}")
    con.execute("detach f")
    return con, path, as_of


def test_a_long_census_shared_with_a_second_process_writes_the_same_workbooks(
        tmp_path, monkeypatch):
    """Without a pool, a long census shard is shared with a spawned process that opens the
    warehouse itself: every workbook is written, byte for byte as by one process."""
    from ccreview.reports import r2w

    con, path, as_of = _census_on_file(tmp_path)
    one = write_census(con, tmp_path / "one", as_of, password=None)
    monkeypatch.setattr(r2w, "CENSUS_HELPER_BOOKS", 2)
    helper = tmp_path / "two"
    r2w.prepare_census(helper)
    n = r2w.write_census_shard(con, helper, as_of, None, 0, 1,
                               functools.partial(connect_warehouse, str(path), read_only=True))
    two = r2w.finish_census(con, helper, as_of, None)
    assert n == 2 and len(one) == len(two) == 3  # two workbooks and the manifest
    assert [(p.name, p.read_bytes()) for p in one] == [(p.name, p.read_bytes()) for p in two]


def test_a_census_helper_that_fails_fails_the_shard(tmp_path, monkeypatch):
    """The second process's failure (here: it cannot open the warehouse) is the shard's:
    raised, not a census missing the workbooks it was to write."""
    from ccreview.reports import r2w

    con, _, as_of = _census_on_file(tmp_path)
    monkeypatch.setattr(r2w, "CENSUS_HELPER_BOOKS", 2)
    r2w.prepare_census(tmp_path / "out")
    with pytest.raises(duckdb.Error):
        r2w.write_census_shard(con, tmp_path / "out", as_of, None, 0, 1, functools.partial(
            connect_warehouse, str(tmp_path / "absent.duckdb"), read_only=True))


def test_two_readers_of_one_warehouse_in_one_process_both_see_its_patients(tmp_path):
    """Render threads each open the warehouse read-only; DuckDB gives them one database,
    attachments included: the patient database is attached once, and both read it."""
    import threading

    from ccreview.core.patient_data import patient_data_path

    warehouse = tmp_path / "warehouse.duckdb"
    with connect_warehouse(warehouse) as con:  # a warehouse and its patient database
        con.execute("create table census_providers as select 1 as n")
        con.execute("create table phi.census_patients as select 'ALPHA' as family")
    assert patient_data_path(warehouse).exists()
    seen: list = []
    errors: list = []
    start = threading.Barrier(4)

    def read() -> None:
        try:
            start.wait()
            with connect_warehouse(warehouse, read_only=True) as con:
                seen.append(con.execute("select family from census_patients").fetchall())
                start.wait()  # all four open at once
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and seen == [[("ALPHA",)]] * 4


def test_another_warehouse_s_patient_database_is_not_taken_for_this_one(tmp_path):
    """A connection that already has a patient database attached (another warehouse's)
    is refused, not read as this warehouse's patients."""
    from ccreview.core.patient_data import attach_patient_data

    with connect_warehouse(tmp_path / "other.duckdb"):
        pass  # its patient database exists
    con = duckdb.connect(str(tmp_path / "mine.duckdb"))
    attach_patient_data(con, tmp_path / "other.duckdb")
    with pytest.raises(RuntimeError, match="not this warehouse's"):
        attach_patient_data(con, tmp_path / "mine.duckdb")


def test_encrypted_census_opens_with_the_password_only(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    as_of = (DAY - dt.timedelta(days=3)).date()
    con = build_warehouse(_write(_case(sequence()), tmp_path / "in"), as_of)
    path = next(p for p in write_census(con, tmp_path / "out", as_of,
                                        password="correct horse") if ADA["npi"] in p.name)
    with pytest.raises(Exception):  # noqa: B017 - any failure to open is the point
        openpyxl.load_workbook(path)
    with path.open("rb") as fh:
        office = OOXMLFile(fh)
        assert office.is_encrypted()
        with pytest.raises(Exception):  # noqa: B017
            office.load_key(password="wrong")
            office.decrypt(io.BytesIO())
    with path.open("rb") as fh:
        office = OOXMLFile(fh)
        office.load_key(password="correct horse")
        plain = io.BytesIO()
        office.decrypt(plain)
    assert openpyxl.load_workbook(plain)["Census"]["A4"].value == "ALPHA"


def test_password_comes_from_the_environment_or_a_secret_file(tmp_path, monkeypatch):
    from ccreview.core.errors import UsageError
    from ccreview.reports.r2w import census_password

    monkeypatch.delenv("CCREVIEW_CENSUS_PASSWORD", raising=False)
    monkeypatch.delenv("CCREVIEW_CENSUS_PASSWORD_FILE", raising=False)
    assert census_password() is None
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("CCREVIEW_CENSUS_PASSWORD_FILE", str(secret))
    assert census_password() == "from-a-file"
    secret.write_text("")
    with pytest.raises(UsageError) as exc:
        census_password()
    assert "from-a-file" not in str(exc.value)


def test_distribution_list_leaves_invalid_recipients_off(tmp_path):
    con = build_warehouse(_write(_case([]), tmp_path / "in"), AS_OF)
    rows = con.execute("select provider_email, alert, delivery_method, fax_number, "
                       "email_recipients, recipients_left_off, distributed "
                       "from r2w_distribution order by all").fetchall()
    ada = [r for r in rows if r[0] == ADA["email"]]
    assert ada == [
        (ADA["email"], "Discharged", "fax", "602-555-0123", None, 1, True),
        (ADA["email"], "ED/Admitted/OB over 20 weeks", "both", "602-555-0123",
         "alan.turing@clinic.example", 1, True)]
    written = write_distribution(con, tmp_path / "out", AS_OF)
    assert {p.name for p in written} == {"r2w_distribution.csv",
                                         "r2w_distribution_2026-11-01.xlsx"}


@pytest.mark.parametrize(("entered", "method"), [
    ("E-mail", "email"), (" Email ", "email"), ("FAX", "fax"), ("Both", "both"),
    ("Fax and E-mail", "both"), ("fax & email", "both"), ("Fax/Email", "both"),
    (["fax", "email"], "both"), (["fax"], "fax")])
def test_a_delivery_method_as_people_write_it(tmp_path, entered, method):
    """The form's choice per alert (fax, email or both) as it is typed or exported: the
    same method, not "an alert without a delivery method" (APP_DETAILS_MISSING) and an
    email alert that reaches nobody."""
    ada = dict(ADA, report2web=dict(R2W, alerts={"Discharged": entered}))
    case = Case()
    case.register("CS0000001", ada, None, [JOAN, ALAN])
    case.accounts.append(Account("alan", ALAN["email"], entra_last_success=days_ago(1)))
    case.adt = []
    con = build_warehouse(_write(case, tmp_path / "in"), AS_OF)
    assert con.execute("select delivery_method, email_recipients is not null "
                       "from r2w_distribution where provider_email = ?", [ADA["email"]]
                       ).fetchall() == [(method, method != "fax")]
    assert con.execute("select detail from findings where rule = 'APP_DETAILS_MISSING' "
                       "and email = ?", [ADA["email"]]).fetchall() == []


def test_no_distribution_without_an_active_daa(tmp_path):
    case = Case()
    case.register("CS0000001", ADA, None, [JOAN, ALAN], daa=False)
    case.adt = []
    con = build_warehouse(_write(case, tmp_path / "in"), AS_OF)
    reasons = {r for (r,) in con.execute("select not_distributed_reason from r2w_distribution"
                                         ).fetchall()}
    assert reasons == {"no distribution: the group's DAA is none"}


def test_sample_distribution_matches_the_ground_truth(sample_warehouse):
    invalid = expected_keys(SAMPLE, {"R2W_RECIPIENT_INVALID"})
    rows = sample_warehouse.execute(
        "select request_number, email_recipients from r2w_distribution "
        "where email_recipients is not null").fetchall()
    listed = {(rn, e) for rn, emails in rows for e in emails.split("; ")}
    assert listed and not {(rn, e) for _, rn, e, _ in invalid} & listed
    left_off = sample_warehouse.execute(
        "select request_number, recipient_email from int_r2w_recipients "
        "where problem is not null").fetchall()
    assert set(left_off) == {(rn, e) for _, rn, e, _ in invalid}


def test_a_patient_named_like_a_formula_stays_text(tmp_path):
    payload = '=HYPERLINK("http://x.example","y")'
    t = DAY - dt.timedelta(days=1)
    folder = _write(_case([adt("P1", "A01", t, "F9", payload, ADA["npi"], admit=t)]),
                    tmp_path / "in")
    con = build_warehouse(folder, AS_OF)
    written = write_census(con, tmp_path / "out", AS_OF, None)
    book = next(p for p in written if ADA["npi"] in p.name)
    texts = []
    for ws in openpyxl.load_workbook(book):
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}"
                texts.append(cell.value)
    assert payload in texts


# -- scope: the patient class decides, whatever the message type ---------------------------

def _visits(*steps) -> list[str]:
    """(fin, [(event, class), ...]) -> messages an hour apart, three days before DAY."""
    msgs, n = [], 0
    for fin, events in steps:
        t = DAY - dt.timedelta(days=3)
        for event, cls in events:
            n += 1
            unit = "ED" if cls == "E" else "CLINIC" if cls in "OPR" else "4W"
            msgs.append(adt(f"S{n}", event, t, fin, "PATIENT", ADA["npi"], unit=unit, cls=cls,
                            admit=DAY - dt.timedelta(days=3),
                            discharge=t if event == "A03" else None))
            t += dt.timedelta(hours=1)
    return msgs


def test_census_scope_is_the_patient_class_whatever_the_message(tmp_path):
    messages = _visits(
        ("CLINIC", [("A04", "O")]),                      # a clinic visit: never
        ("ED", [("A04", "E")]),                          # in the ED
        ("ADMITTED", [("A04", "E"), ("A01", "I")]),      # ED, then admitted
        ("OB", [("A01", "B")]),                          # obstetrics: admitted
        ("PREADMIT", [("A01", "P")]),                    # pre-admission: never
        ("RECURRING", [("A04", "R"), ("A08", "R")]),     # recurring therapy: never
        ("OBSERVATION", [("A01", "O")]),                 # admitted as an outpatient: never
        ("DOWNGRADED", [("A01", "I"), ("A08", "O")]),    # class changed to outpatient
        ("UPGRADED", [("A04", "O"), ("A08", "E")]),      # clinic visit sent on to the ED
        ("TRANSFERRED", [("A02", "I")]),                 # admitted before the feed began
        ("DISCHARGED", [("A01", "I"), ("A03", "I")]),    # gone home
        ("OUTPATIENT_TRANSFER", [("A02", "O")]),         # a transfer of a clinic visit
    )
    con = build_warehouse(_write(_case(messages), tmp_path / "in"), DAY.date())
    rows = dict(con.execute("select fin, visit_state from census_patients").fetchall())
    assert rows == {"ED": "ED", "ADMITTED": "admitted", "OB": "admitted",
                    "UPGRADED": "ED", "TRANSFERRED": "admitted"}
    summary = con.execute("select visits_out_of_scope from census_summary").fetchone()
    assert summary == (6,)


def test_cancellations_pre_admits_and_class_changes_follow_the_visit(tmp_path):
    """The events a Cerner ADT feed sends besides admit, transfer, discharge, registration
    and update: a cancelled discharge (A13) puts the patient back on the census; a cancelled
    admission or visit (A11) takes it off (no patient data for an encounter that did not
    happen); a pre-admit (A05) is not there yet; A06/A07 change the class. None of them is
    quarantined, and the Movements sheet names them."""
    messages = _visits(
        ("BACK", [("A01", "I"), ("A03", "I"), ("A13", "I")]),
        ("GONE_AGAIN", [("A01", "I"), ("A03", "I"), ("A13", "I"), ("A03", "I")]),
        ("CANCELLED", [("A01", "I"), ("A11", "I")]),
        ("CANCELLED_ED", [("A04", "E"), ("A11", "E")]),
        ("READMITTED", [("A01", "I"), ("A11", "I"), ("A01", "I")]),
        ("PREADMITTED", [("A05", "I")]),
        ("ARRIVED", [("A05", "P"), ("A01", "I")]),
        ("TO_INPATIENT", [("A04", "O"), ("A06", "I")]),
        ("TO_OUTPATIENT", [("A01", "I"), ("A07", "O")]),
        ("TRANSFER_UNDONE", [("A01", "I"), ("A02", "I"), ("A12", "I")]),
    )
    con = build_warehouse(_write(_case(messages), tmp_path / "in"), DAY.date())
    assert con.execute("select count(*) from quarantine where table_name = 'adt_events'"
                       ).fetchone() == (0,)
    rows = dict(con.execute("select fin, visit_state from census_patients").fetchall())
    assert rows == dict.fromkeys(
        ["BACK", "READMITTED", "ARRIVED", "TO_INPATIENT", "TRANSFER_UNDONE"], "admitted")
    states = dict(con.execute("select fin, visit_state from int_adt_visits "
                              "where not on_census").fetchall())
    assert states == {"GONE_AGAIN": "discharged", "CANCELLED": "cancelled",
                      "CANCELLED_ED": "cancelled", "PREADMITTED": "pre-admitted",
                      "TO_OUTPATIENT": "out of census scope"}
    assert con.execute("select visits_cancelled, visits_pre_admitted, visits_out_of_scope "
                       "from census_summary").fetchone() == (2, 1, 1)
    written = write_census(con, tmp_path / "out", DAY.date(), password=None)
    book = next(p for p in written if ADA["npi"] in p.name)
    sheet = openpyxl.load_workbook(book, read_only=True)["Movements"]
    events = {(r[0], r[2]) for r in sheet.iter_rows(values_only=True)}
    assert {("BACK", "Discharge cancelled"), ("TO_INPATIENT", "Changed to inpatient"),
            ("TRANSFER_UNDONE", "Transfer cancelled"), ("READMITTED", "Admit or visit "
            "cancelled")} <= events


def test_a_deleted_visit_and_a_cancelled_pre_admit_leave_the_census(tmp_path):
    """A hospital deletes an encounter created in error with an A23 (delete a patient
    record: the visit's information), and cancels a pre-admission with an A38: neither
    encounter happened, so no patient data of it may reach a census (minimum necessary).
    Before, both messages were quarantined as events the census does not use, and the
    deleted visit stayed on its provider's census. A visit admitted again after a deletion
    is back, and its Movements sheet names the deletion."""
    messages = _visits(
        ("DELETED", [("A01", "I"), ("A23", "I")]),
        ("DELETED_ED", [("A04", "E"), ("A23", "E")]),
        ("PREADMIT_CANCELLED", [("A05", "I"), ("A38", "I")]),
        ("ADMITTED_AGAIN", [("A01", "I"), ("A23", "I"), ("A01", "I")]),
        ("STAYS", [("A01", "I")]),
    )
    con = build_warehouse(_write(_case(messages), tmp_path / "in"), DAY.date())
    assert con.execute("select count(*) from quarantine where table_name = 'adt_events'"
                       ).fetchone() == (0,)
    rows = dict(con.execute("select fin, visit_state from census_patients").fetchall())
    assert rows == {"ADMITTED_AGAIN": "admitted", "STAYS": "admitted"}
    states = dict(con.execute("select fin, visit_state from int_adt_visits "
                              "where not on_census").fetchall())
    assert states == dict.fromkeys(["DELETED", "DELETED_ED", "PREADMIT_CANCELLED"],
                                   "cancelled")
    written = write_census(con, tmp_path / "out", DAY.date(), password=None)
    book = next(p for p in written if ADA["npi"] in p.name)
    sheets = openpyxl.load_workbook(book, read_only=True)
    listed = {r[3] for r in sheets["Census"].iter_rows(values_only=True) if len(r) > 3}
    assert {"ADMITTED_AGAIN", "STAYS"} <= listed  # (column D: the FIN)
    assert not {"DELETED", "DELETED_ED", "PREADMIT_CANCELLED"} & listed
    events = {(r[0], r[2]) for r in sheets["Movements"].iter_rows(values_only=True)}
    assert ("ADMITTED_AGAIN", "Visit deleted") in events


def test_a_discharge_time_on_an_update_takes_the_visit_off_the_census(tmp_path):
    """A feed whose discharge (A03) was lost, or that reports the discharge on an update
    (A08 or a transfer carrying PV1-45), has still discharged the patient: patient data for
    that visit must not reach a census (minimum necessary). A later cancelled discharge
    (A13) puts the patient back; an update without PV1-45 after an A03 says nothing."""
    t0 = DAY - dt.timedelta(days=3)
    h = dt.timedelta(hours=1)

    def msg(ctl, event, n, fin, discharge=None):
        return adt(ctl, event, t0 + n * h, fin, "PATIENT", ADA["npi"], admit=t0,
                   discharge=discharge)

    messages = [
        msg("U1", "A01", 0, "UPDATED_OUT"), msg("U2", "A08", 1, "UPDATED_OUT", t0 + h),
        msg("T1", "A01", 0, "MOVED_OUT"), msg("T2", "A02", 1, "MOVED_OUT", t0 + h),
        msg("B1", "A01", 0, "BACK"), msg("B2", "A08", 1, "BACK", t0 + h),
        msg("B3", "A13", 2, "BACK"),
        msg("G1", "A01", 0, "GONE"), msg("G2", "A03", 1, "GONE", t0 + h),
        msg("G3", "A08", 2, "GONE"),
        msg("S1", "A01", 0, "STAYING"), msg("S2", "A08", 1, "STAYING"),
    ]
    con = build_warehouse(_write(_case(messages), tmp_path / "in"), DAY.date())
    rows = dict(con.execute("select fin, visit_state from int_adt_visits").fetchall())
    assert rows == {"UPDATED_OUT": "discharged", "MOVED_OUT": "discharged",
                    "BACK": "admitted", "GONE": "discharged", "STAYING": "admitted"}
    assert {r[0] for r in con.execute("select fin from census_patients").fetchall()} == {
        "BACK", "STAYING"}



def test_the_census_date_ends_at_midnight_on_the_hospitals_clock(tmp_path):
    """The census as of 1 November lists the patients admitted by the end of that day in
    Phoenix (UTC-7): an admission at 19:00 Phoenix time is 02:00 UTC on the 2nd and was
    left off a census run that evening; one at 01:00 on the 2nd, Phoenix time, is not
    on it."""
    evening = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.UTC)    # 19:00 on the 1st, Phoenix
    next_day = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)   # 01:00 on the 2nd, Phoenix
    messages = [adt("E1", "A01", evening, "EVENING", "PATIENT", ADA["npi"], admit=evening),
                adt("N1", "A01", next_day, "NEXT_DAY", "PATIENT", ADA["npi"], admit=next_day)]
    con = build_warehouse(_write(_case(messages), tmp_path / "in"), DAY.date())
    assert [r[0] for r in con.execute("select fin from census_patients").fetchall()] == [
        "EVENING"]
    assert con.execute("select as_of_end_ts from run_parameters").fetchone() == (
        dt.datetime(2026, 11, 2, 7, 0),)

# -- times and structured fields as the feeds send them ------------------------------------

def test_hl7_times_with_and_without_offsets_mean_the_same_instant(tmp_path):
    """PV1-44 written three ways for the same instant, 2026-10-31 18:55 UTC: with +0000,
    on the hospital's clock with -0700, and on the hospital's clock without an offset
    (read in the feed's zone, America/Phoenix)."""
    styles = {"UTC": lambda t: t.strftime("%Y%m%d%H%M%S+0000"),
              "OFFSET": lambda t: (t - dt.timedelta(hours=7)).strftime("%Y%m%d%H%M%S-0700"),
              "LOCAL": lambda t: (t - dt.timedelta(hours=7)).strftime("%Y%m%d%H%M%S")}
    admit = dt.datetime(2026, 10, 31, 18, 55)
    messages = [adt(f"T{fin}", "A01", admit, fin, "PATIENT", ADA["npi"], admit=admit, ts=ts)
                for fin, ts in styles.items()]
    con = build_warehouse(_write(_case(messages), tmp_path / "in"), DAY.date())
    rows = dict(con.execute("select fin, admit_at from census_patients").fetchall())
    assert rows == dict.fromkeys(styles, admit)
    events = dict(con.execute("select fin, event_at from stg_adt_events").fetchall())
    assert events == dict.fromkeys(styles, admit)


@pytest.mark.parametrize(("pid13", "phone"), [
    ("^PRN^PH^^1^480^5550111", "(480) 555-0111"),   # structured XTN: area code + number
    ("(602)555-0123^PRN^PH", "(602)555-0123"),      # the formatted number, component 1
])
def test_patient_phone_from_a_structured_xtn(tmp_path, pid13, phone):
    t = DAY - dt.timedelta(days=1)
    messages = [adt("P1", "A01", t, "F1", "PATIENT", ADA["npi"], admit=t, phone=pid13)]
    con = build_warehouse(_write(_case(messages), tmp_path / "in"), DAY.date())
    assert con.execute("select patient_phone from census_patients").fetchall() == [(phone,)]


@pytest.mark.flow
def test_password_may_come_from_a_prefect_secret_block(prefect_harness, tmp_path,
                                                       monkeypatch):
    """The config names a Secret block (kept encrypted by the Prefect server); the census
    run reads it and encrypts every workbook with it. A block that is not there is one line
    naming it."""
    from msoffcrypto.format.ooxml import OOXMLFile
    from prefect.blocks.system import Secret

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import daily_census
    from ccreview.reports.r2w import census_password

    monkeypatch.delenv("CCREVIEW_CENSUS_PASSWORD", raising=False)
    monkeypatch.delenv("CCREVIEW_CENSUS_PASSWORD_FILE", raising=False)
    Secret(value="staple battery").save("ccreview-census-test", overwrite=True)
    assert census_password("ccreview-census-test") == "staple battery"
    with pytest.raises(UsageError) as exc:
        census_password("no-such-block")
    assert "no-such-block" in str(exc.value) and "\n" not in str(exc.value)
    config = tmp_path / "review.toml"
    config.write_text('[census]\npassword_secret = "ccreview-census-test"\n', encoding="utf-8")
    out = tmp_path / "out"
    daily_census(str(SAMPLE), str(out), "2026-11-01", str(config))
    workbooks = sorted((out / "census").glob("census_CS*.xlsx"))
    assert workbooks
    for path in workbooks:
        with path.open("rb") as fh:
            office = OOXMLFile(fh)
            assert office.is_encrypted()
            office.load_key(password="staple battery")
            office.decrypt(io.BytesIO())
    assert "staple battery" not in (out / "run_manifest.json").read_text(encoding="utf-8")
