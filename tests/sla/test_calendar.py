"""BusinessCalendar against a brute-force oracle that looks at every minute's wall-clock time."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpdesk.sla.calendar import BusinessCalendar

ZONES = ["Europe/Rome", "America/New_York", "Australia/Sydney", "Asia/Tehran"]
UTC = timezone.utc
MIN = timedelta(minutes=1)
# Days around which the zones above change their clocks, so DST weeks come up often.
DST_DAYS = [date(2025, 3, 9), date(2025, 3, 30), date(2025, 4, 6), date(2025, 10, 5), date(2025, 10, 26),
            date(2025, 11, 2), date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 4), date(2026, 10, 25)]


def _hm(minutes: int) -> str:
    return "24:00" if minutes == 1440 else f"{minutes // 60:02d}:{minutes % 60:02d}"


class Oracle:
    """Business time by definition: is this minute's local wall-clock time inside the hours?"""

    def __init__(self, tz: str, weekly: dict, holidays: set[date]):
        self.zone = ZoneInfo(tz)
        self.weekly = {d: [(int(s[:2]) * 60 + int(s[3:]), int(e[:2]) * 60 + int(e[3:])) for s, e in ivs]
                       for d, ivs in weekly.items()}
        self.holidays = holidays

    def is_business(self, t: datetime) -> bool:
        local = t.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        m = local.hour * 60 + local.minute
        return any(s <= m < e for s, e in self.weekly.get(local.weekday(), []))

    def add(self, start: datetime, minutes: int) -> datetime:
        t, left = start, minutes
        while left:
            if self.is_business(t):
                left -= 1
            t += MIN
        return t

    def between(self, start: datetime, end: datetime) -> int:
        count, t = 0, start
        while t < end:
            count += self.is_business(t)
            t += MIN
        return count


