"""The chat and deflection rollups kept up to date by incremental refreshes hold exactly
what a rebuild from scratch computes, and the dashboards read the changes after a refresh."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.chat import services as chat
from helpdesk.chat.models import ChatTopic
from helpdesk.extensions import db
from helpdesk.insights import chat_dashboard, rollups
from helpdesk.insights.dashboard import Filters
from helpdesk.insights.models import chat_days, chat_hours, deflection_articles, deflection_days
from helpdesk.satisfaction.models import FunnelStep
from helpdesk.satisfaction.services import record_funnel_step

TABLES = (chat_days, chat_hours, deflection_days, deflection_articles)
NOVEMBER = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz=ZoneInfo("Asia/Tehran"))


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


def snapshot() -> dict[str, list[tuple]]:
    return {t.name: sorted(tuple(r) for r in db.session.execute(select(t))) for t in TABLES}


def refresh() -> None:
    rollups.refresh_all(commit=db.session.flush)


@pytest.fixture
def tehran(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIMEZONE", "Asia/Tehran")  # half-hour offset: local days differ from UTC's


def test_incremental_refreshes_equal_a_rebuild(tehran, freeze_clock, make_group, make_user):
    group = make_group(name="Support")
    ann, bob = make_user(name="Ann"), make_user(name="Bob")
    ann.groups.append(group)
    bob.groups.append(group)
    topic = ChatTopic(name="General", group=group)
    db.session.add(topic)
    db.session.flush()
    clock = freeze_clock(utc(2, 20, 15))  # 23:45 in Tehran
    chat.set_availability(ann, "online", 5)

    def start(name: str):
        return chat.start_chat(None, name=name, email=f"{name.lower()}@visitor.example", topic=topic, message="Hi")

    first = start("First")
    clock.advance(seconds=50)
    chat.accept_chat(ann, first)
    record_funnel_step("a1", FunnelStep.SUGGESTIONS_SHOWN)
    db.session.flush()
    refresh()  # the first refresh builds everything
    assert figures(NOVEMBER)["Chats"] == "1"

    clock.set(utc(2, 20, 45))  # 00:15 the next day in Tehran
    second = start("Second")
    clock.advance(minutes=1)
    chat.send_agent_message(ann, first, "Hello")
    record_funnel_step("a1", FunnelStep.ARTICLE_OPENED, article_id=3)
    db.session.flush()
    refresh()

    clock.set(utc(4, 9))  # two days later: the old chats change, a late step of an old attempt
    chat.set_availability(bob, "online", 5)
    chat.transfer_chat(ann, first, agent=bob)
    chat.accept_chat(bob, first)
    chat.end_chat(bob, first)
    chat.rate_chat(first, 4)
    chat.end_chat(None, second, by="visitor")
    record_funnel_step("a1", FunnelStep.CASE_CREATED)
    record_funnel_step("a2", FunnelStep.SUGGESTIONS_SHOWN)
    db.session.flush()
    refresh()

    shown = figures(NOVEMBER)
    assert (shown["Chats"], shown["Rating (average)"], shown["Transfers"], shown["Abandoned rate"]) == (
        "2", "4.0 / 5", "1", "50.0 %")
    incremental = snapshot()
    assert all(incremental.values())
    for rollup in rollups.registered():
        rollup.rebuild()
    assert snapshot() == incremental


def figures(filters: Filters) -> dict[str, str]:
    return {f.label: f.value for f in chat_dashboard.build(filters).figures}


def test_a_refresh_with_nothing_new_changes_nothing(tehran, freeze_clock, make_group):
    topic = ChatTopic(name="Quiet", group=make_group())
    db.session.add(topic)
    db.session.flush()
    clock = freeze_clock(utc(10, 12))
    chat.start_chat(None, name="Only", email="only@visitor.example", topic=topic, message="Hi")
    db.session.flush()
    refresh()
    before = snapshot()
    clock.advance(hours=1)
    refresh()
    assert snapshot() == before
    assert before["insight_chat_hours"] == [(-1, -1, date(2026, 11, 10), 15, 1, 1),
                                            (-1, 0, date(2026, 11, 10), 15, 1, 1),
                                            (topic.group_id, -1, date(2026, 11, 10), 15, 1, 1),
                                            (topic.group_id, 0, date(2026, 11, 10), 15, 1, 1)]


@pytest.mark.parametrize("start, end", [
    (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 11, 2), date(2026, 11, 30)),
    (date(2026, 10, 15), date(2026, 12, 5)), (date(2025, 11, 24), date(2026, 11, 23)),
    (date(2026, 11, 4), date(2026, 11, 4)), (date(2026, 1, 1), date(2026, 2, 28)),
])
def test_a_range_reads_whole_months_from_monthly_rows_and_the_rest_by_day(start, end):
    pieces = chat_dashboard._pieces(Filters(start=start, end=end, tz=ZoneInfo("UTC")))
    covered = []
    for suffix, first, last in pieces:
        day = first
        while day <= last:
            if suffix == "-m":
                assert day.day == 1
                following = (day + timedelta(days=32)).replace(day=1)
                covered += [day + timedelta(days=i) for i in range((following - day).days)]
                day = following
            else:
                covered.append(day)
                day += timedelta(days=1)
    assert sorted(covered) == [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_monthly_and_daily_rows_give_the_same_figures(tehran, freeze_clock, make_group):
    topic = ChatTopic(name="Months", group=make_group())
    db.session.add(topic)
    db.session.flush()
    clock = freeze_clock(utc(1, 12))
    for day in (1, 15, 30):
        clock.set(utc(day, 12))
        chat.start_chat(None, name=f"Visitor {day}", email=f"v{day}@visitor.example", topic=topic, message="Hi")
    clock.set(datetime(2026, 12, 1, 12, tzinfo=timezone.utc))
    chat.start_chat(None, name="December", email="dec@visitor.example", topic=topic, message="Hi")
    db.session.flush()
    refresh()
    whole = Filters(start=date(2026, 11, 1), end=date(2026, 12, 1), tz=ZoneInfo("Asia/Tehran"))
    cut = Filters(start=date(2026, 11, 2), end=date(2026, 12, 1), tz=ZoneInfo("Asia/Tehran"))
    assert figures(whole)["Chats"] == "4" and figures(cut)["Chats"] == "3"
    topics = chat_dashboard.build(whole).table("topics")
    assert [c.text for c in topics.rows[0][:2]] == ["Months", "4"]


def test_a_chat_committed_late_within_the_overlap_is_still_counted(tehran, freeze_clock, make_group):
    """A transaction that started before the last refresh read, and committed after it, carries
    an updated_at older than the watermark: the refresh looks a few minutes back for it."""
    topic = ChatTopic(name="Late", group=make_group())
    db.session.add(topic)
    db.session.flush()
    clock = freeze_clock(utc(10, 12))
    chat.start_chat(None, name="Early", email="early@visitor.example", topic=topic, message="Hi")
    db.session.flush()
    refresh()
    refresh()  # nothing new
    clock.set(utc(10, 11, 58))  # two minutes before the watermark
    chat.start_chat(None, name="Late", email="late@visitor.example", topic=topic, message="Hi")
    db.session.flush()
    refresh()
    assert figures(NOVEMBER)["Chats"] == "2"
