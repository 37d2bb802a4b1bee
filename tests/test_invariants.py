"""Warehouse invariants: each `invariants/assert_*.sql` returns the violating rows; no rows
means it holds. They run on the sample and on a folder full of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cases import AS_OF
from tests.conftest import build_warehouse

INVARIANTS = sorted((Path(__file__).parent / "invariants").glob("assert_*.sql"))


def test_there_are_invariants():
    assert len(INVARIANTS) >= 5


@pytest.mark.parametrize("sql", INVARIANTS, ids=lambda p: p.stem)
def test_invariant_holds_on_the_sample(sample_warehouse, sql):
    rows = sample_warehouse.execute(sql.read_text()).fetchall()
    assert rows == [], f"{sql.name}: {len(rows)} violating rows"


@pytest.mark.parametrize("sql", INVARIANTS, ids=lambda p: p.stem)
def test_invariant_holds_on_bad_input(bad_inputs, sql):
    con = build_warehouse(bad_inputs, AS_OF)
    rows = con.execute(sql.read_text()).fetchall()
    assert rows == [], f"{sql.name}: {len(rows)} violating rows"


def test_the_reconciliation_invariant_covers_every_contract():
    """assert_every_input_row_accepted_or_quarantined.sql lists tables by hand: a new
    contract must be added there too."""
    from ccreview.contracts.schemas import CONTRACTS

    sql = (Path(__file__).parent / "invariants" /
           "assert_every_input_row_accepted_or_quarantined.sql").read_text()
    for table in CONTRACTS:
        assert f"raw_{table}" in sql and f"ingested_{table}" in sql, table
