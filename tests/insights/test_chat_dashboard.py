"""The chat dashboard over five chats made through the chat services at known times; every
count links to exactly its chats; the heat map counts local hours (Berlin, Tehran)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask import current_app

from helpdesk.chat import services as chat
from helpdesk.chat.models import ChatTopic
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights import chat_dashboard, chat_rollup
from helpdesk.insights.boards import filters_from_args
from helpdesk.insights.chat_drilldown import select_chats
from helpdesk.insights.dashboard import Filters
from helpdesk.insights.localtime import spans

BERLIN = ZoneInfo("Europe/Berlin")
TEHRAN = ZoneInfo("Asia/Tehran")
NOVEMBER = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz=BERLIN)


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _restore_zone(app, monkeypatch):
    monkeypatch.setitem(app.config, "TIMEZONE", app.config.get("TIMEZONE"))


def build(filters: Filters):
    """The dashboard after the refresh the periodic job runs, in the filters' zone."""
    current_app.config["TIMEZONE"] = filters.tz.key
    chat_rollup.refresh()
    return chat_dashboard.build(filters)


def drill(filters: Filters, href: str) -> tuple[str, list[str]]:
    """The title and the visitors of the chats a link lists (read back as the list page does)."""
    args = dict(parse_qsl(urlsplit(href).query))
    assert urlsplit(href).path == "/insights/chats"
    assert args["from"] == filters.start.isoformat() and args["to"] == filters.end.isoformat()
    title, query = select_chats(filters_from_args(args, filters.end, filters.tz), args)
    return title, sorted(c.visitor_name for c in db.session.scalars(query))


def figure(board, label: str):
    found = [f for f in board.figures if f.label == label]
    assert len(found) == 1, [f.label for f in board.figures]
    return found[0]


def item(board, item_id: str):
    found = board.table(item_id)
    assert found is not None, item_id
    return found


@pytest.fixture
def chats(app, freeze_clock, make_group, make_user):
    """In Berlin (UTC+1 in November):
    A  Mon 2 Nov 10:00, Billing: Ann accepts after 40 s, answers at 100 s, ends at 600 s, rated 5.
    B  Mon 2 Nov 10:30, Billing: Ann accepts after 90 s, answers at 120 s, transfers to Bob, who
       ends it at 900 s; rated 3.
    C  Wed 4 Nov 00:30 (Tue 23:30 UTC), Tech: nobody online; the visitor leaves after 200 s.
    D  Wed 4 Nov 11:00, Tech: nobody answers; the help desk ends it after 400 s (missed).
    E  Thu 5 Nov 09:00, Bot topic: the bot resolves it after 60 s."""
    billing_group, tech_group = make_group(name="Billing team"), make_group(name="Tech team")
    ann, bob = make_user(name="Ann Agent"), make_user(name="Bob Agent")
    ann.groups.append(billing_group)
    bob.groups.append(billing_group)
    billing = ChatTopic(name="Billing", group=billing_group)
    tech = ChatTopic(name="Tech", group=tech_group)
    bot = ChatTopic(name="Bot topic", group=tech_group, bot_enabled=True)
    db.session.add_all([billing, tech, bot])
    clock = freeze_clock(utc(2, 8))
    chat.set_availability(ann, "online", 3)

    def start(name, topic, at, message="Hello"):
        clock.set(at)
        return chat.start_chat(None, name=name, email=f"{name.lower()}@visitor.example", topic=topic, message=message)

    a = start("A", billing, utc(2, 9))
    clock.advance(seconds=40)
    chat.accept_chat(ann, a)
    clock.advance(seconds=60)
    chat.send_agent_message(ann, a, "Hello, I am Ann.")
    clock.set(utc(2, 9) + timedelta(seconds=600))
    chat.end_chat(ann, a)
    chat.rate_chat(a, 5)

    b = start("B", billing, utc(2, 9, 30))
    clock.advance(seconds=90)
    chat.accept_chat(ann, b)
    clock.advance(seconds=30)
    chat.send_agent_message(ann, b, "Let me look.")
    chat.set_availability(bob, "online", 3)
    chat.transfer_chat(ann, b, agent=bob)
    chat.accept_chat(bob, b)
    clock.set(utc(2, 9, 30) + timedelta(seconds=900))
    chat.end_chat(bob, b)
    chat.rate_chat(b, 3)
    chat.set_availability(ann, "offline")
    chat.set_availability(bob, "offline")

    c = start("C", tech, utc(3, 23, 30))
    clock.advance(seconds=200)
    chat.end_chat(None, c, by="visitor")

    d = start("D", tech, utc(4, 10))
    clock.advance(seconds=400)
    chat.end_chat(None, d, by="system")

    e = start("E", bot, utc(5, 8), message="")
    clock.advance(seconds=60)
    chat.resolve_by_bot(e)
    db.session.flush()
    return SimpleNamespace(ann=ann, bob=bob, billing=billing, tech=tech, bot=bot, billing_group=billing_group,
                           a=a, b=b, c=c, d=d, e=e)


