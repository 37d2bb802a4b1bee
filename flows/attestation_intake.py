"""Attestation intake as a Prefect flow: read the returned attestation workbooks, check
them against what the review issued, record each group's review status in the history and
write the remediation workbook. Run on demand (`ccreview attest`, or the
`attestation-intake` deployment) whenever returns arrive; rerunning replaces the status.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ccreview.contracts.attestation_returns import check_returns
from ccreview.core import redaction, run_lock
from ccreview.core.config import HOSPITAL_TIME_ZONES
from ccreview.core.history import HISTORY, record_status
from ccreview.flows.access_review import _retry_on_io_error, _sanitized, run_name
from ccreview.flows.notify import notify_failure
from ccreview.reports.remediation import write_remediation


@task(name="attestation intake", retries=2, retry_delay_seconds=2,
      retry_condition_fn=_retry_on_io_error, cache_policy=NO_CACHE)
@_sanitized("attestation intake")
def intake(returned_dir: str, out_dir: str, as_of: str | None, received_on: str) -> dict:
    logger = get_run_logger()
    out = Path(out_dir)
    result = check_returns(Path(returned_dir), out / HISTORY,
                           dt.date.fromisoformat(as_of) if as_of else None,
                           dt.date.fromisoformat(received_on))
    written = write_remediation(result, out)
    record_status(out / HISTORY, result)  # after the files: a failed run records nothing
    by_status = result.groups_by_status()
    logger.info("read %d returned files for the review of %s: %s; %d problems; "
                "%d rows to revoke or change", result.files, result.as_of,
                ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())),
                len(result.problems), len(result.remediation))
    return {"as_of": result.as_of.isoformat(), "files": result.files,
            "groups_by_status": by_status, "problems": len(result.problems),
            "blocking_problems": sum(p.blocking for p in result.problems),
            "to_revoke_or_change": len(result.remediation),
            "outputs": [str(p) for p in written]}


@flow(name="attestation-intake", flow_run_name=run_name("attestation-intake", "latest review"),
      log_prints=True, on_failure=[notify_failure], on_crashed=[notify_failure])
def attestation_intake(returned_dir: str, out_dir: str, as_of: str | None = None,
                       received_on: str | None = None) -> dict:
    """Check the returned attestation workbooks; returns counts only."""
    redaction.install()
    os.umask(0o077)
    with run_lock.holding(Path(out_dir), "attestation-intake"):
        counts = intake(returned_dir, out_dir, as_of,
                        received_on or HOSPITAL_TIME_ZONES.today().isoformat())
    s = counts["groups_by_status"]
    print(f"Attestations for the review of {counts['as_of']}: "
          + ", ".join(f"{n} {k}" for k, n in sorted(s.items()))
          + f"; {counts['problems']} problems; {counts['to_revoke_or_change']} rows to revoke "
          "or change")
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(
        key="attestation-intake-summary",
        markdown=(f"# Attestation intake for the review of {counts['as_of']}\n\n"
                  f"- returned files read: {counts['files']}\n"
                  + "".join(f"- groups {k}: **{n}**\n" for k, n in sorted(s.items()))
                  + f"- rows to revoke or change: {counts['to_revoke_or_change']}\n"
                  f"- problems in the returns: {counts['problems']} "
                  f"({counts['blocking_problems']} blocking)\n"),
        description=f"Counts only; remediation_{counts['as_of']}.xlsx is in the output "
                    "folder.")
    create_table_artifact(key="attestation-intake-status",
                          table=[{"status": k, "groups": n} for k, n in sorted(s.items())],
                          description=f"Groups by attestation status for the review of "
                                      f"{counts['as_of']} (counts only)")
    return counts
