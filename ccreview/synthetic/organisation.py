"""A seeded, realistic Clinical Connectivity organisation with injected defects.

`build_organisation` decides everything (people, requests, accounts, sign-ins) in memory
from one `random.Random(seed)`; `ccreview.synthetic.exports` then writes it in the formats
the real tools emit. Every injected defect is recorded as an expected finding, so the
review can be checked against ground truth: most people are compliant, each rule is
injected in a few percent of cases.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from ccreview.core.identifiers import npi_check_digit
from ccreview.synthetic import names

APPLICATIONS = ("CERNER", "PACS", "DSM", "QVENTUS", "R2W")
PROVIDER_SUFFIXES = ("MD", "MD", "MD", "DO", "NP", "PA")
STAFF_SUFFIXES = ("Staff", "Billing", "Coder", "Medical Assistant", "Receptionist",
                  "Front Desk", "Referral Coordinator", "RN")
ADMIN_SUFFIXES = ("Office Manager", "Office Manager", "Office Manager", "Staff")
ALLOWED = {
    ("Sponsoring Physician", "Provider"): set(APPLICATIONS),
    ("Group Administrator", "Provider"): set(APPLICATIONS),
    ("Group Administrator", "Regular Staff"): {"CERNER", "PACS"},
    ("Group Administrator", "Surgery Scheduler"): {"CERNER", "PACS", "QVENTUS"},
    ("Provider", "Provider"): set(APPLICATIONS),
    ("Staff", "Regular Staff"): {"CERNER", "PACS"},
    ("Staff", "Surgery Scheduler"): {"CERNER", "PACS", "QVENTUS"},
}
R2W_ALERTS = ("ED/Admitted/OB over 20 weeks", "Discharged", "Cerner Documents",
              "Labs ordered by you")

# Orphan rates (share of accounts); each other rule's rate is beside its injection below.
RATE_ORPHAN_DIRECTORY = 0.015
RATE_ORPHAN_APPLICATION = 0.01


def suffix_class(suffix: str) -> str:
    if suffix in ("MD", "DO", "NP", "PA"):
        return "Provider"
    if suffix == "Surgery Scheduler":
        return "Surgery Scheduler"
    return "Regular Staff"


@dataclass
class AppAccount:
    application: str
    created: datetime
    active: bool
    last_access: datetime | None
    role: str


@dataclass
class ExtraAccount:
    """A second directory account of the same person (ground truth DUPLICATE_IDENTITY)."""
    lan_id: str
    created: datetime
    last_success: datetime


@dataclass
class Person:
    request_number: str
    first_name: str
    middle_initial: str | None
    last_name: str
    email: str
    phone: str
    phone_extension: str | None
    staff_type: str
    suffix: str
    title: str | None = None
    specialty: str | None = None
    licensed_state: str | None = None
    state_license_number: str | None = None
    npi: str | None = None
    is_group_admin: bool = False
    applications: list[str] = field(default_factory=list)  # requested, current
    details: dict = field(default_factory=dict)  # application -> form details
    added_at: datetime | None = None
    added_in: str | None = None  # submission request number
    removed_at: datetime | None = None
    removed_in: str | None = None
    # accounts
    lan_id: str | None = None
    account_created: datetime | None = None
    enabled: bool = True
    last_success: datetime | None = None
    last_failed: datetime | None = None
    ad_lag: timedelta = timedelta(0)
    apps: list[AppAccount] = field(default_factory=list)
    expires: datetime | None = None  # AD accountExpires
    extra_accounts: list[ExtraAccount] = field(default_factory=list)  # duplicates

    @property
    def suffix_class(self) -> str:
        return suffix_class(self.suffix)


@dataclass
class Envelope:
    """A DocuSign DAA envelope: completed (every party signed), still out for signature
    (sent), or declined by one party."""
    sent: datetime
    completed: datetime | None
    status: str = "completed"  # completed | sent | declined
    declined_by: str | None = None  # role of the party who declined
    declined_at: datetime | None = None
    # roles of required parties DocuSign never got a signature from, although the envelope
    # says completed (ground truth NO_ACTIVE_DAA: such an envelope is not in force)
    unsigned: tuple[str, ...] = ()


@dataclass
class Group:
    request_number: str
    name: str
    domain: str
    registered_at: datetime
    fax: str
    corporate_rep: tuple[str, str | None] | None
    daa_envelopes: list[Envelope]
    people: list[Person] = field(default_factory=list)

    @property
    def first_daa(self) -> datetime:
        """When access could first be provisioned: the first completed DAA (or, for a group
        whose DAA never completed, when its envelope was sent)."""
        done = [e.completed for e in self.daa_envelopes if e.completed]
        return min(done) if done else self.daa_envelopes[0].sent


@dataclass
class OrphanAccount:
    """An account that matches no enrolled member (ground truth ORPHAN_ACCOUNT)."""
    first_name: str
    last_name: str
    lan_id: str
    email: str
    created: datetime
    last_success: datetime | None
    application: str | None  # None: a directory (AD + Entra) account


@dataclass
class ChangeRequest:
    request_number: str
    group_request_number: str
    request_type: str  # add_members | remove_members
    submitted_at: datetime
    people: list[Person]


@dataclass
class Organisation:
    as_of: date
    seed: int
    groups: list[Group]
    changes: list[ChangeRequest]
    orphans: list[OrphanAccount]
    expected: list[dict[str, str]]

    def people(self) -> list[Person]:
        return [p for g in self.groups for p in g.people]


class _Gen:
    def __init__(self, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.as_of_dt = datetime.combine(as_of, time(0), tzinfo=UTC)
        self.lan_ids: set[str] = set()
        self.emails: set[str] = set()  # unique across the organisation: one person, one email
        self.npis: set[str] = set()
        self.change_seq = 0

    # -- small helpers ---------------------------------------------------------------
    def moment(self, start: datetime, end: datetime) -> datetime:
        """A random second in [start, end)."""
        span = max(int((end - start).total_seconds()), 1)
        return start + timedelta(seconds=self.rng.randrange(span))

    def days_ago(self, lo: float, hi: float) -> datetime:
        return self.moment(self.as_of_dt - timedelta(days=hi), self.as_of_dt - timedelta(days=lo))

    def phone(self) -> str:
        area = self.rng.choice(names.AREA_CODES)
        return f"{area}-555-01{self.rng.randrange(100):02d}"

    def npi(self) -> str:
        while True:  # unique: a shared NPI is a duplicate identity
            first9 = "1" + "".join(str(self.rng.randrange(10)) for _ in range(8))
            npi = first9 + str(npi_check_digit(first9))
            if npi not in self.npis:
                self.npis.add(npi)
                return npi

    def lan_id(self, first: str, last: str) -> str:
        base = (first[0] + "".join(c for c in last.lower() if c.isalpha()))[:8].lower()
        n = 1
        candidate = base
        while candidate in self.lan_ids:
            n += 1
            candidate = f"{base}{n}"
        self.lan_ids.add(candidate)
        return candidate

    def person(self, group: Group, staff_type: str, suffix: str, used: set[str]) -> Person:
        rng = self.rng
        first = rng.choice(names.FIRST_NAMES)
        last = rng.choice(names.LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "")
        if rng.random() < 0.06 and staff_type == "Staff":  # people do enrol with free mail
            local = f"{first[0]}{last}{rng.randrange(10, 999)}".lower().replace("'", "")
            domain = rng.choice(names.FREE_MAIL)
        else:
            domain = group.domain
        email = f"{local}@{domain}"
        n = 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        used.add(email)
        mi = None if rng.random() < 0.3 else rng.choice("ABCDEFGHJKLMNPRST")
        p = Person(
            request_number=group.request_number, first_name=first, middle_initial=mi,
            last_name=last, email=email, phone=self.phone(),
            phone_extension=str(rng.randrange(100, 999)) if rng.random() < 0.2 else None,
            staff_type=staff_type, suffix=suffix,
        )
        if p.suffix_class == "Provider":
            p.specialty = rng.choice(names.SPECIALTIES)
            p.licensed_state = rng.choice(("AZ", "AZ", "AZ", "CO", "NV", "NM", "CA"))
            p.state_license_number = f"{rng.randrange(10000, 99999)}"
            p.npi = self.npi()
        elif suffix == "Surgery Scheduler":
            p.title = "Surgery Scheduler"
        return p

    def request_apps(self, p: Person, group: Group) -> None:
        rng = self.rng
        allowed = ALLOWED[(p.staff_type, p.suffix_class)]
        apps = ["CERNER"]
        if rng.random() < 0.75:
            apps.append("PACS")
        for app, share in (("DSM", 0.4), ("QVENTUS", 0.35), ("R2W", 0.5)):
            if app in allowed and rng.random() < share:
                apps.append(app)
        if p.suffix_class == "Surgery Scheduler" and "QVENTUS" not in apps:
            apps.append("QVENTUS")
        p.applications = [a for a in APPLICATIONS if a in apps]
        for app in p.applications:
            self.add_details(p, app, group)

    def add_details(self, p: Person, app: str, group: Group) -> None:
        rng = self.rng
        if app == "DSM":
            local = f"{p.first_name[0]}{p.last_name}".lower().replace("'", "")
            p.details["DSM"] = {"direct_address": f"{local}@direct.{group.domain}"}
        elif app == "QVENTUS":
            role = "Surgeon" if p.suffix_class == "Provider" else "Scheduler"
            k = rng.randint(1, 3)
            p.details["QVENTUS"] = {"role": role,
                                    "facilities": sorted(rng.sample(names.FACILITIES, k))}
        elif app == "R2W":
            alerts = {}
            for alert in R2W_ALERTS:
                if rng.random() < 0.7 or not alerts:
                    alerts[alert] = rng.choice(("fax", "email", "both"))
            p.details["R2W"] = {
                "fax_number": group.fax,
                "lab_facilities": sorted(rng.sample(names.FACILITIES, rng.randint(1, 2))),
                "alerts": alerts,
                "recipients": [],  # filled in once the whole group exists
                "physician_census": rng.random() < 0.5,
            }

    # -- accounts ------------------------------------------------------------------
    def provision(self, p: Person, requested_at: datetime) -> None:
        """Create the accounts as provisioning would: LAN ID, UPN, one per application."""
        rng = self.rng
        created = requested_at + timedelta(days=rng.randint(1, 6), hours=rng.randint(0, 9))
        if created >= self.as_of_dt:
            return  # still inside the provisioning window: no account yet
        p.lan_id = self.lan_id(p.first_name, p.last_name)
        p.account_created = created
        age_days = (self.as_of_dt - created).days
        if age_days < 30 and rng.random() < 0.3:
            p.last_success = None  # new account, not used yet (inside the grace period)
        elif age_days < 60:
            p.last_success = self.moment(created + timedelta(hours=2), self.as_of_dt)
        else:
            p.last_success = self.days_ago(0.1, 60)
        self.set_activity_details(p)
        for app in p.applications:
            p.apps.append(AppAccount(app, created + timedelta(minutes=rng.randint(5, 300)),
                                     True, None, self.app_role(p, app)))
        self.set_app_access(p)

    def set_activity_details(self, p: Person) -> None:
        rng = self.rng
        p.ad_lag = timedelta(days=rng.uniform(0, 14))
        p.last_failed = None
        if p.last_success and rng.random() < 0.15:
            p.last_failed = self.moment(p.last_success, self.as_of_dt)

    def set_app_access(self, p: Person) -> None:
        for acct in p.apps:
            if p.last_success is None or p.last_success < acct.created:
                acct.last_access = None
            else:
                back = timedelta(days=self.rng.uniform(0, 20))
                acct.last_access = max(acct.created, p.last_success - back)

    def app_role(self, p: Person, app: str) -> str:
        if app == "CERNER":
            return "Ambulatory Physician" if p.suffix_class == "Provider" else "Office Staff"
        if app == "QVENTUS":
            return p.details.get("QVENTUS", {}).get("role", "Scheduler")
        return "User"


def build_organisation(groups: int, seed: int, as_of: date) -> Organisation:
    g = _Gen(seed, as_of)
    rng = g.rng
    org = Organisation(as_of=as_of, seed=seed, groups=[], changes=[], orphans=[], expected=[])
    used_domains: set[str] = set()
    reg_days = sorted((rng.uniform(45, 1100) for _ in range(groups)), reverse=True)
    for i in range(groups):
        name, domain = names.practice_name(rng, used_domains)
        registered = g.days_ago(reg_days[i], reg_days[i] + 0.5)
        envelopes = []
        sent = registered + timedelta(hours=rng.randint(2, 48))
        while sent < g.as_of_dt - timedelta(days=1):
            completed = sent + timedelta(days=rng.uniform(0.5, 12))
            if completed >= g.as_of_dt:  # a renewal still out for signature
                envelopes.append(Envelope(sent, None, "sent"))
                break
            envelopes.append(Envelope(sent, completed))
            # renewed 300-320 days after signing: never inside the 30-day notice window
            sent = completed + timedelta(days=rng.uniform(300, 320))
        if not any(e.completed for e in envelopes):  # registered very recently
            envelopes = [Envelope(registered + timedelta(hours=2), registered + timedelta(days=3))]
        corp = None
        if rng.random() < 0.15:
            cf, cl = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
            corp = (f"{cf} {cl}", f"{cf}.{cl}@legal-{domain}".lower())
        group = Group(request_number=f"CS{1000 + i:07d}", name=name, domain=domain,
                      registered_at=registered, fax=g.phone(), corporate_rep=corp,
                      daa_envelopes=envelopes)
        _populate_group(g, group)
        org.groups.append(group)
        _member_changes(g, group, org)
    _inject(g, org)
    return org


def _populate_group(g: _Gen, group: Group) -> None:
    rng = g.rng
    used: set[str] = set()
    sponsor = g.person(group, "Sponsoring Physician", rng.choice(PROVIDER_SUFFIXES), used)
    people = [sponsor]
    if rng.random() < 0.2:
        sponsor.is_group_admin = True
    else:
        suffix = rng.choice(ADMIN_SUFFIXES + ("MD", "Surgery Scheduler"))
        admin = g.person(group, "Group Administrator", suffix, used)
        admin.is_group_admin = True
        people.append(admin)
    size = max(1, int(rng.lognormvariate(2.1, 0.5)))  # ~10 members, a long tail
    for _ in range(size):
        if rng.random() < 0.35:
            people.append(g.person(group, "Provider", rng.choice(PROVIDER_SUFFIXES), used))
        else:
            suffix = "Surgery Scheduler" if rng.random() < 0.15 else rng.choice(STAFF_SUFFIXES)
            people.append(g.person(group, "Staff", suffix, used))
    for p in people:
        p.added_at = group.registered_at
        p.added_in = group.request_number
        g.request_apps(p, group)
    group.people = people
    _choose_r2w_recipients(g, group)
    for p in people:
        g.provision(p, group.first_daa)


def _choose_r2w_recipients(g: _Gen, group: Group) -> None:
    staff = [p.email for p in group.people if p.removed_at is None]
    for p in group.people:
        if "R2W" in p.details and not p.details["R2W"]["recipients"]:
            k = min(len(staff), g.rng.randint(1, 3))
            p.details["R2W"]["recipients"] = sorted(g.rng.sample(staff, k))


def _member_changes(g: _Gen, group: Group, org: Organisation) -> None:
    """Later additions and removals, as change requests."""
    rng = g.rng
    first_daa = group.first_daa
    horizon = (g.as_of_dt - first_daa).days
    if horizon > 20 and rng.random() < 0.3:
        used = {p.email for p in group.people}
        when = g.moment(first_daa + timedelta(days=10), g.as_of_dt - timedelta(hours=1))
        g.change_seq += 1
        added = []
        for _ in range(rng.randint(1, 2)):
            if rng.random() < 0.35:
                p = g.person(group, "Provider", rng.choice(PROVIDER_SUFFIXES), used)
            else:
                p = g.person(group, "Staff", rng.choice(STAFF_SUFFIXES), used)
            p.added_at, p.added_in = when, f"CS{500000 + g.change_seq:07d}"
            g.request_apps(p, group)
            added.append(p)
        group.people.extend(added)
        _choose_r2w_recipients(g, group)
        for p in added:
            g.provision(p, when)
        org.changes.append(ChangeRequest(added[0].added_in, group.request_number,
                                         "add_members", when, added))
    candidates = [p for p in group.people
                  if p.staff_type in ("Staff", "Provider") and p.account_created is not None
                  and (g.as_of_dt - p.account_created).days > 45]
    # only remove someone nobody names as an R2W recipient (that is a later rule's defect)
    named = {r for p in group.people for r in p.details.get("R2W", {}).get("recipients", [])}
    candidates = [p for p in candidates if p.email not in named]
    if candidates and rng.random() < 0.12:
        p = rng.choice(candidates)
        when = g.moment(p.account_created + timedelta(days=30), g.as_of_dt - timedelta(days=1))
        _remove(g, org, group, p, when, deprovision=True)


def _remove(g: _Gen, org: Organisation, group: Group, p: Person, when: datetime,
            deprovision: bool) -> None:
    """A remove_members change request; deprovisioned properly unless told otherwise."""
    g.change_seq += 1
    p.removed_at, p.removed_in = when, f"CS{500000 + g.change_seq:07d}"
    if deprovision:  # directory disabled, applications off, no sign-in after removal
        p.enabled = False
        for acct in p.apps:
            acct.active = False
        if p.last_success and p.last_success > when:
            p.last_success = g.moment(p.account_created, when)
            g.set_activity_details(p)
            g.set_app_access(p)
    org.changes.append(ChangeRequest(p.removed_in, group.request_number, "remove_members",
                                     when, [p]))


def _pick(rng: random.Random, pool: list, rate: float) -> list:
    if not pool:
        return []
    return rng.sample(pool, max(1, round(rate * len(pool))))


def _expect(org: Organisation, rule: str, request_number: str, email: str, app: str = "") -> None:
    org.expected.append({"rule": rule, "request_number": request_number,
                         "email": email.lower(), "application": app})


class _Injector:
    """Injects each rule's defect into its own people and groups, so that the expected
    findings are exactly the union of what each injection records: a group changed at group
    level is left alone by person-level injections, and each person gets at most one."""

    def __init__(self, g: _Gen, org: Organisation) -> None:
        self.g, self.org, self.rng = g, org, g.rng
        self.by_rn = {grp.request_number: grp for grp in org.groups}
        self.reserved_groups: set[str] = set()
        self.touched: set[int] = set()  # id() of people already given a defect
        self.recipients = {r for p in org.people()
                           for r in p.details.get("R2W", {}).get("recipients", [])}

    def expect(self, rule: str, rn: str, email: str, app: str = "") -> None:
        _expect(self.org, rule, rn, email, app)

    def groups(self, rate: float, ok: Callable[[Group], bool] = lambda grp: True
               ) -> list[Group]:
        pool = [grp for grp in self.org.groups
                if grp.request_number not in self.reserved_groups and ok(grp)]
        chosen = _pick(self.rng, pool, rate)
        self.reserved_groups.update(grp.request_number for grp in chosen)
        return chosen

    def people(self, rate: float, ok: Callable[[Person], bool], recipient_ok: bool = True
               ) -> list[Person]:
        pool = [p for p in self.org.people()
                if p.removed_at is None and id(p) not in self.touched
                and p.request_number not in self.reserved_groups
                and (recipient_ok or p.email not in self.recipients) and ok(p)]
        chosen = _pick(self.rng, pool, rate)
        self.touched.update(id(p) for p in chosen)
        return chosen

    def age(self, p: Person) -> int:
        return -1 if p.account_created is None else (self.g.as_of_dt - p.account_created).days

    def active_apps(self, p: Person) -> list[AppAccount]:
        return [a for a in p.apps if a.active]


def _member(p: Person) -> bool:
    return p.staff_type in ("Staff", "Provider")


def _inject(g: _Gen, org: Organisation) -> None:
    inj = _Injector(g, org)
    _inject_group_level(inj)
    _inject_entitlements(inj)
    _inject_accounts(inj)
    _inject_enrolment(inj)
    _inject_orphans(inj)
    _inject_unsigned_daa(inj)
    _inject_r2w_privacy(inj)
    org.expected.sort(key=lambda r: (r["rule"], r["request_number"], r["email"], r["application"]))


def _set_last_completion(grp: Group, when: datetime, pending: bool) -> None:
    """Make `when` the group's latest completed DAA (earlier history kept)."""
    kept = [e for e in grp.daa_envelopes
            if e.completed and e.completed < when - timedelta(days=300)]
    kept.append(Envelope(when - timedelta(days=2), when))
    if pending:  # the renewal is out for signature but nobody has signed yet
        kept.append(Envelope(when + timedelta(days=300), None, "sent"))
    grp.daa_envelopes = kept


