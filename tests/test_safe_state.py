"""Safe state: a run never destroys what was issued, one run at a time, PHI private at rest,
mistakes caught before anything starts. The wrong-folder runs, the two concurrent runs, the
killed run and the unreachable server are real `ccreview` processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from ccreview import cli, prefect_runtime
from ccreview.contracts.attestation_returns import check_returns
from ccreview.contracts.readers import require_inputs
from ccreview.core import run_lock
from ccreview.core.errors import UsageError
from ccreview.core.history import HISTORY, list_backups, list_runs, record_status
from ccreview.transforms.warehouse import PATIENT_TABLES
from tests.conftest import SAMPLE, SAMPLE_AS_OF

AS_OF = SAMPLE_AS_OF.isoformat()
CLI = Path(sys.executable).parent / "ccreview"


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    return {**env, **extra}


def _run_cli(*args, timeout=300, **env) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), *map(str, args)], env=_env(**env), capture_output=True,
                          text=True, timeout=timeout, check=False)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _store_sightings(out: Path) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(out / "evidence.duckdb"), read_only=True) as con:
        return con.execute("select * from sightings order by all").fetchall()


def _without_store(snapshot: dict[str, bytes]) -> dict[str, bytes]:
    return {k: v for k, v in snapshot.items() if not k.startswith("evidence.duckdb")}


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> Path:
    """A real review of the sample, as a user runs it."""
    out = tmp_path_factory.mktemp("safe") / "out"
    result = _run_cli("review", "--input", SAMPLE, "--out", out, "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr[-800:]
    return out


# -- 1. required inputs ----------------------------------------------------------------------

@pytest.mark.parametrize("contents", [{"notes.txt": "meeting notes\n", "other.csv": "a,b\n1,2\n"},
                                      {}])
def test_a_folder_without_the_inputs_is_refused_and_nothing_issued_is_touched(
        reviewed, tmp_path, contents):
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    for name, text in contents.items():
        (wrong / name).write_text(text)
    before = _snapshot(reviewed)
    result = _run_cli("review", "--input", wrong, "--out", reviewed, "--as-of", AS_OF)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "no enrollment submissions and no directory export" in line
    assert f"found {len(contents)} file" in line and "0 recognised" in line
    assert "Traceback" not in result.stdout + result.stderr
    assert _snapshot(reviewed) == before  # history, attestation workbooks, reports


@pytest.mark.parametrize(("run", "keep", "missing"), [
    ("review", ("enrollment",), "directory export"),
    ("census", ("enrollment", "directory"), "ADT feed"),
    ("dormant", ("enrollment", "applications"), "directory export"),
])
def test_each_run_names_what_it_cannot_do_without(tmp_path, run, keep, missing):
    for folder in keep:
        shutil.copytree(SAMPLE / folder, tmp_path / folder)
    with pytest.raises(UsageError, match=missing):
        require_inputs(tmp_path, run)


def test_dormant_lists_need_sign_in_evidence_besides_the_directory(tmp_path):
    (tmp_path / "ad.csv").write_text("SamAccountName,UserPrincipalName,mail,Enabled\n"
                                     "a,a@x.example,a@x.example,True\n")
    with pytest.raises(UsageError, match="sign-in evidence"):
        require_inputs(tmp_path, "dormant")
    shutil.copytree(SAMPLE / "signins", tmp_path / "signins")
    assert require_inputs(tmp_path, "dormant")["sign_in"] == 1


def _flow_review(out: Path, input_dir: Path = SAMPLE, as_of: str = AS_OF, **kw) -> dict:
    from ccreview.flows.access_review import access_review

    return access_review(str(input_dir), str(out), as_of, None, "sequential", None, **kw)


def test_inputs_that_shrank_drastically_are_refused_unless_accepted(prefect_harness, tmp_path):
    out = tmp_path / "out"
    _flow_review(out)
    partial = tmp_path / "partial"
    shutil.copytree(SAMPLE, partial)
    for ad in (partial / "directory").glob("*.csv"):  # a partial directory export
        ad.write_text("\n".join(ad.read_text(encoding="utf-8-sig").splitlines()[:4]) + "\n")
    before = _snapshot(out)
    runs = _store_sightings(out)
    with pytest.raises(UsageError, match=r"Active Directory accounts fell from \d+ to \d+"):
        _flow_review(out, partial, "2026-11-02")
    # the evidence store may keep the files it read, but records no run: no later run sees
    # the partial export as the current directory
    assert _store_sightings(out) == runs
    assert _without_store(_snapshot(out)) == _without_store(before)
    assert not [p.name for p in out.iterdir() if p.name.startswith(".warehouse")]
    result = _flow_review(out, partial, "2026-11-02", accept_shrink=True)
    assert result["as_of"] == "2026-11-02"


def test_one_application_list_cut_short_is_refused_unless_accepted(prefect_harness, tmp_path):
    """The PACS list cut to three accounts (196 the run before) while the other four lists
    are whole: all application accounts together stay above half (568 -> 375), so only
    a comparison per application sees it. Its requests would be reviewed as not
    provisioned and its access to revoke left unflagged: refused, naming the application;
    accepted, the run goes on."""
    out = tmp_path / "out"
    _flow_review(out, no_store=True)
    manifest = json.loads((out / "run_manifest.json").read_text(encoding="utf-8"))
    assert manifest["accounts_by_application"]["PACS"] == 196
    partial = tmp_path / "partial"
    shutil.copytree(SAMPLE, partial)
    pacs = partial / "applications" / "pacs_users.csv"
    pacs.write_text("".join(pacs.read_text(encoding="utf-8").splitlines(keepends=True)[:4]),
                    encoding="utf-8")
    before = _snapshot(out)
    with pytest.raises(UsageError, match=r"^PACS application accounts fell from 196 to 3 "
                                         r"since the previous run"):
        _flow_review(out, partial, "2026-11-02", no_store=True)
    assert _snapshot(out) == before
    result = _flow_review(out, partial, "2026-11-02", no_store=True, accept_shrink=True)
    assert result["findings_by_rule"]["NOT_PROVISIONED"] > 100


def test_an_entra_export_missing_its_last_page_is_refused_unless_accepted(
        prefect_harness, tmp_path):
    """Graph pages each saying another page follows (@odata.nextLink): the export's last
    page is missing, and its users would be reviewed as gone (their accounts' Entra
    evidence lost, an enabled one matching nobody no ORPHAN_ACCOUNT). A first run too."""
    partial = tmp_path / "partial"
    shutil.copytree(SAMPLE, partial)
    (page,) = (partial / "entra").glob("users_page_*.json")  # the sample's one page...
    body = json.loads(page.read_text(encoding="utf-8"))
    users = body["value"]
    body["value"], rest = users[:len(users) // 2], users[len(users) // 2:]
    body["@odata.nextLink"] = ("https://graph.microsoft.com/v1.0/users?$top=120"
                               "&$skiptoken=RFNwdAIAAQAAAC")
    page.write_text(json.dumps(body), encoding="utf-8")  # ...as the first of two, alone
    assert rest
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"each of the \d+ Graph page file\(s\) says another "
                                         r"page follows .* --accept-shrink"):
        _flow_review(out, partial)
    assert not (out / "run_manifest.json").exists()
    result = _flow_review(out, partial, accept_shrink=True)
    assert result["as_of"] == AS_OF


def test_docusign_pages_that_leave_envelopes_out_are_refused(prefect_harness, tmp_path):
    """listStatusChanges pages say which positions of the result set they hold: three pages
    of the sample's envelopes review as the one file does; without the middle one, the run
    is refused (a group whose completed DAA was on it would be NO_ACTIVE_DAA for everyone)."""
    paged = tmp_path / "paged"
    shutil.copytree(SAMPLE, paged)
    whole = paged / "docusign" / "envelopes.json"
    body = json.loads(whole.read_text(encoding="utf-8"))
    envelopes, total = body["envelopes"], int(body["totalSetSize"])
    assert len(envelopes) == total > 3
    whole.unlink()
    cut = [0, total // 3, 2 * total // 3, total]
    for n, (start, end) in enumerate(zip(cut, cut[1:], strict=False), start=1):
        page = {"resultSetSize": str(end - start), "totalSetSize": str(total),
                "startPosition": str(start), "endPosition": str(end - 1),
                "envelopes": envelopes[start:end]}
        if end < total:
            page["nextUri"] = f"/accounts/1/envelopes?start_position={end}"
        (paged / "docusign" / f"envelopes_page_{n}.json").write_text(json.dumps(page))
    result = _flow_review(tmp_path / "out", paged)
    assert result["findings_by_rule"] == _flow_review(tmp_path / "whole")["findings_by_rule"]

    (paged / "docusign" / "envelopes_page_2.json").unlink()
    with pytest.raises(UsageError, match=rf"no listStatusChanges page among the inputs holds "
                                         rf"positions {cut[1]}-{cut[2] - 1} of the {total} "):
        _flow_review(tmp_path / "out2", paged)
    assert not (tmp_path / "out2" / "run_manifest.json").exists()


def test_a_file_that_cannot_be_read_is_refused_unless_accepted(prefect_harness, tmp_path):
    """A DocuSign download cut short (and a second file that is no text at all): without
    them the run would review every group whose agreement only they hold as having no DAA
    in force. Refused, naming the first file and why, counting the other; nothing written.
    Told to go on (--accept-shrink), the run lists both as unreadable, and the findings
    show what the refusal keeps out."""
    broken = tmp_path / "broken"
    shutil.copytree(SAMPLE, broken)
    envelopes = broken / "docusign" / "envelopes.json"
    envelopes.write_bytes(envelopes.read_bytes()[:0])  # the download wrote nothing
    (broken / "applications" / "dsm_users.csv").write_bytes(bytes(range(256)) * 8)
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"^applications/dsm_users\.csv could not be read "
                                         r"\(binary content, not a text export\), nor could 1 "
                                         r"more file\(s\) .*No report was written: .* or rerun "
                                         r"with --accept-shrink$"):
        _flow_review(out, broken)
    assert not (out / "run_manifest.json").exists()
    accepted = _flow_review(out, broken, accept_shrink=True)
    manifest = json.loads((out / "run_manifest.json").read_text())
    status = {i["path"]: i["status"] for i in manifest["inputs"]}
    assert status["docusign/envelopes.json"] == status["applications/dsm_users.csv"] \
        == "unreadable"
    whole = _flow_review(tmp_path / "whole")
    assert accepted["findings_by_rule"]["NO_ACTIVE_DAA"] \
        > whole["findings_by_rule"]["NO_ACTIVE_DAA"]


# -- 2. what was issued is never silently replaced -------------------------------------------

def test_rerunning_an_attested_review_needs_replace_and_keeps_the_earlier_run(
        prefect_harness, tmp_path):
    from ccreview.synthetic.returns import fill_returns

    out = tmp_path / "out"
    _flow_review(out)
    first_id = list_runs(out)[0]["run_id"]
    returned = tmp_path / "returned"
    fill_returns(out / "attestation", returned)
    intake = check_returns(returned, out / HISTORY, None, SAMPLE_AS_OF + dt.timedelta(days=40))
    record_status(out / HISTORY, intake)
    before = _snapshot(out)
    with pytest.raises(UsageError, match="--replace"):
        _flow_review(out)
    assert _snapshot(out) == before
    _flow_review(out, replace=True)
    runs = list_runs(out)
    assert [(r["as_of"], r["status"]) for r in runs] == [(AS_OF, "superseded"), (AS_OF, "current")]
    assert runs[0]["run_id"] == first_id and runs[0]["returned"] == len(intake.groups) - sum(
        1 for g in intake.groups if not g.files)
    con = duckdb.connect(str(out / HISTORY), read_only=True)
    try:
        kept = con.execute("select count(*) from superseded_attestation_issued").fetchone()[0]
        issued = con.execute("select count(*) from attestation_issued").fetchone()[0]
    finally:
        con.close()
    assert kept == issued > 0  # the earlier register is still readable
    # the returns of the earlier issue are still taken in
    again = check_returns(returned, out / HISTORY, None, SAMPLE_AS_OF + dt.timedelta(days=40))
    assert again.groups_by_status() == intake.groups_by_status()
    assert len(list_backups(out)) >= 2  # one before each change of the history


def test_history_lists_runs_and_restores_a_backup(prefect_harness, tmp_path, capsys):
    out = tmp_path / "out"
    _flow_review(out)
    _flow_review(out, as_of="2026-11-08")
    assert cli.main(["history", "--out", str(out)]) == 0
    listing = capsys.readouterr().out
    assert "2026-11-01  current" in listing and "2026-11-08  current" in listing
    (backup,) = list_backups(out)  # taken before the second run changed the history
    assert cli.main(["history", "--out", str(out), "--restore", backup]) == 0
    assert [r["as_of"] for r in list_runs(out)] == [AS_OF]
    assert cli.main(["history", "--out", str(out), "--restore", "no-such.duckdb"]) == 2


# -- 3. one run per output folder --------------------------------------------------------------

def test_two_concurrent_runs_on_one_folder(tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen([str(CLI), "review", "--input", str(SAMPLE), "--out", str(out),
                              "--as-of", AS_OF], env=_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = out / run_lock.LOCK_FILE
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (lock.exists() and lock.read_text()):
        time.sleep(0.1)
    second = _run_cli("review", "--input", SAMPLE, "--out", out, "--as-of", AS_OF,
                      "--wait", "1")
    assert second.returncode == 2
    message = second.stderr.strip().splitlines()[-1]
    assert f"pid {first.pid}" in message and "access-review" in message
    assert first.wait(timeout=300) == 0, first.stderr.read()[-500:]


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (tmp_path / run_lock.LOCK_FILE).write_text(json.dumps(
        {"pid": int(dead.stdout), "flow": "access-review", "started": "yesterday"}))
    with run_lock.holding(tmp_path, "daily-census", wait_seconds=0):
        info = json.loads((tmp_path / run_lock.LOCK_FILE).read_text())
        assert info["pid"] == os.getpid() and info["flow"] == "daily-census"
        with run_lock.holding(tmp_path, "daily-census", wait_seconds=0):
            pass  # the flow inside the command takes it again without waiting on itself


# -- 4. start-up that does not fail under load -------------------------------------------------

def test_the_start_up_timeout_holds_from_any_folder(tmp_path):
    probe = ("import ccreview.cli\nfrom prefect.settings import get_current_settings\n"
             "print(get_current_settings().server.ephemeral.startup_timeout_seconds)")
    env = {k: v for k, v in _env().items()
           if k != "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "90"


def _servers() -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"prefect.server.api.server:create_app" in (proc / "cmdline").read_bytes():
                    found.add(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal")
def test_a_killed_run_does_not_leave_its_server_running(tmp_path):
    before = _servers()
    proc = subprocess.Popen([str(CLI), "review", "--input", str(SAMPLE), "--out",
                             str(tmp_path / "out"), "--as-of", AS_OF], env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not _servers() - before:
        time.sleep(0.1)
    assert _servers() - before, "the run never started its server"
    os.kill(proc.pid, signal.SIGKILL)  # the run alone, not its process group
    proc.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _servers() - before:
        time.sleep(0.2)
    assert not _servers() - before


def test_flows_on_the_temporary_server_send_no_heartbeats_and_every_thread_reaches_it():
    """Heartbeats let a long-lived server notice a crashed run; the temporary server stops
    with the run, and the engine's wait for its heartbeat thread (up to 1 s) was part of
    every run's fixed cost. A configured server keeps them."""
    from prefect import flow
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    @flow
    def answer() -> int:
        return 42

    def from_a_thread_of_its_own() -> str | None:  # as Prefect's own threads start
        seen = []
        thread = threading.Thread(target=lambda: seen.append(get_current_settings().api.url))
        thread.start()
        thread.join()
        return seen[0]

    default = get_current_settings().flows.heartbeat_frequency
    assert default
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with prefect_runtime.prefect_api() as url:
            assert get_current_settings().flows.heartbeat_frequency is None
            assert answer() == 42
            # a thread started without this context (the process pool's message
            # forwarder) reaches the same server instead of starting one of its own
            assert from_a_thread_of_its_own() == url
            # the same server named by PREFECT_API_URL, as a long-lived one: heartbeats on
            with temporary_settings(updates={PREFECT_API_URL: url},
                                    restore_defaults={PREFECT_FLOWS_HEARTBEAT_FREQUENCY}), \
                    prefect_runtime.prefect_api() as configured:
                assert configured == url
                assert get_current_settings().flows.heartbeat_frequency == default
        assert from_a_thread_of_its_own() != url
        assert get_current_settings().flows.heartbeat_frequency == default
        with temporary_settings(updates={PREFECT_API_URL: url}), \
                pytest.raises(prefect_runtime.PrefectUnavailable), \
                prefect_runtime.prefect_api():  # the server stopped with the block
            pass