def test_the_fixture_is_what_the_figures_assume(chats):
    assert (chats.a.wait_seconds, chats.a.first_response_seconds, chats.a.duration_seconds) == (40, 100, 600)
    assert (chats.b.wait_seconds, chats.b.first_response_seconds, chats.b.agent_id, chats.b.transfers) == (
        90, 120, chats.bob.id, 1)
    assert (chats.c.missed, chats.c.abandoned, chats.c.wait_seconds) == (True, True, 200)
    assert (chats.d.missed, chats.d.abandoned, chats.d.wait_seconds) == (True, False, 400)
    assert (chats.e.bot_resolved, chats.e.queued_at, chats.e.duration_seconds) == (True, None, 60)


def test_figures_are_the_hand_computed_ones(chats):
    board = build(NOVEMBER)
    shown = {f.label: f.value for f in board.figures}
    assert shown == {
        "Chats": "5",
        "Answered": "2",
        "Missed rate": "25.0 %",  # D of the four chats that waited (A, B, C, D)
        "Abandoned rate": "25.0 %",  # C
        # Medians are estimated in the rollup's buckets (0, 10, 20, 30, 45, 60, 90, 120, 180, 300 s...):
        # half of 40, 90, 200, 400 is reached at the top of the 90-120 s bucket (exact: 145 s).
        "Wait (median)": "2 min",
        "Wait (average)": "3 min 2 s",  # 182.5 s
        "First response (median)": "2 min",  # 100 and 120: the top of 90-120 s (exact: 110 s)
        "Duration (average)": "7 min 12 s",  # (600 + 900 + 200 + 400 + 60) / 5
        "Rating (average)": "4.0 / 5",
        "Bot-resolved share": "20.0 %",
        "Transfers": "1",
    }
    assert figure(board, "Rating (average)").hint.startswith("50.0 % good")
    assert figure(board, "Wait (median)").raw == 120
    assert "estimated" in figure(board, "Wait (median)").hint


@pytest.mark.parametrize("label, visitors", [
    ("Chats", ["A", "B", "C", "D", "E"]),
    ("Answered", ["A", "B"]),
    ("Missed rate", ["D"]),
    ("Abandoned rate", ["C"]),
    ("Rating (average)", ["A", "B"]),
    ("Bot-resolved share", ["E"]),
    ("Transfers", ["B"]),
    ("Wait (median)", ["A", "B", "C", "D"]),
])
def test_each_figure_links_to_exactly_its_chats(chats, label, visitors):
    board = build(NOVEMBER)
    assert drill(NOVEMBER, figure(board, label).href)[1] == visitors


def test_chats_per_day_count_local_days_and_link_to_them(chats):
    board = build(NOVEMBER)
    per_day = item(board, "chats-per-day")
    assert per_day.labels[0] == "2026-11-01" and len(per_day.labels) == 30
    by_name = {s.name: s for s in per_day.series}
    assert list(by_name) == ["Answered", "Missed", "Abandoned", "Bot-resolved", "Other"]
    nonzero = {(s.name, per_day.labels[i]): v for s in per_day.series for i, v in enumerate(s.values) if v}
    # C started on Tuesday 3 Nov in UTC but at 00:30 on Wednesday 4 Nov in Berlin.
    assert nonzero == {("Answered", "2026-11-02"): 2, ("Missed", "2026-11-04"): 1, ("Abandoned", "2026-11-04"): 1,
                       ("Bot-resolved", "2026-11-05"): 1}
    assert drill(NOVEMBER, by_name["Abandoned"].hrefs[3])[1] == ["C"]
    assert drill(NOVEMBER, by_name["Answered"].hrefs[1])[1] == ["A", "B"]
    assert drill(NOVEMBER, by_name["Answered"].hrefs[2])[1] == []


def test_heat_map_puts_a_chat_at_2330_utc_on_the_next_local_day(chats):
    board = build(NOVEMBER)
    heat = item(board, "hour-of-week")
    assert heat.kind == "heatmap" and heat.y_labels == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    cells = {(row.name, heat.labels[h]): v for row in heat.series for h, v in enumerate(row.values) if v}
    assert cells == {("Mon", "10"): 2, ("Wed", "00"): 1, ("Wed", "11"): 1, ("Thu", "09"): 1}
    wednesday = heat.series[2]
    title, visitors = drill(NOVEMBER, wednesday.hrefs[0])
    assert visitors == ["C"] and "Wed 00:00–01:00" in title
    assert drill(NOVEMBER, heat.series[1].hrefs[23])[1] == []  # not Tuesday 23:00 (its UTC hour)


