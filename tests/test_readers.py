"""Every input format is read as the real tool writes it; bad files fail cleanly."""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import pytest

from ccreview.contracts.readers import read_input_file
from ccreview.core.errors import UnreadableInputError

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", ["ad_ps51_utf8bom.csv", "ad_ps51_utf16.csv",
                                  "ad_ps7_asneeded.csv"])
def test_active_directory_exports_of_both_powershell_flavours(name):
    rec = read_input_file(FIXTURES / name)
    assert rec.format == "active-directory-csv"
    rows = rec.result.rows["directory_accounts"]
    assert not rec.result.issues
    jane, rick = rows
    assert jane["sam_account_name"] == "jdoe"
    assert jane["user_principal_name"] == "jdoe@ccpartners.examplehealth.org"
    assert jane["mail"] == "Jane.Doe@DesertFM.example"
    assert jane["enabled"] is True and rick["enabled"] is False
    # 9:03:12 AM on the exporting host's clock (America/Phoenix, UTC-7), stored as UTC
    assert jane["created_at"] == dt.datetime(2023, 1, 15, 16, 3, 12)
    assert jane["last_logon_at"] == dt.datetime(2023, 1, 15, 9, 3, 12)
    assert jane["account_expires_at"] is None  # 9223372036854775807 = never
    assert rick["last_logon_at"] is None and rick["account_expires_at"] is None  # 0 = never
    assert rick["created_at"] == dt.datetime(2025, 1, 1, 6, 59, 59)  # 11:59:59 PM, UTC-7
    assert rick["mail"] is None
    # physical line numbers: the #TYPE line counts in 5.1 files
    first_line = 3 if "ps51" in name else 2
    assert [r["source_line"] for r in rows] == [first_line, first_line + 1]


def test_entra_graph_pages_and_never_sentinels():
    page1 = read_input_file(FIXTURES / "entra_users_page_1.json")
    page2 = read_input_file(FIXTURES / "entra_users_page_2.json")
    assert page1.format == page2.format == "entra-graph-json"
    (jane,) = page1.result.rows["entra_users"]
    # the successful sign-in counts, not the later failed attempt
    assert jane["last_successful_sign_in_at"] == dt.datetime(2026, 6, 1, 14, 22, 5)
    assert jane["last_sign_in_at"] == dt.datetime(2026, 10, 30, 8, 0, 0)
    rick, never = page2.result.rows["entra_users"]
    assert rick["last_successful_sign_in_at"] is None and rick["enabled"] is False
    assert never["last_successful_sign_in_at"] is None and never["last_sign_in_at"] is None


def test_graph_and_docusign_fields_given_as_objects_are_no_text(tmp_path):
    """A field that arrives as an object or a list (an export that expanded a property the
    reader takes as text) is empty, not the object's Python spelling; text keeps no NUL."""
    import json

    users = tmp_path / "users.json"
    users.write_text(json.dumps({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": [{"id": "1", "userPrincipalName": " jdoe@ccpartners.example\u0000 ",
                   "mail": {"address": "jdoe@example.org"}, "department": ["Billing"],
                   "accountEnabled": True}]}))
    (row,) = read_input_file(users).result.rows["entra_users"]
    assert row["user_principal_name"] == "jdoe@ccpartners.example"
    assert row["mail"] is None and row["department"] is None

    envelope = tmp_path / "envelopes.json"
    envelope.write_text(json.dumps({"envelopes": [{
        "envelopeId": "e-1", "status": "completed", "emailSubject": "DAA CS0000001",
        "statusChangedDateTime": "2026-10-01T10:00:00Z",
        "recipients": {"signers": [{"roleName": "Sponsoring Physician",
                                    "name": {"first": "Ada"}, "email": " ada@example.org ",
                                    "status": "completed"}]}}]}))
    read = read_input_file(envelope)
    (signer,) = read.result.rows["daa_recipients"]
    assert signer["name"] is None and signer["email"] == "ada@example.org"


def test_enrollment_single_document():
    rec = read_input_file(FIXTURES / "enrollment_single.json")
    assert rec.format == "enrollment-json"
    people = rec.result.rows["enrollment_people"]
    assert [(p["form_section"], p["staff_type"], p["is_group_admin"]) for p in people] == [
        ("sponsoring_physician", "Sponsoring Physician", False),
        ("group_administrator", "Group Administrator", True),
        ("members", "Staff", False)]
    apps = {(a["email"], a["application"]) for a in rec.result.rows["enrollment_app_requests"]}
    assert apps == {("TDoctor@test.example", "CERNER"), ("TDoctor@test.example", "PACS"),
                    ("TDoctor@test.example", "R2W"), ("carola@test.example", "CERNER"),
                    ("carola@test.example", "PACS"), ("matt.hall@test.example", "CERNER")}


def test_servicenow_table_api_with_display_values():
    rec = read_input_file(FIXTURES / "enrollment_servicenow.json")
    subs = rec.result.rows["enrollment_submissions"]
    assert [(s["request_number"], s["request_type"]) for s in subs] == [
        ("CS0001023", "add_members"), ("CS0001024", "remove_members")]
    added, removed = rec.result.rows["enrollment_people"]
    assert added["first_name"] == "Michelle" and added["suffix"] == "Surgery Scheduler"
    assert added["no_middle_initial"] is True and added["action"] == "add"
    assert removed["action"] == "remove" and removed["email"] == "matt.hall@test.example"
    apps = [a["application"] for a in rec.result.rows["enrollment_app_requests"]]
    assert apps == ["CERNER", "PACS", "QVENTUS"]


def test_docusign_envelopes_link_by_custom_field_or_subject():
    rec = read_input_file(FIXTURES / "docusign_envelopes.json")
    envs = rec.result.rows["daa_envelopes"]
    assert [(e["request_number"], e["status"]) for e in envs] == [
        ("CS0001022", "completed"), ("CS0001099", "declined")]
    assert len(rec.result.rows["daa_recipients"]) == 3


