"""The threads and messages API (DESIGN.md section 9) with exact expectations, against the live gateway (HERALD_URL;
guest mode, offline model): authentication, errors, paging, rename, delete, and the messages real runs leave."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from herald_api import Guest, api, describe, requires_deployment

pytestmark = requires_deployment

ROUTES = [
    ("GET", "/api/threads"),
    ("GET", "/api/threads/{id}"),
    ("PATCH", "/api/threads/{id}"),
    ("DELETE", "/api/threads/{id}"),
    ("GET", "/api/threads/{id}/messages"),
]
UNKNOWN_ID = "no-such-thread_0123456789"


def assert_error(response, status, code):
    assert response.status_code == status, describe(response)
    assert response.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", describe(response)
    body = response.json()
    assert body.get("error") == code and isinstance(body.get("message"), str) and body["message"], describe(response)
    assert set(body) == {"error", "message"}, describe(response)


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def me():
    """A guest of its own, so that other tests' threads do not change what these see."""
    with Guest() as g:
        yield g


@pytest.fixture(scope="module")
def answered(me):
    """One of the guest's threads with one finished run of "what is 2+3?"."""
    run = me.run("what is 2+3?")
    assert run.outcome["type"] == "agent_completed", run.outcome
    return run


# ------------------------------------------------------------------------------------------------ authentication

@pytest.mark.parametrize("method,path", ROUTES)
def test_every_route_is_401_without_a_token(method, path, answered):
    body = {"title": "x"} if method == "PATCH" else None
    response = api(method, path.format(id=answered.thread_id), json=body)
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("method,path", ROUTES)
def test_every_route_is_401_with_a_forged_token(method, path, answered):
    body = {"title": "x"} if method == "PATCH" else None
    forged = answered_token_forged(answered)
    response = api(method, path.format(id=answered.thread_id), token=forged, json=body)
    assert_error(response, 401, "unauthorized")
    response = api(method, path.format(id=answered.thread_id), json=body, params={"token": forged})
    assert_error(response, 401, "unauthorized")


def answered_token_forged(answered):
    return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzb21lb25lIn0.c2lnbmF0dXJlLW5vdC12YWxpZA"


def test_the_token_is_also_accepted_in_the_query(me, answered):
    response = api("GET", f"/api/threads/{answered.thread_id}", params={"token": me.token})
    assert response.status_code == 200, describe(response)
    assert response.json()["thread_id"] == answered.thread_id


# ------------------------------------------------------------------------------------------------ not found

def test_an_unknown_thread_is_404_on_every_thread_route(me):
    for method, path in ROUTES[1:]:
        body = {"title": "x"} if method == "PATCH" else None
        assert_error(api(method, path.format(id=UNKNOWN_ID), token=me.token, json=body), 404, "not_found")


def test_someone_elses_thread_is_404_never_403(answered):
    with Guest() as stranger:
        for method, path in ROUTES[1:]:
            body = {"title": "mine now"} if method == "PATCH" else None
            assert_error(api(method, path.format(id=answered.thread_id), token=stranger.token, json=body),
                         404, "not_found")
        listing = api("GET", "/api/threads", token=stranger.token)
        assert listing.status_code == 200, describe(listing)
        assert answered.thread_id not in [t["thread_id"] for t in listing.json()["threads"]]


# ------------------------------------------------------------------------------------------------ bad requests

@pytest.mark.parametrize("query", [
    {"limit": "0"}, {"limit": "101"}, {"limit": "-1"}, {"limit": "abc"}, {"limit": "1.5"},
    {"cursor": "not a cursor!"}, {"cursor": "%%%"}, {"cursor": "x" * 300},
])
def test_bad_thread_list_parameters_are_400(me, answered, query):
    assert_error(api("GET", "/api/threads", token=me.token, params=query), 400, "bad_request")


@pytest.mark.parametrize("query", [
    {"limit": "0"}, {"limit": "201"}, {"limit": "abc"}, {"before": "not a cursor!"}, {"before": "x" * 300},
])
def test_bad_message_list_parameters_are_400(me, answered, query):
    response = api("GET", f"/api/threads/{answered.thread_id}/messages", token=me.token, params=query)
    assert_error(response, 400, "bad_request")


def test_the_largest_limits_are_accepted(me, answered):
    response = api("GET", "/api/threads", token=me.token, params={"limit": 100})
    assert response.status_code == 200, describe(response)
    response = api("GET", f"/api/threads/{answered.thread_id}/messages", token=me.token, params={"limit": 200})
    assert response.status_code == 200, describe(response)


@pytest.mark.parametrize("body", [
    {"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": 42}, {"title": None}, {},
    {"title": "ok", "extra": 1}, ["title"], "title",
])
def test_a_bad_rename_is_400(me, answered, body):
    response = api("PATCH", f"/api/threads/{answered.thread_id}", token=me.token, json=body)
    assert_error(response, 400, "bad_request")


