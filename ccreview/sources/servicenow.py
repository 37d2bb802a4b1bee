"""ServiceNow Table API: the enrollment submissions, incrementally on `sys_updated_on`.

`GET /api/now/table/{table}?sysparm_query=<query>^sys_updated_on>=<from>^sys_updated_on<<to>
^ORDERBYsys_updated_on^ORDERBYsys_id&sysparm_display_value=all&sysparm_limit=…&sysparm_offset=…`,
following the `Link` header's `rel="next"` page; `X-Total-Count` says how many the window
holds (if it changes mid-pull, a record was updated again and left the window, so the
window is fetched again rather than an offset skipping its neighbour). Times are the
table's stored values (UTC; give the integration user the GMT time zone in ServiceNow so
its query values are read the same way). Each pull writes the window's records as one
`{"result": [...]}` response (`enrollment/servicenow_<from>_<to>.json`) with
`display_value=all` pairs, which the enrollment reader takes; a record updated later comes
again in a later window (the evidence store keeps one per request number and submission
time). Basic authentication as the integration user.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from ccreview.core.config import ServiceNowSource
from ccreview.sources.http import PullError, SourceClient, source_secret
from ccreview.sources.state import parse_utc, stamp
from ccreview.sources.windows import (
    EventWindow,
    Page,
    PullResult,
    pull_window,
    write_json_document,
)

SECRET_VARIABLE = "CCREVIEW_SERVICENOW_PASSWORD"
PAGE = 500


def _value(field: Any) -> Any:
    """A field's stored value, with or without `display_value=all` pairs."""
    return field.get("value") if isinstance(field, dict) and "value" in field else field


def _query_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def client(settings: ServiceNowSource, backoff_seconds: float = 1.0) -> SourceClient:
    def authenticate(c: SourceClient) -> str:
        value = source_secret("servicenow", "password", SECRET_VARIABLE, settings.password_block,
                              "password_block")
        pair = base64.b64encode(f"{settings.user}:{value}".encode()).decode()
        return f"Basic {pair}"

    denied = {
        401: f"the user {settings.user!r} or its password ({SECRET_VARIABLE}) was refused",
        403: f"the user {settings.user!r} may not read the table {settings.table!r}: give "
             "it a role that the table's read ACL allows (and web service access)",
    }
    return SourceClient("servicenow", authenticate, denied, backoff_seconds)


def pull(settings: ServiceNowSource, input_dir: Path, now: dt.datetime,
         backoff_seconds: float = 1.0) -> list[PullResult]:
    url = f"{settings.instance_url}/api/now/table/{settings.table}"

    def fetch(c: SourceClient, start: dt.datetime, end: dt.datetime,
              position: str | None) -> Page:
        if position is None:
            query = "^".join(q for q in (
                settings.query, f"sys_updated_on>={_query_time(start)}",
                f"sys_updated_on<{_query_time(end)}",
                "ORDERBYsys_updated_on^ORDERBYsys_id") if q)
            response = c.get(url, params={"sysparm_query": query,
                                          "sysparm_display_value": "all",
                                          "sysparm_exclude_reference_link": "true",
                                          "sysparm_limit": PAGE, "sysparm_offset": 0})
        else:
            response = c.get(position)
        body = c.json(response, "a Table API page")
        if not isinstance(body, dict) or not isinstance(body.get("result"), list):
            raise PullError("servicenow: a page holds no 'result' list")
        total = response.headers.get("X-Total-Count")
        nxt = response.links.get("next", {}).get("url")
        if nxt and not body["result"]:
            nxt = None  # an empty page ends the listing whatever the header says
        return Page(body["result"], len(body["result"]), nxt,
                    int(total) if total and total.isdigit() else None)

    def changed_at(record: dict) -> dt.datetime | None:
        value = _value(record.get("sys_updated_on"))
        try:
            return parse_utc(str(value).replace(" ", "T"))
        except ValueError:
            return None

    spec = EventWindow(
        name="servicenow", first_from=lambda now: dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        latency=dt.timedelta(minutes=settings.latency_minutes), fetch=fetch,
        records=lambda body: body, changed_at=changed_at,
        key=lambda r: (_value(r.get("sys_id")), _value(r.get("sys_updated_on")))
        if r.get("sys_id") else json.dumps(r, sort_keys=True),
        path=lambda start, end: (input_dir / "enrollment"
                                 / f"servicenow_{stamp(start)}_{stamp(end)}.json"),
        write=lambda fh, records: write_json_document(fh, "result", records))
    with client(settings, backoff_seconds) as c:
        return [pull_window(c, spec, input_dir, now)]
