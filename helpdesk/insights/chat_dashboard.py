"""The chat dashboard: chats per day and hour of week, waiting, missed and abandoned chats,
duration, ratings, agents and topics.

Everything is read from the chat rollup (insight_chat_days and insight_chat_hours, kept by
chat_rollup.refresh), a few hundred rows per range whatever the history. Medians of waiting
and first-response times are estimated within the rollup's time buckets (CHAT_EDGES); the
drill-down lists read the chats themselves.
"""
from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, select

from helpdesk.chat.models import ChatTopic
from helpdesk.extensions import db
from helpdesk.insights.chat_drilldown import WAIT_BUCKETS, chat_link, wait_bucket
from helpdesk.insights.dashboard import (
    Cell,
    Chart,
    Dashboard,
    Figure,
    Filters,
    Section,
    Series,
    Table,
    format_count,
    format_percent,
    format_seconds,
)
from helpdesk.insights.localtime import WEEKDAYS, month_pieces
from helpdesk.insights.models import CHAT_EDGES, CHAT_MEASURES, chat_days, chat_hours
from helpdesk.people.models import Group, User

D, H = chat_days.c, chat_hours.c
ANY = -1
OUTCOMES = ["answered", "missed", "abandoned", "bot_resolved", "other"]
OUTCOME_LABELS = {"answered": "Answered", "missed": "Missed", "abandoned": "Abandoned",
                  "bot_resolved": "Bot-resolved", "other": "Other"}
_INDEX = {name: i for i, name in enumerate(CHAT_MEASURES)}
_BUCKETS = range(len(CHAT_EDGES))
MEDIAN_HINT = "estimated from time buckets"


class Totals:
    """Rollup measures of some chats, added up: t.chats, t.answered, t.wait_sum, ..."""

    __slots__ = ("values",)

    def __init__(self):
        self.values = [0] * len(CHAT_MEASURES)

    def add(self, row) -> None:
        values = self.values
        for i, value in enumerate(row):
            if value:
                values[i] += int(value)

    def __getattr__(self, name: str) -> int:
        try:
            return self.values[_INDEX[name]]
        except KeyError:
            raise AttributeError(name) from None

    def average(self, total: str, count: str) -> float | None:
        n = getattr(self, count)
        return getattr(self, total) / n if n else None

    def histogram(self, prefix: str) -> list[int]:
        """Counts per CHAT_EDGES bucket of "wait", "accepted_wait" or "response"."""
        return [self.values[_INDEX[f"{prefix}_{i}"]] for i in _BUCKETS]


def median(counts: list[int]) -> float | None:
    """The median estimated from counts per CHAT_EDGES bucket: the point half-way through the
    values, assuming they spread evenly within their bucket (the last, open bucket: its edge)."""
    total = sum(counts)
    if not total:
        return None
    half, seen = total / 2, 0
    for i, n in enumerate(counts):
        if n and seen + n >= half:
            low = CHAT_EDGES[i]
            if i + 1 == len(CHAT_EDGES):
                return float(low)
            return low + (CHAT_EDGES[i + 1] - low) * (half - seen) / n
        seen += n
    return float(CHAT_EDGES[-1])


def build(filters: Filters) -> Dashboard:
    totals = _by("all", filters, CHAT_MEASURES).get(None, Totals())
    per_day = _per_day(filters)
    heat = _heat(filters)
    per_agent = _by("agent", filters, _AGENT_MEASURES)
    per_topic, per_group = _by("topic", filters, _OUTCOME_MEASURES), _by("group", filters, _OUTCOME_MEASURES)
    sections = [
        Section("Chats", [_per_day_chart(filters, per_day), _heat_map(filters, heat)],
                note="Answered: an agent replied. Missed: ended unanswered, not by the visitor leaving. Abandoned: "
                     "the visitor left while waiting. Other: still going, or left the bot without asking for a person. "
                     "Days and hours are local to the reporting time zone."),
        Section("Waiting", [_wait_chart(filters, totals)],
                note="Waiting time: from joining the queue until an agent accepted, or until the chat ended unanswered."),
        Section("Agents and topics", [_agents_table(filters, per_agent), _topics_table(filters, per_topic),
                                      _groups_table(filters, per_group)],
                note=f"Medians are {MEDIAN_HINT} (edges at {', '.join(map(str, CHAT_EDGES))} seconds), "
                     "assuming times spread evenly within a bucket."),
    ]
    return Dashboard(key="chat", title="Chat", filters=filters, figures=_figures(filters, totals), sections=sections)