def test_a_rename_that_is_not_json_is_400(me, answered):
    response = api("PATCH", f"/api/threads/{answered.thread_id}", token=me.token, data=b"{title: nope",
                   headers={"Content-Type": "application/json"})
    assert_error(response, 400, "bad_request")


def test_a_rename_body_over_the_request_limit_is_413(me, answered):
    body = json.dumps({"title": "x" * (2 * 1024 * 1024)})
    response = api("PATCH", f"/api/threads/{answered.thread_id}", token=me.token, data=body,
                   headers={"Content-Type": "application/json"})
    assert_error(response, 413, "too_large")


# ------------------------------------------------------------------------------------------------ threads

def test_a_thread_is_what_its_run_made(me, answered):
    # The run has ended: the script that published the supervisor's end also cleared the active run.
    response = api("GET", f"/api/threads/{answered.thread_id}", token=me.token)
    assert response.status_code == 200, describe(response)
    thread = response.json()
    assert set(thread) == {"thread_id", "title", "created_at", "updated_at", "preview"}, thread
    assert thread["thread_id"] == answered.thread_id
    assert thread["title"] == "what is 2+3?"
    assert parse_time(thread["created_at"]) <= parse_time(thread["updated_at"])
    assert thread["preview"], thread


def test_rename_round_trip(me):
    run = me.run("what is 2+3?")
    path = f"/api/threads/{run.thread_id}"
    renamed = api("PATCH", path, token=me.token, json={"title": "  Arithmetic, renamed  "})
    assert renamed.status_code == 200, describe(renamed)
    assert renamed.json()["title"] == "Arithmetic, renamed" and renamed.json()["thread_id"] == run.thread_id
    got = api("GET", path, token=me.token).json()
    assert got["title"] == "Arithmetic, renamed", got
    assert {k: v for k, v in got.items() if k != "updated_at"} == \
        {k: v for k, v in renamed.json().items() if k != "updated_at"}
    listed = {t["thread_id"]: t for t in api("GET", "/api/threads", token=me.token, params={"limit": 100}).json()["threads"]}
    assert listed[run.thread_id]["title"] == "Arithmetic, renamed"
    longest = "é" * 200
    renamed = api("PATCH", path, token=me.token, json={"title": longest})
    assert renamed.status_code == 200 and renamed.json()["title"] == longest, describe(renamed)


def test_the_thread_list_stays_in_updated_at_order_after_a_rename():
    """The list is the most recently updated first: renaming the older of two threads leaves a list whose
    `updated_at` still never increases down the page (the renamed thread moves up, or its rename is not an update)."""
    with Guest() as g:
        older = g.run("what is 2+3?")
        newer = g.run("what is 2+4?")
        renamed = api("PATCH", f"/api/threads/{older.thread_id}", token=g.token, json={"title": "renamed"})
        assert renamed.status_code == 200, describe(renamed)
        threads = api("GET", "/api/threads", token=g.token).json()["threads"]
        order = [(t["thread_id"], t["updated_at"]) for t in threads]
        assert {older.thread_id, newer.thread_id} == {t for t, _ in order}
        times = [parse_time(t) for _, t in order]
        assert times == sorted(times, reverse=True), f"the list is not newest updated first after a rename: {order}"


def test_the_thread_list_stays_in_updated_at_order_when_runs_end_out_of_order():
    """A thread whose run started first but ended last: the list's order and the threads' `updated_at` agree."""
    with Guest() as g:
        slow = g.start("wait 2 seconds")
        fast = g.run("what is 2+3?")
        g.wait(slow)
        threads = api("GET", "/api/threads", token=g.token).json()["threads"]
        order = [(t["thread_id"], t["updated_at"]) for t in threads]
        assert {slow.thread_id, fast.thread_id} == {t for t, _ in order}
        times = [parse_time(t) for _, t in order]
        assert times == sorted(times, reverse=True), f"the list is not newest updated first: {order}"


def test_delete_then_every_route_is_404(me):
    run = me.run("what is 2+3?")
    path = f"/api/threads/{run.thread_id}"
    deleted = api("DELETE", path, token=me.token)
    assert deleted.status_code == 204 and deleted.content == b"", describe(deleted)
    assert_error(api("GET", path, token=me.token), 404, "not_found")
    assert_error(api("GET", path + "/messages", token=me.token), 404, "not_found")
    assert_error(api("PATCH", path, token=me.token, json={"title": "back"}), 404, "not_found")
    assert_error(api("DELETE", path, token=me.token), 404, "not_found")
    listed = api("GET", "/api/threads", token=me.token, params={"limit": 100}).json()["threads"]
    assert run.thread_id not in [t["thread_id"] for t in listed]


