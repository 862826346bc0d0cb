"""docker-compose.yml: Compose accepts it (with and without the `scaled` profile, with and without a
filled-in .env), and it has the shape the operator guide promises."""

import re

import pytest

from herald_deploy import COMPOSE_FILE, ENV_EXAMPLE, compose_commands, compose_config

HERALD_SERVICES = {"gateway": "gateway", "gateway-b": "gateway", "relay": "relay", "worker": "worker"}


@pytest.fixture(scope="module", params=compose_commands(), ids=lambda c: " ".join(c[-2:]).split("/")[-1])
def compose(request):
    return request.param


@pytest.fixture()
def empty_env(tmp_path):
    path = tmp_path / "empty.env"
    path.write_text("")
    return path


@pytest.fixture()
def filled_env(tmp_path):
    """.env.example with every `# NAME=value` line uncommented, as an operator's .env would be."""
    lines = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"#\s*([A-Z][A-Z0-9_]*=.*)", line.strip())
        if match:
            lines.append(match.group(1))
    assert len(lines) > 20, "expected .env.example to list every setting as `# NAME=default`"
    path = tmp_path / "filled.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def load(result):
    yaml = pytest.importorskip("yaml")
    assert result.returncode == 0, f"compose rejected the file:\n{result.stderr}"
    return yaml.safe_load(result.stdout)


def test_compose_accepts_the_file(compose, empty_env):
    result = compose_config(compose, empty_env, "config", "--quiet")
    assert result.returncode == 0, result.stderr


def test_compose_accepts_the_file_with_the_scaled_profile(compose, empty_env):
    result = compose_config(compose, empty_env, "--profile", "scaled", "config", "--quiet")
    assert result.returncode == 0, result.stderr
    services = compose_config(compose, empty_env, "--profile", "scaled", "config", "--services")
    assert services.returncode == 0, services.stderr
    assert {"redis", "relay", "worker", "gateway", "gateway-b", "nginx"} <= set(services.stdout.split())


def test_compose_accepts_every_value_of_env_example(compose, filled_env):
    config = load(compose_config(compose, filled_env, "--profile", "scaled", "config"))
    worker = config["services"]["worker"]["environment"]
    assert str(worker["HERALD_HISTORY_SIZE"]) == "1000", "a value from .env must reach the services"
    assert str(worker["HERALD_REDIS_URL"]) == "redis://redis:6379"


def test_defaults_leave_settings_to_the_services(compose, empty_env):
    config = load(compose_config(compose, empty_env, "config"))
    gateway = config["services"]["gateway"]["environment"]
    assert gateway["HERALD_REDIS_URL"] == "redis://redis:6379"
    assert str(gateway["HERALD_PORT"]) == "8080" and gateway["HERALD_HOST"] == "0.0.0.0"
    assert (gateway.get("HERALD_JWT_SECRET") or "") == "", "no JWT secret by default: guest mode"
    worker = config["services"]["worker"]["environment"]
    assert worker["HERALD_DOCS_DIR"] == "/app/docs"


def test_redis_is_persistent_and_never_evicts(compose, empty_env):
    redis = load(compose_config(compose, empty_env, "config"))["services"]["redis"]
    assert re.fullmatch(r"redis:7(\.[0-9.]+)?(-[a-z0-9.]+)?", redis["image"]), redis["image"]
    command = redis["command"] if isinstance(redis["command"], list) else redis["command"].split()
    options = dict(zip(command[1::2], command[2::2]))
    assert options.get("--appendonly") == "yes"
    assert options.get("--maxmemory-policy") == "noeviction"
    volumes = redis.get("volumes") or []
    assert any((v.get("target") if isinstance(v, dict) else v.split(":")[1]) == "/data" for v in volumes), volumes
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"] or "redis-cli ping" in " ".join(redis["healthcheck"]["test"])
    assert redis.get("restart") == "unless-stopped"


def test_herald_services_are_healthchecked_restarted_and_ordered(compose, empty_env):
    services = load(compose_config(compose, empty_env, "--profile", "scaled", "config"))["services"]
    for name, kind in HERALD_SERVICES.items():
        service = services[name]
        assert service.get("restart") == "unless-stopped", name
        assert service["healthcheck"]["test"] == ["CMD", "herald-healthcheck", kind], name
        assert service["command"] == [f"herald-{kind}"], name
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict) and depends, f"{name} must wait for its dependencies"
        assert depends["redis"]["condition"] == "service_healthy", name
        assert all(d["condition"] == "service_healthy" for d in depends.values()), name
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
    for name in ("gateway", "gateway-b"):
        assert services[name]["depends_on"]["relay"]["condition"] == "service_healthy"


def test_replicas_and_scaling(compose, empty_env):
    services = load(compose_config(compose, empty_env, "config"))["services"]
    assert services["relay"]["deploy"]["replicas"] == 2
    worker = services["worker"]
    assert worker["deploy"]["replicas"] == 3
    # `--scale worker=N` needs replicas that are all alike.
    assert "container_name" not in worker and not worker.get("ports"), "worker must not pin a name or a host port"
    assert "HERALD_WORKER_ID" not in worker["environment"]
    assert "container_name" not in services["relay"] and not services["relay"].get("ports")


def test_gateway_is_published_on_8080(compose, empty_env):
    gateway = load(compose_config(compose, empty_env, "config"))["services"]["gateway"]
    ports = gateway["ports"]
    published = []
    for port in ports:
        if isinstance(port, dict):
            published.append((str(port.get("published")), str(port.get("target"))))
        else:
            host, _, target = str(port).rpartition(":")
            published.append((host.rpartition(":")[2], target))
    assert ("8080", "8080") in published, ports


def test_scaled_profile_puts_two_gateways_behind_nginx(compose, empty_env):
    services = load(compose_config(compose, empty_env, "--profile", "scaled", "config"))["services"]
    for name in ("gateway-b", "nginx"):
        assert services[name].get("profiles") == ["scaled"], name
    assert not services["gateway"].get("profiles"), "the first gateway runs without the profile too"
    nginx = services["nginx"]
    assert nginx["image"].split(":")[0] == "nginx"
    assert {"gateway", "gateway-b"} <= set(nginx["depends_on"])
    mounts = [v.get("target") if isinstance(v, dict) else v.split(":")[1] for v in nginx["volumes"]]
    assert "/etc/nginx/nginx.conf" in mounts
    assert not services["gateway-b"].get("ports"), "only nginx and the first gateway publish ports"


def test_compose_file_has_no_fixed_container_names():
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    named = sorted(name for name, service in services.items() if "container_name" in service)
    assert not named, f"fixed container names stop `--scale` and a second deployment on one host: {named}"
