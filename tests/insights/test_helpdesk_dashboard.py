"""The help desk dashboard over a handful of hand-made cases; every count links to its cases."""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from helpdesk.cases import services as cases
from helpdesk.cases.models import Status
from helpdesk.contracts.models import TimeLog
from helpdesk.errors import ValidationFailed
from helpdesk.extensions import db
from helpdesk.insights import helpdesk_dashboard, services
from helpdesk.insights.case_drilldown import select_cases
from helpdesk.insights.dashboard import Filters
from tests.insights.test_facts import ROME, office, rome  # noqa: F401 - the fixture

NOVEMBER = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz=ROME)


def drill(filters: Filters, href: str) -> tuple[str, list[str]]:
    args = dict(parse_qsl(urlsplit(href).query))
    assert args["from"] == filters.start.isoformat() and args["to"] == filters.end.isoformat()
    title, query = select_cases(filters, args)
    return title, [c.subject for c in db.session.scalars(query)]


def figure(board, label: str, hint: str | None = None):
    found = [f for f in board.figures if f.label == label and (hint is None or f.hint == hint)]
    assert len(found) == 1, [f.label for f in board.figures]
    return found[0]


@pytest.fixture
def three_cases(office, freeze_clock, make_case):
    """Weekend: Friday 16:00 → answered Monday 10:00, waits 10-14, solved Tuesday 11:00 (Ann).
    Reopened: Monday 10:00, solved 12:00, reopened 13:00, solved Wednesday (Bob), rated 5.
    Open: Tuesday 00:30 in Rome (Monday in UTC), Ann's, unanswered."""
    clock = freeze_clock(rome(6, 16))
    weekend = make_case(subject="Weekend", group=office.group, assignee=office.ann)
    clock.set(rome(9, 10))
    reopened = make_case(subject="Reopened", group=office.group, assignee=office.bob)
    cases.reply_to_case(office.ann, weekend, body="Try again.")
    clock.set(rome(9, 12))
    cases.change_status(office.bob, reopened, Status.RESOLVED)
    clock.set(rome(9, 13))
    cases.add_customer_message(reopened.contact, reopened, body="Broken again.")
    clock.set(rome(9, 14))
    cases.add_customer_message(weekend.contact, weekend, body="Still jammed.")
    clock.set(rome(10, 0, 30))
    make_case(subject="Open", group=office.group, assignee=office.ann)
    clock.set(rome(10, 11))
    cases.change_status(office.ann, weekend, Status.RESOLVED)
    clock.set(rome(11, 15))
    cases.change_status(office.bob, reopened, Status.RESOLVED)
    from helpdesk.satisfaction.services import record_rating

    record_rating(reopened.contact, reopened, 5)
    db.session.add(TimeLog(case_id=weekend.id, user_id=office.ann.id, minutes=90, started_at=rome(9, 10)))
    clock.set(rome(12, 9))
    services.refresh()
    return clock


def test_headline_figures(three_cases):
    board = helpdesk_dashboard.build(NOVEMBER)
    assert figure(board, "New").raw == 3
    assert figure(board, "Solved").raw == 2
    assert figure(board, "Open now").raw == 1
    # Only the weekend case had a first response: 2 business hours, 66 calendar hours.
    assert figure(board, "First response (average)", "business time").value == "2 h"
    assert figure(board, "First response (average)", "calendar time").value == "2 d 18 h"
    # Resolution: weekend 7 h business (91 h wall), reopened 2 h (2 h) to its first solution.
    assert figure(board, "Resolution (average)", "business time").raw == 270
    assert figure(board, "Resolution (average)", "calendar time").raw == (91 * 60 + 120) / 2
    assert figure(board, "Reopen rate").value == "50.0 %"
    assert figure(board, "Satisfaction").value == "100.0 %"
    assert board.as_of == three_cases.now


