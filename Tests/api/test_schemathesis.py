"""Schemathesis against the live gateway (HERALD_URL): every operation of /api/openapi.json, with inputs generated
from the document (valid and invalid ones), authenticated as a guest whose threads real runs made. No response may
be a 5xx, and every response must be one the document lists, with its content type and schema.

Two passes: one with the thread ids schemathesis makes up (unknown ones: 404), one with the guest's real thread ids
in the path (200 with real threads and messages, renames, deletes). Bounded: MAX_EXAMPLES generated cases per
operation and pass, besides the document's examples and schemathesis's boundary cases.

Schemathesis 4 (pinned to the 4.x series in scripts/install-deps.sh); its pytest integration loads the document
lazily from a fixture, since the deployment is only known when the tests run.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import Counter

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from herald_api import base_url, requires_deployment, url

pytestmark = [
    requires_deployment,
    # Schemathesis's own strategies use `random`; nothing these tests can change.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

# Per operation and pass; HERALD_API_MAX_EXAMPLES asks for a longer hunt.
MAX_EXAMPLES = int(os.environ.get("HERALD_API_MAX_EXAMPLES", "50"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = hypothesis.settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    derandomize=False,
)


def test_the_pinned_schemathesis_major_version():
    assert schemathesis.__version__.split(".")[0] == "4", \
        f"these tests use the schemathesis 4 Python API; {schemathesis.__version__} is installed (scripts/install-deps.sh)"


@pytest.fixture(scope="session")
def api_schema(guest, finished_threads):
    """The served document, with the guest's token on every request; real threads exist before any case runs."""
    config = schemathesis.Config.from_dict({
        "base-url": base_url(),
        "headers": {"Authorization": f"Bearer {guest.token}"},
        "request-timeout": 30,
        "generation": {
            "mode": "all",
            # The token is the guest's: random `token` queries would only test 401 (test_threads_api does).
            "with-security-parameters": False,
            "max-examples": MAX_EXAMPLES,
        },
        "checks": {
            "enabled": False,
            **{check.__name__: {"enabled": True} for check in CHECKS},
        },
    })
    return schemathesis.openapi.from_url(url("/api/openapi.json"), config=config)


class RealThreads:
    """The guest's thread ids for the path: finished threads and one with an active run for reads and renames (in
    turn), and a few threads of their own for deletes (one each; once they are gone a delete names a deleted thread and gets 404)."""

    def __init__(self, guest, finished_threads, active_thread):
        self.readable = itertools.cycle([runs[0].thread_id for runs in finished_threads] + [active_thread.thread_id])
        self.lock = threading.Lock()
        runs = [guest.run("what is 2+3?"), guest.run("what is 7*6?")]
        # One still running when it is deleted: DELETE cancels the active run.
        runs.append(guest.start("wait 60 seconds"))
        self.deletable = [run.thread_id for run in runs]
        self.deleted = []

    def for_case(self, method: str) -> str:
        with self.lock:
            if method.upper() != "DELETE":
                return next(self.readable)
            if self.deletable:
                thread_id = self.deletable.pop(0)
                self.deleted.append(thread_id)
                return thread_id
            return self.deleted[-1]


@pytest.fixture(scope="session")
def real_threads(guest, finished_threads, active_thread):
    return RealThreads(guest, finished_threads, active_thread)


# (pass, operation, status) of every response, for the coverage check at the end.
SEEN: Counter = Counter()


def call_and_validate(case, label):
    response = case.call_and_validate(checks=CHECKS)
    SEEN[(label, f"{case.method} {case.operation.path}", response.status_code)] += 1


generated = schemathesis.pytest.from_fixture("api_schema")


@generated.parametrize()
@SETTINGS
def test_generated_inputs(case):
    call_and_validate(case, "generated")


with_thread = schemathesis.pytest.from_fixture("api_schema").include(path_regex=r"\{thread_id\}")


@with_thread.parametrize()
@SETTINGS
def test_real_thread_ids(case, real_threads):
    case.path_parameters = {**(case.path_parameters or {}), "thread_id": real_threads.for_case(case.method)}
    call_and_validate(case, "real")


def test_both_passes_reached_every_operation_with_success_and_failure():
    """What the passes above sent got the answers that show they tested something: every operation answered 2xx
    with real ids and 4xx with made-up input (and rejected ids), and the made-up ids were not found."""
    if not SEEN:
        pytest.skip("the schemathesis passes did not run (run the whole module)")
    print("\n".join(f"{label:9} {operation:40} {status}: {count}" for (label, operation, status), count in sorted(SEEN.items())))
    by = lambda label, operation: {status for (l, o, status) in SEEN if l == label and o == operation}
    for operation in ("GET /api/threads/{thread_id}", "PATCH /api/threads/{thread_id}", "DELETE /api/threads/{thread_id}",
                      "GET /api/threads/{thread_id}/messages"):
        assert any(200 <= s < 300 for s in by("real", operation)), (operation, by("real", operation))
        assert 404 in by("generated", operation), (operation, by("generated", operation))
    assert 200 in by("generated", "GET /api/threads") and 400 in by("generated", "GET /api/threads")
    assert 400 in by("real", "PATCH /api/threads/{thread_id}") and 400 in by("real", "GET /api/threads/{thread_id}/messages")
