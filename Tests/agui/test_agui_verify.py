"""Unit tests of agui_verify.py, the port of the AG-UI client's `verify.ts`: for every rule, a stream it
must accept and one it must reject (with the TypeScript verifier's message). No deployment needed."""

import pytest

from agui_verify import SOURCE_COMMIT, SOURCE_PATH, AGUIError, EventVerifier, verify_events


def ev(type_, **fields):
    return {"type": type_, **fields}


RS = ev("RUN_STARTED", threadId="t1", runId="r1")
RF = ev("RUN_FINISHED", threadId="t1", runId="r1")
RE = ev("RUN_ERROR", message="boom")


def tms(mid, **kw):
    return ev("TEXT_MESSAGE_START", messageId=mid, role="assistant", **kw)


def tmc(mid, delta="x", **kw):
    return ev("TEXT_MESSAGE_CONTENT", messageId=mid, delta=delta, **kw)


def tme(mid, **kw):
    return ev("TEXT_MESSAGE_END", messageId=mid, **kw)


def tcs(tid, name="calculator", **kw):
    return ev("TOOL_CALL_START", toolCallId=tid, toolCallName=name, **kw)


def tca(tid, delta="{}", **kw):
    return ev("TOOL_CALL_ARGS", toolCallId=tid, delta=delta, **kw)


def tce(tid, **kw):
    return ev("TOOL_CALL_END", toolCallId=tid, **kw)


def tcr(tid, mid="tm1", **kw):
    return ev("TOOL_CALL_RESULT", toolCallId=tid, messageId=mid, content="{}", role="tool", **kw)


def ss(name, **kw):
    return ev("STEP_STARTED", stepName=name, **kw)


def sf(name, **kw):
    return ev("STEP_FINISHED", stepName=name, **kw)


def rstart(mid, **kw):
    return ev("REASONING_START", messageId=mid, **kw)


def rms(mid, **kw):
    return ev("REASONING_MESSAGE_START", messageId=mid, role="reasoning", **kw)


def rmc(mid, delta="hmm", **kw):
    return ev("REASONING_MESSAGE_CONTENT", messageId=mid, delta=delta, **kw)


def rme(mid, **kw):
    return ev("REASONING_MESSAGE_END", messageId=mid, **kw)


def rend(mid, **kw):
    return ev("REASONING_END", messageId=mid, **kw)


def sub_start(sid, name="researcher", **kw):
    return ev("SUBAGENT_STARTED", subagentRunId=sid, name=name, **kw)


def sub_fin(sid, **kw):
    return ev("SUBAGENT_FINISHED", subagentRunId=sid, **kw)


def sub_err(sid, **kw):
    return ev("SUBAGENT_ERROR", subagentRunId=sid, **kw)


def accepts(events, **kw):
    verify_events(events, **kw)


def rejects(events, message, **kw):
    with pytest.raises(AGUIError) as caught:
        verify_events(events, **kw)
    assert message in str(caught.value), f"expected {message!r}, got {str(caught.value)!r}"
    return str(caught.value)


def test_port_names_its_source():
    import agui_verify

    assert SOURCE_PATH == "sdks/typescript/packages/client/src/verify/verify.ts"
    assert len(SOURCE_COMMIT) == 40
    assert SOURCE_COMMIT in agui_verify.__doc__ and "port" in agui_verify.__doc__


# ----------------------------------------------------------------------------- run lifecycle

def test_first_event_run_started_or_run_error():
    accepts([RS, RF])
    accepts([RE])
    rejects([tms("m1"), tme("m1")], "First event must be 'RUN_STARTED'")
    rejects([ev("CUSTOM", name="x", value=1)], "First event must be 'RUN_STARTED'")