@st.composite
def calendars(draw):
    tz = draw(st.sampled_from(ZONES))
    weekly = {}
    step = draw(st.sampled_from([1, 15, 30, 60]))
    for day in range(7):
        points = sorted(draw(st.sets(st.integers(0, 1440 // step).map(lambda x: x * step), max_size=6)))
        if len(points) % 2:
            points = points[:-1]
        intervals = [(_hm(points[i]), _hm(points[i + 1])) for i in range(0, len(points), 2)]
        if intervals:
            weekly[day] = intervals
    if draw(st.integers(0, 9)) == 0:  # sometimes a plain 24x7 or office week
        weekly = {d: [("00:00", "24:00")] for d in range(7)}
    assume(any(weekly.values()))
    return tz, weekly


@st.composite
def starts(draw):
    anchor = draw(st.one_of(st.sampled_from(DST_DAYS), st.dates(date(2024, 1, 1), date(2027, 12, 31))))
    local = datetime.combine(anchor, time()) + timedelta(minutes=draw(st.integers(-3 * 1440, 3 * 1440)))
    return local.replace(tzinfo=UTC)


def _holidays(draw, start: datetime) -> set[date]:
    offsets = draw(st.sets(st.integers(-2, 20), max_size=5))
    return {start.date() + timedelta(days=o) for o in offsets}


SETTINGS = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(cal=calendars(), start=starts(), minutes=st.integers(0, 4000), data=st.data())
def test_add_agrees_with_the_oracle(cal, start, minutes, data):
    tz, weekly = cal
    holidays = _holidays(data.draw, start)
    oracle = Oracle(tz, weekly, holidays)
    # Keep the oracle's walk short: a sparse calendar could take months.
    weekly_minutes = sum(e - s for ivs in oracle.weekly.values() for s, e in ivs)
    assume(minutes <= weekly_minutes * 2)
    calendar = BusinessCalendar(tz, weekly, holidays)
    assert calendar.add(start, minutes) == oracle.add(start, minutes)


@SETTINGS
@given(cal=calendars(), start=starts(), minutes=st.lists(st.integers(0, 200_000), max_size=5), data=st.data(),
       micros=st.integers(0, 59_999_999))
def test_add_each_is_add_of_each(cal, start, minutes, data, micros):
    tz, weekly = cal
    start = start + timedelta(microseconds=micros)
    calendar = BusinessCalendar(tz, weekly, _holidays(data.draw, start))
    assert calendar.add_each(start, minutes) == [calendar.add(start, m) for m in minutes]


@SETTINGS
@given(cal=calendars(), start=starts(), span=st.integers(-3 * 1440, 12 * 1440), data=st.data())
def test_minutes_between_agrees_with_the_oracle(cal, start, span, data):
    tz, weekly = cal
    holidays = _holidays(data.draw, start)
    end = start + timedelta(minutes=span)
    oracle = Oracle(tz, weekly, holidays)
    calendar = BusinessCalendar(tz, weekly, holidays)
    expected = oracle.between(start, end) if span >= 0 else -oracle.between(end, start)
    assert calendar.minutes_between(start, end) == expected


@SETTINGS
@given(cal=calendars(), start=starts(), minutes=st.integers(0, 200_000), data=st.data(),
       seconds=st.integers(0, 59), micros=st.integers(0, 999_999))
def test_minutes_between_undoes_add(cal, start, minutes, data, seconds, micros):
    tz, weekly = cal
    start = start + timedelta(seconds=seconds, microseconds=micros)
    calendar = BusinessCalendar(tz, weekly, _holidays(data.draw, start))
    end = calendar.add(start, minutes)
    assert calendar.minutes_between(start, end) == minutes
    assert end >= start


def test_nine_to_five_across_the_spring_forward_weekend():
    cal = BusinessCalendar("America/New_York", {d: [("09:00", "17:00")] for d in range(5)})
    friday = datetime(2025, 3, 7, 16, 0, tzinfo=ZoneInfo("America/New_York"))
    monday_ten = cal.add(friday, 120)
    assert monday_ten == datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("America/New_York"))
    assert monday_ten.utcoffset() == timedelta(hours=-4)


def test_a_fall_back_hour_inside_the_hours_counts_twice():
    cal = BusinessCalendar("Europe/Rome", {6: [("00:00", "24:00")]})
    sunday = datetime(2025, 10, 26, tzinfo=ZoneInfo("Europe/Rome"))
    assert cal.minutes_between(sunday, sunday + timedelta(days=2)) == 25 * 60


def test_an_interval_may_end_at_midnight_and_join_the_next_day():
    cal = BusinessCalendar("UTC", {0: [("20:00", "00:00")], 1: [("00:00", "04:00")]})
    monday = datetime(2025, 6, 2, 20, tzinfo=UTC)
    assert cal.add(monday, 6 * 60) == datetime(2025, 6, 3, 2, tzinfo=UTC)


def test_a_holiday_removes_the_whole_local_day():
    rome = ZoneInfo("Europe/Rome")
    cal = BusinessCalendar("Europe/Rome", {d: [("09:00", "13:00"), ("14:00", "18:00")] for d in range(5)},
                           {date(2025, 12, 25), date(2025, 12, 26)})
    wednesday_evening = datetime(2025, 12, 24, 17, 30, tzinfo=rome)
    assert cal.add(wednesday_evening, 60) == datetime(2025, 12, 29, 9, 30, tzinfo=rome)


def test_the_24x7_calendar_is_plain_arithmetic():
    cal = BusinessCalendar.always("Europe/Rome")
    start = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
    assert cal.add(start, 1440) == start + timedelta(days=1)
    assert cal.minutes_between(start, start + timedelta(days=1)) == 1440


@pytest.mark.parametrize("weekly", [{}, {0: [("10:00", "09:00")]}, {7: [("09:00", "10:00")]}, {0: [("9", "10:00")]}])
def test_bad_calendars_are_refused(weekly):
    with pytest.raises(ValueError):
        BusinessCalendar("UTC", weekly)
