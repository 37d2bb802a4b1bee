"""Small hand-written organisations for edge-case tests, written in the real formats.

A `Case` collects groups, people and accounts, then `write(folder)` produces the same kinds
of files the tools export (enrollment JSON, PowerShell 7 Export-Csv, Graph pages,
application user lists), so the edge cases go through the real readers.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from ccreview.core.identifiers import datetime_to_filetime, npi_check_digit

AS_OF = dt.date(2026, 11, 1)
HOST_ZONE = ZoneInfo("America/Phoenix")  # where the hospital's exports are made
AS_OF_DT = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
APP_NAMES = {"CERNER": "Cerner Millennium", "PACS": "PACS Synapse",
             "DSM": "Direct Secure Messaging", "QVENTUS": "Qventus", "R2W": "Report2Web"}


def days_ago(n: float) -> dt.datetime:
    return AS_OF_DT - dt.timedelta(days=n)


def npi(first9: str = "123456789") -> str:
    return first9 + str(npi_check_digit(first9))


def person(first: str, last: str, staff_type: str = "Staff", suffix: str = "Billing",
           apps: tuple[str, ...] = ("CERNER",), email: str | None = None, **extra) -> dict:
    doc = {"first_name": first, "middle_initial": "", "no_middle_initial": True,
           "last_name": last, "email": email or f"{first}.{last}@clinic.example".lower(),
           "phone": "(602) 555-0100", "staff_type": staff_type, "suffix": suffix,
           "applications": [APP_NAMES[a] for a in apps]}
    if suffix in ("MD", "DO", "NP", "PA"):  # an NPI of one's own, derived from the name
        first9 = "1" + str(zlib.crc32(f"{first} {last}".encode()))[-8:].rjust(8, "0")
        doc.update(licensed_state="AZ", state_license_number="12345", npi=npi(first9))
    doc.update(extra)
    return doc


@dataclass
class Account:
    lan_id: str
    mail: str
    enabled: bool = True
    created: dt.datetime = field(default_factory=lambda: days_ago(400))
    entra_last_success: dt.datetime | None = None
    entra_last_any: dt.datetime | None = None
    ad_last_logon: dt.datetime | None = None
    in_ad: bool = True
    in_entra: bool = True
    expires: dt.datetime | None = None  # AD accountExpires; None = never


@dataclass
class AppAccount:
    application: str
    username: str
    email: str = ""
    active: bool = True
    last_access: dt.datetime | None = None
    created: dt.datetime = field(default_factory=lambda: days_ago(400))


@dataclass
class Case:
    submissions: list[dict] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    app_accounts: list[AppAccount] = field(default_factory=list)
    envelopes: list[dict] = field(default_factory=list)
    sign_ins: list[tuple[str, dt.datetime, bool]] = field(default_factory=list)  # lan, when, ok
    access: list[tuple[str, str, dt.datetime, bool]] = field(default_factory=list)
    _auto_signers: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def daa(self, request_number: str, status: str = "completed",
            completed: dt.datetime | None = None, sent: dt.datetime | None = None,
            declined_by: str | None = None, unsigned: tuple[str, ...] = (),
            signers: list[dict] | None = None) -> None:
        """A DocuSign envelope for the group (listStatusChanges shape). Its signers are the
        group's sponsor, administrator and (when named) Corporate/Legal Representative as
        registered, filled in by `write`; each signed a completed envelope unless its role
        is in `unsigned` (DocuSign still says completed). `signers` replaces them."""
        sent = sent or (completed or days_ago(100)) - dt.timedelta(days=2)
        env = {"envelopeId": f"env-{len(self.envelopes) + 1}", "status": status,
               "emailSubject": f"Clinical Connectivity Data Access Agreement - {request_number}",
               "sentDateTime": _iso(sent), "recipients": {"signers": signers or []}}
        if status == "completed":
            env["completedDateTime"] = _iso(completed or days_ago(100))
        if declined_by:
            env["declinedDateTime"] = _iso(sent + dt.timedelta(days=1))
            env["recipients"]["signers"].append({"roleName": declined_by, "status": "declined",
                                                 "name": "Legal Rep", "email": "rep@x.example"})
        if signers is None:
            self._auto_signers[env["envelopeId"]] = (request_number, tuple(unsigned))
        self.envelopes.append(env)

    def register(self, request_number: str, sponsor: dict, admin: dict | None,
                 members: list[dict], submitted: dt.datetime | None = None,
                 daa: bool = True, **group) -> None:
        """A new_group registration; with a DAA completed 100 days ago unless daa=False.
        The Report2Web privacy box is checked when anyone requests R2W, unless
        `privacy=` says otherwise."""
        if daa:
            self.daa(request_number)
        everyone = [sponsor, *([admin] if admin else []), *members]
        wants_r2w = any("Report2Web" in p.get("applications", []) for p in everyone)
        doc = {
            "request_number": request_number, "request_type": "new_group",
            "group_request_number": request_number,
            "submitted_at": _iso(submitted or days_ago(500)),
            "group": {"name": group.get("name", f"Group {request_number}"),
                      "practice_fax": "602-555-0199",
                      "corporate_or_legal_representative": group.get("corporate", "NO"),
                      "corporate_representative_full_name": group.get("corporate_name", ""),
                      "corporate_representative_email": group.get("corporate_email", "")},
            "sponsoring_physician": sponsor,
            "group_administrator_same_as_sponsor": admin is None,
            "group_administrator": admin, "members": members,
        }
        if group.get("privacy", wants_r2w) is not None:
            doc["report2web_privacy_policy_accepted"] = group.get("privacy", wants_r2w)
        self.submissions.append(doc)

    def _signers(self, request_number: str, env: dict, unsigned: tuple[str, ...]) -> list:
        reg = next((d for d in self.submissions if d["request_number"] == request_number
                    and d["request_type"] == "new_group"), None)
        if reg is None:
            return []
        parties = [("Sponsoring Physician", reg["sponsoring_physician"])]
        if reg.get("group_administrator"):
            parties.append(("Group Administrator", reg["group_administrator"]))
        grp = reg["group"]
        if grp.get("corporate_or_legal_representative") == "YES":
            parties.append(("Corporate or Legal Representative",
                            {"first_name": grp.get("corporate_representative_full_name"),
                             "last_name": "", "email": grp.get("corporate_representative_email")
                             or "counsel@legal.example"}))
        out = []
        for k, (role, p) in enumerate(parties, start=1):
            r = {"recipientId": str(k), "roleName": role, "email": p["email"],
                 "name": f"{p.get('first_name') or ''} {p.get('last_name') or ''}".strip()}
            if env["status"] == "completed" and role not in unsigned:
                r.update(status="completed", signedDateTime=env["completedDateTime"])
            elif env["status"] == "declined" and any(
                    s["roleName"] == role for s in env["recipients"]["signers"]):
                continue
            else:
                r["status"] = "delivered"
            out.append(r)
        return out

    def change(self, request_number: str, group: str, kind: str, members: list[dict],
               submitted: dt.datetime) -> None:
        self.submissions.append({"request_number": request_number, "request_type": kind,
                                 "group_request_number": group,
                                 "submitted_at": _iso(submitted), "members": members})

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "submissions.json").write_text(json.dumps(self.submissions, indent=1))
        envelopes = []
        for env in self.envelopes:
            if env["envelopeId"] in self._auto_signers:
                rn, unsigned = self._auto_signers[env["envelopeId"]]
                env = json.loads(json.dumps(env))
                env["recipients"]["signers"] = (self._signers(rn, env, unsigned)
                                                + env["recipients"]["signers"])
            envelopes.append(env)
        (folder / "docusign.json").write_text(json.dumps({"envelopes": envelopes}))
        if self.sign_ins:
            with (folder / "sign_ins.csv").open("w", newline="", encoding="utf-8-sig") as fh:
                w = csv.writer(fh)
                w.writerow(["Date (UTC)", "Username", "Application", "Status"])
                for lan, when, ok in self.sign_ins:
                    w.writerow([_iso(when), f"{lan}@cc.example.org", "Workspace",
                                "Success" if ok else "Failure"])
        if self.access:
            with (folder / "access.csv").open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow(["user", "application", "timestamp", "success"])
                for user, app, when, ok in self.access:
                    w.writerow([user, app, _iso(when), str(ok).lower()])
        with (folder / "ad.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\r\n")
            w.writerow(["SamAccountName", "UserPrincipalName", "mail", "Enabled", "GivenName",
                        "Surname", "whenCreated", "lastLogonTimestamp", "accountExpires"])
            for a in self.accounts:
                if a.in_ad:
                    w.writerow([a.lan_id, f"{a.lan_id}@cc.example.org", a.mail,
                                str(a.enabled), "", "",
                                # the exporting host's clock, as Export-Csv writes it
                                a.created.astimezone(HOST_ZONE).strftime("%m/%d/%Y %H:%M:%S"),
                                "" if a.ad_last_logon is None
                                else datetime_to_filetime(a.ad_last_logon),
                                "9223372036854775807" if a.expires is None
                                else datetime_to_filetime(a.expires)])
        users = []
        for a in self.accounts:
            if not a.in_entra:
                continue
            activity = None
            if a.entra_last_success or a.entra_last_any:
                activity = {"lastSuccessfulSignInDateTime": _iso(a.entra_last_success)
                            if a.entra_last_success else "0001-01-01T00:00:00Z",
                            "lastSignInDateTime": _iso(a.entra_last_any or a.entra_last_success)}
            users.append({"id": a.lan_id, "userPrincipalName": f"{a.lan_id}@cc.example.org",
                          "mail": a.mail, "accountEnabled": a.enabled,
                          "createdDateTime": _iso(a.created), "signInActivity": activity,
                          "onPremisesSamAccountName": a.lan_id})
        body = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
                "value": users}
        (folder / "entra.json").write_text(json.dumps(body))
        with (folder / "apps.csv").open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["application", "username", "email", "display_name", "active", "created",
                        "last_access", "role"])
            for x in self.app_accounts:
                w.writerow([x.application, x.username, x.email, "", str(x.active).lower(),
                            x.created.strftime("%Y-%m-%d %H:%M:%S"),
                            "" if x.last_access is None
                            else x.last_access.strftime("%Y-%m-%d %H:%M:%S"), "User"])
        return folder


def _iso(d: dt.datetime) -> str:
    return d.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_CHOICE_VALUES = {"Sponsoring Physician": "sponsoring_physician",
                  "Group Administrator": "group_administrator", "Provider": "provider",
                  "Staff": "staff", "YES": "yes", "NO": "no"}
_APP_VALUES = {"Cerner Millennium": "cerner_millennium", "PACS Synapse": "pacs_synapse",
               "Direct Secure Messaging": "direct_secure_messaging",
               "Report2Web": "report2web", "Qventus": "qventus"}


def servicenow_pairs(value, key: str = ""):
    """A document as ServiceNow's Table API returns it with `sysparm_display_value=all`,
    written by hand: every field a pair of the stored value (UTC date-times, choice
    values, comma-separated list collectors) and what the exporting user sees (local time
    in Phoenix, UTC-7; labels)."""
    if isinstance(value, dict):
        return {k: servicenow_pairs(v, k) for k, v in value.items()}
    if key == "applications":
        return {"display_value": ", ".join(value),
                "value": ",".join(_APP_VALUES[a] for a in value)}
    if isinstance(value, list):
        return [servicenow_pairs(v, key) for v in value]
    if isinstance(value, bool):
        return {"display_value": "true" if value else "false",
                "value": "true" if value else "false"}
    if value is None:
        return {"display_value": "", "value": ""}
    if key == "submitted_at":
        t = dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
        local = t - dt.timedelta(hours=7)
        return {"display_value": local.strftime("%m/%d/%Y %I:%M:%S %p"),
                "value": t.strftime("%Y-%m-%d %H:%M:%S")}
    label = str(value)
    return {"display_value": label.title() if label in ("fax", "both") else label,
            "value": _CHOICE_VALUES.get(label, label)}