def test_nothing_after_run_error_but_a_new_run():
    rejects([RS, RE, ev("CUSTOM", name="x", value=1)],
            "Cannot send event type 'CUSTOM': The run has already errored with 'RUN_ERROR'. No further events can be sent.")
    rejects([RS, RE, RF], "Cannot send event type 'RUN_FINISHED': The run has already errored")
    rejects([RS, RE, RE], "Cannot send event type 'RUN_ERROR': The run has already errored")
    accepts([RS, RE, RS, RF])
    accepts([RE, RS, RF])


def test_nothing_after_run_finished_but_run_error_or_a_new_run():
    rejects([RS, RF, tms("m1")],
            "Cannot send event type 'TEXT_MESSAGE_START': The run has already finished with 'RUN_FINISHED'. "
            "Start a new run with 'RUN_STARTED'.")
    rejects([RS, RF, RF], "Cannot send event type 'RUN_FINISHED': The run has already finished")
    accepts([RS, RF, RE])
    accepts([RS, RF, RS, RF])


def test_no_run_started_while_a_run_is_active():
    rejects([RS, RS], "Cannot send 'RUN_STARTED' while a run is still active.")
    rejects([RS, tms("m1"), tme("m1"), RS], "Cannot send 'RUN_STARTED' while a run is still active.")


def test_a_new_run_starts_from_clean_state():
    # Owners are per run: the second run may open m1 under another subagent.
    accepts([RS, tms("m1", subagentRunId="s1"), tme("m1"), RF,
             RS, tms("m1", subagentRunId="s2"), tme("m1"), RF])
    rejects([RS, tms("m1", subagentRunId="s1"), tme("m1"), tms("m1", subagentRunId="s2")],
            "does not match the message 'm1' opener's subagent 's1'")


# ----------------------------------------------------------------------------- text messages

def test_text_message_inside_start_and_end():
    accepts([RS, tms("m1"), tmc("m1", "Hel"), tmc("m1", "lo"), tme("m1"), RF])
    accepts([RS, tms("m1"), tms("m2"), tmc("m2"), tmc("m1"), tme("m1"), tme("m2"), RF])
    accepts([RS, tms("m1"), tme("m1"), tms("m1"), tme("m1"), RF])  # an id may open again once closed


def test_text_message_start_twice():
    rejects([RS, tms("m1"), tms("m1")],
            "Cannot send 'TEXT_MESSAGE_START' event: A text message with ID 'm1' is already in progress. "
            "Complete it with 'TEXT_MESSAGE_END' first.")


def test_text_message_content_without_start():
    rejects([RS, tmc("m1")],
            "Cannot send 'TEXT_MESSAGE_CONTENT' event: No active text message found with ID 'm1'. "
            "Start a text message with 'TEXT_MESSAGE_START' first.")
    rejects([RS, tms("m1"), tme("m1"), tmc("m1")], "No active text message found with ID 'm1'")
    rejects([RS, tms("m1"), tmc("m2")], "No active text message found with ID 'm2'")


def test_text_message_end_without_start():
    rejects([RS, tme("m1")],
            "Cannot send 'TEXT_MESSAGE_END' event: No active text message found with ID 'm1'. "
            "A 'TEXT_MESSAGE_START' event must be sent first.")
    rejects([RS, tms("m1"), tme("m1"), tme("m1")], "Cannot send 'TEXT_MESSAGE_END' event")


# ----------------------------------------------------------------------------- tool calls

def test_tool_call_inside_start_and_end():
    accepts([RS, tcs("c1"), tca("c1", '{"a":'), tca("c1", "1}"), tce("c1"), tcr("c1"), RF])
    accepts([RS, tcs("c1"), tcs("c2"), tce("c2"), tce("c1"), RF])
    # The verifier does not order TOOL_CALL_RESULT against its call.
    accepts([RS, tcr("c9"), RF])


def test_tool_call_start_twice():
    rejects([RS, tcs("c1"), tcs("c1")],
            "Cannot send 'TOOL_CALL_START' event: A tool call with ID 'c1' is already in progress. "
            "Complete it with 'TOOL_CALL_END' first.")


