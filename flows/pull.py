"""The pulls as Prefect flows, one per source (`pull-graph`, `pull-servicenow`,
`pull-docusign`), so that `ccreview serve` can schedule them before the runs that read
their files. Thin: the work is `ccreview.sources.pull`; a flow logs one line per result
(counts and file names, never a record) and returns the same lines. Not cached
(credentials and personal data), not retried by Prefect (the client retries each request
itself, and a pull run again resumes where it stopped)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from ccreview.core import redaction
from ccreview.core.config import load_config
from ccreview.flows.notify import notify_failure
from ccreview.sources import pull


@task(name="pull", cache_policy=NO_CACHE)
def pull_task(source: str, input_dir: str, config_path: str | None,
              wait_seconds: float | None = None) -> list[str]:
    folder = Path(input_dir)
    lines = [r.line(folder) for r in pull(source, folder, load_config(config_path),
                                           wait_seconds=wait_seconds)]
    for line in lines:
        get_run_logger().info("%s", line)
    return lines


def _pull_flow(source: str):
    @flow(name=f"pull-{source}", log_prints=True, on_failure=[notify_failure],
          on_crashed=[notify_failure])
    def pull_flow(input_dir: str, config_path: str | None = None,
                  wait_seconds: float | None = None) -> list[str]:
        redaction.install()  # also when a deployment runs the flow outside the CLI
        return pull_task(source, input_dir, config_path, wait_seconds)
    pull_flow.__doc__ = f"Pull {source} into the input folder (`ccreview pull {source}`)."
    return pull_flow


pull_graph = _pull_flow("graph")
pull_servicenow = _pull_flow("servicenow")
pull_docusign = _pull_flow("docusign")
PULL_FLOWS = {"graph": pull_graph, "servicenow": pull_servicenow, "docusign": pull_docusign}
