"""Fast checks of what ships beside the code: .env.example, the Dockerfile and the wheel's package list.

Building and installing the wheel is slow and lives in CI (.ci/package.sh); these read files only.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from dotenv import dotenv_values
from pydantic import AliasChoices, SecretStr

from wix_meetings_mcp.server.settings import Settings, unknown_meetings_variables

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=(.*)$")


def env_names() -> dict[str, str]:
    """Every variable the settings read, mapped to its field."""
    names = {}
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else []
        env = [c for c in choices if isinstance(c, str) and c.isupper()]
        names[env[0] if env else field.upper()] = field
    return names


def example_lines() -> list[tuple[str, str, bool]]:
    """(name, value, active) for each assignment in .env.example, commented out or not."""
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if match := ASSIGNMENT.match(line):
            lines.append((match[1], match[2], not line.startswith("#")))
    return lines


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in env_names():
        monkeypatch.delenv(name, raising=False)


def test_env_example_names_every_setting_once_and_nothing_else() -> None:
    names = [name for name, _, _ in example_lines()]
    assert len(names) == len(set(names)), "a setting appears twice"
    assert set(names) == set(env_names()), "add a new setting to .env.example, or drop a removed one"


def test_env_example_copied_as_is_sets_nothing() -> None:
    # An explicit value can act differently from an unset one (MEETINGS_PLAN on meetergo), so a
    # copied example must leave every setting at its default.
    assert [name for name, _, active in example_lines() if active] == []
    assert Settings(_env_file=ENV_EXAMPLE).model_fields_set == set()  # type: ignore[call-arg]


def test_env_example_with_every_value_uncommented_is_accepted(tmp_path: Path) -> None:
    filled = {name: value for name, value, _ in example_lines() if value}
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in filled.items()))

    assert dotenv_values(env_file) == filled  # dotenv and `docker run --env-file` read the same text
    assert unknown_meetings_variables(filled) == []
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.model_fields_set == {env_names()[name] for name in filled}
    assert settings.time_zone == "Europe/Berlin"
    assert settings.business_name == "My Business"


def test_env_example_holds_no_secret_value() -> None:
    secrets = {
        env
        for env, field in env_names().items()
        if Settings.model_fields[field].annotation == (SecretStr | None)
    }
    assert secrets >= {"MEETINGS_HTTP_TOKEN", "WIX_API_KEY", "MEETERGO_API_KEY"}
    assert {name: value for name, value, _ in example_lines() if name in secrets and value} == {}


def test_dockerfile_sets_only_known_settings_and_no_secrets() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assigned = set(re.findall(r"\b((?:MEETINGS|WIX|MEETERGO)_[A-Z0-9_]+)=", dockerfile))
    assert assigned == {"MEETINGS_DB"}
    assert "MEETINGS_DB=/data/meetings.db" in dockerfile
    assert re.search(r"^USER (?!root|0\b)", dockerfile, re.MULTILINE), "the server must not run as root"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "*.db", ".venv", ".git"} <= set(ignored), (
        "local secrets and state must stay out of the image"
    )


def test_every_source_package_is_in_the_wheel_package_list() -> None:
    # A subpackage missing from pyproject's list builds fine and is silently absent from the wheel.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(project["tool"]["setuptools"]["packages"])
    on_disk = {"wix_meetings_mcp"} | {
        "wix_meetings_mcp." + ".".join(init.parent.relative_to(ROOT).parts)
        for folder in ("server", "tools", "bookings")
        for init in (ROOT / folder).rglob("__init__.py")
    }
    assert listed == on_disk