def test_heat_map_and_days_in_a_half_hour_zone(app, freeze_clock, make_group):
    """Tehran is UTC+3:30: 20:15 UTC is 23:45 on Monday, 20:45 UTC is 00:15 on Tuesday,
    though both are in the UTC hour 20."""
    topic = ChatTopic(name="Half hours", group=make_group())
    db.session.add(topic)
    db.session.flush()
    clock = freeze_clock(utc(2, 20, 15))
    chat.start_chat(None, name="Late", email="late@visitor.example", topic=topic, message="Hi")
    clock.set(utc(2, 20, 45))
    chat.start_chat(None, name="Later", email="later@visitor.example", topic=topic, message="Hi")
    db.session.flush()
    filters = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz=TEHRAN)
    board = build(filters)
    heat = item(board, "hour-of-week")
    cells = {(row.name, heat.labels[h]): v for row in heat.series for h, v in enumerate(row.values) if v}
    assert cells == {("Mon", "23"): 1, ("Tue", "00"): 1}
    assert drill(filters, heat.series[1].hrefs[0])[1] == ["Later"]
    assert drill(filters, heat.series[0].hrefs[23])[1] == ["Late"]
    per_day = item(board, "chats-per-day")
    other = next(s for s in per_day.series if s.name == "Other")  # still waiting: no outcome yet
    assert other.values[1:3] == [1, 1]
    assert drill(filters, other.hrefs[2])[1] == ["Later"]


def test_waiting_time_distribution(chats):
    board = build(NOVEMBER)
    waiting = item(board, "waiting-time")
    assert waiting.labels == ["< 30 s", "30–60 s", "1–2 min", "2–5 min", "> 5 min"]
    assert waiting.series[0].values == [0, 1, 1, 1, 1]
    assert drill(NOVEMBER, waiting.series[0].hrefs[3])[1] == ["C"]
    assert drill(NOVEMBER, waiting.series[0].hrefs[1])[1] == ["A"]


def test_per_agent_table(chats):
    table = item(build(NOVEMBER), "agents")
    assert table.columns == ["Agent", "Chats", "Answered", "Wait (median)", "First response (median)",
                             "Duration (average)", "Rating (average)", "Transfers", "Missed"]
    rows = {row[0].text: [c.text for c in row[1:]] for row in table.rows}
    assert rows == {
        # One value: the middle of its bucket (40 s in 30-45 s, 100 s in 90-120 s, 120 s in 120-180 s).
        "Ann Agent": ["1", "1", "38 s", "1 min 45 s", "10 min", "5.0", "0", "0"],
        "Bob Agent": ["1", "1", "1 min 45 s", "2 min 30 s", "15 min", "3.0", "1", "0"],
        "No agent": ["3", "0", "–", "–", "3 min 40 s", "–", "0", "1"],
    }
    by_name = {row[0].text: row for row in table.rows}
    assert drill(NOVEMBER, by_name["Bob Agent"][1].href)[1] == ["B"]
    assert drill(NOVEMBER, by_name["No agent"][1].href)[1] == ["C", "D", "E"]
    assert drill(NOVEMBER, by_name["No agent"][8].href)[1] == ["D"]


def test_per_topic_and_group_tables(chats):
    board = build(NOVEMBER)
    topics = {row[0].text: [c.text for c in row[1:6]] for row in item(board, "topics").rows}
    assert topics == {"Billing": ["2", "2", "0", "0", "0"], "Bot topic": ["1", "0", "0", "0", "1"],
                      "Tech": ["2", "0", "1", "1", "0"]}
    tech = next(row for row in item(board, "topics").rows if row[0].text == "Tech")
    assert drill(NOVEMBER, tech[1].href)[1] == ["C", "D"]
    groups = {row[0].text: row for row in item(board, "groups").rows}
    assert [c.text for c in groups["Billing team"][1:3]] == ["2", "2"]
    assert drill(NOVEMBER, groups["Tech team"][1].href)[1] == ["C", "D", "E"]


def test_group_and_agent_filters(chats):
    by_group = Filters(start=NOVEMBER.start, end=NOVEMBER.end, tz=BERLIN, group_id=chats.billing_group.id)
    board = build(by_group)
    assert figure(board, "Chats").value == "2"
    assert drill(by_group, figure(board, "Chats").href)[1] == ["A", "B"]
    by_agent = Filters(start=NOVEMBER.start, end=NOVEMBER.end, tz=BERLIN, agent_id=chats.bob.id)
    board = build(by_agent)
    assert {f.label: f.value for f in board.figures}["Transfers"] == "1"
    assert drill(by_agent, figure(board, "Chats").href)[1] == ["B"]


