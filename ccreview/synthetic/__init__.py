"""Synthetic organisations for demos, tests and benchmarks (`ccreview generate`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ccreview.synthetic.exports import write_organisation
from ccreview.synthetic.organisation import build_organisation


def generate(out: Path, groups: int, seed: int, as_of: date,
             events_per_person: int = 4) -> dict[str, int]:
    """Build a seeded organisation and write every export under `out`."""
    return write_organisation(build_organisation(groups, seed, as_of), out, events_per_person)


__all__ = ["generate"]
