"""Microsoft Graph: Entra ID users with their sign-in activity, and the sign-in log.

- **Users** (a snapshot): `GET /users?$select=…,signInActivity&$top=120` — 120 is the
  largest page Graph serves when `signInActivity` is selected (999 otherwise) — following
  each `@odata.nextLink` whole, as returned. The pages are written as Graph returned them
  (`entra/graph_users/users_page_NNNN.json`, the shape the Entra reader takes) and replace
  the previous pull's pages whole.
- **Sign-ins** (events): `GET /auditLogs/signIns?$filter=createdDateTime ge … and
  createdDateTime le …` from the last pull's end (the first pull reaches back
  `first_pull_days`), up to `latency_minutes` ago (the log fills in late), 1000 a page. Each
  pull writes one file in the layout of the Entra portal's sign-in *Download* CSV
  (`signins/graph_sign_ins_<from>_<to>.csv`), which the sign-in reader takes.
- **Authentication**: client credentials (`POST {login_url}/{tenant}/oauth2/v2.0/token`,
  scope `<graph>/.default`), application permissions `User.Read.All` and
  `AuditLog.Read.All` (admin consent).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from ccreview.core.config import GraphSource
from ccreview.sources.http import PullError, SourceClient, source_secret
from ccreview.sources.state import parse_utc, stamp, utc_text
from ccreview.sources.windows import EventWindow, Page, PullResult, pull_snapshot, pull_window

SECRET_VARIABLE = "CCREVIEW_GRAPH_CLIENT_SECRET"
USER_FIELDS = ("id", "displayName", "givenName", "surname", "mail", "userPrincipalName",
               "accountEnabled", "createdDateTime", "onPremisesSamAccountName", "companyName",
               "department", "signInActivity")
USERS_PAGE = 120  # Graph's largest page with signInActivity selected
SIGN_INS_PAGE = 1000
USERS_FOLDER = Path("entra") / "graph_users"
SIGN_INS_FOLDER = Path("signins")
# the Entra portal's sign-in download, column for column (the reader keeps a few)
SIGN_IN_COLUMNS = ("Date (UTC)", "Request ID", "User agent", "Correlation ID", "User ID",
                   "User", "Username", "User type", "Application", "Application ID",
                   "Resource", "IP address", "Location", "Status", "Sign-in error code",
                   "Failure reason", "Client app", "Multifactor authentication result")
# error codes the portal lists as "Interrupted" (a prompt, not a failure): MFA required,
# password change, device and consent prompts, account picker
INTERRUPTED = frozenset({16000, 16001, 16003, 50058, 50072, 50074, 50076, 50079, 50125,
                         50140, 50158, 81010, 81012, 65001})
DENIED = {
    401: "the client credentials were refused: check tenant_id, client_id and the client "
         f"secret ({SECRET_VARIABLE}); it may have expired",
    403: "the app registration lacks an application permission: users need User.Read.All "
         "and AuditLog.Read.All (for signInActivity), sign-ins AuditLog.Read.All; grant "
         "admin consent (a premium Entra ID licence is needed for sign-in data)",
}


def client(settings: GraphSource, backoff_seconds: float = 1.0) -> SourceClient:
    """A Graph client that signs in with the app registration's client secret."""
    def authenticate(c: SourceClient) -> str:
        value = source_secret("graph", "client secret", SECRET_VARIABLE,
                              settings.client_secret_block, "client_secret_block")
        origin = urlsplit(settings.graph_url)
        response = c.send("POST", f"{settings.login_url}/{settings.tenant_id}/oauth2/v2.0/token",
                          "the token request",
                          data={"client_id": settings.client_id, "client_secret": value,
                                "grant_type": "client_credentials",
                                "scope": f"{origin.scheme}://{origin.netloc}/.default"})
        if response.status_code in (400, 401):  # Entra answers a bad secret with 401 or 400
            raise PullError(f"graph: HTTP {response.status_code} — {DENIED[401]}")
        c.check(response, "the token request")
        token = c.json(response, "the token response").get("access_token")
        if not token:
            raise PullError("graph: the token response holds no access_token")
        return f"Bearer {token}"

    return SourceClient("graph", authenticate, DENIED, backoff_seconds)


def _graph_page(c: SourceClient, url: str, params: dict | None) -> tuple[dict, str | None]:
    response = c.get(url, params=params)
    body = c.json(response, "a Graph page")
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise PullError("graph: a page holds no 'value' list")
    return body, body.get("@odata.nextLink")


