"""Words more than one stage uses, each written once."""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files

# what a submission document may say it is; a portal member list is a request too
SUBMISSION_TYPES = ("new_group", "add_members", "change_applications", "remove_members",
                    "change_group_roles")
REQUEST_TYPES = (*SUBMISSION_TYPES, "member_list")

# the columns of a finding, in findings.csv / .parquet and the Findings sheet
FINDING_COLUMNS = ["finding_key", "rule", "severity", "request_number", "group_name", "email",
                   "person_name", "lan_id", "application", "detail", "control",
                   "recommended_action"]


@cache
def _catalog() -> tuple[dict[str, str], ...]:
    """The findings catalog (`contracts/findings_catalog.csv`): the one home of the rule
    codes, their severities, and which rules the support desk's lists act on."""
    with (files("ccreview.contracts") / "findings_catalog.csv").open(
            encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def rule_codes() -> frozenset[str]:
    return frozenset(r["rule"] for r in _catalog())


def support_desk_rules() -> tuple[str, ...]:
    """The rules the support desk's dormant-account lists act on, in catalog order."""
    return tuple(r["rule"] for r in _catalog() if r["support_desk"] == "yes")


# The tables the dataset expectations (contracts/expectations.py) judge, as a reader names
# them.
SUITE_LABELS = {"enrollment_submissions": "Enrollment submissions",
                "enrollment_people": "Enrolled people", "directory_accounts": "AD accounts",
                "entra_users": "Entra ID users", "application_accounts": "Application lists",
                "daa_envelopes": "DAA envelopes", "sign_in_events": "Entra sign-in exports",
                "adt_events": "ADT messages"}


# where `ccreview pull` keeps its cursors and pages in progress, inside the input folder;
# the readers list it as ccreview's own, not as an input
PULL_STATE_FOLDER = ".ccreview-pull"