def test_tool_call_args_without_start():
    rejects([RS, tca("c1")],
            "Cannot send 'TOOL_CALL_ARGS' event: No active tool call found with ID 'c1'. "
            "Start a tool call with 'TOOL_CALL_START' first.")
    rejects([RS, tcs("c1"), tce("c1"), tca("c1")], "Cannot send 'TOOL_CALL_ARGS' event")


def test_tool_call_end_without_start():
    rejects([RS, tce("c1")],
            "Cannot send 'TOOL_CALL_END' event: No active tool call found with ID 'c1'. "
            "A 'TOOL_CALL_START' event must be sent first.")


# ----------------------------------------------------------------------------- steps

def test_steps_inside_start_and_finish():
    accepts([RS, ss("triage"), sf("triage"), ss("assistant"), sf("assistant"), RF])
    accepts([RS, ss("a"), ss("b"), sf("a"), sf("b"), RF])
    # A step name is unique per owner: the parent and a subagent may both have "tools" open.
    accepts([RS, ss("tools"), ss("tools", subagentRunId="s1"), sf("tools", subagentRunId="s1"), sf("tools"), RF])


def test_step_started_twice():
    rejects([RS, ss("a"), ss("a")], "Step \"a\" is already active for 'STEP_STARTED'")
    msg = rejects([RS, ss("a", subagentRunId="s1"), ss("a", subagentRunId="s1")],
                  "Step \"a\" is already active for 'STEP_STARTED' in subagent 's1'")
    assert msg.endswith("in subagent 's1'")


def test_step_finished_without_start():
    rejects([RS, sf("a")], "Cannot send 'STEP_FINISHED' for step \"a\" that was not started")
    rejects([RS, ss("a"), sf("a"), sf("a")], "that was not started")


def test_step_finished_by_another_owner():
    rejects([RS, ss("tools"), sf("tools", subagentRunId="s1")],
            "Cannot send 'STEP_FINISHED' for step \"tools\" attributed to subagent 's1': that step is open under "
            "the parent agent. A step must be finished by whoever started it.")
    rejects([RS, ss("tools", subagentRunId="s1"), sf("tools")],
            "attributed to the parent agent: that step is open under subagent 's1'")
    # The empty string is an id of its own, not the parent.
    rejects([RS, ss("tools"), sf("tools", subagentRunId="")], "attributed to subagent '': that step is open under the parent agent")


# ----------------------------------------------------------------------------- reasoning

def test_reasoning_inside_span_and_message():
    accepts([RS, rstart("r1"), rms("r1"), rmc("r1"), rme("r1"), rend("r1"), RF])  # one id may name both
    accepts([RS, rstart("r1"), rms("r2"), rmc("r2"), rme("r2"), rms("r3"), rme("r3"), rend("r1"), RF])
    accepts([RS, rms("r1"), rmc("r1"), rme("r1"), RF])  # a message needs no enclosing span


def test_reasoning_span_started_twice():
    rejects([RS, rstart("r1"), rstart("r1")],
            "Cannot send 'REASONING_START' event: A reasoning span with ID 'r1' is already in progress. "
            "Complete it with 'REASONING_END' first.")


def test_reasoning_message_started_twice():
    rejects([RS, rms("r1"), rms("r1")],
            "Cannot send 'REASONING_MESSAGE_START' event: A reasoning message with ID 'r1' is already in progress. "
            "Complete it with 'REASONING_MESSAGE_END' first.")


def test_reasoning_content_without_message():
    rejects([RS, rstart("r1"), rmc("r1")],
            "Cannot send 'REASONING_MESSAGE_CONTENT' event: No active reasoning message found with ID 'r1'. "
            "Start a reasoning message with 'REASONING_MESSAGE_START' first.")
    rejects([RS, rms("r1"), rme("r1"), rmc("r1")], "No active reasoning message found with ID 'r1'")


