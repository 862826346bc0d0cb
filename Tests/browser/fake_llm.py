"""A scripted OpenAI-compatible chat-completions server for the browser tests (standard library only).

Workers pointed at it with HERALD_LLM_BASE_URL get answers the tests choose: hostile markdown, a code
block, or a failure (HTTP 503, which the worker turns into a retryable `llm_unavailable`). It streams
the way OpenAI does: a role chunk, the text in pieces, `stop`, the usage, `[DONE]`.

    llm = FakeLLM(); llm.start()      # llm.base_url → http://127.0.0.1:<port>/v1
    llm.answers["show me markdown"] = "# Title\n..."
    llm.failing = True                # every request fails until set back
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    def __init__(self):
        #: Answer for a user message containing the key (first match wins); otherwise an echo.
        self.answers = {}
        #: While true, every completion request gets 503.
        self.failing = False
        self.requests = 0
        self._server = None
        self._thread = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet: pytest shows the tests' own output
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests += 1
                if fake.failing:
                    self._json(503, {"error": {"message": "the model is overloaded (scripted)", "type": "server_error"}})
                    return
                self._stream(fake.reply(body))

            def _json(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = [text[i:i + 24] for i in range(0, len(text), 24)] or [""]
                chunks = [{"role": "assistant", "content": ""}] + [{"content": piece} for piece in pieces]
                for delta in chunks:
                    self._event({"choices": [{"index": 0, "delta": delta, "finish_reason": None}], "usage": None})
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": None})
                words = len(text.split())
                self._event({"choices": [], "usage": {"prompt_tokens": 42, "completion_tokens": words, "total_tokens": 42 + words}})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _event(self, chunk):
                envelope = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 1730000000, "model": "fake"}
                envelope.update(chunk)
                self.wfile.write(b"data: " + json.dumps(envelope).encode() + b"\n\n")
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def reply(self, body):
        messages = body.get("messages") or []
        question = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"), "")
        if not body.get("tools"):
            # Triage asks without tools: a plan, not the answer.
            return "Answer directly; no tool is needed."
        for key, answer in self.answers.items():
            if key in question:
                return answer
        return f"Echo: {question}"

    def stop(self):
        if self._server:
            self._server.shutdown()
            self._server.server_close()
