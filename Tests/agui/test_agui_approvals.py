"""Approvals as AG-UI interrupts (DESIGN.md sections 8 and 10), against a running deployment (HERALD_URL).

A run that pauses for approval finishes its AG-UI run with `RUN_FINISHED` `outcome: {type: "interrupt",
interrupts: [{id, reason: "tool_call", toolCallId, expiresAt, …}]}`; the client's next `RunAgentInput` answers it in
`resume[]` and gets a new AG-UI run that continues the same Herald run. Every stream must validate with the official
SDK's models and pass the port of the TypeScript client's ordering checks (agui_verify.py).
"""

import json
import uuid

from ag_ui.core import RunAgentInput, RunFinishedEvent

from agui_client import post_agui, requires_deployment, run_input

pytestmark = requires_deployment


def interrupted(text):
    """Starts a run that pauses for approval; returns (stream, body, token, the interrupt)."""
    body = run_input(text)
    stream = post_agui(body)
    assert stream.status == 200 and stream.is_event_stream, stream.describe()
    stream.read_to_end(timeout=60)
    last = stream.events[-1]
    assert last["type"] == "RUN_FINISHED", stream.types()[-3:]
    RunFinishedEvent.model_validate(last)
    outcome = last["outcome"]
    assert outcome["type"] == "interrupt", outcome
    [interrupt] = outcome["interrupts"]
    assert interrupt["reason"] == "tool_call"
    assert interrupt["id"].startswith("apr_")
    [start] = stream.of_type("TOOL_CALL_START")
    assert interrupt["toolCallId"] == start["toolCallId"] and start["toolCallName"] == "save_note"
    assert interrupt["expiresAt"].endswith("Z")
    assert not stream.of_type("TOOL_CALL_RESULT"), "the tool has not run yet"
    return stream, body, stream.guest_token, interrupt


def answer(body, interrupt, payload=None, status="resolved"):
    """The client's next RunAgentInput: the same thread, a new run, `resume[]` answering the interrupt."""
    following = run_input("continue", thread_id=body["threadId"])
    entry = {"interruptId": interrupt["id"], "status": status}
    if payload is not None:
        entry["payload"] = payload
    following["resume"] = [entry]
    RunAgentInput.model_validate(following)
    return following


def continued(following, token):
    stream = post_agui(following, token=token)
    assert stream.status == 200 and stream.is_event_stream, stream.describe()
    stream.read_to_end(timeout=60)
    assert stream.events[0]["type"] == "RUN_STARTED" and stream.events[0]["runId"] == following["runId"]
    last = stream.events[-1]
    assert last["type"] == "RUN_FINISHED" and last.get("outcome", {}).get("type", "success") == "success", last
    return stream


def result_of(stream, interrupt):
    [result] = [e for e in stream.of_type("TOOL_CALL_RESULT") if e["toolCallId"] == interrupt["toolCallId"]]
    return json.loads(result["content"])


def test_an_approval_is_an_interrupt_and_resume_approves_it():
    first, body, token, interrupt = interrupted("save a note: feed the cat")
    following = answer(body, interrupt, {"decision": "approve"})
    stream = continued(following, token)
    assert stream.herald(0)["run_id"] == first.herald(0)["run_id"], "the same Herald run continues"
    assert result_of(stream, interrupt)["saved"] is True
    assert "I saved your note" in stream.text()
    custom = [e["name"] for e in stream.of_type("CUSTOM")]
    assert "herald.approval_resolved" in custom and "herald.final_report" in custom
    # A second answer to the same interrupt is a conflict, before any stream.
    again = post_agui(answer(body, interrupt, {"decision": "deny"}), token=token)
    assert again.status == 409 and again.json_body()["error"] == "conflict", again.describe()


def test_edited_arguments_run_and_a_denial_does_not():
    _, body, token, interrupt = interrupted("save a note: draft")
    stream = continued(answer(body, interrupt, {"decision": "approve", "arguments": {"text": "final"}}), token)
    assert result_of(stream, interrupt)["text"] == "final"

    second = run_input("save a note: never", thread_id=body["threadId"])
    stream = post_agui(second, token=token)
    stream.read_to_end(timeout=60)
    [interrupt] = stream.events[-1]["outcome"]["interrupts"]
    denied = continued(answer(second, interrupt, {"approved": False, "reason": "no"}), token)
    assert result_of(denied, interrupt)["status"] == "denied"
    assert "I did not run save_note" in denied.text()


def test_a_cancelled_resume_entry_denies():
    _, body, token, interrupt = interrupted("save a note: maybe")
    stream = continued(answer(body, interrupt, status="cancelled"), token)
    assert result_of(stream, interrupt)["status"] == "denied"


def test_bad_resume_answers_are_refused_before_the_stream():
    _, body, token, interrupt = interrupted("save a note: careful")
    unknown = post_agui(answer(body, {"id": "apr_" + uuid.uuid4().hex[:20]}, {"decision": "approve"}), token=token)
    assert unknown.status == 404 and unknown.json_body()["error"] == "not_found", unknown.describe()
    malformed = answer(body, interrupt, {"decision": "perhaps"})
    bad = post_agui(malformed, token=token)
    assert bad.status == 400 and bad.json_body()["error"] == "bad_request", bad.describe()
    stranger = post_agui(answer(body, interrupt, {"decision": "approve"}))
    assert stranger.status == 404, stranger.describe()
    # Still open after all that: the owner's answer goes through.
    stream = continued(answer(body, interrupt, {"decision": "approve"}), token)
    assert result_of(stream, interrupt)["saved"] is True