def test_an_unreachable_prefect_server_is_one_line_with_the_remedy(tmp_path):
    result = _run_cli("review", "--input", SAMPLE, "--out", tmp_path / "out", "--as-of", AS_OF,
                      PREFECT_API_URL="http://127.0.0.1:9/api")
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "PREFECT_API_URL" in line and "prefect server start" in line
    assert "--debug" not in line and "Traceback" not in result.stdout


# -- 5. private at rest ------------------------------------------------------------------------

def test_every_file_and_folder_a_run_writes_is_owner_only(reviewed):
    loose = [p for p in (reviewed, *reviewed.rglob("*")) if p.stat().st_mode & 0o077]
    assert not loose


def test_the_kept_warehouse_holds_no_patient_data_unless_asked(reviewed, prefect_harness,
                                                               tmp_path):
    con = duckdb.connect(str(reviewed / "warehouse.duckdb"), read_only=True)
    try:
        tables = {t for (t,) in con.execute("show tables").fetchall()}
    finally:
        con.close()
    assert not tables & set(PATIENT_TABLES)
    families = {line.split("|")[5].split("^")[0] for f in (SAMPLE / "adt").glob("*.hl7")
                for line in f.read_bytes().decode().replace("\n", "\r").split("\r")
                if line.startswith("PID|")}
    data = (reviewed / "warehouse.duckdb").read_bytes()
    assert families and not [f for f in families if f.encode() in data]  # not even freed
    out = tmp_path / "kept"
    result = _flow_review(out, keep_patient_data=True)
    assert result["patient_data_kept"]
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        assert set(PATIENT_TABLES) <= {t for (t,) in con.execute("show tables").fetchall()}
    finally:
        con.close()