def _inject_group_level(inj: _Injector) -> None:
    g, rng = inj.g, inj.rng
    # NO_ACTIVE_DAA: the DAA lapsed (last signed over a year ago), yet access goes on
    for grp in inj.groups(0.02, lambda x: (g.as_of_dt - x.registered_at).days > 520):
        _set_last_completion(grp, g.days_ago(380, 500), pending=rng.random() < 0.5)
        _expect_no_daa(inj, grp)
    # NO_ACTIVE_DAA: the Corporate Representative declined, but accounts were provisioned
    for grp in inj.groups(0.01, lambda x: x.corporate_rep is not None
                          and (g.as_of_dt - x.registered_at).days > 60):
        first = grp.daa_envelopes[0]
        grp.daa_envelopes = [Envelope(first.sent, None, "declined",
                                      "Corporate or Legal Representative",
                                      first.sent + timedelta(days=1))]
        _expect_no_daa(inj, grp)
    # DAA_RENEWAL_DUE: lapses within the 30-day notice window
    for grp in inj.groups(0.03, lambda x: (g.as_of_dt - x.registered_at).days > 370):
        _set_last_completion(grp, g.days_ago(336, 364), pending=rng.random() < 0.5)
        inj.expect("DAA_RENEWAL_DUE", grp.request_number, "")
    # GROUP_ROLES_INVALID: Corporate Representative named YES without an email, or the
    # Group Administrator removed with nobody in their place
    for i, grp in enumerate(inj.groups(0.02, lambda x: True)):
        admin = next((p for p in grp.people if p.staff_type == "Group Administrator"), None)
        removable = (admin is not None and admin.email not in inj.recipients
                     and admin.account_created is not None and inj.age(admin) > 60)
        if i % 2 == 1 and removable:
            when = g.moment(admin.account_created + timedelta(days=30),
                            g.as_of_dt - timedelta(days=1))
            _remove(g, inj.org, grp, admin, when, deprovision=True)
        else:
            name = grp.corporate_rep[0] if grp.corporate_rep else "Pat Legal"
            grp.corporate_rep = (name, None)
        inj.expect("GROUP_ROLES_INVALID", grp.request_number, "")


