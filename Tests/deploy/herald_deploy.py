"""Helpers of the deployment checks: where things are, which settings the Swift code reads, and the
external tools (docker-compose, nginx) the checks run.

Everything about settings is read from the code at run time, so the checks follow the code as it
grows instead of a list kept by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DEPLOY_DIR = ROOT / "deploy"
DEPLOY_README = DEPLOY_DIR / "README.md"
DOCKERFILE = DEPLOY_DIR / "Dockerfile"
NGINX_CONF = DEPLOY_DIR / "nginx.conf"
HEALTHCHECK = DEPLOY_DIR / "healthcheck.sh"
INSTALL_DEPS = ROOT / "scripts" / "install-deps.sh"
PACKAGE_SWIFT = ROOT / "Package.swift"
DOCS_DIR = ROOT / "docs"

# Where the Swift code lives. Shared/HeraldTesting is test support: the variables it reads (such as
# HERALD_BIN_DIR, where the test suites find the built executables) configure the tests, not a
# deployment, so they count as existing settings but need no operator documentation.
CODE_DIRS = [ROOT / "Shared", ROOT / "Services"]
TEST_SUPPORT_DIRS = [ROOT / "Shared" / "HeraldTesting"]

# A setting's name as written anywhere: HERALD_ then capitals, digits and underscores, ending in a
# capital or digit. `\b` keeps HERALD_ inside a longer name (FOO_HERALD_X) from counting.
SETTING_NAME = re.compile(r"\bHERALD_[A-Z0-9_]*[A-Z0-9]\b")
# A setting the code reads: the name as a whole Swift string literal ("HERALD_X").
QUOTED_SETTING = re.compile(r'"(HERALD_[A-Z0-9_]*[A-Z0-9])"')
# The catalogue that describes every setting once (Shared/HeraldCore/SettingsCatalogue.swift): each
# `SettingSpec(name: "HERALD_X", flag: "x", services: [.gateway, …], value: …, default: "v", …)`.
SETTINGS_CATALOGUE = ROOT / "Shared" / "HeraldCore" / "SettingsCatalogue.swift"
CATALOGUE_ENTRY = re.compile(
    r'SettingSpec\(\s*name:\s*"(HERALD_[A-Z0-9_]*[A-Z0-9])",\s*flag:\s*"[^"]*",\s*services:\s*\[([^\]]*)\](.*?)\n\s*\)\n',
    re.S)
CATALOGUE_DEFAULT = re.compile(r'\bdefault:\s*"([^"]*)"')
CATALOGUE_SERVICE_DEFAULT = re.compile(r'\.(?:gateway|worker|relay):\s*"([^"]*)"')

# Which service reads the settings under each folder (HeraldCore: every service).
SERVICE_OF_FOLDER = {
    "Shared": ("gateway", "worker", "relay"),
    "Services/Gateway": ("gateway",),
    "Services/Worker": ("worker",),
    "Services/Relay": ("relay",),
}


def swift_files(directories: list[Path]) -> list[Path]:
    return sorted(p for d in directories if d.is_dir() for p in d.rglob("*.swift"))


def is_test_support(path: Path) -> bool:
    return any(path.is_relative_to(d) for d in TEST_SUPPORT_DIRS)


def services_of(path: Path) -> tuple[str, ...]:
    relative = path.relative_to(ROOT).as_posix()
    best = ""
    for folder in SERVICE_OF_FOLDER:
        if (relative == folder or relative.startswith(folder + "/")) and len(folder) > len(best):
            best = folder
    return SERVICE_OF_FOLDER.get(best, ())


def swift_literal(text: str) -> str | None:
    """The value of a Swift integer or string literal (`65_536` → `65536`, `"info"` → `info`), or
    None for anything computed (`30 * 86_400`, `Identifier.make("worker")`)."""
    text = text.strip()
    if re.fullmatch(r"-?[0-9][0-9_]*", text):
        return text.replace("_", "")
    match = re.fullmatch(r'"([^"\\]*)"', text)
    return match.group(1) if match else None


@dataclass
class CodeSetting:
    name: str
    services: set[str] = field(default_factory=set)
    literal_defaults: set[str] = field(default_factory=set)
    in_catalogue: bool = False
    files: set[str] = field(default_factory=set)


def catalogue_settings() -> dict[str, CodeSetting]:
    """The settings the catalogue describes, with their services and literal defaults."""
    settings: dict[str, CodeSetting] = {}
    text = SETTINGS_CATALOGUE.read_text(encoding="utf-8")
    for name, services, rest in CATALOGUE_ENTRY.findall(text):
        setting = settings.setdefault(name, CodeSetting(name, in_catalogue=True))
        setting.services.update(s.strip().lstrip(".") for s in services.split(",") if s.strip())
        setting.literal_defaults.update(CATALOGUE_DEFAULT.findall(rest))
        setting.literal_defaults.update(CATALOGUE_SERVICE_DEFAULT.findall(rest))
        setting.files.add(SETTINGS_CATALOGUE.relative_to(ROOT).as_posix())
    return settings


def code_settings() -> dict[str, CodeSetting]:
    """Every HERALD_ setting the services read: those the catalogue describes, and any other name quoted in
    Shared/ or Services/ (test support aside), which is then a setting read around the catalogue."""
    settings = catalogue_settings()
    for path in swift_files(CODE_DIRS):
        if is_test_support(path) or path == SETTINGS_CATALOGUE:
            continue
        text = path.read_text(encoding="utf-8")
        for name in QUOTED_SETTING.findall(text):
            setting = settings.setdefault(name, CodeSetting(name))
            if not setting.in_catalogue:
                setting.services.update(services_of(path))
            setting.files.add(path.relative_to(ROOT).as_posix())
    return settings


def secret_settings() -> set[str]:
    """The catalogue's secret settings (`secret: true`), each of which is also read from the file `<NAME>_FILE` names."""
    text = SETTINGS_CATALOGUE.read_text(encoding="utf-8")
    return {name for name, _, rest in CATALOGUE_ENTRY.findall(text) if re.search(r"\bsecret:\s*true\b", rest)}


