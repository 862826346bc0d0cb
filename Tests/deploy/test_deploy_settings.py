"""No drift between the settings the Swift code reads and what the deployment files say.

- every HERALD_ name in docker-compose.yml, .env.example, deploy/README.md and docs/ exists in the
  code (as a quoted string under Shared/ or Services/);
- every HERALD_ setting is described in Shared/HeraldCore/SettingsCatalogue.swift, and documented in
  .env.example and deploy/README.md with the catalogue's default and the services that read it (the Swift
  suite SettingsTests holds both files to exactly what the catalogue generates);
- every setting reaches the services that read it through docker-compose.yml.
"""

import re

import pytest

from herald_deploy import (
    COMPOSE_FILE,
    DEPLOY_README,
    ENV_EXAMPLE,
    ROOT,
    code_settings,
    documents_naming_settings,
    env_example_entries,
    names_in_text,
    quoted_anywhere_in_code,
    readme_settings_rows,
)

# Settings docker-compose.yml deliberately does not pass, with the reason.
NOT_PASSED_BY_COMPOSE = {
    # Each replica must have its own id; unset, every worker picks a unique random one.
    "HERALD_WORKER_ID": "unique per worker replica",
}


@pytest.fixture(scope="module")
def settings():
    found = code_settings()
    assert len(found) >= 10, f"found only {sorted(found)} in the Swift code: has the settings code moved?"
    return found


@pytest.mark.parametrize("document", documents_naming_settings(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_setting_named_in_a_document_exists_in_the_code(document):
    assert document.exists(), f"{document.relative_to(ROOT)} is missing"
    known = quoted_anywhere_in_code()
    unknown = sorted(names_in_text(document.read_text(encoding="utf-8")) - known)
    assert not unknown, (
        f"{document.relative_to(ROOT)} names settings no Swift file under Shared/ or Services/ reads: "
        f"{unknown} (renamed or removed in the code?)"
    )


def test_every_setting_the_code_reads_is_in_env_example(settings):
    entries = env_example_entries()
    missing = sorted(set(settings) - set(entries))
    assert not missing, f".env.example does not list {missing}; add a `# NAME=default` line with its meaning"


def test_every_setting_the_code_reads_is_in_the_operator_guide(settings):
    rows = readme_settings_rows()
    missing = sorted(set(settings) - set(rows))
    assert not missing, f"deploy/README.md's settings table has no row for {missing}"


def test_env_example_defaults_are_the_code_defaults(settings):
    """`# NAME=value` in .env.example shows the code's literal default, or the one compose supplies
    (`${NAME:-value}` in docker-compose.yml)."""
    entries = env_example_entries()
    compose_text = COMPOSE_FILE.read_text(encoding="utf-8")
    wrong = []
    for name, setting in sorted(settings.items()):
        if name not in entries or not setting.literal_defaults:
            continue
        allowed = set(setting.literal_defaults)
        allowed.update(re.findall(r"\$\{" + name + r":-([^}]*)\}", compose_text))
        if entries[name] not in allowed:
            wrong.append(f"{name}={entries[name]} (code default: {' or '.join(sorted(setting.literal_defaults))})")
    assert not wrong, f".env.example shows defaults the code does not have: {wrong}"


def test_operator_guide_shows_code_defaults_and_services(settings):
    """Each settings row holds the code's literal default(s) and names every service that reads it."""
    rows = readme_settings_rows()
    problems = []
    for name, setting in sorted(settings.items()):
        cells = rows.get(name)
        if not cells:
            continue  # reported by the test above
        row = " | ".join(cells[1:])
        digits_only = re.sub(r"(?<=\d)[ ,_](?=\d{3}\b)", "", row)
        for default in sorted(setting.literal_defaults):
            if default and default not in row and default not in digits_only:
                problems.append(f"{name}: default {default} not in its row")
        for service in sorted(setting.services):
            if service not in row.lower():
                problems.append(f"{name}: read by {service}, which its row does not name")
    assert not problems, "deploy/README.md settings table is out of date:\n" + "\n".join(problems)


def test_every_setting_is_described_in_the_catalogue(settings):
    """Settings are parsed, checked and documented from their one description in
    Shared/HeraldCore/SettingsCatalogue.swift; the resolver treats compose's empty values as unset there. A
    setting read another way would have none of that."""
    outside = sorted(f"{name} ({', '.join(sorted(s.files))})" for name, s in settings.items() if not s.in_catalogue)
    assert not outside, (
        f"{outside} are read without a SettingSpec in Shared/HeraldCore/SettingsCatalogue.swift; describe them "
        "there and read them through SettingsResolver"
    )


def test_compose_passes_every_setting_to_the_services_that_read_it(settings):
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    services = compose["services"]
    missing = []
    for name, setting in sorted(settings.items()):
        if name in NOT_PASSED_BY_COMPOSE:
            continue
        for service in sorted(setting.services):
            environment = services[service].get("environment") or {}
            if isinstance(environment, list):
                environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
            if name not in environment:
                missing.append(f"{name} → {service}")
    assert not missing, (
        "docker-compose.yml does not pass these settings to the services that read them "
        f"(add `NAME: ${{NAME:-}}` to the service's environment): {missing}"
    )
    for name in NOT_PASSED_BY_COMPOSE:
        for service, definition in services.items():
            assert name not in (definition.get("environment") or {}), (
                f"{name} must not be set for {service}: {NOT_PASSED_BY_COMPOSE[name]}")


def test_operator_guide_and_env_example_exist():
    assert DEPLOY_README.exists() and ENV_EXAMPLE.exists()