def test_reasoning_message_end_without_start():
    rejects([RS, rme("r1")], "Cannot send 'REASONING_MESSAGE_END' event: No active reasoning message found with ID 'r1'.")


def test_reasoning_end_without_span():
    rejects([RS, rms("r1"), rme("r1"), rend("r1")],
            "Cannot send 'REASONING_END' event: No active reasoning span found with ID 'r1'. "
            "A 'REASONING_START' event must be sent first.")


# ----------------------------------------------------------------------------- RUN_FINISHED closes nothing

@pytest.mark.parametrize("opened, message", [
    ([ss("a")], "Cannot send 'RUN_FINISHED' while steps are still active: a"),
    ([ss("a", subagentRunId="s1")], "Cannot send 'RUN_FINISHED' while steps are still active: a (subagent 's1')"),
    ([tms("m1")], "Cannot send 'RUN_FINISHED' while text messages are still active: m1"),
    ([rstart("r1"), rms("r1")], "Cannot send 'RUN_FINISHED' while reasoning messages are still active: r1"),
    ([rstart("r1")], "Cannot send 'RUN_FINISHED' while reasoning spans are still active: r1"),
    ([tcs("c1"), tcs("c2")], "Cannot send 'RUN_FINISHED' while tool calls are still active: c1, c2"),
    ([sub_start("s1")], "Cannot send 'RUN_FINISHED' while subagents are still active: s1"),
])
def test_run_finished_with_something_open(opened, message):
    rejects([RS, *opened, RF], message)


def test_run_error_may_leave_things_open():
    accepts([RS, ss("a"), tms("m1"), tcs("c1"), rstart("r1"), sub_start("s1"), RE])


# ----------------------------------------------------------------------------- the end of the stream

def test_stream_must_end_with_a_terminal_event():
    rejects([], "The stream ended without emitting 'RUN_STARTED'.")
    rejects([RS, tms("m1"), tmc("m1")],
            "The stream ended without 'RUN_FINISHED' or 'RUN_ERROR'. The run was started but never terminated, "
            "so its result is incomplete.")
    accepts([RS, RF])
    accepts([RS, RE])
    accepts([RE])


def test_cancelled_stream_may_end_early():
    accepts([RS, tms("m1")], is_cancelled=lambda: True)
    rejects([RS, tms("m1")], "never terminated", is_cancelled=lambda: False)


# ----------------------------------------------------------------------------- subagents

def test_subagent_lifecycle():
    accepts([RS, sub_start("s1"), tms("m1", subagentRunId="s1"), tme("m1", subagentRunId="s1"),
             sub_fin("s1", outcome={"type": "success"}), RF])
    accepts([RS, sub_start("s1"), sub_start("s2", parentSubagentRunId="s1"), sub_err("s2", message="x"), sub_fin("s1"), RF])
    accepts([RS, sub_start("s1"), sub_fin("s1"), sub_start("s2", parentSubagentRunId="s1"), sub_fin("s2"), RF])
    accepts([RS, sub_start("s1"), sub_fin("s1", outcome={"type": "suspended", "interruptIds": ["i1"]}), RF])
    accepts([RS, sub_start(""), sub_fin(""), RF])  # the empty string is a legal id


def test_subagent_started_needs_id_and_name():
    rejects([RS, ev("SUBAGENT_STARTED", name="x")], "Cannot send 'SUBAGENT_STARTED' without a 'subagentRunId'.")
    rejects([RS, ev("SUBAGENT_STARTED", subagentRunId="s1")], "Cannot send 'SUBAGENT_STARTED' without a 'name'.")
    rejects([RS, ev("SUBAGENT_STARTED", subagentRunId=5, name="x")], "without a 'subagentRunId'")


