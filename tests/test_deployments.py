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
