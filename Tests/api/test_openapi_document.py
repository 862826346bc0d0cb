"""The OpenAPI 3.1 document of the threads and messages API (DESIGN.md section 9): the file in the repository and
the copy the gateway serves at /api/openapi.json are valid documents (openapi-spec-validator), the same, and say
what the contract says."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import requests
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from herald_api import DOCUMENT_PATH, ROOT, requires_deployment, url

OPERATIONS = {
    ("get", "/api/threads"),
    ("get", "/api/threads/{thread_id}"),
    ("patch", "/api/threads/{thread_id}"),
    ("delete", "/api/threads/{thread_id}"),
    ("get", "/api/threads/{thread_id}/messages"),
}
ERROR_CODES = {"bad_request", "unauthorized", "forbidden", "not_found", "thread_busy", "conflict", "rate_limited",
               "too_large", "internal"}


@pytest.fixture(scope="module")
def document():
    return json.loads(DOCUMENT_PATH.read_text())


def test_the_repository_document_is_a_valid_openapi_3_1_document(document):
    assert document["openapi"].startswith("3.1."), document["openapi"]
    assert document["info"]["version"] == "1.0.0"
    validate(document, cls=OpenAPIV31SpecValidator)


@requires_deployment
def test_the_gateway_serves_the_document_at_api_openapi_json(document):
    response = requests.get(url("/api/openapi.json"), timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.headers.get("Content-Type", "").split(";")[0].strip() == "application/json", response.headers
    served = response.json()
    validate(served, cls=OpenAPIV31SpecValidator)
    assert served == document, "the served document is not the repository's Public/api/openapi.json"


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch", "head", "options", "trace"):
                yield method, path, operation


def deref(document, node):
    """`node`, following a local `$ref` (one level after another)."""
    while isinstance(node, dict) and "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def test_the_document_describes_every_route_of_section_9_and_no_other(document):
    assert {(method, path) for method, path, _ in operations(document)} == OPERATIONS


def test_every_route_requires_a_token_and_answers_401_without_one(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["queryToken"] == {**schemes["queryToken"], "type": "apiKey", "in": "query", "name": "token"}
    assert document["security"] == [{"bearerAuth": []}, {"queryToken": []}]
    for method, path, operation in operations(document):
        assert operation.get("security", document["security"]) == document["security"], (method, path)
        assert "401" in operation["responses"], (method, path)


def test_errors_are_the_json_error_object_with_the_protocol_codes(document):
    error = document["components"]["schemas"]["Error"]
    assert set(error["properties"]["error"]["enum"]) == ERROR_CODES
    assert error["required"] == ["error", "message"] and error["additionalProperties"] is False
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                schema = deref(document, response)["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_the_thread_id_rule_is_the_gateways(document):
    """The path's thread id is what `ConnectionSession.isValidID` accepts: letters, digits, `_` and `-`, at most N."""
    sources = list((ROOT / "Services" / "Gateway").rglob("*.swift"))
    found = None
    for source in sources:
        text = source.read_text()
        match = re.search(r"static func isValidID\(_ id: String\) -> Bool \{\s*!id\.isEmpty && id\.utf8\.count <= (\d+)",
                          text)
        if match:
            found = int(match.group(1))
    assert found, "the gateway's thread id rule (ConnectionSession.isValidID) was not found"
    thread_id = document["components"]["schemas"]["ThreadId"]
    assert thread_id["maxLength"] == found
    assert thread_id["pattern"] == f"^[A-Za-z0-9_-]{{1,{found}}}$"
    pattern = re.compile(thread_id["pattern"])
    assert pattern.match("th_9f2c4e1a7b-X") and not pattern.match("a/b") and not pattern.match("x" * (found + 1))


def test_paging_parameters_have_the_contracts_bounds_and_defaults(document):
    def parameter(path, name):
        for p in document["paths"][path]["get"]["parameters"]:
            if p["name"] == name:
                return p["schema"]
        raise AssertionError(f"{path} has no parameter {name}")

    assert parameter("/api/threads", "limit") == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert parameter("/api/threads/{thread_id}/messages", "limit") == \
        {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}
    assert deref(document, parameter("/api/threads", "cursor"))["type"] == "string"
    assert deref(document, parameter("/api/threads/{thread_id}/messages", "before"))["type"] == "string"


def validator_for(document, name):
    """A JSON Schema validator of component `name`, resolving the document's other components."""
    root = {**document, "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": f"#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_every_example_conforms_to_its_schema(document):
    checked = 0
    for name, schema in document["components"]["schemas"].items():
        for example in schema.get("examples", []):
            validator_for(document, name).validate(example)
            checked += 1
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            for media in deref(document, response).get("content", {}).values():
                ref = media["schema"]["$ref"].rsplit("/", 1)[-1]
                examples = [e["value"] for e in media.get("examples", {}).values()]
                examples += [media["example"]] if "example" in media else []
                for example in examples:
                    validator_for(document, ref).validate(example)
                    checked += 1
    assert checked >= 10


def test_the_schemas_refuse_what_the_contract_refuses(document):
    thread = validator_for(document, "Thread")
    good = {"thread_id": "t1", "title": "x", "created_at": "2025-01-01T00:00:00.000Z",
            "updated_at": "2025-01-01T00:00:00.000Z", "preview": ""}
    thread.validate(good)
    for bad in ({**good, "extra": 1}, {**good, "created_at": "yesterday"}, {k: v for k, v in good.items() if k != "title"},
                {**good, "active_run_id": None}):
        assert not thread.is_valid(bad), bad
    message = validator_for(document, "Message")
    user = {"message_id": "m", "run_id": "r", "role": "user", "content": "hi", "created_at": good["created_at"]}
    message.validate(user)
    message.validate({**user, "role": "assistant", "status": "streaming", "tool_calls": []})
    for bad in ({**user, "status": "complete"}, {**user, "tool_calls": []}, {**user, "role": "system"},
                {**user, "role": "assistant", "status": "done"},
                {**user, "role": "assistant", "tool_calls": [{"tool_call_id": "c", "tool_name": "t", "arguments": [],
                                                              "status": "success"}]}):
        assert not message.is_valid(bad), bad
    rename = validator_for(document, "ThreadRename")
    rename.validate({"title": " x "})
    for bad in ({"title": ""}, {"title": "   "}, {"title": "x" * 201}, {"title": "x", "other": 1}, {}, {"title": 3}):
        assert not rename.is_valid(bad), bad
