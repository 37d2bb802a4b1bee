"""Secrets (the census password, the source systems' credentials): from the environment
— the variable itself, or `<VARIABLE>_FILE` naming a file that holds it — else from the
Prefect Secret block the configuration names. Never from the command line or the config
file, and never written to a log, an error message or Prefect state: errors name the
variable or the block, never the value."""

from __future__ import annotations

import os
from pathlib import Path

from ccreview.core.errors import UsageError


def secret(variable: str, block: str | None = None, setting: str = "") -> str | None:
    """The secret in `variable` (or the file `<variable>_FILE` names), else in the Prefect
    Secret block `block` (`setting` is the config key that names it, for the error); None
    when there is none."""
    value = os.environ.get(variable)
    if value:
        return value
    path = os.environ.get(f"{variable}_FILE")
    if path:
        try:
            held = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"{variable}_FILE: the file cannot be read") from None
        if not held:
            raise UsageError(f"{variable}_FILE: the file is empty")
        return held
    if block:
        return secret_block(block, setting)
    return None


def secret_block(name: str, setting: str) -> str:
    """The value of a Prefect Secret block (stored encrypted by the Prefect server)."""
    from prefect.blocks.system import Secret

    try:
        value = Secret.load(name).get()
    except Exception as exc:  # its message may name the server, never the value
        raise UsageError(f"{setting}: the Prefect Secret block {name!r} cannot be read "
                         f"({exc.__class__.__name__}); create it in the UI (Blocks) or with "
                         "Secret(value=...).save(name)") from None
    if not isinstance(value, str) or not value:
        raise UsageError(f"{setting}: the Prefect Secret block {name!r} holds no text")
    return value
