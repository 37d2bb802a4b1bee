"""Bad rows are quarantined with file, line, column, rule and reason; nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ccreview.contracts.ingest import ingest_inputs, validate_ingested
from tests.conftest import FIXTURES, SECRET


def _ingest(folder: Path) -> tuple[duckdb.DuckDBPyConnection, dict]:
    con = duckdb.connect()
    ingest_inputs(folder, con)
    return con, validate_ingested(con)


def test_each_bad_row_is_quarantined_with_a_located_reason(bad_inputs):
    con, _ = _ingest(bad_inputs)
    q = con.execute("select table_name, source_file, source_line, column_name, rule "
                    "from quarantine order by all").fetchall()
    assert ("directory_accounts", "ad.csv", 3, "whenCreated", "datetime") in q
    assert ("directory_accounts", "ad.csv", 4, "lastlogontimestamp", "filetime") in q
    assert ("directory_accounts", "ad.csv", 5, "sam_account_name", "not_nullable") in q
    assert ("directory_accounts", "ad.csv", 5, "user_principal_name", "account_identifiable") in q
    assert ("directory_accounts", "ad.csv", 6, "(row)", "csv_width") in q
    assert ("directory_accounts", "ad.csv", 7, "Enabled", "boolean") in q
    assert ("enrollment_people", "enrollment.json", 1, "email", "email_syntax") in q
    assert ("enrollment_people", "enrollment.json", 1, "(row)", "add_needs_person") in q
    assert ("enrollment_app_requests", "enrollment.json", 1, "members[1].applications",
            "application") in q
    assert ("enrollment_submissions", "enrollment2.json", 1, "request_number",
            "request_number_pattern") in q
    assert ("application_accounts", "apps.csv", 5, "application", "application") in q
    # values the review does not key on warn and keep the row (its other faults still count)
    w = con.execute("select table_name, source_file, source_line, column_name, rule "
                    "from row_warnings order by all").fetchall()
    assert ("directory_accounts", "ad.csv", 7, "mail", "email_syntax") in w
    assert ("enrollment_people", "enrollment.json", 1, "staff_type", "staff_type") in w
    assert not {r[:4] for r in w} & {r[:4] for r in q if r[3] in ("mail", "staff_type")}


def test_reasons_never_quote_the_rejected_value(bad_inputs):
    con, _ = _ingest(bad_inputs)
    text = " ".join(str(v) for table in ("quarantine", "row_warnings")
                    for row in con.execute(f"select * from {table}").fetchall() for v in row)
    assert SECRET not in text
    assert "Minesweeper" not in text


def test_read_equals_accepted_plus_quarantined_for_every_file(bad_inputs):
    con, counts = _ingest(bad_inputs)
    for (source_file, table), c in counts.items():
        assert c.read == c.accepted + c.quarantined, (source_file, table)
        raw = con.execute(f"select count(*) from raw_{table} where source_file = ?",
                          [source_file]).fetchall()[0][0]
        quarantined_rows = con.execute(
            "select count(distinct source_line) from quarantine "
            "where table_name = ? and source_file = ?", [table, source_file]).fetchall()[0][0]
        assert raw == c.accepted
        if table != "enrollment_people" and table != "enrollment_app_requests":
            assert quarantined_rows == c.quarantined  # one row per line in these tables
    ad = counts[("ad.csv", "directory_accounts")]
    assert (ad.read, ad.accepted, ad.quarantined) == (6, 1, 5)


def test_unusable_files_are_listed_and_the_run_goes_on(bad_inputs):
    con, counts = _ingest(bad_inputs)
    files = dict(con.execute("select source_file, status from input_files").fetchall())
    assert files["empty.csv"] == "unreadable"
    assert files["truncated.json"] == "unreadable"
    assert files["notes.txt"] == "unrecognised"
    assert files["ad.csv"] == "read"
    assert ("apps.csv", "application_accounts") in counts


FIXTURE_FILES = sorted(p.name for p in FIXTURES.iterdir() if p.is_file())


def _corruptions(data: bytes) -> dict[str, bytes]:
    import random

    rng = random.Random(len(data))
    flipped = bytearray(data)
    for _ in range(max(3, len(data) // 50)):
        i = rng.randrange(len(flipped))
        flipped[i] = rng.randrange(256)
    lines = data.splitlines(keepends=True)
    return {
        "truncated": data[: len(data) // 2],
        "bytes flipped": bytes(flipped),
        "lines shuffled": b"".join(rng.sample(lines, len(lines))),
        "line dropped": b"".join(lines[:1] + lines[2:]),
        "binary": b"\x00\x01\x02" + data,
    }


@pytest.mark.parametrize("name", FIXTURE_FILES)
def test_corrupted_copies_are_quarantined_or_rejected_never_crash(tmp_path, name):
    """Every fixture, damaged five ways: the run reads what it can, quarantines or rejects
    the rest, and the counts still reconcile."""
    for kind, data in _corruptions((FIXTURES / name).read_bytes()).items():
        folder = tmp_path / kind.replace(" ", "_")
        folder.mkdir()
        (folder / name).write_bytes(data)
        con, counts = _ingest(folder)
        status = con.execute("select status from input_files").fetchall()
        assert status[0][0] in ("read", "unreadable", "unrecognised"), kind
        for c in counts.values():
            assert c.read == c.accepted + c.quarantined, kind


def test_warning_checks_keep_the_row_and_list_it(tmp_path):
    import json

    doc = json.loads((FIXTURES / "enrollment_single.json").read_text())
    doc["sponsoring_physician"]["npi"] = "1234567890"  # bad check digit
    doc["members"][0].update(middle_initial="Q", no_middle_initial=True)  # both
    doc["group_administrator"].update(middle_initial="", no_middle_initial=False)  # neither
    (tmp_path / "reg.json").write_text(json.dumps(doc))
    con, counts = _ingest(tmp_path)
    assert counts[("reg.json", "enrollment_people")].quarantined == 0
    warned = con.execute("select column_name, rule from row_warnings order by all").fetchall()
    assert warned == [("middle_initial", "middle_initial_xor_flag"),
                      ("middle_initial", "middle_initial_xor_flag"), ("npi", "npi_check_digit")]


def test_a_bulk_tables_accepted_rows_are_a_view_that_leaves_the_quarantined_out():
    """Sign-ins are not copied into raw_sign_in_events: it is a view of the ingested rows
    without the quarantined ones, which the quarantine names by file and line."""
    from ccreview.contracts.ingest import create_ingest_tables

    con = duckdb.connect()
    create_ingest_tables(con)
    con.execute("""insert into ingested_sign_in_events values
        (0, 'ada@clinic.example', 'Portal', timestamp '2026-10-30 08:00', true,
         'entra_sign_in_log', 'signins/a.csv', 2),
        (1, null, 'Portal', timestamp '2026-10-30 09:00', true,
         'entra_sign_in_log', 'signins/a.csv', 3),
        (2, 'joan@clinic.example', 'Portal', null, false,
         'entra_sign_in_log', 'signins/a.csv', 4)""")
    counts = validate_ingested(con)
    c = counts[("signins/a.csv", "sign_in_events")]
    assert (c.read, c.accepted, c.quarantined) == (3, 1, 2)
    assert con.execute("select table_type from information_schema.tables "
                       "where table_name = 'raw_sign_in_events'").fetchall() == [("VIEW",)]
    assert con.execute("select \"user\", source_line from raw_sign_in_events").fetchall() == [
        ("ada@clinic.example", 2)]
    assert con.execute("select source_line, column_name, rule from quarantine "
                       "where table_name = 'sign_in_events' order by all").fetchall() == [
        (3, "user", "not_nullable"), (4, "occurred_at", "not_nullable")]
    validate_ingested(con)  # again on the same warehouse: the view is replaced
    assert con.execute("select count(*) from raw_sign_in_events").fetchone() == (1,)


def test_a_check_that_raises_stops_the_run_instead_of_passing_every_row():
    """pandera reports a check that raised as a failure of no row; read as a column-level
    failure it passed every row (an AD check crashing on a missing DN let every account
    through). It stops the run now, naming the check and the exception's type only (its
    text may quote a value)."""
    import pandera.pandas as pa

    from ccreview.contracts.ingest import CheckCrashed, _contract_failures

    def crashes(df):
        raise TypeError("Jane Doe's value")

    schema = pa.DataFrameSchema({"a": pa.Column(None, nullable=True)},
                                checks=[pa.Check(crashes, name="crashes")])
    with pytest.raises(CheckCrashed) as caught:
        _contract_failures(schema, pd.DataFrame({"a": ["x"], "_row_id": [1]}))
    assert str(caught.value) == ("the contract check crashes could not run (TypeError): a "
                                 "defect, no row was judged")
    # a column the schema names and the frame lacks is still no row's failure
    absent = pa.DataFrameSchema({"b": pa.Column(None, required=True)})
    assert _contract_failures(absent, pd.DataFrame({"a": ["x"], "_row_id": [1]})).empty


def test_a_value_that_does_not_parse_is_not_also_reported_missing(tmp_path):
    """`Enabled` = `Perhaps`, a userAccountControl that is no number, an Entra
    `accountEnabled` that is no boolean: one reason each, the parse's. The required-value
    check had added "a required value is missing" on the canonical column, which the
    export names otherwise (`Enabled` / `enabled`), for a value that was there."""
    (tmp_path / "ad.csv").write_text(
        "SamAccountName,UserPrincipalName,Enabled\r\nx,x@cc.example.org,Perhaps\r\n")
    (tmp_path / "csvde.csv").write_text(
        "DN,sAMAccountName,userPrincipalName,userAccountControl\r\n"
        '"CN=y,DC=cc,DC=org",y,y@cc.example.org,enabled\r\n')
    (tmp_path / "entra.json").write_text(json.dumps({"value": [
        {"id": "1", "userPrincipalName": "z@cc.example.org", "accountEnabled": "maybe"}]}))
    con, _ = _ingest(tmp_path)
    assert con.execute("select source_file, column_name, rule from quarantine order by all"
                       ).fetchall() == [("ad.csv", "Enabled", "boolean"),
                                        ("csvde.csv", "userAccountControl",
                                         "user_account_control"),
                                        ("entra.json", "accountEnabled", "boolean")]
