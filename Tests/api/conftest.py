"""Fixtures of the API tests: a guest of the running deployment (HERALD_URL) and threads its real runs made."""

from __future__ import annotations

import json

import pytest

from herald_api import HERALD_URL, Guest

QUESTION = "what is 2+3?"


@pytest.fixture(scope="session")
def guest():
    """A guest with one /ws connection, whose threads the tests read."""
    if not HERALD_URL:
        pytest.skip("HERALD_URL is not set")
    with Guest() as g:
        yield g


@pytest.fixture(scope="session")
def finished_threads(guest):
    """Two of the guest's threads with finished runs: the first has two runs (four messages), the second one."""
    first = guest.run(QUESTION)
    second_turn = guest.run("and what is 2+4?", thread_id=first.thread_id)
    other = guest.run(QUESTION)
    return [[first, second_turn], [other]]


@pytest.fixture(scope="session")
def active_thread(guest):
    """One of the guest's threads whose run waits (a cancellable tool call) for as long as the tests read it."""
    run = guest.start("wait 240 seconds")
    yield run
    guest.ws.send(json.dumps({"type": "cancel_run", "run_id": run.run_id}))
