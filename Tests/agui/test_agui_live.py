"""Herald's AG-UI endpoint from the outside, against a running deployment (HERALD_URL; guest mode, offline model).

Each test sends a RunAgentInput to `POST /agui` the way `HttpAgent` does and reads the `text/event-stream` as
it comes. Every event must validate with the official Python SDK's model (`ag-ui-protocol`), carry
`timestamp` and `metadata.herald` {seq, epoch, event_id, run_id, thread_id}, and the stream must pass the
port of the TypeScript client's ordering checks (agui_verify.py), end-of-stream check included. The same
run is watched over Herald's own `/ws` (same guest, `resume` from seq 0) and the two must agree: text,
thoughts, tool calls and results, steps, report, outcome, and each AG-UI event's Herald event and emit time.

The contract is docs/agui.md; DESIGN.md section 8.
"""

import hashlib
import json
import time
import uuid
from urllib.parse import quote

import pytest
from ag_ui.core import RunAgentInput

from agui_client import (
    HANDED_TO_CLIENT,
    AguiStream,
    WsWatcher,
    compare_with_ws,
    get_agui,
    new_guest_token,
    post_agui,
    requires_deployment,
    run_input,
    ws_send,
)

pytestmark = requires_deployment


def start_run(text, *, token=None, thread_id=None, run_id=None):
    body = run_input(text, thread_id=thread_id, run_id=run_id)
    stream = post_agui(body, token=token)
    assert stream.status == 200 and stream.is_event_stream, f"POST /agui: {stream.describe()}"
    assert token or stream.guest_token, "a request without a token in guest mode gets X-Herald-Guest-Token"
    return stream, body, token or stream.guest_token


def watch_over_ws(stream: AguiStream, token: str) -> WsWatcher:
    first = stream.events[0]["metadata"]["herald"]
    watcher = WsWatcher(token, first["thread_id"], first["run_id"])
    watcher.start()
    return watcher


def run_and_compare(text):
    """Runs `text` over /agui while /ws watches the same run; checks they agree; returns the stream."""
    stream, _, _ = post_and_compare(run_input(text))
    return stream


def post_and_compare(body, *, token=None, client_tools=()):
    """POSTs `body` while /ws watches the run it starts; checks they agree; returns (stream, /ws events, token)."""
    stream = post_agui(body, token=token)
    assert stream.status == 200 and stream.is_event_stream, f"POST /agui: {stream.describe()}"
    assert token or stream.guest_token, "a request without a token in guest mode gets X-Herald-Guest-Token"
    token = token or stream.guest_token
    first = stream.read_until(lambda e: True, timeout=30)
    assert first["type"] == "RUN_STARTED", f"the first event is {first['type']}"
    watcher = watch_over_ws(stream, token)  # live, while the run goes on
    stream.read_to_end(timeout=60)
    ws_events = watcher.result()
    check_ids(stream, body)
    compare_with_ws(stream, ws_events, body["threadId"], body["runId"], client_tools=client_tools)
    return stream, ws_events, token


def check_ids(stream: AguiStream, body):
    """A uuid is a Herald id as it is: the run and thread are the client's own."""
    herald = stream.herald(0)
    assert herald["thread_id"] == body["threadId"], herald
    assert herald["run_id"] == body["runId"], herald


def finished(stream: AguiStream, outcome="success"):
    last = stream.events[-1]
    assert last["type"] == "RUN_FINISHED", f"the stream ends with {stream.types()[-3:]}"
    assert (last.get("outcome") or {}).get("type", "success") == outcome, last
    return last


# ----------------------------------------------------------------------------------------- the offline model's runs

def test_calculator():
    stream = run_and_compare("what is (17*3)+4?")
    finished(stream)
    calls = stream.tool_calls()
    assert [c["name"] for c in calls] == ["calculator"], calls
    assert calls[0]["arguments"] == {"expression": "(17*3)+4"}
    assert calls[0]["result"]["value"] == 55, calls[0]
    assert "55" in stream.text()


def test_clock():
    stream = run_and_compare("what time is it?")
    finished(stream)
    calls = stream.tool_calls()
    assert [c["name"] for c in calls] == ["clock"], calls
    assert "time" in calls[0]["result"], calls[0]
    assert calls[0]["result"]["time"] in stream.text()


