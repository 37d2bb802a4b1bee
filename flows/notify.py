"""Failure notices: when a run fails (a scheduled one above all, which nobody watches), a
message goes out through the Prefect notification block the config names
(`[notifications] failure_block = "<block type>/<name>"`: a `custom-webhook`,
`ms-teams-webhook`, `slack-webhook`, `sendgrid-email`... block, created in the Prefect UI
with its URL or credentials kept by the Prefect server, never in our config).

The message says which run failed, in which stage, and how far each stage got: names,
states and our own one-line reasons only, never data (an unexpected exception is named by
its class, as in the logs). A notice that cannot be sent is logged and never hides the
failure it reports.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)

def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect `on_failure` / `on_crashed` hook of every ccreview flow."""
    try:
        _notify(flow, flow_run, state)
    except Exception as exc:  # noqa: BLE001 - a notice must never mask the failure
        log.warning("the failure notice could not be sent (%s)", exc.__class__.__name__)


def _notify(flow: Any, flow_run: Any, state: Any) -> None:
    from ccreview.core.config import load_config

    params = dict(flow_run.parameters or {})
    config = load_config(params.get("config_path"))
    if not config.notify_block:
        return
    from prefect.blocks.core import Block

    block = Block.load(config.notify_block)
    subject, body = failure_message(flow.name, flow_run.name, params, state,
                                    _task_states(flow_run.id))
    block.notify(body=body, subject=subject)


def _task_states(flow_run_id: Any) -> list[tuple[str, str]]:
    """(task name, state) of the flow run's task runs, in the order they started."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC)
    return [(_task_name(r.name), r.state.name if r.state else "unknown") for r in runs]


def _task_name(run_name: str) -> str:
    """The task's name from its run's (Prefect appends `-<3 hex digits>`)."""
    return re.sub(r"-[0-9a-f]{3}$", "", run_name)


def failure_message(flow_name: str, run_name: str, params: dict, state: Any,
                    tasks: list[tuple[str, str]]) -> tuple[str, str]:
    """Subject and body of the notice: the run, the stage, the reason, the stages' states."""
    failed = [name for name, st in tasks if st in ("Failed", "Crashed", "TimedOut")]
    stage = failed[0] if failed else "the checks before the stages"
    subject = f"ccreview: {run_name} failed ({stage})"
    lines = [f"The {flow_name} run {run_name!r} ended {state.name.lower()} in {stage}.",
             f"Reason: {_reason(state)}"]
    if tasks:
        done: dict[str, dict[str, int]] = {}
        for name, st in tasks:
            done.setdefault(name, {}).setdefault(st, 0)
            done[name][st] += 1
        lines.append("Stages: " + "; ".join(
            f"{name} " + ", ".join(f"{n} {st.lower()}" if n > 1 else st.lower()
                                   for st, n in sorted(states.items()))
            for name, states in done.items()))
    for key, label in (("input_dir", "Input folder"), ("out_dir", "Output folder"),
                       ("returned_dir", "Returned workbooks")):
        if params.get(key):
            lines.append(f"{label}: {params[key]}")
    lines.append("A failed run leaves the previous reports and the run history as they were; "
                 "its logs (counts and file names only) are in the Prefect UI.")
    return subject, "\n".join(lines)


def _reason(state: Any) -> str:
    """Our own one-line messages as they are; any other exception by its class only."""
    try:
        exc = state.result(raise_on_failure=False)
    except Exception as err:  # noqa: BLE001 - the result may be unavailable
        return err.__class__.__name__
    if not isinstance(exc, BaseException):
        return "unknown"
    from ccreview.core.errors import UsageError

    if isinstance(exc, UsageError) or getattr(exc, "one_line", False):
        return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return exc.__class__.__name__
