#!/usr/bin/env python3
"""Plays the worker's and the relay's part for one gateway, to try the chat page without them.

It takes runs off the run queue and, for each, appends a scripted run of events to the thread's
log exactly as herald-relay does (seq, epoch, history, publish, free the thread at the end):
supervisor -> triage -> assistant (calculator tool for arithmetic, streamed answer) -> reporting.
`wait N seconds` waits (cancellable with the Stop button). `approval within N seconds` calls a
`send_email` tool that asks for approval (approval_requested) and, as nothing here takes the
decision, lets the request expire after N seconds (approval_resolved `expired`, tool_completed
`denied`). Standard library only.

    python3 Tests/browser/fake_relay.py --redis-url redis://127.0.0.1:6379 --prefix herald
"""

import argparse
import ast
import json
import operator
import re
import socket
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlparse

APPEND = """
-- KEYS: log state (hash: epoch, seq), history (list), active run
-- ARGV: event json, epoch candidate, history size, ttl, channel, run id, terminal
local head = redis.call('HMGET', KEYS[1], 'epoch', 'seq')
local epoch = head[1]
local seq = 1
if epoch then
  seq = tonumber(head[2] or '0') + 1
else
  epoch = ARGV[2]
  redis.call('DEL', KEYS[1], KEYS[2])
end
local frame = '{"seq":' .. seq .. ',"epoch":"' .. epoch .. '",' .. string.sub(ARGV[1], 2)
redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', seq)
redis.call('RPUSH', KEYS[2], frame)
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
for _, key in ipairs({KEYS[1], KEYS[2]}) do redis.call('EXPIRE', key, ARGV[4]) end
redis.call('PUBLISH', ARGV[5], frame)
if ARGV[7] == '1' and redis.call('GET', KEYS[3]) == ARGV[6] then
  redis.call('DEL', KEYS[3])
end
return seq
"""


class Redis:
    """The smallest RESP2 client that does the job."""

    def __init__(self, url):
        parts = urlparse(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379))
        self.file = self.sock.makefile("rb")
        if parts.password:
            self.call("AUTH", *( [parts.username] if parts.username else []), parts.password)

    def call(self, *args):
        out = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            out.append(f"${len(data)}\r\n".encode() + data + b"\r\n")
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self.file.read(length + 2)[:-2]
            return data.decode()
        if kind == b"*":
            length = int(rest)
            return None if length < 0 else [self._read() for _ in range(length)]
        raise RuntimeError(f"unexpected reply {line!r}")


OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def evaluate(node):
    if isinstance(node, ast.Expression):
        return evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        return OPERATORS[type(node.op)](evaluate(node.left), evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -evaluate(node.operand)
    raise ValueError("not arithmetic")


class Run:
    def __init__(self, redis, prefix, request, delay):
        self.redis, self.prefix, self.request, self.delay = redis, prefix, request, delay
        self.thread, self.run_id = request["thread_id"], request["run_id"]
        self.started = time.monotonic()

    def emit(self, agent, kind, payload, terminal=False):
        event = {
            "type": kind, "thread_id": self.thread, "run_id": self.run_id, "event_id": str(uuid.uuid4()),
            "agent_name": agent,
            "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "payload": payload,
        }
        tag = "{" + self.thread + "}"
        keys = [f"{self.prefix}:thread:{tag}:state", f"{self.prefix}:thread:{tag}:log",
                f"{self.prefix}:thread:{tag}:active"]
        self.redis.call("EVAL", APPEND, len(keys), *keys, json.dumps(event, separators=(",", ":")),
                        "ep_" + uuid.uuid4().hex[:16], 1000, 86400, f"{self.prefix}:thread:{tag}:events",
                        self.run_id, "1" if terminal else "0")
        time.sleep(self.delay)

    def cancelled(self):
        return self.redis.call("EXISTS", f"{self.prefix}:run:{self.run_id}:cancelled") == 1

    def pause_unless_cancelled(self, seconds):
        """The fake worker's own timer (a wait tool, an approval's expiry), cut short by a cancellation."""
        self.pause_unless_cancelled(seconds)

    def ms(self, since):
        return int((time.monotonic() - since) * 1000)

    def expiring_approval(self, seconds):
        call = "call_" + uuid.uuid4().hex[:8]
        approval_id = "apr_" + uuid.uuid4().hex[:12]
        arguments = {"to": "ops@example.com", "subject": "Weekly report", "body": "All green."}
        self.emit("assistant", "tool_executing", {"tool_call_id": call, "tool_name": "send_email", "arguments": arguments})
        expires = datetime.now(timezone.utc).timestamp() + seconds
        self.emit("assistant", "approval_requested", {
            "approval_id": approval_id, "tool_call_id": call, "tool_name": "send_email", "arguments": arguments,
            "expires_at": datetime.fromtimestamp(expires, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        })
        began = time.monotonic()
        while time.monotonic() - began < seconds and not self.cancelled():
            time.sleep(0.1)
        decision = "cancelled" if self.cancelled() else "expired"
        self.emit("assistant", "approval_resolved", {"approval_id": approval_id, "tool_call_id": call, "decision": decision, "arguments": arguments})
        self.emit("assistant", "tool_completed", {"tool_call_id": call, "tool_name": "send_email", "status": "denied" if decision == "expired" else "cancelled",
                                                  "error": f"the approval request {decision}", "duration_ms": self.ms(began)})
        return None if decision == "cancelled" else f"The send_email call was not approved (the request {decision})."

    def play(self):
        content = self.request["content"]
        self.emit("supervisor", "agent_started", {"agent_name": "supervisor", "attempt": 1})
        self.emit("supervisor", "agent_thinking", {"thought": "Planning the work", "step_number": 1, "total_steps": 3})
        begun = time.monotonic()
        self.emit("triage", "agent_started", {"agent_name": "triage", "parent_agent": "supervisor", "attempt": 1})
        self.emit("triage", "agent_thinking", {"thought": "Deciding what the request needs"})
        self.emit("triage", "agent_completed", {"agent_name": "triage", "status": "success", "duration_ms": self.ms(begun)})
        assistant = time.monotonic()
        self.emit("assistant", "agent_started", {"agent_name": "assistant", "parent_agent": "supervisor", "attempt": 1})
        outcomes = []
        expression = re.search(r"[-(\d][\d\s+\-*/().]*\d\)?", content)
        wait = re.search(r"wait (\d+) seconds?", content)
        approval = re.search(r"approval within (\d+) seconds?", content)
        if approval:
            outcome = self.expiring_approval(min(int(approval.group(1)), 300))
            if outcome is None:  # cancelled while it waited: the run ends cancelled
                self.emit("assistant", "agent_completed", {"agent_name": "assistant", "status": "cancelled", "duration_ms": self.ms(assistant)})
                self.emit("supervisor", "agent_completed", {"agent_name": "supervisor", "status": "cancelled", "duration_ms": self.ms(self.started)}, terminal=True)
                return
            outcomes.append(outcome)
        elif wait:
            call = "call_" + uuid.uuid4().hex[:8]
            seconds = min(int(wait.group(1)), 300)
            self.emit("assistant", "tool_executing", {"tool_call_id": call, "tool_name": "wait", "arguments": {"seconds": seconds}})
            began = time.monotonic()
            self.pause_unless_cancelled(seconds)
            if self.cancelled():
                self.emit("assistant", "tool_completed", {"tool_call_id": call, "tool_name": "wait", "status": "cancelled", "duration_ms": self.ms(began)})
                self.emit("assistant", "agent_completed", {"agent_name": "assistant", "status": "cancelled", "duration_ms": self.ms(assistant)})
                self.emit("supervisor", "agent_completed", {"agent_name": "supervisor", "status": "cancelled", "duration_ms": self.ms(self.started)}, terminal=True)
                return
            self.emit("assistant", "tool_completed", {"tool_call_id": call, "tool_name": "wait", "status": "success", "result": {"waited_seconds": seconds}, "duration_ms": self.ms(began)})
            outcomes.append(f"I waited {seconds} seconds.")
        elif expression:
            call = "call_" + uuid.uuid4().hex[:8]
            text = expression.group(0).strip()
            self.emit("assistant", "tool_executing", {"tool_call_id": call, "tool_name": "calculator", "arguments": {"expression": text}})
            began = time.monotonic()
            try:
                value = evaluate(ast.parse(text, mode="eval"))
                value = int(value) if float(value).is_integer() else value
                self.emit("assistant", "tool_completed", {"tool_call_id": call, "tool_name": "calculator", "status": "success", "result": {"value": value}, "duration_ms": self.ms(began)})
                outcomes.append(f"{text} = {value}.")
            except (ValueError, ZeroDivisionError, SyntaxError) as error:
                self.emit("assistant", "tool_completed", {"tool_call_id": call, "tool_name": "calculator", "status": "error", "error": str(error) or "division by zero", "duration_ms": self.ms(began)})
                outcomes.append(f"The calculator failed: {error or 'division by zero'}.")
        answer = " ".join(outcomes) or f"You said: {content}"
        words = answer.split(" ")
        for index, word in enumerate(words):
            last = index == len(words) - 1
            self.emit("assistant", "partial_result", {"content": word + ("" if last else " "), "is_complete": last})
        self.emit("assistant", "agent_completed", {"agent_name": "assistant", "status": "success", "duration_ms": self.ms(assistant)})
        reporting = time.monotonic()
        self.emit("reporting", "agent_started", {"agent_name": "reporting", "parent_agent": "supervisor", "attempt": 1})
        self.emit("reporting", "final_report", {"report": answer, "total_duration_ms": self.ms(self.started)})
        self.emit("reporting", "agent_completed", {"agent_name": "reporting", "status": "success", "duration_ms": self.ms(reporting)})
        self.emit("supervisor", "agent_completed", {"agent_name": "supervisor", "status": "success", "duration_ms": self.ms(self.started)}, terminal=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--prefix", default="herald")
    parser.add_argument("--delay-ms", type=int, default=40, help="pause after each event")
    args = parser.parse_args()
    redis = Redis(args.redis_url)
    last = "$"
    print("fake relay waiting for runs", flush=True)
    while True:
        reply = redis.call("XREAD", "BLOCK", 1000, "STREAMS", f"{args.prefix}:runs", last)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                request = json.loads(dict(zip(fields[::2], fields[1::2]))["run"])
                print(f"run {request['run_id']} on {request['thread_id']}: {request['content']!r}", flush=True)
                Run(redis, args.prefix, request, args.delay_ms / 1000).play()


if __name__ == "__main__":
    main()
