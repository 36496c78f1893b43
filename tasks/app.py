"""The Huey instance, built from settings: Redis when REDIS_URL is set, a SQLite file otherwise."""

from __future__ import annotations

from huey import Huey, RedisHuey, SqliteHuey

from backend.config import Settings, get_settings


def build_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey(settings.huey_name, url=settings.redis_url, immediate=settings.huey_immediate)
    settings.huey_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(
        settings.huey_name, filename=str(settings.huey_sqlite_path), immediate=settings.huey_immediate
    )


huey = build_huey(get_settings())