# --- reading -----------------------------------------------------------------------------------


def _pair(filters: Filters) -> tuple[int, int]:
    return filters.group_id or ANY, filters.agent_id or ANY


def _in_range(filters: Filters, table=D) -> list:
    return [table.day >= filters.start, table.day <= filters.end]


def _per_day(filters: Filters) -> dict:
    group, agent = _pair(filters)
    query = (select(D.day, *(D[m] for m in OUTCOMES))
             .where(D.dimension == "all", D.group_id == group, D.agent_id == agent, D.key == 0, *_in_range(filters)))
    slots = [_INDEX[m] for m in OUTCOMES]
    per_day = {}
    for day, *values in _rows(query):
        per_day[day] = t = Totals()
        for slot, value in zip(slots, values):
            t.values[slot] = int(value)
    return per_day


def _pieces(filters: Filters) -> list[tuple[str, date, date]]:
    """The range as (dimension suffix, first day, last day): whole calendar months read their
    monthly rows ("-m", day: the 1st), the days before and after them their daily rows."""
    return [("-m" if monthly else "", first, last) for monthly, first, last in month_pieces(filters.start, filters.end)]


def _heat(filters: Filters) -> list[list[int]]:
    group, agent = _pair(filters)
    heat = [[0] * 24 for _ in WEEKDAYS]
    query = (select(H.weekday, H.hour, func.sum(H.chats))
             .where(H.group_id == group, H.agent_id == agent, *_in_range(filters, H)).group_by(H.weekday, H.hour))
    for weekday, hour, n in _rows(query):
        heat[weekday][hour] = int(n)
    return heat


# What the per-agent and the per-topic and per-group tables show (fewer sums read faster).
_AGENT_MEASURES = ("chats", "answered", "ended", "duration_sum", "rated", "rating_sum", "transfers", "missed",
                   *(f"accepted_wait_{i}" for i in _BUCKETS), *(f"response_{i}" for i in _BUCKETS))
_OUTCOME_MEASURES = ("chats", "answered", "missed", "abandoned", "bot_resolved", "waited", "wait_sum", "rated",
                     "rating_sum")


def _by(dimension: str, filters: Filters, wanted: tuple[str, ...]) -> dict[int | None, Totals]:
    """The wanted sums per agent, group or topic (None: no agent, group or topic), or of all
    the chats ("all": under None)."""
    group, agent = _pair(filters)
    sums = [func.sum(D[m]) for m in wanted]
    slots = [_INDEX[m] for m in wanted]
    if dimension in ("all", "topic"):
        name, key, where = dimension, D.key, [D.group_id == group, D.agent_id == agent]
    elif dimension == "agent":
        name, key = "all", D.agent_id
        where = [D.group_id == group, D.agent_id == agent if filters.agent_id else D.agent_id > ANY]
    else:
        name, key = "all", D.group_id
        where = [D.agent_id == agent, D.group_id == group if filters.group_id else D.group_id > ANY]
    out: dict[int | None, Totals] = {}
    for suffix, first, last in _pieces(filters):
        query = (select(key, *sums).where(D.dimension == name + suffix, *where, D.day >= first, D.day <= last)
                 .group_by(key))
        for k, *values in _rows(query):
            t = out.get(int(k) or None)
            if t is None:
                t = out[int(k) or None] = Totals()
            for slot, value in zip(slots, values):
                t.values[slot] += int(value or 0)
    return out


