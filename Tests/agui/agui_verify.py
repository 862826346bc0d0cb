"""A Python port of the AG-UI client's event-ordering checks (`verifyEvents`).

Port of `sdks/typescript/packages/client/src/verify/verify.ts` in github.com/ag-ui-protocol/ag-ui at
commit 9b4e15d4652fa0761592a5be2692b83370fecfc3 (the newest version of the file found: it checks
reasoning spans and messages, subagent lifecycles and attribution, and that a stream ends with
RUN_FINISHED or RUN_ERROR; it goes with the 1.0 event set of `ag-ui-protocol` 1.0.0, SUBAGENT_* included).
It is a port, not the original: every rule of that version is here, in the same order, with the same
error messages, so a stream this module accepts is one `HttpAgent` (`AbstractAgent` runs every stream
through `verifyEvents`) accepts, and a stream it rejects is one `HttpAgent` rejects with the same message.

Differences of form only:
- Events are wire objects: dicts with camelCase keys, as parsed from `data: <json>` (a pydantic model of
  `ag_ui.core` is accepted too and dumped by alias). JavaScript's `undefined` (a key that is absent) and
  `null` (a key whose value is null) differ in several rules, and so they do here: `UNDEFINED` vs `None`.
- The TypeScript operator turns the stream into an error at the first violation and sees nothing after;
  here `EventVerifier.verify` raises `AGUIError` and the verifier refuses further events.
- The final check (`verifyCompletion$`, run when the source completes) is `EventVerifier.complete()`.
- `*_CHUNK` events reach `verifyEvents` only after `transformChunks` turned them into START/CONTENT/END;
  like the original, this module lets them through unchecked (the `default` branch).
- The debug logger is left out.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Mapping, Optional

__all__ = ["AGUIError", "EventVerifier", "UNDEFINED", "verify_events"]

SOURCE_REPOSITORY = "ag-ui-protocol/ag-ui"
SOURCE_PATH = "sdks/typescript/packages/client/src/verify/verify.ts"
SOURCE_COMMIT = "9b4e15d4652fa0761592a5be2692b83370fecfc3"


class AGUIError(Exception):
    """What the TypeScript verifier throws (`AGUIError` of @ag-ui/core); `str()` is its message."""


class _Undefined:
    """JavaScript's `undefined`: a property that is not there (unlike `None`, JSON's `null`)."""

    _instance: Optional["_Undefined"] = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED = _Undefined()


# ---------------------------------------------------------------------------------------------
# JavaScript semantics the original relies on


def _prop(obj: Any, key: str) -> Any:
    """`obj.key`: the value, or UNDEFINED when the object has no such property (or is no object)."""
    if isinstance(obj, Mapping):
        return obj.get(key, UNDEFINED)
    return UNDEFINED


def _truthy(value: Any) -> bool:
    """JavaScript truthiness (objects and arrays are truthy even when empty)."""
    if value is UNDEFINED or value is None or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return value != 0 and not (isinstance(value, float) and math.isnan(value))
    if isinstance(value, str):
        return value != ""
    return True


def _nullish(value: Any) -> bool:
    return value is UNDEFINED or value is None


def _js(value: Any) -> str:
    """`${value}` / `String(value)` in a template literal."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value == int(value) and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join("" if _nullish(v) else _js(v) for v in value)
    return str(value)