def test_range_ends_are_local_midnights(chats):
    """Wednesday 4 Nov alone holds C (Tuesday 23:30 UTC) and D."""
    one_day = Filters(start=date(2026, 11, 4), end=date(2026, 11, 4), tz=BERLIN)
    board = build(one_day)
    assert figure(board, "Chats").value == "2"
    assert drill(one_day, figure(board, "Chats").href)[1] == ["C", "D"]


def test_empty_range_shows_dashes(app):
    board = build(NOVEMBER)
    shown = {f.label: f.value for f in board.figures}
    assert shown["Chats"] == "0" and shown["Wait (median)"] == "–" and shown["Missed rate"] == "–"


@pytest.mark.parametrize("args, field", [
    ({"metric": "nonsense"}, "metric"),
    ({"metric": "all", "day": "2026-13-01"}, "day"),
    ({"metric": "all", "day": "2026-12-01"}, "day"),  # outside the range
    ({"metric": "all", "weekday": "7", "hour": "1"}, "weekday"),
    ({"metric": "all", "weekday": "1"}, "hour"),
    ({"metric": "waited", "bucket": "forever"}, "bucket"),
    ({"metric": "all", "topic": "x"}, "topic"),
])
def test_drilldown_names_the_bad_argument(app, args, field):
    with pytest.raises(ValidationFailed) as raised:
        select_chats(NOVEMBER, args)
    assert field in raised.value.errors


def test_spans_cut_at_daylight_saving_changes():
    year = spans(datetime(2026, 1, 1, tzinfo=BERLIN), datetime(2027, 1, 1, tzinfo=BERLIN), BERLIN)
    assert [(s.start, s.offset) for s in year] == [
        (datetime(2025, 12, 31, 23, tzinfo=timezone.utc), 3600),
        (datetime(2026, 3, 29, 1, tzinfo=timezone.utc), 7200),
        (datetime(2026, 10, 25, 1, tzinfo=timezone.utc), 3600),
    ]
    assert [s.offset for s in spans(datetime(2026, 1, 1, tzinfo=TEHRAN), datetime(2027, 1, 1, tzinfo=TEHRAN),
                                    TEHRAN)] == [12600]


def test_chats_on_both_sides_of_a_daylight_saving_change(app, freeze_clock, make_group):
    """Berlin leaves summer time on Sunday 25 Oct 2026 at 01:00 UTC."""
    topic = ChatTopic(name="Autumn", group=make_group())
    db.session.add(topic)
    db.session.flush()
    clock = freeze_clock(datetime(2026, 10, 24, 22, 30, tzinfo=timezone.utc))  # Sun 00:30 CEST
    chat.start_chat(None, name="Summer", email="summer@visitor.example", topic=topic, message="Hi")
    clock.set(datetime(2026, 10, 25, 23, 30, tzinfo=timezone.utc))  # Mon 00:30 CET
    chat.start_chat(None, name="Winter", email="winter@visitor.example", topic=topic, message="Hi")
    db.session.flush()
    filters = Filters(start=date(2026, 10, 20), end=date(2026, 10, 31), tz=BERLIN)
    heat = item(build(filters), "hour-of-week")
    cells = {(row.name, heat.labels[h]): v for row in heat.series for h, v in enumerate(row.values) if v}
    assert cells == {("Sun", "00"): 1, ("Mon", "00"): 1}
    assert drill(filters, heat.series[6].hrefs[0])[1] == ["Summer"]


def test_managers_open_the_dashboard_and_its_lists_agents_may_not(chats, client, login, make_user, app):
    app.config["TIMEZONE"] = "Europe/Berlin"
    chat_rollup.refresh()  # what the periodic job does
    try:
        login(make_user(role="manager"))
        page = client.get("/insights/chat?from=2026-11-01&to=2026-11-30")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Chats per day" in html and "Per agent" in html and "Ann Agent" in html
        missed = client.get("/insights/chats?from=2026-11-01&to=2026-11-30&metric=missed")
        assert missed.status_code == 200
        listed = missed.get_data(as_text=True)
        assert "Missed chats" in listed
        assert f'/chat/{chats.d.id}">D</a>' in listed and f'/chat/{chats.c.id}"' not in listed
        assert client.get("/insights/chats?from=2026-11-01&to=2026-11-30&metric=bogus").status_code == 422
        csv = client.get("/insights/chat/agents.csv?from=2026-11-01&to=2026-11-30")
        assert csv.status_code == 200 and "Ann Agent" in csv.get_data(as_text=True)
        client.post("/logout")
        login(make_user(role="agent"))
        assert client.get("/insights/chat?from=2026-11-01&to=2026-11-30").status_code == 403
    finally:
        app.config["TIMEZONE"] = "UTC"