def test_application_user_list_accepts_display_names_and_bool_spellings():
    rec = read_input_file(FIXTURES / "application_users.csv")
    rows = rec.result.rows["application_accounts"]
    assert [(r["application"], r["active"]) for r in rows] == [
        ("CERNER", True), ("R2W", True), ("PACS", False)]
    assert rows[1]["last_access_at"] is None


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "empty"),
    (b"   \r\n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b'{"result": [{"request_number": "CS0001022", "request_ty', "JSON"),
    (b"\xff\xfe\x00\xd8", "UTF-16"),
    # (not UTF-8, and 0x81 is no Windows-1252 character either)
    (b"name,mail\r\nJos\x81,x@y.example\r\n", "encoding"),
    # a UTF-8 byte order mark, then no UTF-8: damaged, not another encoding
    (b"\xef\xbb\xbfname,mail\r\nJos\xe9,x@y.example\r\n", "encoding"),
])
def test_unreadable_files_raise_one_clear_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableInputError) as exc:
        read_input_file(path)
    assert str(path) in str(exc.value)
    assert reason.lower() in str(exc.value).lower()
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(("body", "reason"), [
    # Graph, as `Invoke-RestMethod ... | ConvertTo-Json` or `curl -o` saves a refused call
    ({"error": {"code": "Authorization_RequestDenied",
                "message": "Insufficient privileges to complete the operation.",
                "innerError": {"date": "2026-11-30T08:00:00", "request-id": "5a1c"}}},
     "a Microsoft Graph API error response (Authorization_RequestDenied)"),
    ({"errorCode": "USER_AUTHENTICATION_FAILED",
      "message": "One or both of Username and Password are invalid."},
     "a DocuSign API error response (USER_AUTHENTICATION_FAILED)"),
    ({"error": {"message": "User Not Authenticated",
                "detail": "Required to provide Auth information"}, "status": "failure"},
     "a ServiceNow API error response saved"),
    # a message that quotes what was asked for is not repeated
    ({"error": {"code": "Request_ResourceNotFound",
                "message": "Resource 'ann.lee@cc.example.org' does not exist."}},
     "a Microsoft Graph API error response (Request_ResourceNotFound)"),
])
def test_an_api_error_saved_as_an_export_is_unreadable_and_says_so(tmp_path, body, reason):
    """A script that saved the body of a failed call in place of the export: the data is
    missing, not of an unknown shape, so the file is unreadable (which stops the run)
    rather than unrecognised (which does not); the reason names the service and its error
    code, never the message."""
    import json

    path = tmp_path / "users_page_001.json"
    path.write_text(json.dumps(body))
    with pytest.raises(UnreadableInputError) as exc:
        read_input_file(path)
    assert reason in exc.value.reason
    assert "ann.lee" not in str(exc.value) and "Password" not in str(exc.value)
    # JSON of a shape no reader knows, that is no error response, stays unrecognised
    path.write_text(json.dumps({"error_count": 0, "items": [{"name": "x"}]}))
    assert read_input_file(path).format == "unrecognised"


@pytest.mark.parametrize("page", [
    "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Sign in to your account</title>",
    "\ufeff  <HTML><BODY><H1>502 Bad Gateway</H1></BODY></HTML>",
])
def test_a_web_page_saved_as_an_export_is_unreadable(tmp_path, page):
    """A browser download after the session expired saves the sign-in page under the
    export's name; a proxy, its error page. Unreadable (the run stops), not unrecognised."""
    path = tmp_path / "cerner_users.csv"
    path.write_text(page, encoding="utf-8")
    with pytest.raises(UnreadableInputError) as exc:
        read_input_file(path)
    assert "an HTML page" in exc.value.reason


def test_exports_saved_in_windows_1252_are_read_as_such(tmp_path):
    """Excel's "CSV (Comma delimited)" and Windows PowerShell's `Export-Csv -Encoding
    Default` write Windows-1252: one accented name made a whole directory export (or
    sign-in log) unreadable, and its accounts left the review. Read as Windows-1252, the
    same rows as the UTF-8 file, and the file's note says how it was read."""
    import duckdb

    from ccreview.contracts.ingest import ingest_inputs, validate_ingested
    from tests.conftest import SAMPLE

    ad = (SAMPLE / "directory" / "ad_users_ps7.csv").read_text(encoding="utf-8-sig")
    log = (FIXTURES / "entra_sign_ins.csv").read_text(encoding="utf-8-sig")
    assert "Gerald" in ad and "Jane Doe" in log and "\u00e9" not in ad + log
    # (an accent in a column the log's load keeps: DuckDB checks the encoding of those)
    ad = ad.replace("Gerald", "G\u00e9rald")
    log = log.replace("Jane Doe", "Ana Ram\u00edrez").replace(
        "Clinical Connectivity Workspace", "Espace sant\u00e9")
    tables = {}
    for encoding in ("utf-8", "cp1252"):
        folder = tmp_path / encoding
        folder.mkdir()
        (folder / "ad.csv").write_bytes(ad.encode(encoding))
        (folder / "signins.csv").write_bytes(log.encode(encoding))
        con = duckdb.connect()
        files = {f.source_file: f for f in ingest_inputs(folder, con)}
        validate_ingested(con)
        assert [f.status for f in files.values()] == ["read", "read"]
        tables[encoding] = (
            con.execute("select * exclude (source_file) from raw_directory_accounts "
                        "order by all").fetchall(),
            con.execute("select * exclude (source_file) from raw_sign_in_events "
                        "order by all").fetchall(),
            con.execute("select table_name, source_line, column_name, rule from quarantine "
                        "order by all").fetchall())
        notes = {name: f.note for name, f in files.items()}
    assert tables["cp1252"] == tables["utf-8"]
    assert any("G\u00e9rald" in r for r in tables["cp1252"][0])  # the given name, decoded
    assert notes == {"ad.csv": "not UTF-8: read as Windows-1252 text, as Excel's \"CSV "
                               "(Comma delimited)\" and Export-Csv -Encoding Default save it",
                     "signins.csv": "not UTF-8: read as Latin-1 (ISO 8859-1) text; the "
                                    "columns used (user, application, time, result) are the "
                                    "same in Windows-1252"}
    # Windows-1252's own characters (0x80-0x9F) in a sign-in log: DuckDB refuses the file,
    # one line naming it; nothing misread
    folder = tmp_path / "euro"
    folder.mkdir()
    (folder / "signins.csv").write_bytes(
        log.replace("Espace sant\u00e9", "Espace \u20acuro").encode("cp1252"))
    con = duckdb.connect()
    (f,) = ingest_inputs(folder, con)
    assert (f.status, f.note) == ("unreadable", "not readable as CSV (InvalidInputException)")


