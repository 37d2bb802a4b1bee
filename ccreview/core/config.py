"""Review configuration: thresholds, windows, severities and domain lists.

Defaults are the ones in docs/rules.md. A TOML file passed with ``--config`` overrides
any of them; every value used is written into the run's outputs so a workbook always says
which thresholds produced it.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ccreview.core.errors import UsageError
from ccreview.core.vocabulary import rule_codes

FREE_MAIL_DOMAINS = (
    "gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com",
    "live.com", "msn.com", "comcast.net", "protonmail.com", "mail.com", "ymail.com",
)


@dataclass(frozen=True)
class Thresholds:
    dormancy_days: int = 90
    never_signed_in_grace_days: int = 30
    ad_lastlogon_lag_days: int = 14
    provisioning_window_days: int = 7
    daa_term_days: int = 365
    daa_notice_days: int = 30
    app_unused_days: int = 90
    attestation_due_days: int = 30
    # inputs this many days older than the as-of date are named in the review notes: a
    # snapshot the evidence store stands in for, sign-in evidence that ends early
    evidence_age_days: int = 14


@dataclass(frozen=True)
class Retention:
    """How long the evidence store keeps events. Sign-in and application access events:
    `event_days` back from the review date (each account's latest successful event is kept
    longer: it is the dormancy evidence). ADT messages (PHI): while the visit is open and
    `adt_days_after_discharge` days after its discharge or cancellation, no longer."""
    event_days: int = 400
    adt_days_after_discharge: int = 7


def local_time_zone() -> str:
    """This machine's time zone as an IANA name (TZ, else /etc/localtime's link, else
    /etc/timezone), UTC when it cannot be told: the default zone of the schedules."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        link = os.readlink("/etc/localtime")
        candidates.append(link.split("zoneinfo/", 1)[1] if "zoneinfo/" in link else "")
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    for name in candidates:
        if ("/" in name or name == "UTC") and _is_zone(name):
            return name
    return "UTC"


def _is_zone(name: str) -> bool:
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


@dataclass(frozen=True)
class TimeZones:
    """The time zone of each source that writes clock times without an offset. Inside the
    pipeline every time is UTC: HL7 timestamps with an offset are converted by it, those
    without are read in `adt`; Active Directory's `whenCreated` is written in the exporting
    host's zone, `directory`. The hospital is in America/Phoenix (no daylight saving)."""
    directory: str = "America/Phoenix"
    adt: str = "America/Phoenix"

    def zone(self, source: str) -> tzinfo:
        return _zone(getattr(self, source))

    def today(self) -> date:
        """Today on the hospital's clock (the ADT feed's zone): the default as-of date,
        whatever the zone of the machine (a UTC server is a day ahead in the Phoenix
        evening)."""
        return datetime.now(self.zone("adt")).date()

    def day_end(self, day: date) -> datetime:
        """The end of `day` (midnight after it) on the hospital's clock — the ADT feed's
        zone — as naive UTC: what a run as of `day` counts happened before it, whatever
        the zone of the machine that ran it."""
        midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone("adt"))
        return midnight.astimezone(UTC).replace(tzinfo=None)


HOSPITAL_TIME_ZONES = TimeZones()  # the defaults
CULTURES = ("en-US", "en-GB")


@dataclass(frozen=True)
class Cultures:
    """The Windows culture each exporting host writes dates in (`Export-Csv` uses it):
    en-US `1/15/2023 9:03:12 AM`, en-GB `15/01/2023 09:03:12`. A date that does not fit
    the configured culture is quarantined, never guessed; a file with dates that fit the
    other culture is refused (`contracts.completeness`)."""
    directory: str = "en-US"
    applications: str = "en-US"


HOSPITAL_CULTURES = Cultures()


APP_LIST_COLUMNS = ("application", "username", "email", "display_name", "active", "created",
                    "last_access", "role")


@dataclass(frozen=True)
class ApplicationListLayout:
    """How to read an application's user export whose headers are not the canonical ones:
    canonical column -> the export's header, and the application when the export has no
    application column. An export is recognised by having every mapped header."""
    name: str
    columns: tuple[tuple[str, str], ...]
    application: str | None = None

    @property
    def source_headers(self) -> set[str]:
        return {src.strip().lower() for _, src in self.columns}