def pull_users(c: SourceClient, settings: GraphSource, input_dir: Path,
               now: dt.datetime) -> PullResult:
    def fetch(c: SourceClient, next_link: str | None) -> Page:
        if next_link is None:
            body, nxt = _graph_page(c, f"{settings.graph_url}/users",
                                    {"$select": ",".join(USER_FIELDS), "$top": USERS_PAGE})
        else:
            body, nxt = _graph_page(c, next_link, None)
        kept = {k: v for k, v in body.items() if k != "@odata.nextLink"}
        return Page(kept, len(body["value"]), nxt)

    def page_file(i: int, body: Any) -> tuple[str, bytes]:
        return f"users_page_{i:04d}.json", json.dumps(body, indent=1,
                                                      ensure_ascii=False).encode()

    return pull_snapshot(c, "graph-users", input_dir, input_dir / USERS_FOLDER, fetch,
                         page_file, now)


def pull_sign_ins(c: SourceClient, settings: GraphSource, input_dir: Path,
                  now: dt.datetime) -> PullResult:
    def fetch(c: SourceClient, start: dt.datetime, end: dt.datetime,
              next_link: str | None) -> Page:
        if next_link is None:
            where = (f"createdDateTime ge {utc_text(start)} and "
                     f"createdDateTime le {utc_text(end)}")
            if settings.sign_in_app_ids:
                where += " and (" + " or ".join(
                    f"appId eq '{a}'" for a in settings.sign_in_app_ids) + ")"
            body, nxt = _graph_page(c, f"{settings.graph_url}/auditLogs/signIns",
                                    {"$filter": where, "$top": SIGN_INS_PAGE})
        else:
            body, nxt = _graph_page(c, next_link, None)
        return Page(body["value"], len(body["value"]), nxt)

    def changed_at(record: dict) -> dt.datetime | None:
        try:
            return parse_utc(str(record.get("createdDateTime")))
        except ValueError:
            return None  # kept: the reader quarantines it with its line

    spec = EventWindow(
        name="graph-sign-ins",
        first_from=lambda now: (now - dt.timedelta(days=settings.first_pull_days)
                                ).replace(microsecond=0),
        latency=dt.timedelta(minutes=settings.latency_minutes),
        fetch=fetch, records=lambda body: body, changed_at=changed_at,
        key=lambda r: r.get("id") or json.dumps(r, sort_keys=True),
        path=lambda start, end: (input_dir / SIGN_INS_FOLDER
                                 / f"graph_sign_ins_{stamp(start)}_{stamp(end)}.csv"),
        write=write_sign_ins_csv)
    return pull_window(c, spec, input_dir, now)


def write_sign_ins_csv(fh: BinaryIO, records: Iterable[dict]) -> None:
    """Graph `signIn` objects as the Entra portal's sign-in download writes them (UTF-8
    with a byte-order mark), in the order Graph lists them (newest first), as they come."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(SIGN_IN_COLUMNS)
    for r in records:
        status = r.get("status") or {}
        code = status.get("errorCode")
        location = r.get("location") or {}
        when = r.get("createdDateTime")
        with contextlib.suppress(ValueError):  # else as it came: the reader quarantines it
            when = utc_text(parse_utc(str(when)))
        writer.writerow([
            when, r.get("id"), "", r.get("correlationId"), r.get("userId"),
            r.get("userDisplayName"), r.get("userPrincipalName"), r.get("userType") or "",
            r.get("appDisplayName"), r.get("appId"), r.get("resourceDisplayName"),
            r.get("ipAddress"),
            ", ".join(str(location[k]) for k in ("city", "state", "countryOrRegion")
                      if location.get(k)),
            "Success" if code == 0 else "Interrupted" if code in INTERRUPTED else "Failure",
            code, status.get("failureReason") if code else "", r.get("clientAppUsed"),
            status.get("additionalDetails") or ""])
    text.detach()  # the caller's file stays open


def pull(settings: GraphSource, input_dir: Path, now: dt.datetime,
         backoff_seconds: float = 1.0) -> list[PullResult]:
    """Users, then sign-ins, with one token."""
    with client(settings, backoff_seconds) as c:
        return [pull_users(c, settings, input_dir, now),
                pull_sign_ins(c, settings, input_dir, now)]
