"""`ccreview pull SOURCE`: fetch the evidence from the source systems into the input
folder, in exactly the shapes the readers take — so a pulled file is ingested, checked,
keyed by its SHA-256 and stored like any export made by hand.

- `graph`: Entra ID users with `signInActivity` and the sign-in log (Microsoft Graph,
  client credentials) -> `entra/graph_users/` (replaced whole) and
  `signins/graph_sign_ins_<from>_<to>.csv`;
- `servicenow`: the enrollment submissions (Table API, basic authentication, incremental
  on `sys_updated_on`) -> `enrollment/servicenow_<from>_<to>.json`;
- `docusign`: the DAA envelopes with recipients and custom fields (eSignature
  `listStatusChanges`, JWT grant) -> `docusign/docusign_envelopes_<from>_<to>.json`.

Active Directory stays an export (it needs a domain-joined Windows host):
`docs/export_ad_users.ps1`. Settings: `[pull.<source>]` of the config; secrets from the
environment or Prefect Secret blocks (`ccreview.core.secrets`). Cursors and pulls in
progress: `<input>/.ccreview-pull/` (`state`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from ccreview.core import run_lock
from ccreview.core.config import ReviewConfig
from ccreview.core.errors import UsageError
from ccreview.core.vocabulary import PULL_STATE_FOLDER
from ccreview.sources import docusign, graph, servicenow
from ccreview.sources.windows import PullResult

SOURCES: dict[str, Callable[..., list[PullResult]]] = {
    "graph": graph.pull, "servicenow": servicenow.pull, "docusign": docusign.pull}


def pull(source: str, input_dir: Path, config: ReviewConfig,
         now: dt.datetime | None = None, backoff_seconds: float = 1.0,
         wait_seconds: float | None = None) -> list[PullResult]:
    """Pull one source into `input_dir` as its `[pull.<source>]` settings say; one pull
    of a source at a time (another waits up to `wait_seconds`, then stops naming it)."""
    if source not in SOURCES:
        raise UsageError(f"unknown source {source!r}; expected one of {sorted(SOURCES)}")
    settings = config.pull.get(source)
    if settings is None:
        raise UsageError(f"ccreview pull {source}: the config has no [pull.{source}] section "
                         "(see data/config/review.example.toml)")
    input_dir.mkdir(parents=True, exist_ok=True)
    with run_lock.holding(input_dir / PULL_STATE_FOLDER / f"{source}.lock", f"pull {source}",
                          wait_seconds, label=f"the {source} pull into {input_dir}"):
        now = now or dt.datetime.now(dt.UTC)
        return SOURCES[source](settings, input_dir, now, backoff_seconds)
