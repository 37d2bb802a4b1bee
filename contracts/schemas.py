"""Contracts of the canonical tables: columns, warehouse types and row-level rules.

Each canonical table has one `Contract`: its columns (name, DuckDB type, meaning) and the
pandera checks a row must pass to be accepted. A row that fails any check is quarantined
with the column, the rule and a reason a person understands; the failing value itself is
never copied (it may be PHI). `docs/data-dictionary.md` is generated from these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

from ccreview.core.identifiers import (
    REQUEST_NUMBER_RE,
    STAFF_TYPES,
    implicit_upn,
    is_valid_email,
    is_valid_npi,
    normalize_npi,
    normalize_phone,
)
from ccreview.core.vocabulary import ADT_EVENTS, CLOSED_AS, REQUEST_TYPES

APPLICATIONS = ("CERNER", "PACS", "DSM", "QVENTUS", "R2W")
ENVELOPE_STATUSES = ("created", "sent", "delivered", "signed", "completed", "declined",
                     "voided")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type in the warehouse
    meaning: str
    required: bool = False
    checks: tuple[pa.Check, ...] = ()
    # its checks are reported but keep the row (the value is left out in staging): a
    # mistyped phone number must not take a person or a group out of the review
    warns: bool = False
    # kept by the evidence store only (the natural key it de-duplicates on), never copied
    # into the warehouse, whose models do not use it: writing the sign-ins' Request IDs
    # (36 random characters each) into the warehouse was half the cost of copying them
    stored_only: bool = False


@dataclass(frozen=True)
class Contract:
    """`bulk` tables (tens of millions of rows) are validated in SQL, never in pandas: their
    rules are `required` columns plus the reader's own parse checks; their `raw_` table is
    a view of the accepted rows, not a copy."""
    table: str
    grain: str
    columns: tuple[Column, ...]
    row_checks: tuple[pa.Check, ...] = field(default=())
    bulk: bool = False
    # checks whose failure is reported but does not quarantine the row: the finding it
    # leads to (e.g. SPONSOR_NOT_QUALIFIED for a bad NPI) needs the row in the review
    warning_checks: tuple[pa.Check, ...] = field(default=())

    @property
    def warehouse_columns(self) -> tuple[Column, ...]:
        """The columns of the warehouse's tables: all but those the store keeps only."""
        return tuple(c for c in self.columns if not c.stored_only)

    def kept_columns(self, stored: bool) -> tuple[Column, ...]:
        """The columns as the evidence store keeps them (`stored`) or the warehouse."""
        return self.columns if stored else self.warehouse_columns

    @property
    def has_warnings(self) -> bool:
        return bool(self.warning_checks) or any(c.warns for c in self.columns)

    @property
    def warning_schema(self) -> pa.DataFrameSchema:
        cols = {c.name: pa.Column(None, checks=list(c.checks), nullable=True, required=False)
                for c in self.columns if c.warns}
        return pa.DataFrameSchema(cols, checks=list(self.warning_checks), strict=False)

    @property
    def schema(self) -> pa.DataFrameSchema:
        cols = {c.name: pa.Column(None, checks=[] if c.warns else list(c.checks),
                                  nullable=not c.required, required=False)
                for c in self.columns}
        return pa.DataFrameSchema(cols, checks=list(self.row_checks), strict=False)

    def ddl(self, stored: bool = False) -> str:
        """The table's DDL as the warehouse holds it; `stored`: with the columns the
        evidence store keeps only (its tables, and the reading of a file into it)."""
        body = ",\n  ".join(f'"{c.name}" {c.type}' for c in self.kept_columns(stored))
        return (f"create table {self.table} (\n  {body},\n  source_file varchar,\n"
                f"  source_line integer\n)")


# -- reusable checks; the name is the rule code, REASONS the words a person reads ----------

def _request_number() -> pa.Check:
    return pa.Check(lambda s: s.astype(str).str.fullmatch(REQUEST_NUMBER_RE.pattern),
                    name="request_number_pattern")


def _email() -> pa.Check:
    return pa.Check(is_valid_email, element_wise=True, name="email_syntax")


def _phone() -> pa.Check:
    return pa.Check(lambda v: normalize_phone(v) is not None, element_wise=True,
                    name="phone_nanp")


