"""`ccreview pull`: the evidence fetched from Microsoft Graph, ServiceNow and DocuSign —
here from local fake servers that follow each API's paging, limits and errors
(`tests/fake_apis.py`) — lands in the shapes the readers take, and a review of the pulled
folder finds what a review of the hand-made exports finds. No test reaches the internet."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import shutil
import stat
from pathlib import Path

import pytest

from ccreview.core.config import config_from_dict
from ccreview.sources import pull
from ccreview.sources.http import MAX_ATTEMPTS, PullError
from ccreview.sources.state import STATE_FOLDER
from tests.cases import servicenow_pairs
from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse, finding_keys
from tests.fake_apis import FakeDocuSign, FakeGraph, FakeServiceNow

NOW = dt.datetime(2026, 11, 2, 0, 0, tzinfo=dt.UTC)
GRAPH_SECRET, SN_PASSWORD = "graph-Secret-value-9f2", "sn-Password-value-4c1"
FAST = 0.01  # backoff base (seconds) for the tests' retries


# ---- the sample's exports, as the source systems would serve them ----------------------

def sample_users() -> list[dict]:
    return json.loads((SAMPLE / "entra" / "users_page_001.json").read_text())["value"]


def sample_sign_ins() -> list[dict]:
    """The sample's sign-in download, back as Graph `signIn` objects."""
    out = []
    with (SAMPLE / "signins" / "entra_sign_ins_001.csv").open(encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            city, state, country = ([*row["Location"].split(", "), "", "", ""])[:3]
            code = int(row["Sign-in error code"] or 0)
            out.append({
                "id": row["Request ID"], "createdDateTime": row["Date (UTC)"],
                "userDisplayName": row["User"], "userPrincipalName": row["Username"],
                "userId": row["User ID"], "appId": row["Application ID"],
                "appDisplayName": row["Application"], "ipAddress": row["IP address"],
                "clientAppUsed": row["Client app"], "correlationId": row["Correlation ID"],
                "resourceDisplayName": row["Resource"],
                "status": {"errorCode": code, "failureReason": row["Failure reason"] or
                           "Other.", "additionalDetails": row[
                               "Multifactor authentication result"] or None},
                "location": {"city": city, "state": state, "countryOrRegion": country}})
    return out


def sample_submissions() -> list[dict]:
    """Every enrollment submission of the sample as the Table API returns it with
    display_value=all, with its sys_id and sys_updated_on (its submission time)."""
    records = []
    for path in sorted((SAMPLE / "enrollment").glob("*.json")):
        body = json.loads(path.read_text())
        docs = body["result"] if isinstance(body, dict) else body
        for doc in docs:
            pairs = doc if isinstance(doc.get("request_number"), dict) \
                else servicenow_pairs(doc)
            n = len(records)
            pairs["sys_id"] = {"display_value": f"{n:032x}", "value": f"{n:032x}"}
            pairs["sys_updated_on"] = dict(pairs["submitted_at"])
            records.append(pairs)
    return records


def sample_envelopes() -> list[dict]:
    return json.loads((SAMPLE / "docusign" / "envelopes.json").read_text())["envelopes"]


@pytest.fixture(scope="module")
def rsa_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM,
                            serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption()).decode()
    return key, pem


@pytest.fixture
def servers(rsa_key, monkeypatch):
    key, pem = rsa_key
    graph = FakeGraph(sample_users(), sample_sign_ins(), client_secret=GRAPH_SECRET)
    sn = FakeServiceNow(sample_submissions(), password=SN_PASSWORD)
    ds = FakeDocuSign(sample_envelopes(), key.public_key())
    monkeypatch.setenv("CCREVIEW_GRAPH_CLIENT_SECRET", GRAPH_SECRET)
    monkeypatch.setenv("CCREVIEW_SERVICENOW_PASSWORD", SN_PASSWORD)
    monkeypatch.setenv("CCREVIEW_DOCUSIGN_PRIVATE_KEY", pem)
    yield graph, sn, ds
    for s in (graph, sn, ds):
        s.close()


