"""An outside AG-UI client of Herald, for the live tests: POST /agui (or GET /agui/{threadId}), read the
`text/event-stream` as it comes, parse every event with the official Python SDK (`ag-ui-protocol`, the
pydantic model of its `type`), check Herald's `metadata.herald`, and run the stream through the port of the
TypeScript client's ordering checks (agui_verify.py). Also a watcher of the same thread over Herald's own
`/ws` (subprotocol `herald.v1`), to compare what the two show of one run.

docs/agui.md is the contract these helpers follow.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import threading
import time
import uuid
from datetime import datetime
from typing import Any, Collection, Iterator, Optional
from urllib.parse import quote, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import requests

from agui_verify import EventVerifier

HERALD_URL = os.environ.get("HERALD_URL", "")
GUEST_TOKEN_HEADER = "X-Herald-Guest-Token"
_LINE_END = re.compile(r"\r\n|\r|\n")
HERALD_METADATA_KEYS = ("seq", "epoch", "event_id", "run_id", "thread_id")

requires_deployment = pytest.mark.skipif(
    not HERALD_URL,
    reason="HERALD_URL is not set: the AG-UI live tests need a running Herald in guest mode with the offline model "
    "(scripts/test.sh starts one and sets it)",
)


def base_url() -> str:
    return HERALD_URL if HERALD_URL.endswith("/") else HERALD_URL + "/"


def agui_url(thread_id: Optional[str] = None) -> str:
    if thread_id is None:
        return urljoin(base_url(), "agui")
    return urljoin(base_url(), "agui/" + quote(thread_id, safe=""))


def auth_headers(token: Optional[str]) -> dict:
    return {"Authorization": f"Bearer {token}"} if token else {}


# ----------------------------------------------------------------------------------------- the SDK's models

def _event_models() -> dict:
    """AG-UI event type → its pydantic model in `ag_ui.core` (chosen by the model's `type` literal)."""
    import ag_ui.core as core

    models = {}
    for name in dir(core):
        cls = getattr(core, name)
        if isinstance(cls, type) and issubclass(cls, core.BaseEvent) and cls is not core.BaseEvent:
            field = cls.model_fields.get("type")
            if field is not None and field.default is not None:
                models[core.EventType(field.default).value] = cls
    return models


EVENT_MODELS = _event_models()


def parse_event(event: dict):
    """The SDK model of one wire event; raises AssertionError (unknown type) or pydantic's ValidationError."""
    event_type = event.get("type")
    model = EVENT_MODELS.get(event_type)
    assert model is not None, f"not an AG-UI 1.0 event type: {event_type!r} in {event}"
    return model.model_validate(event)


def run_input(text: str, thread_id: Optional[str] = None, run_id: Optional[str] = None, **extra) -> dict:
    """A RunAgentInput the way `HttpAgent` sends one (camelCase), checked against the SDK's model."""
    from ag_ui.core import RunAgentInput

    body = {
        "threadId": thread_id or str(uuid.uuid4()),
        "runId": run_id or str(uuid.uuid4()),
        "state": {},
        "messages": [{"id": str(uuid.uuid4()), "role": "user", "content": text}],
        "tools": [],
        "context": [],
        "forwardedProps": {},
        **extra,
    }
    RunAgentInput.model_validate(body)
    return body


# ----------------------------------------------------------------------------------------- the SSE reader

class AguiStream:
    """One AG-UI answer. Iterating yields each event (a dict, as sent) once it has been parsed with the SDK,
    its `metadata.herald` checked and the ordering checks passed; `events` keeps them all."""

    def __init__(self, response: requests.Response, *, check_order: bool = True, started: float):
        self.response = response
        self.started = started
        self.events: list[dict] = []
        self.models: list = []
        self.arrival: list[float] = []  # seconds since the request, per event
        self.event_fields: list[Optional[str]] = []  # the SSE `event:` field of each, if any
        self.cancelled = False
        self.verifier = EventVerifier(is_cancelled=lambda: self.cancelled) if check_order else None
        self.ended = False  # the server ended the stream (EOF)
        self._iterator: Optional[Iterator[dict]] = None

    # -- the answer

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def content_type(self) -> str:
        return self.response.headers.get("Content-Type", "")

    @property
    def is_event_stream(self) -> bool:
        return self.content_type.split(";")[0].strip().lower() == "text/event-stream"

    @property
    def guest_token(self) -> Optional[str]:
        return self.response.headers.get(GUEST_TOKEN_HEADER)

    def json_body(self) -> Any:
        return json.loads(self.response.content)

    def describe(self) -> str:
        body = ""
        if not self.is_event_stream:
            body = self.response.content[:500].decode("utf-8", "replace")
        return f"HTTP {self.status} {self.content_type!r} {body}"

    # -- reading

    def _lines(self) -> Iterator[str]:
        """The body's lines as they arrive (CRLF, LF or CR ends a line), without waiting for more."""
        raw = self.response.raw
        decoder = codecs.getincrementaldecoder("utf-8")()
        buffer = ""
        while True:
            chunk = raw.read1(65536)  # whatever has arrived (chunked transfer included), not a full 64 KiB
            final = not chunk
            buffer += decoder.decode(chunk, final=final)
            while True:
                match = _LINE_END.search(buffer)
                if match is None:
                    break
                if match.group() == "\r" and match.end() == len(buffer) and not final:
                    break  # an LF may follow in the next chunk
                yield buffer[: match.start()]
                buffer = buffer[match.end():]
            if final:
                break
        self.ended = True
        if buffer:
            yield buffer

    def _messages(self) -> Iterator[tuple[Optional[str], str]]:
        """The SSE messages (event field, data) per the HTML event-stream rules."""
        data: list[str] = []
        event_field: Optional[str] = None
        for line in self._lines():
            if line == "":
                if data:
                    yield event_field, "\n".join(data)
                data, event_field = [], None
                continue
            if line.startswith(":"):
                continue  # a comment (keep-alive)
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "data":
                data.append(value)
            elif field == "event":
                event_field = value
        # A message not ended by a blank line is dropped (the event-stream rules); so is a partial one here.

    def _events(self) -> Iterator[dict]:
        for event_field, data in self._messages():
            try:
                event = json.loads(data)
            except json.JSONDecodeError as error:
                raise AssertionError(f"an SSE message that is not JSON: {data!r} ({error})") from None
            assert isinstance(event, dict), f"an SSE message that is not a JSON object: {data!r}"
            self.models.append(parse_event(event))
            check_herald_metadata(event)
            if self.verifier is not None:
                self.verifier.verify(event)
            self.events.append(event)
            self.arrival.append(time.monotonic() - self.started)
            self.event_fields.append(event_field)
            yield event

    def __iter__(self) -> Iterator[dict]:
        assert self.status == 200 and self.is_event_stream, f"no event stream: {self.describe()}"
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    def read_until(self, predicate, timeout: float = 30.0) -> dict:
        """Reads until an event matches; returns it. Fails when the stream ends or the time is up first."""
        deadline = time.monotonic() + timeout
        for event in self:
            if predicate(event):
                return event
            assert time.monotonic() < deadline, f"no matching event within {timeout}s; got {self.types()}"
        raise AssertionError(f"the stream ended without a matching event; got {self.types()}")

    def read_to_end(self, timeout: float = 60.0) -> list[dict]:
        """Reads until the server ends the stream, then runs the end-of-stream check (a terminal event)."""
        deadline = time.monotonic() + timeout
        for _ in self:
            assert time.monotonic() < deadline, f"the stream did not end within {timeout}s; got {self.types()}"
        if self.verifier is not None:
            self.verifier.complete()
        check_stream_consistency(self.events)
        return self.events

    def close(self) -> None:
        self.response.close()

    # -- what the stream says

    def types(self) -> list[str]:
        return [e.get("type") for e in self.events]

    def of_type(self, event_type: str) -> list[dict]:
        return [e for e in self.events if e.get("type") == event_type]

    def herald(self, index: int = 0) -> dict:
        return self.events[index]["metadata"]["herald"]

    def text(self) -> str:
        return "".join(e["delta"] for e in self.of_type("TEXT_MESSAGE_CONTENT"))

    def tool_calls(self) -> list[dict]:
        """[{id, name, arguments (parsed), result (parsed TOOL_CALL_RESULT content or None)}] in call order."""
        calls: dict[str, dict] = {}
        for e in self.events:
            t = e.get("type")
            if t == "TOOL_CALL_START":
                calls[e["toolCallId"]] = {"id": e["toolCallId"], "name": e["toolCallName"], "args": "", "result": None}
            elif t == "TOOL_CALL_ARGS":
                calls[e["toolCallId"]]["args"] += e["delta"]
            elif t == "TOOL_CALL_RESULT":
                calls.setdefault(e["toolCallId"], {"id": e["toolCallId"], "name": None, "args": "", "result": None})
                calls[e["toolCallId"]]["result"] = json.loads(e["content"])
        for call in calls.values():
            call["arguments"] = json.loads(call.pop("args")) if call["args"] else None
        return list(calls.values())


def _request(method: str, url: str, *, token: Optional[str] = None, check_order: bool = True, **kwargs) -> AguiStream:
    headers = {"Accept": "text/event-stream", **auth_headers(token), **kwargs.pop("headers", {})}
    started = time.monotonic()
    response = requests.request(method, url, headers=headers, stream=True, timeout=(10, 60), **kwargs)
    return AguiStream(response, check_order=check_order, started=started)


def post_agui(body: Any = None, *, token: Optional[str] = None, data: Optional[bytes] = None, **kwargs) -> AguiStream:
    """POST /agui with a RunAgentInput (or raw `data`); the stream is read by iterating the result."""
    if data is not None:
        return _request("POST", agui_url(), token=token, data=data, headers={"Content-Type": "application/json"}, **kwargs)
    return _request("POST", agui_url(), token=token, json=body, **kwargs)


def get_agui(thread_id: str, *, token: Optional[str] = None, **kwargs) -> AguiStream:
    """GET /agui/{threadId}: the thread's active run from its start (204 when none)."""
    return _request("GET", agui_url(thread_id), token=token, **kwargs)


# ----------------------------------------------------------------------------------------- Herald's metadata

def _is_integer(value: Any) -> bool:
    """An integer as JSON Schema (and the SDKs' `int` / zod's `.int()`) see it: 42, or 42.0."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def check_herald_metadata(event: dict) -> None:
    """Every event carries `timestamp` (ms since 1970) and `metadata.herald` {seq, epoch, event_id, run_id, thread_id}."""
    where = f"in {event.get('type')} {event}"
    timestamp = event.get("timestamp")
    assert _is_integer(timestamp), f"timestamp is not an integer {where}"
    assert abs(timestamp - time.time() * 1000) < 24 * 3600 * 1000, f"timestamp is not ms since 1970 (now) {where}"
    metadata = event.get("metadata")
    assert isinstance(metadata, dict) and isinstance(metadata.get("herald"), dict), f"no metadata.herald {where}"
    herald = metadata["herald"]
    missing = [k for k in HERALD_METADATA_KEYS if k not in herald]
    assert not missing, f"metadata.herald lacks {missing} {where}"
    assert _is_integer(herald["seq"]) and herald["seq"] >= 1, \
        f"metadata.herald.seq is not a positive integer {where}"
    for key in ("epoch", "event_id", "run_id", "thread_id"):
        assert isinstance(herald[key], str) and herald[key], f"metadata.herald.{key} is not a non-empty string {where}"


def check_stream_consistency(events: list[dict]) -> None:
    """Within one stream: one epoch, one run, one thread; seq never goes back; one Herald event (seq) ↔ one event_id."""
    if not events:
        return
    heralds = [e["metadata"]["herald"] for e in events]
    for key in ("epoch", "run_id", "thread_id"):
        values = {h[key] for h in heralds}
        assert len(values) == 1, f"metadata.herald.{key} changes within one run's stream: {values}"
    id_of_seq: dict[int, str] = {}
    seq_of_id: dict[str, int] = {}
    previous = 0
    for event, h in zip(events, heralds):
        assert h["seq"] >= previous, f"seq goes back ({previous} → {h['seq']}) at {event}"
        previous = h["seq"]
        assert id_of_seq.setdefault(h["seq"], h["event_id"]) == h["event_id"], f"seq {h['seq']} has two event ids"
        assert seq_of_id.setdefault(h["event_id"], h["seq"]) == h["seq"], f"event_id {h['event_id']} has two seqs"


# ----------------------------------------------------------------------------------------- Herald's /ws

def ws_url(token: Optional[str]) -> str:
    """Herald's /ws, with the token in the query (one of the three places /ws takes it)."""
    parts = urlsplit(urljoin(base_url(), "ws"))
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode({"token": token}) if token else "", ""))