def _one_of(values: tuple[str, ...], name: str) -> pa.Check:
    allowed = frozenset(values)
    return pa.Check(lambda s: s.isin(allowed), name=name)


REASONS = {
    "not_nullable": "a required value is missing",
    "request_number_pattern": "not a request number (CS followed by 7 digits)",
    "email_syntax": "not an email address",
    "phone_nanp": "not a ten-digit North American phone number (kept: the number is left "
                  "out, the person or group stays in the review)",
    "staff_type": "not a staff type of the form (Sponsoring Physician, Group Administrator, "
                  "Provider, Staff) (kept: a role the policy allows no application)",
    "request_type": "not a known kind of submission",
    "servicenow_state": "not an approval, request state or state of ServiceNow's this "
                        "reader knows (kept: the submission is taken as in effect)",
    "application": "not one of the five Clinical Connectivity applications",
    "envelope_status": "not a DocuSign envelope status",
    "add_needs_person": "a member added without first name, last name, staff type or suffix",
    "adt_event": f"not an ADT event the census uses ({', '.join(ADT_EVENTS)})",
    "npi_check_digit": "the NPI is not 10 digits with a valid check digit (kept: a "
                       "Sponsoring Physician's NPI is judged by SPONSOR_NOT_QUALIFIED)",
    "middle_initial_xor_flag": "give one middle initial or tick No M.I., not both and not "
                               "neither (kept)",
    "account_identifiable": "no UPN that is an address and no distinguished name with DC= "
                            "labels to make its implicit UPN (LAN ID@domain) from: the "
                            "account cannot be told from another",
    "implicit_upn": "no UPN, or one that is not an address: the account is reviewed as its "
                    "implicit UPN, LAN ID@the domain of its distinguished name, as Windows "
                    "accepts it at sign-in (kept)",
    "hl7_syntax": "not a parseable HL7 message",
    "hl7_date": "not an HL7 date",
}


# the column a row-level check judges, named in the quarantine and warning lists (a check
# that weighs several columns, such as add_needs_person, is the row's)
ROW_CHECK_COLUMNS = {
    "account_identifiable": "user_principal_name",
    "implicit_upn": "user_principal_name",
    "npi_check_digit": "npi",
    "middle_initial_xor_flag": "middle_initial",
}


def reason_for(check: str) -> str:
    return REASONS.get(check, check.replace("_", " "))


def _npi_valid_where_given(df: pd.DataFrame) -> pd.Series:
    npi = df.get("npi", pd.Series(None, index=df.index))
    return npi.isna() | npi.map(lambda v: v is None or v != v
                                or is_valid_npi(normalize_npi(v)))


def _middle_initial_xor_flag(df: pd.DataFrame) -> pd.Series:
    """One letter, or the No M.I. box: not both, not neither (people added by the form)."""
    mi = df.get("middle_initial", pd.Series(None, index=df.index)).fillna("").astype(str)
    flag = df.get("no_middle_initial", pd.Series(None, index=df.index))
    is_add = df.get("action", pd.Series("add", index=df.index)) == "add"
    has_mi = mi.str.fullmatch(r"[A-Za-z]\.?")
    flagged = flag.fillna(False).astype(bool)
    return ~is_add | flag.isna() | (has_mi ^ flagged)


def _adds_complete(df: pd.DataFrame) -> pd.Series:
    """A person added by a submission needs the fields the form makes mandatory."""
    needed = ["first_name", "last_name", "staff_type", "suffix"]
    is_add = df.get("action", pd.Series("add", index=df.index)) == "add"
    present = pd.concat([df.get(c, pd.Series(None, index=df.index)).notna() for c in needed],
                        axis=1).all(axis=1)
    return ~is_add | present


def _upn_is_address(df: pd.DataFrame) -> pd.Series:
    return df.get("user_principal_name", pd.Series(None, index=df.index)).map(is_valid_email)


def _implicit_upn_given(df: pd.DataFrame, rows: pd.Series) -> pd.Series:
    """Whether an implicit UPN can be made, judged for `rows` only (False elsewhere): the
    few accounts without a UPN that is an address, not every account."""
    given = pd.Series(False, index=df.index, dtype=bool)
    sam = df.get("sam_account_name", pd.Series(None, index=df.index))[rows]
    dn = df.get("distinguished_name", pd.Series(None, index=df.index))[rows]
    if rows.any():
        given[rows] = [implicit_upn(s, d) is not None for s, d in zip(sam, dn, strict=True)]
    return given


