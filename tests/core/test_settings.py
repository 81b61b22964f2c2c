"""Operator settings: read from RAPPORT_* variables, and a wrong one stops the start with one line
that names it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.core.config import InvalidSettings, load_settings
from tests.conftest import ROOT, SECRET


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("RAPPORT_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("RAPPORT_DB_POOL_SIZE", "abc", "valid integer"),
        ("RAPPORT_DB_POOL_SIZE", "0", "greater than or equal to 1"),
        ("RAPPORT_DB_MAX_OVERFLOW", "-1", "greater than or equal to 0"),
        ("RAPPORT_DB_POOL_TIMEOUT_SECONDS", "0", "greater than 0"),
        ("RAPPORT_DB_STATEMENT_TIMEOUT_MS", "soon", "valid integer"),
        ("RAPPORT_LOG_LEVEL", "loud", "one of CRITICAL, ERROR, WARNING, INFO, DEBUG"),
        ("RAPPORT_CORS_ORIGINS", "app.example.com", "not an origin"),
        ("RAPPORT_CORS_ORIGINS", "https://app.example.com/path", "not an origin"),
        ("RAPPORT_CORS_ORIGINS", '["https://a.example", 7]', "list of strings"),
        ("RAPPORT_CORS_ORIGINS", "[https://a.example", "not a valid JSON list"),
        ("RAPPORT_TRUSTED_PROXIES", "10.0.0.1,proxy.internal", "not an IP address or network"),
        ("RAPPORT_TRUSTED_PROXIES", "10.0.0.0/33", "not an IP address or network"),
        ("RAPPORT_TRUSTED_PROXIES", "*,10.0.0.1", "give it alone"),
        ("RAPPORT_ACCESS_TOKEN_TTL_SECONDS", "3600", "less than or equal to 900"),
        ("RAPPORT_REFRESH_TOKEN_TTL_SECONDS", "60", "greater than or equal to 3600"),
        ("RAPPORT_LOGIN_WINDOW_SECONDS", "0", "greater than or equal to 1"),
        ("RAPPORT_LOGIN_MAX_FAILURES_PER_ACCOUNT", "0", "greater than or equal to 1"),
        ("RAPPORT_LOGIN_MAX_FAILURES_PER_ADDRESS", "many", "valid integer"),
        ("RAPPORT_UVICORN_ACCESS_LOG", "maybe", "valid boolean"),
    ],
)
def test_a_wrong_value_is_refused_in_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidSettings) as refused:
        load_settings()
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"Rapport cannot start: {variable}: "), message
    assert says in message, message
    assert repr(value[:60]) in message, "the value given is shown (it is no secret)"


def test_secrets_are_named_but_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "postgresql://rapport:hunter2-db@db/rapport")
    monkeypatch.setenv("RAPPORT_SECRET_KEY", "changeme")
    with pytest.raises(InvalidSettings, match="RAPPORT_SECRET_KEY") as refused:
        load_settings()
    assert "hunter2" not in str(refused.value) and "changeme" not in str(refused.value)

    monkeypatch.setenv("RAPPORT_DATABASE_URL", "mysql://rapport:hunter2-db@db/rapport")
    with pytest.raises(InvalidSettings, match="RAPPORT_DATABASE_URL") as refused:
        load_settings()
    assert "hunter2" not in str(refused.value)


def test_several_wrong_values_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_DB_POOL_SIZE", "abc")
    monkeypatch.setenv("RAPPORT_LOG_LEVEL", "loud")
    with pytest.raises(InvalidSettings) as refused:
        load_settings()
    assert "RAPPORT_DB_POOL_SIZE" in str(refused.value)
    assert "RAPPORT_LOG_LEVEL" in str(refused.value)


def test_lists_are_read_comma_separated_or_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_CORS_ORIGINS", " https://app.example.com/, http://localhost:3000")
    monkeypatch.setenv("RAPPORT_TRUSTED_PROXIES", '["10.0.0.0/8", "::1", "192.0.2.7"]')
    monkeypatch.setenv("RAPPORT_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.cors_origins == ["https://app.example.com", "http://localhost:3000"]
    assert settings.trusted_proxies == ["10.0.0.0/8", "::1", "192.0.2.7"]
    assert settings.log_level == "DEBUG"


def test_defaults_no_cors_the_local_proxy_and_no_uvicorn_access_log() -> None:
    settings = load_settings()
    assert settings.cors_origins == []
    assert settings.trusted_proxies == ["127.0.0.1"]
    assert settings.log_level == "INFO"
    assert settings.uvicorn_access_log is False


def test_uvicorn_refuses_to_start_with_one_clear_line(tmp_path) -> None:
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": f"sqlite:///{tmp_path}/rapport.db",
        "RAPPORT_SECRET_KEY": SECRET,
        "RAPPORT_DB_POOL_SIZE": "abc",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"]
    done = subprocess.run(
        [*command, "--no-proxy-headers"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 3, done  # uvicorn's startup failure: a supervisor stops
    stderr = done.stderr.decode()
    assert "Traceback" not in stderr and "pydantic" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == (
        "Rapport cannot start: RAPPORT_DB_POOL_SIZE: Input should be a valid integer, "
        "unable to parse string as an integer (got 'abc')"
    )
