"""DocuSign eSignature: the Data Access Agreement envelopes, incrementally.

`GET {base_uri}/restapi/v2.1/accounts/{account}/envelopes?from_date=…&to_date=…
&include=recipients,custom_fields&order_by=last_modified&order=asc&start_position=…&count=100`
(`listStatusChanges`): every envelope whose status changed in the window, with its
recipients and the `RequestNumber` custom field. Pages follow `nextUri`; `totalSetSize`
changing mid-pull means an envelope changed again and the window is fetched anew. Each
pull writes the window as one `listStatusChanges` response
(`docusign/docusign_envelopes_<from>_<to>.json`), the shape the DocuSign reader takes; an
envelope that changes again comes again in a later window (the store keeps one per
envelope and status time).

Authentication: the JWT grant — an RS256 assertion signed with the integration key's RSA
private key (CCREVIEW_DOCUSIGN_PRIVATE_KEY, PEM, or a Secret block), impersonating
`user_id` with the `signature impersonation` scopes, exchanged at `{oauth_url}/oauth/token`.
The user must have granted consent once.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from ccreview.core.config import DocuSignSource
from ccreview.sources.http import PullError, SourceClient, source_secret
from ccreview.sources.state import parse_utc, stamp, utc_text
from ccreview.sources.windows import (
    EventWindow,
    Page,
    PullResult,
    pull_window,
    write_json_document,
)

SECRET_VARIABLE = "CCREVIEW_DOCUSIGN_PRIVATE_KEY"
PAGE = 100


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_assertion(settings: DocuSignSource, private_key_pem: str, now: float) -> str:
    """The JWT grant's assertion, RS256-signed."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise PullError(f"docusign: {SECRET_VARIABLE} is not an unencrypted PEM RSA private "
                        "key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise PullError(f"docusign: {SECRET_VARIABLE} is not an RSA key")
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({
        "iss": settings.integration_key, "sub": settings.user_id,
        "aud": urlsplit(settings.oauth_url).netloc, "iat": int(now), "exp": int(now) + 3600,
        "scope": "signature impersonation"}).encode())
    signature = key.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{_b64(signature)}"


def client(settings: DocuSignSource, backoff_seconds: float = 1.0) -> SourceClient:
    def authenticate(c: SourceClient) -> str:
        pem = source_secret("docusign", "private key", SECRET_VARIABLE, settings.private_key_block,
                              "private_key_block")
        response = c.send("POST", f"{settings.oauth_url}/oauth/token", "the token request",
                          data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                "assertion": jwt_assertion(settings, pem, time.time())})
        if response.status_code == 400:
            error = ""
            with contextlib.suppress(ValueError, AttributeError):
                error = str(response.json().get("error", ""))
            if error == "consent_required":
                raise PullError("docusign: the user has not granted consent to the "
                                "integration key: open "
                                f"{settings.oauth_url}/oauth/auth?response_type=code&scope="
                                "signature%20impersonation&client_id="
                                f"{settings.integration_key}&redirect_uri=<its redirect URI> "
                                "once, signed in as that user")
            raise PullError(f"docusign: the JWT grant was refused ({error[:40] or 'HTTP 400'})"
                            ": check integration_key, user_id, oauth_url and the key pair")
        c.check(response, "the token request")
        token = c.json(response, "the token response").get("access_token")
        if not token:
            raise PullError("docusign: the token response holds no access_token")
        return f"Bearer {token}"

    denied = {
        401: "the access token was refused: check oauth_url and base_uri are the same "
             "environment (demo or production)",
        403: f"the user {settings.user_id!r} may not list the envelopes of account "
             f"{settings.account_id!r}: it needs account access that includes the DAA "
             "envelopes (e.g. an administrator, or shared access to the sender's)",
    }
    return SourceClient("docusign", authenticate, denied, backoff_seconds)


def pull(settings: DocuSignSource, input_dir: Path, now: dt.datetime,
         backoff_seconds: float = 1.0) -> list[PullResult]:
    url = f"{settings.base_uri}/restapi/v2.1/accounts/{settings.account_id}/envelopes"

    def fetch(c: SourceClient, start: dt.datetime, end: dt.datetime,
              position: int | None) -> Page:
        response = c.get(url, params={
            "from_date": utc_text(start), "to_date": utc_text(end),
            "include": "recipients,custom_fields", "order_by": "last_modified",
            "order": "asc", "start_position": position or 0, "count": PAGE})
        body = c.json(response, "a listStatusChanges page")
        if not isinstance(body, dict):
            raise PullError("docusign: a page is not a JSON object")
        envelopes = body.get("envelopes") or []
        if not isinstance(envelopes, list):
            raise PullError("docusign: a page's 'envelopes' is not a list")
        total = str(body.get("totalSetSize", ""))
        end_position = str(body.get("endPosition", ""))
        nxt = (int(end_position) + 1 if body.get("nextUri") and envelopes
               and end_position.isdigit() else None)
        return Page(envelopes, len(envelopes), nxt, int(total) if total.isdigit() else None)

    def changed_at(envelope: dict) -> dt.datetime | None:
        try:
            return parse_utc(str(envelope.get("statusChangedDateTime")))
        except ValueError:
            return None

    def counts(n: int) -> dict:  # as listStatusChanges says them, after the envelopes
        return {"resultSetSize": str(n), "totalSetSize": str(n), "startPosition": "0",
                "endPosition": str(n - 1)}

    spec = EventWindow(
        name="docusign",
        first_from=lambda now: (now - dt.timedelta(days=settings.first_pull_days)
                                ).replace(microsecond=0),
        latency=dt.timedelta(minutes=settings.latency_minutes), fetch=fetch,
        records=lambda body: body, changed_at=changed_at,
        key=lambda e: (e.get("envelopeId"), e.get("statusChangedDateTime")),
        path=lambda start, end: (input_dir / "docusign"
                                 / f"docusign_envelopes_{stamp(start)}_{stamp(end)}.json"),
        write=lambda fh, envelopes: write_json_document(fh, "envelopes", envelopes, counts))
    with client(settings, backoff_seconds) as c:
        return [pull_window(c, spec, input_dir, now)]
