"""Build the warehouse models from the `.sql` files beside this module.

`staging/` (one model per canonical table: rename, cast, trim), `intermediate/` (identity
resolution, membership state, activity), `marts/` (answers to a user's question) and
`findings/` (approved exceptions, the reported `findings`, the support desk's
`dormant_accounts`, the entitlement review, the group overview). Each file is one model
named by its file stem; it may refer to other models by name and runs after them
(dependencies are read from the SQL text): one dependency graph, every model created the
same way, two at a time where the graph allows. Every file in `marts/rules/` yields
findings of one rule: adding a rule is one SQL file plus one row in
`contracts/findings_catalog.csv`; their union, `findings_all`, is the one model written
here rather than in a file (it lists the rule models). A rule model
returns `rule, request_number, email, application, person_name, lan_id, detail` and,
where its grain is finer than those four (e.g. provider x recipient), a `key_part` that
keeps its finding keys distinct.

Every model declares its key in a `-- key: col, col?` line (`?`: may be empty): once the
model is built the runner checks that no two rows share it and that the other columns are
never empty, so a broken grain stops the run with the model's name, not a test weeks
later.

A model is a table unless it says `-- materialized: view`, as the staging models do (as
dbt's are): `stg_sign_in_events`, a rename of the tens of millions of sign-ins that one
model aggregates, is not copied a third time. A patient table is never a view (its rows
live in the patient database, deleted after the census).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import date, timedelta
from graphlib import TopologicalSorter
from importlib.resources import files
from pathlib import Path

import duckdb

from ccreview.core.config import ReviewConfig
from ccreview.core.identifiers import (
    DN_DOMAIN_COMPONENT,
    EMAIL_RE,
    NANP_DIGITS,
    NPI_SEPARATORS,
    PHONE_WITH_EXTENSION,
    SUFFIX_IGNORED,
    is_valid_npi,
)
from ccreview.core.patient_data import (  # noqa: F401 - PATIENT_TABLES: re-exported
    PATIENT_TABLES,
    attach_patient_data,
    patient_data_path,
    table_home,
)
from ccreview.core.vocabulary import ADT_EVENTS, CLOSED_AS

HERE = Path(__file__).parent
LAYERS = ("staging", "intermediate", "marts", "findings")
RULES_DIR = HERE / "marts" / "rules"
CONTRACTS_DIR = Path(str(files("ccreview.contracts")))  # the policy and findings catalog




# DuckDB would otherwise take up to 80% of the machine's memory; it spills past this.
WAREHOUSE_MEMORY_LIMIT = "2GB"


def connect_warehouse(path: str | Path, read_only: bool = False
                      ) -> duckdb.DuckDBPyConnection:
    """Open the run's warehouse with a bounded memory budget (spilling to a temporary
    folder beside it), so a hospital-size review stays well inside the machine. Read-only
    connections (the report stage's render tasks) may be open in several processes."""
    p = Path(path)
    con = duckdb.connect(str(p), read_only=read_only, config={
        "memory_limit": WAREHOUSE_MEMORY_LIMIT,
        "temp_directory": str(p.parent / ".duckdb_spill"),
    })
    if not read_only or patient_data_path(p).exists():  # the patient tables: beside it
        attach_patient_data(con, p, read_only)
    return con


class ModelGrainError(RuntimeError):
    """A model's rows break its declared key. The message names the model and the count,
    never a value."""

    one_line = True


def model_files() -> dict[str, Path]:
    files = {}
    for layer in LAYERS:
        for p in sorted((HERE / layer).rglob("*.sql")):
            files[p.stem] = p
    return files


def model_sql() -> dict[str, str]:
    """Every model's SQL: the files, and the union of the rule models."""
    sql = {name: path.read_text() for name, path in model_files().items()}
    sql["findings_all"] = findings_all_sql(sql)
    return sql


def model_key(sql: str) -> list[str]:
    """The columns of a model's `-- key:` line (`name?` may be empty)."""
    m = re.search(r"^-- key: (.+)$", sql, re.M)
    if not m:
        return []
    return [c.strip() for c in m.group(1).split(",") if c.strip()]


def model_materialization(sql: str) -> str:
    """`table` (the default) or `view`, from a model's `-- materialized:` line."""
    m = re.search(r"^-- materialized: (\w+)\s*$", sql, re.M)
    kind = m.group(1) if m else "table"
    if kind not in ("table", "view"):
        raise ValueError(f"materialized: {kind!r} is neither table nor view")
    return kind


def _dependencies(sql: str, names: set[str]) -> set[str]:
    """Models a SQL text refers to (comments and string literals do not count)."""
    code = re.sub(r"--[^\n]*", " ", sql)
    code = re.sub(r"'(?:[^']|'')*'", "''", code)
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", code.lower()))
    return words & names


def build_order(needed: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(model, SQL) for every model, each after the models it refers to; with `needed`,
    only those models and what they refer to, directly or not (a run builds what its
    reports read: the daily census 29 of the 65 models, no rule and no finding)."""
    graph, sql = model_graph(needed)
    return [(n, sql[n]) for n in TopologicalSorter(graph).static_order()]


def model_graph(needed: Iterable[str] | None = None
                ) -> tuple[dict[str, set[str]], dict[str, str]]:
    """The models to build (all, or `needed` and what they refer to), each with the models
    it refers to, and every model's SQL."""
    sql = model_sql()
    names = set(sql)
    graph = {n: _dependencies(text, names - {n}) for n, text in sql.items()}
    if needed is not None:
        unknown = set(needed) - names
        if unknown:
            raise ValueError(f"no such model: {', '.join(sorted(unknown))}")
        keep: set[str] = set()
        stack = list(needed)
        while stack:
            name = stack.pop()
            if name not in keep:
                keep.add(name)
                stack.extend(graph[name])
        graph = {n: deps for n, deps in graph.items() if n in keep}
    return graph, sql


def load_reference_tables(con: duckdb.DuckDBPyConnection, config: ReviewConfig,
                          as_of: date, history: Path | None = None) -> None:
    """Run parameters, the policy, the findings catalog and what earlier runs recorded
    (`history`, the run history file; none: a first run): the data the SQL reads besides
    the inputs."""
    import pandas as pd  # (not for a process that only opens the warehouse)

    load_history_sources(con, history, as_of)
    t = config.thresholds
    params = pd.DataFrame([{
        "as_of": as_of, "as_of_ts": pd.Timestamp(as_of),
        # the as-of date's first and last instant on the hospital's clock (23 or 25 hours
        # apart on a day its zone changes to or from daylight saving)
        "as_of_start_ts": pd.Timestamp(config.time_zones.day_end(as_of - timedelta(days=1))),
        "as_of_end_ts": pd.Timestamp(config.time_zones.day_end(as_of)),
        "dormancy_days": t.dormancy_days,
        "never_signed_in_grace_days": t.never_signed_in_grace_days,
        "ad_lastlogon_lag_days": t.ad_lastlogon_lag_days,
        "provisioning_window_days": t.provisioning_window_days,
        "daa_term_days": t.daa_term_days, "daa_notice_days": t.daa_notice_days,
        "app_unused_days": t.app_unused_days,
        "attestation_due_days": t.attestation_due_days,
        "evidence_age_days": t.evidence_age_days,
    }])
    ints = ", ".join(f"{c}::integer as {c}" for c in params.columns if c.endswith("_days"))
    con.register("_params", params)
    con.execute("create or replace table run_parameters as select as_of::date as as_of, "
                f"as_of_ts::timestamp as as_of_ts, as_of_start_ts::timestamp as as_of_start_ts, "
                "as_of_end_ts::timestamp as as_of_end_ts, "
                f"{ints} from _params")
    con.unregister("_params")
    policy = CONTRACTS_DIR / "policy"
    con.execute("create or replace table policy_entitlements as select * from "
                "read_csv(?, header=true, all_varchar=true)",
                [str(policy / "entitlement_policy.csv")])
    con.execute("create or replace table policy_applications as select * from "
                "read_csv(?, header=true, all_varchar=true)",
                [str(policy / "applications.csv")])
    con.execute("create or replace table policy_suffix_classes as select * from "
                "read_csv(?, header=true, all_varchar=true)",
                [str(policy / "suffix_classes.csv")])
    # rule names in the severities and exceptions were checked when the config was read
    catalog = pd.read_csv(CONTRACTS_DIR / "findings_catalog.csv", dtype=str)
    for rule, sev in config.severity.items():
        catalog.loc[catalog["rule"] == rule, "severity"] = sev
    con.register("_catalog", catalog)
    con.execute("create or replace table findings_catalog as select * from _catalog")
    con.unregister("_catalog")
    con.execute("create or replace table config_exceptions (account varchar, rule varchar, "
                "reason varchar, approved_by varchar, expires date)")
    if config.exceptions:
        con.executemany("insert into config_exceptions values (?, ?, ?, ?, ?)",
                        [[e.account, e.rule, e.reason, e.approved_by, e.expires]
                         for e in config.exceptions])
    for table, values in (("config_free_mail_domains", config.free_mail_domains),
                          ("config_direct_domains", config.direct_domains)):
        con.execute(f"create or replace table {table} (domain varchar)")
        if values:
            con.executemany(f"insert into {table} values (?)", [[v] for v in values])
    con.execute("create or replace table adt_event_types (event_type varchar, "
                "event_name varchar, visit_effect varchar)")
    con.executemany("insert into adt_event_types values (?, ?, ?)",
                    [[code, name, effect] for code, (name, effect) in ADT_EVENTS.items()])
    # how ServiceNow closes a request unfulfilled (`enrollment_submissions.closed_as`)
    con.execute("create or replace table servicenow_closed_as (closed_as varchar)")
    con.executemany("insert into servicenow_closed_as values (?)", [[w] for w in CLOSED_AS])


# What the models comparing this run with earlier ones read from the run history, all from
# runs before this as-of: the earlier runs, their open findings per rule, the previous
# run's findings, and the latest earlier attestation period (its groups and their returns).
HISTORY_SOURCES = {
    "history_runs": ("as_of date",
                     "select as_of from runs where as_of < $as_of"),
    "history_finding_counts": (
        "as_of date, rule varchar, open_findings integer",
        "select as_of, rule, count(*) from run_findings where as_of < $as_of group by all"),
    "history_previous_findings": (
        "finding_key varchar, rule varchar, severity varchar, request_number varchar, "
        "email varchar, application varchar",
        "select finding_key, rule, severity, request_number, email, application "
        "from run_findings where as_of = (select max(as_of) from runs where as_of < $as_of)"),
    "history_attestation_groups": (
        "as_of date, request_number varchar, due_on date",
        "select as_of, request_number, due_on from attestation_groups "
        "where as_of = (select max(as_of) from attestation_groups where as_of < $as_of)"),
    "history_attestation_status": (
        "as_of date, request_number varchar, status varchar",
        "select as_of, request_number, status from attestation_status "
        "where as_of = (select max(as_of) from attestation_groups where as_of < $as_of)"),
}


def load_history_sources(con: duckdb.DuckDBPyConnection, history: Path | None,
                         as_of: date) -> None:
    """Copy what earlier runs recorded into the warehouse as source tables (empty for a
    first run), so `finding_changes`, `finding_trend` and `group_review_status` are models
    like any other. The history is read through its own read-only connection: the run
    lock keeps writers away, and this run's own rows are recorded only after its reports."""
    reader = None
    if history is not None and history.exists():
        reader = duckdb.connect(str(history), read_only=True)
    try:
        for table, (columns, query) in HISTORY_SOURCES.items():
            con.execute(f"create or replace table {table} ({columns})")
            if reader is None:
                continue
            try:
                rows = reader.execute(query, {"as_of": as_of}).df()
            except duckdb.CatalogException:  # a history written before that table existed
                continue
            con.register("_rows", rows)
            con.execute(f"insert into {table} select * from _rows")
            con.unregister("_rows")
    finally:
        if reader is not None:
            reader.close()


def run_fingerprint(con: duckdb.DuckDBPyConnection, history: Path | None, as_of: date,
                    parameters: dict) -> str:
    """What a run's results depend on, as one SHA-256: the inputs it uses (name, format,
    status, SHA-256 of each, from `input_files`), what earlier runs recorded that the models
    read (the `HISTORY_SOURCES`), the run's parameters (settings, reports, as-of) and the
    code (every module and model of the package). Same fingerprint, same reports."""
    import hashlib
    import json

    inputs = con.execute("select source_file, format, status, sha256 from input_files "
                         "order by source_file").fetchall()
    recorded: dict[str, list] = dict.fromkeys(HISTORY_SOURCES, [])
    if history is not None and history.exists():
        with duckdb.connect(str(history), read_only=True) as reader:
            for table, (_, query) in HISTORY_SOURCES.items():
                try:
                    recorded[table] = reader.execute(f"select * from ({query}) order by all",
                                                     {"as_of": as_of}).fetchall()
                except duckdb.CatalogException:
                    recorded[table] = []
    payload = json.dumps({"as_of": as_of, "inputs": inputs, "history": recorded,
                          "parameters": parameters, "code": _code_digest()},
                         sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _code_digest() -> str:
    """SHA-256 over the package's Python modules, SQL models and policy files."""
    import hashlib
    import importlib

    files: dict[str, Path] = {}
    for name in ("ccreview", "ccreview.flows", "ccreview.contracts", "ccreview.transforms",
                 "ccreview.reports"):
        for root in importlib.import_module(name).__path__:
            for path in Path(root).rglob("*"):
                if path.suffix in (".py", ".sql", ".csv") and "__pycache__" not in path.parts:
                    files[f"{name}/{path.relative_to(root).as_posix()}"] = path
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(key.encode())
        digest.update(files[key].read_bytes())
    return digest.hexdigest()


# Phone numbers, NPIs and email addresses in SQL, made from the patterns the contracts'
# checks use (core.identifiers: split_phone, normalize_phone, normalize_npi,
# is_valid_email): the number written before an extension, the extension, the number as
# NNN-NNN-NNNN (NULL when it is not a ten-digit North American number), an NPI's ten
# digits, and whether a value is an email address. Kept in the warehouse: its views call
# them.
# p without the ASCII white space around it, as Python's str.strip(_ASCII_SPACE)
_TRIMMED = "trim(p, ' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13))"
_EXTENSION_GIVEN = f"nullif(trim(regexp_extract(p, '{PHONE_WITH_EXTENSION}', 1)), '')"
SQL_MACROS = (
    f"create or replace macro phone_number_part(p) as coalesce({_EXTENSION_GIVEN}, p)",
    f"create or replace macro phone_extension_part(p) as case when {_EXTENSION_GIVEN} is "
    f"not null then regexp_extract(p, '{PHONE_WITH_EXTENSION}', 2) end",
    "create or replace macro nanp_phone(p) as case when regexp_full_match("
    f"regexp_replace(phone_number_part(p), '\\D', '', 'g'), '{NANP_DIGITS}') then "
    f"regexp_replace(regexp_replace(phone_number_part(p), '\\D', '', 'g'), '^{NANP_DIGITS}$',"
    " '\\1-\\2-\\3') end",
    "create or replace macro npi_digits(p) as case when regexp_full_match(regexp_replace("
    f"{_TRIMMED}, '{NPI_SEPARATORS}', '', 'g'), '[0-9]{{10}}') then "
    f"regexp_replace({_TRIMMED}, '{NPI_SEPARATORS}', '', 'g') else {_TRIMMED} end",
    f"create or replace macro valid_email(p) as regexp_full_match({_TRIMMED}, "
    f"'{EMAIL_RE.pattern}')",
    # the LAN ID of a down-level logon name (`cc\jdoe`), else the name itself: how
    # Windows-authenticated applications list and log their users
    r"create or replace macro logon_lan_id(u) as regexp_replace(u, '^[^\\@]+\\', '')",
    # an R2W alert's delivery method as typed or exported (`E-mail`, `Fax and Email`,
    # `Fax/Email`, a JSON list) as the form's choice: fax, email or both; NULL otherwise
    r'''create or replace macro delivery_parts(m) as list_sort(list_distinct(list_filter(
        regexp_split_to_array(regexp_replace(regexp_replace(lower(m), 'e[- ]?mail',
        'email', 'g'), '[\[\]"]', '', 'g'), '\s*(?:\band\b|&|/|,|\+)\s*|\s+'),
        lambda p: p <> '')))''',
    "create or replace macro delivery_method(m) as map {'both': 'both', 'email,fax': 'both', "
    "'email': 'email', 'fax': 'fax'}[array_to_string(delivery_parts(m), ',')]",
    # a suffix as compared with the policy table's (core.identifiers.suffix_key)
    f"create or replace macro suffix_key(s) as lower(regexp_replace(s, '{SUFFIX_IGNORED}', "
    "'', 'g'))",
    # sam@domain from the DN's DC labels (core.identifiers.implicit_upn)
    "create or replace macro dn_domain(dn) as array_to_string(list_filter(list_transform("
    f"regexp_extract_all(dn, '{DN_DOMAIN_COMPONENT}', 1), lambda p: {_TRIMMED}), "
    "lambda p: p <> ''), '.')",
    "create or replace macro implicit_upn(sam, dn) as case when "
    f"{_TRIMMED.replace('(p,', '(sam,')} <> '' and dn_domain(dn) <> '' then "
    f"{_TRIMMED.replace('(p,', '(sam,')} || '@' || dn_domain(dn) end",
)


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Python checks the SQL calls, shared with the readers (and property-tested there),
    and the phone, NPI and email macros."""
    # already registered on this connection (DuckDB says so with either error)
    with contextlib.suppress(duckdb.CatalogException, duckdb.NotImplementedException):
        con.create_function("is_valid_npi", _npi_or_false, ["VARCHAR"], "BOOLEAN",
                            null_handling="special")
    for macro in SQL_MACROS:
        con.execute(macro)


def _npi_or_false(value: str | None) -> bool:
    return value is not None and is_valid_npi(value)


# Models built at a time. Most models are small and bound by DuckDB's per-statement work,
# which runs on one core; two at a time keep both cores busy (the census's 29 models at
# 1,000 groups: 0.94 -> 0.60 s). A large model's scans use DuckDB's thread pool, which the
# two share, so they do not oversubscribe the machine.
MODEL_THREADS = 2


def build_models(con: duckdb.DuckDBPyConnection, needed: Iterable[str] | None = None
                 ) -> list[str]:
    """Create every model (or those `needed` and their dependencies) as a table or view,
    each once the models it refers to exist, checking each one's key; returns their names
    in dependency order. Models whose dependencies are built run side by side, each on a
    cursor of `con` (the same database); the first failure stops the build and is raised."""
    from ccreview.core.progress import progress_bar

    register_functions(con)
    graph, sql = model_graph(needed)
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    cursors: dict[int, duckdb.DuckDBPyConnection] = {}
    lock = threading.Lock()
    # a cursor shares the database and what is attached to it, not the search path that
    # finds the patient tables
    search_path = con.execute("select current_setting('search_path')").fetchone()[0]

    def build(name: str) -> None:
        with lock:
            cursor = cursors.get(threading.get_ident())
            if cursor is None:
                cursor = cursors[threading.get_ident()] = con.cursor()
                if search_path:
                    cursor.execute("set search_path = '{}'".format(
                        search_path.replace("'", "''")))
        _build_model(cursor, name, sql[name])

    try:
        with progress_bar(len(graph), "transform", "model") as bar, \
                ThreadPoolExecutor(MODEL_THREADS, thread_name_prefix="model") as pool:
            running: dict[Future, str] = {}
            while sorter.is_active():
                running.update((pool.submit(build, n), n) for n in sorter.get_ready())
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a failed model stops the build here
                    sorter.done(running.pop(future))
                    bar.update()
    finally:
        for cursor in cursors.values():
            cursor.close()
    return list(TopologicalSorter(graph).static_order())


def _build_model(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> None:
    kind = model_materialization(sql)
    if kind == "view" and name in PATIENT_TABLES:
        raise ValueError(f"{name} holds patient data: it must be a table")
    con.execute(f"create or replace {kind} {table_home(con, name)} as\n{sql}")
    check_key(con, name, model_key(sql))


def check_key(con: duckdb.DuckDBPyConnection, name: str, key: list[str]) -> None:
    """Raise ModelGrainError when two rows of `name` share its key or a key column that
    may not be empty is."""
    if not key:
        raise ModelGrainError(f"model {name} declares no key (a '-- key:' line)")
    columns = [c.rstrip("?") for c in key]
    required = [c for c in key if not c.endswith("?")]
    # distinct hashes prove distinct keys, at half the cost of grouping the keys themselves
    # (28 million sign-ins: 2.4 against 4.6 s); only when two rows' hashes agree are the
    # keys grouped, to tell a duplicate from a collision
    maybe = con.execute(f"select count(*) - count(distinct hash({', '.join(columns)})) "
                        f"from {name}").fetchone()[0]
    dup = con.execute(f"select count(*) from (select {', '.join(columns)} from {name} "
                      "group by all having count(*) > 1)").fetchone()[0] if maybe else 0
    empty = con.execute(f"select count(*) from {name} where "
                        + " or ".join(f"{c} is null" for c in required)
                        ).fetchone()[0] if required else 0
    if dup or empty:
        raise ModelGrainError(
            f"model {name} breaks its key ({', '.join(key)}): "
            + ", ".join(p for p in (f"{dup} key value(s) on more than one row" if dup else "",
                                    f"{empty} row(s) with an empty key" if empty else "")
                        if p))


def rule_models() -> list[str]:
    return sorted(p.stem for p in RULES_DIR.glob("rule_*.sql"))


def findings_all_sql(sql: dict[str, str]) -> str:
    """-- grain: one row per finding of every rule, with the catalog's severity, control and
    action and a stable `finding_key` (same finding, same key, in every run)."""
    from ccreview.core.vocabulary import rule_codes

    selects = []
    for model in rule_models():
        code = model.removeprefix("rule_").upper()
        if code not in rule_codes():
            raise RuntimeError(f"{model}.sql has no row in findings_catalog.csv")
        key_part = "key_part::varchar" if "key_part" in sql[model] else "null::varchar"
        selects.append(
            f"select rule, request_number::varchar as request_number, email::varchar as email, "
            f"application::varchar as application, person_name::varchar as person_name, "
            f"lan_id::varchar as lan_id, detail::varchar as detail, {key_part} as key_part "
            f"from {model}")
    union = "\nunion all\n".join(selects)
    return f"""-- grain: one row per finding of every rule (the union of the rule models)
-- key: finding_key
with all_rules as ({union}),
keyed as (
    select
        substr(md5(concat_ws('|', f.rule, coalesce(f.request_number, ''),
            coalesce(f.email, ''), coalesce(f.application, ''),
            coalesce(f.key_part, ''))), 1, 16) as finding_key,
        f.rule,
        c.severity,
        coalesce(f.request_number, '') as request_number,
        coalesce(g.group_name, '') as group_name,
        coalesce(f.email, '') as email,
        coalesce(f.person_name, '') as person_name,
        coalesce(f.lan_id, '') as lan_id,
        coalesce(f.application, '') as application,
        f.detail,
        c.control,
        c.recommended_action,
        -- what tells apart findings of one rule, group, person and application
        f.key_part,
    from all_rules as f
    inner join findings_catalog as c using (rule)
    left join int_groups as g on g.request_number = f.request_number
)
select * from keyed
qualify row_number() over (partition by finding_key order by detail) = 1
order by
    case severity when 'high' then 1 when 'medium' then 2 else 3 end,
    rule, request_number, email, application
"""
