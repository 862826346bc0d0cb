"""deploy/nginx.conf: nginx accepts it, and it proxies WebSockets the way Herald needs.

The upstream servers are compose service names (gateway, gateway-b), which resolve only inside the
compose network, and `nginx -t` resolves them. The check therefore runs `nginx -t` on a copy whose
upstream servers point at 127.0.0.1 instead; everything else is tested as shipped."""

import re
import subprocess

import pytest

from herald_deploy import COMPOSE_FILE, NGINX_CONF, nginx_binary

UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([A-Za-z0-9_.-]+):(\d+)(\s*[^;]*;)", re.MULTILINE)


def config_text():
    return NGINX_CONF.read_text(encoding="utf-8")


def upstream_blocks(text):
    return re.findall(r"upstream\s+\S+\s*\{(.*?)\}", text, re.DOTALL)


def test_nginx_accepts_the_config(tmp_path):
    nginx = nginx_binary()
    text = config_text()
    servers = [m for block in upstream_blocks(text) for m in UPSTREAM_SERVER.finditer(block)]
    assert servers, "expected an upstream block listing the gateways"
    replaced = 0

    def local(match):
        nonlocal replaced
        replaced += 1
        return f"{match.group(1)}127.0.0.1:{18080 + replaced}{match.group(4)}"

    blocks = re.sub(
        r"(upstream\s+\S+\s*\{)(.*?)(\})",
        lambda m: m.group(1) + UPSTREAM_SERVER.sub(local, m.group(2)) + m.group(3),
        text, flags=re.DOTALL,
    )
    assert replaced == len(servers)
    copy = tmp_path / "nginx.conf"
    copy.write_text(blocks)
    result = subprocess.run(
        [nginx, "-t", "-q", "-c", str(copy), "-p", f"{tmp_path}/", "-e", "stderr"],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, f"nginx -t rejected deploy/nginx.conf:\n{result.stderr}"


def test_upstreams_are_the_compose_gateways():
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    gateways = {name for name, s in services.items() if s.get("command") == ["herald-gateway"]}
    assert len(gateways) >= 2, "the scaled profile runs at least two gateways"
    upstream = {(m.group(2), m.group(3)) for block in upstream_blocks(config_text()) for m in UPSTREAM_SERVER.finditer(block)}
    assert upstream == {(name, "8080") for name in gateways}, (
        f"nginx's upstream {sorted(upstream)} must list every gateway service on port 8080: {sorted(gateways)}")


def test_websocket_proxying():
    text = re.sub(r"#[^\n]*", "", config_text())
    assert re.search(r"proxy_http_version\s+1\.1\s*;", text)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", text)
    assert re.search(r"proxy_set_header\s+Connection\s+\$\w+\s*;", text)
    assert re.search(r"map\s+\$http_upgrade\s+\$\w+\s*\{[^}]*default\s+upgrade\s*;", text), "Connection: upgrade for handshakes"
    assert re.search(r"\b(least_conn|ip_hash)\s*;", text), "balance the long-lived connections"
    timeout = re.search(r"proxy_read_timeout\s+(\d+)(s|m|h)?\s*;", text)
    assert timeout, "a WebSocket needs a long proxy_read_timeout"
    seconds = int(timeout.group(1)) * {"s": 1, None: 1, "m": 60, "h": 3600}[timeout.group(2)]
    assert seconds >= 300, f"proxy_read_timeout {seconds}s would cut idle WebSockets"
    assert re.search(r"proxy_buffering\s+off\s*;", text), "events must not wait in nginx's buffers"
