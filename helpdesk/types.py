"""Column types and time helpers shared by every domain's models."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, Enum, SmallInteger
from sqlalchemy.types import TypeDecorator


def _system_clock() -> datetime:
    return datetime.now(timezone.utc)


# Tests set this to freeze time (the `clock` fixture in tests/sla/conftest.py); nothing else does.
clock = _system_clock


def utcnow() -> datetime:
    return clock()


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class IntEnumType(TypeDecorator):
    """An IntEnum stored as a small integer, so it sorts in the database."""

    impl = SmallInteger
    cache_ok = True

    def __init__(self, enum_class, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enum_class = enum_class

    def process_bind_param(self, value, dialect):
        return None if value is None else int(self.enum_class(value))

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum_class(value)


def string_enum(enum_class, length: int = 30) -> Enum:
    """A str Enum stored as its values in a plain VARCHAR (no database enum type to migrate)."""
    return Enum(enum_class, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])