def test_tab_separated_exports_read_as_the_comma_separated_ones(tmp_path):
    """Excel's "Unicode Text" (UTF-16, tab-separated) and `Export-Csv -Delimiter "`t"`:
    a tab-separated AD export or sign-in log was one column wide, and so unrecognised."""
    import csv as csv_module

    import duckdb

    from ccreview.contracts.ingest import ingest_inputs, validate_ingested
    from tests.conftest import SAMPLE

    def rows_of(folder):
        con = duckdb.connect()
        files = ingest_inputs(folder, con)
        validate_ingested(con)
        assert {f.status for f in files} == {"read"}, [(f.source_file, f.note) for f in files]
        return [con.execute(f"select * exclude (source_file) from raw_{t} order by all"
                            ).fetchall() for t in ("directory_accounts", "sign_in_events")]

    sources = {"ad.csv": SAMPLE / "directory" / "ad_users_ps7.csv",
               "signins.csv": FIXTURES / "entra_sign_ins.csv"}
    commas, tabs = tmp_path / "commas", tmp_path / "tabs"
    for folder in (commas, tabs):
        folder.mkdir()
    for name, source in sources.items():
        shutil.copy(source, commas / name)
        with source.open(encoding="utf-8-sig", newline="") as fh:
            table = list(csv_module.reader(fh))
        buf = io.StringIO(newline="")
        csv_module.writer(buf, delimiter="\t").writerows(table)
        # the directory export as Excel's "Unicode Text", the log as UTF-8
        (tabs / name).write_text(buf.getvalue(),
                                 encoding="utf-16" if name == "ad.csv" else "utf-8")
    assert rows_of(tabs) == rows_of(commas)


def test_a_user_list_with_a_title_above_its_header(tmp_path):
    """An application's user list saved from its admin console's report: a title, the
    export date and a blank row above the header, a total below the rows. It was
    'unrecognised' and its accounts left out of the review; the rows are now read with the
    line they are on, the title said in the note, the total quarantined."""
    import csv as csv_module

    import openpyxl

    from ccreview.contracts.readers import sniff_kinds
    from tests.conftest import SAMPLE

    with (SAMPLE / "applications" / "cerner_users.csv").open(encoding="utf-8-sig") as fh:
        table = list(csv_module.reader(fh))
    plain = read_input_file(SAMPLE / "applications" / "cerner_users.csv")
    title = [["Cerner Millennium user list"], ["Exported 10/31/2026 by the Cerner team"], []]
    wb = openpyxl.Workbook()
    for row in [*title, *table, [], ["Total users", str(len(table) - 1)]]:
        wb.active.append(row)
    wb.save(tmp_path / "cerner.xlsx")
    with (tmp_path / "cerner.csv").open("w", encoding="utf-8", newline="") as fh:
        csv_module.writer(fh).writerows([*title, *table])
    for name in ("cerner.xlsx", "cerner.csv"):
        rec = read_input_file(tmp_path / name)
        assert rec.note == ("its header is on line 4, below a title: the line(s) above it "
                            "are not data")
        rows = rec.result.rows["application_accounts"]
        same = [{**r, "source_line": r["source_line"] + 3}
                for r in plain.result.rows["application_accounts"]]
        assert rows[:len(same)] == same
        assert sniff_kinds(tmp_path / name) == {"applications"}
        if name == "cerner.xlsx":  # the total below a blank row: validation rejects it
            assert (rows[-1]["source_line"], rows[-1]["application"]) == (
                len(table) + 5, "TOTAL USERS")


def test_a_workbook_s_table_is_found_past_a_cover_sheet_and_other_sheets_are_named(
        tmp_path):
    """Only the first sheet was read: a workbook whose first sheet is a cover page was
    unrecognised, and one holding a list per application lost every sheet but the first
    without a word. The first sheet holding a known table is read; every other sheet
    with anything in it is named in the file's note, with its rows."""
    import csv as csv_module

    import openpyxl

    from tests.conftest import SAMPLE

    wb = openpyxl.Workbook()
    wb.active.title = "Summary"
    wb.active.append(["Application user lists, exported 10/31/2026"])
    for app in ("cerner", "pacs"):
        ws = wb.create_sheet(app.upper())
        with (SAMPLE / "applications" / f"{app}_users.csv").open(encoding="utf-8-sig") as fh:
            for row in csv_module.reader(fh):
                ws.append(row)
    wb.create_sheet("Notes")  # empty: nothing to say
    wb.save(tmp_path / "user_lists.xlsx")
    rec = read_input_file(tmp_path / "user_lists.xlsx")
    plain = read_input_file(SAMPLE / "applications" / "cerner_users.csv")
    assert rec.format == "application-user-list-xlsx"
    assert rec.result.rows == plain.result.rows
    pacs_rows = len(read_input_file(SAMPLE / "applications" / "pacs_users.csv").result.rows[
        "application_accounts"]) + 1
    assert rec.note == (f"read from its sheet 'CERNER'; not read: sheet 'Summary' (1 row), "
                        f"sheet 'PACS' ({pacs_rows} rows): one table per file, save each "
                        "as its own")