def test_several_tools_in_order():
    stream = run_and_compare("what is 2+2 and what time is it?")
    finished(stream)
    calls = stream.tool_calls()
    assert [c["name"] for c in calls] == ["calculator", "clock"], calls
    # Each call is whole (START, ARGS, END) and has its result before the next starts.
    order = [(e["type"], e.get("toolCallId")) for e in stream.events if e["type"].startswith("TOOL_CALL_")]
    first, second = calls[0]["id"], calls[1]["id"]
    assert order == [("TOOL_CALL_START", first), ("TOOL_CALL_ARGS", first), ("TOOL_CALL_END", first),
                     ("TOOL_CALL_RESULT", first), ("TOOL_CALL_START", second), ("TOOL_CALL_ARGS", second),
                     ("TOOL_CALL_END", second), ("TOOL_CALL_RESULT", second)], order
    assert "2+2 = 4" in stream.text()


def test_division_by_zero_is_a_tool_error_not_a_run_error():
    stream = run_and_compare("what is 1/0?")
    finished(stream)
    calls = stream.tool_calls()
    assert [c["name"] for c in calls] == ["calculator"], calls
    assert calls[0]["result"]["status"] == "error", calls[0]
    assert "division by zero" in calls[0]["result"]["error"], calls[0]
    assert "division by zero" in stream.text()


def test_streamed_direct_answer():
    stream = run_and_compare("hello there")
    finished(stream)
    assert not stream.tool_calls()
    assert stream.text().startswith("Hello!"), stream.text()
    assert len(stream.of_type("TEXT_MESSAGE_CONTENT")) >= 2, "the answer comes in pieces as it is written"
    assert len(stream.of_type("TEXT_MESSAGE_START")) == len(stream.of_type("TEXT_MESSAGE_END")) == 1
    # The events arrived as they happened, not all at once at the end.
    assert stream.arrival[-1] - stream.arrival[0] > 0.05, stream.arrival


# ----------------------------------------------------------------------------------------- cancel

def test_cancel_over_ws_ends_the_stream_as_cancelled():
    stream, body, token = start_run("wait 30 seconds")
    call = stream.read_until(lambda e: e["type"] == "TOOL_CALL_START" and e["toolCallName"] == "wait", timeout=30)
    herald_run = call["metadata"]["herald"]["run_id"]
    cancelled_at = time.monotonic()
    ws_send(token, {"type": "cancel_run", "run_id": herald_run})
    stream.read_to_end(timeout=15)
    took = time.monotonic() - cancelled_at
    assert took < 5, f"the stream ended {took:.1f}s after cancel_run"
    finished(stream, outcome="cancelled")
    results = [c["result"] for c in stream.tool_calls() if c["name"] == "wait"]
    assert len(results) == 1 and isinstance(results[0], dict) and results[0].get("status") == "cancelled", \
        f"the wait's TOOL_CALL_RESULT: {results}"
    # /ws shows the same run, ended the same way.
    compare_with_ws(stream, watch_over_ws(stream, token).result(), body["threadId"], body["runId"])


# ----------------------------------------------------------------------------------------- reconnect

RECONNECT_QUESTION = "wait 3 seconds and then tell me what is 6*7"


def test_reconnect_with_get_streams_the_run_from_its_start():
    stream, body, token = start_run(RECONNECT_QUESTION)
    stream.read_until(lambda e: e["type"] == "TOOL_CALL_START", timeout=30)
    before = list(stream.events)
    stream.close()  # the client goes away; the run goes on

    again = get_agui(body["threadId"], token=token)
    assert again.status == 200 and again.is_event_stream, f"GET /agui/{{threadId}} during the run: {again.describe()}"
    again.read_to_end(timeout=60)
    assert again.events[0]["type"] == "RUN_STARTED"
    assert again.events[: len(before)] == before, "the re-attached stream starts with the very events the first one had"
    finished(again)
    check_ids(again, body)
    compare_with_ws(again, watch_over_ws(again, token).result(), body["threadId"], body["runId"])
    assert "6*7 = 42" in again.text(), again.text()

    # An unbroken stream of an identical run ends in the same messages.
    unbroken, _, _ = start_run(RECONNECT_QUESTION, token=token)
    unbroken.read_to_end(timeout=60)
    finished(unbroken)
    assert unbroken.text() == again.text()
    strip = lambda calls: [(c["name"], c["arguments"], c["result"]) for c in calls]
    assert strip(unbroken.tool_calls()) == strip(again.tool_calls())

    # The run is over: nothing to re-attach to.
    idle = get_agui(body["threadId"], token=token)
    assert idle.status == 204, f"GET /agui/{{threadId}} with no active run: {idle.describe()}"
    assert not idle.is_event_stream


