"""Write a synthetic `Organisation` in the formats the real source systems emit.

- `enrollment/`: registrations and change requests, as JSON arrays and ServiceNow
  Table API responses (`{"result": [...]}`);
- `directory/`: Active Directory users, `Export-Csv` from PowerShell 5.1 and 7;
- `entra/`: Entra ID users with `signInActivity`, Microsoft Graph pages;
- `applications/`: Cerner, PACS, DSM, Qventus and R2W users, canonical user-list CSV;
- `docusign/`: DAA envelopes with recipients, eSignature `listStatusChanges` JSON (every
  tenth group's in the plain DAA status CSV);
- `signins/`, `access_logs/`: the Entra sign-in log download and application access logs;
- `adt/`: an HL7 v2 ADT feed (MLLP-framed and plain) of fictional patients, a third of it
  as the CSV extract;
- the Qventus user list as XLSX, and two groups' portal member lists (XLSX).

Everything is derived from the organisation alone, written in a fixed order, so the same
seed gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import json
import random
import uuid
import zlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ccreview.core.identifiers import datetime_to_filetime
from ccreview.synthetic.organisation import (
    APPLICATIONS,
    Group,
    Organisation,
    OrphanAccount,
    Person,
)

APP_DISPLAY = {"CERNER": "Cerner Millennium", "PACS": "PACS Synapse",
               "DSM": "Direct Secure Messaging", "QVENTUS": "Qventus", "R2W": "Report2Web"}
UPN_DOMAIN = "ccpartners.examplehealth.org"
OU = "OU=Clinical Connectivity,OU=External,DC=examplehealth,DC=org"
FILETIME_NEVER = "9223372036854775807"
SUBMISSIONS_PER_FILE = 500
# the hospital's zone: AD writes whenCreated in it, the ADT feed writes some times in it
LOCAL = ZoneInfo("America/Phoenix")
GRAPH_PAGE_SIZE = 999


def write_organisation(org: Organisation, out: Path,
                       events_per_person: int = 4) -> dict[str, int]:
    """Write every export under `out`; return file -> rows written. `events_per_person`
    sets the volume of the sign-in and application access logs."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(org.seed ^ 0x5EED)  # ids only; independent of the organisation
    counts: dict[str, int] = {}
    counts.update(_write_enrollment(org, out / "enrollment"))
    counts.update(_write_active_directory(org, out / "directory", rng))
    counts.update(_write_entra(org, out / "entra", rng))
    counts.update(_write_application_lists(org, out / "applications"))
    counts.update(_write_docusign(org, out / "docusign", rng))
    events_rng = random.Random(org.seed ^ 0xE7E7)
    counts.update(_write_sign_in_logs(org, out / "signins", events_rng, events_per_person))
    counts.update(_write_access_logs(org, out / "access_logs", events_rng, events_per_person))
    adt_counts, census = _write_adt(org, out / "adt", random.Random(org.seed ^ 0xAD7))
    counts.update(adt_counts)
    counts.update(_write_member_lists(org, out / "enrollment"))
    _write_csv(out / "expected_findings.csv", ["rule", "request_number", "email", "application"],
               ([r["rule"], r["request_number"], r["email"], r["application"]]
                for r in org.expected))
    counts["expected_findings.csv"] = len(org.expected)
    _write_csv(out / "expected_census.csv", list(EXPECTED_CENSUS_HEADER), sorted(census))
    counts["expected_census.csv"] = len(census)
    meta = {"generator": "ccreview generate", "seed": org.seed, "groups": len(org.groups),
            "as_of": org.as_of.isoformat(), "people": len(org.people()), "files": counts}
    (out / "generation.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return counts


# -- helpers --------------------------------------------------------------------------------

def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _us_datetime(dt: datetime) -> str:
    """What Export-Csv writes for a DateTime under en-US: `1/15/2023 9:03:12 AM`."""
    hour12 = dt.hour % 12 or 12
    ampm = "AM" if dt.hour < 12 else "PM"
    return f"{dt.month}/{dt.day}/{dt.year} {hour12}:{dt.minute:02d}:{dt.second:02d} {ampm}"


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _write_csv(path: Path, header: list[str], rows: Iterable[list], **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=kw.pop("encoding", "utf-8")) as fh:
        w = csv.writer(fh, lineterminator=kw.pop("lineterminator", "\n"), **kw)
        w.writerow(header)
        w.writerows(rows)


def _upn(lan_id: str) -> str:
    return f"{lan_id}@{UPN_DOMAIN}"


# -- enrollment ---------------------------------------------------------------------------

def _person_doc(p: Person) -> dict:
    doc = {
        "first_name": p.first_name,
        "middle_initial": p.middle_initial or "",
        "no_middle_initial": p.middle_initial is None,
        "last_name": p.last_name,
        "email": p.email,
        "phone": p.phone if zlib.crc32(p.email.encode()) % 2 else _paren_phone(p.phone),
        "phone_extension": p.phone_extension or "",
        "staff_type": p.staff_type,
        "suffix": p.suffix,
        "title": p.title or "",
        "specialty": p.specialty or "",
        "licensed_state": p.licensed_state or "",
        "state_license_number": p.state_license_number or "",
        "npi": p.npi or "",
        "applications": [APP_DISPLAY[a] for a in p.applications],
    }
    if "DSM" in p.details:
        doc["direct_secure_messaging"] = p.details["DSM"]
    if "QVENTUS" in p.details:
        doc["qventus"] = p.details["QVENTUS"]
    if "R2W" in p.details:
        doc["report2web"] = p.details["R2W"]
    return doc


def _paren_phone(phone: str) -> str:
    return f"({phone[:3]}) {phone[4:]}"


def _registration_doc(g: Group) -> dict:
    initial = [p for p in g.people if p.added_in == g.request_number]
    sponsor = next(p for p in initial if p.staff_type == "Sponsoring Physician")
    admin = next((p for p in initial if p.staff_type == "Group Administrator"), None)
    members = [p for p in initial if p.staff_type not in ("Sponsoring Physician",
                                                          "Group Administrator")]
    group = {"name": g.name, "practice_fax": g.fax,
             "corporate_or_legal_representative": "YES" if g.corporate_rep else "NO"}
    if g.corporate_rep:
        group["corporate_representative_full_name"] = g.corporate_rep[0]
        group["corporate_representative_email"] = g.corporate_rep[1] or ""
    return {
        "request_number": g.request_number,
        "request_type": "new_group",
        "group_request_number": g.request_number,
        "submitted_at": _iso(g.registered_at),
        "group": group,
        "sponsoring_physician": _person_doc(sponsor),
        "group_administrator_same_as_sponsor": admin is None,
        "group_administrator": _person_doc(admin) if admin else None,
        "members": [_person_doc(p) for p in members],
        "report2web_privacy_policy_accepted": any("R2W" in p.applications for p in initial),
    }


def _write_enrollment(org: Organisation, folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    docs = [_registration_doc(g) for g in org.groups]
    for c in sorted(org.changes, key=lambda c: c.submitted_at):
        doc = {"request_number": c.request_number, "request_type": c.request_type,
               "group_request_number": c.group_request_number,
               "submitted_at": _iso(c.submitted_at)}
        if c.request_type == "add_members":
            doc["members"] = [_person_doc(p) for p in c.people]
            if any("R2W" in p.applications for p in c.people):
                doc["report2web_privacy_policy_accepted"] = True
        else:
            doc["members"] = [{"email": p.email, "first_name": p.first_name,
                               "last_name": p.last_name} for p in c.people]
        docs.append(doc)
    counts = {}
    # every third document in each shape ServiceNow exports take, so that even a small
    # organisation has registrations and changes in all three: a bare array, a Table API
    # response with plain values, and one with `sysparm_display_value=all` pairs
    n = 0
    for shape in range(3):
        share = docs[shape::3]
        for i in range(0, len(share), SUBMISSIONS_PER_FILE):
            chunk = share[i:i + SUBMISSIONS_PER_FILE]
            body: object = (chunk if shape == 0 else {"result": chunk} if shape == 1
                            else {"result": [servicenow_display_all(d) for d in chunk]})
            n += 1
            name = f"submissions_{n:03d}.json"
            (folder / name).write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
            counts[f"enrollment/{name}"] = len(chunk)
    return counts


_STAFF_TYPE_VALUES = {"Sponsoring Physician": "sponsoring_physician",
                      "Group Administrator": "group_administrator", "Provider": "provider",
                      "Staff": "staff"}
_LIST_FIELDS = ("applications", "facilities", "lab_facilities", "recipients")


def servicenow_display_all(doc: object, key: str = "") -> object:
    """A document as the Table API returns it with `sysparm_display_value=all`: every field
    a `{"display_value", "value"}` pair. Values are what ServiceNow stores (UTC date-times
    `2026-03-04 17:22:10`, choice values such as `sponsoring_physician`, `true`, list
    collectors as comma-separated values); display values what the exporting user sees
    (dates on the hospital's clock, choice labels)."""
    if isinstance(doc, dict):
        return {k: servicenow_display_all(v, k) for k, v in doc.items()}
    if isinstance(doc, list) and key in _LIST_FIELDS:
        if key == "applications":
            return {"display_value": ", ".join(map(str, doc)),
                    "value": ",".join(str(a).lower().replace(" ", "_") for a in doc)}
        return [servicenow_display_all(v) for v in doc]
    if isinstance(doc, list):
        return [servicenow_display_all(v) for v in doc]
    if isinstance(doc, bool):
        return {"display_value": str(doc).lower(), "value": str(doc).lower()}
    if doc is None:
        return {"display_value": "", "value": ""}
    text = str(doc)
    if key == "submitted_at":
        t = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return {"display_value": _us_datetime(t.astimezone(LOCAL)),
                "value": t.strftime("%Y-%m-%d %H:%M:%S")}
    if key == "staff_type" and text in _STAFF_TYPE_VALUES:
        return {"display_value": text, "value": _STAFF_TYPE_VALUES[text]}
    if key == "corporate_or_legal_representative":
        return {"display_value": text, "value": text.lower()}
    if text in ("fax", "email", "both"):  # an R2W alert's delivery method
        return {"display_value": text.title(), "value": text}
    return {"display_value": text, "value": text}


# -- Active Directory ---------------------------------------------------------------------

AD_COLUMNS = ["DistinguishedName", "Enabled", "GivenName", "Name", "ObjectClass", "ObjectGUID",
              "SamAccountName", "Surname", "UserPrincipalName", "mail", "Company", "Department",
              "whenCreated", "lastLogonTimestamp", "pwdLastSet", "accountExpires"]


def _ad_row(rng: random.Random, *, first: str, last: str, lan: str, mail: str,
            enabled: bool, created: datetime, last_logon: datetime | None,
            company: str, department: str, expires: datetime | None = None) -> list[str]:
    display = f"{last}, {first}"
    pwd = last_logon or created
    return [
        f"CN={display.replace(',', chr(92) + ',')},{OU}", "True" if enabled else "False",
        first, display, "user", _uuid(rng), lan, last, _upn(lan), mail, company, department,
        _us_datetime(created.astimezone(LOCAL)),  # the exporting host's clock
        "" if last_logon is None else str(datetime_to_filetime(last_logon)),
        str(datetime_to_filetime(pwd)),
        str(datetime_to_filetime(expires)) if expires else
        (FILETIME_NEVER if rng.random() < 0.8 else "0"),
    ]


def _directory_rows(org: Organisation, rng: random.Random) -> list[tuple[int, list[str]]]:
    rows: list[tuple[int, list[str]]] = []
    for gi, g in enumerate(org.groups):
        for p in g.people:
            if p.lan_id is None or p.account_created is None:
                continue
            mail = p.email
            if rng.random() < 0.1:  # directory mail attributes are not always lower-case
                mail = mail.title()
            ad_logon = None
            if p.last_success is not None:
                ad_logon = max(p.account_created, p.last_success - p.ad_lag)
            rows.append((gi, _ad_row(rng, first=p.first_name, last=p.last_name, lan=p.lan_id,
                                     mail=mail, enabled=p.enabled, created=p.account_created,
                                     last_logon=ad_logon, company=g.name,
                                     department=g.request_number, expires=p.expires)))
            for x in p.extra_accounts:
                rows.append((gi, _ad_row(rng, first=p.first_name, last=p.last_name,
                                         lan=x.lan_id, mail=p.email, enabled=True,
                                         created=x.created, last_logon=x.last_success,
                                         company=g.name, department=g.request_number)))
    for oi, o in enumerate(org.orphans):
        if o.application is None:
            rows.append((oi, _ad_row(rng, first=o.first_name, last=o.last_name, lan=o.lan_id,
                                     mail=o.email, enabled=True, created=o.created,
                                     last_logon=o.last_success, company="", department="")))
    return rows


def _write_active_directory(org: Organisation, folder: Path,
                            rng: random.Random) -> dict[str, int]:
    """Half the groups as Windows PowerShell 5.1 writes them, half as PowerShell 7 does."""
    rows = _directory_rows(org, rng)
    ps51 = [r for i, r in rows if i % 2 == 0]
    ps7 = [r for i, r in rows if i % 2 == 1]
    folder.mkdir(parents=True, exist_ok=True)
    # 5.1: `Export-Csv -Encoding UTF8 -NoTypeInformation:$false`: BOM, #TYPE, all quoted, CRLF
    buf = io.StringIO()
    buf.write("#TYPE Selected.Microsoft.ActiveDirectory.Management.ADUser\r\n")
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(AD_COLUMNS)
    w.writerows(ps51)
    (folder / "ad_users_ps51.csv").write_bytes(buf.getvalue().encode("utf-8-sig"))
    # 7: `Export-Csv -UseQuotes AsNeeded`: no BOM, no type line
    _write_csv(folder / "ad_users_ps7.csv", AD_COLUMNS, ps7, lineterminator="\r\n",
               quoting=csv.QUOTE_MINIMAL)
    return {"directory/ad_users_ps51.csv": len(ps51), "directory/ad_users_ps7.csv": len(ps7)}


# -- Entra ID -----------------------------------------------------------------------------

GRAPH_SELECT = ("id,displayName,givenName,surname,mail,userPrincipalName,accountEnabled,"
                "createdDateTime,onPremisesSamAccountName,companyName,department,signInActivity")


def _entra_user(rng: random.Random, *, first: str, last: str, lan: str, mail: str,
                enabled: bool, created: datetime, last_success: datetime | None,
                last_failed: datetime | None, company: str, department: str) -> dict:
    if last_success is None and last_failed is None:
        activity = None
    else:
        last_any = max(d for d in (last_success, last_failed) if d is not None)
        activity = {
            "lastSignInDateTime": _iso(last_any),
            "lastSignInRequestId": _uuid(rng),
            "lastNonInteractiveSignInDateTime": "0001-01-01T00:00:00Z",
            "lastNonInteractiveSignInRequestId": "",
            "lastSuccessfulSignInDateTime": _iso(last_success),
            "lastSuccessfulSignInRequestId": _uuid(rng) if last_success else None,
        }
    return {
        "id": _uuid(rng), "displayName": f"{first} {last}", "givenName": first,
        "surname": last, "mail": mail, "userPrincipalName": _upn(lan),
        "accountEnabled": enabled, "createdDateTime": _iso(created),
        "onPremisesSamAccountName": lan, "companyName": company or None,
        "department": department or None, "signInActivity": activity,
    }


def _write_entra(org: Organisation, folder: Path, rng: random.Random) -> dict[str, int]:
    users = []
    for g in org.groups:
        for p in g.people:
            if p.lan_id is None or p.account_created is None:
                continue
            users.append(_entra_user(rng, first=p.first_name, last=p.last_name, lan=p.lan_id,
                                     mail=p.email, enabled=p.enabled,
                                     created=p.account_created, last_success=p.last_success,
                                     last_failed=p.last_failed, company=g.name,
                                     department=g.request_number))
            for x in p.extra_accounts:
                users.append(_entra_user(rng, first=p.first_name, last=p.last_name,
                                         lan=x.lan_id, mail=p.email, enabled=True,
                                         created=x.created, last_success=x.last_success,
                                         last_failed=None, company=g.name,
                                         department=g.request_number))
    for o in org.orphans:
        if o.application is None:
            users.append(_entra_user(rng, first=o.first_name, last=o.last_name, lan=o.lan_id,
                                     mail=o.email, enabled=True, created=o.created,
                                     last_success=o.last_success, last_failed=None,
                                     company="", department=""))
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    pages = [users[i:i + GRAPH_PAGE_SIZE] for i in range(0, len(users), GRAPH_PAGE_SIZE)] or [[]]
    base = "https://graph.microsoft.com/v1.0"
    for n, page in enumerate(pages, start=1):
        body: dict = {"@odata.context": f"{base}/$metadata#users({GRAPH_SELECT})", "value": page}
        if n < len(pages):
            body["@odata.nextLink"] = (f"{base}/users?$select={GRAPH_SELECT}&$top="
                                       f"{GRAPH_PAGE_SIZE}&$skiptoken=RFNwdAIAAQAAAC{n:06d}")
        name = f"users_page_{n:03d}.json"
        (folder / name).write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
        counts[f"entra/{name}"] = len(page)
    return counts


# -- application user lists ---------------------------------------------------------------

APP_LIST_COLUMNS = ["application", "username", "email", "display_name", "active", "created",
                    "last_access", "role"]


def _stamp(dt: datetime | None) -> str:
    return "" if dt is None else dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _orphan_app_row(o: OrphanAccount) -> list[str]:
    return [o.application or "", o.lan_id, o.email, f"{o.last_name}, {o.first_name}", "true",
            _stamp(o.created), _stamp(o.last_success), "User"]


def _write_application_lists(org: Organisation, folder: Path) -> dict[str, int]:
    rows: dict[str, list[list[str]]] = {a: [] for a in APPLICATIONS}
    for p in org.people():
        for acct in p.apps:
            rows[acct.application].append([
                acct.application, p.lan_id or "", p.email, f"{p.last_name}, {p.first_name}",
                "true" if acct.active else "false", _stamp(acct.created),
                _stamp(acct.last_access), acct.role])
    for o in org.orphans:
        if o.application:
            rows[o.application].append(_orphan_app_row(o))
    counts = {}
    for app in APPLICATIONS:
        if app == "QVENTUS":  # one list as the XLSX an application admin would send
            name = f"{app.lower()}_users.xlsx"
            _write_xlsx_table(folder / name, APP_LIST_COLUMNS, rows[app], org.as_of)
        else:
            name = f"{app.lower()}_users.csv"
            _write_csv(folder / name, APP_LIST_COLUMNS, rows[app])
        counts[f"applications/{name}"] = len(rows[app])
    return counts


def _write_xlsx_table(path: Path, header: list[str], rows: list[list[str]], as_of: date
                      ) -> None:
    import openpyxl

    from ccreview.reports.xlsx import save_workbook

    wb = openpyxl.Workbook()
    wb.active.append(header)
    for r in rows:
        wb.active.append(r)
    for row in wb.active.iter_rows():
        for cell in row:
            cell.data_type = "s"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_workbook(wb, path, as_of)


# -- DocuSign -----------------------------------------------------------------------------

DAA_CSV_COLUMNS = ["envelope_id", "request_number", "status", "sent_at", "completed_at",
                   "declined_at", "voided_at", "recipient_role", "recipient_name",
                   "recipient_email", "recipient_status", "signed_at"]


def _write_docusign(org: Organisation, folder: Path, rng: random.Random) -> dict[str, int]:
    """Most groups' envelopes as listStatusChanges JSON; every tenth group's in the plain
    DAA status CSV (one row per recipient)."""
    envelopes = []
    csv_rows: list[list] = []
    for gi, g in enumerate(org.groups):
        initial = [p for p in g.people if p.added_in == g.request_number]
        signers = [(p.first_name + " " + p.last_name, p.email, p.staff_type) for p in initial
                   if p.staff_type in ("Sponsoring Physician", "Group Administrator")]
        if g.corporate_rep:
            # a representative named without an email on the form was reached some other way
            email = g.corporate_rep[1] or (
                g.corporate_rep[0].lower().replace(" ", ".") + f"@counsel.{g.domain}")
            signers.append((g.corporate_rep[0], email, "Corporate or Legal Representative"))
        for env in g.daa_envelopes:
            recips = []
            for k, (name, email, role) in enumerate(signers, start=1):
                r = {"recipientId": str(k), "routingOrder": str(k), "roleName": role,
                     "name": name, "email": email, "deliveredDateTime": _iso(env.sent)}
                if env.status == "completed" and role in env.unsigned:
                    r["status"] = "delivered"  # DocuSign says completed; this one never signed
                elif env.status == "completed":
                    r.update(status="completed", signedDateTime=_iso(env.completed))
                elif env.status == "declined" and role == env.declined_by:
                    r.update(status="declined", declinedDateTime=_iso(env.declined_at),
                             declinedReason="Our counsel has not approved the agreement")
                elif env.status == "declined":
                    r.update(status="completed", signedDateTime=_iso(env.sent))
                else:
                    r["status"] = "delivered"
                recips.append(r)
            body = {
                "envelopeId": _uuid(rng), "status": env.status,
                "emailSubject": f"Clinical Connectivity Data Access Agreement - {g.request_number}",
                "sentDateTime": _iso(env.sent),
                "statusChangedDateTime": _iso(env.completed or env.declined_at or env.sent),
                "customFields": {"textCustomFields": [
                    {"name": "RequestNumber", "value": g.request_number, "show": "false"}]},
                "recipients": {"signers": recips},
            }
            if env.completed:
                body["completedDateTime"] = _iso(env.completed)
            if env.declined_at:
                body["declinedDateTime"] = _iso(env.declined_at)
            if gi % 10 == 3:
                for r in recips:
                    csv_rows.append([body["envelopeId"], g.request_number, env.status,
                                     _stamp(env.sent), _stamp(env.completed),
                                     _stamp(env.declined_at), "", r["roleName"], r["name"],
                                     r["email"], r["status"],
                                     _stamp(_parse_iso(r.get("signedDateTime")))])
                continue
            envelopes.append(body)
    folder.mkdir(parents=True, exist_ok=True)
    body = {"resultSetSize": str(len(envelopes)), "totalSetSize": str(len(envelopes)),
            "startPosition": "0", "endPosition": str(max(len(envelopes) - 1, 0)),
            "envelopes": envelopes}
    (folder / "envelopes.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    _write_csv(folder / "daa_status.csv", DAA_CSV_COLUMNS, csv_rows)
    return {"docusign/envelopes.json": len(envelopes), "docusign/daa_status.csv": len(csv_rows)}


def _parse_iso(value: str | None) -> datetime | None:
    return None if not value else datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC)


# -- sign-in and access logs ----------------------------------------------------------------

ENTRA_LOG_COLUMNS = ["Date (UTC)", "Request ID", "User agent", "Correlation ID", "User ID",
                     "User", "Username", "User type", "Application", "Application ID",
                     "Resource", "IP address", "Location", "Status", "Sign-in error code",
                     "Failure reason", "Client app", "Multifactor authentication result"]
PORTAL_APP = ("Clinical Connectivity Workspace", "4f8e2c1a-6b7d-4e0f-9a3c-2d1b5e6f7a80")
EVENTS_PER_FILE = 1_000_000


def _event_times(rng: random.Random, start: datetime, last: datetime, n: int) -> list[datetime]:
    """n moments in [start, last], the latest exactly `last` (what the logs' max must be)."""
    span = max(int((last - start).total_seconds()), 1)
    times = sorted(start + timedelta(seconds=rng.randrange(span)) for _ in range(n - 1))
    return [*times, last]


def _entra_rows(rng: random.Random, name: str, upn: str, created: datetime,
                last_success: datetime | None, last_failed: datetime | None, n: int):
    if last_success is not None:
        start = max(created, last_success - timedelta(days=90))
        for t in _event_times(rng, start, last_success, n):
            yield _entra_row(rng, t, name, upn, True)
    if last_failed is not None:
        yield _entra_row(rng, last_failed, name, upn, False)


def _entra_row(rng: random.Random, t: datetime, name: str, upn: str, ok: bool) -> list[str]:
    return [_iso(t), _uuid(rng), "Mozilla/5.0 (Windows NT 10.0; Win64; x64)", _uuid(rng),
            _uuid(rng), name, upn, "Member", PORTAL_APP[0], PORTAL_APP[1], "Windows Azure AD",
            f"198.51.100.{rng.randrange(1, 255)}", "Phoenix, Arizona, US",
            "Success" if ok else "Failure", "0" if ok else "50126",
            "" if ok else "Error validating credentials due to invalid username or password.",
            "Browser", "MFA successfully completed" if ok else ""]


def _write_sign_in_logs(org: Organisation, folder: Path, rng: random.Random,
                        per_person: int) -> dict[str, int]:
    """The Entra sign-in log as the portal downloads it (UTF-8 with BOM)."""
    def rows():
        for p in org.people():
            if p.lan_id and p.account_created:
                yield from _entra_rows(rng, f"{p.first_name} {p.last_name}", _upn(p.lan_id),
                                       p.account_created, p.last_success, p.last_failed,
                                       per_person)
                for x in p.extra_accounts:
                    yield from _entra_rows(rng, f"{p.first_name} {p.last_name}",
                                           _upn(x.lan_id), x.created, x.last_success, None, 1)
        for o in org.orphans:
            if o.application is None:
                yield from _entra_rows(rng, f"{o.first_name} {o.last_name}", _upn(o.lan_id),
                                       o.created, o.last_success, None, per_person)
    return _write_chunked(folder, "entra_sign_ins", ENTRA_LOG_COLUMNS, rows(), bom=True)


def _write_access_logs(org: Organisation, folder: Path, rng: random.Random,
                       per_person: int) -> dict[str, int]:
    """Application access events in the canonical layout (user, application, timestamp,
    success); each account's latest success is its user list's last access."""
    def rows():
        for p in org.people():
            for a in p.apps:
                if a.last_access is None or not p.lan_id:
                    continue
                start = max(a.created, a.last_access - timedelta(days=90))
                for t in _event_times(rng, start, a.last_access, max(1, per_person // 2)):
                    yield [p.lan_id, a.application, _iso(t), "true"]
                if rng.random() < 0.05:  # a failed attempt before the last success
                    yield [p.lan_id, a.application, _iso(start), "false"]
    return _write_chunked(folder, "application_access", ["user", "application", "timestamp",
                                                         "success"], rows(), bom=False)


def _write_chunked(folder: Path, stem: str, header: list[str], rows: Iterable[list[object]],
                   bom: bool
                   ) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    n_file, fh, writer, count = 0, None, None, 0
    for row in rows:
        if writer is None or count >= EVENTS_PER_FILE:
            if fh:
                fh.close()
                counts[f"{folder.name}/{stem}_{n_file:03d}.csv"] = count
            n_file += 1
            count = 0
            fh = (folder / f"{stem}_{n_file:03d}.csv").open(
                "w", newline="", encoding="utf-8-sig" if bom else "utf-8")
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(header)
        writer.writerow(row)
        count += 1
    if fh:
        fh.close()
        counts[f"{folder.name}/{stem}_{n_file:03d}.csv"] = count
    return counts


# -- ADT (HL7 v2) ---------------------------------------------------------------------------

UNITS = (("ED", "E"), ("4W", "I"), ("5E", "I"), ("ICU", "I"), ("L&D", "B"), ("2N", "I"))
# visits that never belong on a census: clinic visits, pre-admissions, recurring therapy,
# observation (as the registration and the event type each feed sends them)
OUT_OF_SCOPE = (("A04", "CLINIC", "O"), ("A04", "PREOP", "P"), ("A04", "INFUSION", "R"),
                ("A01", "OBS", "O"))
EXPECTED_CENSUS_HEADER = ("pcp_npi", "fin")


def _hl7_ts(t: datetime, style: int = 0) -> str:
    """An HL7 TS the way feeds send it: UTC with `+0000` (0), the hospital's clock with its
    offset (1), or the hospital's clock without one (2, read in the configured zone)."""
    if style == 0:
        return t.astimezone(UTC).strftime("%Y%m%d%H%M%S+0000")
    local = t.astimezone(LOCAL)
    return local.strftime("%Y%m%d%H%M%S%z") if style == 1 else local.strftime("%Y%m%d%H%M%S")


def _seg(name: str, fields: dict[int, str]) -> str:
    return name + "|" + "|".join(fields.get(i, "") for i in range(1, max(fields) + 1))


def _adt_message(ctl: str, event: str, t: datetime, pt: dict, unit: str, cls: str,
                 facility: str, admit: datetime, discharge: datetime | None) -> str:
    pcp = pt["pcp"]
    style = zlib.crc32(ctl.encode()) % 3
    return "\r".join([
        f"MSH|^~\\&|ADT|{facility}|R2W|CC|{_hl7_ts(t, style)}||ADT^{event}^ADT_A01|{ctl}|P|"
        "2.5.1",
        f"EVN|{event}|{_hl7_ts(t, style)}",
        _seg("PID", {1: "1", 3: f"{pt['mrn']}^^^{facility}^MR",
                     5: f"{pt['family']}^{pt['given']}", 7: pt["dob"], 8: pt["sex"],
                     13: pt["phone"], 18: pt["fin"]}),
        _seg("PD1", {4: f"{pcp[0]}^{pcp[1]}^{pcp[2]}^^^^^^NPI"}),
        _seg("PV1", {1: "1", 2: cls, 3: f"{unit}^{pt['room']}^A^{facility}",
                     7: "1999999999^HOSPITALIST^HARPER", 19: pt["fin"],
                     44: _hl7_ts(admit, style),
                     45: _hl7_ts(discharge, style) if discharge else ""}),
        f"PV2|||^{pt['complaint']}",
    ])


def _write_adt(org: Organisation, folder: Path, rng: random.Random
               ) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """ADT feed for the census: ED registrations, admissions, transfers, updates and
    discharges of fictional patients, some of them out of order or sent twice, and visits
    outside the census's scope (clinic, pre-admit, recurring, observation). Returns the
    file counts and the ground truth: (primary care provider's NPI, FIN) of every visit
    that is open on the as-of date with an inpatient, obstetric or emergency class."""
    from ccreview.synthetic import names

    as_of = datetime(org.as_of.year, org.as_of.month, org.as_of.day, tzinfo=UTC)
    pcps = [(p.npi, p.last_name.upper(), p.first_name.upper()) for p in org.people()
            if p.removed_at is None and p.npi and p.details.get("R2W", {}).get(
                "physician_census")]
    messages: list[tuple[datetime, str]] = []
    on_census: set[tuple[str, str]] = set()
    seq = 0
    complaints = ("CHEST PAIN", "SHORTNESS OF BREATH", "ABDOMINAL PAIN", "FALL", "FEVER",
                  "LABOR", "SYNCOPE", "CELLULITIS")
    for n, pcp in enumerate(pcps):
        for _ in range(rng.randint(0, 3)):
            if rng.random() < 0.2:  # a PCP not enrolled in Clinical Connectivity
                pcp = ("1" + "".join(str(rng.randrange(10)) for _ in range(9)), "OUTSIDE",
                       "PAT")
            area, local = rng.choice(("602", "480", "623")), f"555{rng.randrange(10**4):04d}"
            pt = {"mrn": f"MRN{rng.randrange(10**6, 10**7)}",
                  "fin": f"FIN{n:05d}{rng.randrange(10**4, 10**5)}",
                  "family": rng.choice(names.LAST_NAMES).upper(),
                  "given": rng.choice(names.FIRST_NAMES).upper(),
                  "dob": f"{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}"
                         f"{rng.randint(1, 28):02d}",
                  "sex": rng.choice("FM"),
                  # a formatted number, or a structured XTN (area code, local number)
                  "phone": f"({area}){local[:3]}-{local[3:]}" if rng.random() < 0.5
                  else f"^PRN^PH^^1^{area}^{local}",
                  "room": str(rng.randint(1, 40)), "complaint": rng.choice(complaints),
                  "pcp": pcp}
            facility = rng.choice(("VRMC", "DMMC", "NMH"))
            t0 = as_of - timedelta(days=rng.uniform(0.2, 10))
            steps = [("A04", t0, "ED", "E", None)]
            admit = t0 + timedelta(hours=rng.uniform(1, 6))
            if rng.random() < 0.8:
                unit, cls = rng.choice(UNITS[1:])
                steps.append(("A01", admit, unit, cls, None))
                t = admit
                if rng.random() < 0.4:
                    t = t + timedelta(hours=rng.uniform(6, 48))
                    unit, cls = rng.choice(UNITS[1:])
                    steps.append(("A02", t, unit, cls, None))
                if rng.random() < 0.2:
                    t = t + timedelta(hours=rng.uniform(1, 12))
                    steps.append(("A08", t, unit, cls, None))
                if rng.random() < 0.5:
                    t = t + timedelta(hours=rng.uniform(12, 96))
                    steps.append(("A03", t, unit, cls, t))
            roll = rng.random()
            if roll < 0.02:  # a discharge whose admission never reached the feed
                steps = [("A03", t0, "4W", "I", t0)]
            elif roll < 0.27:  # a visit outside the census's scope, updated or not
                event, unit, cls = rng.choice(OUT_OF_SCOPE)
                steps = [(event, t0, unit, cls, None)]
                if rng.random() < 0.3:
                    steps.append(("A08", t0 + timedelta(hours=1), unit, cls, None))
            sent = [st for st in steps if st[1] <= as_of]  # the feed is pulled on the as-of date
            for event, t, unit, cls, discharge in sent:
                seq += 1
                msg = _adt_message(f"MSG{seq:08d}", event, t, pt, unit, cls, facility, admit,
                                   discharge)
                messages.append((t, msg))
                if rng.random() < 0.03 and t + timedelta(minutes=5) <= as_of:  # sent again
                    messages.append((t + timedelta(minutes=5), msg))
            if sent and not any(st[0] == "A03" for st in sent) and sent[-1][3] in "IBE":
                on_census.add((pcp[0], pt["fin"]))
    messages.sort(key=lambda m: m[0])
    for i in range(0, len(messages) - 1, 17):  # a few arrive out of order
        messages[i], messages[i + 1] = messages[i + 1], messages[i]
    folder.mkdir(parents=True, exist_ok=True)
    third = len(messages) // 3
    framed = b"".join(b"\x0b" + m.encode() + b"\r\x1c\r" for _, m in messages[:third])
    (folder / "adt_feed_001.hl7").write_bytes(framed)
    plain = "".join(m + "\r" for _, m in messages[third:2 * third]).encode()
    (folder / "adt_feed_002.hl7").write_bytes(plain)
    # the last third as the CSV extract an interface engine can produce instead, its times
    # in UTC with the offset written out
    from ccreview.contracts.readers import adt_hl7

    extract = adt_hl7.read_hl7("".join(m + "\r" for _, m in messages[2 * third:]), LOCAL)
    rows = [[_csv_value(r.get(c)) for c in adt_hl7.COLUMNS]
            for r in extract.rows.get(adt_hl7.TABLE, [])]
    _write_csv(folder / "adt_extract.csv", list(adt_hl7.COLUMNS), rows)
    return ({"adt/adt_feed_001.hl7": third, "adt/adt_feed_002.hl7": third,
             "adt/adt_extract.csv": len(rows)}, on_census)


def _csv_value(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):  # the reader's naive UTC, written with its offset
        return v.replace(tzinfo=UTC).isoformat(sep=" ")
    return str(v)


# -- the portal's group member list (XLSX) ---------------------------------------------------

MEMBER_LIST_HEADER = ["Request Number", "First Name", "M.I.", "Last Name", "Phone Number",
                      "Email Address", "Title", "Specialty", "Suffix", "Staff Type",
                      "Licensed State", "State License Number", "Cerner Millennium",
                      "PACS Synapse", "Report2Web", "Direct Secure Messaging", "Qventus"]


def _write_member_lists(org: Organisation, folder: Path, groups: int = 2) -> dict[str, int]:
    """The "Group members" table of a few groups as the portal exports it (no NPI column,
    no application details): it restates their current members' applications."""
    import openpyxl

    chosen = [g for g in org.groups
              if any(p.staff_type == "Group Administrator" and p.removed_at is None
                     for p in g.people)][:groups]
    counts = {}
    for g in chosen:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Group members"
        ws.append(MEMBER_LIST_HEADER)
        n = 0
        for p in g.people:
            if p.removed_at is not None:
                continue
            ws.append([g.request_number, p.first_name, p.middle_initial or "", p.last_name,
                       _paren_phone(p.phone), p.email, p.title or "", p.specialty or "",
                       p.suffix, p.staff_type, p.licensed_state or "",
                       p.state_license_number or ""]
                      + ["true" if a in p.applications else "false"
                         for a in ("CERNER", "PACS", "R2W", "DSM", "QVENTUS")])
            n += 1
        for row in ws.iter_rows():
            for cell in row:
                cell.data_type = "s"  # the portal exports text
        name = f"portal_members_{g.request_number}.xlsx"
        from ccreview.reports.xlsx import save_workbook

        save_workbook(wb, folder / name, org.as_of)
        counts[f"enrollment/{name}"] = n
    return counts