def iso_to_ms(timestamp: str) -> int:
    return round(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)


def is_run_end(frame: dict, run_id: str) -> bool:
    return (frame.get("type") in ("agent_completed", "agent_error") and frame.get("run_id") == run_id
            and frame.get("agent_name") == "supervisor")


class WsWatcher(threading.Thread):
    """Watches one run of a thread over /ws as the same user: `resume` from `after_seq`, every event of the
    run until its supervisor's agent_completed/agent_error."""

    def __init__(self, token: str, thread_id: str, run_id: str, after_seq: int = 0, timeout: float = 60.0):
        super().__init__(daemon=True)
        self.token, self.thread_id, self.run_id, self.after_seq, self.timeout = token, thread_id, run_id, after_seq, timeout
        self.frames: list[dict] = []
        self.error: Optional[BaseException] = None
        self.done = threading.Event()

    def run(self) -> None:
        from websockets.sync.client import connect

        try:
            deadline = time.monotonic() + self.timeout
            with connect(ws_url(self.token), subprotocols=["herald.v1"], open_timeout=10) as ws:
                hello = json.loads(ws.recv(timeout=10))
                assert hello.get("type") == "connection_established", hello
                ws.send(json.dumps({"type": "resume", "thread_id": self.thread_id, "after_seq": self.after_seq}))
                resumed = ended = False  # `resumed` may come before, among or after the replayed events
                while time.monotonic() < deadline:
                    frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
                    self.frames.append(frame)
                    if frame.get("type") == "error":
                        raise AssertionError(f"/ws answered the resume with an error: {frame}")
                    resumed = resumed or frame.get("type") == "resumed"
                    ended = ended or is_run_end(frame, self.run_id)
                    if resumed and ended:
                        return
                raise AssertionError(f"/ws did not show the end of run {self.run_id} within {self.timeout}s")
        except BaseException as error:  # reported by result()
            self.error = error
        finally:
            self.done.set()

    def result(self, timeout: float = 60.0) -> list[dict]:
        """The run's events as /ws showed them (after waiting for the run's end)."""
        self.join(timeout)
        assert not self.is_alive(), f"/ws did not show the end of run {self.run_id} in time"
        if self.error is not None:
            raise AssertionError(f"watching the run over /ws failed: {self.error!r}") from self.error
        resumed = [f for f in self.frames if f.get("type") == "resumed"]
        assert resumed, f"/ws sent no `resumed` for the thread: {self.frames[:3]}"
        return [f for f in self.frames if "seq" in f and f.get("run_id") == self.run_id]