@dataclass(frozen=True)
class FindingException:
    """An approved exception: suppresses `rule` for `account` (LAN ID, UPN or email) until
    `expires`, e.g. for a service or break-glass account."""
    account: str
    rule: str
    reason: str
    approved_by: str
    expires: date


@dataclass(frozen=True)
class GraphSource:
    """`ccreview pull graph`: Microsoft Graph with an app registration's client credentials
    (application permissions User.Read.All and AuditLog.Read.All). The client secret comes
    from CCREVIEW_GRAPH_CLIENT_SECRET or the Secret block named here, never from here."""
    tenant_id: str
    client_id: str
    client_secret_block: str | None = None
    login_url: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    # only these applications' sign-ins (appId); empty: every application's
    sign_in_app_ids: tuple[str, ...] = ()
    first_pull_days: int = 30  # the first sign-in pull reaches back this far (Entra keeps 30)
    latency_minutes: int = 30  # sign-ins newer than this are left to the next pull


@dataclass(frozen=True)
class ServiceNowSource:
    """`ccreview pull servicenow`: the Table API of the table holding the enrollment
    submissions, as the integration user (basic authentication; its password from
    CCREVIEW_SERVICENOW_PASSWORD or the Secret block named here)."""
    instance_url: str
    table: str
    user: str
    password_block: str | None = None
    query: str = ""  # an encoded query narrowing the table, e.g. "cat_item=<sys_id>"
    latency_minutes: int = 5


@dataclass(frozen=True)
class DocuSignSource:
    """`ccreview pull docusign`: eSignature `listStatusChanges` with the JWT grant (an
    integration key, the user it impersonates, and the RSA private key from
    CCREVIEW_DOCUSIGN_PRIVATE_KEY or the Secret block named here)."""
    account_id: str
    integration_key: str
    user_id: str
    base_uri: str = "https://na4.docusign.net"
    oauth_url: str = "https://account.docusign.com"
    private_key_block: str | None = None
    first_pull_days: int = 3650  # Data Access Agreements stay in force for years
    latency_minutes: int = 5


PULL_SOURCES = {"graph": GraphSource, "servicenow": ServiceNowSource,
                "docusign": DocuSignSource}


@dataclass(frozen=True)
class ReviewConfig:
    thresholds: Thresholds = field(default_factory=Thresholds)
    severity: dict[str, str] = field(default_factory=dict)  # rule -> severity override
    free_mail_domains: tuple[str, ...] = FREE_MAIL_DOMAINS
    # known HISP domains; empty = any non-free-mail host under a "direct." name
    direct_domains: tuple[str, ...] = ()
    application_lists: tuple[ApplicationListLayout, ...] = ()
    exceptions: tuple[FindingException, ...] = ()
    time_zones: TimeZones = field(default_factory=TimeZones)
    cultures: Cultures = field(default_factory=Cultures)
    retention: Retention = field(default_factory=Retention)
    # the zone `ccreview serve`'s schedules run in; None: this machine's (local_time_zone)
    schedule_time_zone: str | None = None
    # failure notices: a Prefect notification block, "<block type slug>/<name>"
    notify_block: str | None = None
    # a Prefect Secret block holding the census workbooks' password
    census_password_secret: str | None = None
    # `[pull.<source>]`: how `ccreview pull` reaches each source system (not a review
    # setting: left out of the settings the reports print and the run's fingerprint)
    pull: dict[str, Any] = field(default_factory=dict)

    def with_dormancy_days(self, days: int | None) -> ReviewConfig:
        """This configuration with another dormancy threshold (`ccreview dormant --days`)."""
        if days is None:
            return self
        return replace(self, thresholds=replace(self.thresholds, dormancy_days=days))

    def as_flat_dict(self) -> dict[str, str]:
        """Every setting as `section.key -> value`, for the Run sheet and the manifest."""
        flat: dict[str, str] = {}
        for k, v in asdict(self.thresholds).items():
            flat[f"thresholds.{k}"] = str(v)
        for k, v in sorted(self.severity.items()):
            flat[f"severity.{k}"] = v
        flat["domains.free_mail"] = ", ".join(self.free_mail_domains)
        flat["domains.direct"] = ", ".join(self.direct_domains)
        for k, v in asdict(self.time_zones).items():
            flat[f"time_zones.{k}"] = v
        for k, v in asdict(self.cultures).items():
            flat[f"cultures.{k}"] = v
        for k, v in asdict(self.retention).items():
            flat[f"retention.{k}"] = str(v)
        flat["schedule.time_zone"] = self.schedule_time_zone or local_time_zone()
        if self.notify_block:
            flat["notifications.failure_block"] = self.notify_block
        if self.census_password_secret:
            flat["census.password_secret"] = self.census_password_secret  # a name only
        for e in self.exceptions:
            flat[f"exceptions.{e.account}.{e.rule}"] = (
                f"until {e.expires.isoformat()}, approved by {e.approved_by}: {e.reason}")
        for layout in self.application_lists:
            flat[f"application_lists.{layout.name}"] = ", ".join(
                f"{k}={v}" for k, v in layout.columns) + (
                f", application={layout.application}" if layout.application else "")
        return flat


