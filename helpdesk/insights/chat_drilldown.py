"""The chats behind each number of the chat dashboard: links to them and the query that lists them."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import g
from sqlalchemy import ColumnElement, Select, and_, select, true

from helpdesk.chat.models import ChatSession, ChatTopic
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights.boards import link
from helpdesk.insights.dashboard import Filters
from helpdesk.insights.localtime import WEEKDAYS, in_local_hour_of_week

C = ChatSession
_PLAIN = re.compile(r"[\w.\-]*", re.ASCII)

# metric -> (title, condition). Answered, missed, abandoned, bot-resolved and other do not
# overlap: together they are all chats (abandoned ones are not counted as missed here).
METRICS: dict[str, tuple[str, ColumnElement[bool]]] = {
    "all": ("Chats", true()),
    "answered": ("Answered chats", C.first_response_at.is_not(None)),
    "missed": ("Missed chats", and_(C.missed.is_(True), C.abandoned.is_(False))),
    "abandoned": ("Abandoned chats", C.abandoned.is_(True)),
    "bot_resolved": ("Chats the bot resolved", C.bot_resolved.is_(True)),
    "other": ("Chats with no outcome yet or left with the bot",
              and_(C.first_response_at.is_(None), C.missed.is_(False), C.bot_resolved.is_(False))),
    "queued": ("Chats that waited for an agent", C.queued_at.is_not(None)),
    "waited": ("Chats with a waiting time", C.wait_seconds.is_not(None)),
    "rated": ("Rated chats", C.rating.is_not(None)),
    "transferred": ("Transferred chats", C.transfers > 0),
}

# Waiting time buckets: key -> (label, lowest second included, first second excluded).
WAIT_BUCKETS: dict[str, tuple[str, int, int | None]] = {
    "lt30s": ("< 30 s", 0, 30),
    "30-60s": ("30–60 s", 30, 60),
    "1-2min": ("1–2 min", 60, 120),
    "2-5min": ("2–5 min", 120, 300),
    "gt5min": ("> 5 min", 300, None),
}


def wait_bucket(seconds: int) -> str:
    for key, (_, low, high) in WAIT_BUCKETS.items():
        if seconds >= low and (high is None or seconds < high):
            return key
    raise ValueError(seconds)


def chat_link(filters: Filters, metric: str, **dims) -> str:
    """The drill-down list of the chats behind a number (dims: day, weekday, hour, topic,
    no_agent, no_group, bucket; agent and group override the filters)."""
    args = filters.to_args()
    for name in ("agent", "group"):
        if name in dims:
            value = dims.pop(name)
            args.pop(name, None)
            if value:
                args[name] = str(value)
    args.update({k: str(v) for k, v in dims.items() if v is not None})
    # A dashboard carries hundreds of these: route the endpoint once per app context, not per
    # link, and spell the (plain) values without the general quoting.
    base = g.get("_chat_list_url")
    if base is None:
        base = g._chat_list_url = link("insights.chats")
    return f"{base}?" + "&".join(f"{k}={v}" if _PLAIN.fullmatch(v) else urlencode({k: v})
                                 for k, v in {"metric": metric, **args}.items())


def range_conditions(filters: Filters, start: datetime | None = None, end: datetime | None = None) -> list:
    """Chats started within the filters' range (or [start, end)), in their group and agent."""
    conditions = [C.created_at >= (start or filters.start_at), C.created_at < (end or filters.end_at)]
    if filters.group_id:
        conditions.append(C.group_id == filters.group_id)
    if filters.agent_id:
        conditions.append(C.agent_id == filters.agent_id)
    return conditions


def select_chats(filters: Filters, args: Mapping[str, str]) -> tuple[str, Select]:
    """A title and the SELECT of exactly the chats a dashboard number counted, newest first."""
    metric = args.get("metric") or "all"
    if metric not in METRICS:
        raise ValidationFailed({"metric": f"{metric!r} is not a chat metric"})
    title, condition = METRICS[metric]
    parts = [title]
    conditions = [*range_conditions(filters), condition]
    day = _day(args, filters)
    if day is not None:
        start = datetime.combine(day, datetime.min.time(), filters.tz)
        conditions += [C.created_at >= start, C.created_at < datetime.combine(day + timedelta(days=1),
                                                                               datetime.min.time(), filters.tz)]
        parts.append(f"{day.day} {day:%b %Y}")
    weekday, hour = _int(args, "weekday", 0, 6), _int(args, "hour", 0, 23)
    if (weekday is None) != (hour is None):
        raise ValidationFailed({"hour" if hour is None else "weekday": "weekday and hour go together"})
    if weekday is not None:
        conditions.append(in_local_hour_of_week(C.created_at, filters.start_at, filters.end_at, filters.tz,
                                                weekday, hour))
        parts.append(f"{WEEKDAYS[weekday]} {hour:02d}:00–{hour + 1:02d}:00")
    topic = (args.get("topic") or "").strip()
    if topic == "none":
        conditions.append(C.topic_id.is_(None))
        parts.append("no topic")
    elif topic:
        topic_id = _int(args, "topic", 1, None)
        conditions.append(C.topic_id == topic_id)
        found = db.session.get(ChatTopic, topic_id)
        parts.append(found.name if found else f"topic {topic_id}")
    if args.get("no_agent"):
        conditions.append(C.agent_id.is_(None))
        parts.append("no agent")
    if args.get("no_group"):
        conditions.append(C.group_id.is_(None))
        parts.append("no group")
    bucket = (args.get("bucket") or "").strip()
    if bucket:
        if bucket not in WAIT_BUCKETS:
            raise ValidationFailed({"bucket": f"{bucket!r} is not a waiting time bucket"})
        label, low, high = WAIT_BUCKETS[bucket]
        conditions.append(C.wait_seconds >= low)
        if high is not None:
            conditions.append(C.wait_seconds < high)
        parts.append(f"waited {label}")
    query = select(C).where(*conditions).order_by(C.created_at.desc(), C.id.desc())
    return " · ".join(parts), query


def _day(args: Mapping[str, str], filters: Filters) -> date | None:
    raw = (args.get("day") or "").strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed({"day": f"{raw!r} is not a date (YYYY-MM-DD)"}) from None
    if not filters.start <= day <= filters.end:
        raise ValidationFailed({"day": "the day is outside the chosen range"})
    return day


def _int(args: Mapping[str, str], name: str, low: int, high: int | None) -> int | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        raise ValidationFailed({name: f"{raw!r} is not a valid {name}"})
    return int(raw)
