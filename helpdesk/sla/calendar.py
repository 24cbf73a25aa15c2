"""Business-time arithmetic: a pure calendar of weekly hours, holidays and a time zone.

An instant is business time when its wall-clock time in the calendar's zone falls inside
one of that weekday's intervals and its local date is not a holiday. So a day of 9:00-17:00
lasts eight hours of real time even across a daylight-saving change, an hour that a
fall-back repeats counts twice, and an hour that spring-forward skips does not exist.

The work is done on microseconds since an epoch, cut into UTC weeks ("chunks"). A week
without holidays or offset changes (nearly all of them) is a table precomputed once per
UTC offset, so `add` and `minutes_between` cost a few table look-ups per week they span
and never walk minute by minute.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

_US = 1_000_000
_MINUTE = 60 * _US
_DAY = 86_400 * _US
_WEEK = 7 * _DAY
_EPOCH = datetime(1970, 1, 5, tzinfo=timezone.utc)  # a Monday
_EPOCH_DATE = _EPOCH.date()
_ONE_US = timedelta(microseconds=1)

Interval = tuple[time | str, time | str]


def parse_clock(value: time | str, *, is_end: bool = False) -> int:
    """Seconds after midnight of "HH:MM" or a time; "24:00" (or 00:00 as an end) is midnight."""
    if isinstance(value, str):
        text = value.strip()
        if text in ("24:00", "24:00:00"):
            return 86_400
        try:
            value = time.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day (HH:MM)") from None
    seconds = value.hour * 3600 + value.minute * 60 + value.second
    return 86_400 if is_end and seconds == 0 else seconds


@dataclass(frozen=True)
class _Chunk:
    """The business intervals of one UTC week, as microseconds from the week's start."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    before: tuple[int, ...]  # business time before each interval
    upto: tuple[int, ...]  # business time up to each interval's end
    total: int