def test_a_thread_with_an_active_run_shows_it_and_delete_cancels_it(me):
    run = me.start("wait 60 seconds")
    path = f"/api/threads/{run.thread_id}"
    thread = api("GET", path, token=me.token).json()
    assert thread.get("active_run_id") == run.run_id, thread
    # The answer so far is one assistant message, streaming, its tool call running: kept by the script that
    # published the call's `tool_executing`.
    me.wait(run, until=lambda r: any(e["type"] == "tool_executing" for e in r.events))
    messages = api("GET", path + "/messages", token=me.token).json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"], messages
    assert messages[0]["content"] == "wait 60 seconds"
    assert messages[1]["status"] == "streaming", messages[1]
    assert [(c["tool_name"], c["status"]) for c in messages[1]["tool_calls"]] == [("wait", "running")], messages[1]
    deleted = api("DELETE", path, token=me.token)
    assert deleted.status_code == 204, describe(deleted)
    assert_error(api("GET", path, token=me.token), 404, "not_found")
    # The run is cancelled (well before its 60 s), and its end does not bring the thread back.
    me.wait(run, timeout=20)
    outcome = run.outcome
    assert outcome["type"] == "agent_error" and outcome["payload"]["code"] == "cancelled" or \
        outcome["type"] == "agent_completed" and outcome["payload"]["status"] == "cancelled", outcome
    assert_error(api("GET", path, token=me.token), 404, "not_found")
    assert_error(api("GET", path + "/messages", token=me.token), 404, "not_found")


def test_the_thread_list_is_newest_updated_first_and_pages_by_cursor():
    with Guest() as g:
        runs = [g.run(f"what is 2+{n}?") for n in range(3)]
        # Another turn on the oldest thread makes it the most recently updated.
        g.run("and what is 3+3?", thread_id=runs[0].thread_id)
        expected = [runs[0].thread_id, runs[2].thread_id, runs[1].thread_id]
        whole = api("GET", "/api/threads", token=g.token)
        assert whole.status_code == 200, describe(whole)
        assert [t["thread_id"] for t in whole.json()["threads"]] == expected
        assert "next_cursor" not in whole.json(), whole.json()
        seen, cursor = [], None
        for _ in range(10):
            page = api("GET", "/api/threads", token=g.token, params={"limit": 1, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, describe(page)
            threads = page.json()["threads"]
            assert len(threads) <= 1
            seen += [t["thread_id"] for t in threads]
            cursor = page.json().get("next_cursor")
            if cursor is None:
                break
        assert seen == expected
        times = [parse_time(t["updated_at"]) for t in whole.json()["threads"]]
        assert times == sorted(times, reverse=True)


# ------------------------------------------------------------------------------------------------ messages

def test_the_messages_of_a_finished_thread_are_the_question_and_the_answer_in_order(me, answered):
    response = api("GET", f"/api/threads/{answered.thread_id}/messages", token=me.token)
    assert response.status_code == 200, describe(response)
    page = response.json()
    assert "next_cursor" not in page, page
    messages = page["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"], messages
    user, assistant = messages
    assert user["content"] == "what is 2+3?"
    assert user["run_id"] == assistant["run_id"] == answered.run_id
    assert "status" not in user and "tool_calls" not in user
    assert assistant["status"] == "complete"
    assert assistant["content"] == answered.report, (assistant["content"], answered.report)
    assert user["message_id"] != assistant["message_id"]
    assert parse_time(user["created_at"]) <= parse_time(assistant["created_at"])
    # The offline model computes 2+3 with its calculator tool; the assistant message carries the call.
    executed = [e["payload"] for e in answered.events if e["type"] == "tool_executing"]
    completed = {e["payload"]["tool_call_id"]: e["payload"] for e in answered.events if e["type"] == "tool_completed"}
    calls = assistant.get("tool_calls", [])
    assert [c["tool_call_id"] for c in calls] == [e["tool_call_id"] for e in executed]
    for call, began in zip(calls, executed):
        assert call["tool_name"] == began["tool_name"] and call["arguments"] == began["arguments"]
        done = completed[call["tool_call_id"]]
        assert call["status"] == done["status"]
        assert call.get("result") == done.get("result") and call.get("error") == done.get("error")


def test_messages_page_back_from_the_newest_with_before():
    with Guest() as g:
        first = g.run("what is 2+3?")
        runs = [first] + [g.run(f"and what is 2+{n}?", thread_id=first.thread_id) for n in range(4, 7)]
        path = f"/api/threads/{first.thread_id}/messages"
        whole = api("GET", path, token=g.token).json()["messages"]
        assert [(m["run_id"], m["role"]) for m in whole] == \
            [(r.run_id, role) for r in runs for role in ("user", "assistant")]
        assert [m["content"] for m in whole if m["role"] == "user"] == [r.content for r in runs]
        pages, before = [], None
        for _ in range(10):
            response = api("GET", path, token=g.token, params={"limit": 3, **({"before": before} if before else {})})
            assert response.status_code == 200, describe(response)
            pages.append(response.json()["messages"])
            assert 1 <= len(pages[-1]) <= 3
            before = response.json().get("next_cursor")
            if before is None:
                break
        # The newest page first; oldest first within a page.
        assert [m for page in reversed(pages) for m in page] == whole
        assert [len(p) for p in pages] == [3, 3, 2]