def settings(fake_graph: FakeGraph, sn: FakeServiceNow, ds: FakeDocuSign, **extra):
    graph = fake_graph
    return config_from_dict({"pull": {
        "graph": {"tenant_id": graph.tenant, "client_id": graph.client_id,
                  "login_url": graph.url, "graph_url": f"{graph.url}/v1.0",
                  "first_pull_days": 700,  # the sample reaches back to Jan 2025
                  **extra.get("graph", {})},
        "servicenow": {"instance_url": sn.url, "table": sn.table, "user": sn.user,
                       **extra.get("servicenow", {})},
        "docusign": {"account_id": ds.account, "integration_key": ds.integration_key,
                     "user_id": ds.user_id, "base_uri": ds.url, "oauth_url": ds.url,
                     **extra.get("docusign", {})}}})


def without_pulled_kinds(tmp_path: Path) -> Path:
    """The sample without what the three sources serve: the rest stays hand-made."""
    folder = tmp_path / "input"
    shutil.copytree(SAMPLE, folder)
    shutil.rmtree(folder / "entra")
    shutil.rmtree(folder / "signins")
    for p in [*(folder / "enrollment").glob("*.json"), folder / "docusign" / "envelopes.json"]:
        p.unlink()
    return folder


def pull_all(folder: Path, config, now: dt.datetime = NOW) -> dict[str, list]:
    return {s: pull(s, folder, config, now=now, backoff_seconds=FAST)
            for s in ("graph", "servicenow", "docusign")}


# ---- the tests ---------------------------------------------------------------------------

def test_a_pulled_folder_reviews_like_the_hand_made_exports(servers, tmp_path,
                                                            sample_warehouse):
    graph, sn, ds = servers
    folder = without_pulled_kinds(tmp_path)
    results = pull_all(folder, settings(graph, sn, ds))
    written = {p.relative_to(folder).as_posix() for rs in results.values() for r in rs
               for p in r.written}
    assert written == {
        "entra/graph_users/users_page_0001.json", "entra/graph_users/users_page_0002.json",
        "entra/graph_users/users_page_0003.json",
        "signins/graph_sign_ins_20241202T000000Z_20261101T233000Z.csv",
        "enrollment/servicenow_19700101T000000Z_20261101T235500Z.json",
        "docusign/docusign_envelopes_20161104T000000Z_20261101T235500Z.json"}
    con = build_warehouse(folder, SAMPLE_AS_OF)
    for table in ("raw_entra_users", "raw_sign_in_events", "raw_enrollment_submissions",
                  "raw_daa_envelopes"):
        assert con.execute(f"select count(*) from {table}").fetchone() == \
            sample_warehouse.execute(f"select count(*) from {table}").fetchone(), table
    assert con.execute("select count(*) from quarantine").fetchone() == (0,)
    assert finding_keys(con) == finding_keys(sample_warehouse)
    # Graph's page limits honoured: 120 users a page with signInActivity, 1000 sign-ins
    assert {q["$top"] for q in graph.served("/users")} == {"120"}
    assert {q["$top"] for q in graph.served("/signIns")} == {"1000"}
    # the sign-ins file is the portal download's layout, byte-order mark included
    csv_file = next((folder / "signins").glob("*.csv"))
    assert csv_file.read_bytes().startswith("\ufeffDate (UTC),Request ID,".encode())