def _expect_no_daa(inj: _Injector, grp: Group) -> None:
    for p in grp.people:
        if p.removed_at is None:
            for a in inj.active_apps(p):
                inj.expect("NO_ACTIVE_DAA", grp.request_number, p.email, a.application)


def _inject_entitlements(inj: _Injector) -> None:
    g, rng = inj.g, inj.rng
    # ROLE_NOT_ALLOWED: regular staff requested (and were given) an application the policy
    # does not allow them; the details are complete so no other rule fires
    for p in inj.people(0.04, lambda p: p.suffix_class == "Regular Staff"
                        and not {"QVENTUS", "R2W"} <= set(p.applications)):
        app = rng.choice([a for a in ("QVENTUS", "R2W") if a not in p.applications])
        p.applications = [a for a in APPLICATIONS if a in p.applications or a == app]
        g.add_details(p, app, inj.by_rn[p.request_number])
        if app == "R2W":
            p.details["R2W"]["recipients"] = [p.email]
        if p.account_created is not None:
            p.apps.append(AppAccount(app, p.account_created + timedelta(hours=1), True,
                                     None, g.app_role(p, app)))
            g.set_app_access(p)
        inj.expect("ROLE_NOT_ALLOWED", p.request_number, p.email, app)
    # NOT_REQUESTED: an allowed application account nobody asked for
    for p in inj.people(0.03, lambda p: inj.age(p) > 30 and p.last_success is not None
                        and "PACS" not in p.applications):
        created = p.account_created + timedelta(days=rng.randint(5, 25))
        p.apps.append(AppAccount("PACS", created, True, None, "User"))
        g.set_app_access(p)
        inj.expect("NOT_REQUESTED", p.request_number, p.email, "PACS")
    # NOT_PROVISIONED: requested long ago, DAA complete, still no account for it
    for p in inj.people(0.03, lambda p: inj.age(p) > 14 and len(p.apps) >= 2):
        dropped = rng.choice(p.apps[1:])
        p.apps.remove(dropped)
        inj.expect("NOT_PROVISIONED", p.request_number, p.email, dropped.application)
    # APP_UNUSED: an application not used for months by someone who signs in every week
    for p in inj.people(0.03, lambda p: inj.age(p) > 400 and len(p.apps) >= 2
                        and p.last_success is not None
                        and (g.as_of_dt - p.last_success).days < 60):
        acct = rng.choice(p.apps[1:])
        acct.last_access = g.days_ago(120, 300)
        inj.expect("APP_UNUSED", p.request_number, p.email, acct.application)
    # DSM_ADDRESS_INVALID: a free-mail, an ordinary mailbox, or no Direct address at all
    for i, p in enumerate(inj.people(0.04, lambda p: "DSM" in p.applications)):
        kind = i % 3
        if kind == 0:
            p.details["DSM"] = {"direct_address": f"{p.last_name.lower()}.md@gmail.com"}
        elif kind == 1:
            p.details["DSM"] = {"direct_address": p.email}
        else:
            p.details["DSM"] = {}
        inj.expect("DSM_ADDRESS_INVALID", p.request_number, p.email, "DSM")
    # APP_DETAILS_MISSING: Qventus without facilities or role; R2W without labs or fax
    for i, p in enumerate(inj.people(0.04, lambda p: bool({"QVENTUS", "R2W"}
                                                          & set(p.applications)))):
        app = "QVENTUS" if "QVENTUS" in p.applications else "R2W"
        if app == "QVENTUS":
            p.details["QVENTUS"]["facilities" if i % 2 else "role"] = [] if i % 2 else ""
        else:
            key = ("lab_facilities", "fax_number", "alerts")[i % 3]
            p.details["R2W"][key] = {} if key == "alerts" else ([] if key == "lab_facilities"
                                                                 else "")
        inj.expect("APP_DETAILS_MISSING", p.request_number, p.email, app)
    # R2W_RECIPIENT_INVALID: a recipient who is not a member of the provider's group
    outsiders = [p for p in inj.org.people() if p.removed_at is None]
    for p in inj.people(0.04, lambda p: "R2W" in p.applications):
        other = rng.choice([o for o in outsiders if o.request_number != p.request_number])
        p.details["R2W"]["recipients"] = sorted({*p.details["R2W"]["recipients"], other.email})
        inj.expect("R2W_RECIPIENT_INVALID", p.request_number, other.email, "R2W")


