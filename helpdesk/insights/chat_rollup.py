"""Keeping the chat rollup (insight_chat_days, insight_chat_hours) up to date.

A chat changes for a while (accepted, transferred, ended, rated) and then rarely. Rather than
moving counts by deltas, a refresh recomputes whole local days: the days on which the chats
changed since the watermark (chat_sessions.updated_at) were started. A day's rows are computed
in Python from that day's chats, so recomputing one twice is harmless; the watermark overlaps
by a few minutes to catch transactions that committed late. The caller commits.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import Date, delete, func, insert, literal, select, text

from helpdesk.chat.models import ChatSession
from helpdesk.extensions import db
from helpdesk.insights.models import CHAT_EDGES, CHAT_MEASURES, InsightState, chat_days, chat_hours
from helpdesk.insights import rollups
from helpdesk.insights.services import reporting_zone
from helpdesk.types import utcnow

C = ChatSession
ANY = -1
MARK = "chat_sessions"  # InsightState: at = the latest updated_at seen; number = chats within OVERLAP of it
OVERLAP = timedelta(minutes=5)
_INDEX = {name: i for i, name in enumerate(CHAT_MEASURES)}
_COLUMNS = (C.created_at, C.group_id, C.agent_id, C.topic_id, C.first_response_at, C.missed, C.abandoned,
            C.bot_resolved, C.queued_at, C.accepted_at, C.wait_seconds, C.first_response_seconds,
            C.duration_seconds, C.rating, C.transfers)


def bucket(seconds: int) -> int:
    """The index of the CHAT_EDGES bucket that holds seconds."""
    i = 0
    while i + 1 < len(CHAT_EDGES) and seconds >= CHAT_EDGES[i + 1]:
        i += 1
    return i


def measures(chat) -> list[int]:
    """One chat's row of CHAT_MEASURES; the flags mean what chat_drilldown.METRICS selects."""
    m = [0] * len(CHAT_MEASURES)

    def put(name: str, value: int = 1) -> None:
        m[_INDEX[name]] += value

    put("chats")
    answered = chat.first_response_at is not None
    if answered:
        put("answered")
    if chat.missed and not chat.abandoned:
        put("missed")
    if chat.abandoned:
        put("abandoned")
    if chat.bot_resolved:
        put("bot_resolved")
    if not answered and not chat.missed and not chat.bot_resolved:
        put("other")
    if chat.queued_at is not None:
        put("queued")
    if chat.wait_seconds is not None:
        put("waited")
        put("wait_sum", chat.wait_seconds)
        put(f"wait_{bucket(chat.wait_seconds)}")
        if chat.accepted_at is not None:
            put(f"accepted_wait_{bucket(chat.wait_seconds)}")
    if chat.first_response_seconds is not None:
        put("responded")
        put("response_sum", chat.first_response_seconds)
        put(f"response_{bucket(chat.first_response_seconds)}")
    if chat.duration_seconds is not None:
        put("ended")
        put("duration_sum", chat.duration_seconds)
    if chat.rating is not None:
        put("rated")
        put("rating_sum", chat.rating)
        if chat.rating >= 4:
            put("good")
    if chat.transfers:
        put("transfers", chat.transfers)
        put("transferred")
    return m


# --- incremental -------------------------------------------------------------------------------


AUTO_REBUILD_MAX = 50_000  # chats: more than that, the first build is the command's job (minutes)


def refresh(now: datetime | None = None) -> int:
    """Recompute the days of the chats changed since the watermark; how many days. Never built
    yet: build everything (rebuild) when the chats are few."""
    now = now or utcnow()
    _lock()
    state = db.session.get(InsightState, MARK)
    if state is None or state.at is None:
        count = db.session.scalar(select(func.count()).select_from(C)) or 0
        if count > AUTO_REBUILD_MAX:
            current_app.logger.warning("insights: %s chats and no chat rollup yet; run `flask insights rebuild`", count)
            return 0
        rebuild(now=now)
        return -1
    since = state.at - OVERLAP
    tz = reporting_zone()
    changed = db.session.execute(select(C.created_at, C.updated_at).where(C.updated_at >= since)).all()
    if len(changed) == state.number and all(updated <= state.at for _, updated in changed):
        return 0  # the same chats as last time: nothing committed since (late or not)
    days = sorted({created.astimezone(tz).date() for created, _ in changed})
    recompute_days(days)
    state.at = max([state.at, *(updated for _, updated in changed)])
    # How many the window holds now: a late commit in it, or any change after it, makes a difference.
    state.number = sum(1 for _, updated in changed if updated >= state.at - OVERLAP)
    db.session.flush()
    return len(days)


