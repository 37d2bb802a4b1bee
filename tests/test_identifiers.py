"""Property tests of the identifier parsing every reader relies on."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ccreview.contracts.readers.base import parse_datetime
from ccreview.core.identifiers import (
    FILETIME_NEVER,
    datetime_to_filetime,
    filetime_to_datetime,
    implicit_upn,
    is_valid_email,
    is_valid_npi,
    normalize_npi,
    normalize_phone,
    npi_check_digit,
    split_phone,
    suffix_key,
)

nine_digits = st.text(alphabet="0123456789", min_size=9, max_size=9)


def test_npi_check_digit_of_the_cms_example():
    assert npi_check_digit("123456789") == 3
    assert is_valid_npi("1234567893")


@given(nine_digits)
def test_an_npi_with_its_check_digit_is_valid(first9):
    assert is_valid_npi(first9 + str(npi_check_digit(first9)))


@given(nine_digits, st.integers(min_value=1, max_value=9))
def test_a_wrong_check_digit_is_invalid(first9, delta):
    wrong = (npi_check_digit(first9) + delta) % 10
    assert not is_valid_npi(first9 + str(wrong))


@given(nine_digits, st.integers(min_value=0, max_value=8))
def test_swapping_two_adjacent_different_digits_is_detected(first9, i):
    npi = first9 + str(npi_check_digit(first9))
    if npi[i] == npi[i + 1] or {npi[i], npi[i + 1]} == {"0", "9"}:
        return  # Luhn's one blind spot: 09 <-> 90
    swapped = npi[:i] + npi[i + 1] + npi[i] + npi[i + 2:]
    assert not is_valid_npi(swapped)


@given(st.text(max_size=12))
def test_npi_never_raises(value):
    assert is_valid_npi(value) in (True, False)


area = st.integers(200, 999).map(str)
exchange = st.integers(200, 999).map(str)
line = st.integers(0, 9999).map(lambda n: f"{n:04d}")


@given(area, exchange, line)
def test_the_ways_people_write_a_phone_number_normalise_alike(a, e, n):
    expected = f"{a}-{e}-{n}"
    for written in (f"{a}-{e}-{n}", f"({a}) {e}-{n}", f"{a}.{e}.{n}", f"+1 {a} {e} {n}",
                    f"1-{a}-{e}-{n}", f"{a}{e}{n}", f" ({a}){e}-{n} "):
        assert normalize_phone(written) == expected


@given(st.text(max_size=20))
def test_phone_normalisation_is_none_or_ten_digits(value):
    out = normalize_phone(value)
    assert out is None or (len(out) == 12 and out.replace("-", "").isdigit())


def test_the_guides_nine_digit_typo_is_not_a_phone_number():
    assert normalize_phone("999-999-999") is None


@given(area, exchange, line, st.integers(1, 99999).map(str))
def test_an_extension_written_after_the_number_is_the_extension(a, e, n, ext):
    for written in (f"{a}-{e}-{n} x{ext}", f"({a}) {e}-{n} ext. {ext}",
                    f"{a}.{e}.{n}, Extension {ext}", f"{a}{e}{n}#{ext}", f"{a}-{e}-{n}X{ext}"):
        assert normalize_phone(written) == f"{a}-{e}-{n}"
        assert split_phone(written)[1] == ext


def _with_macros():
    """A DuckDB connection with the warehouse's macros, to compare with the Python."""
    import duckdb

    from ccreview.transforms.warehouse import SQL_MACROS

    con = duckdb.connect()
    for macro in SQL_MACROS:
        con.execute(macro)
    return con


_PHONE_TEXT = st.one_of(
    st.text(max_size=24),
    st.text(alphabet="0123456789 ()-.+xXet#,;", max_size=24),
    st.builds(lambda a, e, n, tail: f"{a}-{e}-{n}{tail}", area, exchange, line,
              st.sampled_from(["", " x12", " ext. 7", "#99", " ext", " x", "x1234567"])))


@given(st.lists(_PHONE_TEXT, min_size=1, max_size=20).map(
    lambda v: [*v, "\u0664\u0668\u0660-555-0111", "480-555-0111 x\u0661\u0662"]))
def test_the_warehouse_reads_a_phone_number_as_the_contract_does(values):
    """The staging's macros (made from the same patterns) and the contract's Python agree
    on every string: the number, and the extension."""
    con = _with_macros()
    got = con.execute("select nanp_phone(v), phone_extension_part(v) from "
                      "unnest(?::varchar[]) with ordinality as t(v, i) order by i",
                      [values]).fetchall()
    assert got == [(normalize_phone(v), split_phone(v)[1]) for v in values]


@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1),
                    timezones=st.just(dt.UTC)))
def test_filetime_round_trips_to_the_microsecond(value):
    assert filetime_to_datetime(datetime_to_filetime(value)) == value


def test_filetime_never_sentinels_are_not_dates():
    for never in (*FILETIME_NEVER, "", None, "0"):
        assert filetime_to_datetime(never) is None