def _inject_accounts(inj: _Injector) -> None:
    g, rng = inj.g, inj.rng
    inj.recipients = {r for p in inj.org.people()  # now including injected recipients
                      for r in p.details.get("R2W", {}).get("recipients", [])}
    # DORMANT_ACCOUNT: enabled accounts whose last successful sign-in is long past, well
    # outside the AD lag margin; a third of them have a recent *failed* attempt
    for p in inj.people(0.03, lambda p: inj.age(p) > 200, recipient_ok=False):
        p.last_success = g.moment(p.account_created + timedelta(days=1),
                                  g.as_of_dt - timedelta(days=130))
        g.set_activity_details(p)
        if rng.random() < 0.33:
            p.last_failed = g.days_ago(0.1, 20)
        g.set_app_access(p)
        inj.expect("DORMANT_ACCOUNT", p.request_number, p.email)
    # NEVER_SIGNED_IN: provisioned months ago, never used
    for p in inj.people(0.02, lambda p: inj.age(p) > 60, recipient_ok=False):
        p.last_success = p.last_failed = None
        g.set_app_access(p)
        inj.expect("NEVER_SIGNED_IN", p.request_number, p.email)
    # DISABLED_WITH_ACCESS: the directory account disabled or expired, applications still on
    for i, p in enumerate(inj.people(0.02, lambda p: inj.age(p) > 30 and bool(p.apps),
                                     recipient_ok=False)):
        if i % 2:
            p.enabled = False
        else:
            p.expires = g.days_ago(3, 60)
        for a in p.apps:
            inj.expect("DISABLED_WITH_ACCESS", p.request_number, p.email, a.application)
    # REMOVED_MEMBER_ACTIVE: removed by the group, but nothing was turned off
    for p in inj.people(0.02, lambda p: _member(p) and inj.age(p) > 60, recipient_ok=False):
        when = g.moment(p.account_created + timedelta(days=30), g.as_of_dt - timedelta(days=1))
        _remove(g, inj.org, inj.by_rn[p.request_number], p, when, deprovision=False)
        inj.expect("REMOVED_MEMBER_ACTIVE", p.request_number, p.email, "")
        for a in p.apps:
            inj.expect("REMOVED_MEMBER_ACTIVE", p.request_number, p.email, a.application)


