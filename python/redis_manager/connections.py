"""One connection pool per DB (roles mapped to the same DB share it), created on first use,
plus dedicated connections for blocking work and subscriptions, which must never hold a
pooled connection that other calls wait for."""

from __future__ import annotations

import threading
from typing import Any, Dict, List

import redis

from .config import Settings


def _connection_kwargs(settings: Settings, db: int, purpose: str) -> Dict[str, Any]:
    kwargs: Dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "db": db,
        "username": settings.username,
        "password": settings.password,
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": settings.socket_timeout,
        "decode_responses": True,
        "encoding": "utf-8",
        # Operators find our connections in CLIENT LIST, next to the node's n8n-marketing-redis:*.
        "client_name": f"redis-manager:{purpose}:db{db}",
        # A pooled connection idle across a Redis restart is checked before it is reused.
        "health_check_interval": 30,
    }
    if settings.tls.enabled:
        kwargs["connection_class"] = redis.SSLConnection
        kwargs["ssl_cert_reqs"] = "required" if settings.tls.verify else "none"
        kwargs["ssl_check_hostname"] = settings.tls.verify
        kwargs["ssl_ca_certs"] = settings.tls.ca_file
        kwargs["ssl_ca_data"] = settings.tls.ca_data
    return kwargs


class Connections:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pools: List[redis.ConnectionPool] = []
        self._clients: Dict[int, redis.Redis] = {}
        self._blocking: Dict[int, redis.Redis] = {}
        self._lock = threading.Lock()

    def client(self, role: str) -> redis.Redis:
        """The shared client of a role's DB; redis-py resets the pool in a forked child."""
        db = self.settings.db(role)
        with self._lock:
            client = self._clients.get(db)
            if client is None:
                pool = redis.ConnectionPool(**_connection_kwargs(self.settings, db, "shared"))
                self._pools.append(pool)
                client = self._clients[db] = redis.Redis(connection_pool=pool)
            return client

    def blocking(self, role: str) -> redis.Redis:
        """A client for blocking commands (BLMOVE): a pool apart from the shared one, so a
        waiting take never holds a connection other calls need; one connection per waiter.
        Each wait is at most a second, well inside the socket timeout, so a dead network
        path still surfaces as an error instead of a hang."""
        db = self.settings.db(role)
        with self._lock:
            client = self._blocking.get(db)
            if client is None:
                pool = redis.ConnectionPool(**_connection_kwargs(self.settings, db, "blocking"))
                self._pools.append(pool)
                client = self._blocking[db] = redis.Redis(connection_pool=pool)
            return client

    def dedicated(self, role: str, purpose: str) -> redis.Redis:
        """A client with a one-connection pool of its own (a subscription); close() it when done."""
        db = self.settings.db(role)
        kwargs = _connection_kwargs(self.settings, db, purpose)
        return redis.Redis(connection_pool=redis.ConnectionPool(max_connections=1, **kwargs))

    def close(self) -> None:
        with self._lock:
            for pool in self._pools:
                pool.disconnect()
            self._pools.clear()
            self._clients.clear()
            self._blocking.clear()
