"""Failure notices go out through a Prefect notification block to a real (local) webhook:
the run, the stage and the stages' states, never data."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

import ccreview.flows.access_review as flow_module
from tests.conftest import SAMPLE

pytestmark = pytest.mark.flow


@pytest.fixture()
def webhook():
    """A webhook receiver on 127.0.0.1: the bodies it was sent."""
    received: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def _config(tmp_path, block: str):
    path = tmp_path / "review.toml"
    path.write_text(f'[notifications]\nfailure_block = "{block}"\n', encoding="utf-8")
    return str(path)


def test_a_failed_run_sends_a_notice_without_data(prefect_harness, tmp_path, webhook,
                                                  monkeypatch):
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    url, received = webhook
    CustomWebhookNotificationBlock(
        name="ccreview failures", url=url,
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
    ).save("ccreview-failures-test", overwrite=True)

    def boom(*args, **kwargs):
        raise ValueError("could not convert jane.doe@example.org")  # data in the message

    monkeypatch.setattr(flow_module, "build_models", boom)
    with pytest.raises(flow_module.StageError):
        flow_module.access_review(str(SAMPLE), str(tmp_path / "out"), "2026-11-01",
                                  _config(tmp_path, "custom-webhook/ccreview-failures-test"))
    assert len(received) == 1
    notice = received[0]
    assert notice["subject"] == "ccreview: access-review 2026-11-01 failed (transform)"
    body = notice["body"]
    assert "the transform stage failed (ValueError)" in body
    assert "ingest completed" in body and "transform failed" in body
    assert "jane.doe" not in body and "example.org" not in body
    assert str(SAMPLE) in body  # where, so the reader knows which run


def test_a_run_without_a_notice_block_or_with_a_broken_one_still_fails_plainly(
        prefect_harness, tmp_path, monkeypatch, webhook):
    _, received = webhook

    def boom(*args, **kwargs):
        raise ValueError("x")

    monkeypatch.setattr(flow_module, "build_models", boom)
    with pytest.raises(flow_module.StageError):  # the block does not exist: logged only
        flow_module.access_review(str(SAMPLE), str(tmp_path / "out"), "2026-11-01",
                                  _config(tmp_path, "custom-webhook/no-such-block"))
    assert received == []


def test_the_failure_message_names_stages_and_keeps_our_reasons():
    from prefect.states import Failed

    from ccreview.core.errors import UsageError
    from ccreview.flows.notify import failure_message

    state = Failed(data=UsageError("Active Directory accounts fell from 254 to 5 since the "
                                   "previous run"))
    subject, body = failure_message(
        "dormant-accounts", "dormant-accounts 2026-11-30", {"out_dir": "/data/out"}, state,
        [("ingest", "Completed"), ("validate", "Completed")])
    assert subject == ("ccreview: dormant-accounts 2026-11-30 failed "
                       "(the checks before the stages)")
    assert "fell from 254 to 5" in body and "Output folder: /data/out" in body
    state = Failed(data=KeyError("mrn 12345"))
    _, body = failure_message("daily-census", "daily-census 2026-11-30", {}, state,
                              [("render", "Completed"), ("render", "Failed")])
    assert "Reason: KeyError" in body and "12345" not in body
    assert "Stages: render completed, failed" in body
