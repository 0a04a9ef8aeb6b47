"""Leaderboards: plain sorted sets named as given (the guide's `top_content`), in the default
role's DB, read highest first, as the node's Leaderboard resource does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import redis


@dataclass(frozen=True)
class LeaderboardEntry:
    # 1 for the first entry in the order asked for.
    rank: int
    member: str
    score: float


@dataclass(frozen=True)
class Standing:
    member: str
    rank: int
    score: float
    total: int


def set_score(client: redis.Redis, key: str, member: str, score: float, only_if: Optional[str],
              expire: int) -> float:
    """ZADD (GT/LT with only_if="higher"/"lower"); returns the score stored now, which GT/LT
    may have left unchanged."""
    pipe = client.pipeline(transaction=False)
    pipe.zadd(key, {member: score}, gt=only_if == "higher", lt=only_if == "lower")
    pipe.zscore(key, member)
    if expire > 0:
        pipe.expire(key, expire)
    return float(pipe.execute()[1])


def increment(client: redis.Redis, key: str, member: str, by: float, expire: int) -> float:
    pipe = client.pipeline(transaction=False)
    pipe.zincrby(key, by, member)
    if expire > 0:
        pipe.expire(key, expire)
    return float(pipe.execute()[0])


def top(client: redis.Redis, key: str, count: int, descending: bool) -> List[LeaderboardEntry]:
    rows = client.zrange(key, 0, count - 1, desc=descending, withscores=True)
    return [LeaderboardEntry(rank=i + 1, member=m, score=float(s)) for i, (m, s) in enumerate(rows)]


def standing(client: redis.Redis, key: str, member: str, descending: bool) -> Optional[Standing]:
    pipe = client.pipeline(transaction=False)
    (pipe.zrevrank if descending else pipe.zrank)(key, member)
    pipe.zscore(key, member)
    pipe.zcard(key)
    index, score, total = pipe.execute()
    if index is None:
        return None
    return Standing(member=member, rank=int(index) + 1, score=float(score), total=int(total))