# --- presenting --------------------------------------------------------------------------------


def _figures(filters: Filters, t: Totals) -> list[Figure]:
    link = lambda metric: chat_link(filters, metric)  # noqa: E731
    rating = t.average("rating_sum", "rated")
    wait, response = median(t.histogram("wait")), median(t.histogram("response"))
    return [
        Figure("Chats", format_count(t.chats), t.chats, link("all")),
        Figure("Answered", format_count(t.answered), t.answered, link("answered"),
               hint=f"{format_percent(t.answered, t.chats)} of chats"),
        Figure("Missed rate", format_percent(t.missed, t.queued),
               _rate(t.missed, t.queued), link("missed"),
               hint=f"{format_count(t.missed)} of {format_count(t.queued)} chats that waited for an agent"),
        Figure("Abandoned rate", format_percent(t.abandoned, t.queued),
               _rate(t.abandoned, t.queued), link("abandoned"),
               hint=f"{format_count(t.abandoned)} visitors left while waiting"),
        Figure("Wait (median)", format_seconds(wait), _round(wait), link("waited"),
               hint=f"{MEDIAN_HINT}; average {format_seconds(t.average('wait_sum', 'waited'))}"),
        Figure("Wait (average)", format_seconds(t.average("wait_sum", "waited")),
               t.average("wait_sum", "waited"), link("waited")),
        Figure("First response (median)", format_seconds(response), _round(response), link("answered"),
               hint=f"{MEDIAN_HINT}; average {format_seconds(t.average('response_sum', 'responded'))}"),
        Figure("Duration (average)", format_seconds(t.average("duration_sum", "ended")),
               t.average("duration_sum", "ended"), link("all")),
        Figure("Rating (average)", "–" if rating is None else f"{rating:.1f} / 5", rating, link("rated"),
               hint=f"{format_percent(t.good, t.rated)} good (4 or 5) of {format_count(t.rated)} ratings"),
        Figure("Bot-resolved share", format_percent(t.bot_resolved, t.chats),
               _rate(t.bot_resolved, t.chats), link("bot_resolved"),
               hint=f"{format_count(t.bot_resolved)} chats"),
        Figure("Transfers", format_count(t.transfers), t.transfers, link("transferred"),
               hint=f"in {format_count(t.transferred)} chats"),
    ]


