"""The review reproduces the generator's ground truth: every injected defect found,
nothing else flagged."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
from pathlib import Path

import pandas as pd
import pytest

from ccreview.core.identifiers import is_valid_npi
from ccreview.synthetic import generate
from tests.conftest import SAMPLE, build_warehouse, expected_keys, finding_keys

CATALOG = pd.read_csv(Path(__file__).parent.parent / "contracts" / "findings_catalog.csv")
RULES = set(CATALOG["rule"])
AS_OF = dt.date(2026, 11, 1)


def test_sample_findings_match_ground_truth_exactly(sample_warehouse):
    expected = expected_keys(SAMPLE)
    assert {r for r, *_ in expected} == RULES  # the sample exercises every rule
    assert finding_keys(sample_warehouse) == expected


@pytest.fixture(scope="module")
def org300(tmp_path_factory):
    out = tmp_path_factory.mktemp("org300")
    generate(out, 300, 7, AS_OF)
    return out


def test_300_group_organisation_matches_ground_truth_exactly(org300):
    con = build_warehouse(org300, AS_OF)
    expected = expected_keys(org300)
    found = finding_keys(con)
    assert found - expected == set(), "flagged but not injected"
    assert expected - found == set(), "injected but not found"
    per_rule = {r: sum(1 for k in expected if k[0] == r) for r in RULES}
    assert all(n >= 3 for n in per_rule.values()), per_rule  # every rule exercised


def test_generator_is_deterministic_byte_for_byte(tmp_path, org300):
    again = tmp_path / "again"
    generate(again, 300, 7, AS_OF)
    cmp = filecmp.dircmp(org300, again)
    files = [p.relative_to(org300) for p in org300.rglob("*") if p.is_file()]
    assert files
    for rel in files:
        assert (org300 / rel).read_bytes() == (again / rel).read_bytes(), rel
    assert not cmp.left_only and not cmp.right_only


def test_different_seed_gives_a_different_organisation(tmp_path):
    generate(tmp_path / "a", 5, 1, AS_OF)
    generate(tmp_path / "b", 5, 2, AS_OF)
    a = (tmp_path / "a" / "directory" / "ad_users_ps51.csv").read_bytes()
    b = (tmp_path / "b" / "directory" / "ad_users_ps51.csv").read_bytes()
    assert a != b


def test_generated_people_look_real_but_fictional(org300):
    con = build_warehouse(org300, AS_OF)
    npis = con.execute("select npi, email from int_members where npi is not null").fetchall()
    bad_npi = {e for r, _, e, _ in expected_keys(org300, {"SPONSOR_NOT_QUALIFIED"})}
    assert npis and all(is_valid_npi(n) for n, e in npis if e not in bad_npi)
    phones = [r[0] for r in con.execute(
        "select phone_as_entered from stg_enrollment_people where action = 'add'").fetchall()]
    assert all("555-01" in p.replace(") ", "-") for p in phones)  # the fictional range
    people = con.execute("select count(*) from int_members").fetchall()[0][0]
    assert 10 * 300 <= people <= 16 * 300
    meta = json.loads((org300 / "generation.json").read_text())
    assert meta["seed"] == 7 and meta["groups"] == 300


def test_sample_is_the_committed_generator_output(tmp_path):
    """data/sample/ must be regenerated (make sample) when the generator changes."""
    meta = json.loads((SAMPLE / "generation.json").read_text())
    generate(tmp_path, meta["groups"], meta["seed"], dt.date.fromisoformat(meta["as_of"]))
    for p in SAMPLE.rglob("*"):
        if p.is_file():
            rel = p.relative_to(SAMPLE)
            assert (tmp_path / rel).read_bytes() == p.read_bytes(), rel