def test_subagent_started_twice_or_reused():
    rejects([RS, sub_start("s1"), sub_start("s1")],
            "Cannot send 'SUBAGENT_STARTED': subagent 's1' is already active. Finish it with 'SUBAGENT_FINISHED' first.")
    rejects([RS, sub_start("s1"), sub_fin("s1"), sub_start("s1")],
            "Cannot send 'SUBAGENT_STARTED': subagent 's1' has already finished in this run. "
            "Subagent IDs are per-invocation and cannot be reused.")


def test_subagent_parent_must_have_started():
    rejects([RS, sub_start("s2", parentSubagentRunId="s1")],
            "Cannot send 'SUBAGENT_STARTED': parentSubagentRunId 's1' has not been started in this run.")


def test_subagent_finished_or_error_without_start():
    rejects([RS, sub_fin("s1")],
            "Cannot send 'SUBAGENT_FINISHED': no active subagent found with ID 's1'. "
            "A 'SUBAGENT_STARTED' event must be sent first.")
    rejects([RS, sub_start("s1"), sub_fin("s1"), sub_err("s1", message="x")],
            "Cannot send 'SUBAGENT_ERROR': no active subagent found with ID 's1'.")
    rejects([RS, ev("SUBAGENT_FINISHED")], "Cannot send 'SUBAGENT_FINISHED' without a 'subagentRunId'.")


def test_subagent_error_needs_message():
    rejects([RS, sub_start("s1"), sub_err("s1")], "Cannot send 'SUBAGENT_ERROR' without a 'message'.")


@pytest.mark.parametrize("event, message", [
    (sub_start("s1", description=None), "Cannot send 'SUBAGENT_STARTED' with 'description: null'."),
    (sub_start("s1", parentSubagentRunId=None), "with 'parentSubagentRunId: null'"),
    (sub_start("s1", parentToolCallId=None), "with 'parentToolCallId: null'"),
    (sub_start("s1", parentMessageId=None), "with 'parentMessageId: null'"),
    (sub_fin("s0", outcome=None), "Cannot send 'SUBAGENT_FINISHED' with 'outcome: null'."),
    (sub_err("s0", message="x", code=None), "Cannot send 'SUBAGENT_ERROR' with 'code: null'."),
    (sub_fin("s0", outcome={"type": "interrupt"}),
     "Cannot send 'SUBAGENT_FINISHED' with outcome type 'interrupt'. The outcome is either { type: \"success\" } "
     "or { type: \"suspended\" }."),
    (sub_fin("s0", outcome={}), "with outcome type 'undefined'"),
    (sub_fin("s0", outcome={"type": "suspended", "interruptIds": None}),
     "Cannot send 'SUBAGENT_FINISHED' with 'outcome.interruptIds: null'."),
    (sub_fin("s0", outcome={"type": "suspended", "interruptIds": ["i1", 2]}),
     "Cannot send 'SUBAGENT_FINISHED' with a non-string entry in 'outcome.interruptIds'. Interrupt ids are strings."),
])
def test_subagent_lifecycle_fields(event, message):
    rejects([RS, sub_start("s0"), event], message)


def test_no_null_attribution_tag():
    rejects([RS, tms("m1", subagentRunId=None)],
            "Cannot send 'TEXT_MESSAGE_START' with 'subagentRunId: null'. The field is optional — omit it entirely.")
    rejects([RS, ev("CUSTOM", name="x", value=1, subagentRunId=None)], "Cannot send 'CUSTOM' with 'subagentRunId: null'.")


def test_no_null_attribution_on_an_interrupt():
    ok = dict(RF, outcome={"type": "interrupt", "interrupts": [{"id": "i1", "reason": "tool_call", "subagentRunId": "s1"}]})
    accepts([RS, ok])
    bad = dict(RF, outcome={"type": "interrupt", "interrupts": [{"id": "i1", "reason": "tool_call", "subagentRunId": None}]})
    rejects([RS, bad],
            "Cannot send 'RUN_FINISHED' with an interrupt (id 'i1') carrying 'subagentRunId: null'. "
            "The field is optional — omit it entirely.")


