"""A private Herald deployment for one browser test: redis-server, a relay, workers and a gateway.

The executables come from $HERALD_BIN_DIR (default .build/debug); the gateway serves the chat page
from this working tree (HERALD_PUBLIC_DIR), so the page under test is the one being edited. Every
process logs to artifacts/deployments/<name>/. The gateway can be killed (SIGKILL) and another one
started on the same port, the way a crashed gateway is replaced behind a load balancer.

    with Deployment("resume", offline_delay_ms=200) as herald:
        browser.get(herald.url)
        herald.kill_gateway()
        herald.start_gateway()

With `jwt_secret`, the gateway takes HS256 JWTs (`sub` = user id): `herald.token("alice")`.
With `fake_relay=True`, fake_relay.py plays the worker's and the relay's part instead (scripted runs,
e.g. an approval request that no server-side code is needed for).
"""

import base64
import hashlib
import hmac
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
PUBLIC_DIR = REPO / "Services" / "Gateway" / "Gateway" / "Public"
ARTIFACTS = pathlib.Path(os.environ.get("HERALD_ARTIFACTS", REPO / "artifacts"))


def bin_dir():
    path = pathlib.Path(os.environ.get("HERALD_BIN_DIR", REPO / ".build" / "debug"))
    return path if path.is_absolute() else REPO / path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_jwt(secret, subject, lifetime_seconds=3600):
    """An HS256 JWT as the gateway expects it (made by hand: no dependency for one signature)."""

    def part(data):
        raw = json.dumps(data, separators=(",", ":")).encode() if isinstance(data, dict) else data
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    now = int(time.time())
    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': subject, 'iat': now, 'exp': now + lifetime_seconds})}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(signature)}"


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return None


class Deployment:
    def __init__(self, name, *, jwt_secret=None, offline_delay_ms=5, workers=1, env=None, fake_relay=False):
        self.name = name
        self.jwt_secret = jwt_secret
        self.workers = workers
        self.fake_relay = fake_relay
        self.offline_delay_ms = offline_delay_ms
        self.logs = ARTIFACTS / "deployments" / name
        self.extra_env = {"HERALD_OFFLINE_DELAY_MS": str(offline_delay_ms), **(env or {})}
        self.processes = {}
        self.redis_port = None
        self.port = None

    # ---------------------------------------------------------------- lifecycle

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/"

    def token(self, user, lifetime_seconds=3600):
        assert self.jwt_secret, "a token needs a deployment started with jwt_secret"
        return make_jwt(self.jwt_secret, user, lifetime_seconds)

    def start(self):
        binaries = bin_dir()
        for name in ("herald-gateway", "herald-relay", "herald-worker"):
            if not (binaries / name).exists():
                raise FileNotFoundError(f"{binaries / name} is missing: build first, or set HERALD_BIN_DIR")
        shutil.rmtree(self.logs, ignore_errors=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        try:
            self._start_redis()
            if self.fake_relay:
                self._start_fake_relay()
            else:
                self._start_service("relay", "herald-relay")
                for index in range(1, self.workers + 1):
                    self._start_service(f"worker-{index}", "herald-worker")
            self.port = free_port()
            self.start_gateway()
        except BaseException:
            self.stop()
            raise

    def stop(self):
        # Herald's processes first, so none of them logs a lost Redis connection; Redis last.
        for name in [n for n in self.processes if n != "redis"] + (["redis"] if "redis" in self.processes else []):
            self._terminate(name)

    # ---------------------------------------------------------------- processes

    def _env(self, **more):
        env = dict(os.environ)
        for key in [k for k in env if k.startswith("HERALD_")]:
            del env[key]  # the caller's own settings must not leak into this deployment
        # Every test's browsers are guests from 127.0.0.1: the guest limits are tested by the Swift suites.
        env.update({"HERALD_GUEST_NEW_PER_MINUTE": "100000", "HERALD_GUEST_RUNS_PER_HOUR": "100000"})
        env.update(self.extra_env)
        env.update({
            "HERALD_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}",
            "HERALD_HOST": "127.0.0.1",
            "HERALD_ADMIN_HOST": "127.0.0.1",
            "HERALD_PUBLIC_DIR": str(PUBLIC_DIR),
        })
        if self.jwt_secret:
            env["HERALD_JWT_SECRET"] = self.jwt_secret
        env.update({key: str(value) for key, value in more.items()})
        return env

    def _spawn(self, name, command, env):
        log = open(self.logs / f"{name}.log", "ab")
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True)
        log.close()
        self.processes[name] = process
        return process

    def _start_redis(self):
        for _ in range(5):
            self.redis_port = free_port()
            process = self._spawn("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                            "--save", "", "--appendonly", "no", "--dir", str(self.logs)], os.environ.copy())
            try:
                wait_until(lambda: self._redis_ready(process), 10, "redis-server")
                return
            except TimeoutError:
                self._terminate("redis")  # the port was taken meanwhile: choose another
        raise RuntimeError(f"redis-server did not start; see {self.logs / 'redis.log'}")

    def _redis_ready(self, process):
        if process.poll() is not None:
            raise TimeoutError("redis-server exited")
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def _start_service(self, name, executable):
        admin_port = free_port()
        process = self._spawn(name, [str(bin_dir() / executable)], self._env(HERALD_ADMIN_PORT=admin_port))
        self._await_ready(name, process, f"http://127.0.0.1:{admin_port}/readyz")

    def _start_fake_relay(self):
        script = pathlib.Path(__file__).resolve().parent / "fake_relay.py"
        process = self._spawn("fake-relay", [sys.executable, "-u", str(script), "--redis-url", f"redis://127.0.0.1:{self.redis_port}",
                                             "--delay-ms", str(self.offline_delay_ms)], os.environ.copy())

        def ready():
            if process.poll() is not None:
                raise RuntimeError(f"fake_relay.py exited; see {self.logs / 'fake-relay.log'}")
            return "waiting for runs" in self.log("fake-relay")

        wait_until(ready, 30, "fake_relay.py")

    def start_gateway(self):
        """Starts a gateway on this deployment's port (the same one after `kill_gateway`)."""
        process = self._spawn("gateway", [str(bin_dir() / "herald-gateway")], self._env(HERALD_PORT=self.port))
        self._await_ready("gateway", process, f"http://127.0.0.1:{self.port}/readyz")

    def kill_gateway(self, signal_number=signal.SIGKILL):
        """SIGKILL: no close frame, no drain; the browser sees the connection drop. SIGTERM: the gateway
        shuts down gracefully, closing every socket with 1001 (going away)."""
        process = self.processes.pop("gateway")
        process.send_signal(signal_number)
        process.wait(timeout=30)

    def log(self, name):
        """What a process of this deployment has logged so far."""
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _await_ready(self, name, process, readyz):
        def ready():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}; see {self.logs / (name + '.log')}")
            return http_status(readyz) == 200

        wait_until(ready, 60, f"{name} to be ready ({readyz})")

    def _terminate(self, name):
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
