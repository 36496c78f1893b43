"""Column types and helpers shared by every table."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes everywhere (SQLite stores no zone and would return naive values)."""

    impl = sa.DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=timezone)

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Precision per kind of number: prices and sizes need many decimals, money six (USDC), fractions six.
PRICE = sa.Numeric(28, 10)
SIZE = sa.Numeric(28, 10)
MONEY = sa.Numeric(20, 6)
RATIO = sa.Numeric(12, 6)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def ts_field(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def decimal_field(kind: sa.Numeric, default: Decimal | None = None, nullable: bool = True) -> Any:
    return Field(default=default, sa_type=kind, nullable=nullable)


def enum_field(
    enum_cls: type[enum.Enum], default: Any = None, nullable: bool = False, index: bool = False
) -> Any:
    """A string column holding an enum's values: portable, and no native PG type to migrate."""
    column_type = sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls) + 4,
        values_callable=lambda e: [m.value for m in e],
        name=enum_cls.__name__.lower(),
    )
    return Field(default=default, sa_type=column_type, nullable=nullable, index=index)