# What each setting means, as the Summary sheets print it (the Run sheet keeps the keys).
SETTING_LABELS = {
    "thresholds.dormancy_days": "Dormant after this many days without a successful sign-in",
    "thresholds.never_signed_in_grace_days": "Never signed in: days allowed after creation",
    "thresholds.ad_lastlogon_lag_days": "Allowance for AD lastLogonTimestamp's lag (days)",
    "thresholds.provisioning_window_days": "Days allowed to provision a request",
    "thresholds.daa_term_days": "Days a signed DAA stays in force",
    "thresholds.daa_notice_days": "Days before a DAA lapses that renewal is due",
    "thresholds.app_unused_days": "Application unused after this many days",
    "thresholds.attestation_due_days": "Days a group has to return its attestation",
    "thresholds.evidence_age_days": "Inputs older than this at the as-of date are noted "
                                    "(days)",
    "domains.free_mail": "Free-mail domains (never a Direct address)",
    "domains.direct": "Direct (HISP) domains",
    "time_zones.directory": "Time zone of the AD export's host",
    "time_zones.adt": "Time zone of ADT times without an offset",
    "cultures.directory": "Date format of the AD export (Windows culture)",
    "cultures.applications": "Date format of the application lists (Windows culture)",
    "retention.event_days": "Evidence store keeps sign-in and access events (days)",
    "retention.adt_days_after_discharge": "Evidence store keeps ADT after discharge (days)",
    "schedule.time_zone": "Time zone of the schedules",
    "notifications.failure_block": "Failure notices sent through (Prefect block)",
    "census.password_secret": "Census password from (Prefect Secret block)",
}


def setting_label(key: str) -> str:
    """A setting's meaning in words (`thresholds.dormancy_days` -> "Dormant after …")."""
    if key in SETTING_LABELS:
        return SETTING_LABELS[key]
    section, _, rest = key.partition(".")
    if section == "severity":
        return f"Severity of {rest}"
    if section == "exceptions":
        account, _, rule = rest.rpartition(".")
        return f"Exception: {rule} for {account}"
    if section == "application_lists":
        return f"Columns of the {rest} application list"
    return f"{section.replace('_', ' ').capitalize()}: {rest.replace('_', ' ')}"


SEVERITIES = ("high", "medium", "low")
# the findings catalog is the one home of the rule codes
def _known_rule(rule: str, where: str) -> None:
    if rule not in rule_codes():
        raise UsageError(f"{where}: {rule!r} is not a rule of the findings catalog "
                         f"(e.g. DORMANT_ACCOUNT; see docs/rules.md)")


def load_config(path: str | Path | None) -> ReviewConfig:
    """Read a TOML config; unknown keys and wrong types are usage errors naming the key."""
    if path is None:
        return ReviewConfig()
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{p}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: not valid TOML ({exc.__class__.__name__})") from None
    return config_from_dict(raw, source=str(p))


