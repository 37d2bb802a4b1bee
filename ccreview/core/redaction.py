"""A logging filter that keeps personal data out of every log line, as a second line of
defence: the code logs counts and file names only, and this filter masks anything that
still looks like an email address, a phone number, an NPI or MRN-like number, or a date of
birth as each record is created, before any handler (console, file, Prefect's API) sees
it."""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"), "[email]"),
    (re.compile(r"(?<!\d)(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]\d{4}(?!\d)"), "[phone]"),
    (re.compile(r"(?<![\d.])\d{9,10}(?![\d.])"), "[number]"),
    (re.compile(r"(?<!\d)(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(?!\d)"),
     "[date]"),
)


def redact(text: str) -> str:
    for pattern, mask in _PATTERNS:
        text = pattern.sub(mask, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (arguments merged) with personal data masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep only its format string
            message = str(record.msg)
        record.msg, record.args = redact(message), ()
        if record.exc_info and getattr(record.exc_info[1], "one_line", False):
            # our own one-line errors (usage errors, a failed stage): the message is all
            record.exc_info, record.exc_text = None, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_installed = False


def install() -> None:
    """Redact every log record as it is created, whichever logger and handler (console,
    file, Prefect's API) it goes to. Idempotent."""
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()
    masker = RedactingFilter()

    def redacting_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        masker.filter(record)
        return record

    logging.setLogRecordFactory(redacting_record)
    _installed = True