def _inject_enrolment(inj: _Injector) -> None:
    g, rng, org = inj.g, inj.rng, inj.org
    # SPONSOR_NOT_QUALIFIED: a bad NPI check digit, or no license number or state
    for i, p in enumerate(inj.people(0.03, lambda p: p.staff_type == "Sponsoring Physician")):
        if i % 3 == 0:
            p.npi = p.npi[:9] + str((int(p.npi[9]) + 1) % 10)
        elif i % 3 == 1:
            p.state_license_number = None
        else:
            p.licensed_state = None
        inj.expect("SPONSOR_NOT_QUALIFIED", p.request_number, p.email)
    # DUPLICATE_IDENTITY: a second directory account for the same person
    for p in inj.people(0.01, lambda p: inj.age(p) > 60 and p.last_success is not None):
        created = g.moment(p.account_created + timedelta(days=20), g.as_of_dt - timedelta(days=5))
        p.extra_accounts.append(ExtraAccount(g.lan_id(p.first_name, p.last_name + "x"),
                                             created, g.moment(created, g.as_of_dt)))
        inj.expect("DUPLICATE_IDENTITY", p.request_number, p.email)
    # DUPLICATE_IDENTITY: the same provider enrolled again in another group, with the same
    # email (a returning user keeps the account) or with the same NPI and a new email
    targets = [grp for grp in org.groups if grp.request_number not in inj.reserved_groups]
    for i, p in enumerate(inj.people(0.01, lambda p: p.staff_type == "Provider"
                                     and inj.age(p) > 60 and p.last_success is not None)):
        home = p.request_number
        other = rng.choice([t for t in targets if t.request_number != home])
        when = max(other.first_daa, p.added_at) + timedelta(days=rng.randint(2, 10))
        if when > g.as_of_dt - timedelta(days=14):
            continue  # no time left to provision: try nobody else rather than guess
        used = {q.email for q in other.people}
        twin = g.person(other, "Provider", p.suffix, used)
        twin.npi, twin.specialty = p.npi, p.specialty
        twin.licensed_state, twin.state_license_number = p.licensed_state, p.state_license_number
        twin.first_name, twin.last_name = p.first_name, p.last_name
        if i % 2 == 0:  # same email: the existing account serves both enrolments
            g.emails.discard(twin.email)
            twin.email = p.email
        twin.applications = list(p.applications)
        for app in twin.applications:
            g.add_details(twin, app, other)
        if "R2W" in twin.details:
            twin.details["R2W"]["recipients"] = [twin.email]
        g.change_seq += 1
        twin.added_at, twin.added_in = when, f"CS{500000 + g.change_seq:07d}"
        if i % 2 == 1:
            g.provision(twin, when)
            twin.last_success = g.days_ago(0.1, 30)
            g.set_activity_details(twin)
            g.set_app_access(twin)
        other.people.append(twin)
        inj.touched.add(id(twin))
        org.changes.append(ChangeRequest(twin.added_in, other.request_number, "add_members",
                                         when, [twin]))
        inj.expect("DUPLICATE_IDENTITY", other.request_number, twin.email)


