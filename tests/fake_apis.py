"""Local fake servers for the pulls: real HTTP on 127.0.0.1 (http.server in a thread),
each following its API's documented paging, limits, authentication and errors closely
enough that a client that gets them wrong fails here.

- `FakeGraph`: client-credentials token endpoint; `/users` ($select, $top <= 999, and
  <= 120 when signInActivity is selected, else 400), `/auditLogs/signIns` ($filter on
  createdDateTime ge/le and appId eq, $top <= 1000, newest first); server-side pages may
  be smaller than $top; `@odata.nextLink` absolute with an opaque $skiptoken.
- `FakeServiceNow`: basic auth; `/api/now/table/<table>` with sysparm_query (field=,
  >=, <, ORDERBY), sysparm_limit/sysparm_offset, `X-Total-Count` and a `Link` header
  (first, prev, next, last).
- `FakeDocuSign`: the JWT grant (RS256 verified with the registered public key; iss, sub,
  aud, exp checked; `consent_required` until consent is given); `listStatusChanges` with
  from_date/to_date, start_position/count, totalSetSize and nextUri.

Faults: `fail(path_part, status, times, after, headers)` answers `status` `times` times
once `after` requests to a path containing `path_part` have been served; `requests` logs
every request (method, path, query, time) — never asserted on for secrets, it holds none.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


def parse_time(text: str) -> dt.datetime:
    s = text.strip().replace("Z", "+00:00")
    if " " in s and "T" not in s:
        s = s.replace(" ", "T") + "+00:00"
    return dt.datetime.fromisoformat(s).astimezone(dt.UTC)


@dataclass
class Fault:
    path_part: str
    status: int
    times: int
    after: int
    headers: dict[str, str] = field(default_factory=dict)
    seen: int = 0


class FakeServer:
    """A threaded HTTP server; subclasses answer `handle(method, path, query, headers,
    body) -> (status, headers, body)`."""

    def __init__(self) -> None:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query,
                                                       keep_blank_values=True).items()}
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.maybe_stall(parts.path)
                status, headers, payload = owner.dispatch(method, parts.path, query,
                                                          dict(self.headers), body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    for k, v in {"Content-Type": "application/json", **headers}.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away (a test killed it mid-request)

            def do_GET(self) -> None:  # noqa: N802
                self._serve("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.faults: list[Fault] = []
        self.stalls: list[list] = []  # [path part, after n requests, seconds, seen]
        self.stalled = threading.Event()  # set when a stalled request arrives
        self.requests: list[tuple[str, str, dict, float, int]] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, path_part: str, status: int, times: int = 1, after: int = 0,
             headers: dict[str, str] | None = None) -> None:
        self.faults.append(Fault(path_part, status, times, after, headers or {}))

    def stall(self, path_part: str, after: int, seconds: float) -> None:
        """Hold the request that follows `after` requests to the path for `seconds` (a
        slow page: time to kill the client mid-pull)."""
        self.stalls.append([path_part, after, seconds, 0])

    def maybe_stall(self, path: str) -> None:
        for entry in self.stalls:
            if entry[0] in path:
                entry[3] += 1
                if entry[3] == entry[1] + 1:
                    self.stalled.set()
                    time.sleep(entry[2])

    def dispatch(self, method: str, path: str, query: dict, headers: dict, body: bytes
                 ) -> tuple[int, dict, Any]:
        with self.lock:
            for fault in self.faults:
                if fault.path_part in path:
                    fault.seen += 1
                    if fault.after < fault.seen <= fault.after + fault.times:
                        self.requests.append((method, path, query, time.monotonic(),
                                              fault.status))
                        return fault.status, fault.headers, {"error": {
                            "code": "fault", "message": f"injected {fault.status}"}}
            status, out_headers, payload = self.handle(method, path, query, headers, body)
            self.requests.append((method, path, query, time.monotonic(), status))
            return status, out_headers, payload

    def handle(self, method: str, path: str, query: dict, headers: dict, body: bytes
               ) -> tuple[int, dict, Any]:
        raise NotImplementedError

    def served(self, path_part: str, status: int = 200) -> list[dict]:
        return [q for _, p, q, _, s in self.requests if path_part in p and s == status]


def _bearer(headers: dict, tokens: set[str]) -> bool:
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    return auth.startswith("Bearer ") and auth[7:] in tokens


class FakeGraph(FakeServer):
    def __init__(self, users: list[dict], sign_ins: list[dict], tenant: str = "tenant-1",
                 client_id: str = "client-1", client_secret: str = "s3cret",
                 page_size: int = 100) -> None:
        self.users, self.sign_ins = users, sign_ins
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.page_size = page_size
        self.tokens: set[str] = set()
        self.denied: set[str] = set()  # paths answering 403
        self.expiry: int | None = None
        super().__init__()

    def expire_tokens_after(self, requests: int) -> None:
        """Every token issued so far expires once `requests` more API requests were
        served: from then on they answer 401 until the client gets a new one."""
        self.expiry = requests

    def handle(self, method, path, query, headers, body):
        if method == "POST" and path == f"/{self.tenant}/oauth2/v2.0/token":
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            if (form.get("grant_type") != "client_credentials"
                    or form.get("client_id") != self.client_id
                    or form.get("client_secret") != self.client_secret
                    or form.get("scope") != f"{self.url}/.default"):
                return 401, {}, {"error": "invalid_client"}
            token = f"graph-token-{len(self.tokens) + 1}-{time.monotonic_ns()}"
            self.tokens.add(token)
            return 200, {}, {"token_type": "Bearer", "expires_in": 3599,
                             "access_token": token}
        if self.expiry is not None:
            if self.expiry == 0:
                self.tokens.clear()
                self.expiry = None
            else:
                self.expiry -= 1
        if not _bearer(headers, self.tokens):
            return 401, {}, {"error": {"code": "InvalidAuthenticationToken",
                                       "message": "Lifetime validation failed, the token "
                                                  "is expired."}}
        if any(d in path for d in self.denied):
            return 403, {}, {"error": {"code": "Authorization_RequestDenied"}}
        if path == "/v1.0/users":
            select = query.get("$select", "")
            top = int(query.get("$top", "100"))
            limit = 120 if "signInActivity" in select else 999
            if not 1 <= top <= limit:
                return 400, {}, {"error": {"code": "Request_UnsupportedQuery",
                                           "message": "Invalid page size specified"}}
            names = select.split(",") if select else None
            rows = [{k: u.get(k) for k in names} if names else u for u in self.users]
            return self._page(path, query, rows, top,
                              "https://graph.microsoft.com/v1.0/$metadata#users(" + select + ")")
        if path == "/v1.0/auditLogs/signIns":
            top = int(query.get("$top", "1000"))
            if not 1 <= top <= 1000:
                return 400, {}, {"error": {"code": "BadRequest"}}
            rows = [s for s in self.sign_ins if self._matches(s, query.get("$filter", ""))]
            rows.sort(key=lambda s: s["createdDateTime"], reverse=True)  # newest first
            return self._page(path, query, rows, top,
                              "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns")
        return 404, {}, {"error": {"code": "NotFound"}}

    @staticmethod
    def _matches(s: dict, where: str) -> bool:
        apps = []
        for clause in where.replace("(", " ").replace(")", " ").split(" and "):
            words = clause.split()
            if len(words) >= 3 and words[0] == "createdDateTime":
                when = parse_time(s["createdDateTime"])
                bound = parse_time(words[2])
                if (words[1] == "ge" and when < bound) or (words[1] == "le" and when > bound):
                    return False
            for part in clause.split(" or "):
                w = part.split()
                if len(w) == 3 and w[0] == "appId" and w[1] == "eq":
                    apps.append(w[2].strip("'"))
        return not apps or s.get("appId") in apps

    def _page(self, path, query, rows, top, context):
        offset = int(base64.b64decode(query["$skiptoken"]).decode()) \
            if "$skiptoken" in query else 0
        size = min(top, self.page_size)
        body: dict[str, Any] = {"@odata.context": context,
                                "value": rows[offset:offset + size]}
        if offset + size < len(rows):
            rest = {k: v for k, v in query.items() if k != "$skiptoken"}
            rest["$skiptoken"] = base64.b64encode(str(offset + size).encode()).decode()
            body["@odata.nextLink"] = f"{self.url}{path}?{urlencode(rest)}"
        return 200, {}, body


class FakeServiceNow(FakeServer):
    def __init__(self, records: list[dict], table: str = "x_cc_enrollment",
                 user: str = "svc_ccreview", password: str = "pw-123") -> None:
        self.records, self.table, self.user, self.password = records, table, user, password
        self.denied = False
        self.on_page: Any = None  # called after each page served (to change data mid-pull)
        super().__init__()

    def handle(self, method, path, query, headers, body):
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        if headers.get("Authorization") != expected:
            return 401, {}, {"error": {"message": "User Not Authenticated"},
                             "status": "failure"}
        if path != f"/api/now/table/{self.table}":
            return 400, {}, {"error": {"message": "Invalid table"}, "status": "failure"}
        if self.denied:
            return 403, {}, {"error": {"message": "Operation Failed"}, "status": "failure"}
        rows = [r for r in self.records if self._matches(r, query.get("sysparm_query", ""))]
        rows.sort(key=lambda r: (r["sys_updated_on"]["value"], r["sys_id"]["value"]))
        limit = int(query.get("sysparm_limit", "10000"))
        offset = int(query.get("sysparm_offset", "0"))
        page = rows[offset:offset + limit]
        if query.get("sysparm_display_value") != "all":
            page = [{k: v["value"] if isinstance(v, dict) and "value" in v else v
                     for k, v in r.items()} for r in page]

        def link(off: int, rel: str) -> str:
            return f'<{self.url}{path}?{urlencode({**query, "sysparm_offset": off})}>;rel="{rel}"'
        links = [link(0, "first")]
        if offset > 0:
            links.append(link(max(0, offset - limit), "prev"))
        if offset + limit < len(rows):
            links.append(link(offset + limit, "next"))
        links.append(link(max(0, (len(rows) - 1) // limit * limit), "last"))
        if self.on_page:
            self.on_page(self)
        return 200, {"X-Total-Count": str(len(rows)), "Link": ",".join(links)}, \
            {"result": page}

    @staticmethod
    def _matches(record: dict, query: str) -> bool:
        for cond in filter(None, query.split("^")):
            if cond.startswith("ORDERBY"):
                continue
            for op in (">=", "<=", ">", "<", "="):
                if op in cond:
                    name, value = cond.split(op, 1)
                    break
            else:
                raise AssertionError(f"unsupported condition {cond}")
            have = record.get(name, {})
            have = have.get("value") if isinstance(have, dict) else have
            ok = {">=": have >= value, "<=": have <= value, ">": have > value,
                  "<": have < value, "=": have == value}[op]
            if not ok:
                return False
        return True


class FakeDocuSign(FakeServer):
    def __init__(self, envelopes: list[dict], public_key: Any, account: str = "acct-9",
                 integration_key: str = "ik-1", user_id: str = "user-7",
                 page_size: int = 20) -> None:
        self.envelopes, self.public_key = envelopes, public_key
        self.account, self.integration_key, self.user_id = account, integration_key, user_id
        self.page_size = page_size
        self.consented = True
        self.tokens: set[str] = set()
        super().__init__()

    def handle(self, method, path, query, headers, body):
        if method == "POST" and path == "/oauth/token":
            form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                return 400, {}, {"error": "unsupported_grant_type"}
            claims = self._verified(form.get("assertion", ""))
            if claims is None:
                return 400, {}, {"error": "invalid_grant"}
            if not self.consented:
                return 400, {}, {"error": "consent_required"}
            token = f"ds-token-{len(self.tokens) + 1}"
            self.tokens.add(token)
            return 200, {}, {"access_token": token, "token_type": "Bearer",
                             "expires_in": 3600}
        if not _bearer(headers, self.tokens):
            return 401, {}, {"errorCode": "AUTHORIZATION_INVALID_TOKEN"}
        if path != f"/restapi/v2.1/accounts/{self.account}/envelopes":
            return 404, {}, {"errorCode": "INVALID_REQUEST_PARAMETER"}
        if "from_date" not in query:
            return 400, {}, {"errorCode": "INVALID_REQUEST_PARAMETER",
                             "message": "from_date or envelope_ids is required"}
        start = parse_time(query["from_date"])
        end = parse_time(query["to_date"]) if "to_date" in query else None
        rows = [e for e in self.envelopes
                if parse_time(e["statusChangedDateTime"]) >= start
                and (end is None or parse_time(e["statusChangedDateTime"]) <= end)]
        rows.sort(key=lambda e: (e["statusChangedDateTime"], e["envelopeId"]))
        include = query.get("include", "").split(",")
        rows = [{k: v for k, v in e.items()
                 if (k != "recipients" or "recipients" in include)
                 and (k != "customFields" or "custom_fields" in include)} for e in rows]
        pos = int(query.get("start_position", "0"))
        count = min(int(query.get("count", "100")), self.page_size)
        page = rows[pos:pos + count]
        out: dict[str, Any] = {"resultSetSize": str(len(page)),
                               "totalSetSize": str(len(rows)),
                               "startPosition": str(pos),
                               "endPosition": str(pos + len(page) - 1),
                               "envelopes": page}
        if pos + count < len(rows):
            out["nextUri"] = (f"/accounts/{self.account}/envelopes?"
                              + urlencode({**query, "start_position": pos + count}))
        return 200, {}, out

    def _verified(self, assertion: str) -> dict | None:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def unb64(s: str) -> bytes:
            return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
        try:
            head, claims, sig = assertion.split(".")
            self.public_key.verify(unb64(sig), f"{head}.{claims}".encode(),
                                   padding.PKCS1v15(), hashes.SHA256())
            header, payload = json.loads(unb64(head)), json.loads(unb64(claims))
        except (ValueError, InvalidSignature):
            return None
        host = urlsplit(self.url).netloc
        if (header.get("alg") != "RS256" or payload.get("iss") != self.integration_key
                or payload.get("sub") != self.user_id or payload.get("aud") != host
                or payload.get("exp", 0) < time.time()
                or "signature" not in payload.get("scope", "")):
            return None
        return payload