def recompute_days(days: Iterable[date]) -> None:
    """Delete and compute again the rollup rows of these local days."""
    days = sorted(set(days))
    tz = reporting_zone()
    for i in range(0, len(days), 200):
        chunk = days[i:i + 200]
        db.session.execute(delete(chat_days).where(chat_days.c.day.in_(chunk)))
        db.session.execute(delete(chat_hours).where(chat_hours.c.day.in_(chunk)))
        for day in chunk:
            start = datetime.combine(day, time.min, tz)
            end = datetime.combine(day + timedelta(days=1), time.min, tz)
            _insert(_aggregate(db.session.execute(
                select(*_COLUMNS).where(C.created_at >= start, C.created_at < end)), tz))
    recompute_months({day.replace(day=1) for day in days})


def recompute_months(months: Iterable[date]) -> None:
    """The monthly rows ("all-m", "topic-m", day: the 1st) are the sums of the month's daily
    rows: a year's range reads a dozen of them instead of 365 days."""
    t = chat_days.c
    for month in sorted(set(months)):
        following = (month + timedelta(days=32)).replace(day=1)
        db.session.execute(delete(chat_days).where(t.dimension.in_(["all-m", "topic-m"]), t.day == month))
        columns = [t.group_id, t.agent_id, t.key, *(t[m] for m in CHAT_MEASURES)]
        db.session.execute(insert(chat_days).from_select(
            ["dimension", "day", *(c.name for c in columns)],
            select((t.dimension + "-m").label("dimension"), literal(month, Date).label("day"), t.group_id, t.agent_id,
                   t.key, *(func.sum(t[m]) for m in CHAT_MEASURES))
            .where(t.dimension.in_(["all", "topic"]), t.day >= month, t.day < following)
            .group_by(t.dimension, t.group_id, t.agent_id, t.key)))


# --- from scratch ------------------------------------------------------------------------------


def rebuild(now: datetime | None = None, progress: Callable[[int, int], None] | None = None,
            batch_days: int = 30) -> int:
    """Forget the chat rollup and compute it again from every chat, `batch_days` local days at a
    time (progress(done, total) after each batch). The watermark is taken first."""
    now = now or utcnow()
    _lock()
    latest = db.session.scalar(select(func.max(C.updated_at)))
    db.session.execute(delete(chat_days))
    db.session.execute(delete(chat_hours))
    tz = reporting_zone()
    first, last = db.session.execute(select(func.min(C.created_at), func.max(C.created_at))).one()
    done = 0
    total = db.session.scalar(select(func.count()).select_from(C)) or 0
    if first is not None:
        day, last_day = first.astimezone(tz).date(), last.astimezone(tz).date()
        while day <= last_day:
            start = datetime.combine(day, time.min, tz)
            end = datetime.combine(day + timedelta(days=batch_days), time.min, tz)
            chats = db.session.execute(select(*_COLUMNS).where(C.created_at >= start, C.created_at < end)).all()
            _insert(_aggregate(chats, tz))
            done += len(chats)
            day += timedelta(days=batch_days)
            if progress is not None:
                progress(done, total)
        month, months = first.astimezone(tz).date().replace(day=1), []
        while month <= last_day:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        recompute_months(months)
    rollups.mark_rebuilt(MARK, latest or now)
    return done


# --- internals ---------------------------------------------------------------------------------


def _aggregate(chats, tz) -> tuple[dict, dict]:
    """The day rows {(dimension, group, agent, day, key): measures} and hour rows
    {(group, agent, day, hour): chats} of some chats, with their "any" variants."""
    days: dict[tuple, list[int]] = {}
    hours: dict[tuple, int] = {}
    for chat in chats:
        local = chat.created_at.astimezone(tz)
        day = local.date()
        row = [(i, v) for i, v in enumerate(measures(chat)) if v]  # a dozen of the measures at most
        group, agent, topic = chat.group_id or 0, chat.agent_id or 0, chat.topic_id or 0
        for g, a in ((group, agent), (group, ANY), (ANY, agent), (ANY, ANY)):
            for key in (("all", g, a, day, 0), ("topic", g, a, day, topic)):
                acc = days.get(key)
                if acc is None:
                    acc = days[key] = [0] * len(CHAT_MEASURES)
                for i, v in row:
                    acc[i] += v
            hour_key = (g, a, day, local.hour)
            hours[hour_key] = hours.get(hour_key, 0) + 1
    return days, hours


def _insert(rows: tuple[dict, dict]) -> None:
    days, hours = rows
    if days:
        values = [dict(zip(CHAT_MEASURES, m), dimension=d, group_id=g, agent_id=a, day=day, key=k)
                  for (d, g, a, day, k), m in days.items()]
        for i in range(0, len(values), 2000):
            db.session.execute(insert(chat_days), values[i:i + 2000])
    if hours:
        values = [dict(group_id=g, agent_id=a, day=day, hour=h, weekday=day.weekday(), chats=n)
                  for (g, a, day, h), n in hours.items()]
        for i in range(0, len(values), 5000):
            db.session.execute(insert(chat_hours), values[i:i + 5000])


_LOCK_KEY = 7_301_007


def _lock() -> None:
    """One chat refresh at a time (two would insert the same day's rows)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    else:
        db.session.execute(text("UPDATE insight_state SET number = number WHERE 0"))