def test_post_of_the_active_run_again_reattaches():
    stream, body, token = start_run("wait 2 seconds and then tell me what is 2+3")
    stream.read_until(lambda e: e["type"] == "TOOL_CALL_START", timeout=30)
    before = list(stream.events)
    stream.close()

    retry = post_agui(body, token=token)  # same threadId and runId: the run it started, not 409
    assert retry.status == 200 and retry.is_event_stream, f"POST of the active run again: {retry.describe()}"
    retry.read_to_end(timeout=60)
    assert retry.events[: len(before)] == before
    finished(retry)
    assert "2+3 = 5" in retry.text(), retry.text()


def mapped(client_id: str) -> str:
    """docs/agui.md: an id that is not a Herald id as it is becomes `agui-` + 40 hex digits of its SHA-256."""
    return "agui-" + hashlib.sha256(client_id.encode()).hexdigest()[:40]


def test_ids_that_are_not_herald_ids_are_mapped_the_same_every_time():
    client_thread = f"support ticket #{uuid.uuid4()}"
    client_run = f"run:{uuid.uuid4()}"
    stream, body, token = start_run("what is 3*3?", thread_id=client_thread, run_id=client_run)
    stream.read_to_end(timeout=60)
    last = finished(stream)
    herald = stream.herald(0)
    assert herald["thread_id"] == mapped(client_thread), herald
    assert herald["run_id"] == mapped(client_run), herald
    # Events carry the client's ids, metadata.herald Herald's.
    first = stream.events[0]
    assert first["threadId"] == client_thread and first["runId"] == client_run, first
    assert last["threadId"] == client_thread and last["runId"] == client_run, last

    second, _, _ = start_run("what is 1+2?", token=token, thread_id=client_thread)
    second.read_to_end(timeout=60)
    finished(second)
    assert second.herald(0)["thread_id"] == herald["thread_id"], "the same client thread id, the same Herald thread"


def test_reconnect_with_get_of_a_mapped_thread_id():
    client_thread = f"support ticket #{uuid.uuid4()}"  # spaces and '#': percent-encoded in the path
    stream, body, token = start_run("wait 2 seconds and then tell me what is 3*3", thread_id=client_thread)
    stream.read_until(lambda e: e["type"] == "TOOL_CALL_START", timeout=30)
    stream.close()

    again = get_agui(client_thread, token=token)
    assert again.status == 200 and again.is_event_stream, \
        f"GET /agui/{quote(client_thread, safe='')} (Herald thread {mapped(client_thread)}) during the run: {again.describe()}"
    again.read_to_end(timeout=60)
    last = finished(again)
    assert last["threadId"] == client_thread, last
    assert {e["threadId"] for e in again.events if "threadId" in e} == {client_thread}


def test_user_message_as_text_parts():
    body = run_input("x")
    body["messages"] = [{"id": str(uuid.uuid4()), "role": "user",
                         "content": [{"type": "text", "text": "what is"}, {"type": "text", "text": "(17*3)+4?"}]}]
    stream = post_agui(body)
    assert stream.status == 200 and stream.is_event_stream, f"POST /agui: {stream.describe()}"
    stream.read_to_end(timeout=60)
    finished(stream)
    assert [c["name"] for c in stream.tool_calls()] == ["calculator"], stream.tool_calls()
    assert "55" in stream.text()


# ----------------------------------------------------------------------------------------- front-end tools

BOOKING_TOOL = {
    "name": "confirm_booking",
    "description": "Asks the user to confirm a booking on a date; answers what the user decided.",
    "parameters": {"type": "object", "properties": {"date": {"type": "string"}}},
}
BOOKING_REQUEST = 'use confirm_booking with {"date": "2026-12-24"}'
BOOKING_RESULT = "booked for the 24th"