class BusinessCalendar:
    def __init__(self, timezone: str, weekly: Mapping[int, Sequence[Interval]],
                 holidays: Iterable[date] = ()):
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        # Local business time as intervals over the local week, in microseconds from Monday 00:00.
        spans = []
        for weekday, intervals in weekly.items():
            weekday = int(weekday)
            if not 0 <= weekday <= 6:
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday}")
            for start, end in intervals:
                s, e = parse_clock(start), parse_clock(end, is_end=True)
                if s >= e:
                    raise ValueError(f"an interval must end after it starts ({start}-{end})")
                spans.append((weekday * _DAY + s * _US, weekday * _DAY + e * _US))
        self._week = _merge(sorted(spans))
        if not self._week:
            raise ValueError("a calendar needs at least one interval of business hours")
        self.holidays = frozenset(holidays)
        self._holiday_days = frozenset((d - _EPOCH_DATE).days for d in self.holidays)
        self.always_open = not self.holidays and self._week == [(0, _WEEK)]
        self._plain: dict[int, _Chunk] = {}  # keyed by UTC offset
        self._chunks: dict[int, _Chunk] = {}  # keyed by week number

    @classmethod
    def always(cls, timezone: str = "UTC") -> BusinessCalendar:
        """The degenerate 24x7 calendar."""
        return cls(timezone, {d: [("00:00", "24:00")] for d in range(7)})

    # --- the two operations ----------------------------------------------------------------

    def add(self, start: datetime, minutes: float | timedelta) -> datetime:
        """The earliest instant after `start` by which `minutes` of business time have passed."""
        remaining = minutes // _ONE_US if isinstance(minutes, timedelta) else round(minutes * _MINUTE)
        if remaining < 0:
            raise ValueError("minutes must not be negative")
        if self.always_open or remaining == 0:
            return start + timedelta(microseconds=remaining)
        week, rel = divmod(_micros(start), _WEEK)
        chunk = self._chunk(week)
        # Business time is counted from the week's start: find the position `rel` stands at,
        # skip whole weeks by their totals, then look the target position up in the table.
        position = _busy_before(chunk, rel) + remaining
        while position > chunk.total:
            position -= chunk.total
            week += 1
            chunk = self._chunk(week)
        i = bisect.bisect_left(chunk.upto, position)
        return _datetime(week * _WEEK + chunk.starts[i] + position - chunk.before[i], start.tzinfo)

    def add_each(self, start: datetime, minutes: Sequence[float]) -> list[datetime]:
        """[add(start, m) for m in minutes], finding `start`'s place in the week once."""
        if self.always_open:
            return [start + timedelta(microseconds=round(m * _MINUTE)) for m in minutes]
        base_week, rel = divmod(_micros(start), _WEEK)
        first = self._chunks.get(base_week) or self._chunk(base_week)
        base = _busy_before(first, rel)
        tz = start.tzinfo
        utc = tz in (None, timezone.utc)  # as _datetime decides
        out = []
        for m in minutes:
            remaining = round(m * _MINUTE)
            if remaining < 0:
                raise ValueError("minutes must not be negative")
            if remaining == 0:
                out.append(start)
                continue
            week, chunk, position = base_week, first, base + remaining
            while position > chunk.total:
                position -= chunk.total
                week += 1
                chunk = self._chunk(week)
            i = bisect.bisect_left(chunk.upto, position)
            end = _EPOCH + _ONE_US * (week * _WEEK + chunk.starts[i] + position - chunk.before[i])
            out.append(end if utc else end.astimezone(tz))
        return out

    def minutes_between(self, start: datetime, end: datetime) -> int:
        """Whole business minutes from `start` to `end`; negative when `end` comes first."""
        a, b = _micros(start), _micros(end)
        if b < a:
            return -(self._between(b, a) // _MINUTE)
        return self._between(a, b) // _MINUTE

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """The exact business time from `start` to `end` (negative when `end` comes first)."""
        a, b = _micros(start), _micros(end)
        return timedelta(microseconds=self._between(a, b) if a <= b else -self._between(b, a))

    def is_open(self, at: datetime) -> bool:
        week, rel = divmod(_micros(at), _WEEK)
        chunk = self._chunk(week)
        i = bisect.bisect_right(chunk.ends, rel)
        return i < len(chunk.starts) and chunk.starts[i] <= rel

    # --- internals ---------------------------------------------------------------------------

    def _between(self, a: int, b: int) -> int:
        if self.always_open:
            return b - a
        wa, ra = divmod(a, _WEEK)
        wb, rb = divmod(b, _WEEK)
        if wa == wb:
            chunk = self._chunk(wa)
            return _busy_before(chunk, rb) - _busy_before(chunk, ra)
        first = self._chunk(wa)
        total = first.total - _busy_before(first, ra) + _busy_before(self._chunk(wb), rb)
        for week in range(wa + 1, wb):
            total += self._chunk(week).total
        return total

    def _chunk(self, week: int) -> _Chunk:
        chunk = self._chunks.get(week)
        if chunk is None:
            chunk = self._chunks[week] = self._build_chunk(week)
        return chunk

    def _build_chunk(self, week: int) -> _Chunk:
        begin = week * _WEEK
        segments = self._offset_segments(begin, begin + _WEEK)
        if len(segments) == 1:
            offset = segments[0][2]
            first_day = (begin + offset) // _DAY
            if not any(d in self._holiday_days for d in range(first_day, first_day + 8)):
                plain = self._plain.get(offset)
                if plain is None:
                    plain = self._plain[offset] = _make_chunk(self._pieces(0, _WEEK, offset, week))
                return plain
        pieces = []
        for seg_start, seg_end, offset in segments:
            pieces += self._pieces(seg_start - begin, seg_end - begin, offset, week)
        return _make_chunk(pieces)

    def _pieces(self, lo: int, hi: int, offset: int, week: int) -> list[tuple[int, int]]:
        """Business intervals within [lo, hi) of the week, where local = UTC + offset."""
        base = week * _WEEK + offset  # local microseconds of the week's start
        n0, n1 = base + lo, base + hi
        out = []
        day = n0 // _DAY
        while day * _DAY < n1:
            if day not in self._holiday_days:
                day_start = day * _DAY
                weekday_start = (day % 7) * _DAY  # the epoch is a Monday
                for s, e in self._week:
                    if e <= weekday_start or s >= weekday_start + _DAY:
                        continue
                    s = day_start + max(s, weekday_start) - weekday_start
                    e = day_start + min(e, weekday_start + _DAY) - weekday_start
                    s, e = max(s, n0), min(e, n1)
                    if s < e:
                        out.append((s - base, e - base))
            day += 1
        return out

    def _offset_segments(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        """[lo, hi) cut where the zone's UTC offset changes: (start, end, offset) in microseconds."""
        probes = list(range(lo, hi, _DAY // 4)) + [hi - 1]
        offsets = [self._offset(p) for p in probes]
        segments, seg_start = [], lo
        for (p, off), (q, next_off) in zip(zip(probes, offsets), zip(probes[1:], offsets[1:])):
            if off != next_off:
                p, q = p // _US, q // _US
                while q - p > 1:  # zones change offset on a whole second
                    mid = (p + q) // 2
                    if self._offset(mid * _US) == off:
                        p = mid
                    else:
                        q = mid
                q *= _US
                segments.append((seg_start, q, off))
                seg_start = q
        segments.append((seg_start, hi, offsets[-1]))
        return segments

    def _offset(self, micros: int) -> int:
        local = _datetime(micros, timezone.utc).astimezone(self.zone)
        return local.utcoffset() // _ONE_US


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in spans:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _make_chunk(pieces: list[tuple[int, int]]) -> _Chunk:
    merged = _merge(sorted(pieces))
    before, upto, total = [], [], 0
    for s, e in merged:
        before.append(total)
        total += e - s
        upto.append(total)
    return _Chunk(tuple(s for s, _ in merged), tuple(e for _, e in merged), tuple(before), tuple(upto), total)


def _busy_before(chunk: _Chunk, rel: int) -> int:
    """Business time in the chunk before `rel`."""
    i = bisect.bisect_right(chunk.starts, rel) - 1
    if i < 0:
        return 0
    return chunk.before[i] + min(rel, chunk.ends[i]) - chunk.starts[i]


def _micros(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("business time needs an aware datetime")
    return (value - _EPOCH) // _ONE_US


def _datetime(micros: int, tz) -> datetime:
    result = _EPOCH + _ONE_US * micros  # exact, and cheaper than building timedelta(microseconds=...)
    return result if tz in (None, timezone.utc) else result.astimezone(tz)
