"""tools_server.py's tools over Streamable HTTP (the official Python SDK's own server): `http_server.py PORT json`
answers each request with plain JSON, `http_server.py PORT sse` with a stream of server-sent events."""

import sys

import anyio

from tools_server import server

if __name__ == "__main__":
    port, mode = int(sys.argv[1]), sys.argv[2]
    anyio.run(lambda: server.run_streamable_http_async(host="127.0.0.1", port=port, json_response=(mode == "json")))