def _account_identifiable(df: pd.DataFrame) -> pd.Series:
    """An AD account is its UPN, or (none, or one that is no address) its implicit UPN:
    without either it cannot be told from another."""
    address = _upn_is_address(df)
    return address | _implicit_upn_given(df, ~address)


def _upn_given(df: pd.DataFrame) -> pd.Series:
    """Warned: an account identified by its implicit UPN (an unidentifiable one is
    quarantined instead)."""
    address = _upn_is_address(df)
    return address | ~_implicit_upn_given(df, ~address)


_SOURCE = "the file and line (or record) it came from"

CONTRACTS: dict[str, Contract] = {c.table: c for c in (
    Contract(
        "enrollment_submissions", "one row per submission document",
        (
            Column("request_number", "varchar", "the submission's own request number", True,
                   (_request_number(),)),
            Column("request_type", "varchar", "new_group, add_members, change_applications, "
                   "remove_members or change_group_roles", True,
                   (_one_of(REQUEST_TYPES, "request_type"),)),
            Column("group_request_number", "varchar", "request number of the group's "
                   "registration", True, (_request_number(),)),
            Column("submitted_at", "timestamp", "when it was submitted (UTC)", True),
            Column("group_name", "varchar", "practice name (registrations)"),
            Column("practice_fax", "varchar", "practice fax number", False, (_phone(),),
                   warns=True),
            Column("corporate_rep_answer", "varchar", "YES/NO: is there a Corporate Officer or "
                   "Legal Representative"),
            Column("corporate_rep_name", "varchar", "their full name"),
            Column("corporate_rep_email", "varchar", "their email", False, (_email(),),
                   warns=True),
            Column("r2w_privacy_accepted", "boolean", "Report2Web privacy policy box checked"),
            Column("closed_as", "varchar", "how ServiceNow closed the request without "
                   "fulfilling it, by its approval, request state or state: rejected, "
                   "cancelled, incomplete or skipped (the submission took no effect); empty "
                   "when it stands", False, (_one_of(CLOSED_AS, "servicenow_state"),),
                   warns=True),
        ),
    ),
    Contract(
        "enrollment_people", "one row per person named in a submission",
        (
            Column("request_number", "varchar", "the submission naming the person", True,
                   (_request_number(),)),
            Column("group_request_number", "varchar", "the group", True, (_request_number(),)),
            Column("request_type", "varchar", "kind of submission", True,
                   (_one_of(REQUEST_TYPES, "request_type"),)),
            Column("submitted_at", "timestamp", "when the submission was made (UTC); empty "
                   "for a portal member list, which counts as of the review date"),
            Column("action", "varchar", "add (registration, addition, change) or remove", True),
            Column("form_section", "varchar", "sponsoring_physician, group_administrator or "
                   "members"),
            Column("is_group_admin", "boolean", "the person is the group's administrator"),
            Column("first_name", "varchar", "first name"),
            Column("middle_initial", "varchar", "middle initial"),
            Column("no_middle_initial", "boolean", "the No M.I. box"),
            Column("last_name", "varchar", "last name"),
            Column("email", "varchar", "email as entered", True, (_email(),)),
            Column("phone", "varchar", "phone as entered (an extension written after the "
                   "number is read as the extension)", False, (_phone(),), warns=True),
            Column("phone_extension", "varchar", "phone extension"),
            Column("staff_type", "varchar", "staff type", False,
                   (_one_of(STAFF_TYPES, "staff_type"),), warns=True),
            Column("suffix", "varchar", "suffix (MD, NP, PA, DO, Surgery Scheduler, Staff, ...)"),
            Column("title", "varchar", "title"),
            Column("specialty", "varchar", "specialty (providers)"),
            Column("licensed_state", "varchar", "licensed state (providers)"),
            Column("state_license_number", "varchar", "state license number (providers)"),
            Column("npi", "varchar", "National Provider Identifier (providers)"),
            Column("source_path", "varchar", "where in the document: section[index]"),
        ),
        row_checks=(pa.Check(_adds_complete, name="add_needs_person", ignore_na=False),),
        warning_checks=(
            pa.Check(_npi_valid_where_given, name="npi_check_digit", ignore_na=False),
            pa.Check(_middle_initial_xor_flag, name="middle_initial_xor_flag",
                     ignore_na=False),
        ),
    ),
    Contract(
        "enrollment_app_requests", "one row per person x application requested in a submission",
        (
            Column("request_number", "varchar", "the submission", True, (_request_number(),)),
            Column("group_request_number", "varchar", "the group", True, (_request_number(),)),
            Column("submitted_at", "timestamp", "when requested (UTC); empty for a portal "
                   "member list (as of the review date)"),
            Column("request_type", "varchar", "kind of submission", True),
            Column("email", "varchar", "the person's email", True, (_email(),)),
            Column("application", "varchar", "CERNER, PACS, DSM, QVENTUS or R2W", True,
                   (_one_of(APPLICATIONS, "application"),)),
            Column("details", "json", "the application's form details (DSM Direct address; "
                   "Qventus role, facilities; R2W fax, labs, alerts, recipients)"),
            Column("source_path", "varchar", "where in the document"),
        ),
    ),
    Contract(
        "directory_accounts", "one row per Active Directory user",
        (
            Column("sam_account_name", "varchar", "LAN ID", True),
            Column("user_principal_name", "varchar", "UPN; empty or not an address: the "
                   "account is the implicit UPN, LAN ID @ the DN's DC labels"),
            Column("mail", "varchar", "mail attribute", False, (_email(),),
                   warns=True),
            Column("given_name", "varchar", "first name"),
            Column("surname", "varchar", "last name"),
            Column("display_name", "varchar", "Name"),
            Column("company", "varchar", "Company attribute (practice name)"),
            Column("department", "varchar", "Department attribute (group request number)"),
            Column("distinguished_name", "varchar", "DN"),
            Column("enabled", "boolean", "Enabled, or userAccountControl without its "
                   "ACCOUNTDISABLE bit", True),
            Column("created_at", "timestamp", "whenCreated or Created (UTC)"),
            Column("last_logon_at", "timestamp", "lastLogonTimestamp or LastLogonDate (lags "
                   "up to 14 days), or lastLogon when later"),
            Column("password_last_set_at", "timestamp", "pwdLastSet or PasswordLastSet"),
            Column("account_expires_at", "timestamp", "accountExpires or "
                   "AccountExpirationDate; empty = never"),
        ),
        row_checks=(pa.Check(_account_identifiable, name="account_identifiable",
                             ignore_na=False),),
        warning_checks=(pa.Check(_upn_given, name="implicit_upn", ignore_na=False),),
    ),
    Contract(
        "entra_users", "one row per Entra ID user",
        (
            Column("object_id", "varchar", "Entra object id"),
            Column("user_principal_name", "varchar", "UPN", True, (_email(),)),
            Column("mail", "varchar", "mail", False, (_email(),),
                   warns=True),
            Column("display_name", "varchar", "display name"),
            Column("given_name", "varchar", "first name"),
            Column("surname", "varchar", "last name"),
            Column("on_premises_sam_account_name", "varchar", "LAN ID of the synced AD user"),
            Column("company", "varchar", "companyName"),
            Column("department", "varchar", "department"),
            Column("enabled", "boolean", "accountEnabled", True),
            Column("created_at", "timestamp", "createdDateTime (UTC)"),
            Column("last_successful_sign_in_at", "timestamp",
                   "signInActivity.lastSuccessfulSignInDateTime; empty = never"),
            Column("last_sign_in_at", "timestamp", "signInActivity.lastSignInDateTime "
                   "(includes failed attempts)"),
        ),
    ),
    Contract(
        "application_accounts", "one row per application account",
        (
            Column("application", "varchar", "CERNER, PACS, DSM, QVENTUS or R2W", True,
                   (_one_of(APPLICATIONS, "application"),)),
            Column("username", "varchar", "login: LAN ID or UPN", True),
            Column("email", "varchar", "email the application keeps", False, (_email(),),
                   warns=True),
            Column("display_name", "varchar", "name as the application shows it"),
            Column("active", "boolean", "account active", True),
            Column("created_at", "timestamp", "created (UTC)"),
            Column("last_access_at", "timestamp", "last successful use; empty = never"),
            Column("role", "varchar", "role or position"),
        ),
    ),
    Contract(
        "daa_envelopes", "one row per DocuSign DAA envelope",
        (
            Column("envelope_id", "varchar", "DocuSign envelope id", True),
            Column("request_number", "varchar", "group request number (custom field or "
                   "subject); empty: linked by its signers' emails, or listed to resolve",
                   False, (_request_number(),)),
            Column("status", "varchar", "envelope status", True,
                   (_one_of(ENVELOPE_STATUSES, "envelope_status"),)),
            Column("sent_at", "timestamp", "sent"),
            Column("completed_at", "timestamp", "completed: every party signed"),
            Column("declined_at", "timestamp", "declined"),
            Column("voided_at", "timestamp", "voided"),
            Column("status_changed_at", "timestamp", "last status change"),
        ),
    ),
    Contract(
        "daa_recipients", "one row per signer of a DAA envelope",
        (
            Column("envelope_id", "varchar", "envelope", True),
            Column("request_number", "varchar", "group request number", False,
                   (_request_number(),)),
            Column("role_name", "varchar", "Sponsoring Physician, Group Administrator, "
                   "Corporate or Legal Representative"),
            Column("name", "varchar", "signer's name"),
            Column("email", "varchar", "signer's email", False, (_email(),),
                   warns=True),
            Column("status", "varchar", "recipient status (sent, delivered, completed, "
                   "declined...)"),
            Column("signed_at", "timestamp", "when they signed"),
            Column("source_path", "varchar", "where in the envelope: signers[index] (a "
                   "signer may be listed more than once); empty for a status list's row"),
        ),
    ),
    Contract(
        "adt_events", "one row per ADT message (PHI)",
        (
            Column("message_control_id", "varchar", "MSH-10: a message processed once", True),
            Column("event_type", "varchar", "MSH-9.2: "
                   + ", ".join(f"{code} {name.lower()}" for code, (name, _) in ADT_EVENTS.items()),
                   True, (_one_of(tuple(ADT_EVENTS), "adt_event"),)),
            Column("message_at", "timestamp", "MSH-7 message time", True),
            Column("recorded_at", "timestamp", "EVN-2 event recorded time"),
            Column("sending_facility", "varchar", "MSH-4"),
            Column("mrn", "varchar", "PID-3 medical record number"),
            Column("patient_family_name", "varchar", "PID-5.1"),
            Column("patient_given_name", "varchar", "PID-5.2"),
            Column("birth_date", "date", "PID-7"),
            Column("patient_phone", "varchar", "PID-13"),
            Column("fin", "varchar", "PID-18 account number (FIN)", True),
            Column("pcp_npi", "varchar", "PD1-4.1 primary care provider's NPI"),
            Column("pcp_name", "varchar", "PD1-4 primary care provider's name"),
            Column("patient_class", "varchar", "PV1-2 (E emergency, I inpatient, O ...)"),
            Column("unit", "varchar", "PV1-3.1 point of care"),
            Column("room", "varchar", "PV1-3.2"),
            Column("bed", "varchar", "PV1-3.3"),
            Column("facility", "varchar", "PV1-3.4"),
            Column("attending_name", "varchar", "PV1-7"),
            Column("visit_number", "varchar", "PV1-19"),
            Column("admit_at", "timestamp", "PV1-44 admit time"),
            Column("discharge_at", "timestamp", "PV1-45 discharge time"),
            Column("chief_complaint", "varchar", "PV2-3 admit reason"),
        ),
    ),
    Contract(
        "sign_in_events", "one row per sign-in or application access event",
        (
            Column("user", "varchar", "UPN (Entra) or LAN ID / UPN (application logs), "
                   "lower-cased", True),
            Column("application", "varchar", "the Entra application signed in to, or the "
                   "Clinical Connectivity application code", True),
            Column("occurred_at", "timestamp", "when (UTC)", True),
            Column("success", "boolean", "whether it succeeded", True),
            Column("source", "varchar", "entra_sign_in_log or application_access_log", True),
            Column("request_id", "varchar", "the sign-in log's Request ID (one per sign-in); "
                   "empty for application access logs. Kept in the evidence store, which "
                   "de-duplicates overlapping exports by it; not in the warehouse",
                   stored_only=True),
        ),
        bulk=True,
    ),
)}
