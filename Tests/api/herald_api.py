"""Helpers of the threads and messages API tests (DESIGN.md section 9) against a running deployment (HERALD_URL;
guest mode, offline model): where the API is, a guest's token from `/ws`, and real threads made by real runs."""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urljoin, urlsplit, urlunsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT_PATH = ROOT / "Services" / "Gateway" / "Gateway" / "Public" / "api" / "openapi.json"
HERALD_URL = os.environ.get("HERALD_URL", "")
SUBPROTOCOL = "herald.v1"
# How long one run of the offline model may take (it streams its answer a few ms a word in the test deployment).
RUN_TIMEOUT = 60.0

requires_deployment = pytest.mark.skipif(
    not HERALD_URL,
    reason="HERALD_URL is not set: the API tests need a running Herald in guest mode with the offline model "
    "(scripts/test.sh starts one and sets it)",
)


def base_url() -> str:
    """The deployment's URL without a trailing slash (schemathesis joins operation paths to it)."""
    return HERALD_URL.rstrip("/")


def url(path: str) -> str:
    return urljoin(base_url() + "/", path.lstrip("/"))


def ws_url(token: Optional[str] = None) -> str:
    parts = urlsplit(base_url())
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = f"token={token}" if token else ""
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/ws", query, ""))


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def api(method: str, path: str, token: Optional[str] = None, **kwargs) -> requests.Response:
    """One request to the API, as `token`'s user when there is one."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if token:
        headers.update(bearer(token))
    return requests.request(method, url(path), headers=headers, timeout=30, allow_redirects=False, **kwargs)


def describe(response: requests.Response) -> str:
    """The request and its answer, for assertion messages."""
    request = response.request
    body = request.body.decode() if isinstance(request.body, bytes) else request.body
    return (f"{request.method} {request.url}{f' body {body!r}' if body else ''} -> {response.status_code} "
            f"{response.headers.get('Content-Type')!r} {response.text[:500]!r}")


@dataclass
class Run:
    """A run of a thread as /ws reported it."""

    thread_id: str
    run_id: str
    content: str
    events: list = field(default_factory=list)

    @property
    def outcome(self) -> Optional[dict]:
        """The supervisor's `agent_completed` or `agent_error`, once the run has ended."""
        for event in self.events:
            if event.get("agent_name") == "supervisor" and event.get("type") in ("agent_completed", "agent_error"):
                return event
        return None

    @property
    def report(self) -> Optional[str]:
        for event in self.events:
            if event.get("type") == "final_report":
                return event["payload"]["report"]
        return None


class Guest:
    """A guest user of the deployment, with one /ws connection that sends its messages and watches its runs."""

    def __init__(self):
        from websockets.sync.client import connect

        self._exit = ExitStack()
        self.ws = self._exit.enter_context(connect(ws_url(), subprotocols=[SUBPROTOCOL], open_timeout=10, max_size=None))
        hello = json.loads(self.ws.recv(timeout=10))
        assert hello.get("type") == "connection_established" and hello.get("guest_token"), \
            f"no guest token from /ws (is the deployment in guest mode?): {hello}"
        self.token: str = hello["guest_token"]
        self.user_id: str = hello["user_id"]
        # Frames that arrived while waiting for others.
        self._pending: list = []

    def close(self):
        self._exit.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def _next(self, deadline: float) -> dict:
        if self._pending:
            return self._pending.pop(0)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return json.loads(self.ws.recv(timeout=remaining))

    def start(self, content: str, thread_id: Optional[str] = None, timeout: float = 30.0) -> Run:
        """Sends a user message (a new thread without `thread_id`); returns the queued run without waiting for it."""
        client_msg_id = f"m{time.monotonic_ns()}"
        message = {"type": "user_message", "content": content, "client_msg_id": client_msg_id}
        if thread_id:
            message["thread_id"] = thread_id
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        held = []
        try:
            while True:
                frame = self._next(deadline)
                if frame.get("type") == "run_queued" and frame.get("client_msg_id") == client_msg_id:
                    return Run(thread_id=frame["thread_id"], run_id=frame["run_id"], content=content)
                if frame.get("type") == "error" and frame.get("ref") in (None, client_msg_id):
                    raise AssertionError(f"/ws refused {message}: {frame}")
                held.append(frame)
        finally:
            self._pending = held + self._pending

    def wait(self, run: Run, timeout: float = RUN_TIMEOUT, until=None) -> Run:
        """Collects `run`'s events until `until(run)` holds: by default, the supervisor's `agent_completed` or
        `agent_error`."""
        done = until or (lambda r: r.outcome is not None)
        deadline = time.monotonic() + timeout
        held = []
        try:
            while not done(run):
                try:
                    frame = self._next(deadline)
                except TimeoutError:
                    raise AssertionError(f"run {run.run_id} did not end within {timeout} s: {run.events[-5:]}")
                if frame.get("run_id") == run.run_id and "seq" in frame:
                    run.events.append(frame)
                elif frame.get("type") == "error":
                    raise AssertionError(f"/ws error while waiting for run {run.run_id}: {frame}")
                else:
                    held.append(frame)
        finally:
            self._pending = held + self._pending
        return run

    def run(self, content: str, thread_id: Optional[str] = None) -> Run:
        """Sends a user message and waits for its run to end."""
        return self.wait(self.start(content, thread_id))
