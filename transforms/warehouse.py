"""Build the warehouse models from the `.sql` files beside this module.

`staging/` (one model per canonical table: rename, cast, trim), `intermediate/` (identity
resolution, membership state, activity) and `marts/` (answers to a user's question). Each
file is one model named by its file stem; it may refer to other models by name and runs
after them (dependencies are read from the SQL text). Every file in `marts/rules/` yields
findings of one rule: adding a rule is one SQL file plus one row in
`contracts/findings_catalog.csv`. Then `findings/` runs in a fixed order over the
union (`findings_all`): approved exceptions, the reported `findings`, and the support
desk's `dormant_accounts`. A rule model returns `rule, request_number, email,
application, person_name, lan_id, detail` and, where its grain is finer than those four
(e.g. provider x recipient), a `key_part` that keeps its finding keys distinct.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date
from graphlib import TopologicalSorter
from importlib.resources import files
from pathlib import Path

import duckdb
import pandas as pd

from ccreview.core.config import ReviewConfig
from ccreview.core.errors import UsageError
from ccreview.core.identifiers import is_valid_npi
from ccreview.core.vocabulary import FINDING_COLUMNS  # noqa: F401  (the findings table's)

HERE = Path(__file__).parent
LAYERS = ("staging", "intermediate", "marts")
RULES_DIR = HERE / "marts" / "rules"
# after the rules are unioned into findings_all, in this order
FINDINGS_DIR = HERE / "findings"
FINDINGS_MODELS = ("finding_exceptions", "exception_status", "findings", "dormant_accounts",
                   "entitlement_review", "group_overview")
CONTRACTS_DIR = Path(str(files("ccreview.contracts")))  # the policy and findings catalog

# every table that holds patient-level data (PHI) from the ADT feed: the census is written
# from them, and the kept warehouse drops them unless told to keep them
PATIENT_TABLES = ("ingested_adt_events", "raw_adt_events", "stg_adt_events",
                  "int_adt_visits", "census_patients")



# DuckDB would otherwise take up to 80% of the machine's memory; it spills past this.
WAREHOUSE_MEMORY_LIMIT = "2GB"


def connect_warehouse(path: str | Path, read_only: bool = False
                      ) -> duckdb.DuckDBPyConnection:
    """Open the run's warehouse with a bounded memory budget (spilling to a temporary
    folder beside it), so a hospital-size review stays well inside the machine. Read-only
    connections (the report stage's render tasks) may be open in several processes."""
    p = Path(path)
    return duckdb.connect(str(p), read_only=read_only, config={
        "memory_limit": WAREHOUSE_MEMORY_LIMIT,
        "temp_directory": str(p.parent / ".duckdb_spill"),
    })


def model_files() -> dict[str, Path]:
    files = {}
    for layer in LAYERS:
        for p in sorted((HERE / layer).rglob("*.sql")):
            files[p.stem] = p
    return files


def _dependencies(sql: str, names: set[str]) -> set[str]:
    """Models a SQL text refers to (comments and string literals do not count)."""
    code = re.sub(r"--[^\n]*", " ", sql)
    code = re.sub(r"'(?:[^']|'')*'", "''", code)
    words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", code.lower()))
    return words & names


def build_order() -> list[tuple[str, Path]]:
    files = model_files()
    names = set(files)
    graph = {n: _dependencies(p.read_text(), names - {n}) for n, p in files.items()}
    return [(n, files[n]) for n in TopologicalSorter(graph).static_order()]


def load_reference_tables(con: duckdb.DuckDBPyConnection, config: ReviewConfig,
                          as_of: date) -> None:
    """Run parameters, the policy and the findings catalog: the data the SQL reads."""
    t = config.thresholds
    params = pd.DataFrame([{
        "as_of": as_of, "as_of_ts": pd.Timestamp(as_of),
        "dormancy_days": t.dormancy_days,
        "never_signed_in_grace_days": t.never_signed_in_grace_days,
        "ad_lastlogon_lag_days": t.ad_lastlogon_lag_days,
        "provisioning_window_days": t.provisioning_window_days,
        "daa_term_days": t.daa_term_days, "daa_notice_days": t.daa_notice_days,
        "app_unused_days": t.app_unused_days,
        "attestation_due_days": t.attestation_due_days,
    }])
    ints = ", ".join(f"{c}::integer as {c}" for c in params.columns if c.endswith("_days"))
    con.register("_params", params)
    con.execute("create or replace table run_parameters as select as_of::date as as_of, "
                f"as_of_ts::timestamp as as_of_ts, {ints} from _params")
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
    catalog = pd.read_csv(CONTRACTS_DIR / "findings_catalog.csv", dtype=str)
    unknown = set(config.severity) - set(catalog["rule"])
    if unknown:
        raise UsageError(f"config: severity set for unknown rule(s) {sorted(unknown)}")
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
    unknown_rules = {e.rule for e in config.exceptions} - set(catalog["rule"])
    if unknown_rules:
        raise UsageError(f"config: exception for unknown rule(s) {sorted(unknown_rules)}")
    for table, values in (("config_free_mail_domains", config.free_mail_domains),
                          ("config_direct_domains", config.direct_domains)):
        con.execute(f"create or replace table {table} (domain varchar)")
        if values:
            con.executemany(f"insert into {table} values (?)", [[v] for v in values])


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Python checks the SQL calls, shared with the readers (and property-tested there)."""
    with contextlib.suppress(duckdb.CatalogException):  # already registered on this connection
        con.create_function("is_valid_npi", _npi_or_false, ["VARCHAR"], "BOOLEAN",
                            null_handling="special")


def _npi_or_false(value: str | None) -> bool:
    return value is not None and is_valid_npi(value)


def build_models(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create every model as a table, dependencies first; then the `findings` table."""
    from ccreview.core.progress import progress_bar

    register_functions(con)
    built = []
    order = build_order()
    with progress_bar(len(order) + len(FINDINGS_MODELS), "transform", "model") as bar:
        for name, path in order:
            con.execute(f"create or replace table {name} as\n{path.read_text()}")
            built.append(name)
            bar.update()
        build_findings(con)
        bar.update(len(FINDINGS_MODELS))
    return built


def rule_models() -> list[str]:
    return sorted(p.stem for p in RULES_DIR.glob("rule_*.sql"))


def build_findings(con: duckdb.DuckDBPyConnection) -> None:
    """Union every rule model into `findings`, with the catalog's severity, control and
    action and a stable `finding_key` (same finding, same key, in every run)."""
    catalog_rules = {r for (r,) in con.execute("select rule from findings_catalog").fetchall()}
    selects = []
    for model in rule_models():
        code = model.removeprefix("rule_").upper()
        if code not in catalog_rules:
            raise RuntimeError(f"{model}.sql has no row in findings_catalog.csv")
        columns = {d[0] for d in con.execute(f"select * from {model} limit 0").description}
        key_part = "key_part::varchar" if "key_part" in columns else "null::varchar"
        selects.append(
            f"select rule, request_number::varchar as request_number, email::varchar as email, "
            f"application::varchar as application, person_name::varchar as person_name, "
            f"lan_id::varchar as lan_id, detail::varchar as detail, {key_part} as key_part "
            f"from {model}")
    union = "\nunion all\n".join(selects)
    con.execute(f"""
        create or replace table findings_all as
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
            from all_rules as f
            inner join findings_catalog as c using (rule)
            left join int_groups as g on g.request_number = f.request_number
        )
        select * from keyed
        qualify row_number() over (partition by finding_key order by detail) = 1
        order by
            case severity when 'high' then 1 when 'medium' then 2 else 3 end,
            rule, request_number, email, application
    """)
    # approved exceptions suppress findings; what they suppressed stays visible
    for name in FINDINGS_MODELS:
        sql = (FINDINGS_DIR / f"{name}.sql").read_text()
        con.execute(f"create or replace table {name} as\n{sql}")