def ws_send(token: str, message: dict, wait_for_error: float = 1.0) -> list[dict]:
    """Sends one message over a new /ws connection as the user; returns the frames that came back meanwhile."""
    from websockets.sync.client import connect

    frames = []
    with connect(ws_url(token), subprotocols=["herald.v1"], open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
        assert hello.get("type") == "connection_established", hello
        ws.send(json.dumps(message))
        deadline = time.monotonic() + wait_for_error
        try:
            while time.monotonic() < deadline:
                frames.append(json.loads(ws.recv(timeout=max(0.05, deadline - time.monotonic()))))
        except TimeoutError:
            pass
    errors = [f for f in frames if f.get("type") == "error"]
    assert not errors, f"/ws answered {message} with {errors}"
    return frames


# ----------------------------------------------------------------------------------------- AG-UI vs /ws

# Which Herald event an AG-UI event may come from (docs/agui.md, "Events"). The ENDs of a text or
# reasoning message may also come from whatever closes it (a tool call starting, the run ending).
_CLOSERS = {"TEXT_MESSAGE_END", "REASONING_MESSAGE_END", "REASONING_END"}
_SOURCES = {
    "RUN_STARTED": {"agent_started"},
    "STEP_STARTED": {"agent_started"},
    "STEP_FINISHED": {"agent_completed", "agent_error"},
    "REASONING_START": {"agent_thinking"},
    "REASONING_MESSAGE_START": {"agent_thinking"},
    "REASONING_MESSAGE_CONTENT": {"agent_thinking"},
    "REASONING_MESSAGE_END": {"agent_thinking"},
    "REASONING_END": {"agent_thinking"},
    "TEXT_MESSAGE_START": {"partial_result"},
    "TEXT_MESSAGE_CONTENT": {"partial_result"},
    "TEXT_MESSAGE_END": {"partial_result"},
    "TOOL_CALL_START": {"tool_executing"},
    "TOOL_CALL_ARGS": {"tool_executing"},
    "TOOL_CALL_END": {"tool_executing"},
    "TOOL_CALL_RESULT": {"tool_completed"},
    "CUSTOM": {"final_report"},
    "RUN_FINISHED": {"agent_completed"},
    "RUN_ERROR": {"agent_error"},
}


def tool_content_matches(content: Any, completed: dict) -> bool:
    """TOOL_CALL_RESULT `content` (parsed) is what docs/agui.md says for a tool_completed payload: the result,
    or {status, error} (an error /ws does not have may be null or left out)."""
    if completed.get("status") == "success" and "result" in completed:
        return content == completed["result"]
    return (isinstance(content, dict) and content.get("status") == completed.get("status")
            and content.get("error") == completed.get("error") and set(content) <= {"status", "error"})


def ws_text(ws_events: list[dict]) -> str:
    return "".join(e["payload"].get("content", "") for e in ws_events if e["type"] == "partial_result")


# What /ws shows as the result of a front-end tool's call while the client runs it (docs/agui.md, "Front-end tools").
HANDED_TO_CLIENT = {"handed_to_client": True}


def compare_with_ws(stream: AguiStream, ws_events: list[dict], client_thread_id: str, client_run_id: str,
                    client_tools: Collection[str] = ()) -> None:
    """The AG-UI stream and /ws show the same run: each AG-UI event names a Herald event of the run by seq,
    event_id and emit time, of the kind the table maps; and text, thoughts, tools, steps, report and outcome agree.

    `client_tools` are the request's front-end tools: a call of one has no TOOL_CALL_RESULT, and /ws shows its
    tool_completed as `success` with result {"handed_to_client": true}."""
    events = stream.events
    assert ws_events, "/ws showed nothing of the run"
    client_calls = {e["payload"]["tool_call_id"] for e in ws_events
                    if e["type"] == "tool_executing" and e["payload"]["tool_name"] in client_tools}
    by_seq = {e["seq"]: e for e in ws_events}
    supervisor = "supervisor"
    for event in events:
        h = event["metadata"]["herald"]
        source = by_seq.get(h["seq"])
        assert source is not None, f"{event['type']} names seq {h['seq']}, which /ws did not show for the run"
        assert source["event_id"] == h["event_id"], f"{event['type']}: event_id {h['event_id']} ≠ /ws {source['event_id']}"
        assert source["epoch"] == h["epoch"] and source["run_id"] == h["run_id"] and source["thread_id"] == h["thread_id"], \
            f"{event['type']}: metadata.herald {h} ≠ /ws {source}"
        assert abs(event["timestamp"] - iso_to_ms(source["timestamp"])) <= 1, \
            f"{event['type']}: timestamp {event['timestamp']} is not the emit time of {source['type']} ({source['timestamp']})"
        allowed = _SOURCES.get(event["type"], set())
        if event["type"] not in _CLOSERS:
            assert source["type"] in allowed, f"{event['type']} comes from a Herald {source['type']} (expected {allowed})"
        is_supervisor = source.get("agent_name") == supervisor
        if event["type"] in ("RUN_STARTED", "RUN_FINISHED", "RUN_ERROR"):
            assert is_supervisor, f"{event['type']} comes from {source.get('agent_name')}'s {source['type']}"
        if event["type"] in ("STEP_STARTED", "STEP_FINISHED"):
            assert not is_supervisor, f"{event['type']} comes from the supervisor's {source['type']}"

    # Every Herald event of the run that the table maps shows in the AG-UI stream.
    ids = {e["metadata"]["herald"]["event_id"] for e in events}
    for source in ws_events:
        payload = source.get("payload", {})
        if source["type"] == "partial_result" and not payload.get("content"):
            continue
        if source["type"] == "agent_thinking" and not payload.get("thought"):
            continue
        if source["type"] == "tool_completed" and payload.get("tool_call_id") in client_calls:
            assert source["event_id"] not in ids, \
                f"a front-end tool's tool_completed (seq {source['seq']}) shows in the AG-UI stream"
            continue
        if source["type"] in ("agent_started", "agent_completed", "agent_error", "agent_thinking", "partial_result",
                              "tool_executing", "tool_completed", "final_report"):
            assert source["event_id"] in ids, f"/ws's {source['type']} (seq {source['seq']}) is missing from the AG-UI stream"

    # RUN_STARTED / RUN_FINISHED echo the client's ids.
    started = stream.of_type("RUN_STARTED")
    assert len(started) == 1 and started[0]["threadId"] == client_thread_id and started[0]["runId"] == client_run_id, started

    # Text: every partial_result's content, in order.
    assert stream.text() == ws_text(ws_events), f"AG-UI text {stream.text()!r} ≠ /ws text {ws_text(ws_events)!r}"
    for message in stream.of_type("TEXT_MESSAGE_START"):
        assert message.get("role") == "assistant", message
    for source in ws_events:
        if source["type"] == "partial_result" and source["payload"].get("content"):
            deltas = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"
                             and e["metadata"]["herald"]["event_id"] == source["event_id"])
            assert deltas == source["payload"]["content"], f"seq {source['seq']}: {deltas!r} ≠ {source['payload']['content']!r}"

    # Thoughts.
    thoughts = [e["payload"]["thought"] for e in ws_events if e["type"] == "agent_thinking" and e["payload"].get("thought")]
    assert [e["delta"] for e in stream.of_type("REASONING_MESSAGE_CONTENT")] == thoughts
    for message in stream.of_type("REASONING_MESSAGE_START"):
        assert message.get("role") == "reasoning", message

    # Tool calls: ids, names, arguments and results, in order.
    executing = [e["payload"] for e in ws_events if e["type"] == "tool_executing"]
    completed = {e["payload"]["tool_call_id"]: e["payload"] for e in ws_events if e["type"] == "tool_completed"}
    calls = stream.tool_calls()
    assert [(c["id"], c["name"], c["arguments"]) for c in calls] == \
        [(p["tool_call_id"], p["tool_name"], p["arguments"]) for p in executing], f"AG-UI tool calls {calls} ≠ /ws {executing}"
    for call in calls:
        assert call["id"] in completed, f"/ws has no tool_completed for {call['id']}"
        if call["id"] in client_calls:
            handover = completed[call["id"]]
            assert handover.get("status") == "success" and handover.get("result") == HANDED_TO_CLIENT, \
                f"/ws's tool_completed of the front-end call {call['id']}: {handover}"
            assert call["result"] is None, f"a TOOL_CALL_RESULT for the front-end call {call['id']}: {call['result']}"
            continue
        assert tool_content_matches(call["result"], completed[call["id"]]), \
            f"TOOL_CALL_RESULT of {call['id']}: {call['result']} ≠ /ws {completed[call['id']]}"
    for result in stream.of_type("TOOL_CALL_RESULT"):
        assert result.get("role") == "tool", result

    # Steps: one per sub-agent.
    sub_started = [e["payload"]["agent_name"] for e in ws_events if e["type"] == "agent_started" and e["agent_name"] != supervisor]
    assert [e["stepName"] for e in stream.of_type("STEP_STARTED")] == sub_started
    sub_ended = [e["payload"]["agent_name"] for e in ws_events
                 if e["type"] in ("agent_completed", "agent_error") and e["agent_name"] != supervisor]
    assert [e["stepName"] for e in stream.of_type("STEP_FINISHED")] == sub_ended

    # The final report.
    reports = [e["payload"] for e in ws_events if e["type"] == "final_report"]
    customs = [e for e in stream.of_type("CUSTOM") if e.get("name") == "herald.final_report"]
    assert [c["value"] for c in customs] == [{"report": r["report"], "total_duration_ms": r["total_duration_ms"]} for r in reports]

    # The end.
    end = [e for e in ws_events if is_run_end(e, ws_events[0]["run_id"])]
    assert len(end) == 1, f"/ws shows {len(end)} ends of the run"
    last = events[-1]
    if end[0]["type"] == "agent_completed":
        assert last["type"] == "RUN_FINISHED", f"the stream ends with {last['type']}, /ws with agent_completed"
        assert last["threadId"] == client_thread_id and last["runId"] == client_run_id, last
        outcome = (last.get("outcome") or {}).get("type", "success")
        assert outcome == ("cancelled" if end[0]["payload"]["status"] == "cancelled" else "success"), last
        if reports:
            assert last.get("result") == reports[-1]["report"], f"RUN_FINISHED result {last.get('result')!r} is not the report"
    else:
        assert last["type"] == "RUN_ERROR", f"the stream ends with {last['type']}, /ws with agent_error"
        assert last.get("code") == end[0]["payload"]["code"] and last.get("message") == end[0]["payload"]["message"], last


def new_guest_token() -> str:
    """A new guest of the deployment: the token /ws gives a connection without one."""
    from websockets.sync.client import connect

    with connect(ws_url(None), subprotocols=["herald.v1"], open_timeout=10) as ws:
        hello = json.loads(ws.recv(timeout=10))
    assert hello.get("type") == "connection_established" and hello.get("guest_token"), \
        f"no guest token from /ws (is the deployment in guest mode?): {hello}"
    return hello["guest_token"]
