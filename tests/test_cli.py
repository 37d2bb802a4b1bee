"""The console command: help everywhere, one-line usage errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ccreview.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's own exits (--help, argument errors)
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [["--help"], ["review", "--help"], ["generate", "--help"],
                                  ["attest", "--help"]])
def test_help_on_every_subcommand(capsys, argv):
    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert "usage: ccreview" in out


@pytest.mark.parametrize(("argv", "names"), [
    (["review", "--input", "/nonexistent/exports", "--out", "o"], "/nonexistent/exports"),
    (["review", "--input", ".", "--out", "o", "--as-of", "2026-13-01"], "--as-of"),
    (["review", "--input", ".", "--out", "o", "--config", "/nonexistent.toml"],
     "/nonexistent.toml"),
    (["review", "--out", "o"], "--input"),
    (["generate", "--out", "o", "--groups", "0"], "--groups"),
    (["frobnicate"], "frobnicate"),
    (["review", "--input", ".", "--out", "o", "--task-runner", "gpu"], "--task-runner"),
    (["review", "--input", ".", "--out", "o", "--workers", "0"], "--workers"),
    (["attest", "--returned", "/nonexistent/returns", "--out", "."], "/nonexistent/returns"),
    (["attest", "--returned", ".", "--out", "tests"], "no review history"),
])
def test_usage_errors_are_one_line_naming_the_argument(capsys, argv, names):
    code, _, err = _run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert names in lines[0]
    assert "Traceback" not in err


@pytest.mark.parametrize(("toml", "names"), [
    ("[thresholds]\ndormancy_dayz = 90\n", "dormancy_dayz"),
    ("[thresholds]\ndormancy_days = -1\n", "dormancy_days"),
    ("[severity]\nDORMANT_ACCOUNT = 'urgent'\n", "DORMANT_ACCOUNT"),
    ("[nonsense]\n", "nonsense"),
    ("thresholds = [\n", "not valid TOML"),
])
def test_bad_config_is_a_usage_error(capsys, tmp_path, toml, names):
    cfg = tmp_path / "review.toml"
    cfg.write_text(toml)
    code, _, err = _run(capsys, "review", "--input", str(tmp_path), "--out",
                        str(tmp_path / "o"), "--config", str(cfg))
    assert code == 2
    assert names in err and str(cfg) in err
    assert len(err.strip().splitlines()) == 1


def test_generate_refuses_a_folder_it_did_not_write(capsys, tmp_path):
    (tmp_path / "precious.xlsx").write_text("keep me")
    code, _, err = _run(capsys, "generate", "--out", str(tmp_path), "--groups", "2")
    assert code == 2 and "refusing" in err
    assert (tmp_path / "precious.xlsx").read_text() == "keep me"


def test_generate_replaces_its_own_earlier_output(capsys, tmp_path):
    out = tmp_path / "org"
    assert _run(capsys, "generate", "--out", str(out), "--groups", "30", "--seed", "3",
                "--as-of", "2026-11-01")[0] == 0
    assert _run(capsys, "generate", "--out", str(out), "--groups", "2", "--seed", "3",
                "--as-of", "2026-11-01")[0] == 0
    pages = sorted(p.name for p in (out / "entra").iterdir())
    assert pages == ["users_page_001.json"]  # no stale pages from the larger run


def test_console_script_is_installed():
    bin_dir = __import__("pathlib").Path(sys.executable).parent
    result = subprocess.run([str(bin_dir / "ccreview"), "--help"], capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0 and "review" in result.stdout


@pytest.mark.parametrize(("toml", "names"), [
    ("[[application_lists]]\napplication = 'CERNER'\n", "columns"),
    ("[[application_lists]]\napplication = 'CERNER'\n[application_lists.columns]\n"
     "login = 'Login'\n", "login"),
    ("[[application_lists]]\n[application_lists.columns]\nusername = 'Login'\n"
     "active = 'Active'\n", "application"),
])
def test_bad_application_list_layout_is_a_usage_error(capsys, tmp_path, toml, names):
    cfg = tmp_path / "review.toml"
    cfg.write_text(toml)
    code, _, err = _run(capsys, "review", "--input", str(tmp_path), "--out",
                        str(tmp_path / "o"), "--config", str(cfg))
    assert code == 2 and names in err


def test_a_refused_run_stops_the_server_it_started(capsys, tmp_path, monkeypatch):
    """The temporary server starts once the arguments are sound; a check after that (no
    inputs here) refuses the run and stops it at once, releasing its start lock: a process
    that runs the command line again (a script, a test) would otherwise wait on it."""
    import fcntl

    from ccreview import prefect_runtime

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PREFECT_PROFILES_PATH", str(tmp_path / "home" / "profiles.toml"))
    (tmp_path / "in").mkdir()
    code, _, err = _run(capsys, "review", "--input", str(tmp_path / "in"), "--out",
                        str(tmp_path / "out"))
    assert code == 2 and "found no enrollment submissions" in err
    assert prefect_runtime._early is None
    with open(tmp_path / "home" / ".ccreview-server-start.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: raises when held


def test_the_command_skips_the_last_sweep_but_keeps_status_and_exit_handlers(tmp_path):
    """`ccreview` (the console script, `run`) freezes the objects before the process ends,
    so that the interpreter does not sweep them one by one; the status is `main`'s and
    exit handlers still run (they stop the temporary server and the Data Docs builder)."""
    code = ("import atexit, gc, sys\nimport ccreview.cli as c\n"
            "atexit.register(lambda: print('exit handlers ran; frozen:',\n"
            "                              gc.get_freeze_count() > 0))\n"
            "sys.argv = ['ccreview', 'review', '--input', sys.argv[1], '--out', sys.argv[2],\n"
            "            '--as-of', '2026-11-01']\n"
            "sys.exit(c.run())\n")
    (tmp_path / "in").mkdir()
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "in"),
                           str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stderr  # main's usage error: no inputs
    assert "found no enrollment submissions" in done.stderr
    assert done.stdout.strip() == "exit handlers ran; frozen: True"


def test_the_default_as_of_is_today_on_the_hospitals_clock(tmp_path, monkeypatch):
    """Without --as-of a run is as of today where the hospital is ([time_zones] adt), not
    where the machine is: a UTC server in the Phoenix evening is already a day ahead. The
    zone is chosen so that its date differs from the machine's now."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from ccreview.cli import _prepare_run, build_parser
    from tests.conftest import SAMPLE

    # UTC-12 and UTC+14 are 26 hours apart: one of them is on another date than the machine
    zone = next(z for z in ("Etc/GMT+12", "Etc/GMT-14")
                if dt.datetime.now(ZoneInfo(z)).date() != dt.date.today())
    config = tmp_path / "review.toml"
    config.write_text(f'[time_zones]\nadt = "{zone}"\n', encoding="utf-8")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing started early
    args = build_parser().parse_args(["dormant", "--input", str(SAMPLE), "--out",
                                      str(tmp_path / "out"), "--config", str(config)])
    assert args.as_of is None
    _prepare_run(args, "dormant")
    assert args.as_of == dt.datetime.now(ZoneInfo(zone)).date() != dt.date.today()


