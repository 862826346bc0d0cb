"""Unit tests of the live tests' own SSE reader (agui_client.AguiStream), fed byte chunks as a network would
cut them. No deployment needed."""

import json
import time

import pytest

from agui_client import AguiStream
from agui_verify import AGUIError


class FakeRaw:
    def __init__(self, chunks):
        self.chunks = list(chunks)

    def read1(self, amount):
        return self.chunks.pop(0) if self.chunks else b""


class FakeResponse:
    def __init__(self, chunks, status=200, content_type="text/event-stream"):
        self.status_code = status
        self.headers = {"Content-Type": content_type}
        self.raw = FakeRaw(chunks)
        self.content = b""

    def close(self):
        pass


def event(type_, seq, **fields):
    now = int(time.time() * 1000)
    herald = {"seq": seq, "epoch": "ep_1", "event_id": f"ev{seq}", "run_id": "r1", "thread_id": "t1"}
    return {"type": type_, "timestamp": now, "metadata": {"herald": herald}, **fields}


def good_run():
    return [
        event("RUN_STARTED", 1, threadId="t1", runId="r1"),
        event("TEXT_MESSAGE_START", 2, messageId="m1", role="assistant"),
        event("TEXT_MESSAGE_CONTENT", 2, messageId="m1", delta="Grüße, "),
        event("TEXT_MESSAGE_CONTENT", 3, messageId="m1", delta="world ✓"),
        event("TEXT_MESSAGE_END", 4, messageId="m1"),
        event("RUN_FINISHED", 5, threadId="t1", runId="r1"),
    ]


def sse(events, newline=b"\n"):
    return b"".join(b"data: " + json.dumps(e, ensure_ascii=False).encode() + newline + newline for e in events)


def cut(data: bytes, size: int):
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
@pytest.mark.parametrize("size", [1, 2, 7, 10_000])
def test_reads_events_whatever_the_chunks(newline, size):
    stream = AguiStream(FakeResponse(cut(sse(good_run(), newline), size)), started=time.monotonic())
    events = stream.read_to_end()
    assert [e["type"] for e in events] == [e["type"] for e in good_run()]
    assert stream.text() == "Grüße, world ✓"
    assert stream.ended


def test_comments_event_names_and_multiline_data():
    run = good_run()
    body = b": keep-alive\n\n" + b"event: message\n" + b"data: " + json.dumps(run[0]).encode() + b"\n\n"
    text = json.dumps(run[1], indent=1).encode()  # JSON over several data lines, joined with "\n"
    body += b"".join(b"data: " + line + b"\n" for line in text.split(b"\n")) + b"\n"
    body += b"data:" + json.dumps(run[2]).encode() + b"\n\n"  # no space after the colon
    body += sse(run[3:])
    stream = AguiStream(FakeResponse([body]), started=time.monotonic())
    assert [e["type"] for e in stream.read_to_end()] == [e["type"] for e in run]
    assert stream.event_fields[0] == "message"


def test_checks_run_on_every_event():
    run = good_run()
    bad_order = run[:1] + run[2:]  # content before its start
    with pytest.raises(AGUIError, match="No active text message found with ID 'm1'"):
        AguiStream(FakeResponse([sse(bad_order)]), started=time.monotonic()).read_to_end()
    with pytest.raises(AGUIError, match="ended without 'RUN_FINISHED' or 'RUN_ERROR'"):
        AguiStream(FakeResponse([sse(run[:-1])]), started=time.monotonic()).read_to_end()
    no_metadata = [dict(e) for e in run]
    del no_metadata[1]["metadata"]
    with pytest.raises(AssertionError, match="no metadata.herald"):
        AguiStream(FakeResponse([sse(no_metadata)]), started=time.monotonic()).read_to_end()
    no_seq = [json.loads(json.dumps(e)) for e in run]
    del no_seq[1]["metadata"]["herald"]["seq"]
    with pytest.raises(AssertionError, match=r"lacks \['seq'\]"):
        AguiStream(FakeResponse([sse(no_seq)]), started=time.monotonic()).read_to_end()
    float_time = [dict(e) for e in run]
    float_time[0]["timestamp"] = 1.5
    with pytest.raises(Exception):
        AguiStream(FakeResponse([sse(float_time)]), started=time.monotonic()).read_to_end()
    seq_back = [json.loads(json.dumps(e)) for e in run]
    seq_back[4]["metadata"]["herald"]["seq"] = 1
    seq_back[4]["metadata"]["herald"]["event_id"] = "ev1"
    with pytest.raises(AssertionError, match="seq goes back"):
        AguiStream(FakeResponse([sse(seq_back)]), started=time.monotonic()).read_to_end()


def test_sdk_rejects_what_is_not_an_event():
    from pydantic import ValidationError

    run = good_run()
    run[1] = event("TEXT_MESSAGE_START", 2, role="assistant")  # no messageId
    with pytest.raises(ValidationError):
        AguiStream(FakeResponse([sse(run)]), started=time.monotonic()).read_to_end()
    run = good_run()
    run[1] = event("TEXT_MESSAGE_BEGIN", 2, messageId="m1")
    with pytest.raises(AssertionError, match="not an AG-UI 1.0 event type"):
        AguiStream(FakeResponse([sse(run)]), started=time.monotonic()).read_to_end()


def test_an_error_answer_is_no_stream():
    stream = AguiStream(FakeResponse([b""], status=409, content_type="application/json"), started=time.monotonic())
    with pytest.raises(AssertionError, match="no event stream: HTTP 409"):
        stream.read_to_end()