def config_from_dict(raw: dict[str, Any], source: str = "config") -> ReviewConfig:
    allowed = {"thresholds", "severity", "domains", "application_lists", "exceptions",
               "time_zones", "cultures", "retention", "schedule", "notifications",
               "census", "pull"}
    unknown = set(raw) - allowed
    if unknown:
        raise UsageError(f"{source}: unknown section(s) {sorted(unknown)}; "
                         f"expected {sorted(allowed)}")

    th_raw = raw.get("thresholds", {})
    th_names = {f.name for f in fields(Thresholds)}
    bad = set(th_raw) - th_names
    if bad:
        raise UsageError(f"{source}: unknown threshold(s) {sorted(bad)}; "
                         f"expected {sorted(th_names)}")
    for k, v in th_raw.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise UsageError(f"{source}: thresholds.{k} must be a whole number of days >= 0")
    thresholds = Thresholds(**th_raw)

    sev = raw.get("severity", {})
    for k, v in sev.items():
        _known_rule(k, f"{source}: severity")
        if v not in SEVERITIES:
            raise UsageError(f"{source}: severity.{k} must be one of {list(SEVERITIES)}")

    dom = raw.get("domains", {})
    bad = set(dom) - {"free_mail", "direct"}
    if bad:
        raise UsageError(f"{source}: unknown domain list(s) {sorted(bad)}; "
                         "expected ['direct', 'free_mail']")
    free = tuple(d.lower().strip() for d in dom.get("free_mail", FREE_MAIL_DOMAINS))
    direct = tuple(d.lower().strip() for d in dom.get("direct", ()))
    layouts = tuple(_layout(x, i, source) for i, x in enumerate(raw.get("application_lists", [])))
    exceptions = tuple(_exception(x, i, source) for i, x in enumerate(raw.get("exceptions", [])))
    return ReviewConfig(thresholds=thresholds, severity=dict(sev),
                        free_mail_domains=free, direct_domains=direct,
                        application_lists=layouts, exceptions=exceptions,
                        time_zones=_time_zones(raw.get("time_zones", {}), source),
                        cultures=_cultures(raw.get("cultures", {}), source),
                        retention=_retention(raw.get("retention", {}), source),
                        schedule_time_zone=_one_name(raw, "schedule", "time_zone", source,
                                                     zone=True),
                        notify_block=_one_name(raw, "notifications", "failure_block", source),
                        census_password_secret=_one_name(raw, "census", "password_secret",
                                                         source),
                        pull=_pull(raw.get("pull", {}), source))


def _one_name(raw: dict, section: str, key: str, source: str,
              zone: bool = False) -> str | None:
    """A section holding one name (a time zone, a Prefect block): checked, or None."""
    table = raw.get(section, {})
    if not isinstance(table, dict) or set(table) - {key}:
        raise UsageError(f"{source}: [{section}] takes {key}")
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{source}: {section}.{key} must be a name")
    if zone and not _is_zone(value):
        raise UsageError(f"{source}: {section}.{key} is not an IANA time zone name such as "
                         "America/Phoenix")
    elif section == "notifications" and "/" not in value:
        raise UsageError(f"{source}: notifications.{key} names a Prefect notification block "
                         "as <block type>/<name>, e.g. custom-webhook/ccreview-failures")
    return value.strip()


def _retention(raw: dict, source: str) -> Retention:
    names = {f.name for f in fields(Retention)}
    if not isinstance(raw, dict) or set(raw) - names:
        raise UsageError(f"{source}: [retention] takes {sorted(names)}")
    for k, v in raw.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise UsageError(f"{source}: retention.{k} must be a whole number of days >= 0")
    return Retention(**raw)


def _cultures(raw: dict, source: str) -> Cultures:
    names = {f.name for f in fields(Cultures)}
    if not isinstance(raw, dict) or set(raw) - names:
        raise UsageError(f"{source}: [cultures] takes {sorted(names)}")
    for k, v in raw.items():
        if v not in CULTURES:
            raise UsageError(f"{source}: cultures.{k} must be one of {list(CULTURES)}")
    return Cultures(**raw)


def _time_zones(raw: dict, source: str) -> TimeZones:
    names = {f.name for f in fields(TimeZones)}
    if not isinstance(raw, dict) or set(raw) - names:
        raise UsageError(f"{source}: unknown time zone source(s) "
                         f"{sorted(set(raw) - names) if isinstance(raw, dict) else raw!r}; "
                         f"expected some of {sorted(names)}")
    for k, v in raw.items():
        if not _is_zone(str(v)):
            raise UsageError(f"{source}: time_zones.{k} is not an IANA time zone name such as "
                             "America/Phoenix")
    return TimeZones(**{k: str(v) for k, v in raw.items()})


