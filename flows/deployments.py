"""Deployments with schedules, served by `ccreview serve` against a Prefect server.

| deployment | flow | schedule (cron, in the configured zone) | for |
|---|---|---|---|
| quarterly-access-review | access-review | 06:00 on the 1st of Jan, Apr, Jul, Oct | compliance |
| weekly-dormant-accounts | dormant-accounts | 06:00 every Monday | support desk |
| daily-census | daily-census | 05:00 every day | Report2Web |
| attestation-intake | attestation-intake | none: run on demand ("Run" in the UI) | compliance |
| pull-graph | pull-graph | 04:30 every day, if the config has `[pull.graph]` | all |
| pull-servicenow | pull-servicenow | 04:30 every day, if `[pull.servicenow]` | all |
| pull-docusign | pull-docusign | 04:30 every day, if `[pull.docusign]` | all |

The schedules run in `[schedule] time_zone` of the config, by default this machine's zone
(a schedule without one would run in UTC: 06:00 in Arizona is 13:00 UTC). Each scheduled
one reviews the same input folder as of the day it runs and writes to its
own folder under the output folder; all three share one evidence store
(`<out>/evidence.duckdb` unless `--store` says otherwise), so a file is read once by
whichever run sees it first, and the daily census uses the sign-in evidence the weekly
run stored. The pulls run half an hour before the earliest run, so each run
reads what they fetched into the input folder. Attestation intake reads the returned workbooks from
`<out>/returned` (a parameter, changeable per run) against the quarterly review's folder.
"""

from __future__ import annotations

from pathlib import Path

from ccreview.contracts.store import STORE
from ccreview.flows.access_review import access_review, daily_census, dormant_accounts
from ccreview.flows.attestation_intake import attestation_intake
from ccreview.flows.pull import PULL_FLOWS

SCHEDULES = {
    "quarterly-access-review": (access_review, "0 6 1 1,4,7,10 *", "access_review"),
    "weekly-dormant-accounts": (dormant_accounts, "0 6 * * 1", "dormant_accounts"),
    "daily-census": (daily_census, "0 5 * * *", "census"),
}
PULL_CRON = "30 4 * * *"  # before the daily census (05:00) and the others (06:00)


def build_deployments(input_dir: Path, out_dir: Path, config_path: Path | None,
                      task_runner: str = "auto", workers: int | None = None,
                      store: Path | None = None, time_zone: str = "UTC") -> list:
    """The deployments, with their schedules (in `time_zone`) and parameters (paths made
    absolute)."""
    from prefect.schedules import Cron

    store = (store or out_dir / STORE).resolve()
    deployments = []
    for name, (flow_fn, cron, folder) in SCHEDULES.items():
        deployments.append(flow_fn.to_deployment(
            name=name, schedules=[Cron(cron, timezone=time_zone)],
            parameters={"input_dir": str(input_dir.resolve()),
                        "out_dir": str((out_dir / folder).resolve()),
                        "config_path": str(config_path.resolve()) if config_path else None,
                        "task_runner": task_runner, "workers": workers,
                        "store": str(store)},
            tags=["ccreview"]))
    from ccreview.core.config import load_config

    for source in load_config(config_path).pull:
        deployments.append(PULL_FLOWS[source].to_deployment(
            name=f"pull-{source}", schedules=[Cron(PULL_CRON, timezone=time_zone)],
            parameters={"input_dir": str(input_dir.resolve()),
                        "config_path": str(config_path.resolve()) if config_path else None},
            tags=["ccreview"]))
    deployments.append(attestation_intake.to_deployment(
        name="attestation-intake",
        parameters={"returned_dir": str((out_dir / "returned").resolve()),
                    "out_dir": str((out_dir / "access_review").resolve())},
        tags=["ccreview"]))
    return deployments