def quoted_anywhere_in_code() -> set[str]:
    """Every HERALD_ name quoted in any Swift file under Shared/ or Services/ (test support included), and the
    `<NAME>_FILE` variant of every secret setting."""
    names: set[str] = {name + "_FILE" for name in secret_settings()}
    for path in swift_files(CODE_DIRS):
        names.update(QUOTED_SETTING.findall(path.read_text(encoding="utf-8")))
    return names


def names_in_text(text: str) -> set[str]:
    """Setting names a document mentions. A name followed by `_*` or `_…` is a family, not a setting."""
    names = set()
    for match in SETTING_NAME.finditer(text):
        rest = text[match.end():match.end() + 2]
        if rest.startswith("_*") or rest.startswith("_…") or rest.startswith("*"):
            continue
        names.add(match.group(0))
    return names


def documents_naming_settings() -> list[Path]:
    """The files whose setting names must all exist in the code."""
    files = [COMPOSE_FILE, ENV_EXAMPLE, DEPLOY_README]
    files += sorted(DOCS_DIR.rglob("*.md"))
    return files


def env_example_entries() -> dict[str, str]:
    """`# NAME=value` lines of .env.example (commented out or not): name → value."""
    entries = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            entries[match.group(1)] = match.group(2).strip()
    return entries


def readme_settings_rows() -> dict[str, list[str]]:
    """Rows of deploy/README.md's markdown tables whose first cell is a HERALD_ setting: name → cells."""
    rows = {}
    for line in DEPLOY_README.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        first = cells[0].strip("`")
        if SETTING_NAME.fullmatch(first):
            rows[first] = cells
    return rows


# ---- external tools --------------------------------------------------------------------------

def _missing(tool: str) -> None:
    message = (f"{tool} is not installed; `bash scripts/install-deps.sh --test` installs it "
               "(Debian package). scripts/test.sh runs that first.")
    if os.environ.get("CI"):
        # In CI scripts/test.sh has run install-deps.sh --test: a missing tool is a broken install step.
        pytest.fail(message)
    pytest.skip(message)


def compose_commands() -> list[list[str]]:
    """Every Compose implementation on this machine: the v2 plugin (`docker compose`) when it works,
    and the standalone `docker-compose` (Debian's package is v1.29). At least one is required."""
    commands = []
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        commands.append([docker, "compose"])
    standalone = shutil.which("docker-compose")
    if standalone:
        commands.append([standalone])
    if not commands:
        _missing("docker-compose")
    return commands


def nginx_binary() -> str:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    _missing("nginx")
    raise AssertionError("unreachable")


def hermetic_environment() -> dict[str, str]:
    """The environment without any HERALD_ or DEPLOY_ variable, so Compose's ${…} interpolation
    sees only the env file a check hands it."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("HERALD_", "DEPLOY_", "COMPOSE_"))}


def compose_config(command: list[str], env_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*command, "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE),
         "--env-file", str(env_file), *args],
        capture_output=True, text=True, env=hermetic_environment(), cwd=ROOT, timeout=120,
    )


# ---- metrics ---------------------------------------------------------------------------------

METRIC_NAME = re.compile(r"\bherald_[a-z0-9_]*[a-z0-9]\b")
# registry.counter("herald_…") / .gauge( / .histogram( (HeraldCore's helpers take the full name).
DIRECT_METRIC = re.compile(r'\.(?:counter|gauge|histogram)\(\s*"(herald_[a-z0-9_]+)"')
# MetricNameDescriptor(namespace: "herald", subsystem: "gateway", …) built by a local helper
# called as name("metric", "unit", "help"); Prometheus joins the non-empty parts with "_".
DESCRIPTOR_PARTS = re.compile(r'namespace:\s*"([a-z0-9_]+)"\s*,\s*subsystem:\s*"([a-z0-9_]+)"')
DESCRIPTOR_CALL = re.compile(r'\bname\(\s*"([a-z0-9_]+)"\s*,\s*"([a-z0-9_]*)"')


def code_metrics() -> dict[str, str]:
    """Every metric the services register: full name → the file registering it."""
    metrics = {}
    for path in swift_files(CODE_DIRS):
        if is_test_support(path):
            continue
        text = path.read_text(encoding="utf-8")
        relative = path.relative_to(ROOT).as_posix()
        for name in DIRECT_METRIC.findall(text):
            metrics[name] = relative
        parts = DESCRIPTOR_PARTS.search(text)
        if parts:
            for metric, unit in DESCRIPTOR_CALL.findall(text):
                name = "_".join(p for p in (parts.group(1), parts.group(2), metric, unit) if p)
                metrics[name] = relative
    return metrics


def metric_base(name: str) -> str:
    """A histogram's series (…_bucket, …_sum, …_count) belong to the histogram's name."""
    return re.sub(r"_(bucket|sum|count)$", "", name)