def _exception(raw: dict, i: int, source: str) -> FindingException:
    where = f"{source}: exceptions[{i}]"
    if not isinstance(raw, dict):
        raise UsageError(f"{where} must be a table")
    missing = [k for k in ("account", "rule", "reason", "approved_by", "expires")
               if not raw.get(k)]
    if missing:
        raise UsageError(f"{where}: missing {missing}")
    _known_rule(str(raw["rule"]), f"{where}.rule")
    expires = raw["expires"]
    if isinstance(expires, str):
        try:
            expires = date.fromisoformat(expires)
        except ValueError:
            raise UsageError(f"{where}: expires must be a date YYYY-MM-DD") from None
    if not isinstance(expires, date):
        raise UsageError(f"{where}: expires must be a date YYYY-MM-DD")
    return FindingException(account=str(raw["account"]).strip().lower(), rule=str(raw["rule"]),
                            reason=str(raw["reason"]), approved_by=str(raw["approved_by"]),
                            expires=expires)


def _layout(raw: dict, i: int, source: str) -> ApplicationListLayout:
    where = f"{source}: application_lists[{i}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("columns"), dict):
        raise UsageError(f"{where} needs a [application_lists.columns] table")
    bad = set(raw["columns"]) - set(APP_LIST_COLUMNS)
    if bad:
        raise UsageError(f"{where}: unknown column(s) {sorted(bad)}; "
                         f"expected some of {list(APP_LIST_COLUMNS)}")
    app = raw.get("application")
    for needed in ("username", "active"):
        if needed not in raw["columns"]:
            raise UsageError(f"{where}: columns.{needed} is required")
    if "application" not in raw["columns"] and not app:
        raise UsageError(f"{where}: give application = \"CERNER\" (or another code) or map "
                         "columns.application")
    return ApplicationListLayout(name=str(raw.get("name", f"layout {i + 1}")),
                                 columns=tuple(sorted((k, str(v))
                                                      for k, v in raw["columns"].items())),
                                 application=app)


def _pull(raw: Any, source: str) -> dict[str, Any]:
    """`[pull.graph]`, `[pull.servicenow]`, `[pull.docusign]`: each checked against its
    fields (required ones present, text as text, days as whole numbers, URLs https or
    loopback http)."""
    if not isinstance(raw, dict) or set(raw) - set(PULL_SOURCES):
        raise UsageError(f"{source}: [pull] takes the sections {sorted(PULL_SOURCES)}")
    out: dict[str, Any] = {}
    for name, table in raw.items():
        cls = PULL_SOURCES[name]
        where = f"{source}: pull.{name}"
        known = {f.name: f for f in fields(cls)}
        if not isinstance(table, dict) or set(table) - set(known):
            raise UsageError(f"{where} takes {sorted(known)}")
        missing = [k for k, f in known.items()
                   if f.default is MISSING and k not in table]
        if missing:
            raise UsageError(f"{where}: missing {missing}")
        values: dict[str, Any] = {}
        for key, value in table.items():
            default = known[key].default
            if isinstance(default, int) and not isinstance(default, bool):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise UsageError(f"{where}.{key} must be a whole number >= 0")
            elif isinstance(default, tuple):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise UsageError(f"{where}.{key} must be a list of text")
                value = tuple(v.strip() for v in value)
            elif not isinstance(value, str) or (not value.strip() and key != "query"):
                raise UsageError(f"{where}.{key} must be text")
            else:
                value = value.strip()
                if key.endswith("_url") or key == "base_uri":
                    _check_url(value, f"{where}.{key}")
                    value = value.rstrip("/")
            values[key] = value
        out[name] = cls(**values)
    return out


def _check_url(value: str, where: str) -> None:
    """Credentials travel over https only; plain http is allowed to this machine alone
    (a local proxy, the tests' fake servers)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if not parts.hostname or parts.scheme not in ("https", "http") or (
            parts.scheme == "http" and not local):
        raise UsageError(f"{where} must be an https:// URL (http:// only to this machine)")
