"""The SQL layer: one dependency graph, every model created one way, every model's key
checked as it is built."""

from __future__ import annotations

import pytest

import ccreview.transforms.warehouse as warehouse
from ccreview.flows.access_review import _sanitized
from tests.conftest import SAMPLE, SAMPLE_AS_OF, build_warehouse


def test_every_model_declares_its_key_and_a_grain():
    for name, sql in warehouse.model_sql().items():
        assert warehouse.model_key(sql), f"{name} declares no '-- key:' line"
        assert "-- grain:" in sql, f"{name} states no grain"


def test_every_model_is_in_one_graph_after_what_it_uses():
    order = [name for name, _ in warehouse.build_order()]
    assert set(order) == set(warehouse.model_files()) | {"findings_all"}
    position = {name: i for i, name in enumerate(order)}
    assert position["findings_all"] > max(position[r] for r in warehouse.rule_models())
    assert position["findings_all"] < position["finding_exceptions"] < position["findings"]
    assert position["findings"] < position["dormant_accounts"]


def test_a_model_that_breaks_its_key_stops_the_build_naming_it(monkeypatch):
    real = warehouse.model_sql

    def with_a_broken_model() -> dict[str, str]:
        sql = real()
        sql["int_broken_grain"] = ("-- grain: one row per group (it is not)\n"
                                   "-- key: request_number\n"
                                   "select request_number, email from int_members")
        return sql

    monkeypatch.setattr(warehouse, "model_sql", with_a_broken_model)
    with pytest.raises(warehouse.ModelGrainError) as err:
        build_warehouse(SAMPLE, SAMPLE_AS_OF)
    assert "int_broken_grain" in str(err.value) and "more than one row" in str(err.value)
    assert "@" not in str(err.value)  # counts, never values


def test_an_empty_key_column_is_a_broken_grain(sample_warehouse):
    sample_warehouse.execute("create or replace temp table t_empty_key as "
                             "select null::varchar as k union all select 'a'")
    with pytest.raises(warehouse.ModelGrainError, match="1 row.s. with an empty key"):
        warehouse.check_key(sample_warehouse, "t_empty_key", ["k"])
    warehouse.check_key(sample_warehouse, "t_empty_key", ["k?"])  # declared nullable


def test_the_stage_reports_a_broken_grain_by_the_model_name():
    @_sanitized("transform")
    def build():
        raise warehouse.ModelGrainError("model int_x breaks its key (a): 2 key values")

    with pytest.raises(warehouse.ModelGrainError, match="int_x"):
        build()


def test_overlapping_exports_break_no_grain_and_change_no_finding(tmp_path, sample_warehouse):
    """Every input exported twice (a re-run export beside the first): the keys hold and
    the findings are the same."""
    import shutil

    from tests.conftest import finding_keys

    inp = tmp_path / "in"
    shutil.copytree(SAMPLE, inp)
    shutil.copytree(SAMPLE, inp / "again")
    for generated in ("expected_findings.csv", "expected_census.csv", "generation.json"):
        (inp / "again" / generated).unlink()
    con = build_warehouse(inp, SAMPLE_AS_OF)
    assert finding_keys(con) == finding_keys(sample_warehouse)


def test_a_run_builds_what_it_needs_and_everything_that_needs():
    """`build_order(needed)`: those models and, transitively, every model they refer to,
    each still after its dependencies; nothing else (the census: no rule, no finding)."""
    order = [name for name, _ in warehouse.build_order(["census_providers"])]
    sql = warehouse.model_sql()
    names = set(sql)
    position = {name: i for i, name in enumerate(order)}
    for name in order:
        for dependency in warehouse._dependencies(sql[name], names - {name}):
            assert dependency in position and position[dependency] < position[name]
    assert {"census_providers", "int_adt_visits", "stg_adt_events", "int_groups"} <= set(order)
    assert not [n for n in order if n.startswith(("rule_", "finding"))]
    assert len(order) < len(names)
    assert set(warehouse.rule_models()) <= {n for n, _ in warehouse.build_order(["findings"])}
    with pytest.raises(ValueError, match="no_such_model"):
        warehouse.build_order(["no_such_model"])


def test_a_key_shared_by_rows_whose_other_columns_differ_is_found(sample_warehouse):
    """The key check groups the keys only when their hashes agree; a duplicate key, with
    or without empty parts, is still counted exactly."""
    sample_warehouse.execute(
        "create or replace temp table t_dup as select * from (values "
        "('a', 1, 'x'), ('a', 1, 'y'), ('b', null, 'x'), ('b', null, 'y'), ('c', 2, 'x')) "
        "as t(k, n, other)")
    with pytest.raises(warehouse.ModelGrainError, match="2 key value.s. on more than one"):
        warehouse.check_key(sample_warehouse, "t_dup", ["k", "n?"])
    warehouse.check_key(sample_warehouse, "t_dup", ["k", "n?", "other"])


def test_a_model_may_be_a_view_but_never_a_patient_table(sample_warehouse, monkeypatch):
    kinds = dict(sample_warehouse.execute(
        "select table_name, table_type from information_schema.tables "
        "where table_name in ('stg_sign_in_events', 'int_last_successful_events')").fetchall())
    assert kinds == {"stg_sign_in_events": "VIEW", "int_last_successful_events": "BASE TABLE"}
    assert warehouse.model_materialization("-- materialized: view\nselect 1") == "view"
    assert warehouse.model_materialization("select 1") == "table"
    with pytest.raises(ValueError, match="neither table nor view"):
        warehouse.model_materialization("-- materialized: ephemeral\nselect 1")
    real = warehouse.model_sql

    def patient_view() -> dict[str, str]:
        sql = real()
        sql["stg_adt_events"] = "-- materialized: view\n" + sql["stg_adt_events"]
        return sql

    monkeypatch.setattr(warehouse, "model_sql", patient_view)
    with pytest.raises(ValueError, match="stg_adt_events holds patient data"):
        build_warehouse(SAMPLE, SAMPLE_AS_OF)


def test_models_built_side_by_side_equal_models_built_one_at_a_time(sample_warehouse,
                                                                     monkeypatch):
    """Models whose dependencies exist are built two at a time, each on a cursor of the
    run's connection: every model holds the rows a build of one model at a time gives
    (row order is the reports' to set: a table without `order by` has none to compare)."""
    assert warehouse.MODEL_THREADS > 1  # the session's warehouse was built side by side
    monkeypatch.setattr(warehouse, "MODEL_THREADS", 1)
    one_at_a_time = build_warehouse(SAMPLE, SAMPLE_AS_OF)
    try:
        for name, _ in warehouse.build_order():
            query = f"select * from {name} order by all"
            assert (sample_warehouse.execute(query).fetchall()
                    == one_at_a_time.execute(query).fetchall()), name
    finally:
        one_at_a_time.close()