# ----------------------------------------------------------------------------- attribution (who opened what)

def test_text_continuation_agrees_with_its_opener():
    accepts([RS, tms("m1", subagentRunId="s1"), tmc("m1"), tmc("m1", subagentRunId="s1"), tme("m1"), RF])
    rejects([RS, tms("m1", subagentRunId="s1"), tmc("m1", subagentRunId="s2")],
            "Cannot send 'TEXT_MESSAGE_CONTENT': subagentRunId 's2' does not match the message 'm1' opener's subagent 's1'.")
    rejects([RS, tms("m1"), tmc("m1", subagentRunId="s1")],
            "subagentRunId 's1' does not match the message 'm1' opener's subagent '(the parent agent)'.")
    rejects([RS, tms("m1", subagentRunId="s1"), tme("m1", subagentRunId="s2")],
            "Cannot send 'TEXT_MESSAGE_END': subagentRunId 's2' does not match")


def test_reopened_message_keeps_its_owner():
    accepts([RS, tms("m1", subagentRunId="s1"), tme("m1"), tms("m1"), tmc("m1", subagentRunId="s1"), tme("m1"), RF])
    rejects([RS, tms("m1", subagentRunId="s1"), tme("m1"), tms("m1", subagentRunId="s2")],
            "Cannot send 'TEXT_MESSAGE_START': subagentRunId 's2' does not match the message 'm1' opener's subagent 's1'.")


def test_tool_call_belongs_to_its_parent_message():
    accepts([RS, tms("m1", subagentRunId="s1"), tcs("c1", parentMessageId="m1"), tca("c1", subagentRunId="s1"), tce("c1"), tme("m1"), RF])
    rejects([RS, tms("m1"), tcs("c1", parentMessageId="m1", subagentRunId="s1")],
            "Cannot send 'TOOL_CALL_START': subagentRunId 's1' does not match its parent message 'm1' owner "
            "'(the parent agent)'. A tool call belongs to the message that carries it.")
    # An untagged call inherits its parent message's owner...
    rejects([RS, tms("m1", subagentRunId="s1"), tcs("c1", parentMessageId="m1"), tca("c1", subagentRunId="s2")],
            "Cannot send 'TOOL_CALL_ARGS': subagentRunId 's2' does not match the tool call 'c1' opener's subagent 's1'.")
    # ...and may not be reopened under a message of another owner.
    rejects([RS, tms("m1", subagentRunId="s1"), tms("m2"), tcs("c1", parentMessageId="m1"), tce("c1"),
             tcs("c1", parentMessageId="m2")],
            "Cannot send 'TOOL_CALL_START': tool call 'c1' is owned by 's1' but its parent message 'm2' is owned by "
            "'(the parent agent)'. A tool call belongs to the message that carries it.")
    rejects([RS, tcs("c1", subagentRunId="s1"), tce("c1"), tcs("c1", subagentRunId="s2")],
            "Cannot send 'TOOL_CALL_START': subagentRunId 's2' does not match the tool call 'c1' opener's subagent 's1'.")
    rejects([RS, tcs("c1", subagentRunId="s1"), tce("c1", subagentRunId="s2")], "Cannot send 'TOOL_CALL_END': subagentRunId 's2'")


def test_reasoning_agrees_with_its_opener():
    accepts([RS, rstart("r1", subagentRunId="s1"), rms("r1"), rmc("r1", subagentRunId="s1"), rme("r1"), rend("r1"), RF])
    rejects([RS, rstart("r1", subagentRunId="s1"), rms("r1", subagentRunId="s2")],
            "Cannot send 'REASONING_MESSAGE_START': subagentRunId 's2' does not match the reasoning message 'r1' "
            "opener's subagent 's1'.")
    rejects([RS, rms("r1", subagentRunId="s1"), rmc("r1", subagentRunId="s2")],
            "Cannot send 'REASONING_MESSAGE_CONTENT': subagentRunId 's2' does not match the reasoning message 'r1'")
    rejects([RS, rstart("r1", subagentRunId="s1"), rend("r1", subagentRunId="s2")], "Cannot send 'REASONING_END': subagentRunId 's2'")


