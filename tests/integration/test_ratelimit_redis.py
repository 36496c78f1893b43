"""The Redis-backed sign-in limiter: counters shared by every worker, expiring with their window."""

from __future__ import annotations

import uuid

import pytest
import redis

from backend.auth.errors import RateLimited
from backend.auth.ratelimit import AuthRateLimiter, RedisCounter, build_rate_limiter
from backend.config import Settings

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture
def client() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL)


def test_two_workers_share_one_count(client: redis.Redis):
    prefix = f"test:{uuid.uuid4().hex}:"
    workers = [
        AuthRateLimiter(
            RedisCounter(redis.Redis.from_url(REDIS_URL), prefix), per_ip=3, per_address=9, window_seconds=60
        )
        for _ in range(2)
    ]
    workers[0].check(ip="10.1.1.1")
    workers[1].check(ip="10.1.1.1")
    workers[0].check(ip="10.1.1.1")
    with pytest.raises(RateLimited) as raised:
        workers[1].check(ip="10.1.1.1")
    assert raised.value.retry_after >= 1
    keys = client.keys(f"{prefix}*")
    assert len(keys) == 1
    assert 0 < client.ttl(keys[0]) <= 61
    client.delete(*keys)


def test_settings_with_redis_url_count_failures_in_redis(client: redis.Redis):
    settings = Settings(redis_url=REDIS_URL, auth_rate_limit_per_address=1)
    limiter = build_rate_limiter(settings)
    address = f"0x{uuid.uuid4().hex}"
    limiter.check_failures(ip="10.2.2.2", address=address)
    limiter.record_failure(ip="10.2.2.2", address=address)
    with pytest.raises(RateLimited, match="failed sign-ins for this wallet"):
        limiter.check_failures(ip="10.2.2.2", address=address)
    keys = client.keys(f"maxxit:ratelimit:fail:10.2.2.2:{address}:*")
    assert keys
    client.delete(*keys)
