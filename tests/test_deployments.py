"""The scheduled deployments `ccreview serve` registers."""

from __future__ import annotations

from pathlib import Path

from ccreview.flows.deployments import build_deployments


def test_scheduled_deployments_and_on_demand_intake(tmp_path):
    deployments = build_deployments(Path("data/sample"), tmp_path / "runs", None)
    intake = deployments.pop()
    assert intake.name == "attestation-intake" and not intake.schedules
    assert intake.parameters["out_dir"] == str((tmp_path / "runs" / "access_review").resolve())
    by_name = {d.name: d for d in deployments}
    assert set(by_name) == {"quarterly-access-review", "weekly-dormant-accounts",
                            "daily-census"}
    crons = {n: d.schedules[0].schedule.cron for n, d in by_name.items()}
    assert crons == {"quarterly-access-review": "0 6 1 1,4,7,10 *",
                     "weekly-dormant-accounts": "0 6 * * 1", "daily-census": "0 5 * * *"}
    for d in deployments:
        assert Path(d.parameters["input_dir"]).is_absolute()
        assert Path(d.parameters["out_dir"]).parent == (tmp_path / "runs").resolve()
        assert "as_of" not in d.parameters  # a scheduled run reviews as of its own day
        assert d.parameters["store"] == str((tmp_path / "runs" / "evidence.duckdb").resolve())


def test_schedules_run_in_the_configured_zone(tmp_path):
    """A schedule stored without a zone runs in UTC: 06:00 in Arizona would be 23:00 the
    day before. Each schedule carries the zone it was given."""
    deployments = build_deployments(Path("data/sample"), tmp_path / "runs", None,
                                    time_zone="America/Phoenix")
    zones = {d.name: d.schedules[0].schedule.timezone for d in deployments if d.schedules}
    assert set(zones.values()) == {"America/Phoenix"} and len(zones) == 3


def test_the_default_zone_is_this_machines(monkeypatch):
    from ccreview.core.config import config_from_dict, local_time_zone

    monkeypatch.setenv("TZ", "America/Phoenix")
    assert local_time_zone() == "America/Phoenix"
    assert config_from_dict({}).as_flat_dict()["schedule.time_zone"] == "America/Phoenix"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert local_time_zone() != "Not/AZone"
    assert config_from_dict({"schedule": {"time_zone": "Europe/Paris"}}
                            ).schedule_time_zone == "Europe/Paris"


def test_serve_refuses_without_a_long_lived_server(tmp_path):
    """Without PREFECT_API_URL `serve` would serve on a temporary server whose schedules
    vanish when it stops: refused, saying why, unless --ephemeral; a server that does not
    answer is named in one line."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    cli = [str(Path(sys.executable).parent / "ccreview"), "serve", "--input", "data/sample",
           "--out", str(tmp_path / "runs")]
    run = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 2, run.stderr
    assert "PREFECT_API_URL" in run.stderr and "--ephemeral" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    env["PREFECT_API_URL"] = "http://127.0.0.1:9/api"  # nothing listens there
    run = subprocess.run(cli, env=env, capture_output=True, text=True, check=False)
    assert run.returncode == 1 and "does not answer" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_each_configured_source_is_pulled_before_the_runs(tmp_path):
    config = tmp_path / "review.toml"
    config.write_text('[pull.servicenow]\ninstance_url = "https://example.service-now.com"\n'
                      'table = "x_cc_enrollment"\nuser = "svc"\n')
    deployments = build_deployments(Path("data/sample"), tmp_path / "runs", config)
    pulls = [d for d in deployments if d.name.startswith("pull-")]
    assert [d.name for d in pulls] == ["pull-servicenow"]
    cron = pulls[0].schedules[0].schedule.cron
    assert cron == "30 4 * * *"  # before the daily census at 05:00
    assert pulls[0].parameters == {"input_dir": str(Path("data/sample").resolve()),
                                   "config_path": str(config.resolve())}