def test_every_table_with_patient_columns_is_a_patient_table(sample_warehouse):
    phi = {"mrn", "patient_family_name", "patient_given_name", "birth_date"}
    holding = {t for (t, c) in sample_warehouse.execute(
        "select table_name, column_name from information_schema.columns").fetchall()
        if c in phi}
    assert holding == set(PATIENT_TABLES)


# -- 6. mistakes caught before anything starts -------------------------------------------------

@pytest.mark.parametrize("toml", [
    '[severity]\nDORMANT_ACOUNT = "high"\n',
    '[[exceptions]]\naccount = "svc"\nrule = "DORMANT"\nreason = "r"\napproved_by = "a"\n'
    'expires = 2027-01-01\n',
])
def test_a_misspelt_rule_is_one_line_before_prefect_starts(tmp_path, capsys, toml):
    config = tmp_path / "review.toml"
    config.write_text(toml)
    started = time.monotonic()
    code = cli.main(["review", "--input", str(SAMPLE), "--out", str(tmp_path / "out"),
                     "--config", str(config)])
    assert code == 2 and time.monotonic() - started < 5
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert str(config) in line and "findings catalog" in line
    assert not (tmp_path / "out").exists()


def test_attest_usage_errors_before_prefect_starts(reviewed, tmp_path, capsys):
    (tmp_path / "returned").mkdir()
    code = cli.main(["attest", "--returned", str(tmp_path / "returned"), "--out",
                     str(reviewed), "--as-of", "2020-01-01"])
    assert code == 2
    assert "no attestation workbooks were issued" in capsys.readouterr().err


