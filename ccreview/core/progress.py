"""Progress bars for the command line's long stages (reading a hospital's exports, building
the models, rendering thousands of workbooks).

Drawn with tqdm on stderr only when the command line asked for them (`CCREVIEW_PROGRESS=1`,
set by `ccreview`) and stderr is a terminal: scheduled runs, tests and piped output get the
log lines alone. A bar shows counts, bytes and time — never a file's content or a name
from the data.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

ENV = "CCREVIEW_PROGRESS"


def progress_bar(total: int | None, stage: str, unit: str = "it", unit_scale: bool = False) -> tqdm:
    """A bar for one stage; a no-op object when bars are off."""
    wanted = os.environ.get(ENV) == "1"
    return tqdm(total=total, desc=stage, unit=unit, unit_scale=unit_scale, leave=False,
                file=sys.stderr, dynamic_ncols=True, mininterval=0.5,
                disable=None if wanted else True)