def test_a_second_pull_brings_only_what_changed_since(servers, tmp_path):
    graph, sn, ds = servers
    folder = tmp_path / "input"
    config = settings(graph, sn, ds)
    pull_all(folder, config)
    later = NOW + dt.timedelta(days=1)
    edge = "2026-11-01T23:30:00Z"  # exactly the first window's end: the second one's
    graph.sign_ins = graph.sign_ins + [
        {**graph.sign_ins[0], "id": "new-at-the-edge", "createdDateTime": edge},
        {**graph.sign_ins[0], "id": "new-later", "createdDateTime": "2026-11-02T08:00:00Z"}]
    sn.records[3]["sys_updated_on"] = {"display_value": "", "value": "2026-11-02 09:00:00"}
    ds.envelopes = ds.envelopes + [{**ds.envelopes[0], "status": "voided",
                                    "statusChangedDateTime": "2026-11-02T10:00:00Z"}]
    second = pull_all(folder, config, later)
    counts = {s: sum(r.records for r in rs if r.source != "graph-users")
              for s, rs in second.items()}
    assert counts == {"graph": 2, "servicenow": 1, "docusign": 1}
    ids = []
    for f in sorted((folder / "signins").glob("*.csv")):
        with f.open(encoding="utf-8-sig") as fh:
            ids += [row["Request ID"] for row in csv.DictReader(fh)]
    assert len(ids) == len(set(ids)) == len(graph.sign_ins)  # no gap, nothing twice
    # each pull's files are recorded with their SHA-256 beside the cursor
    import hashlib

    state = json.loads((folder / STATE_FOLDER / "servicenow.json").read_text())
    assert state["cursor"] == "2026-11-02T23:55:00Z"
    assert [[f["sha256"] for f in p["files"]] for p in state["pulls"]] == [
        [hashlib.sha256(f.read_bytes()).hexdigest()]
        for f in sorted((folder / "enrollment").glob("servicenow_*.json"))]
    # a third pull with nothing new writes no file
    third = pull_all(folder, config, later + dt.timedelta(hours=1))
    assert [r.written for r in third["servicenow"] + third["docusign"]] == [[], []]


def test_an_interrupted_pull_resumes_where_it_stopped(servers, tmp_path, monkeypatch):
    graph, sn, ds = servers
    monkeypatch.setattr("ccreview.sources.servicenow.PAGE", 10)
    folder = tmp_path / "input"
    config = settings(graph, sn, ds)
    # the third page of sign-ins keeps failing past the retries; ServiceNow and DocuSign
    # fail on their second page the same way
    graph.fail("/auditLogs/signIns", 503, times=MAX_ATTEMPTS, after=2)
    sn.fail("/api/now/table", 500, times=MAX_ATTEMPTS, after=1)
    ds.fail("/envelopes", 500, times=MAX_ATTEMPTS, after=1)
    with pytest.raises(PullError) as exc:
        pull("graph", folder, config, now=NOW, backoff_seconds=FAST)
    assert "503" in str(exc.value) and "\n" not in str(exc.value)
    state = json.loads((folder / STATE_FOLDER / "graph-sign-ins.json").read_text())
    assert state["in_progress"]["pages"] == 2 and state["in_progress"]["next"]
    assert not list((folder / "signins").glob("*.csv"))  # nothing half-written for readers
    for source in ("docusign", "servicenow"):
        with pytest.raises(PullError):
            pull(source, folder, config, now=NOW, backoff_seconds=FAST)
    first_attempt = len(graph.served("/auditLogs/signIns"))
    # again, later: the window and the page it stopped at are taken up, not restarted
    results = pull("graph", folder, config, now=NOW + dt.timedelta(hours=5),
                   backoff_seconds=FAST)
    resumed = [r for r in results if r.source == "graph-sign-ins"][0]
    assert resumed.resumed and resumed.window[1] == "2026-11-01T23:30:00Z"
    assert "$skiptoken" in graph.served("/auditLogs/signIns")[first_attempt]
    ids = []
    with next((folder / "signins").glob("*.csv")).open(encoding="utf-8-sig") as fh:
        ids = [row["Request ID"] for row in csv.DictReader(fh)]
    assert sorted(ids) == sorted(s["id"] for s in graph.sign_ins)
    ds_result = pull("docusign", folder, config, now=NOW, backoff_seconds=FAST)[0]
    assert ds_result.resumed and ds_result.records == len(ds.envelopes)
    assert ds.served("/envelopes")[-1]["start_position"] != "0"
    sn_before = len(sn.served("/api/now/table"))
    sn_result = pull("servicenow", folder, config, now=NOW, backoff_seconds=FAST)[0]
    assert sn_result.resumed and sn_result.records == len(sn.records)
    assert sn.served("/api/now/table")[sn_before]["sysparm_offset"] == "10"
    assert not (folder / STATE_FOLDER / "graph-sign-ins.partial").exists()


