"""deploy/Dockerfile and the image's healthcheck.

No Docker engine runs where the tests run, so the Dockerfile is checked by reading it: it installs
its packages through scripts/install-deps.sh (so CI exercises the same script), builds every service
executable that Package.swift declares, and lays out what the binaries need at run time. The
healthcheck script is run for real against small local HTTP servers."""

import http.server
import os
import re
import socket
import subprocess
import threading

import pytest

from herald_deploy import DOCKERFILE, HEALTHCHECK, INSTALL_DEPS, PACKAGE_SWIFT, ROOT


def dockerfile_stages():
    """Each stage of the Dockerfile: (FROM line, instructions with continuations joined)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.upper().startswith("FROM "):
            stages.append((stripped, []))
        elif stages:
            stages[-1][1].append(stripped)
    return stages


def service_products():
    """The executables of the services: Package.swift's executable targets under Services/."""
    manifest = PACKAGE_SWIFT.read_text(encoding="utf-8")
    targets = re.findall(r'\.executableTarget\(\s*name:\s*"([^"]+)".*?path:\s*"([^"]+)"', manifest, re.DOTALL)
    names = sorted(name for name, path in targets if path.startswith("Services/"))
    assert len(names) >= 3, f"expected herald-gateway, herald-worker and herald-relay, found {names}"
    return names


def runtime_packages():
    """The packages `install-deps.sh --runtime` installs."""
    script = INSTALL_DEPS.read_text(encoding="utf-8")
    match = re.search(r"--runtime\)\s*(.*?);;", script, re.DOTALL)
    assert match, "install-deps.sh has no --runtime mode"
    return set(re.findall(r"need\s+([a-z0-9.+-]+)", match.group(1)))


def test_dockerfile_installs_through_install_deps_in_both_stages():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    (build_from, build), (runtime_from, runtime) = stages[0], stages[-1]
    build_runs = [i for i in build if i.upper().startswith("RUN ") and "install-deps.sh" in i]
    assert build_runs, "the builder must install its packages with scripts/install-deps.sh"
    assert not any("--runtime" in i or "--test" in i for i in build_runs), "the builder uses build mode"
    runtime_runs = [i for i in runtime if i.upper().startswith("RUN ") and "install-deps.sh" in i]
    assert any("--runtime" in i for i in runtime_runs), "the runtime stage uses install-deps.sh --runtime"
    for instructions in (build, runtime):
        assert any(i.upper().startswith("COPY ") and "scripts/install-deps.sh" in i for i in instructions)
        assert not any(re.search(r"\bapt-get\s+install\b", i) for i in instructions), (
            "packages come from scripts/install-deps.sh, not a separate apt-get install")


def test_runtime_mode_installs_only_hiredis_and_ca_certificates():
    packages = runtime_packages()
    assert packages == {"libhiredis0.14", "ca-certificates"}, packages


def test_base_images_are_swift_6_and_debian_bookworm():
    text = DOCKERFILE.read_text(encoding="utf-8")
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.MULTILINE))
    stages = dockerfile_stages()
    images = []
    for from_line, _ in stages:
        image = from_line.split()[1]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
        images.append(image)
    assert re.fullmatch(r"swift:6\.\d+(\.\d+)?-bookworm", images[0]), images[0]
    assert images[-1] == "debian:bookworm-slim", images[-1]


def test_dockerfile_builds_every_service_statically():
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    build = next(i for i in dockerfile_stages()[0][1] if "swift build" in i and "--product" in i)
    assert "-c release" in build and "--static-swift-stdlib" in build
    for product in service_products():
        assert product in text, f"the Dockerfile does not build {product}"
        assert re.search(rf'cp\b[^\n]*{re.escape(product)}', text), f"the Dockerfile does not copy {product}"


def test_runtime_stage_has_resources_docs_and_a_non_root_user():
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    assert re.search(r"-name\s+'\*\.resources'", text), "every SwiftPM resource bundle goes beside the binaries"
    assert "herald_Gateway.resources" in text, "the chat page's bundle must be checked for"
    assert re.search(r"cp -R docs /staging/docs", text) and "COPY --from=build /staging/ /app/" in text
    assert re.search(r"HERALD_DOCS_DIR=/app/docs\b", text)
    runtime = dockerfile_stages()[-1][1]
    users = [i.split(None, 1)[1] for i in runtime if i.upper().startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the services must not run as root"
    assert "herald-healthcheck" in text, "the compose healthchecks call herald-healthcheck"


def test_dockerignore_keeps_build_folders_out():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    for pattern in (".build", ".build-*", "artifacts", "Package.resolved"):
        assert pattern in ignored, pattern


# ---- the healthcheck script, run for real -----------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):
        code = self.server.status if self.path == "/readyz" else 404
        body = b"ready\n" if code == 200 else b"redis unreachable\n"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def http_server():
    servers = []

    def start(status):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.status = status
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def healthcheck(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    environment.update(env)
    return subprocess.run(["bash", str(HEALTHCHECK), *args], capture_output=True, text=True, env=environment, timeout=30)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthcheck_passes_on_200(http_server):
    port = http_server(200)
    assert healthcheck(str(port)).returncode == 0
    assert healthcheck("gateway", HERALD_PORT=str(port)).returncode == 0
    assert healthcheck("worker", HERALD_ADMIN_PORT=str(port)).returncode == 0
    assert healthcheck("relay", HERALD_ADMIN_PORT=str(port)).returncode == 0


def test_healthcheck_fails_on_503_and_on_a_closed_port(http_server):
    port = http_server(503)
    result = healthcheck("gateway", HERALD_PORT=str(port))
    assert result.returncode == 1 and "503" in result.stderr
    assert healthcheck(str(free_port())).returncode == 1
    assert healthcheck(str(port), "/elsewhere").returncode == 1


def test_healthcheck_rejects_unknown_targets():
    assert healthcheck("nginx").returncode == 2
    assert healthcheck().returncode == 2