def test_the_as_of_date_s_first_and_last_instant_on_a_clock_that_changes():
    """Hand-worked: New York leaves daylight saving on 1 November 2026, a 25-hour day
    from 04:00 UTC (midnight EDT) to 05:00 UTC on the 2nd (midnight EST); Phoenix keeps
    UTC-7. The start is the end of the day before, not the end minus 24 hours."""
    import datetime as dt

    from ccreview.core.config import TimeZones

    new_york = TimeZones(adt="America/New_York")
    day = dt.date(2026, 11, 1)
    assert new_york.day_end(day - dt.timedelta(days=1)) == dt.datetime(2026, 11, 1, 4)
    assert new_york.day_end(day) == dt.datetime(2026, 11, 2, 5)
    assert TimeZones().day_end(day) == dt.datetime(2026, 11, 2, 7)


def test_the_files_written_are_listed_with_a_crowded_folder_as_one_line(capsys, tmp_path,
                                                                         monkeypatch):
    """What a run wrote: files in the output folder one by one (however the folder was
    named), a subfolder of up to five files one by one, a larger one as a single line."""
    from pathlib import Path

    from ccreview.cli import _print_outputs

    monkeypatch.chdir(tmp_path)
    top = [f"out/report_{i}.csv" for i in range(6)]
    many = [f"out/attestation/group_{i}.xlsx" for i in range(6)]
    outputs = [*top, *many, "out/few/a.csv", "out/few/b.csv",
               str(tmp_path / "out" / "run_manifest.json")]
    _print_outputs({"outputs": outputs, "stage_seconds": {"ingest": 1.25}}, Path("./out/"))
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == ["Wrote:", *(f"  {p}" for p in top), "  out/attestation/ (6 files)",
                         "  out/few/a.csv", "  out/few/b.csv",
                         f"  {tmp_path / 'out' / 'run_manifest.json'}", "Stages: ingest 1.2s"]


def test_what_is_left_to_resolve_is_counted_by_kind(capsys, tmp_path):
    """The review's notes (review_notes.csv: not findings, but a reviewer must decide them)
    counted by kind on one line, so that 'no sign-in evidence' or a run of ambiguous
    accounts is seen without opening the workbook; nothing when there is none."""
    from ccreview.cli import _print_review_notes
    from ccreview.reports.access_review import NOTES_COLUMNS
    from ccreview.reports.files import write_csv

    notes = tmp_path / "review_notes.csv"
    _print_review_notes(tmp_path)  # no file (a run that wrote none)
    write_csv(notes, NOTES_COLUMNS, [])
    _print_review_notes(tmp_path)
    assert capsys.readouterr().out == ""
    write_csv(notes, NOTES_COLUMNS, [
        ("ambiguous account", "CERNER", "jdoe", "two directory accounts match"),
        ("no sign-in evidence", "sign-in activity", None, "None of the inputs ..."),
        ("ambiguous account", "directory", "jdoe2", "=HYPERLINK(\"x\")")])
    _print_review_notes(tmp_path)
    assert capsys.readouterr().out == (
        "To resolve (not findings; the workbook's To resolve sheet): 2 ambiguous account, "
        "1 no sign-in evidence\n")