class _Key:
    """A Map/Set key with JavaScript's SameValueZero equality: `1` and `true`, `1` and `"1"` differ;
    objects and arrays are keys by identity."""

    __slots__ = ("kind", "value")

    def __init__(self, value: Any):
        if value is UNDEFINED:
            self.kind, self.value = "undefined", None
        elif value is None:
            self.kind, self.value = "null", None
        elif isinstance(value, bool):
            self.kind, self.value = "boolean", value
        elif isinstance(value, (int, float)):
            self.kind, self.value = "number", ("NaN" if isinstance(value, float) and math.isnan(value) else float(value))
        elif isinstance(value, str):
            self.kind, self.value = "string", value
        else:
            self.kind, self.value = "object", id(value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.kind == other.kind and self.value == other.value

    def __hash__(self) -> int:
        return hash((self.kind, self.value))


class _JSMap:
    """A JavaScript Map: insertion-ordered, SameValueZero keys, remembering the original key."""

    def __init__(self):
        self._items: dict[_Key, tuple[Any, Any]] = {}

    def has(self, key: Any) -> bool:
        return _Key(key) in self._items

    def get(self, key: Any) -> Any:
        item = self._items.get(_Key(key))
        return None if item is None else item[1]

    def set(self, key: Any, value: Any = True) -> None:
        k = _Key(key)
        if k in self._items:
            self._items[k] = (self._items[k][0], value)
        else:
            self._items[k] = (key, value)

    def add(self, key: Any) -> None:
        self.set(key, True)

    def delete(self, key: Any) -> None:
        self._items.pop(_Key(key), None)

    def clear(self) -> None:
        self._items.clear()

    def keys(self) -> list:
        return [k for k, _ in self._items.values()]

    def items(self) -> list:
        return list(self._items.values())

    def values(self) -> list:
        return [v for _, v in self._items.values()]

    @property
    def size(self) -> int:
        return len(self._items)


class _Owner:
    """`{ subagentRunId?: string }`: who opened an entity. UNDEFINED is the parent agent."""

    __slots__ = ("subagent_run_id",)

    def __init__(self, subagent_run_id: Any = UNDEFINED):
        self.subagent_run_id = subagent_run_id


def _same(a: Any, b: Any) -> bool:
    """`a === b` for the values these checks compare (ids: strings, or absent)."""
    if a is UNDEFINED or b is UNDEFINED:
        return a is b
    if a is None or b is None:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (Mapping, list)) or isinstance(b, (Mapping, list)):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _owner_label(owner: _Owner) -> str:
    """`owner.subagentRunId ?? "(the parent agent)"`."""
    return "(the parent agent)" if _nullish(owner.subagent_run_id) else _js(owner.subagent_run_id)


# Event type names (EventType of @ag-ui/core).
RUN_STARTED = "RUN_STARTED"
RUN_FINISHED = "RUN_FINISHED"
RUN_ERROR = "RUN_ERROR"
TEXT_MESSAGE_START = "TEXT_MESSAGE_START"
TEXT_MESSAGE_CONTENT = "TEXT_MESSAGE_CONTENT"
TEXT_MESSAGE_END = "TEXT_MESSAGE_END"
TOOL_CALL_START = "TOOL_CALL_START"
TOOL_CALL_ARGS = "TOOL_CALL_ARGS"
TOOL_CALL_END = "TOOL_CALL_END"
TOOL_CALL_RESULT = "TOOL_CALL_RESULT"
STEP_STARTED = "STEP_STARTED"
STEP_FINISHED = "STEP_FINISHED"
ACTIVITY_SNAPSHOT = "ACTIVITY_SNAPSHOT"
ACTIVITY_DELTA = "ACTIVITY_DELTA"
MESSAGES_SNAPSHOT = "MESSAGES_SNAPSHOT"
REASONING_START = "REASONING_START"
REASONING_MESSAGE_START = "REASONING_MESSAGE_START"
REASONING_MESSAGE_CONTENT = "REASONING_MESSAGE_CONTENT"
REASONING_MESSAGE_END = "REASONING_MESSAGE_END"
REASONING_END = "REASONING_END"
REASONING_ENCRYPTED_VALUE = "REASONING_ENCRYPTED_VALUE"
SUBAGENT_STARTED = "SUBAGENT_STARTED"
SUBAGENT_FINISHED = "SUBAGENT_FINISHED"
SUBAGENT_ERROR = "SUBAGENT_ERROR"
CUSTOM = "CUSTOM"


def _as_wire(event: Any) -> Mapping:
    if isinstance(event, Mapping):
        return event
    dump = getattr(event, "model_dump", None)
    if dump is not None:  # a pydantic model of ag_ui.core
        return dump(by_alias=True, mode="json")
    raise TypeError(f"an AG-UI event is a dict (or an ag_ui.core model), not {type(event).__name__}")


def _type_name(event_type: Any) -> Any:
    value = getattr(event_type, "value", event_type)  # EventType enum → its string
    return value


# ---------------------------------------------------------------------------------------------