@given(st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_export_date_formats_parse_to_the_same_instant(value):
    value = value.replace(microsecond=0)
    hour12 = value.hour % 12 or 12
    ampm = "AM" if value.hour < 12 else "PM"
    us = (f"{value.month}/{value.day}/{value.year} {hour12}:{value.minute:02d}:"
          f"{value.second:02d} {ampm}")
    assert parse_datetime(us) == value
    assert parse_datetime(value.isoformat() + "Z") == value
    assert parse_datetime(value.strftime("%Y-%m-%d %H:%M:%S")) == value


def test_graph_never_is_not_a_date():
    assert parse_datetime("0001-01-01T00:00:00Z") is None
    assert parse_datetime("") is None


@given(st.lists(st.one_of(st.text(max_size=24), st.emails(),
                          st.text(alphabet="ab.@-_ \t\u00a0\u0661", max_size=16)),
                min_size=1, max_size=20).map(
    lambda v: [*v, "\ta@b.co", " a@b.co\n", "\x0ba@b.co", "\u00a0a@b.co",
               "a\u00a0b@c.co"]))
def test_the_warehouse_reads_an_email_address_as_the_contract_does(values):
    con = _with_macros()
    got = con.execute("select coalesce(valid_email(v), false) from unnest(?::varchar[]) "
                      "with ordinality as t(v, i) order by i", [values]).fetchall()
    assert [g for (g,) in got] == [is_valid_email(v) for v in values]


@given(st.lists(st.one_of(st.text(max_size=16), st.text(alphabet="0123456789 -.\t", max_size=16),
                          nine_digits.map(lambda d: f"{d[:3]}-{d[3:6]}-{d[6:]}3")),
                min_size=1, max_size=20).map(lambda v: [*v, " 123 456 7893\n", "123.456.7893"]))
def test_the_warehouse_reads_an_npi_as_the_contract_does(values):
    """An NPI written with spaces, hyphens or dots is its ten digits, in the contract's
    check and in staging alike."""
    con = _with_macros()
    got = con.execute("select npi_digits(v) from unnest(?::varchar[]) with ordinality "
                      "as t(v, i) order by i", [values]).fetchall()
    assert [g for (g,) in got] == [normalize_npi(v) for v in values]
    assert normalize_npi(" 123 456 7893\n") == "1234567893" and is_valid_npi("1234567893")


_DN_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.tuples(st.sampled_from(["CN", "OU", "DC", "dc", " DC", "Dc "]),
                       st.text(alphabet="abZ9- \t\\,\u00e9", max_size=6)),
             max_size=5).map(lambda parts: ",".join(f"{k}={v}" for k, v in parts)))


@given(st.lists(st.tuples(st.one_of(st.none(), st.text(alphabet="ab-_ \t\u00e9", max_size=6)),
                          st.one_of(st.none(), _DN_TEXT)), min_size=1, max_size=20).map(
    lambda v: [*v, ("svc", "CN=Scan\\, Svc,OU=S, DC=cc ,DC=Example,dc=org"), (" ", "DC=a"),
               ("x", "DC=,DC= b\t")]))
def test_the_warehouse_makes_the_implicit_upn_as_the_contract_does(pairs):
    con = _with_macros()
    got = con.execute("select implicit_upn(p[1], p[2]) from unnest(?::varchar[][]) "
                      "with ordinality as t(p, i) order by i",
                      [[list(p) for p in pairs]]).fetchall()
    assert [g for (g,) in got] == [implicit_upn(s, d) for s, d in pairs]


def test_the_implicit_upn_is_the_lan_id_at_the_dns_domain():
    assert implicit_upn("svc-scan", "CN=Scan\\, Svc,OU=Service, DC=cc ,DC=example,DC=org") \
        == "svc-scan@cc.example.org"
    assert implicit_upn("svc", "CN=Scan,OU=Service") is None  # no domain
    assert implicit_upn("", "DC=cc,DC=org") is None
    assert implicit_upn(None, "DC=cc,DC=org") is None
    assert implicit_upn("svc", float("nan")) is None  # a frame's missing value


@given(st.lists(st.one_of(st.text(alphabet="MDNPAOmdnpaoSurgery Schdl.\t\n\u00e9-,", max_size=20),
                          st.sampled_from(["M.D.", " n.p. ", "Surgery  Scheduler", "PA-C"])),
                min_size=1, max_size=20))
def test_the_warehouse_compares_a_suffix_as_the_contract_does(values):
    """`M.D.` is MD, in the enrollment reader's check and in int_members' policy join."""
    con = _with_macros()
    got = con.execute("select suffix_key(v) from unnest(?::varchar[]) with ordinality "
                      "as t(v, i) order by i", [values]).fetchall()
    assert [g for (g,) in got] == [suffix_key(v) for v in values]
    assert suffix_key(" M. D.\t") == suffix_key("md") == "md"
    assert suffix_key("Surgery  Scheduler") == suffix_key("surgery scheduler")
