"""The platform's Redis layer for Python services: the twin of the n8n nodes' platform/
(same keys, DB roles, value encoding and Lua scripts). Start with get_redis_manager()."""

from .codec import RedisManagerValueError
from .config import ConfigError, Settings, TlsSettings, settings_from_env
from .conversation import AppendResult
from .jobs import Job, JobLost, JobQueue
from .keys import KeySchema, QueueKeys, normalise_query, queue_name_problem, search_hash, trim_identifier
from .leaderboard import LeaderboardEntry, Standing
from .locks import HeldLock, LockAcquireResult, LockExtendResult, LockLost, LockNotAcquired
from .manager import RedisManager, get_redis_manager
from .rate_limit import RateLimitResult
from .updates import PublishResult

__all__ = [
    "AppendResult",
    "ConfigError",
    "HeldLock",
    "Job",
    "JobLost",
    "JobQueue",
    "KeySchema",
    "LeaderboardEntry",
    "LockAcquireResult",
    "LockExtendResult",
    "LockLost",
    "LockNotAcquired",
    "PublishResult",
    "QueueKeys",
    "RateLimitResult",
    "RedisManager",
    "RedisManagerValueError",
    "Settings",
    "Standing",
    "TlsSettings",
    "get_redis_manager",
    "normalise_query",
    "queue_name_problem",
    "search_hash",
    "settings_from_env",
    "trim_identifier",
]

__version__ = "0.1.0"
