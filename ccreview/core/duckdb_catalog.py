"""Small facts about a DuckDB connection every stage asks: whether it holds a table or
view and its columns, dropping one whichever it is, and a path written into SQL as a
quoted literal."""

from __future__ import annotations

from pathlib import Path

import duckdb


def sql_path(path: str | Path) -> str:
    """A path inside a single-quoted SQL literal (quotes doubled)."""
    return str(path).replace("'", "''")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table or view called `name` is on the connection (any attached catalog)."""
    return con.execute("select count(*) from information_schema.tables where table_name = ?",
                       [name]).fetchall()[0][0] > 0


def table_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """The columns of the table or view `name` as a statement naming it would resolve it
    (a temporary table before the database's)."""
    return [c[0] for c in con.execute(f"select * from {name} limit 0").description]


def drop_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Drop the table or view `name`, whichever it is, if there is one (DuckDB refuses
    `drop table` on a view and `drop view` on a table)."""
    kind = con.execute("select table_type from information_schema.tables "
                       "where table_name = ?", [name]).fetchall()
    if kind:
        con.execute(f"drop {'view' if kind[0][0] == 'VIEW' else 'table'} {name}")