def hand_over_booking():
    """A run whose model calls the front-end tool: (stream, its body, the guest's token, /ws events)."""
    body = run_input(BOOKING_REQUEST, tools=[BOOKING_TOOL])
    stream, ws_events, token = post_and_compare(body, client_tools=[BOOKING_TOOL["name"]])
    return stream, body, token, ws_events


def test_front_end_tool_call_is_handed_to_the_client():
    stream, body, token, ws_events = hand_over_booking()
    finished(stream)
    assert not stream.of_type("TOOL_CALL_RESULT"), "the client runs a front-end tool: no TOOL_CALL_RESULT"
    starts = stream.of_type("TOOL_CALL_START")
    assert [s["toolCallName"] for s in starts] == ["confirm_booking"], starts
    call_id = starts[0]["toolCallId"]
    args = stream.of_type("TOOL_CALL_ARGS")
    assert [a["toolCallId"] for a in args] == [call_id], args
    assert json.loads(args[0]["delta"]) == {"date": "2026-12-24"}, args[0]
    assert [e["toolCallId"] for e in stream.of_type("TOOL_CALL_END")] == [call_id]
    order = [(e["type"], e["toolCallId"]) for e in stream.events if e["type"].startswith("TOOL_CALL_")]
    assert order == [("TOOL_CALL_START", call_id), ("TOOL_CALL_ARGS", call_id), ("TOOL_CALL_END", call_id)], order

    # /ws shows the call paired like any other, with the handover as its result.
    executing = [e["payload"] for e in ws_events if e["type"] == "tool_executing"]
    completed = [e["payload"] for e in ws_events if e["type"] == "tool_completed"]
    assert [(p["tool_call_id"], p["tool_name"], p["arguments"]) for p in executing] == \
        [(call_id, "confirm_booking", {"date": "2026-12-24"})], executing
    assert [(p["tool_call_id"], p["status"], p.get("result")) for p in completed] == \
        [(call_id, "success", HANDED_TO_CLIENT)], completed


def continuation(body, call_id, arguments, result=BOOKING_RESULT, run_id=None):
    """The client's next RunAgentInput after running the tool: the same thread and tools, a new run, the
    messages so far (the user's, the assistant's call) ending with the tool's result."""
    following = run_input("x", thread_id=body["threadId"], run_id=run_id, tools=body["tools"])
    following["messages"] = [
        body["messages"][0],
        {"id": str(uuid.uuid4()), "role": "assistant",
         "toolCalls": [{"id": call_id, "type": "function",
                        "function": {"name": "confirm_booking", "arguments": arguments}}]},
        {"id": str(uuid.uuid4()), "role": "tool", "toolCallId": call_id, "content": result},
    ]
    RunAgentInput.model_validate(following)
    return following


def test_front_end_tool_result_continues_the_run():
    stream, body, token, _ = hand_over_booking()
    finished(stream)
    start = stream.of_type("TOOL_CALL_START")[0]
    arguments = "".join(e["delta"] for e in stream.of_type("TOOL_CALL_ARGS"))

    following = continuation(body, start["toolCallId"], arguments)
    assert following["runId"] != body["runId"] and following["threadId"] == body["threadId"]
    answer, _, _ = post_and_compare(following, token=token, client_tools=[BOOKING_TOOL["name"]])
    finished(answer)
    assert answer.herald(0)["thread_id"] == stream.herald(0)["thread_id"], "the same thread"
    assert answer.herald(0)["run_id"] != stream.herald(0)["run_id"], "a new run"
    assert not answer.of_type("TOOL_CALL_START"), f"the model answered from the result, yet called {answer.tool_calls()}"
    text = answer.text()
    assert BOOKING_RESULT in text, f"the answer does not state the tool's result: {text!r}"
    assert "confirm_booking" in text, f"the answer does not name the tool: {text!r}"


# ----------------------------------------------------------------------------------------- errors before the stream

def assert_error(stream: AguiStream, status: int, code: str):
    assert stream.status == status, f"expected {status} {code}, got {stream.describe()}"
    assert not stream.is_event_stream, "an error before the stream is not a text/event-stream"
    assert stream.content_type.split(";")[0].strip() == "application/json", stream.content_type
    body = stream.json_body()
    assert body.get("error") == code and isinstance(body.get("message"), str), body
    return body


