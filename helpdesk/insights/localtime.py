"""Counting by local day and local hour in the database, exactly, in any time zone.

A zone's offset from UTC is constant between its transitions, so the range is cut into spans
of one offset each; within a span the local wall-clock second is ``epoch + offset`` and the
local hour (or day) is an integer division of it. That works for half-hour zones such as
Asia/Tehran too, where grouping by UTC hour would not.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import BigInteger, ColumnElement, and_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

EPOCH_DATE = date(1970, 1, 1)
EPOCH_WEEKDAY = EPOCH_DATE.weekday()  # 1 January 1970 was a Thursday
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class epoch_seconds(FunctionElement):
    """Whole seconds since 1970-01-01 UTC of an aware datetime column."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw):  # UTCDateTime stores naive UTC text on SQLite
    return "CAST(strftime('%%s', %s) AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(epoch_seconds)
def _epoch_default(element, compiler, **kw):
    return "CAST(FLOOR(EXTRACT(EPOCH FROM %s)) AS BIGINT)" % compiler.process(element.clauses, **kw)


@dataclass(frozen=True)
class Span:
    start: datetime  # aware, included
    end: datetime  # aware, excluded
    offset: int  # seconds east of UTC


def spans(start: datetime, end: datetime, tz) -> list[Span]:
    """[start, end) cut where tz changes its offset from UTC."""
    def offset(at: datetime) -> int:
        return int(at.astimezone(tz).utcoffset().total_seconds())

    start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
    result: list[Span] = []
    left, current, probe = start, offset(start), start
    while probe < end:
        step = min(probe + timedelta(days=1), end)  # zones change their offset months apart
        if offset(step) != current:
            lo, hi = int(probe.timestamp()), int(step.timestamp())  # the change is in (lo, hi]
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(datetime.fromtimestamp(mid, timezone.utc)) == current else (lo, mid)
            cut = datetime.fromtimestamp(hi, timezone.utc)
            if cut < end:
                result.append(Span(left, cut, current))
                left, current = cut, offset(cut)
        probe = step
    result.append(Span(left, end, current))
    return result


def local_index(column, span: Span, unit: int) -> ColumnElement:
    """The local hour (unit=3600) or day (unit=86400) number of column, within span."""
    return (epoch_seconds(column) + span.offset) // unit


def day_of(index: int) -> date:
    return EPOCH_DATE + timedelta(days=index)


def hour_of_week(hour_index: int) -> tuple[int, int]:
    """(weekday 0=Monday, hour 0-23) of a local hour number."""
    day, hour = divmod(hour_index, 24)
    return (day + EPOCH_WEEKDAY) % 7, hour


def in_local_hour_of_week(column, start: datetime, end: datetime, tz, weekday: int, hour: int) -> ColumnElement:
    """column falls in [start, end) on that local weekday and hour."""
    parts = []
    for span in spans(start, end, tz):
        hours = local_index(column, span, 3600)
        days = local_index(column, span, 86400)
        parts.append(and_(column >= span.start, column < span.end, hours % 24 == hour,
                          (days + EPOCH_WEEKDAY) % 7 == weekday))
    return or_(*parts)


def month_pieces(start: date, end: date) -> list[tuple[bool, date, date]]:
    """[start, end] as (monthly, first, last): the whole calendar months in it (monthly=True,
    first and last are month starts) and the days before and after them, so that a rollup with
    monthly rows reads a dozen of them for a year instead of 365 daily ones."""
    months_from = start if start.day == 1 else (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    months_to = end + timedelta(days=1)  # the first day after the whole months
    if months_to.day != 1:
        months_to = months_to.replace(day=1)
    if months_from >= months_to:
        return [(False, start, end)]
    pieces = [(True, months_from, (months_to - timedelta(days=1)).replace(day=1))]
    if start < months_from:
        pieces.append((False, start, months_from - timedelta(days=1)))
    if months_to <= end:
        pieces.append((False, months_to, end))
    return pieces