def test_encrypted_value_agrees_with_its_entity():
    enc = lambda entity, subtype, tag: ev("REASONING_ENCRYPTED_VALUE", entityId=entity, subtype=subtype,
                                          encryptedValue="xx", subagentRunId=tag)
    accepts([RS, tcs("c1", subagentRunId="s1"), tce("c1"), enc("c1", "tool-call", "s1"), RF])
    rejects([RS, tcs("c1", subagentRunId="s1"), tce("c1"), enc("c1", "tool-call", "s2")],
            "Cannot send 'REASONING_ENCRYPTED_VALUE': subagentRunId 's2' does not match the tool call 'c1' opener's subagent 's1'.")
    rejects([RS, rms("r1", subagentRunId="s1"), rme("r1"), enc("r1", "message", "s2")],
            "subagentRunId 's2' does not match the message 'r1' opener's subagent 's1'.")
    rejects([RS, tms("m1", subagentRunId="s1"), tme("m1"), enc("m1", "message", "s2")],
            "does not match the message 'm1' opener's subagent 's1'.")
    accepts([RS, enc("nobody", "message", "s9"), RF])  # nothing on record: nothing to disagree with


def test_activity_delta_agrees_with_its_snapshot():
    snap = lambda mid, tag, **kw: ev("ACTIVITY_SNAPSHOT", messageId=mid, activityType="plan", content={}, subagentRunId=tag, **kw)
    delta = lambda mid, tag: ev("ACTIVITY_DELTA", messageId=mid, activityType="plan", patch=[], subagentRunId=tag)
    accepts([RS, snap("a1", "s1"), delta("a1", "s1"), RF])
    rejects([RS, snap("a1", "s1"), delta("a1", "s2")],
            "Cannot send 'ACTIVITY_DELTA': subagentRunId 's2' does not match the activity 'a1' opener's subagent 's1'.")
    # A replacing snapshot re-owns the activity; replace:false does not.
    accepts([RS, snap("a1", "s1"), snap("a1", "s2"), delta("a1", "s2"), RF])
    accepts([RS, snap("a1", "s1"), snap("a1", "s2", replace=False), delta("a1", "s1"), RF])
    rejects([RS, snap("a1", "s1"), snap("a1", "s2", replace=False), delta("a1", "s2")], "opener's subagent 's1'")


def test_tool_call_result_mints_its_message():
    rejects([RS, tcr("c1", mid="tm1", subagentRunId="s1"), tms("tm1", subagentRunId="s2")],
            "Cannot send 'TEXT_MESSAGE_START': subagentRunId 's2' does not match the message 'tm1' opener's subagent 's1'.")
    # The newest mint wins.
    accepts([RS, tcr("c1", mid="tm1", subagentRunId="s1"), tcr("c1", mid="tm1", subagentRunId="s2"),
             tms("tm1", subagentRunId="s2"), tme("tm1"), RF])