def test_counts_link_to_exactly_their_cases(three_cases):
    board = helpdesk_dashboard.build(NOVEMBER)
    assert drill(NOVEMBER, figure(board, "New").href)[1] == ["Open", "Reopened", "Weekend"]
    assert sorted(drill(NOVEMBER, figure(board, "Solved").href)[1]) == ["Reopened", "Weekend"]
    assert drill(NOVEMBER, figure(board, "Reopen rate").href)[1] == ["Reopened"]
    assert drill(NOVEMBER, figure(board, "Open now").href)[1] == ["Open"]
    chart = board.table("new-solved")
    new = chart.series[0]
    by_day = dict(zip(chart.labels, new.values))
    # Tuesday 00:30 in Rome counts on Tuesday, though it was still Monday in UTC.
    assert (by_day["2026-11-06"], by_day["2026-11-09"], by_day["2026-11-10"]) == (1, 1, 1)
    tuesday = chart.labels.index("2026-11-10")
    title, subjects = drill(NOVEMBER, new.hrefs[tuesday])
    assert subjects == ["Open"] and title == "New · 10 Nov 2026"
    ages = board.table("backlog-age")
    assert ages.series[0].values == [0, 1, 0, 0, 0]  # 2 days 8.5 hours old
    assert drill(NOVEMBER, ages.series[0].hrefs[1])[1] == ["Open"]


def test_agent_table_and_filters(three_cases, office):
    board = helpdesk_dashboard.build(NOVEMBER)
    rows = {r[0].text: r for r in board.table("agents").rows}
    assert rows["Ann"][1].value == 1 and rows["Bob"][1].value == 1
    assert rows["Ann"][2].text == "2 h"  # first response, business
    assert rows["Ann"][7].value == 1.5  # hours logged
    assert drill(NOVEMBER, rows["Bob"][1].href)[1] == ["Reopened"]
    only_bob = Filters(start=NOVEMBER.start, end=NOVEMBER.end, tz=ROME, agent_id=office.bob.id)
    board = helpdesk_dashboard.build(only_bob)
    assert (figure(board, "New").raw, figure(board, "Solved").raw, figure(board, "Open now").raw) == (1, 1, 0)
    assert [r[0].text for r in board.table("agents").rows] == ["Bob"]
    groups = board.table("by-group").rows
    assert [(r[0].text, r[1].value) for r in groups] == [("Support", 1)]


def test_breakdowns_by_channel_and_priority(three_cases):
    board = helpdesk_dashboard.build(NOVEMBER)
    channels = {r[0].text: r[1].value for r in board.table("by-channel").rows}
    assert channels == {"Agent": 3}
    priorities = board.table("by-priority").rows
    assert [(r[0].text, r[1].value) for r in priorities] == [("Normal", 3)]
    assert len(drill(NOVEMBER, priorities[0][1].href)[1]) == 3


def test_a_period_without_cases_shows_dashes(three_cases):
    october = Filters(start=date(2026, 10, 1), end=date(2026, 10, 31), tz=ROME)
    board = helpdesk_dashboard.build(october)
    assert figure(board, "New").raw == 0
    assert figure(board, "First response (average)", "business time").value == "–"
    assert figure(board, "Open now").raw == 1  # now is now, whatever the period


def test_an_unknown_metric_is_refused(app):
    with pytest.raises(ValidationFailed) as exc:
        select_cases(NOVEMBER, {"metric": "nonsense"})
    assert "metric" in exc.value.errors
    with pytest.raises(ValidationFailed):
        select_cases(NOVEMBER, {"metric": "created", "group": "x"})


def test_a_case_without_group_or_agent_has_its_own_row(office, freeze_clock, make_case):
    freeze_clock(rome(9, 10))
    make_case(subject="Nobody's")
    make_case(subject="Support's", group=office.group, assignee=office.ann)
    services.refresh()
    board = helpdesk_dashboard.build(NOVEMBER)
    groups = {r[0].text: r[1] for r in board.table("by-group").rows}
    assert (groups["(no group)"].value, groups["Support"].value) == (1, 1)
    assert drill(NOVEMBER, groups["(no group)"].href)[1] == ["Nobody's"]
    only_support = Filters(start=NOVEMBER.start, end=NOVEMBER.end, tz=ROME, group_id=office.group.id)
    board = helpdesk_dashboard.build(only_support)
    assert figure(board, "New").raw == 1 and figure(board, "Open now").raw == 1
    assert drill(only_support, figure(board, "New").href)[1] == ["Support's"]
