"""The Huey instance, built from settings: Redis when REDIS_URL is set, a SQLite file otherwise."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey
from redis import ConnectionPool

from backend.config import Settings, get_settings

# A Redis that accepts connections and never answers must not hang a caller for good: connecting gives up
# after this, and any reply is awaited this long (more than the consumer's 1 s blocking pop, so an idle
# consumer's wait for work never times out).
REDIS_CONNECT_TIMEOUT_SECONDS = 0.5
REDIS_REPLY_TIMEOUT_SECONDS = 3.0


def build_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        pool = ConnectionPool.from_url(
            settings.redis_url,
            socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
            socket_timeout=REDIS_REPLY_TIMEOUT_SECONDS,
        )
        return RedisHuey(settings.huey_name, connection_pool=pool, immediate=settings.huey_immediate)
    settings.huey_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        settings.huey_name, filename=str(settings.huey_sqlite_path), immediate=settings.huey_immediate
    )


huey = build_huey(get_settings())
