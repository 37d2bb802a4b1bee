"""Unusual and hostile input dropped beside a valid organisation (the sample): each case is
named with its reason, nothing crashes, nothing escapes the output folder, and every
other finding stays as it was. Large files are made at test time and removed after."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from ccreview.contracts.readers import read_input_file
from ccreview.core.config import HOSPITAL_CULTURES, Cultures, config_from_dict
from tests.cases import npi
from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse, finding_keys

AD_HEADER = "SamAccountName,UserPrincipalName,mail,Enabled,whenCreated,lastLogonTimestamp\n"


def _symlink_out(folder: Path) -> None:
    (folder / "passwd.csv").symlink_to("/etc/passwd")


def _symlink_loop(folder: Path) -> None:
    (folder / "a.csv").symlink_to(folder / "b.csv")
    (folder / "b.csv").symlink_to(folder / "a.csv")


def _folder_loop(folder: Path) -> None:
    (folder / "again").symlink_to(folder, target_is_directory=True)


def _fifo(folder: Path) -> None:
    os.mkfifo(folder / "pipe.csv")


def _hidden(folder: Path) -> None:
    (folder / ".hidden_ad.csv").write_text(AD_HEADER + "x,x@y.example,x@y.example,True,,\n")


def _office_lock(folder: Path) -> None:
    (folder / "~$apps.xlsx").write_bytes(b"\x0bcorp\\someone" + b"\x00" * 40)


def _bad_utf8_name(folder: Path) -> None:
    with open(os.path.join(os.fsencode(folder), b"notes_\xff\xfe.csv"), "wb") as fh:
        fh.write(b"a,b\n1,2\n")


def _long_path(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        for _ in range(18):  # 18 x 255 bytes: longer than PATH_MAX (4096)
            os.mkdir("d" * 254, dir_fd=fd)
            nxt = os.open("d" * 254, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nxt
        with open(os.open("deep.csv", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd), "w") as fh:
            fh.write(AD_HEADER)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)


def _deep_json(folder: Path) -> None:
    (folder / "deep_array.json").write_text("[" * 200_000 + "]" * 200_000)
    (folder / "deep_object.json").write_text('{"a":' * 200_000 + "1" + "}" * 200_000)


def _huge_ints(folder: Path) -> None:
    big = 10 ** 30
    (folder / "graph_big.json").write_text(
        '{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users", "value": '
        f'[{{"id": {big}, "userPrincipalName": "big@cc.example.org", "accountEnabled": {big},'
        f' "createdDateTime": {big}, "mail": "big@cc.example.org"}}]}}')


def _huge_field(folder: Path) -> None:
    with (folder / "ad_huge_field.csv").open("w") as fh:
        fh.write(AD_HEADER + "huge,huge@x.example,")
        chunk = "x" * (1 << 20)
        for _ in range(200):  # one 200 MB field
            fh.write(chunk)
        fh.write(",True,,\n")


def _zip_bomb(folder: Path) -> None:
    """A workbook whose sheet inflates to 600 MB (1 KB compresses ~1000 times)."""
    with zipfile.ZipFile(folder / "bomb.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"<row>" + b"0" * 1019 + b"</r>"
            for _ in range(600 * 1024):
                sheet.write(block)


def _negative_filetime(folder: Path) -> None:
    (folder / "ad_negative.csv").write_text(
        AD_HEADER + "neg,neg@cc.example.org,neg@x.example,True,1/2/2024 3:04:05 PM,-5\n")


def _bad_hl7_date(folder: Path) -> None:
    (folder / "adt_bad_date.hl7").write_text(
        "MSH|^~\\&|ADT|VRMC|R2W|CC|20261031080000+0000||ADT^A01^ADT_A01|BAD1|P|2.5.1\r"
        "EVN|A01|20261031080000+0000\r"
        "PID|1||MRNX||NOBODY^PAT||1933XX17|F|||||||||FINBAD\r"
        "PV1|1|I|4W^1^A^VRMC|||||||||||||||||FINBAD\r")


def _orphan_same_lan_id(folder: Path) -> None:
    (folder / "ad_orphan.csv").write_text(
        AD_HEADER + "zzorphan,zzorphan@cc.example.org,zz@old.example,True,"
        "1/2/2024 3:04:05 PM,133182469920000000\n")
    (folder / "app_orphan.csv").write_text(
        "application,username,email,display_name,active,created,last_access,role\n"
        "CERNER,zzorphan,zz@old.example,Orphan,true,2024-01-01 00:00:00,"
        "2026-10-01 00:00:00,User\n")


def _unreadable(folder: Path) -> None:
    sub = folder / "locked"
    sub.mkdir()
    (sub / "ad.csv").write_text(AD_HEADER)
    (folder / "locked_file.csv").write_text(AD_HEADER)
    (folder / "locked_file.csv").chmod(0)
    sub.chmod(0)


# case -> (writer, files named with their status and a word of the reason, or None when
# the case adds usable rows that may add findings of their own)
CASES: dict[str, tuple[Callable[[Path], None], dict[str, tuple[str, str]]]] = {
    "link out of the folder": (_symlink_out, {"passwd.csv": ("skipped", "outside")}),
    "link loop": (_symlink_loop, {"a.csv": ("skipped", "loops"),
                                  "b.csv": ("skipped", "loops")}),
    "folder link loop": (_folder_loop, {"again": ("skipped", "not followed")}),
    "fifo": (_fifo, {"pipe.csv": ("skipped", "FIFO")}),
    "hidden file": (_hidden, {".hidden_ad.csv": ("skipped", "hidden")}),
    "office lock file": (_office_lock, {"~$apps.xlsx": ("skipped", "lock file")}),
    "name not utf-8": (_bad_utf8_name, {"notes_\ufffd\ufffd.csv": ("unrecognised", "")}),
    "path too long": (_long_path, {"d" * 254: ("skipped", "cannot be listed")}),
    "deep json": (_deep_json, {"deep_array.json": ("unreadable", "nested"),
                               "deep_object.json": ("unreadable", "nested")}),
    "200 MB field": (_huge_field, {"ad_huge_field.csv": ("unreadable", "field")}),
    "zip bomb": (_zip_bomb, {"bomb.xlsx": ("unreadable", "inflate")}),
}


def _prefixed(folder: str, files: dict) -> dict:
    return {f"{folder}/{k}": v for k, v in files.items()}


@pytest.fixture(scope="module")
def baseline(sample_warehouse) -> set:
    return finding_keys(sample_warehouse)


def _with_case(tmp_path: Path, writer: Callable[[Path], None]) -> Path:
    inp = tmp_path / "in"
    shutil.copytree(SAMPLE, inp)
    extra = inp / "extra"
    extra.mkdir()
    writer(extra)
    return inp


def _cleanup(inp: Path) -> None:
    """Open up what a case locked, then remove everything (the large files too)."""
    for root, dirs, _ in os.walk(inp):
        for d in dirs:
            path = os.path.join(root, d)
            with contextlib.suppress(OSError):
                if not os.path.islink(path):
                    os.chmod(path, 0o700)
    shutil.rmtree(inp, ignore_errors=True)


@pytest.mark.parametrize("case", list(CASES))
def test_an_unusable_file_is_named_and_changes_nothing_else(tmp_path, baseline, case):
    writer, expected = CASES[case]
    inp = _with_case(tmp_path, writer)
    try:
        con = build_warehouse(inp, SAMPLE_AS_OF)
        files = {f: (s, n) for f, s, n in con.execute(
            "select source_file, status, note from input_files").fetchall()}
        for name, (status, says) in _prefixed("extra", expected).items():
            named = [f for f in files if f == name or f.startswith(name + "/")]
            assert named, (name, sorted(files)[-8:])
            assert all(files[f][0] == status and says in files[f][1] for f in named), [
                files[f] for f in named]
        assert finding_keys(con) == baseline
    finally:
        _cleanup(inp)


def test_a_folder_and_a_file_it_may_not_read_are_named(tmp_path, baseline):
    if os.geteuid() == 0:
        pytest.skip("root reads any file; the permission case needs an ordinary user")
    inp = _with_case(tmp_path, _unreadable)
    try:
        con = build_warehouse(inp, SAMPLE_AS_OF)
        files = dict(con.execute("select source_file, status from input_files").fetchall())
        assert files["extra/locked"] == "skipped"
        assert files["extra/locked_file.csv"] == "unreadable"
        assert finding_keys(con) == baseline
    finally:
        _cleanup(inp)


@pytest.mark.parametrize(("writer", "file", "column", "rule"), [
    (_negative_filetime, "extra/ad_negative.csv", "lastlogontimestamp", "filetime"),
    (_bad_hl7_date, "extra/adt_bad_date.hl7", "PID-7", "hl7_date"),
])
def test_a_value_that_is_no_date_is_quarantined_never_guessed(tmp_path, writer, file, column,
                                                                rule):
    inp = _with_case(tmp_path, writer)
    con = build_warehouse(inp, SAMPLE_AS_OF)
    rows = con.execute("select column_name, rule from quarantine where source_file = ?",
                       [file]).fetchall()
    assert (column, rule) in rows, rows


def test_json_numbers_beyond_64_bits_do_not_crash(tmp_path, baseline):
    inp = _with_case(tmp_path, _huge_ints)
    con = build_warehouse(inp, SAMPLE_AS_OF)
    status = con.execute("select status from input_files where source_file = ?",
                         ["extra/graph_big.json"]).fetchone()
    assert status == ("read",)
    assert con.execute("select count(*) from quarantine where source_file = ?",
                       ["extra/graph_big.json"]).fetchone()[0] >= 1
    assert baseline <= finding_keys(con)


def test_an_orphan_directory_account_and_application_account_with_one_lan_id(tmp_path,
                                                                             baseline):
    inp = _with_case(tmp_path, _orphan_same_lan_id)
    con = build_warehouse(inp, SAMPLE_AS_OF)
    added = finding_keys(con) - baseline
    assert added == {("ORPHAN_ACCOUNT", "", "zz@old.example", ""),
                     ("ORPHAN_ACCOUNT", "", "zz@old.example", "CERNER")}


# -- real exports in other dialects ------------------------------------------------------

def test_ad_export_with_use_culture_semicolons(tmp_path):
    path = tmp_path / "ad_semicolon.csv"
    path.write_text('#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\n'
                    '"SamAccountName";"UserPrincipalName";"mail";"Enabled";"whenCreated"\r\n'
                    '"jdoe";"jdoe@cc.example.org";"j.doe@x.example";"True";'
                    '"1/15/2023 9:03:12 AM"\r\n', encoding="utf-8-sig")
    rec = read_input_file(path)
    assert rec.format == "active-directory-csv" and not rec.result.issues
    (row,) = rec.result.rows["directory_accounts"]
    assert row["sam_account_name"] == "jdoe" and row["mail"] == "j.doe@x.example"


@pytest.mark.parametrize(("culture", "written", "read"), [
    ("en-GB", "15/01/2023 09:03:12", "2023-01-15"),
    ("en-GB", "01/02/2023 09:03:12", "2023-02-01"),   # the 1st of February, not Jan 2
    ("en-US", "01/02/2023 09:03:12", "2023-01-02"),
    ("en-US", "15/01/2023 09:03:12", None),           # not an en-US date: quarantined
])
def test_dates_are_read_in_the_exporting_culture_never_guessed(tmp_path, culture, written,
                                                                read):
    path = tmp_path / "ad.csv"
    path.write_text(AD_HEADER.replace(",lastLogonTimestamp", "")
                    + f"jdoe,jdoe@cc.example.org,j@x.example,True,{written}\n")
    config = config_from_dict({"cultures": {"directory": culture},
                               "time_zones": {"directory": "UTC"}})
    rec = read_input_file(path, (), config.time_zones, config.cultures)
    (row,) = rec.result.rows["directory_accounts"]
    if read is None:
        assert row["created_at"] is None
        assert [(i.column, i.rule) for i in rec.result.issues] == [("whenCreated", "datetime")]
    else:
        assert row["created_at"].date().isoformat() == read and not rec.result.issues


def _docusign(envelopes: list[dict]) -> str:
    return json.dumps({"envelopes": envelopes})


def test_an_envelope_without_a_request_number_is_linked_by_its_signers(tmp_path, baseline,
                                                                      sample_warehouse):
    sponsor, admin = sample_warehouse.execute(
        "select s.email, a.admin_email from (select request_number, email from int_members "
        "where staff_type = 'Sponsoring Physician' and member_status = 'active') as s "
        "inner join group_admin_contacts as a using (request_number) "
        "where a.admin_email not like '%;%' and a.admin_email <> s.email "
        "order by 1 limit 1").fetchone()
    signers = [{"roleName": "Signer 1", "email": sponsor.upper(), "status": "completed"},
               {"roleName": "Signer 2", "email": admin, "status": "completed"}]
    inp = tmp_path / "in"
    shutil.copytree(SAMPLE, inp)
    (inp / "unlinked.json").write_text(_docusign([
        {"envelopeId": "env-linked", "status": "sent", "emailSubject": "Please sign",
         "sentDateTime": "2026-10-30T10:00:00Z", "recipients": {"signers": signers}},
        {"envelopeId": "env-nobody", "status": "sent", "emailSubject": "Please sign",
         "sentDateTime": "2026-10-30T10:00:00Z",
         "recipients": {"signers": [{"email": "someone@elsewhere.example"}]}}]))
    con = build_warehouse(inp, SAMPLE_AS_OF)
    links = dict(con.execute("select envelope_id, linked_by from int_daa_envelopes "
                             "where envelope_id like 'env-%'").fetchall())
    assert links == {"env-linked": "signers", "env-nobody": None}
    notes = con.execute("select subject, detail from review_notes "
                        "where note = 'DAA envelope linked to no group'").fetchall()
    assert [s for s, _ in notes] == ["env-nobody"]
    assert con.execute("select count(*) from quarantine where source_file = 'unlinked.json'"
                       ).fetchone() == (0,)
    assert finding_keys(con) == baseline  # an unsigned new envelope changes no agreement


# -- the outputs: confined, inert, private ---------------------------------------------------

PAYLOADS = ("=cmd|' /C calc'!A0", "x\r=HYPERLINK(\"http://x.example\")", "\n+SUM(1,2)",
            "a\n@A1", "nul\x00byte")


def _hostile_group(inp: Path, escape: Path) -> str:
    """A registration whose provider's NPI climbs out of any folder, whose administrator's
    name makes no Excel sheet name, and whose texts carry formula payloads and NUL bytes;
    an ADT message naming that NPI as the primary care provider."""
    bad_npi = f"1/../../{os.path.relpath(escape, inp)}/PROOF"
    provider = {"first_name": PAYLOADS[0], "middle_initial": "", "no_middle_initial": True,
                "last_name": PAYLOADS[1], "email": "trav@clinic.example",
                "phone": "602-555-0100", "staff_type": "Provider", "suffix": "MD",
                "licensed_state": "AZ", "state_license_number": PAYLOADS[2], "npi": bad_npi,
                "applications": ["Cerner Millennium", "Report2Web"],
                "report2web": {"fax_number": "602-555-0199", "lab_facilities": [PAYLOADS[3]],
                               "alerts": {"Discharged": "fax"},
                               "recipients": ["trav@clinic.example"],
                               "physician_census": True}}
    admin = dict(provider, first_name="'Kai", last_name="O'Brien'", email="kai@clinic.example",
                 staff_type="Group Administrator", suffix="Office Manager", npi="",
                 applications=["Cerner Millennium"], report2web=None)
    sponsor = dict(provider, email="spon@clinic.example", staff_type="Sponsoring Physician",
                   npi=npi("555666777"), first_name="Sam", last_name=PAYLOADS[4])
    doc = {"request_number": "CS0099001", "request_type": "new_group",
           "group_request_number": "CS0099001", "submitted_at": "2025-01-01T00:00:00Z",
           "group": {"name": PAYLOADS[1], "practice_fax": "602-555-0199",
                     "corporate_or_legal_representative": "NO"},
           "sponsoring_physician": sponsor, "group_administrator_same_as_sponsor": False,
           "group_administrator": admin, "members": [provider],
           "report2web_privacy_policy_accepted": True}
    (inp / "hostile_enrollment.json").write_text(json.dumps([doc]))
    (inp / "hostile_docusign.json").write_text(_docusign([{
        "envelopeId": "env-h", "status": "completed", "emailSubject": "DAA CS0099001",
        "completedDateTime": "2025-12-01T00:00:00Z", "sentDateTime": "2025-11-28T00:00:00Z",
        "recipients": {"signers": [{"email": e, "status": "completed"}
                                   for e in ("spon@clinic.example", "kai@clinic.example")]}}]))
    (inp / "hostile_adt.hl7").write_text(
        "MSH|^~\\&|ADT|VRMC|R2W|CC|20261031080000+0000||ADT^A01^ADT_A01|H1|P|2.5.1\r"
        "EVN|A01|20261031080000+0000\r"
        f"PID|1||MRNH||{PAYLOADS[0].replace('|', ' ')}^PAT||19600101|F|||||||||FINH\r"
        f"PD1||||{bad_npi}^DOC^PCP\r"
        "PV1|1|I|4W^1^A^VRMC|||||||||||||||||FINH\r")
    return bad_npi


@pytest.fixture(scope="module")
def hostile_run(prefect_harness, tmp_path_factory):
    from ccreview import cli

    root = tmp_path_factory.mktemp("hostile")
    inp, out, escape = root / "in", root / "deep" / "er" / "out", root / "escape"
    shutil.copytree(SAMPLE, inp)
    _hostile_group(inp, escape)
    code = cli.main(["review", "--input", str(inp), "--out", str(out), "--as-of",
                     SAMPLE_AS_OF.isoformat(), "--task-runner", "sequential"])
    return code, root, out


def test_no_output_escapes_the_output_folder(hostile_run):
    code, root, out = hostile_run
    assert code == 0
    outside = [p for p in root.rglob("*") if "PROOF" in p.name or "census_" in p.name
               and out not in p.parents]
    assert not outside
    census = [p.name for p in (out / "census").iterdir()]
    assert census and all(re.fullmatch(r"census_CS\d{7}_\d{10}_[\d-]+\.xlsx|census_manifest.csv",
                                       n) for n in census)


def test_no_csv_cell_can_become_a_formula_or_carry_a_nul(hostile_run):
    _, _, out = hostile_run
    triggers = ("=", "+", "-", "@", "\t", "\r", "\n")
    checked = 0
    for path in out.rglob("*.csv"):
        text = path.read_text(encoding="utf-8")
        assert "\x00" not in text, path.name
        for row in csv.reader(io.StringIO(text, newline="")):
            for cell in row:
                for piece in re.split(r"[\r\n]", cell)[1:] + [cell]:
                    if piece[:1] in triggers and piece not in ("-",):
                        assert not re.match(r"[=+@]|-[^\d]", piece), (path.name, piece)
                checked += 1
    assert checked > 1000
    findings = (out / "findings.csv").read_text(encoding="utf-8")
    assert "'=cmd" in findings  # the hostile provider's name, inert


def test_a_name_that_makes_no_excel_sheet_name_stops_nothing(hostile_run):
    _, _, out = hostile_run
    wb = openpyxl.load_workbook(out / "dormant_accounts_2026-11-01.xlsx", read_only=True)
    assert all(not n.startswith("'") and not n.endswith("'") for n in wb.sheetnames)


def test_every_output_is_owner_only(hostile_run):
    _, _, out = hostile_run
    assert not [p for p in out.rglob("*") if p.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)]


def test_debug_detail_reaches_the_terminal_only(prefect_harness, tmp_path, monkeypatch,
                                                capfd):
    """With --debug, exception text quoting input goes to the terminal, never to Prefect's
    database (nor any file)."""
    from prefect.client.orchestration import get_client

    import ccreview.flows.access_review as flow_module
    from ccreview import cli

    secret = "Zelda Quintero-Secretname"

    def boom(*args, **kwargs):
        raise ValueError(f"could not convert {secret}")

    monkeypatch.setattr(flow_module, "build_models", boom)
    with pytest.raises(flow_module.StageError):
        cli.main(["review", "--input", str(SAMPLE), "--out", str(tmp_path / "out"),
                  "--as-of", "2026-11-01", "--debug"])
    assert secret in capfd.readouterr().err  # the developer sees it
    with get_client(sync_client=True) as client:
        stored = "\n".join(log.message for log in client.read_logs())
        stored += "\n".join(str(r.state.message) for r in client.read_flow_runs()
                            if r.state and r.state.message)
    assert secret not in stored
    assert not [p for p in tmp_path.rglob("*") if p.is_file()
                and secret.encode() in p.read_bytes()]


def test_a_file_that_cannot_be_opened_is_an_unreadable_entry(tmp_path, baseline,
                                                            monkeypatch):
    """What a file the process may not read does (simulated: root reads everything)."""
    import ccreview.contracts.ingest as ingest

    inp = _with_case(tmp_path, lambda folder: (folder / "locked.csv").write_text(AD_HEADER))
    real = ingest.file_sha256

    def denied(path: Path) -> str:
        if path.name == "locked.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(ingest, "file_sha256", denied)
    con = build_warehouse(inp, SAMPLE_AS_OF)
    assert con.execute("select status, note from input_files where source_file = ?",
                       ["extra/locked.csv"]).fetchone() == (
        "unreadable", "cannot be read (Permission denied)")
    assert finding_keys(con) == baseline


def test_an_output_name_from_input_data_stays_in_its_folder(tmp_path):
    from ccreview.reports.files import child_path

    assert child_path(tmp_path, "census_CS0000001_1234567890.xlsx").parent == tmp_path
    for name in ("../x.xlsx", "a/b.xlsx", ".hidden", "..", "", "x\x00.xlsx"):
        with pytest.raises(ValueError):
            child_path(tmp_path, name)
    (tmp_path / "linked.xlsx").symlink_to(tmp_path.parent / "elsewhere.xlsx")
    with pytest.raises(ValueError):
        child_path(tmp_path, "linked.xlsx")


# -- exports that say they are incomplete -------------------------------------------------

def _adt_message(n: int, event: str = "A01", fin: str | None = None) -> str:
    """One inpatient ADT message as Cerner sends it, its FIN (`FIN<n>` unless given) in
    PID-18 and PV1-19, dated the 2n-th of October 2026 (n of 1 to 9)."""
    fin = f"FIN{n}" if fin is None else fin
    at = f"2026102{n}080000"
    return "\r".join([
        f"MSH|^~\\&|CERNER|BANNER|CC|CC|{at}||ADT^{event}|MSG{n}|P|2.5",
        f"EVN|{event}|{at}",
        f"PID|1||MRN{n}^^^BANNER^MR||Doe^Jane||19700101|F||||||||||{fin}",
        f"PV1|1|I|4W^40{n}^A^BANNER||||^Attending^Ann|||||||||||||{fin}"]) + "\r"


def _ingested(folder: Path, tmp_path: Path, cultures: Cultures = HOSPITAL_CULTURES) -> str:
    """`folder` read and validated into a new warehouse file, as the flow has it when it
    checks for exports that say they are incomplete."""
    import duckdb

    from ccreview.contracts.ingest import ingest_inputs, validate_ingested

    warehouse = tmp_path / f"w{len(list(tmp_path.glob('w*.duckdb')))}.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        ingest_inputs(folder, con, cultures=cultures)
        validate_ingested(con)
    return str(warehouse)


def test_hand_written_exports_in_another_culture_are_refused(tmp_path):
    """An AD export from a host in en-GB read as the default en-US quarantined the dates
    with a day over 12 and read the others with day and month swapped: `05/11/2024` became
    the 11th of May, moving an account's creation by six months (on the sample's PS 7
    export so rewritten, 72 of 124 rows quarantined and 52 read swapped, the run going on
    with DISABLED_WITH_ACCESS 5 -> 2). Refused, naming the file, the culture its dates fit
    and the setting; with the setting right the same file passes and reads the 5th of
    November. The other way round (an en-US export, en-GB set) and an application list
    are refused the same way; an export in the culture set passes, and so does a date in
    a format the culture does not list whose day and month could be in its order."""
    import duckdb

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    folder = tmp_path / "in"
    folder.mkdir()
    header = "SamAccountName,UserPrincipalName,mail,Enabled,whenCreated\n"
    gb = (header + "ann,ann@cc.example.org,ann@cc.example.org,True,05/11/2024 10:00:00\n"
          "bob,bob@cc.example.org,bob@cc.example.org,True,22/01/2024 14:05:09\n")
    us = (header + "ann,ann@cc.example.org,ann@cc.example.org,True,11/5/2024 10:00:00 AM\n"
          "bob,bob@cc.example.org,bob@cc.example.org,True,1/22/2024 2:05:09 PM\n")
    in_gb = Cultures(directory="en-GB", applications="en-GB")

    def refused(name: str, fits: str, setting: str, cultures: Cultures = HOSPITAL_CULTURES
                ) -> None:
        with pytest.raises(UsageError, match=rf"^{name}: dates written in another culture: "
                                             rf"\d+ date\(s\) in \w+ fit {fits}, not the "
                                             rf"\S+ that \[cultures\] {setting} sets: .*day "
                                             r"and month swapped.* No report was written: "
                                             rf"set \[cultures\] {setting} to the culture"):
            check_incomplete_exports(_ingested(folder, tmp_path, cultures))

    (folder / "ad.csv").write_text(gb)
    refused(r"ad\.csv", "en-GB", "directory")
    warehouse = _ingested(folder, tmp_path, in_gb)
    check_incomplete_exports(warehouse)
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("select strftime(created_at, '%Y-%m-%d') from raw_directory_accounts "
                           "order by source_line").fetchall() == [("2024-11-05",),
                                                                  ("2024-01-22",)]
    (folder / "ad.csv").write_text(us)
    refused(r"ad\.csv", "en-US", "directory", in_gb)
    check_incomplete_exports(_ingested(folder, tmp_path))

    (folder / "cerner.csv").write_text(
        "application,username,email,display_name,active,created,last_access,role\n"
        "CERNER,ann,ann@cc.example.org,Ann Lee,true,1/5/2026,10/30/2026,\n"
        "CERNER,bob,bob@cc.example.org,Bob Ray,true,1/6/2026,30/10/2026,\n")
    refused(r"cerner\.csv", "en-GB", "applications")
    # a format en-US does not list (24-hour, no seconds) in US order says nothing of the
    # culture: that date is quarantined, the run is not told to set en-GB (which would
    # read 10/11 as the 10th of November)
    (folder / "cerner.csv").write_text(
        "application,username,email,display_name,active,created,last_access,role\n"
        "CERNER,ann,ann@cc.example.org,Ann Lee,true,1/5/2026,10/11/2026 14:00,\n"
        "CERNER,bob,bob@cc.example.org,Bob Ray,true,1/6/2026,10/30/2026,\n")
    warehouse = _ingested(folder, tmp_path)
    check_incomplete_exports(warehouse)
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("select column_name, reason from quarantine").fetchall() == [
            ("last_access", "not a date/time in a known format")]


def test_hand_written_files_whose_every_row_is_quarantined_are_refused(tmp_path):
    """An export whose every row is quarantined was read as if it held nothing: the
    sample's PS 7 AD export with its dates in a format no culture reads (22.01.2024
    12:05:09) had all 124 rows quarantined, and the run went on without them. Refused like
    an unreadable file, naming the file, its rows and the most frequent reason; a file of
    one row quarantined (one bad submission) passes, as does a file with one row accepted
    beside the quarantined ones, and an HL7 batch of message types the census does not
    use."""
    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    folder = tmp_path / "in"
    folder.mkdir()
    header = "SamAccountName,UserPrincipalName,mail,Enabled,whenCreated\n"
    ann = "ann,ann@cc.example.org,ann@cc.example.org,True,"
    bob = "bob,bob@cc.example.org,bob@cc.example.org,True,"
    (folder / "ad.csv").write_text(f"{header}{ann}22.01.2024 12:05:09\n")
    check_incomplete_exports(_ingested(folder, tmp_path))  # one row: a bad row, no more
    (folder / "ad.csv").write_text(f"{header}{ann}22.01.2024 12:05:09\n"
                                   f"{bob}23.01.2024 12:05:09\n")
    with pytest.raises(UsageError, match=r"^ad\.csv: every one of its 2 rows was quarantined "
                                         r"\(most for whenCreated: not a date/time in a known "
                                         r"format\): the findings would be made without what "
                                         r"it holds.* No report was written: correct the "
                                         r"export or take it out of the folder, or rerun "
                                         r"with --accept-shrink$"):
        check_incomplete_exports(_ingested(folder, tmp_path))
    (folder / "ad.csv").write_text(f"{header}{ann}22.01.2024 12:05:09\n"
                                   f"{bob}1/23/2024 12:05:09 PM\n")
    check_incomplete_exports(_ingested(folder, tmp_path))

    # an HL7 batch of message types the census does not use (A31 person updates) loses
    # nothing it needs; the same messages without their FIN lose admissions
    feed = folder / "adt_20261031.hl7"
    feed.write_text(_adt_message(1, "A31") + _adt_message(2, "A31"))
    check_incomplete_exports(_ingested(folder, tmp_path))
    feed.write_text(_adt_message(1, "A01", "") + _adt_message(2, "A01", ""))
    with pytest.raises(UsageError, match=r"^adt_20261031\.hl7: every one of its 2 rows was "
                                         r"quarantined \(most for fin: a required value is "
                                         r"missing\)"):
        check_incomplete_exports(_ingested(folder, tmp_path))


def test_hand_written_paged_exports_missing_a_page_are_told_apart(tmp_path):
    """Graph users pages and DocuSign listStatusChanges pages written by hand as the APIs
    return them: complete, each set passes the check; without its last Graph page, or its
    middle DocuSign page, the run is refused naming what is missing."""

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    graph = "https://graph.microsoft.com/v1.0"

    def user(n: int) -> dict:
        return {"id": f"0000000{n}", "userPrincipalName": f"u{n}@cc.example.org",
                "accountEnabled": True, "createdDateTime": "2025-01-02T03:04:05Z",
                "signInActivity": None}

    def envelope(n: int) -> dict:
        return {"envelopeId": f"env-{n}", "status": "sent",
                "emailSubject": f"Clinical Connectivity Data Access Agreement - CS000000{n}",
                "sentDateTime": "2026-10-01T10:00:00Z",
                "statusChangedDateTime": "2026-10-01T10:00:00Z",
                "recipients": {"signers": []}}  # (include=recipients: sent, none signed)

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "users_1.json").write_text(json.dumps({
        "@odata.context": f"{graph}/$metadata#users", "value": [user(1), user(2)],
        "@odata.nextLink": f"{graph}/users?$top=2&$skiptoken=RFNwdAIAAQAAAC"}))
    (folder / "users_2.json").write_text(json.dumps({
        "@odata.context": f"{graph}/$metadata#users", "value": [user(3)]}))
    for n, (start, end) in enumerate(((0, 1), (2, 3), (4, 4)), start=1):
        (folder / f"envelopes_{n}.json").write_text(json.dumps({
            "resultSetSize": str(end - start + 1), "totalSetSize": "5",
            "startPosition": str(start), "endPosition": str(end),
            **({"nextUri": f"/accounts/1/envelopes?start_position={end + 1}"}
               if end < 4 else {}),
            "envelopes": [envelope(i) for i in range(start, end + 1)]}))

    def check() -> None:
        check_incomplete_exports(_ingested(folder, tmp_path))

    check()  # complete: nothing to refuse
    (folder / "envelopes_2.json").unlink()
    with pytest.raises(UsageError, match="holds positions 2-3 of the 5 envelopes"):
        check()
    (folder / "envelopes_1.json").unlink()
    (folder / "envelopes_3.json").unlink()
    (folder / "users_2.json").unlink()
    with pytest.raises(UsageError, match=r"each of the 1 Graph page file\(s\) says another "
                                         r"page follows"):
        check()


def test_graph_users_pages_that_count_their_export_show_a_missing_middle_page(tmp_path):
    """With `$count=true` Graph's first page says how many users the export holds
    (`@odata.count`): pages that hold fewer, by a page or more, lack one, the middle one
    too (which nothing else shows). A shortfall under a page is the count's eventual
    consistency (a user added while paging), not a lost page: it passes."""

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    graph = "https://graph.microsoft.com/v1.0"

    def user(n: int) -> dict:
        return {"id": f"0000000{n}", "userPrincipalName": f"u{n}@cc.example.org",
                "accountEnabled": True, "createdDateTime": "2025-01-02T03:04:05Z"}

    folder = tmp_path / "in"
    folder.mkdir()

    def pages(count: int) -> None:
        for n, users in enumerate(([1, 2], [3, 4], [5, 6], [7]), start=1):
            body = {"@odata.context": f"{graph}/$metadata#users",
                    "value": [user(i) for i in users]}
            if n == 1:
                body["@odata.count"] = count
            if n < 4:
                body["@odata.nextLink"] = f"{graph}/users?$count=true&$top=2&$skiptoken=p{n}"
            (folder / f"users_{n}.json").write_text(json.dumps(body))

    def check() -> None:
        check_incomplete_exports(_ingested(folder, tmp_path))

    pages(7)
    check()  # complete
    pages(8)
    check()  # one more user counted than paged: consistency, not a lost page
    pages(7)
    (folder / "users_2.json").unlink()
    with pytest.raises(UsageError, match=r"Entra ID users: the Graph page files hold 5 of "
                                         r"the 7 records their export counts"):
        check()
    pages(7)
    (folder / "users_4.json").unlink()  # and each page left says another follows
    with pytest.raises(UsageError, match=r"each of the 3 Graph page file\(s\)"):
        check()


def test_hand_written_hl7_batch_files_that_say_messages_are_missing_are_refused(tmp_path):
    """The HL7 batch protocol's envelope (FHS/BHS ... BTS/FTS) says how many messages and
    batches it closes: a batch file whose trailer counts more messages than it holds, or
    that ends without its trailers (cut short in transfer), has lost messages; a lost
    discharge would keep a patient who left on a provider's census. Refused, naming the
    file; complete batches and a file of bare messages pass."""
    import duckdb

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    head = "FHS|^~\\&|CERNER|BANNER|CC|CC|20261031090000\rBHS|^~\\&|CERNER|BANNER\r"
    folder = tmp_path / "in"
    (folder / "adt").mkdir(parents=True)
    feed = folder / "adt" / "adt_20261031.hl7"

    def check() -> None:
        warehouse = _ingested(folder, tmp_path)
        with duckdb.connect(warehouse, read_only=True) as con:
            read = con.execute("select count(*) from ingested_adt_events").fetchone()[0]
        assert read == 3  # the messages there are read either way
        check_incomplete_exports(warehouse)

    three = _adt_message(1) + _adt_message(2) + _adt_message(3)
    feed.write_text(head + three + "BTS|3\rFTS|1\r")
    check()  # complete
    feed.write_text(three)
    check()  # bare messages: nothing says what is missing
    feed.write_text(head + three + "BTS|2\rFTS|1\r")
    check()  # a trailer counting fewer: nothing is missing
    feed.write_text(head + three + "BTS|5\rFTS|1\r")
    with pytest.raises(UsageError, match=r"ADT feed: adt/adt_20261031\.hl7 says messages are "
                                         r"missing from it \(a batch holds 3 message\(s\) "
                                         r"where its trailer \(BTS\) counts 5\)"):
        check()
    feed.write_text(head + three)  # cut short
    with pytest.raises(UsageError, match=r"no trailer \(BTS\): the file was cut short"):
        check()


def test_hand_written_graph_sign_in_pages_missing_the_last_are_refused(tmp_path):
    """`GET /auditLogs/signIns` pages as Graph returns them (newest first): two complete
    pages pass; the first alone says another page follows, so the older sign-ins are
    missing and people who signed in only then would be listed as dormant: refused, as
    a users export missing its last page is. A portal download (an array) is no page."""
    import duckdb

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    graph = "https://graph.microsoft.com/v1.0"

    def sign_in(n: int, day: int) -> dict:
        return {"id": f"66ea54eb-6301-4ee5-be62-ff5a759b{n:04d}",
                "createdDateTime": f"2026-10-{day:02d}T08:00:00Z",
                "userPrincipalName": f"u{n}@cc.example.org",
                "appDisplayName": "Cerner Millennium", "status": {"errorCode": 0}}

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "signins_1.json").write_text(json.dumps({
        "@odata.context": f"{graph}/$metadata#auditLogs/signIns",
        "value": [sign_in(1, 30), sign_in(2, 29)],
        "@odata.nextLink": f"{graph}/auditLogs/signIns?$top=2&$skiptoken=9a3c5e"}))
    (folder / "signins_2.json").write_text(json.dumps({
        "@odata.context": f"{graph}/$metadata#auditLogs/signIns",
        "value": [sign_in(3, 3)]}))

    def check() -> None:
        warehouse = _ingested(folder, tmp_path)
        with duckdb.connect(warehouse, read_only=True) as con:
            formats = {f for (f,) in con.execute("select format from input_files").fetchall()}
        assert formats == {"entra-sign-in-log-json"}
        check_incomplete_exports(warehouse)

    check()  # complete
    (folder / "signins_2.json").unlink()
    with pytest.raises(UsageError, match=r"Entra ID sign-ins: each of the 1 Graph page "
                                         r"file\(s\) says another page follows .* dormant"):
        check()
    (folder / "signins_1.json").unlink()
    (folder / "download.json").write_text(json.dumps([sign_in(4, 30)]))
    check()  # the portal's download holds every row it was asked for


def test_hand_written_account_exports_that_hold_no_account_are_refused(tmp_path):
    """An export of accounts with its header and no row — the job failed, lost its
    permission, or was filtered to nothing — read as the truth, left every access it
    should list unflagged (a removed member's, a disabled account's) and every request for
    it not provisioned. Refused, naming the file: an application's user list (a CSV, and
    a workbook), an AD export, Graph users pages that hold no user; the same files with a
    row pass, and so does an empty sign-in log (a quiet day)."""
    import json

    import duckdb
    from openpyxl import Workbook

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    folder = tmp_path / "in"
    folder.mkdir()
    ad_header = "SamAccountName,UserPrincipalName,mail,Enabled,whenCreated\n"
    ad_row = "ann,ann@cc.example.org,ann@cc.example.org,True,1/5/2026 9:00:00 AM\n"
    list_header = "application,username,email,display_name,active,created,last_access,role\n"
    list_row = "CERNER,ann,ann@cc.example.org,Ann Lee,true,2026-01-05,2026-10-30,\n"
    (folder / "ad.csv").write_text(ad_header + ad_row)
    (folder / "cerner.csv").write_text(list_header)
    (folder / "signins.csv").write_text(  # the Entra admin center's download, no sign-in
        "Date (UTC),Request ID,User,Username,Application,IP address,Status\n")

    def check() -> None:
        check_incomplete_exports(_ingested(folder, tmp_path))

    with pytest.raises(UsageError, match=r"^cerner\.csv holds no account, only a header: "
                                         r".* --accept-shrink$"):
        check()
    (folder / "cerner.csv").write_text(list_header + list_row)
    check()  # the sign-in log with no sign-in passes (read as one: asserted below)

    book = Workbook()
    book.active.append(list_header.strip().split(","))
    book.save(folder / "pacs.xlsx")
    (folder / "ad.csv").write_text(ad_header)
    with pytest.raises(UsageError, match=r"^ad\.csv holds no account, only a header, nor do 1 "
                                         r"more file\(s\)"):
        check()
    (folder / "ad.csv").write_text(ad_header + ad_row)
    (folder / "pacs.xlsx").unlink()

    page = folder / "users_page_001.json"
    page.write_text(json.dumps({"@odata.context": "https://graph.microsoft.com/v1.0/"
                                "$metadata#users", "value": []}))
    with pytest.raises(UsageError, match=r"^the 1 Entra ID users Graph page file\(s\) holds "
                                         r"no account, each page's value empty:"):
        check()
    page.write_text(json.dumps({"value": [{"id": "1", "userPrincipalName": "ann@cc.example.org",
                                           "accountEnabled": True}]}))
    warehouse = _ingested(folder, tmp_path)
    check_incomplete_exports(warehouse)
    with duckdb.connect(warehouse, read_only=True) as con:
        assert con.execute("select status from input_files where source_file = 'signins.csv'"
                           ).fetchone() == ("read",)


def test_hand_written_folders_missing_a_whole_source_are_refused(tmp_path):
    """A source left out of the folder altogether, on a run with nothing of it stored: the
    enrollment says it exists (an application requested, a group enrolled), and the run
    holds nothing of it. Without the Cerner list every Cerner request was NOT_PROVISIONED
    and a removed member's Cerner access unflagged; without the DocuSign export every
    group had no DAA in force. Refused for the runs that use the source, naming it; the
    dormant run's documented minimum (directory and sign-in exports, no application list
    at all) and the census without application lists pass."""
    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "members.csv").write_text(
        "Request Number,First Name,M.I.,Last Name,Email Address,Staff Type,Suffix,"
        "Cerner Millennium,PACS Synapse\n"
        "CS0000001,Ann,,Lee,ann@clinic.example.com,Sponsoring Physician,MD,true,true\n"
        "CS0000001,Bo,,Ray,bo@clinic.example.com,Group Administrator,,false,true\n")
    (folder / "ad.csv").write_text(
        "SamAccountName,UserPrincipalName,mail,Enabled,whenCreated\n"
        "alee,ann@clinic.example.com,ann@clinic.example.com,True,1/5/2026 9:00:00 AM\n"
        "bray,bo@clinic.example.com,bo@clinic.example.com,True,1/5/2026 9:00:00 AM\n")
    header = "application,username,email,display_name,active,created,last_access,role\n"
    lists = {"cerner.csv": "CERNER,alee,ann@clinic.example.com,Ann Lee,true,2026-01-05,"
                           "2026-10-30,\n",
             "pacs.csv": "PACS,alee,ann@clinic.example.com,Ann Lee,true,2026-01-05,,\n"
                         "PACS,bray,bo@clinic.example.com,Bo Ray,true,2026-01-05,,\n"}
    daa = ("envelope_id,request_number,status,sent_at,completed_at,declined_at,voided_at,"
           "recipient_role,recipient_name,recipient_email,recipient_status,signed_at\n"
           "env-1,CS0000001,completed,2026-01-02,2026-01-03,,,Sponsoring Physician,Ann Lee,"
           "ann@clinic.example.com,completed,2026-01-03\n")

    def write(*names: str) -> None:
        for path in folder.glob("*.csv"):
            if path.name in lists or path.name == "daa.csv":
                path.unlink()
        for name in names:
            (folder / name).write_text(daa if name == "daa.csv" else header + lists[name])

    def check(run: str) -> None:
        check_incomplete_exports(_ingested(folder, tmp_path), run)

    write("cerner.csv", "pacs.csv", "daa.csv")
    for run in ("review", "dormant", "census"):
        check(run)  # every source there

    write("cerner.csv", "daa.csv")  # the PACS list forgotten
    for run in ("review", "dormant"):
        with pytest.raises(UsageError, match=r"^No PACS account is among the inputs .* while "
                                             r"2 enrollment request\(s\) ask for it: .*"
                                             r"--accept-shrink$"):
            check(run)
    check("census")  # its distribution lists do not depend on application accounts

    write("daa.csv")  # no application list at all
    with pytest.raises(UsageError, match=r"^No CERNER account .* while 1 enrollment "
                                         r"request\(s\) ask for it; nor is any of PACS: each "
                                         r"request for it would be reviewed as not "
                                         r"provisioned"):
        check("review")
    check("dormant")  # its minimum: directory (and sign-in) exports

    write("cerner.csv", "pacs.csv")  # the DocuSign export forgotten
    for run in ("review", "census"):
        with pytest.raises(UsageError, match=r"^No Data Access Agreement envelope is among "
                                             r"the inputs .* while 1 group\(s\) are enrolled"):
            check(run)
    check("dormant")  # it reads no agreement


def test_hand_written_docusign_exports_without_recipients_are_refused(tmp_path):
    """`listStatusChanges` leaves recipients out unless asked (`include=recipients`), and a
    Connect configuration without "Include Recipients" sends summaries without them. Read
    as they are, every completed agreement lacked its signers, so every group's access was
    NO_ACTIVE_DAA (on the 100-group bench folder: 2,411 against 80). Refused, naming the
    file; the same envelopes with their recipients pass, and so does a file where only
    some envelopes have none (a draft, a voided one)."""
    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    def envelope(n: int, recipients: bool) -> dict:
        body = {"envelopeId": f"env-{n}", "status": "completed",
                "emailSubject": f"Clinical Connectivity Data Access Agreement - CS000000{n}",
                "sentDateTime": "2026-10-01T10:00:00Z",
                "completedDateTime": "2026-10-02T10:00:00Z",
                "statusChangedDateTime": "2026-10-02T10:00:00Z"}
        if recipients:
            body["recipients"] = {"signers": [
                {"recipientId": "1", "roleName": "Sponsoring Physician", "name": "Ann Lee",
                 "email": f"ann{n}@clinic.example.com", "status": "completed",
                 "signedDateTime": "2026-10-02T10:00:00Z"}]}
        return body

    folder = tmp_path / "in"
    folder.mkdir()
    page = folder / "envelopes.json"

    def check() -> None:
        check_incomplete_exports(_ingested(folder, tmp_path))

    def write(*envelopes: dict) -> None:
        page.write_text(json.dumps({"resultSetSize": str(len(envelopes)),
                                    "totalSetSize": str(len(envelopes)), "startPosition": "0",
                                    "endPosition": str(len(envelopes) - 1),
                                    "envelopes": list(envelopes)}))

    write(envelope(1, True), envelope(2, True))
    check()
    write(envelope(1, True), envelope(2, False))
    check()  # one envelope without: not an export made without them
    write(envelope(1, False), envelope(2, False))
    with pytest.raises(UsageError, match=r"^DocuSign envelopes: envelopes\.json lists no "
                                         r"envelope's recipients \(exported without "
                                         r"include=recipients\): .* --accept-shrink$"):
        check()
    page.unlink()  # a Connect message, its summary without recipients
    (folder / "connect.json").write_text(json.dumps({
        "event": "envelope-completed", "apiVersion": "v2.1",
        "data": {"envelopeId": "env-3", "envelopeSummary": envelope(3, False)}}))
    with pytest.raises(UsageError, match=r"^DocuSign envelopes: connect\.json lists no"):
        check()


def test_hand_written_account_exports_that_give_no_account_a_status_are_refused(tmp_path):
    """An export of accounts whose status is empty on every row read every account as
    disabled or inactive (an empty cell is no) or set them all aside: on the 100-group
    bench folder the Cerner list's active column so emptied made NOT_PROVISIONED 25 ->
    1,023; both AD exports' Enabled column, DISABLED_WITH_ACCESS 30 -> 2,411 and R2W
    recipients left off 6 -> 420. Graph returns accountEnabled only when $select names it.
    Refused, naming the file: an application list as a CSV and as a workbook under a title
    line, an AD export, Graph users pages without accountEnabled. A list where some rows
    say true and the rest are empty (a flag column: empty is no) passes."""
    from openpyxl import Workbook

    from ccreview.core.errors import UsageError
    from ccreview.flows.access_review import check_incomplete_exports

    folder = tmp_path / "in"
    folder.mkdir()
    header = ["application", "username", "email", "display_name", "active", "created",
              "last_access", "role"]

    def row(n: int, active: str) -> list[str]:
        return ["CERNER", f"u{n}", f"u{n}@clinic.example.com", f"User {n}", active,
                "2026-01-05", "2026-10-30", ""]

    def check() -> None:
        check_incomplete_exports(_ingested(folder, tmp_path))

    def refused(name: str, where: str) -> None:
        with pytest.raises(UsageError, match=rf"^{name}: no account has a status \({where}"
                                             r".*\): every account in it would be reviewed "
                                             r"as disabled or inactive"):
            check()

    lines = [header, row(1, ""), row(2, "")]
    (folder / "cerner.csv").write_text("\n".join(",".join(r) for r in lines) + "\n")
    refused(r"cerner\.csv", "the active column is empty on every row")
    lines[1] = row(1, "true")
    (folder / "cerner.csv").write_text("\n".join(",".join(r) for r in lines) + "\n")
    check()  # a flag column: u2's empty cell is no

    book = Workbook()
    book.active.append(["Cerner Millennium users, exported 2026-10-31"])
    book.active.append(header)
    book.active.append(row(3, ""))
    book.save(folder / "cerner_more.xlsx")
    refused(r"cerner_more\.xlsx", "the active column")
    (folder / "cerner_more.xlsx").unlink()

    ad = folder / "ad.csv"
    ad.write_text('"SamAccountName","UserPrincipalName","Enabled"\n'
                  '"u1","u1@cc.example.org",""\n"u2","u2@cc.example.org",""\n')
    refused(r"ad\.csv", "the Enabled column is empty on every row")
    ad.write_text('"SamAccountName","UserPrincipalName","Enabled"\n'
                  '"u1","u1@cc.example.org","True"\n"u2","u2@cc.example.org",""\n')
    check()

    page = folder / "users_page_001.json"
    page.write_text(json.dumps({  # GET /users without $select: no accountEnabled
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": [{"id": "1", "userPrincipalName": "u1@cc.example.org", "mail": None},
                  {"id": "2", "userPrincipalName": "u2@cc.example.org", "mail": None}]}))
    refused(r"users_page_001\.json", "accountEnabled is empty or missing for every user")
