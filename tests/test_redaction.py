"""The log filter masks personal data that would otherwise reach a log line."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from ccreview.core.redaction import RedactingFilter, install, redact


def test_personal_data_is_masked():
    line = ("jane.doe@desertfm.example called (602) 555-0142 about NPI 1234567893, "
            "born 19700214; 12 files read")
    assert redact(line) == ("[email] called [phone] about NPI [number], born [date]; "
                            "12 files read")


def test_counts_and_file_names_survive():
    line = "ingested 16 files (2 ignored, 14 read), 4347 rows; enrollment/submissions_001.json"
    assert redact(line) == line


@given(st.from_regex(r"[a-z]{1,8}\.[a-z]{1,8}@[a-z]{2,8}\.(com|org|net)", fullmatch=True))
def test_any_email_is_masked(email):
    assert email not in redact(f"user {email} is dormant")


def test_every_logger_is_redacted_once_installed(caplog):
    install()
    install()  # idempotent
    for name in ("ccreview.contracts.ingest", "ccreview.flows.access_review", "some.library"):
        with caplog.at_level(logging.INFO, logger=name):
            logging.getLogger(name).warning("recipient %s removed", "alan.turing@clinic.example")
    assert "alan.turing" not in caplog.text
    assert caplog.text.count("[email]") == 3


def test_filter_merges_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "call %s", ("602-555-0100",),
                               None)
    RedactingFilter().filter(record)
    assert record.getMessage() == "call [phone]"
