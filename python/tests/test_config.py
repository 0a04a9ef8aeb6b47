from __future__ import annotations

import pytest

from redis_manager import ConfigError, settings_from_env


def test_defaults_are_the_credentials_defaults() -> None:
    s = settings_from_env({})
    assert (s.host, s.port, s.username, s.password, s.key_prefix) == ("localhost", 6379, None, None, "")
    assert dict(s.dbs) == {"session": 0, "content": 1, "cache": 2, "queue": 3, "rate_limit": 4, "default": 0, "celery_result": 3}
    assert not s.tls.enabled and s.tls.verify


def test_url_parts_win_and_the_rest_comes_from_the_separate_variables() -> None:
    s = settings_from_env({
        "REDIS_URL": "rediss://worker:p%40ss%3Aw0rd@redis.internal:6380/5",
        "REDIS_HOST": "ignored", "REDIS_PASSWORD": "ignored too",
    })
    assert (s.host, s.port, s.username, s.password) == ("redis.internal", 6380, "worker", "p@ss:w0rd")
    assert s.tls.enabled
    assert s.dbs["default"] == 5 and s.dbs["session"] == 0
    bare = settings_from_env({"REDIS_URL": "redis://redis:6379", "REDIS_PASSWORD": "from-env", "REDIS_USERNAME": "acl"})
    assert (bare.password, bare.username) == ("from-env", "acl")


def test_host_port_password_without_url() -> None:
    s = settings_from_env({"REDIS_HOST": "redis", "REDIS_PORT": "7000", "REDIS_PASSWORD": "secret"})
    assert (s.host, s.port, s.password) == ("redis", 7000, "secret")


def test_db_mapping_prefix_and_tls_variables(tmp_path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    s = settings_from_env({
        "REDIS_DB_SESSION": "6", "REDIS_DB_CONTENT": "7", "REDIS_DB_CACHE": "8", "REDIS_DB_QUEUE": "9",
        "REDIS_DB_RATE_LIMIT": "10", "REDIS_DB_DEFAULT": "11", "REDIS_KEY_PREFIX": "staging:",
        "REDIS_TLS": "true", "REDIS_TLS_CA_FILE": str(ca), "REDIS_TLS_SKIP_VERIFY": "1",
        "REDIS_CONNECT_TIMEOUT": "2.5",
    })
    # Celery's result DB follows the queue DB unless REDIS_DB_CELERY_RESULT is set.
    assert dict(s.dbs) == {"session": 6, "content": 7, "cache": 8, "queue": 9, "rate_limit": 10, "default": 11, "celery_result": 9}
    assert s.key_prefix == "staging:"
    assert s.tls.enabled and s.tls.ca_file == str(ca) and not s.tls.verify
    assert s.connect_timeout == 2.5


@pytest.mark.parametrize("env, name", [
    ({"REDIS_PORT": "http"}, "REDIS_PORT"),
    ({"REDIS_DB_QUEUE": "-1"}, "REDIS_DB_QUEUE"),
    ({"REDIS_TLS": "maybe"}, "REDIS_TLS"),
    ({"REDIS_CONNECT_TIMEOUT": "0"}, "REDIS_CONNECT_TIMEOUT"),
    ({"REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"}, "REDIS_TLS_CA_FILE"),
])
def test_bad_settings_name_the_variable(env: dict, name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        settings_from_env(env)


def test_a_bad_url_never_echoes_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_env({"REDIS_URL": "http://user:hunter2-secret@host"})
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(settings_from_env({"REDIS_PASSWORD": "hunter2-secret"}))