def _inject_orphans(inj: _Injector) -> None:
    g, rng, org = inj.g, inj.rng, inj.org
    n_accounts = sum(1 for p in org.people() if p.lan_id)
    for _ in range(max(1, round(RATE_ORPHAN_DIRECTORY * n_accounts))):
        org.orphans.append(_orphan(g, None))
    n_app = sum(len(p.apps) for p in org.people())
    for _ in range(max(1, round(RATE_ORPHAN_APPLICATION * n_app))):
        org.orphans.append(_orphan(g, rng.choice(APPLICATIONS)))
    for o in org.orphans:
        inj.expect("ORPHAN_ACCOUNT", "", o.email, o.application or "")


def _orphan(g: _Gen, application: str | None) -> OrphanAccount:
    rng = g.rng
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    lan = g.lan_id(first, last)
    domain = rng.choice(("formerpractice.com", "temp-staffing.net", "oldclinic.org"))
    created = g.days_ago(100, 900)
    last_success = g.days_ago(0.5, 80) if rng.random() < 0.6 else None
    return OrphanAccount(first, last, lan, f"{first}.{last}.{lan}@{domain}".lower(),
                         created, last_success, application)


def _inject_unsigned_daa(inj: _Injector) -> None:
    """NO_ACTIVE_DAA: every envelope DocuSign marks completed lacks one required signature
    (the Group Administrator's, the sponsor's when they are the administrator, or the
    Corporate/Legal Representative's), yet the accounts were provisioned. Groups whose
    people carry no other defect, so that the expected findings stay exact."""
    g = inj.g
    for i, grp in enumerate(inj.groups(0.1, lambda x: (g.as_of_dt - x.registered_at).days > 60
                                       and not any(id(p) in inj.touched for p in x.people)
                                       and any(e.completed for e in x.daa_envelopes))):
        if i % 2 == 1 and grp.corporate_rep and grp.corporate_rep[1]:
            role = "Corporate or Legal Representative"
        elif any(p.staff_type == "Group Administrator" for p in grp.people):
            role = "Group Administrator"
        else:
            role = "Sponsoring Physician"
        for env in grp.daa_envelopes:
            if env.completed:
                env.unsigned = (role,)
        _expect_no_daa(inj, grp)


def _inject_r2w_privacy(inj: _Injector) -> None:
    """APP_DETAILS_MISSING (R2W): the Report2Web privacy-policy box left unchecked."""
    for p in inj.people(0.03, lambda p: "R2W" in p.applications):
        p.details["R2W"]["privacy_policy_accepted"] = False
        inj.expect("APP_DETAILS_MISSING", p.request_number, p.email, "R2W")