def _input(**changes):
    body = run_input("what is 1+1?")
    body.update(changes)
    return body


@pytest.mark.parametrize("data", [
    pytest.param(b'{"threadId": "t", "runId": ', id="malformed-json"),
    pytest.param(b"not json at all", id="not-json"),
    pytest.param(b"[1, 2, 3]", id="json-array"),
    pytest.param(json.dumps({"threadId": str(uuid.uuid4())}).encode(), id="not-a-run-agent-input"),
    pytest.param(json.dumps(_input(messages=[])).encode(), id="no-messages"),
    pytest.param(json.dumps(_input(messages=[{"id": "m1", "role": "assistant", "content": "hi"}])).encode(), id="no-user-message"),
    pytest.param(json.dumps(_input(messages=[{"id": "m1", "role": "user", "content": ""}])).encode(), id="user-message-without-text"),
    pytest.param(json.dumps(_input(threadId="")).encode(), id="empty-thread-id"),
    pytest.param(json.dumps(_input(threadId="t" * 129)).encode(), id="thread-id-over-128"),
    pytest.param(json.dumps(_input(threadId="tab\there")).encode(), id="thread-id-not-printable"),
    pytest.param(json.dumps(_input(threadId="thread-é")).encode(), id="thread-id-not-ascii"),
    pytest.param(json.dumps(_input(runId="")).encode(), id="empty-run-id"),
    pytest.param(json.dumps(_input(messages=[
        {"id": "m1", "role": "user", "content": BOOKING_REQUEST},
        {"id": "m2", "role": "tool", "content": BOOKING_RESULT}])).encode(), id="tool-message-without-tool-call-id"),
    pytest.param(json.dumps(_input(messages=[
        {"id": "m1", "role": "user", "content": BOOKING_REQUEST},
        {"id": "m2", "role": "tool", "toolCallId": "", "content": BOOKING_RESULT}])).encode(),
        id="tool-message-with-empty-tool-call-id"),
])
def test_bad_request_is_400(data):
    assert_error(post_agui(data=data), 400, "bad_request")


@pytest.mark.parametrize("chars", [
    pytest.param(4 << 20, id="body-over-the-limit"),  # well over HERALD_MAX_REQUEST_BYTES (default 1 MiB)
    pytest.param(500_000, id="message-over-the-limit"),  # a body under 1 MiB, a message over HERALD_MAX_MESSAGE_CHARS
])
def test_too_large_is_413(chars):
    assert_error(post_agui(run_input("what is 1+1? " + "z" * chars)), 413, "too_large")


def test_someone_elses_thread_is_404():
    owner, body, token = start_run("hello there")
    owner.read_to_end(timeout=60)
    finished(owner)
    stranger = new_guest_token()
    assert stranger != token
    answer = post_agui(run_input("what is 1+1?", thread_id=body["threadId"]), token=stranger)
    assert_error(answer, 404, "not_found")
    peek = get_agui(body["threadId"], token=stranger)
    assert peek.status != 200 and not peek.is_event_stream, f"GET of someone else's thread: {peek.describe()}"


def test_second_run_on_a_busy_thread_is_409_and_strangers_get_404():
    stream, body, token = start_run("wait 20 seconds")
    call = stream.read_until(lambda e: e["type"] == "TOOL_CALL_START", timeout=30)
    herald_run = call["metadata"]["herald"]["run_id"]
    try:
        busy = post_agui(run_input("what is 1+1?", thread_id=body["threadId"]), token=token)
        error = assert_error(busy, 409, "thread_busy")
        assert error.get("ref") == herald_run, error

        stranger = new_guest_token()
        assert_error(post_agui(run_input("what is 1+1?", thread_id=body["threadId"]), token=stranger), 404, "not_found")
        peek = get_agui(body["threadId"], token=stranger)
        assert peek.status == 404 and not peek.is_event_stream, \
            f"GET of someone else's thread with an active run: {peek.describe()}"
        # The same run again by someone else is no way in either.
        assert_error(post_agui(body, token=stranger), 404, "not_found")
    finally:
        ws_send(token, {"type": "cancel_run", "run_id": herald_run})
    stream.read_to_end(timeout=15)
    finished(stream, outcome="cancelled")
