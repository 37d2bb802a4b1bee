"""Inputs that are incomplete, judged from what the readers noted of each file.

Grain: one verdict per run: the refusal's text, or None.

A file of the folder that could not be read is the plainest case (`input_files.status`
'unreadable', the reason in its note). Beyond it, the readers note what a file says of
the export it belongs to (`input_files.note`): a Graph page that says another follows or
counts its export's records (`readers.base`), a DocuSign `listStatusChanges` page's place
in its result set or that its envelopes list no recipients (`readers.docusign_json`), an
HL7 batch file whose envelope says messages are missing (`readers.adt_hl7`).
`incomplete_export` reads those notes, with each file's rows, once validation has
reconciled them, and says what is missing; the flow refuses the run with it unless
`--accept-shrink`.

`missing_source` looks at what the run holds rather than at each file: a source the
enrollment says exists (a requested application's accounts, the enrolled groups' DAA
envelopes) of which nothing is among the inputs, the folder's or the evidence store's.

`sign_in_evidence_ends_early` asks, once the models are built, whether the dormant lists
would be made from exports taken long before their as-of date.
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb

from ccreview.contracts.readers import (
    active_directory_csv,
    adt_hl7,
    application_list_csv,
    docusign_json,
    entra_graph_json,
    entra_sign_in_json,
)
from ccreview.contracts.readers.base import (
    GRAPH_NEXT_PAGE_NOTE,
    NO_STATUS,
    OTHER_CULTURE,
    culture_setting,
    graph_stated_count,
)

# Graph exports whose pages say whether another follows, the files judged (the users the
# run reviews, from the folder or the store; the sign-in files in the folder: stored ones
# of earlier exports would hide a new export's missing page), and what that page costs
GRAPH_PAGED = (
    (entra_graph_json.FORMAT, ("read", "from store"), "Entra ID users",
     "the users on it would be reviewed as gone"),
    (entra_sign_in_json.FORMAT, ("read",), "Entra ID sign-ins",
     "its sign-ins would be missing, and people who signed in could be listed as dormant "
     "or never signed in"),
)
_REFUSED = "No report was written: {}, or rerun with --accept-shrink"

# exports of accounts, one file each, that are never empty when they worked: a directory,
# Entra ID users as a table, an application's user list. The reader names their workbook
# flavours and layouts after them (`...-xlsx`, `... (layout)`): told by the format's stem.
# Graph users pages are judged as one export.
ACCOUNT_EXPORT_STEMS = tuple(fmt.removesuffix("-csv") for fmt in (
    active_directory_csv.FORMAT, entra_graph_json.FORMAT_CSV, application_list_csv.FORMAT))


def incomplete_export(con: duckdb.DuckDBPyConnection) -> str | None:
    """What is missing from an export that says it is incomplete, as the refusal says it;
    None when none says so. `con`: a warehouse whose inputs were validated (per-file rows
    in `input_reconciliation`).

    - A file of the folder that could not be read (empty, binary, a broken workbook or
      JSON, a field or nesting past the readers' limits, no permission): the findings
      would be made without it, as if what it holds did not exist.
    - An export of accounts (directory, Entra ID users, an application's user list) that
      holds none, only a header: it failed or was filtered to nothing.
    - An export of accounts that gives none a status (an application list's `active`,
      AD's `Enabled`, Entra's `accountEnabled` empty or missing on every row): every
      account in it would read as disabled or inactive, or be set aside.
    - An HL7 batch file whose envelope says messages are missing (cut short, or a trailer
      counting more than it closes): a lost discharge would keep a patient who left on a
      census.
    - DocuSign listStatusChanges pages that leave positions of their result set on no
      page: a group whose agreement is on the missing page would have no DAA in force.
    - A DocuSign file none of whose envelopes lists its recipients (exported without
      `include=recipients`): every agreement in it would look unsigned.
    - An export whose dates fit another culture than the one its source is set to (an AD
      export or application list from a host in en-GB, read as en-US): those that fit
      both, a day of 12 or less, were read with day and month swapped.
    - A file of two rows or more every one of which was quarantined (its dates in a format
      no setting reads, a column renamed): the findings would be made without it, as for
      a file that could not be read.
    - Entra ID users or sign-ins from Graph pages that each say another page follows: the
      export's last page (at least) is missing. A page missing in the middle leaves no
      trace, unless the first page counts the export's records (`@odata.count`) and the
      pages hold a full page fewer."""
    files = [_File(*row) for row in con.execute(
        "select f.format, f.status, f.source_file, coalesce(f.note, ''), "
        "coalesce(sum(r.rows_read), 0) from input_files as f "
        "left join input_reconciliation as r using (source_file) "
        "group by all order by f.source_file").fetchall()]
    for check in (_unreadable, _no_account, _no_status, _dates_in_other_culture, _hl7_cut_short,
                  _docusign_gaps, _docusign_without_recipients, _graph_pages_missing):
        refusal = check(files)
        if refusal:
            return refusal
    return _wholly_quarantined(con)


class _File(NamedTuple):
    """A file of the run as the checks see it: `input_files` with its rows read."""
    format: str
    status: str
    name: str
    note: str
    rows: int


def _more(names: list, wording: str) -> str:
    """', <wording>' with the count of `names` past the first, when there are more."""
    return f", {wording.format(len(names) - 1)}" if len(names) > 1 else ""


def _refusal(first: str, names: list, more: str, cost: str, fix: str) -> str:
    """The refusal's text: what is wrong with the first file, how many more, what it
    would cost, what to do."""
    return f"{first}{_more(names, more)}: {cost} {_REFUSED.format(fix)}"


def _read(files: list[_File], fmt: str, note: str = "") -> list[str]:
    """The names of the files read in `fmt` (or a flavour of it: a prefix) whose note
    holds `note`."""
    return [f.name for f in files
            if f.status == "read" and f.format.startswith(fmt) and note in f.note]


def _unreadable(files: list[_File]) -> str | None:
    unreadable = [f for f in files if f.status == "unreadable"]
    if not unreadable:
        return None
    return _refusal(f"{unreadable[0].name} could not be read ({unreadable[0].note})",
                    unreadable, "nor could {} more file(s) (the Inputs list)",
                    "the run would go on without what it holds, and an agreement, account, "
                    "sign-in or discharge in it would look missing (an unreadable DocuSign "
                    "file alone can turn a group's every access into NO_ACTIVE_DAA).",
                    "fetch the file again or take it out of the folder")


def _no_account(files: list[_File]) -> str | None:
    # (what holds no account, how it shows): a table with its header alone; Graph users
    # pages each with an empty `value`
    empty = [(f.name, "only a header") for f in files
             if f.status == "read" and f.format.startswith(ACCOUNT_EXPORT_STEMS) and not f.rows]
    graph_users = [f.rows for f in files
                   if f.format == entra_graph_json.FORMAT and f.status == "read"]
    if graph_users and not any(graph_users):
        empty.append((f"the {len(graph_users)} Entra ID users Graph page file(s)",
                      "each page's value empty"))
    if not empty:
        return None
    return _refusal(f"{empty[0][0]} holds no account, {empty[0][1]}", empty,
                    "nor do {} more file(s)",
                    "an export that failed or was filtered to nothing, and every account it "
                    "should list would be reviewed as missing (its access to revoke "
                    "unflagged, its requests listed as not provisioned).",
                    "export it again or take it out of the folder")


def _no_status(files: list[_File]) -> str | None:
    no_status = [f for f in files if f.status == "read" and NO_STATUS in f.note
                 and f.format.startswith((*ACCOUNT_EXPORT_STEMS, entra_graph_json.FORMAT))]
    if not no_status:
        return None
    said = next(part for part in no_status[0].note.split("; ") if part.startswith(NO_STATUS))
    return _refusal(f"{no_status[0].name}: {said}", no_status, "nor in {} more file(s)",
                    "every account in it would be reviewed as disabled or inactive, or set "
                    "aside (its access to revoke unflagged or every access flagged, its "
                    "requests listed as not provisioned).",
                    "export it again with the account status")


def _dates_in_other_culture(files: list[_File]) -> str | None:
    names = [f for f in files if f.status == "read" and OTHER_CULTURE in f.note]
    if not names:
        return None
    said = next(part for part in names[0].note.split("; ") if part.startswith(OTHER_CULTURE))
    setting = culture_setting(said)
    return _refusal(f"{names[0].name}: {said}", names, "nor do {} more file(s)",
                    "those of its dates that fit both (a day of 12 or less, no AM or PM) "
                    "are read with day and month swapped, the others quarantined: an "
                    "account's creation or last "
                    "sign-in moved by months would move NEVER_SIGNED_IN, DORMANT_ACCOUNT and "
                    "APP_UNUSED.",
                    f"set {setting} to the culture the exporting host writes dates in")


# rows quarantined only as not used: an HL7 batch of message types the census does not use
# (A31, A28) loses nothing it needs
_NOT_USED_RULE = "adt_event"


def _wholly_quarantined(con: duckdb.DuckDBPyConnection) -> str | None:
    # the folder's files, as the checks above: one the store keeps from an earlier run
    # (accepted with --accept-shrink) and the folder no longer holds is not judged again
    files = con.execute("""
        with faulty as (
            select source_file, count(distinct (table_name, source_line)) as rows
            from quarantine where rule <> ?
            group by source_file
        )
        select r.source_file, sum(r.rows_quarantined)
        from input_reconciliation as r
        inner join input_files as f using (source_file)
        inner join faulty as q using (source_file)
        where f.status = 'read'
        group by r.source_file, q.rows
        having sum(r.rows_accepted) = 0 and q.rows >= 2
        order by r.source_file""", [_NOT_USED_RULE]).fetchall()
    if not files:
        return None
    name, rows = files[0]
    column, reason = con.execute("""
        select column_name, reason from quarantine
        where source_file = ? and rule <> ?
        group by all order by count(*) desc, column_name, reason limit 1""",
                                 [name, _NOT_USED_RULE]).fetchone()
    return _refusal(f"{name}: every one of its {rows} rows was quarantined (most for "
                    f"{column}: {reason})", files, "as were those of {} more file(s)",
                    "the findings would be made without what it holds, and an account, "
                    "agreement, sign-in or discharge in it would look missing (a run with "
                    "--accept-shrink lists each row and why in quarantine.csv).",
                    "correct the export or take it out of the folder")


def _hl7_cut_short(files: list[_File]) -> str | None:
    cut_short = [f for f in files if f.status == "read" and f.format == adt_hl7.FORMAT_HL7
                 and adt_hl7.BATCH_INCOMPLETE in f.note]
    if not cut_short:
        return None
    said = cut_short[0].note.split(adt_hl7.BATCH_INCOMPLETE + ": ", 1)[-1]
    return _refusal(f"ADT feed: {cut_short[0].name} says messages are missing from it "
                    f"({said})", cut_short, "and {} more file(s) do",
                    "an admission or discharge lost with them would put a patient on the "
                    "wrong census.", "fetch the file again")


def _docusign_gaps(files: list[_File]) -> str | None:
    gaps = docusign_json.missing_pages(f.note for f in files if f.status == "read"
                                       and f.format == docusign_json.FORMAT)
    if not gaps:
        return None
    first, last, total = gaps[0]
    return (f"DocuSign envelopes: no listStatusChanges page among the inputs holds "
            f"positions {first}-{last} of the {total} envelopes its other pages list"
            + (f" (and {len(gaps) - 1} more gap(s))" if len(gaps) > 1 else "")
            + ": a page is missing, and a group whose agreement is on it would be "
            "reviewed with no DAA in force. " + _REFUSED.format("add the missing page(s)"))


def _docusign_without_recipients(files: list[_File]) -> str | None:
    names = _read(files, docusign_json.FORMAT, docusign_json.NO_RECIPIENTS)
    if not names:
        return None
    return _refusal(f"DocuSign envelopes: {names[0]} lists no envelope's recipients "
                    "(exported without include=recipients)", names, "nor do {} more file(s)",
                    "whether each required party signed cannot be told, and every group "
                    "whose agreement it holds would be reviewed with no DAA in force.",
                    "export it again with include=recipients")


def _graph_pages_missing(files: list[_File]) -> str | None:
    for graph_format, statuses, label, cost in GRAPH_PAGED:
        pages = [(f.note, f.rows) for f in files
                 if f.format == graph_format and f.status in statuses]
        full_pages = [rows for note, rows in pages if GRAPH_NEXT_PAGE_NOTE in note]
        if pages and len(full_pages) == len(pages):
            return (f"{label}: each of the {len(pages)} Graph page file(s) says another page "
                    f"follows (@odata.nextLink), so the export's last page is missing and "
                    f"{cost}. " + _REFUSED.format("add the missing pages"))
        # a count stated by one export (several exports: which pages are whose is unknown),
        # short by a page or more (a smaller shortfall: the count is eventually consistent)
        stated = {graph_stated_count(note) for note, _ in pages} - {None}
        if len(stated) != 1 or not full_pages:
            continue
        (count,) = stated
        held = sum(rows for _, rows in pages)
        if held <= count - min(full_pages):
            return (f"{label}: the Graph page files hold {held} of the {count} records their "
                    f"export counts (@odata.count), so a page is missing and {cost}. "
                    + _REFUSED.format("add the missing pages"))
    return None


def accounts_by_application(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Each application's accounts the run reviews (accepted, the folder's or the evidence
    store's): what `missing_source` looks for and the shrink check compares with
    `run_manifest.json`'s (written by the report stage, which may not import contracts)."""
    return dict(con.execute(
        "select application, count(*) from raw_application_accounts "
        "where application is not null group by all order by all").fetchall())


# what a run makes of a source that is wholly absent (no file of it in the folder, nothing
# of it in the evidence store, or none of its rows accepted), by run. The enrollment says
# the source should exist: an application someone requested has accounts to review, an
# enrolled group has an agreement to look up.
_NO_LIST_COST = {
    "review": "each request for it would be reviewed as not provisioned, and access to it "
              "that should be revoked (a removed member's, a disabled person's, an account "
              "nobody requested) would go unflagged",
    "dormant": "its accounts would go unreviewed, and people who use only it would be "
               "listed as dormant",
}
_NO_DAA_COST = {
    "review": "every group would be reviewed with no DAA in force (NO_ACTIVE_DAA on all "
              "its access)",
    "census": "no provider's census would be distributed (no DAA in force)",
}


def missing_source(con: duckdb.DuckDBPyConnection, run: str = "review") -> str | None:
    """A source the enrollment says exists and the run holds nothing of, as the refusal
    says it; None when nothing is missing. `con`: a validated warehouse (`raw_` views).

    - An application list (review; the dormant run, when it holds any list at all: a
      folder of directory and sign-in exports alone is its documented minimum): an
      application that enrollment requests with no account of it. A forgotten export
      turned every request for it into NOT_PROVISIONED and hid its accounts' findings.
    - Data Access Agreement envelopes (review, census): enrolled groups and no envelope,
      neither DocuSign's nor the portal's DAA list. Every group would have no DAA in
      force."""
    if run in _NO_LIST_COST:
        requested = dict(con.execute(
            "select application, count(*) from raw_enrollment_app_requests "
            "where application is not null group by all").fetchall())
        held = set(accounts_by_application(con))
        missing = sorted(set(requested) - held)
        if missing and (held or run == "review"):
            first = missing[0]
            return (f"No {first} account is among the inputs (no user list of it in the "
                    f"folder or the evidence store, or none of its rows accepted), while "
                    f"{requested[first]:,} enrollment request(s) ask for it"
                    + (f"; nor is any of {', '.join(missing[1:])}" if len(missing) > 1
                       else "")
                    + f": {_NO_LIST_COST[run]}. "
                    + _REFUSED.format("add the application's user list"))
    if run in _NO_DAA_COST:
        groups = con.execute("select count(distinct group_request_number) "
                             "from raw_enrollment_people").fetchone()[0]
        envelopes = con.execute("select count(*) from raw_daa_envelopes").fetchone()[0]
        if groups and not envelopes:
            return (f"No Data Access Agreement envelope is among the inputs (no DocuSign "
                    f"export or DAA status list in the folder or the evidence store, or none "
                    f"of its rows accepted), while {groups:,} group(s) are enrolled: "
                    f"{_NO_DAA_COST[run]}. "
                    + _REFUSED.format("add the DocuSign export"))
    return None


def sign_in_evidence_ends_early(con: duckdb.DuckDBPyConnection) -> str | None:
    """The dormant run's refusal when the latest sign-in among its inputs, anyone's, is
    more than `evidence_age_days` before the as-of date (`int_evidence_age`, built by the
    transform): exports taken long before it, or a date mistyped. The days after them
    would count as days without use, and the lists the support desk disables accounts
    from would name people who signed in since (the 24-group sample as of 106 days after
    its exports: 251 LAN IDs to disable, 243 of them dormant). None otherwise; the review
    only notes it (review_notes), since a person reads its findings."""
    row = con.execute("select latest_sign_in_at, days_before_as_of, as_of "
                      "from int_evidence_age where ends_early").fetchone()
    if row is None:
        return None
    latest, days, as_of = row
    return (f"The latest sign-in among the inputs, anyone's, is on {latest:%Y-%m-%d}, "
            f"{days} days before the as-of date {as_of:%Y-%m-%d}: the dormant lists would "
            "count the days after the exports as days without use, and name for disabling "
            "people who signed in since. "
            + _REFUSED.format(f"add current exports, or run as of their date "
                              f"(--as-of {latest:%Y-%m-%d})"))