class EventVerifier:
    """The state machine of `verifyEvents`, one event at a time.

    `is_cancelled` is `VerifyEventsOptions.isCancelled`: it tells `complete()` that the consumer
    cancelled the run, so a stream ending without a terminal event is not reported as truncated.
    """

    def __init__(self, is_cancelled: Optional[Callable[[], bool]] = None):
        self._is_cancelled = is_cancelled
        self._failed: Optional[AGUIError] = None
        # The four sets hold ids only: "is this entity still open?". Ownership lives in `owners`.
        self.active_messages = _JSMap()  # open text message ids
        self.active_tool_calls = _JSMap()  # open tool call ids
        self.active_reasoning_spans = _JSMap()  # open REASONING_START ids
        self.active_reasoning_messages = _JSMap()  # open REASONING_MESSAGE_START ids
        # Owners, retained for the whole run, one bucket per entity kind.
        self.owners = {"message": _JSMap(), "toolCall": _JSMap(), "activity": _JSMap(), "reasoning": _JSMap()}
        self.run_finished = False
        self.run_error = False
        self.first_event_received = False
        # owner (subagentRunId, UNDEFINED for the parent) -> step name -> True
        self.active_steps = _JSMap()
        self.active_subagents = _JSMap()
        self.closed_subagents = _JSMap()
        self.run_started = False

    # -- helpers of the original

    def _steps_for(self, owner: Any) -> _JSMap:
        steps = self.active_steps.get(owner)
        if steps is None:
            steps = _JSMap()
            self.active_steps.set(owner, steps)
        return steps

    def _any_steps_active(self) -> bool:
        return any(steps.size > 0 for steps in self.active_steps.values())

    def _reset_run_state(self) -> None:
        self.active_messages.clear()
        self.active_tool_calls.clear()
        self.active_reasoning_spans.clear()
        self.active_reasoning_messages.clear()
        for bucket in self.owners.values():
            bucket.clear()
        self.active_steps.clear()
        self.active_subagents.clear()
        self.closed_subagents.clear()
        self.run_finished = False
        self.run_error = False
        self.run_started = True

    def _seed_owners_from_messages(self, raw_messages: Any, authoritative: bool) -> Optional[AGUIError]:
        """Ownership seeded from replayed history (MESSAGES_SNAPSHOT, the RUN_STARTED input echo)."""
        messages = [] if _nullish(raw_messages) else raw_messages
        if not isinstance(messages, list):
            return None
        for msg in messages:
            msg_id = _prop(msg, "id")
            if not _truthy(msg) or not isinstance(msg_id, str):
                continue
            msg_subagent = _prop(msg, "subagentRunId")
            if msg_subagent is None:
                return AGUIError(
                    f"Cannot send a message (id '{msg_id}') with 'subagentRunId: null'. "
                    "The field is optional — omit it entirely."
                )
            role = _prop(msg, "role")
            bucket = (
                self.owners["reasoning"]
                if _same(role, "reasoning")
                else self.owners["activity"] if _same(role, "activity") else self.owners["message"]
            )
            if authoritative or not bucket.has(msg_id):
                bucket.set(msg_id, _Owner(msg_subagent))
            tool_calls = _prop(msg, "toolCalls")
            if _nullish(tool_calls):
                tool_calls = []
            if isinstance(tool_calls, Mapping) or isinstance(tool_calls, (bool, int, float)):
                # `for (const tc of msg.toolCalls ?? [])` throws a TypeError on a non-iterable,
                # which ends the TypeScript stream with that error.
                raise AGUIError(f"TypeError: msg.toolCalls is not iterable (message id '{msg_id}')")
            for tc in tool_calls:
                tc_id = _prop(tc, "id")
                if _truthy(tc) and isinstance(tc_id, str) and (authoritative or not self.owners["toolCall"].has(tc_id)):
                    self.owners["toolCall"].set(tc_id, _Owner(UNDEFINED if _nullish(msg_subagent) else msg_subagent))
        return None

    @staticmethod
    def _subagent_tag_error(
        ev_type: str, ev_subagent_run_id: Any, owner: Optional[_Owner], entity_kind: str, entity_id: Any
    ) -> Optional[AGUIError]:
        """A continuation/close must not disagree with the subagent that opened its entity. An absent
        tag always agrees; an opener without a tag is owned by the parent agent."""
        if ev_subagent_run_id is UNDEFINED:
            return None
        if owner is not None and not _same(owner.subagent_run_id, ev_subagent_run_id):
            return AGUIError(
                f"Cannot send '{ev_type}': subagentRunId '{_js(ev_subagent_run_id)}' does not match the "
                f"{entity_kind} '{_js(entity_id)}' opener's subagent '{_owner_label(owner)}'."
            )
        return None

    # -- the operator

    def verify(self, event: Any) -> Any:
        """Checks one event; returns it, or raises AGUIError (and the verifier is then done)."""
        if self._failed is not None:
            raise AGUIError(f"the stream already failed verification: {self._failed}")
        try:
            self._verify(_as_wire(event))
        except AGUIError as error:
            self._failed = error
            raise
        return event

    def _verify(self, event: Mapping) -> None:
        event_type = _type_name(_prop(event, "type"))
        t = _js(event_type)

        # Nothing after RUN_ERROR but a new RUN_STARTED.
        if self.run_error and not _same(event_type, RUN_STARTED):
            raise AGUIError(
                f"Cannot send event type '{t}': The run has already errored with 'RUN_ERROR'. "
                "No further events can be sent."
            )

        # Nothing after RUN_FINISHED but RUN_ERROR or a new RUN_STARTED.
        if self.run_finished and not _same(event_type, RUN_ERROR) and not _same(event_type, RUN_STARTED):
            raise AGUIError(
                f"Cannot send event type '{t}': The run has already finished with 'RUN_FINISHED'. "
                "Start a new run with 'RUN_STARTED'."
            )

        # The first event, and RUN_STARTED only when no run is active.
        if not self.first_event_received:
            self.first_event_received = True
            if not _same(event_type, RUN_STARTED) and not _same(event_type, RUN_ERROR):
                raise AGUIError("First event must be 'RUN_STARTED'")
        elif _same(event_type, RUN_STARTED):
            if self.run_started and not self.run_finished and not self.run_error:
                raise AGUIError(
                    "Cannot send 'RUN_STARTED' while a run is still active. The previous run must be "
                    "finished with 'RUN_FINISHED' before starting a new run."
                )
            if self.run_finished or self.run_error:
                self._reset_run_state()

        # No null attribution tag.
        if _prop(event, "subagentRunId") is None:
            raise AGUIError(f"Cannot send '{t}' with 'subagentRunId: null'. The field is optional — omit it entirely.")

        if isinstance(event_type, str) and event_type in (SUBAGENT_STARTED, SUBAGENT_FINISHED, SUBAGENT_ERROR):
            if event_type == SUBAGENT_STARTED:
                lifecycle_optionals = ["description", "parentSubagentRunId", "parentToolCallId", "parentMessageId"]
            elif event_type == SUBAGENT_FINISHED:
                lifecycle_optionals = ["outcome"]
            else:
                lifecycle_optionals = ["code"]
            for field in lifecycle_optionals:
                if _prop(event, field) is None:
                    raise AGUIError(f"Cannot send '{t}' with '{field}: null'. The field is optional — omit it entirely.")
            finished_outcome = _prop(event, "outcome")
            if (
                finished_outcome is not UNDEFINED
                and finished_outcome is not None
                and not _same(_prop(finished_outcome, "type"), "success")
                and not _same(_prop(finished_outcome, "type"), "suspended")
            ):
                raise AGUIError(
                    f"Cannot send '{t}' with outcome type '{_js(_prop(finished_outcome, 'type'))}'. "
                    'The outcome is either { type: "success" } or { type: "suspended" }.'
                )
            if _truthy(finished_outcome) and _prop(finished_outcome, "interruptIds") is None:
                raise AGUIError(
                    f"Cannot send '{t}' with 'outcome.interruptIds: null'. The field is optional — omit it entirely."
                )
            interrupt_ids = _prop(finished_outcome, "interruptIds")
            if _truthy(finished_outcome) and isinstance(interrupt_ids, list) and any(not isinstance(i, str) for i in interrupt_ids):
                raise AGUIError(
                    f"Cannot send '{t}' with a non-string entry in 'outcome.interruptIds'. Interrupt ids are strings."
                )

        if _same(event_type, RUN_FINISHED):
            # No null attribution on an interrupt either.
            outcome = _prop(event, "outcome")
            interrupts = _prop(outcome, "interrupts")
            if _same(_prop(outcome, "type"), "interrupt") and isinstance(interrupts, list):
                for interrupt in interrupts:
                    if _truthy(interrupt) and _prop(interrupt, "subagentRunId") is None:
                        raise AGUIError(
                            f"Cannot send 'RUN_FINISHED' with an interrupt (id '{_js(_prop(interrupt, 'id'))}') "
                            "carrying 'subagentRunId: null'. The field is optional — omit it entirely."
                        )

        handler = self._HANDLERS.get(event_type) if isinstance(event_type, str) else None
        if handler is not None:
            handler(self, event, event_type)
        # CUSTOM and every other type: passed through.

    # -- text messages

    def _text_message_start(self, event: Mapping, t: str) -> None:
        message_id = _prop(event, "messageId")
        if self.active_messages.has(message_id):
            raise AGUIError(
                f"Cannot send 'TEXT_MESSAGE_START' event: A text message with ID '{_js(message_id)}' is already "
                "in progress. Complete it with 'TEXT_MESSAGE_END' first."
            )
        # First writer wins: a different producer reopening a retained id is a contradiction.
        existing = self.owners["message"].get(message_id)
        if existing is not None:
            error = self._subagent_tag_error(t, _prop(event, "subagentRunId"), existing, "message", message_id)
            if error:
                raise error
        self.active_messages.add(message_id)
        if existing is None:
            self.owners["message"].set(message_id, _Owner(_prop(event, "subagentRunId")))

    def _text_message_content(self, event: Mapping, t: str) -> None:
        message_id = _prop(event, "messageId")
        if not self.active_messages.has(message_id):
            raise AGUIError(
                f"Cannot send 'TEXT_MESSAGE_CONTENT' event: No active text message found with ID "
                f"'{_js(message_id)}'. Start a text message with 'TEXT_MESSAGE_START' first."
            )
        error = self._subagent_tag_error(
            t, _prop(event, "subagentRunId"), self.owners["message"].get(message_id), "message", message_id
        )
        if error:
            raise error

    def _text_message_end(self, event: Mapping, t: str) -> None:
        message_id = _prop(event, "messageId")
        if not self.active_messages.has(message_id):
            raise AGUIError(
                f"Cannot send 'TEXT_MESSAGE_END' event: No active text message found with ID "
                f"'{_js(message_id)}'. A 'TEXT_MESSAGE_START' event must be sent first."
            )
        error = self._subagent_tag_error(
            t, _prop(event, "subagentRunId"), self.owners["message"].get(message_id), "message", message_id
        )
        if error:
            raise error
        self.active_messages.delete(message_id)

    # -- tool calls

    def _tool_call_start(self, event: Mapping, t: str) -> None:
        tool_call_id = _prop(event, "toolCallId")
        if self.active_tool_calls.has(tool_call_id):
            raise AGUIError(
                f"Cannot send 'TOOL_CALL_START' event: A tool call with ID '{_js(tool_call_id)}' is already in "
                "progress. Complete it with 'TOOL_CALL_END' first."
            )
        # A tool call lives inside the message parentMessageId names: its tag may not disagree
        # with that message's owner, and an untagged call inherits it.
        parent_message_id = _prop(event, "parentMessageId")
        event_tag = _prop(event, "subagentRunId")
        inherited_owner: Optional[_Owner] = None
        if parent_message_id is not UNDEFINED:
            parent_owner = self.owners["message"].get(parent_message_id)
            if parent_owner is not None:
                if event_tag is not UNDEFINED and not _same(event_tag, parent_owner.subagent_run_id):
                    raise AGUIError(
                        f"Cannot send 'TOOL_CALL_START': subagentRunId '{_js(event_tag)}' does not match its parent "
                        f"message '{_js(parent_message_id)}' owner '{_owner_label(parent_owner)}'. "
                        "A tool call belongs to the message that carries it."
                    )
                inherited_owner = parent_owner
        # First writer wins, as for TEXT_MESSAGE_START.
        existing = self.owners["toolCall"].get(tool_call_id)
        if existing is not None:
            error = self._subagent_tag_error(t, event_tag, existing, "tool call", tool_call_id)
            if error:
                raise error
            if (
                event_tag is UNDEFINED
                and inherited_owner is not None
                and not _same(inherited_owner.subagent_run_id, existing.subagent_run_id)
            ):
                raise AGUIError(
                    f"Cannot send 'TOOL_CALL_START': tool call '{_js(tool_call_id)}' is owned by "
                    f"'{_owner_label(existing)}' but its parent message '{_js(parent_message_id)}' is owned by "
                    f"'{_owner_label(inherited_owner)}'. A tool call belongs to the message that carries it."
                )
        self.active_tool_calls.add(tool_call_id)
        if existing is None:
            self.owners["toolCall"].set(
                tool_call_id,
                _Owner(event_tag) if event_tag is not UNDEFINED else (inherited_owner or _Owner(UNDEFINED)),
            )

    def _tool_call_args(self, event: Mapping, t: str) -> None:
        tool_call_id = _prop(event, "toolCallId")
        if not self.active_tool_calls.has(tool_call_id):
            raise AGUIError(
                f"Cannot send 'TOOL_CALL_ARGS' event: No active tool call found with ID '{_js(tool_call_id)}'. "
                "Start a tool call with 'TOOL_CALL_START' first."
            )
        error = self._subagent_tag_error(
            t, _prop(event, "subagentRunId"), self.owners["toolCall"].get(tool_call_id), "tool call", tool_call_id
        )
        if error:
            raise error

    def _tool_call_end(self, event: Mapping, t: str) -> None:
        tool_call_id = _prop(event, "toolCallId")
        if not self.active_tool_calls.has(tool_call_id):
            raise AGUIError(
                f"Cannot send 'TOOL_CALL_END' event: No active tool call found with ID '{_js(tool_call_id)}'. "
                "A 'TOOL_CALL_START' event must be sent first."
            )
        error = self._subagent_tag_error(
            t, _prop(event, "subagentRunId"), self.owners["toolCall"].get(tool_call_id), "tool call", tool_call_id
        )
        if error:
            raise error
        self.active_tool_calls.delete(tool_call_id)

    def _tool_call_result(self, event: Mapping, t: str) -> None:
        # Mints a tool message: its id goes on record (the newest mint wins).
        result_message_id = _prop(event, "messageId")
        if isinstance(result_message_id, str):
            self.owners["message"].set(result_message_id, _Owner(_prop(event, "subagentRunId")))

    # -- steps (keyed by owner, then name)

    def _step_started(self, event: Mapping, t: str) -> None:
        step_name = _prop(event, "stepName")
        step_owner = _prop(event, "subagentRunId")
        if self._steps_for(step_owner).has(step_name):
            suffix = f" in subagent '{_js(step_owner)}'" if step_owner is not UNDEFINED else ""
            raise AGUIError(f"Step \"{_js(step_name)}\" is already active for 'STEP_STARTED'{suffix}")
        self._steps_for(step_owner).set(step_name, True)

    def _step_finished(self, event: Mapping, t: str) -> None:
        step_name = _prop(event, "stepName")
        step_owner = _prop(event, "subagentRunId")
        if not self._steps_for(step_owner).has(step_name):
            other_owner: Any = UNDEFINED
            found_other = False
            for owner, names in self.active_steps.items():
                if not _same(owner, step_owner) and names.has(step_name):
                    other_owner = owner
                    found_other = True
                    break
            if found_other:
                who = f"subagent '{_js(step_owner)}'" if step_owner is not UNDEFINED else "the parent agent"
                where = f"subagent '{_js(other_owner)}'" if other_owner is not UNDEFINED else "the parent agent"
                raise AGUIError(
                    f"Cannot send 'STEP_FINISHED' for step \"{_js(step_name)}\" attributed to {who}: that step is "
                    f"open under {where}. A step must be finished by whoever started it."
                )
            raise AGUIError(f"Cannot send 'STEP_FINISHED' for step \"{_js(step_name)}\" that was not started")
        self._steps_for(step_owner).delete(step_name)

    # -- activities

    def _activity_snapshot(self, event: Mapping, t: str) -> None:
        message_id = _prop(event, "messageId")
        # Only a replacing snapshot (or the first one) re-owns the activity.
        is_new = not self.owners["activity"].has(message_id)
        if is_new or _prop(event, "replace") is not False:
            self.owners["activity"].set(message_id, _Owner(_prop(event, "subagentRunId")))

    def _activity_delta(self, event: Mapping, t: str) -> None:
        message_id = _prop(event, "messageId")
        error = self._subagent_tag_error(
            t, _prop(event, "subagentRunId"), self.owners["activity"].get(message_id), "activity", message_id
        )
        if error:
            raise error

    # -- reasoning: spans (REASONING_START/END) and messages (REASONING_MESSAGE_START/END), apart

    def _reasoning_open(self, event: Mapping, t: str) -> None:
        message_id = _prop(event, "messageId")
        is_span = t == REASONING_START
        open_ = self.active_reasoning_spans if is_span else self.active_reasoning_messages
        if open_.has(message_id):
            if is_span:
                raise AGUIError(
                    f"Cannot send 'REASONING_START' event: A reasoning span with ID '{_js(message_id)}' is already "
                    "in progress. Complete it with 'REASONING_END' first."
                )
            raise AGUIError(
                f"Cannot send 'REASONING_MESSAGE_START' event: A reasoning message with ID '{_js(message_id)}' is "
                "already in progress. Complete it with 'REASONING_MESSAGE_END' first."
            )
        existing = self.owners["reasoning"].get(message_id)
        if existing is not None:
            error = self._subagent_tag_error(t, _prop(event, "subagentRunId"), existing, "reasoning message", message_id)
            if error:
                raise error
        open_.add(message_id)
        if existing is None:
            self.owners["reasoning"].set(message_id, _Owner(_prop(event, "subagentRunId")))

    def _reasoning_continue(self, event: Mapping, t: str) -> None:
        message_id = _prop(event, "messageId")
        is_span = t == REASONING_END
        open_ = self.active_reasoning_spans if is_span else self.active_reasoning_messages
        if not open_.has(message_id):
            if is_span:
                raise AGUIError(
                    f"Cannot send 'REASONING_END' event: No active reasoning span found with ID '{_js(message_id)}'. "
                    "A 'REASONING_START' event must be sent first."
                )
            raise AGUIError(
                f"Cannot send '{t}' event: No active reasoning message found with ID '{_js(message_id)}'. "
                "Start a reasoning message with 'REASONING_MESSAGE_START' first."
            )
        error = self._subagent_tag_error(
            t, _prop(event, "subagentRunId"), self.owners["reasoning"].get(message_id), "reasoning message", message_id
        )
        if error:
            raise error
        if t in (REASONING_END, REASONING_MESSAGE_END):
            open_.delete(message_id)

    def _reasoning_encrypted_value(self, event: Mapping, t: str) -> None:
        entity_id = _prop(event, "entityId")
        subtype = _prop(event, "subtype")
        if _same(subtype, "tool-call"):
            owner = self.owners["toolCall"].get(entity_id)
            kind = "tool call"
        elif _same(subtype, "message"):
            owner = self.owners["message"].get(entity_id)
            if owner is None:
                owner = self.owners["reasoning"].get(entity_id)
            kind = "message"
        else:
            owner = self.owners["reasoning"].get(entity_id)
            kind = "reasoning message"
        error = self._subagent_tag_error(t, _prop(event, "subagentRunId"), owner, kind, entity_id)
        if error:
            raise error

    # -- subagents

    def _subagent_started(self, event: Mapping, t: str) -> None:
        subagent_run_id = _prop(event, "subagentRunId")
        if not isinstance(subagent_run_id, str):
            raise AGUIError("Cannot send 'SUBAGENT_STARTED' without a 'subagentRunId'.")
        if not isinstance(_prop(event, "name"), str):
            raise AGUIError("Cannot send 'SUBAGENT_STARTED' without a 'name'.")
        parent = _prop(event, "parentSubagentRunId")
        if self.active_subagents.has(subagent_run_id):
            raise AGUIError(
                f"Cannot send 'SUBAGENT_STARTED': subagent '{subagent_run_id}' is already active. "
                "Finish it with 'SUBAGENT_FINISHED' first."
            )
        if self.closed_subagents.has(subagent_run_id):
            raise AGUIError(
                f"Cannot send 'SUBAGENT_STARTED': subagent '{subagent_run_id}' has already finished in this run. "
                "Subagent IDs are per-invocation and cannot be reused."
            )
        if parent is not UNDEFINED and not self.active_subagents.has(parent) and not self.closed_subagents.has(parent):
            raise AGUIError(
                f"Cannot send 'SUBAGENT_STARTED': parentSubagentRunId '{_js(parent)}' has not been started in this run."
            )
        self.active_subagents.set(subagent_run_id, True)

    def _subagent_ended(self, event: Mapping, t: str) -> None:
        subagent_run_id = _prop(event, "subagentRunId")
        if not isinstance(subagent_run_id, str):
            raise AGUIError(f"Cannot send '{t}' without a 'subagentRunId'.")
        if t == SUBAGENT_ERROR and not isinstance(_prop(event, "message"), str):
            raise AGUIError("Cannot send 'SUBAGENT_ERROR' without a 'message'.")
        if not self.active_subagents.has(subagent_run_id):
            raise AGUIError(
                f"Cannot send '{t}': no active subagent found with ID '{subagent_run_id}'. "
                "A 'SUBAGENT_STARTED' event must be sent first."
            )
        self.active_subagents.delete(subagent_run_id)
        self.closed_subagents.add(subagent_run_id)

    # -- snapshots and the run

    def _messages_snapshot(self, event: Mapping, t: str) -> None:
        error = self._seed_owners_from_messages(_prop(event, "messages"), True)
        if error:
            raise error

    def _run_started(self, event: Mapping, t: str) -> None:
        self.run_started = True
        run_input = _prop(event, "input")
        if _nullish(run_input):
            run_input = {}
        error = self._seed_owners_from_messages(_prop(run_input, "messages"), False)
        if error:
            raise error

    def _run_finished(self, event: Mapping, t: str) -> None:
        if self._any_steps_active():
            parts = []
            for owner, names in self.active_steps.items():
                for name in names.keys():
                    parts.append(f"{_js(name)} (subagent '{_js(owner)}')" if owner is not UNDEFINED else _js(name))
            raise AGUIError(f"Cannot send 'RUN_FINISHED' while steps are still active: {', '.join(parts)}")
        if self.active_messages.size > 0:
            raise AGUIError(
                "Cannot send 'RUN_FINISHED' while text messages are still active: "
                + ", ".join(_js(k) for k in self.active_messages.keys())
            )
        if self.active_reasoning_messages.size > 0:
            raise AGUIError(
                "Cannot send 'RUN_FINISHED' while reasoning messages are still active: "
                + ", ".join(_js(k) for k in self.active_reasoning_messages.keys())
            )
        if self.active_reasoning_spans.size > 0:
            raise AGUIError(
                "Cannot send 'RUN_FINISHED' while reasoning spans are still active: "
                + ", ".join(_js(k) for k in self.active_reasoning_spans.keys())
            )
        if self.active_tool_calls.size > 0:
            raise AGUIError(
                "Cannot send 'RUN_FINISHED' while tool calls are still active: "
                + ", ".join(_js(k) for k in self.active_tool_calls.keys())
            )
        if self.active_subagents.size > 0:
            raise AGUIError(
                "Cannot send 'RUN_FINISHED' while subagents are still active: "
                + ", ".join(_js(k) for k in self.active_subagents.keys())
            )
        self.run_finished = True

    def _run_error(self, event: Mapping, t: str) -> None:
        self.run_error = True  # RUN_ERROR can happen at any time; nothing but a new run follows it

    _HANDLERS = {
        TEXT_MESSAGE_START: _text_message_start,
        TEXT_MESSAGE_CONTENT: _text_message_content,
        TEXT_MESSAGE_END: _text_message_end,
        TOOL_CALL_START: _tool_call_start,
        TOOL_CALL_ARGS: _tool_call_args,
        TOOL_CALL_END: _tool_call_end,
        STEP_STARTED: _step_started,
        STEP_FINISHED: _step_finished,
        ACTIVITY_SNAPSHOT: _activity_snapshot,
        TOOL_CALL_RESULT: _tool_call_result,
        REASONING_START: _reasoning_open,
        REASONING_MESSAGE_START: _reasoning_open,
        REASONING_MESSAGE_CONTENT: _reasoning_continue,
        REASONING_MESSAGE_END: _reasoning_continue,
        REASONING_END: _reasoning_continue,
        REASONING_ENCRYPTED_VALUE: _reasoning_encrypted_value,
        ACTIVITY_DELTA: _activity_delta,
        SUBAGENT_STARTED: _subagent_started,
        SUBAGENT_FINISHED: _subagent_ended,
        SUBAGENT_ERROR: _subagent_ended,
        MESSAGES_SNAPSHOT: _messages_snapshot,
        RUN_STARTED: _run_started,
        RUN_FINISHED: _run_finished,
        RUN_ERROR: _run_error,
    }

    def complete(self) -> None:
        """The stream ended: it must have reached RUN_FINISHED or RUN_ERROR (unless cancelled)."""
        if self._failed is not None:
            raise AGUIError(f"the stream already failed verification: {self._failed}")
        if self.run_finished or self.run_error or (self._is_cancelled is not None and self._is_cancelled()):
            return
        if not self.run_started:
            self._failed = AGUIError(
                "The stream ended without emitting 'RUN_STARTED'. A run must begin with 'RUN_STARTED' and end "
                "with 'RUN_FINISHED' or 'RUN_ERROR'."
            )
        else:
            self._failed = AGUIError(
                "The stream ended without 'RUN_FINISHED' or 'RUN_ERROR'. The run was started but never "
                "terminated, so its result is incomplete."
            )
        raise self._failed


def verify_events(events: Iterable[Any], is_cancelled: Optional[Callable[[], bool]] = None) -> list:
    """Runs a whole stream through the checks, the end-of-stream check included; returns the events."""
    verifier = EventVerifier(is_cancelled=is_cancelled)
    seen = [verifier.verify(event) for event in events]
    verifier.complete()
    return seen