def _rate(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _per_day_chart(filters: Filters, per_day: dict) -> Chart:
    days = filters.days
    series = []
    for key in OUTCOMES:
        values = [getattr(per_day[d], key) if d in per_day else 0 for d in days]
        # A year has 1,825 of these links: spell one and put each day in (isoformat has no "&").
        template = chat_link(filters, key, day="DAY")
        series.append(Series(OUTCOME_LABELS[key], values,
                             [template.replace("day=DAY", f"day={d.isoformat()}", 1) for d in days]))
    return Chart("chats-per-day", "Chats per day", "stacked-bar", [d.isoformat() for d in days], series,
                 unit="chats")


def _heat_map(filters: Filters, heat: list[list[int]]) -> Chart:
    series = [Series(name, heat[weekday], [chat_link(filters, "all", weekday=weekday, hour=hour) for hour in range(24)])
              for weekday, name in enumerate(WEEKDAYS)]
    return Chart("hour-of-week", f"Chats by hour of the week ({filters.tz.key})", "heatmap",
                 [f"{hour:02d}" for hour in range(24)], series, unit="chats", y_labels=list(WEEKDAYS))


def _wait_chart(filters: Filters, totals: Totals) -> Chart:
    counts = Counter()  # the rollup's buckets lie each within one of the chart's
    for low, n in zip(CHAT_EDGES, totals.histogram("wait")):
        counts[wait_bucket(low)] += n
    return Chart("waiting-time", "Waiting time", "bar", [label for label, _, _ in WAIT_BUCKETS.values()],
                 [Series("Chats", [counts[key] for key in WAIT_BUCKETS],
                         [chat_link(filters, "waited", bucket=key) for key in WAIT_BUCKETS])], unit="chats")


def _count_cell(n: int, href: str) -> Cell:
    return Cell(n, format_count(n), href)


def _seconds_cell(seconds: float | None) -> Cell:
    return Cell(None if seconds is None else round(seconds, 1), format_seconds(seconds))


def _rating_cell(t: Totals) -> Cell:
    rating = t.average("rating_sum", "rated")
    return Cell(None if rating is None else round(rating, 2), "–" if rating is None else f"{rating:.1f}")


def _agents_table(filters: Filters, per_agent: dict) -> Table:
    names = _names(User, [k for k in per_agent if k is not None])
    rows = []
    for agent_id in sorted(per_agent, key=lambda k: (k is None, names.get(k, "").lower(), k or 0)):
        t = per_agent[agent_id]
        dims = {"agent": agent_id} if agent_id is not None else {"no_agent": 1}
        rows.append([
            Cell(names.get(agent_id, f"User {agent_id}") if agent_id is not None else "No agent"),
            _count_cell(t.chats, chat_link(filters, "all", **dims)),
            _count_cell(t.answered, chat_link(filters, "answered", **dims)),
            _seconds_cell(median(t.histogram("accepted_wait"))),
            _seconds_cell(median(t.histogram("response"))),
            _seconds_cell(t.average("duration_sum", "ended")),
            _rating_cell(t),
            _count_cell(t.transfers, chat_link(filters, "transferred", **dims)),
            _count_cell(t.missed, chat_link(filters, "missed", **dims)),
        ])
    return Table("agents", "Per agent",
                 ["Agent", "Chats", "Answered", "Wait (median)", "First response (median)", "Duration (average)",
                  "Rating (average)", "Transfers", "Missed"], rows,
                 note="The chat's current agent; wait of the chats they accepted.")


def _topics_table(filters: Filters, per_topic: dict) -> Table:
    names = _names(ChatTopic, [k for k in per_topic if k is not None])
    rows = [_outcome_row(filters, names.get(k, f"Topic {k}") if k is not None else "No topic", per_topic[k],
                         {"topic": k if k is not None else "none"})
            for k in sorted(per_topic, key=lambda k: (k is None, names.get(k, "").lower(), k or 0))]
    return Table("topics", "Per topic", _outcome_columns("Topic"), rows)


def _groups_table(filters: Filters, per_group: dict) -> Table:
    names = _names(Group, [k for k in per_group if k is not None])
    rows = [_outcome_row(filters, names.get(k, f"Group {k}") if k is not None else "No group", per_group[k],
                         {"group": k} if k is not None else {"no_group": 1})
            for k in sorted(per_group, key=lambda k: (k is None, names.get(k, "").lower(), k or 0))]
    return Table("groups", "Per group", _outcome_columns("Group"), rows, note="The chat's group when it ended.")


def _outcome_columns(first: str) -> list[str]:
    return [first, "Chats", "Answered", "Missed", "Abandoned", "Bot-resolved", "Wait (average)", "Rating (average)"]


def _outcome_row(filters: Filters, name: str, t: Totals, dims: dict) -> list[Cell]:
    return [
        Cell(name),
        _count_cell(t.chats, chat_link(filters, "all", **dims)),
        *(_count_cell(getattr(t, m), chat_link(filters, m, **dims)) for m in ("answered", "missed", "abandoned",
                                                                              "bot_resolved")),
        _seconds_cell(t.average("wait_sum", "waited")),
        _rating_cell(t),
    ]


def _rows(query):
    return db.session.connection().execute(query).all()


def _names(model, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {row.id: row.name for row in _rows(select(model.id, model.name).where(model.id.in_(ids)))}