def test_messages_snapshot_seeds_owners():
    snap = lambda *messages: ev("MESSAGES_SNAPSHOT", messages=list(messages))
    m1_s1 = {"id": "m1", "role": "assistant", "content": "x", "subagentRunId": "s1",
             "toolCalls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    rejects([RS, snap(m1_s1), tms("m1", subagentRunId="s2")], "does not match the message 'm1' opener's subagent 's1'")
    rejects([RS, snap(m1_s1), tcs("c1", subagentRunId="s2")], "does not match the tool call 'c1' opener's subagent 's1'")
    rejects([RS, snap({"id": "r1", "role": "reasoning", "content": "x", "subagentRunId": "s1"}), rms("r1", subagentRunId="s2")],
            "does not match the reasoning message 'r1'")
    # Authoritative: a later snapshot replaces the owner.
    accepts([RS, snap(m1_s1), snap(dict(m1_s1, subagentRunId="s2")), tms("m1", subagentRunId="s2"), tme("m1"), RF])
    rejects([RS, snap({"id": "m1", "role": "assistant", "content": "x", "subagentRunId": None})],
            "Cannot send a message (id 'm1') with 'subagentRunId: null'. The field is optional — omit it entirely.")


def test_run_started_input_seeds_owners():
    started = dict(RS, input={"threadId": "t1", "runId": "r1", "messages": [
        {"id": "m1", "role": "assistant", "content": "x", "subagentRunId": "s1"}], "tools": [], "context": []})
    rejects([started, tms("m1", subagentRunId="s2")], "does not match the message 'm1' opener's subagent 's1'")
    # Not authoritative: an owner already on record stays (here: none yet, so the echo's is kept).
    accepts([started, tms("m1", subagentRunId="s1"), tme("m1"), RF])


# ----------------------------------------------------------------------------- everything else

def test_other_events_pass():
    accepts([RS, ev("CUSTOM", name="herald.final_report", value={"report": "x"}), ev("RAW", event={}),
             ev("STATE_SNAPSHOT", snapshot={}), ev("STATE_DELTA", delta=[]), ev("SOMETHING_NEW"), RF])


def test_verifier_stops_at_the_first_violation():
    verifier = EventVerifier()
    verifier.verify(RS)
    with pytest.raises(AGUIError):
        verifier.verify(tmc("m1"))
    with pytest.raises(AGUIError, match="already failed"):
        verifier.verify(RF)


def test_sdk_models_are_accepted():
    from ag_ui.core import RunFinishedEvent, RunStartedEvent, TextMessageContentEvent, TextMessageEndEvent, TextMessageStartEvent

    accepts([RunStartedEvent(thread_id="t", run_id="r"), TextMessageStartEvent(message_id="m1", role="assistant"),
             TextMessageContentEvent(message_id="m1", delta="hi"), TextMessageEndEvent(message_id="m1"),
             RunFinishedEvent(thread_id="t", run_id="r")])
    rejects([RunStartedEvent(thread_id="t", run_id="r"), TextMessageContentEvent(message_id="m1", delta="hi")],
            "No active text message found with ID 'm1'")


def herald_stream(close_text_at_end=True):
    """The shape docs/agui.md describes for `what is (17*3)+4?`, cancelled at the end."""
    h = {"metadata": {"herald": {"seq": 1, "epoch": "e", "event_id": "x"}}}
    events = [
        dict(RS, **h), dict(ss("triage"), **h), rstart("th1"), rms("th1"), rmc("th1", "needs the calculator"), rme("th1"),
        rend("th1"), sf("triage"), ss("assistant"), tms("txt1"), tmc("txt1", "Let me see. "), tme("txt1"),
    ]
    events += [tcs("call_1"), tca("call_1", '{"expression":"(17*3)+4"}'), tce("call_1"),
               tcr("call_1", mid="res1"), tms("txt2"), tmc("txt2", "(17*3)+4 = 55")]
    if close_text_at_end:
        events.append(tme("txt2"))
    events += [sf("assistant"), ss("reporting"), ev("CUSTOM", name="herald.final_report", value={"report": "55"}),
               sf("reporting"), dict(RF, outcome={"type": "cancelled"}, result="(17*3)+4 = 55")]
    return events


def test_a_herald_shaped_stream():
    accepts(herald_stream())
    # A text message left open when the run ends is what the client rejects.
    rejects(herald_stream(close_text_at_end=False), "Cannot send 'RUN_FINISHED' while text messages are still active: txt2")