def test_unrecognised_content_is_reported_not_read(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("alpha,beta\n1,2\n")
    assert read_input_file(path).format == "unrecognised"
    shutil.copy(FIXTURES / "enrollment_single.json", tmp_path / "renamed.txt")
    assert read_input_file(tmp_path / "renamed.txt").format == "enrollment-json"


def test_data_dictionary_is_current():
    """docs/data-dictionary.md is generated from the contracts: run `make docs`."""
    from ccreview.contracts.data_dictionary import main

    assert main(["--check"]) == 0


def _load_events(tmp_path, *names):
    import duckdb

    from ccreview.contracts.ingest import ingest_inputs, validate_ingested

    for name in names:
        shutil.copy(FIXTURES / name, tmp_path / name)
    con = duckdb.connect()
    ingest_inputs(tmp_path, con)
    return con, validate_ingested(con)


def test_entra_sign_in_log_is_loaded_in_duckdb_with_exact_lines(tmp_path):
    con, counts = _load_events(tmp_path, "entra_sign_ins.csv")
    c = counts[("entra_sign_ins.csv", "sign_in_events")]
    assert (c.read, c.accepted, c.quarantined) == (6, 3, 3)
    q = con.execute("select source_line, column_name, rule from quarantine order by all"
                    ).fetchall()
    assert q == [(4, "timestamp", "datetime"), (5, "(row)", "csv_width"),
                 (6, "success", "boolean")]
    rows = con.execute("select user, occurred_at, success, source_line from raw_sign_in_events "
                       "order by source_line").fetchall()
    assert rows == [
        ("jdoe@ccpartners.examplehealth.org", dt.datetime(2026, 10, 30, 8, 0, 12), True, 2),
        ("jdoe@ccpartners.examplehealth.org", dt.datetime(2026, 10, 31, 9, 0, 0), False, 3),
        ("rroe@ccpartners.examplehealth.org", dt.datetime(2026, 10, 27, 7, 0, 0), True, 7)]
    raw = " ".join(str(v) for r in con.execute("select * from quarantine").fetchall() for v in r)
    assert "unexpected" not in raw and "yesterday" not in raw  # never the raw line


def test_application_access_log_maps_display_names_to_codes(tmp_path):
    con, counts = _load_events(tmp_path, "application_access.csv")
    assert con.execute("select user, application, success from raw_sign_in_events "
                       "order by source_line").fetchall() == [
        ("jdoe", "CERNER", True), ("jdoe", "PACS", False)]
    assert con.execute("select source_line, column_name, rule from quarantine").fetchall() == [
        (4, "user", "not_nullable")]


def test_hl7_adt_with_mllp_framing():
    rec = read_input_file(FIXTURES / "adt_mllp.hl7")
    assert rec.format == "hl7-v2-adt"
    rows = rec.result.rows["adt_events"]
    assert [r["event_type"] for r in rows] == ["A04", "A01", "A02", "A31", "A03"]
    ed, admit, transfer = rows[:3]
    assert ed["message_control_id"] == "MSG0001" and ed["patient_class"] == "E"
    assert ed["fin"] == "FIN9001" and ed["mrn"] == "MRN1001"
    assert ed["patient_family_name"] == "TESTPATIENT" and ed["patient_given_name"] == "ALPHA"
    assert ed["birth_date"] == dt.date(1970, 2, 14)
    assert ed["pcp_npi"] == "1234567893" and ed["pcp_name"] == "ADA LOVELACE"
    assert ed["chief_complaint"] == "CHEST PAIN"
    assert (admit["unit"], admit["room"], admit["bed"], admit["facility"]) == (
        "4W", "402", "B", "VRMC")
    # PV1-44 has no offset: a clock time in the feed's zone (America/Phoenix, UTC-7)
    assert admit["admit_at"] == dt.datetime(2026, 10, 28, 18, 55)
    assert transfer["facility"] == "DMMC" and transfer["pcp_npi"] is None
    # the unparseable MSH-7 of the fifth message is a parse issue on that message only
    assert [(i.row_index, i.column, i.rule) for i in rec.result.issues] == [
        (4, "message_at", "datetime")]


def test_hl7_segments_ending_in_newlines_are_still_segments():
    rec = read_input_file(FIXTURES / "adt_plain_lf.hl7")
    rows = rec.result.rows["adt_events"]
    assert [(r["event_type"], r["fin"], r["source_line"]) for r in rows] == [
        ("A04", "FIN9001", 1), ("A01", "FIN9001", 7)]


def test_adt_csv_extract():
    rec = read_input_file(FIXTURES / "adt_extract.csv")
    assert rec.format == "adt-csv-extract"
    (row,) = rec.result.rows["adt_events"]
    assert row["admit_at"] == dt.datetime(2026, 10, 28, 18, 55) and row["discharge_at"] is None
    assert row["birth_date"] == dt.date(1970, 2, 14)


def test_adt_contract_quarantines_unused_events_and_bad_times(tmp_path):
    con, counts = _load_events(tmp_path, "adt_mllp.hl7")
    c = counts[("adt_mllp.hl7", "adt_events")]
    assert (c.read, c.accepted, c.quarantined) == (5, 3, 2)
    q = con.execute("select source_line, column_name, rule from quarantine order by all"
                    ).fetchall()
    assert q == [(17, "event_type", "adt_event"), (20, "message_at", "datetime")]
    text = " ".join(str(v) for r in con.execute("select * from quarantine").fetchall()
                    for v in r)
    assert "TESTPATIENT" not in text and "FIN9002" not in text


def _workbook(path, rows):
    import openpyxl

    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    for row in wb.active.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text as an exporting tool writes it, not a formula
    wb.save(path)
    return path


CERNER_LAYOUT = {"name": "Cerner user export", "application": "CERNER",
                 "columns": {"username": "Login", "email": "E-mail", "active": "Active Flag",
                             "created": "Create Date", "last_access": "Last Login",
                             "role": "Position"}}


def test_an_export_with_other_headers_is_read_through_a_config_layout(tmp_path):
    from ccreview.core.config import config_from_dict

    path = tmp_path / "cerner.csv"
    path.write_text("Login,E-mail,Position,Active Flag,Create Date,Last Login\n"
                    "JDOE,jane.doe@desertfm.example,Office Staff,Y,2023-01-16,2026-10-29\n")
    assert read_input_file(path).format == "unrecognised"  # without the layout
    config = config_from_dict({"application_lists": [CERNER_LAYOUT]})
    rec = read_input_file(path, config.application_lists)
    assert rec.format == "application-user-list-csv (Cerner user export)"
    (row,) = rec.result.rows["application_accounts"]
    assert (row["application"], row["username"], row["active"], row["role"]) == (
        "CERNER", "JDOE", True, "Office Staff")
    assert row["last_access_at"] == dt.datetime(2026, 10, 29)


def test_xlsx_exports_are_read_like_their_csv(tmp_path):
    from ccreview.core.config import config_from_dict

    canonical = _workbook(tmp_path / "apps.xlsx", [
        ["application", "username", "email", "display_name", "active", "created",
         "last_access", "role"],
        ["PACS", "jdoe", "jane.doe@desertfm.example", "=1+1", True,
         dt.datetime(2023, 1, 16, 10), dt.datetime(2026, 10, 29, 8, 15), "User"]])
    rec = read_input_file(canonical)
    assert rec.format == "application-user-list-xlsx"
    (row,) = rec.result.rows["application_accounts"]
    assert row["display_name"] == "=1+1"  # a formula-looking name stays text
    assert row["last_access_at"] == dt.datetime(2026, 10, 29, 8, 15)
    mapped = _workbook(tmp_path / "cerner.xlsx", [
        ["Login", "E-mail", "Position", "Active Flag", "Create Date", "Last Login"],
        ["JDOE", "jane.doe@desertfm.example", "Office Staff", "N", None, None]])
    rec = read_input_file(mapped, config_from_dict({"application_lists": [CERNER_LAYOUT]})
                          .application_lists)
    assert rec.result.rows["application_accounts"][0]["active"] is False


def test_xlsx_cells_of_every_date_and_time_type_are_read(tmp_path):
    """A workbook typed by hand or by another tool: a created date formatted as a date, a
    last-login column formatted as a time of day, a duration. A time cell had raised a
    TypeError (a traceback instead of a reading)."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["application", "username", "active", "created", "last_access", "login_time",
               "session"])
    ws.append(["PACS", "jdoe", "Active", dt.date(2025, 1, 2), dt.datetime(2026, 10, 1, 8),
               dt.time(8, 30), dt.timedelta(hours=1, minutes=5)])
    ws["D2"].number_format = "yyyy-mm-dd"
    ws["F2"].number_format = "hh:mm"
    ws["G2"].number_format = "[h]:mm"
    wb.save(tmp_path / "apps.xlsx")
    rec = read_input_file(tmp_path / "apps.xlsx")
    assert not rec.result.issues
    (row,) = rec.result.rows["application_accounts"]
    assert (row["created_at"], row["last_access_at"], row["active"]) == (
        dt.datetime(2025, 1, 2), dt.datetime(2026, 10, 1, 8), True)


def test_a_corrupt_workbook_is_unreadable(tmp_path):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"xl/" + b"\x00" * 100)
    with pytest.raises(UnreadableInputError) as exc:
        read_input_file(path)
    assert "Excel workbook" in str(exc.value)


def test_portal_group_member_list_with_a_title_line():
    rec = read_input_file(FIXTURES / "portal_group_members.csv")
    assert rec.format == "portal-group-member-list"
    people = rec.result.rows["enrollment_people"]
    assert [(p["group_request_number"], p["staff_type"], p["source_line"]) for p in people] == [
        ("CS0001022", "Sponsoring Physician", 3), ("CS0001022", "Group Administrator", 4),
        ("CS0001022", "Staff", 5)]
    assert people[0]["state_license_number"] == "12345"  # the portal's "Sate" typo
    apps = {(a["email"], a["application"]) for a in rec.result.rows["enrollment_app_requests"]}
    assert apps == {("TDoctor@test.example", "CERNER"), ("TDoctor@test.example", "PACS"),
                    ("carola@test.example", "CERNER"), ("carola@test.example", "PACS"),
                    ("matt.hall@test.example", "CERNER"), ("matt.hall@test.example", "R2W")}


def test_portal_member_list_as_xlsx_with_a_request_number_column(tmp_path):
    path = _workbook(tmp_path / "members.xlsx", [
        ["Request Number", "First Name", "M.I.", "Last Name", "Email Address", "Suffix",
         "Staff Type", "Cerner Millennium", "Qventus"],
        ["CS0001022", "Matt", None, "Hall", "matt.hall@test.example", "Coder", "Staff", True,
         True]])
    rec = read_input_file(path)
    assert rec.format == "portal-group-member-list-xlsx"
    assert [a["application"] for a in rec.result.rows["enrollment_app_requests"]] == [
        "CERNER", "QVENTUS"]


def test_member_list_naming_one_application_in_two_columns(tmp_path):
    """An export with both spellings of a column ("Cerner Millenium" is the portal's own):
    the second tick is quarantined as a repeat, so the person requests Cerner once."""
    path = _workbook(tmp_path / "members.xlsx", [
        ["Request Number", "First Name", "M.I.", "Last Name", "Email Address", "Suffix",
         "Staff Type", "Cerner Millenium", "Cerner Millennium", "PACS Synapse"],
        ["CS0001022", "Matt", None, "Hall", "matt.hall@test.example", "Coder", "Staff", True,
         True, True]])
    rec = read_input_file(path)
    apps = rec.result.rows["enrollment_app_requests"]
    assert [a["application"] for a in apps] == ["CERNER", "CERNER", "PACS"]
    assert [(i.row_index, i.column, i.rule) for i in rec.result.issues] == [
        (1, "cerner millennium", "repeated_request")]


def test_member_list_is_the_latest_statement_of_applications(tmp_path):
    from tests.conftest import build_warehouse

    shutil.copy(FIXTURES / "enrollment_single.json", tmp_path / "registration.json")
    shutil.copy(FIXTURES / "portal_group_members.csv", tmp_path / "members.csv")
    con = build_warehouse(tmp_path, dt.date(2026, 11, 1))
    assert con.execute("select rule, email, application from findings where rule = "
                       "'ROLE_NOT_ALLOWED'").fetchall() == [
        ("ROLE_NOT_ALLOWED", "matt.hall@test.example", "R2W")]


def test_daa_status_csv():
    rec = read_input_file(FIXTURES / "daa_status.csv")
    assert rec.format == "daa-status-csv"
    envs = rec.result.rows["daa_envelopes"]
    assert [(e["envelope_id"], e["status"]) for e in envs] == [("env-1", "completed"),
                                                                ("env-2", "voided")]
    assert envs[1]["status_changed_at"] == dt.datetime(2026, 3, 6, 10)
    assert len(rec.result.rows["daa_recipients"]) == 3


def test_time_zones_of_the_sources_come_from_the_config():
    from ccreview.core.config import config_from_dict

    utc = config_from_dict({"time_zones": {"directory": "UTC", "adt": "UTC"}})
    rec = read_input_file(FIXTURES / "ad_ps7_asneeded.csv", (), utc.time_zones)
    assert rec.result.rows["directory_accounts"][0]["created_at"] == dt.datetime(
        2023, 1, 15, 9, 3, 12)
    rec = read_input_file(FIXTURES / "adt_mllp.hl7", (), utc.time_zones)
    assert rec.result.rows["adt_events"][1]["admit_at"] == dt.datetime(2026, 10, 28, 11, 55)
    from ccreview.core.config import ReviewConfig

    assert ReviewConfig().time_zones.directory == "America/Phoenix"


@pytest.mark.parametrize("section", [{"adt": "Mars/Olympus_Mons"}, {"payroll": "UTC"}])
def test_a_wrong_time_zone_is_a_usage_error_naming_the_key(section):
    from ccreview.core.config import config_from_dict
    from ccreview.core.errors import UsageError

    with pytest.raises(UsageError, match="time_zones|time zone"):
        config_from_dict({"time_zones": section}, source="review.toml")


def test_the_shipped_ad_export_script_writes_the_columns_the_reader_takes(tmp_path):
    """docs/export_ad_users.ps1 selects exactly the columns, in the order, of the export
    the reader is tested on; a file with that header (and one account) reads cleanly."""
    import re

    root = Path(__file__).resolve().parent.parent
    script = (root / "docs" / "export_ad_users.ps1").read_text(encoding="utf-8")
    block = re.search(r"\$Columns = @\((.*?)\)", script, re.S).group(1)
    columns = re.findall(r'"([^"]+)"', block)
    sample = root / "data" / "sample" / "directory" / "ad_users_ps51.csv"
    header = sample.read_text(encoding="utf-8-sig").splitlines()[1]
    assert columns == [c.strip('"') for c in header.split(",")]
    extra = re.findall(r'"([^"]+)"', re.search(r"\$Extra = @\((.*?)\)", script,
                                                re.S).group(1))
    default = {"DistinguishedName", "Enabled", "GivenName", "Name", "ObjectClass",
               "ObjectGUID", "SamAccountName", "Surname", "UserPrincipalName"}
    assert set(columns) - default == set(extra)  # the rest Get-ADUser returns by default
    export = tmp_path / "ad.csv"
    export.write_text(",".join(f'"{c}"' for c in columns) + "\n" + ",".join(
        f'"{v}"' for v in ["CN=Doe\\, Jo,OU=CC,DC=x,DC=org", "True", "Jo", "Doe, Jo", "user",
                           "bcb2be3a-e9d4-4d4c-95a0-ac07f3dcad60", "jdoe", "Doe",
                           "jdoe@cc.x.org", "jo.doe@clinic.com", "Clinic", "CS0001000",
                           "12/14/2023 5:03:26 AM", "134345867787963120", "0", "0"]) + "\n",
        encoding="utf-8")
    rec = read_input_file(export)
    assert rec.format == "active-directory-csv"
    (row,) = rec.result.rows["directory_accounts"]
    assert not rec.result.issues
    assert (row["sam_account_name"], row["mail"], row["department"]) == (
        "jdoe", "jo.doe@clinic.com", "CS0001000")
    assert row["last_logon_at"] is not None and row["created_at"] is not None


# hand-written HL7 messages at the edges of the fast path: missing segments and fields,
# fewer components than asked for, repetitions, subcomponents, padding, escape sequences
# and other encoding characters (those two are python-hl7's to read), a segment name that
# is not one, a message that does not start with MSH, a bad date
_EDGE_HL7 = "\r".join([
    "MSH|^~\\&|ADT|VRMC|R2W|CC|20261031080000+0000||ADT^A01^ADT_A01|E1|P|2.5.1",
    "EVN|A01|20261031080000+0000",
    "PID|1||MRN1~MRN1B||DOE&X^JANE^Q||19600101|F|||||(555) 010-0100~^^^^^555^0100101"
    "|||||FIN1",
    "PD1||||1234567893^WELBY^MARCUS",
    "PV1|1|I|4W^101^A^VRMC||||^HOUSE^GREG|||||||||||| VN1 " + "|" * 25
    + "20261030120000-0700|",
    "PV2|||^  Chest pain  ",
    "MSH|^~\\&|ADT|VRMC|R2W|CC|20261031090000||ADT^A08|E2|P|2.5.1",
    "PID|1||MRN2||SMITH\\T\\JONES^ANN||1955",
    "PV1|1|E|ED",
    "MSH|^~\\&|ADT|VRMC|R2W|CC|20261031100000+0000||ADT|E3|P",
    "EVN|A04",
    "PID|1||||^^",
    "MSH|!~\\&|ADT|VRMC|R2W|CC|20261031110000+0000||ADT!A03|E4|P|2.5.1",
    "PID|1||MRN4||LEE!KIM||19701231|||||||||||FIN4",
    "PV1|1|I|5E!2!B!VRMC",
    "MSH|^~\\&|ADT|VRMC|R2W|CC|20261031120000+0000||ADT^A02^ADT_A02|E5|P|2.5.1",
    "pid|1||MRN5",
    "PV1|1|I|6N^3",
    "MSH|^~\\&|ADT|VRMC|R2W|CC|20261031130000+0000||ADT^A01|E6|P|2.5.1",
    "PID|1||MRN6||ROE^RICH||1933XX17|||||||||||FIN6",
    "PV1|1|I|7S^1^A^VRMC||||||||||||||||||||||||||||||||||||||||||||20261031",
])


@pytest.mark.parametrize(("pid3", "mrn"), [
    ("MRN1", "MRN1"),
    ("MRN1^^^VRMC^MR", "MRN1"),
    ("MRN1~MRN1B", "MRN1"),  # unlabelled: the first
    # the community MRN first, the hospital's by its type code (CX-5)
    ("C77^^^HIE^CMRN~MRN1^^^VRMC^MR", "MRN1"),
    # a social security number is never the MRN, first or alone
    ("123-45-6789^^^SSA^SS~MRN1^^^VRMC^MRN", "MRN1"),
    ("123456789^^^SSA^SS~C77^^^HIE^CMRN", "C77"),
    ("123456789^^^SSA^SS", None),
    # an empty first repetition, then one holding only its type: read past both
    ("~^^^^SS~MRN1^^^^MR", "MRN1"),
])
@pytest.mark.parametrize("fast", [True, False])  # the fast split, and python-hl7's parse
def test_the_mrn_among_the_patient_s_identifiers(monkeypatch, pid3, mrn, fast):
    from ccreview.contracts.readers import adt_hl7

    if not fast:
        monkeypatch.setattr(adt_hl7._Split, "of", staticmethod(lambda body: None))
    text = "\r".join(["MSH|^~\\&|ADT|VRMC|R2W|CC|20261031080000+0000||ADT^A01|P1|P|2.5.1",
                      f"PID|1||{pid3}||DOE^JANE||19600101|F||||||||||FIN1", "PV1|1|I|4W"])
    assert adt_hl7.read_hl7(text, dt.UTC).rows["adt_events"][0]["mrn"] == mrn


@pytest.mark.parametrize(("pd1_4", "npi", "name"), [
    # one identifier: as it is, whatever it is
    ("1234567893^WELBY^MARCUS", "1234567893", "MARCUS WELBY"),
    # the hospital's own number first, then the NPI by its assigning authority (XCN-9)
    ("4417^WELBY^MARCUS^^^^^^DOCNBR~1234567893^WELBY^MARCUS^^^^^^NPI", "1234567893",
     "MARCUS WELBY"),
    # by its identifier type code (XCN-13)
    ("4417^WELBY^MARCUS^^^^^^CERNER^^^^PRSNL~1234567893^WELBY^MARCUS^^^^^^CMS^^^^NPI",
     "1234567893", "MARCUS WELBY"),
    # unlabelled: the repetition that holds a valid NPI
    ("4417^WELBY^MARCUS~1234567893^WELBY^MARCUS", "1234567893", "MARCUS WELBY"),
    # nothing looks like an NPI: the first, for the census to find no provider by it
    ("4417^WELBY^MARCUS~5512^WELBY^M", "4417", "MARCUS WELBY"),
    # an empty first repetition; a repetition labelled NPI but holding no number
    ("~1234567893^WELBY^MARCUS", "1234567893", "MARCUS WELBY"),
    ("1234567893^WELBY^MARCUS~^^^^^^^^NPI", "1234567893", "MARCUS WELBY"),
])
@pytest.mark.parametrize("fast", [True, False])  # the fast split, and python-hl7's parse
def test_the_primary_care_provider_s_npi_among_repeated_identifiers(monkeypatch, pd1_4, npi,
                                                                    name, fast):
    """PD1-4 repeated once per identifier the provider has, as Cerner feeds send it: the
    census matches providers by NPI, so the NPI repetition is read, not the first."""
    from ccreview.contracts.readers import adt_hl7

    if not fast:
        monkeypatch.setattr(adt_hl7._Split, "of", staticmethod(lambda body: None))
    text = "\r".join(["MSH|^~\\&|ADT|VRMC|R2W|CC|20261031080000+0000||ADT^A01|P1|P|2.5.1",
                      "PID|1||MRN1||DOE^JANE||19600101|F||||||||||FIN1", f"PD1||||{pd1_4}",
                      "PV1|1|I|4W"])
    row = adt_hl7.read_hl7(text, dt.UTC).rows["adt_events"][0]
    assert (row["pcp_npi"], row["pcp_name"]) == (npi, name)


@pytest.mark.parametrize("source", ["edge", "fixtures", "sample", "hostile"])
def test_the_fast_hl7_reading_equals_python_hl7s(monkeypatch, source):
    """Every message the fast path takes gives the same row and the same issues as
    python-hl7's own parse (forced by turning the fast path off), on hand-written edge
    cases, the fixtures, the sample's feeds and the hostile-input feeds."""
    from ccreview.contracts.readers import adt_hl7

    root = Path(__file__).parent.parent
    texts = {
        "edge": [_EDGE_HL7, "PID|1||NOMSH\rPV1|1|I\r" + _EDGE_HL7],
        "fixtures": [(FIXTURES / n).read_bytes().decode("latin-1")
                     for n in ("adt_mllp.hl7", "adt_plain_lf.hl7")],
        "sample": [p.read_text(encoding="utf-8")
                   for p in sorted((root / "data" / "sample" / "adt").glob("*.hl7"))],
        "hostile": [_hostile_hl7()],
    }[source]
    took_fast = 0
    real_of = adt_hl7._Split.of

    def counting(body):
        nonlocal took_fast
        split = real_of(body)
        took_fast += split is not None
        return split

    for text in texts:
        monkeypatch.setattr(adt_hl7._Split, "of", staticmethod(counting))
        fast = adt_hl7.read_hl7(text, dt.UTC)
        monkeypatch.setattr(adt_hl7._Split, "of", staticmethod(lambda body: None))
        slow = adt_hl7.read_hl7(text, dt.UTC)
        assert fast.rows == slow.rows
        assert fast.issues == slow.issues
    assert took_fast  # the comparison covered the fast path
    if source == "edge":  # and the edge cases reached both paths and their rejections
        rows = adt_hl7.read_hl7(_EDGE_HL7, dt.UTC).rows["adt_events"]
        assert [r["message_control_id"] for r in rows] == ["E1", "E2", "E3", "E4", "E5", "E6"]
        assert rows[0]["patient_family_name"] == "DOE" and rows[0]["mrn"] == "MRN1"
        assert rows[0]["attending_name"] == "GREG HOUSE" and rows[0]["visit_number"] == "VN1"
        assert rows[0]["chief_complaint"] == "Chest pain"
        assert rows[1]["patient_family_name"] == "SMITH&JONES"  # \T\ unescaped
        assert rows[3]["unit"] == "5E" and rows[3]["patient_family_name"] == "LEE"
        assert rows[4]["mrn"] is None  # `pid` is not the PID segment


def _hostile_hl7() -> str:
    from tests.test_hostile_inputs import PAYLOADS

    return "".join(  # one message per payload: one with a backslash is python-hl7's
        f"MSH|^~\\&|ADT|VRMC|R2W|CC|20261031080000+0000||ADT^A01^ADT_A01|H{i}|P|2.5.1\r"
        "EVN|A01|20261031080000+0000\r"
        f"PID|1||MRNH||{p.replace('|', ' ')}^PAT||19600101|F|||||||||FINH\r"
        "PV1|1|I|4W^1^A^VRMC|||||||||||||||||FINH\r" for i, p in enumerate(PAYLOADS))


def test_an_application_lists_status_words_are_read_as_active_or_not(tmp_path):
    """User lists say whether an account is usable in words (`Active` / `Inactive`,
    `Enabled` / `Disabled`, Cerner's `A` / `I`) rather than true/false; each was a parse
    issue that quarantined the account, taking an active one out of the review. A word
    that says neither (`Locked`) is still quarantined: guessing could hide access."""
    from ccreview.core.config import config_from_dict

    layout = {"name": "PACS user export", "application": "PACS",
              "columns": {"username": "User ID", "active": "Status"}}
    path = tmp_path / "pacs.csv"
    path.write_text("User ID,Status\n" + "".join(
        f"u{i},{word}\n" for i, word in enumerate(
            ["Active", "Inactive", "ENABLED", "disabled", "A", "I", "Locked"])))
    rec = read_input_file(path, config_from_dict({"application_lists": [layout]})
                          .application_lists)
    assert [r["active"] for r in rec.result.rows["application_accounts"]] == [
        True, False, True, False, True, False, None]
    assert [(i.row_index, i.column, i.rule) for i in rec.result.issues] == [
        (6, "active", "boolean")]


def test_entra_users_in_pascal_case_are_known_before_reading(tmp_path):
    """The check before a run (and the store's choice of what a run reads) looked for
    Graph's `"userPrincipalName"` exactly, so the PowerShell SDK's export was no
    directory: a dormant run whose folder held only it was refused."""
    from ccreview.contracts.readers import sniff_kinds

    path = tmp_path / "entra.json"
    path.write_text('[\r\n    {\r\n        "AccountEnabled":  true,\r\n        '
                    '"SignInActivity":  {"LastSuccessfulSignInDateTime":  null},\r\n        '
                    '"UserPrincipalName":  "ada@cc.example.org"\r\n    }\r\n]',
                    encoding="utf-16")
    assert sniff_kinds(path) == {"directory", "sign_in"}


def test_a_file_is_sniffed_once_until_it_changes(tmp_path, monkeypatch):
    """The command line's check, the flow's and the store's each ask what a file holds:
    an unchanged file is read once; a file written since (here: replaced by a directory
    export of the same size and modification time) is read again."""
    import os

    from ccreview.contracts import readers

    reads = []
    head = readers._head_text
    monkeypatch.setattr(readers, "_head_text", lambda p: reads.append(p) or head(p))
    path = tmp_path / "export.csv"
    path.write_text("user,application,timestamp,success\n"
                    + "u1,PACS,2026-10-01T00:00:00Z,true\n" * 4, encoding="utf-8")
    size, stamp = path.stat().st_size, path.stat().st_mtime_ns
    assert readers.sniff_kinds(path) == readers.sniff_kinds(path) == {"sign_in"}
    assert len(reads) == 1
    other = "SamAccountName,UserPrincipalName,mail,Enabled\nada,ada@cc.example.org,a@x.ex,True\n"
    path.write_text(other.ljust(size - 1) + "\n", encoding="utf-8")
    os.utime(path, ns=(stamp, stamp))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (size, stamp)
    assert readers.sniff_kinds(path) == {"directory"}
    assert len(reads) == 2


def test_an_hl7_batch_file(tmp_path):
    """A batch file (the HL7 batch protocol: FHS, BHS, the messages, BTS, FTS), as feeds
    deliver a day's ADT over SFTP. It was not recognised as HL7 (it does not start with
    MSH), and read as HL7 its header would have been a message of its own."""
    messages = (FIXTURES / "adt_plain_lf.hl7").read_text().strip().split("\n")
    path = tmp_path / "adt_batch.hl7"
    path.write_text("\r".join(["FHS|^~\\&|ADT|VRMC|R2W|CC|20261029000500",
                               "BHS|^~\\&|ADT|VRMC|R2W|CC|20261029000500", *messages,
                               "BTS|2", "FTS|1"]) + "\r")
    rec = read_input_file(path)
    assert rec.format == "hl7-v2-adt"
    assert [(r["event_type"], r["fin"], r["source_line"])
            for r in rec.result.rows["adt_events"]] == [("A04", "FIN9001", 3),
                                                         ("A01", "FIN9001", 9)]
    assert rec.result.issues == []


def test_microsoft_365_export_users_with_a_block_credential_that_is_no_yes_or_no(tmp_path):
    """The Microsoft 365 admin center's Export users file: `Block credential` True is a
    disabled account; a value that is neither is quarantined under the file's own column."""
    path = tmp_path / "users.csv"
    path.write_text("Block credential,Display name,Object Id,User principal name,When created\r\n"
                    "False,Ann Lee,1,ann@cc.example.org,2025-01-15T16:03:12Z\r\n"
                    "True,Bob Stone,2,bob@cc.example.org,1/15/2025 4:03:12 PM\r\n"
                    "Maybe,Cy Young,3,cy@cc.example.org,\r\n", encoding="utf-8-sig")
    rec = read_input_file(path)
    assert rec.format == "entra-users-csv"
    ann, bob, cy = rec.result.rows["entra_users"]
    assert (ann["user_principal_name"], ann["enabled"], ann["display_name"]) == (
        "ann@cc.example.org", True, "Ann Lee")
    assert (bob["enabled"], bob["created_at"]) == (False, dt.datetime(2025, 1, 15, 16, 3, 12))
    assert [(i.column, i.rule) for i in rec.result.issues] == [("Block credential", "boolean")]
    assert rec.result.issues[0].row_index == 2 and cy["source_line"] == 4


def test_docusign_pages_say_which_envelopes_they_hold_and_which_none_does():
    from ccreview.contracts.readers.docusign_json import missing_pages, page_note

    def page(start, end, total):
        return page_note({"envelopes": [], "startPosition": str(start),
                          "endPosition": str(end), "totalSetSize": str(total)})

    assert page(0, 44, 45) == ""  # the whole result set: nothing to check
    assert page(0, 99, 250) == "listStatusChanges envelopes 0-99 of 250"
    assert page_note({"envelopes": [], "startPosition": "x", "endPosition": "9",
                      "totalSetSize": "20"}) == ""
    # two exports (totals 250 and 30), overlapping pages; the first lacks 100-149, the
    # second its end
    notes = [page(0, 99, 250), page(150, 249, 250), page(90, 99, 250), page(0, 19, 30),
             "read as Windows-1252; " + page(10, 24, 30)]
    assert missing_pages(notes) == [(25, 29, 30), (100, 149, 250)]
    assert missing_pages([*notes, page(100, 149, 250), page(25, 29, 30)]) == []


def test_a_row_that_does_not_split_has_one_reason_in_every_reader(tmp_path):
    """A row with a field too many (a comma typed into a name, unquoted), written by hand
    into an AD export, an application list, a DAA status CSV and an Entra sign-in log: each
    is quarantined on its own line under rule `csv_width` with the same reason, whichever
    reader (Python's or DuckDB's) found it; the rows around it are read."""
    from ccreview.contracts.readers.base import UNSPLIT_ROW

    (tmp_path / "ad.csv").write_text(
        "SamAccountName,UserPrincipalName,mail,Enabled,whenCreated\n"
        "ann,ann@cc.example.org,ann@cc.example.org,True,1/5/2024 10:00:00 AM\n"
        "bob,bob@cc.example.org,Ray, Bob,True,1/6/2024 10:00:00 AM\n")
    (tmp_path / "cerner.csv").write_text(
        "application,username,email,display_name,active,created,last_access,role\n"
        "CERNER,ann,ann@cc.example.org,Lee, Ann,true,1/5/2026,10/30/2026,\n"
        "CERNER,bob,bob@cc.example.org,Bob Ray,true,1/6/2026,10/30/2026,\n")
    (tmp_path / "daa_status.csv").write_text(
        "envelope_id,request_number,status,sent_at,completed_at,declined_at,voided_at,"
        "recipient_role,recipient_name,recipient_email,recipient_status,signed_at\n"
        "env-1,CS0001022,completed,2026-03-05 10:00:00,2026-03-07 16:30:00,,,"
        "Sponsoring Physician,Doctor, Test,tdoctor@test.example,completed,"
        "2026-03-06 09:00:00\n")
    (tmp_path / "entra_sign_ins.csv").write_text(
        "Date (UTC),Request ID,User,Username,User ID,Application,Status,Sign-in error code,"
        "Failure reason,IP address\n"
        "2026-10-30T08:00:12Z,r1,Ann Lee,ann@cc.example.org,u1,"
        "Clinical Connectivity Workspace,Success,0,,198.51.100.7\n"
        "2026-10-30T09:00:12Z,r2,Ray, Bob,bob@cc.example.org,u2,"
        "Clinical Connectivity Workspace,Success,0,,198.51.100.7\n")
    con, _ = _load_events(tmp_path)
    unsplit = con.execute("select source_file, source_line, column_name, reason "
                          "from quarantine where rule = 'csv_width' order by all").fetchall()
    assert unsplit == [("ad.csv", 3, "(row)", UNSPLIT_ROW),
                       ("cerner.csv", 2, "(row)", UNSPLIT_ROW),
                       ("daa_status.csv", 2, "(row)", UNSPLIT_ROW),
                       ("entra_sign_ins.csv", 3, "(row)", UNSPLIT_ROW)]
    assert con.execute("select count(*) from raw_directory_accounts").fetchone() == (1,)
    assert con.execute("select count(*) from raw_sign_in_events").fetchone() == (1,)
