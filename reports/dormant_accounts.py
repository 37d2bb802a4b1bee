"""The support desk's lists: `dormant_accounts.csv`, `dormant_accounts_<as-of>.xlsx` and
`dormant_disable_lan_ids.csv` (the directory team's bulk action), from the warehouse's
`dormant_accounts` and `exception_status` tables.

The workbook has a Summary (counts by rule and by group, thresholds used), All accounts,
one sheet per Group Administrator so support can send each admin their own list (when
there are more than `MAX_ADMIN_SHEETS` admins, one CSV per group under
`dormant_by_group/` instead), and the exceptions applied.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from ccreview.core.config import setting_label
from ccreview.core.vocabulary import support_desk_rules
from ccreview.reports.files import child_path, write_csv
from ccreview.reports.xlsx import FreeformSheet, StreamingBook, sheet_name

COLUMNS = ["lan_id", "upn", "person_name", "email", "request_number", "group_name",
           "staff_type", "last_sign_in_at", "last_sign_in_source", "days_inactive",
           "created_at", "enabled", "applications_held", "admin_name", "admin_email",
           "admin_phone", "rules", "recommended_action"]
HEADERS = ["LAN ID", "UPN", "Name", "Email", "Request number", "Group", "Staff type",
           "Last successful sign-in", "Sign-in source", "Days inactive", "Created", "Enabled",
           "Applications still held", "Group Administrator", "Administrator email",
           "Administrator phone", "Rules", "Recommended action"]
# an administrator's own sheet: every column but the group's and the administrator's
ADMIN_COLUMNS = [j for j, c in enumerate(COLUMNS) if c not in (
    "request_number", "group_name", "admin_name", "admin_email", "admin_phone")]
ADMIN_HEADERS = [HEADERS[j] for j in ADMIN_COLUMNS]
SUPPORT_RULES = support_desk_rules()  # from the findings catalog
EXCEPTION_HEADERS = ["Account", "Rule", "Reason", "Approved by", "Expires", "Status",
                     "Findings suppressed"]
MAX_ADMIN_SHEETS = 100
MODELS = ("dormant_accounts", "exception_status")  # the warehouse models read here
TITLE = "Dormant and orphaned accounts"


def write_dormant_reports(con: duckdb.DuckDBPyConnection, out_dir: Path, as_of: dt.date,
                          settings: dict[str, str]) -> list[Path]:
    rows = con.execute(f"select {', '.join(COLUMNS)} from dormant_accounts").fetchall()
    exceptions = con.execute("select account, rule, reason, approved_by, expires, status, "
                             "findings_suppressed from exception_status").fetchall()
    written = []
    csv_path = out_dir / "dormant_accounts.csv"
    write_csv(csv_path, COLUMNS, rows)
    written.append(csv_path)
    # directory accounts only (they have a UPN): an account that exists only in an
    # application's list is that application team's to remove, not the directory team's
    disable = [(r[0], r[1], r[4], r[16]) for r in rows
               if r[0] and r[1] and r[11] and r[17].startswith("Disable the account")]
    bulk = out_dir / "dormant_disable_lan_ids.csv"
    write_csv(bulk, ["lan_id", "upn", "request_number", "reason"], sorted(set(disable)))
    written.append(bulk)

    by_group: dict[str, list[tuple]] = {}
    for r in rows:
        by_group.setdefault(r[4] or "", []).append(r)
    admin_groups = sorted(g for g in by_group if g)
    per_group_files = len(admin_groups) > MAX_ADMIN_SHEETS
    if per_group_files:
        for rn in admin_groups:
            path = child_path(out_dir / "dormant_by_group", f"{rn}.csv")
            write_csv(path, COLUMNS, by_group[rn])
        written.append(out_dir / "dormant_by_group")

    xlsx = out_dir / f"dormant_accounts_{as_of.isoformat()}.xlsx"
    with StreamingBook(xlsx, as_of, TITLE) as book:
        _summary(book, rows, as_of, settings, exceptions, per_group_files)
        book.table("All accounts", HEADERS, rows)
        if not per_group_files:
            used: set[str] = {"summary", "all accounts", "exceptions"}
            for rn in admin_groups:
                group_rows = by_group[rn]
                admin = group_rows[0][13] or "no administrator"
                # the group and its administrator are in the title, not on every row
                book.table(sheet_name(f"{rn} {admin}", used), ADMIN_HEADERS,
                           ([r[j] for j in ADMIN_COLUMNS] for r in group_rows), title=(
                    f"For {admin} ({group_rows[0][14] or 'no email'}), Group Administrator "
                    f"of {group_rows[0][5]} ({rn}): accounts to review as of {as_of}"))
            orphans = by_group.get("", [])
            if orphans:
                book.table(sheet_name("No group (orphans)", used), HEADERS, orphans)
        book.table("Exceptions", EXCEPTION_HEADERS, exceptions)
    written.append(xlsx)
    return written


def _summary(book: StreamingBook, rows: list[tuple], as_of: dt.date,
             settings: dict[str, str], exceptions: list[tuple], per_group_files: bool) -> None:
    ws = FreeformSheet(book, "Summary")
    ws.line(TITLE, fmt="title")
    ws.line(f"As of {as_of.isoformat()}: {len(rows)} accounts to act on; the LAN IDs to "
            "disable are in dormant_disable_lan_ids.csv" +
            ("; one list per group in dormant_by_group/" if per_group_files else ""))
    ws.skip()
    counts = {rule: sum(1 for r in rows if rule in r[16].split(", ")) for rule in SUPPORT_RULES}
    ws.line("Accounts by rule", fmt="heading")
    ws.table(["Rule", "Accounts"], [[k, v] for k, v in counts.items()])
    ws.skip()
    groups: dict[tuple, int] = {}
    for r in rows:
        key = (r[4] or "(no group)", r[5] or "", r[13] or "")
        groups[key] = groups.get(key, 0) + 1
    ws.line("Accounts by group", fmt="heading")
    ws.table(["Request number", "Group", "Group Administrator", "Accounts"],
             [[*k, v] for k, v in sorted(groups.items())])
    ws.skip()
    ws.line("Thresholds used", fmt="heading")
    ws.table(["Setting", "Value"],
             [[setting_label(k), v] for k, v in settings.items()
              if k.startswith("thresholds.")])
    ws.skip()
    applied = sum(1 for e in exceptions if e[5] == "applied")
    ws.line(f"Exceptions: {applied} applied of {len(exceptions)} (Exceptions sheet)",
            fmt="heading")