def _mount_tmpfs(path: Path, options: str) -> bool:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                          capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.parametrize(("options", "says"), [("ro,size=4m", "not writable"),
                                               ("size=1m", "the disk is full")])
def test_a_read_only_or_full_out_is_a_usage_error(tmp_path, capsys, options, says):
    mount = tmp_path / "mnt"
    if not _mount_tmpfs(mount, options):
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        code = cli.main(["review", "--input", str(SAMPLE), "--out", str(mount / "out")])
    finally:
        subprocess.run(["umount", str(mount)], check=False)
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert says in line and str(mount / "out") in line


def test_disk_full_during_a_run_is_a_usage_error_naming_the_path(prefect_harness, tmp_path,
                                                                  monkeypatch, capsys):
    import ccreview.flows.access_review as flow_module

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "out" / "x.csv"))

    monkeypatch.setattr(flow_module, "write_dormant_reports", disk_full)
    code = cli.main(["review", "--input", str(SAMPLE), "--out", str(tmp_path / "out"),
                     "--as-of", AS_OF, "--task-runner", "sequential"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "No space left on device" in err and "x.csv" in err and "--debug" not in err


def test_debug_after_the_subcommand_and_version(capsys):
    args = cli.build_parser().parse_args(["review", "--input", "i", "--out", "o", "--debug"])
    assert args.debug is True
    args = cli.build_parser().parse_args(["review", "--input", "i", "--out", "o"])
    assert args.debug is False
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("ccreview ")


def test_dormant_lists_from_exports_taken_long_before_are_refused_unless_accepted(
        prefect_harness, tmp_path):
    """Written by hand: a member list, an AD export and an Entra sign-in log whose latest
    sign-in is on 2026-10-30. As of 2026-11-10 the lists are made (nobody dormant). As
    of 2027-02-15, 108 days later, the days after the exports would count as days without
    use and the disable list would name Ann, who may have signed in every day since
    (on the 24-group sample so run: 251 LAN IDs to disable). Refused, nothing written,
    naming the date; accepted, the run goes on and lists her."""
    from ccreview.flows.access_review import dormant_accounts

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "members.csv").write_text(
        "Request Number,First Name,M.I.,Last Name,Email Address,Staff Type,Suffix,"
        "Cerner Millennium,PACS Synapse\n"
        "CS0000001,Ann,,Lee,ann@clinic.example.com,Sponsoring Physician,MD,false,true\n",
        encoding="utf-8")
    (folder / "ad.csv").write_text(
        '"SamAccountName","UserPrincipalName","mail","Enabled","whenCreated"\r\n'
        '"alee","ann@clinic.example.com","ann@clinic.example.com","True",'
        '"1/5/2026 9:00:00 AM"\r\n', encoding="utf-8")
    (folder / "InteractiveSignIns_2026-10-30.csv").write_text(  # the Entra portal's download
        "\ufeffDate (UTC),Request ID,User,Username,Application,Status,Sign-in error code\n"
        "2026-10-30T15:00:00Z,7f9c1a52-0b1e-4a57-9f0e-2c6a1e3b8d41,Ann Lee,"
        "ann@clinic.example.com,Clinical Connectivity Workspace,Success,0\n", encoding="utf-8")

    def run(out: Path, as_of: str, **kw) -> dict:
        return dormant_accounts(str(folder), str(out), as_of, task_runner="sequential",
                                no_store=True, **kw)

    assert run(tmp_path / "soon", "2026-11-10")["findings_by_rule"].get(
        "DORMANT_ACCOUNT", 0) == 0
    late = tmp_path / "late"
    with pytest.raises(UsageError, match=r"^The latest sign-in among the inputs, anyone's, "
                                         r"is on 2026-10-30, 108 days before the as-of date "
                                         r"2027-02-15: .*\(--as-of 2026-10-30\), or rerun "
                                         r"with --accept-shrink$"):
        run(late, "2027-02-15")
    assert not late.exists() or not [p for p in late.iterdir() if p.suffix in (".csv",
                                                                              ".xlsx")]
    accepted = run(late, "2027-02-15", accept_shrink=True)
    assert accepted["findings_by_rule"]["DORMANT_ACCOUNT"] == 1
    assert "alee" in (late / "dormant_disable_lan_ids.csv").read_text(encoding="utf-8")