def test_a_record_changing_mid_pull_restarts_the_window_instead_of_skipping_one(
        servers, tmp_path, monkeypatch):
    graph, sn, ds = servers
    monkeypatch.setattr("ccreview.sources.servicenow.PAGE", 10)
    folder = tmp_path / "input"
    changed = []

    def update_once(server):  # after the first page, a record of it is updated again
        if not changed:
            changed.append(1)
            server.records.sort(key=lambda r: (r["sys_updated_on"]["value"],
                                               r["sys_id"]["value"]))
            server.records[0]["sys_updated_on"] = {"display_value": "",
                                                   "value": "2026-11-05 00:00:00"}
    sn.on_page = update_once
    result = pull("servicenow", folder, settings(graph, sn, ds), now=NOW,
                  backoff_seconds=FAST)[0]
    body = json.loads(result.written[0].read_text())
    got = {r["sys_id"]["value"] for r in body["result"]}
    # every record still in the window, once; the updated one comes in the next window
    assert len(body["result"]) == len(got) == len(sn.records) - 1
    assert len(sn.served("/api/now/table")) > -(-len(sn.records) // 10)  # it started over


def test_throttling_waits_as_told_and_transient_errors_are_retried(servers, tmp_path):
    graph, sn, ds = servers
    folder = tmp_path / "input"
    graph.fail("/v1.0/users", 429, times=1, after=1, headers={"Retry-After": "1"})
    sn.fail("/api/now/table", 502, times=2)
    graph.fail("/token", 503, times=1)
    config = settings(graph, sn, ds)
    results = pull_all(folder, config)
    assert results["graph"][0].records == len(graph.users)
    assert results["servicenow"][0].records == len(sn.records)
    users = [(t, s) for _, p, _, t, s in graph.requests if p == "/v1.0/users"]
    throttled = [i for i, (_, s) in enumerate(users) if s == 429][0]
    assert users[throttled + 1][0] - users[throttled][0] >= 0.95  # Retry-After honoured
    line = results["graph"][0].line(folder)  # the waiting is said, with the requests made
    # the token twice (503, then issued) and the users' three pages plus the throttled one
    assert line.endswith("; 6 requests, 1 s waiting to retry")


def test_refused_credentials_and_permissions_are_one_line_naming_what_is_needed(
        servers, tmp_path, monkeypatch, caplog):
    graph, sn, ds = servers
    folder = tmp_path / "input"
    config = settings(graph, sn, ds)
    caplog.set_level(logging.DEBUG)
    graph.denied.add("/auditLogs/signIns")
    with pytest.raises(PullError) as exc:
        pull("graph", folder, config, now=NOW, backoff_seconds=FAST)
    assert "AuditLog.Read.All" in str(exc.value) and "403" in str(exc.value)
    sn.denied = True
    with pytest.raises(PullError) as exc:
        pull("servicenow", folder, config, now=NOW, backoff_seconds=FAST)
    assert "may not read the table" in str(exc.value)
    ds.consented = False
    with pytest.raises(PullError) as exc:
        pull("docusign", folder, config, now=NOW, backoff_seconds=FAST)
    assert "consent" in str(exc.value) and "/oauth/auth?" in str(exc.value)
    monkeypatch.setenv("CCREVIEW_GRAPH_CLIENT_SECRET", "wrong-secret-value")
    with pytest.raises(PullError) as exc:
        pull("graph", tmp_path / "other", config, now=NOW, backoff_seconds=FAST)
    assert "client secret" in str(exc.value) and "wrong-secret-value" not in str(exc.value)
    monkeypatch.setenv("CCREVIEW_SERVICENOW_PASSWORD", "wrong-password-value")
    with pytest.raises(PullError) as exc:
        pull("servicenow", tmp_path / "other", config, now=NOW, backoff_seconds=FAST)
    assert "401" in str(exc.value) and "wrong-password-value" not in str(exc.value)
    for message in [r.getMessage() for r in caplog.records]:
        assert "wrong-" not in message and GRAPH_SECRET not in message


def test_an_expired_token_is_renewed_once_mid_pull(servers, tmp_path):
    graph, sn, ds = servers
    graph.page_size = 50
    graph.expire_tokens_after(2)  # the token expires after two pages
    results = pull("graph", tmp_path / "input", settings(graph, sn, ds), now=NOW,
                   backoff_seconds=FAST)
    assert results[0].records == len(graph.users)
    assert len(graph.served("/token")) == 2  # one for users and sign-ins, one renewal


def test_secrets_never_reach_logs_files_or_state_and_files_are_owner_only(
        servers, tmp_path, caplog, capsys, rsa_key):
    graph, sn, ds = servers
    folder = tmp_path / "input"
    caplog.set_level(logging.DEBUG)
    graph.fail("/signIns", 503, times=1)
    pull_all(folder, settings(graph, sn, ds))
    _, pem = rsa_key
    secrets = [GRAPH_SECRET, SN_PASSWORD, pem.splitlines()[1], *graph.tokens, *ds.tokens]
    seen = "\n".join(r.getMessage() for r in caplog.records) + "".join(capsys.readouterr())
    for path in folder.rglob("*"):
        if path.is_file():
            seen += path.read_text(encoding="utf-8", errors="replace")
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for value in secrets:
        assert value not in seen
    assert stat.S_IMODE((folder / STATE_FOLDER).stat().st_mode) == 0o700


def test_the_users_snapshot_replaces_the_previous_pull_whole(servers, tmp_path):
    graph, sn, ds = servers
    folder = tmp_path / "input"
    config = settings(graph, sn, ds)
    pull("graph", folder, config, now=NOW, backoff_seconds=FAST)
    graph.users = graph.users[:30]  # people left: the next listing is shorter
    pull("graph", folder, config, now=NOW + dt.timedelta(days=1), backoff_seconds=FAST)
    pages = sorted((folder / "entra" / "graph_users").iterdir())
    assert [p.name for p in pages] == ["users_page_0001.json"]
    assert len(json.loads(pages[0].read_text())["value"]) == 30
    assert "@odata.nextLink" not in pages[0].read_text()


def test_a_source_without_settings_is_a_usage_error(tmp_path):
    from ccreview.core.errors import UsageError

    with pytest.raises(UsageError, match=r"no \[pull.graph\] section"):
        pull("graph", tmp_path, config_from_dict({}))
    with pytest.raises(UsageError, match="must be an https:// URL"):
        config_from_dict({"pull": {"servicenow": {
            "instance_url": "http://example.service-now.com", "table": "t", "user": "u"}}})


def test_credentials_may_come_from_prefect_secret_blocks(servers, tmp_path, monkeypatch,
                                                        prefect_harness):
    from prefect.blocks.system import Secret

    graph, sn, ds = servers
    monkeypatch.delenv("CCREVIEW_GRAPH_CLIENT_SECRET")
    Secret(value=GRAPH_SECRET).save("ccreview-graph-test", overwrite=True)
    config = settings(graph, sn, ds, graph={"client_secret_block": "ccreview-graph-test"})
    results = pull("graph", tmp_path / "input", config, now=NOW, backoff_seconds=FAST)
    assert results[0].records == len(graph.users)
    from ccreview.core.errors import UsageError

    with pytest.raises(UsageError, match="no-such-block"):
        pull("graph", tmp_path / "other", settings(
            graph, sn, ds, graph={"client_secret_block": "no-such-block"}), now=NOW)


def test_the_command_line_pulls_through_a_prefect_flow(servers, tmp_path):
    """`ccreview pull servicenow` end to end: a real console process, a Prefect flow on a
    temporary server, the password from the environment; then a review of the folder
    lists the cursors as ccreview's own, not as an unknown input."""
    import os
    import subprocess
    import sys

    graph, sn, ds = servers
    config = tmp_path / "review.toml"
    config.write_text(f'[pull.servicenow]\ninstance_url = "{sn.url}"\n'
                      f'table = "{sn.table}"\nuser = "{sn.user}"\n')
    folder = tmp_path / "input"
    ccreview = str(Path(sys.executable).parent / "ccreview")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env["CCREVIEW_SERVICENOW_PASSWORD"] = SN_PASSWORD
    done = subprocess.run([ccreview, "pull", "servicenow", "--input", str(folder),
                           "--config", str(config)], capture_output=True, text=True,
                          env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    assert f"servicenow: {len(sn.records)} records changed 1970-01-01T00:00:00Z to " \
        in done.stdout
    assert "-> enrollment/servicenow_19700101T000000Z_" in done.stdout
    assert SN_PASSWORD not in done.stdout + done.stderr
    from ccreview.contracts.readers import survey

    files, skipped = survey(folder)
    assert [p.relative_to(folder).parts[0] for p in files] == ["enrollment"]
    assert skipped == [(STATE_FOLDER, "ccreview pull's cursors and pages in progress "
                                      "(not an input)")]
    # a source the config does not describe: one line, exit 2, before Prefect starts
    done = subprocess.run([ccreview, "pull", "graph", "--input", str(folder), "--config",
                           str(config)], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "no [pull.graph] section" in done.stderr


def test_sign_ins_are_written_as_the_portal_download_and_read_back_by_hand():
    """Written by hand: Graph's error codes become the portal's Success / Interrupted /
    Failure, 7-digit fractions are cut to seconds, the location is joined; the sign-in
    reader counts only the success as one."""
    import io

    import duckdb

    from ccreview.contracts.ingest import ingest_inputs, validate_ingested
    from ccreview.sources.graph import write_sign_ins_csv

    base = {"userPrincipalName": "ann@ccpartners.example.org", "appDisplayName": "Portal",
            "appId": "app-1", "userDisplayName": "Ann Lee"}
    records = [
        {**base, "id": "r-ok", "createdDateTime": "2026-10-01T10:00:00.1234567Z",
         "status": {"errorCode": 0, "failureReason": "Other."},
         "location": {"city": "Phoenix", "state": "Arizona", "countryOrRegion": "US"}},
        {**base, "id": "r-mfa", "createdDateTime": "2026-10-01T09:00:00Z",
         "status": {"errorCode": 50074, "failureReason": "Strong Authentication is required."},
         "location": {}},
        {**base, "id": "r-bad", "createdDateTime": "2026-10-01T11:00:00Z",
         "status": {"errorCode": 50126, "failureReason": "Invalid username or password."}},
    ]
    buffer = io.BytesIO()
    write_sign_ins_csv(buffer, iter(records))
    assert not buffer.closed  # the caller's file, left open for it to finish
    text = buffer.getvalue().decode("utf-8")
    assert text.startswith("\ufeffDate (UTC),Request ID,") and text.count("\ufeff") == 1
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[1].startswith("2026-10-01T10:00:00Z,r-ok,")  # as Graph listed them
    assert ',"Phoenix, Arizona, US",Success,0,,' in lines[1]  # no reason on a success
    assert lines[2].startswith("2026-10-01T09:00:00Z,r-mfa,")
    assert ",Interrupted,50074,Strong Authentication is required.," in lines[2]
    assert ",Failure,50126,Invalid username or password.," in lines[3]
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "signins.csv").write_bytes(text.encode("utf-8"))
        con = duckdb.connect()
        ingest_inputs(Path(d), con)
        validate_ingested(con)
        assert con.execute("select \"user\", success, occurred_at::varchar from "
                           "raw_sign_in_events order by occurred_at").fetchall() == [
            ("ann@ccpartners.example.org", False, "2026-10-01 09:00:00"),
            ("ann@ccpartners.example.org", True, "2026-10-01 10:00:00"),
            ("ann@ccpartners.example.org", False, "2026-10-01 11:00:00")]


def test_retry_after_is_read_as_seconds_or_an_http_date():
    import email.utils
    import time

    from ccreview.sources.http import _retry_after_seconds

    assert _retry_after_seconds("7") == 7.0
    assert _retry_after_seconds(None) is None and _retry_after_seconds("soon") is None
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _retry_after_seconds(later) <= 31


def test_a_killed_pull_resumes_without_gaps_or_duplicates(servers, tmp_path):
    """`ccreview pull graph` killed (SIGKILL) while it waits for the third page of
    sign-ins; run again, it takes up the same window at that page."""
    import os
    import signal
    import subprocess
    import sys

    graph, sn, ds = servers
    config = tmp_path / "review.toml"
    config.write_text(f'[pull.graph]\ntenant_id = "{graph.tenant}"\n'
                      f'client_id = "{graph.client_id}"\nlogin_url = "{graph.url}"\n'
                      f'graph_url = "{graph.url}/v1.0"\nfirst_pull_days = 700\n')
    folder = tmp_path / "input"
    ccreview = str(Path(sys.executable).parent / "ccreview")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    graph.stall("/auditLogs/signIns", after=2, seconds=30)
    proc = subprocess.Popen([ccreview, "pull", "graph", "--input", str(folder),
                             "--config", str(config)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert graph.stalled.wait(120), "the pull never reached the third page"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        proc.kill()
    state = json.loads((folder / STATE_FOLDER / "graph-sign-ins.json").read_text())
    assert state["in_progress"]["pages"] == 2
    assert not list((folder / "signins").glob("*.csv"))
    graph.stalls.clear()
    done = subprocess.run([ccreview, "pull", "graph", "--input", str(folder), "--config",
                           str(config)], capture_output=True, text=True, env=env,
                          timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    assert "(resumed an interrupted pull)" in done.stdout
    with next((folder / "signins").glob("*.csv")).open(encoding="utf-8-sig") as fh:
        ids = [row["Request ID"] for row in csv.DictReader(fh)]
    assert sorted(ids) == sorted(s["id"] for s in graph.sign_ins)


def test_a_terminal_shows_a_progress_bar_of_records_never_their_content(servers, tmp_path,
                                                                       monkeypatch):
    import io
    import os
    import pty
    import sys

    graph, sn, ds = servers
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 wide
    terminal = io.TextIOWrapper(os.fdopen(slave, "wb", buffering=0), write_through=True)
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setenv("CCREVIEW_PROGRESS", "1")
    graph.stall("/auditLogs/signIns", after=1, seconds=1.2)  # long enough for a redraw
    pull("graph", tmp_path / "input", settings(graph, sn, ds), now=NOW, backoff_seconds=FAST)
    terminal.flush()
    shown = b""
    import select

    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if not ready:
            break
        shown += os.read(master, 65536)
    text = shown.decode("utf-8", errors="replace")
    assert "pull graph-sign-ins" in text and "records" in text
    assert not any(s["userPrincipalName"] in text for s in graph.sign_ins[:50])


def test_one_pull_of_a_source_at_a_time(servers, tmp_path):
    """A second pull of the same source while one runs (another process holding its lock)
    waits, then stops with one line naming the holder; its cursor is untouched."""
    import subprocess
    import sys

    graph, sn, ds = servers
    folder = tmp_path / "input"
    lock = folder / STATE_FOLDER / "servicenow.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from ccreview.core import run_lock\n"
        f"with run_lock.holding(Path({str(lock)!r}), 'pull servicenow'):\n"
        "    print('held', flush=True); time.sleep(30)\n")], stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        from ccreview.core.errors import UsageError

        with pytest.raises(UsageError, match=r"the servicenow pull into .*: in use by "
                           r"pull servicenow \(pid"):
            pull("servicenow", folder, settings(graph, sn, ds), now=NOW, wait_seconds=0.5)
        assert not (folder / STATE_FOLDER / "servicenow.json").exists()
        assert sn.requests == []
    finally:
        holder.kill()
        holder.wait()
    assert pull("servicenow", folder, settings(graph, sn, ds), now=NOW)[0].records == len(
        sn.records)  # once it is free
