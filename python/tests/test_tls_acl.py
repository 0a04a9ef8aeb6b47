"""TLS and ACL users, as the credential offers them: a throwaway CA (openssl) and a
redis-server on a TLS-only port started here; an ACL user on the test server limited to
one prefix's session keys."""

from __future__ import annotations

import secrets
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path
from typing import Iterator, Tuple

import pytest
import redis

from redis_manager import RedisManager, settings_from_env

needs_tools = pytest.mark.skipif(not (shutil.which("openssl") and shutil.which("redis-server")),
                                 reason="needs openssl and redis-server on PATH")


def _openssl(cwd: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(directory: Path) -> None:
    _openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Python Test CA",
             "-keyout", "ca.key", "-out", "ca.crt")
    _openssl(directory, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(directory, "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "2", "-extfile", "san.ext", "-out", "server.crt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[int, str, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    _certificates(directory)
    port, password = _free_port(), secrets.token_hex(8)
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--tls-cert-file", "server.crt",
         "--tls-key-file", "server.key", "--tls-ca-cert-file", "ca.crt", "--tls-auth-clients", "no",
         "--requirepass", password, "--save", "", "--appendonly", "no", "--dir", str(directory)],
        cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port, password, directory
    finally:
        server.kill()
        server.wait()


def _manager(env: dict) -> RedisManager:
    return RedisManager(settings_from_env(env))


@needs_tools
def test_tls_with_the_ca_as_a_file_or_as_pem_text(tls_server: Tuple[int, str, Path]) -> None:
    port, password, directory = tls_server
    url = f"rediss://:{password}@127.0.0.1:{port}"
    with _manager({"REDIS_URL": url, "REDIS_TLS_CA_FILE": str(directory / "ca.crt")}) as m:
        assert m.set_session("tls", {"ok": True}) and m.get_session("tls") == {"ok": True}
    pem = (directory / "ca.crt").read_text()
    with _manager({"REDIS_HOST": "localhost", "REDIS_PORT": str(port), "REDIS_PASSWORD": password,
                   "REDIS_TLS": "1", "REDIS_TLS_CA": pem}) as m:
        assert m.get_session("tls") == {"ok": True}


@needs_tools
def test_tls_refuses_an_untrusted_certificate_unless_told_to_skip(tls_server: Tuple[int, str, Path]) -> None:
    port, password, _ = tls_server
    url = f"rediss://:{password}@127.0.0.1:{port}"
    with _manager({"REDIS_URL": url}) as m, pytest.raises(redis.ConnectionError) as caught:
        m.ping()
    assert "certificate verify failed" in str(caught.value) or isinstance(caught.value.__context__, ssl.SSLError)
    with _manager({"REDIS_URL": url, "REDIS_TLS_SKIP_VERIFY": "1"}) as m:
        assert m.ping()


@pytest.mark.redis
def test_an_acl_user_limited_to_session_keys(prefix: str) -> None:
    admin = RedisManager(settings_from_env())
    user, password = f"py-{secrets.token_hex(4)}", secrets.token_hex(12)
    admin.client("default").execute_command(
        "ACL", "SETUSER", user, "on", f">{password}", "resetkeys", f"~{prefix}session:*", "resetchannels",
        "-@all", "+@connection", "+select", "+get", "+set", "+info")
    try:
        limited = RedisManager(settings_from_env().with_overrides(username=user, password=password, key_prefix=prefix))
        with limited:
            assert limited.set_session("acl", {"ok": 1}) and limited.get_session("acl") == {"ok": 1}
            with pytest.raises(redis.exceptions.NoPermissionError):
                limited.cache_content("acl", "not allowed")
            names = {c["user"] for c in admin.client("default").client_list()}
            assert user in names
    finally:
        admin.client("default").execute_command("ACL", "DELUSER", user)
        admin.close()
