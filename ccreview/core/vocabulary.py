"""Words more than one stage uses, each written once."""

from __future__ import annotations

import csv
from functools import cache
from importlib.resources import files

# what a submission document may say it is; a portal member list is a request too
SUBMISSION_TYPES = ("new_group", "add_members", "change_applications", "remove_members",
                    "change_group_roles")
REQUEST_TYPES = (*SUBMISSION_TYPES, "member_list")

# How ServiceNow closes a request without fulfilling it: what a submission's `approval`,
# `request_state` (sc_request) or `state` (a task's) field says, by value or label,
# lower-cased with `_` read as a space -> the word the warehouse keeps
# (`enrollment_submissions.closed_as`). A closed state is final in ServiceNow: a
# submission any export shows closed so never took effect. Every other value (approved,
# requested, not yet requested, open, work in progress, closed complete, ...) leaves the
# submission in effect, as a document without these fields is.
CLOSED_UNFULFILLED = {
    ("approval", "rejected"): "rejected",
    ("approval", "cancelled"): "cancelled",
    ("approval", "canceled"): "cancelled",
    ("request_state", "closed rejected"): "rejected",
    ("request_state", "closed cancelled"): "cancelled",
    ("request_state", "closed canceled"): "cancelled",
    ("request_state", "closed incomplete"): "incomplete",
    ("request_state", "closed skipped"): "skipped",
    ("state", "closed incomplete"): "incomplete",
    ("state", "4"): "incomplete",
    ("state", "closed skipped"): "skipped",
    ("state", "7"): "skipped",
    ("state", "cancelled"): "cancelled",
    ("state", "canceled"): "cancelled",
    ("state", "closed cancelled"): "cancelled",
    ("state", "closed rejected"): "rejected",
}
# the values of those fields that leave a submission in effect, as ServiceNow writes them
STILL_IN_EFFECT = {
    "approval": ("approved", "requested", "not requested", "not yet requested",
                 "not required", "no longer required", "duplicate",
                 "more information required"),
    "request_state": ("requested", "in process", "closed complete", "pending"),
    "state": ("-5", "1", "2", "3", "pending", "open", "work in progress",
              "closed complete"),
}
CLOSED_AS = ("rejected", "cancelled", "incomplete", "skipped")

# How the sources and the people filling in forms name the five applications (lower case,
# `_`/`-` read as spaces, runs of spaces as one): codes, the guide's names, ServiceNow
# choice values, the portal's own column typos. `core.identifiers.application_code` reads
# a name through it (also `Direct Secure Messaging (DSM)`); the event logs' SQL is made
# from it (`contracts.readers.sign_in_events_csv`).
APPLICATION_NAMES = {
    "cerner": "CERNER", "cerner millennium": "CERNER", "cerner millenium": "CERNER",
    "millennium": "CERNER",
    "pacs": "PACS", "pacs synapse": "PACS", "synapse pacs": "PACS", "synapse": "PACS",
    "dsm": "DSM", "direct secure messaging": "DSM", "direct messaging": "DSM",
    "qventus": "QVENTUS",
    "r2w": "R2W", "report2web": "R2W", "report 2 web": "R2W", "report to web": "R2W",
    "repor 2 wee": "R2W",  # the portal member list's own header
}

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


def support_desk_findings(findings_by_rule: dict[str, int]) -> dict[str, int]:
    """Of a run's findings per rule, those of the rules the support desk acts on."""
    rules = support_desk_rules()
    return {r: n for r, n in findings_by_rule.items() if r in rules}


# The tables the dataset expectations (contracts/expectations.py) judge, as a reader names
# them.
SUITE_LABELS = {"enrollment_submissions": "Enrollment submissions",
                "enrollment_people": "Enrolled people", "directory_accounts": "AD accounts",
                "entra_users": "Entra ID users", "application_accounts": "Application lists",
                "daa_envelopes": "DAA envelopes", "sign_in_events": "Entra sign-in exports",
                "adt_events": "ADT messages"}


# The HL7 v2 ADT events the census reads: their name on a census's Movements sheet, and
# what each says about the visit (int_adt_visits: the latest event that says something
# decides; the store keeps a visit until 7 days after it was discharged or cancelled).
# "in": the patient is in the hospital (admitted, registered, back after a cancelled
# discharge); None: says nothing about it (a transfer, an update, a cancelled transfer).
# "cancelled": the encounter did not happen or was removed (a cancelled admission or visit,
# A11; a deleted visit, A23, which a hospital sends for an encounter created in error; a
# cancelled pre-admit, A38): no patient data of it reaches a census.
# Other events (A17 bed swap, A28/A31 person updates, merges) are quarantined as not used.
ADT_EVENTS: dict[str, tuple[str, str | None]] = {
    "A01": ("Admit", "in"),
    "A02": ("Transfer", None),
    "A03": ("Discharge", "discharged"),
    "A04": ("Registration", "in"),
    "A05": ("Pre-admit", "pre-admitted"),
    "A06": ("Changed to inpatient", "in"),
    "A07": ("Changed to outpatient", "in"),
    "A08": ("Update", None),
    "A11": ("Admit or visit cancelled", "cancelled"),
    "A12": ("Transfer cancelled", None),
    "A13": ("Discharge cancelled", "in"),
    "A23": ("Visit deleted", "cancelled"),
    "A38": ("Pre-admit cancelled", "cancelled"),
}
# the visit is over: the store keeps its messages for `adt_days_after_discharge` more days
ADT_CLOSED = ("discharged", "cancelled")


# where `ccreview pull` keeps its cursors and pages in progress, inside the input folder;
# the readers list it as ccreview's own, not as an input
PULL_STATE_FOLDER = ".ccreview-pull"
