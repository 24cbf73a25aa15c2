"""The SLA dashboard over hand-made cases: compliance, breaches with reasons, risk now."""
from __future__ import annotations

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from helpdesk.cases import services as cases
from helpdesk.extensions import db
from helpdesk.insights import services, sla_dashboard
from helpdesk.insights.case_drilldown import select_cases
from helpdesk.insights.dashboard import Filters
from helpdesk.sla.jobs import sweep_sla
from tests.insights.test_facts import ROME, office, rome  # noqa: F401 - the fixture

NOVEMBER = Filters(start=date(2026, 11, 1), end=date(2026, 11, 30), tz=ROME)


def drill(href: str, filters: Filters = NOVEMBER) -> list[str]:
    _, query = select_cases(filters, dict(parse_qsl(urlsplit(href).query)))
    return sorted(c.subject for c in db.session.scalars(query))


def figure(board, label):
    return next(f for f in board.figures if f.label == label)


@pytest.fixture
def clocks(office, freeze_clock, make_case):
    """First response due after 4 business hours (Mon-Fri 9-17 in Rome), warning at 75 %.
    Late: Monday 9:00, never answered (due 13:00, breached). Quick: Monday 10:00, answered 11:00.
    Risky: Tuesday 9:00, unanswered; now is Tuesday 12:30 (warned 12:00, due 13:00)."""
    clock = freeze_clock(rome(9, 9))
    make_case(subject="Late", group=office.group, assignee=office.ann)
    clock.set(rome(9, 10))
    quick = make_case(subject="Quick", group=office.group, assignee=office.bob)
    clock.set(rome(9, 11))
    cases.reply_to_case(office.bob, quick, body="Done.")
    clock.set(rome(9, 14))
    sweep_sla(clock.now)
    clock.set(rome(10, 9))
    make_case(subject="Risky", group=office.group, assignee=office.ann)
    clock.set(rome(10, 12, 30))
    sweep_sla(clock.now)
    services.refresh()
    return clock


def test_compliance_and_breaches(clocks, office):
    board = sla_dashboard.build(NOVEMBER)
    assert figure(board, "First response compliance").value == "50.0 %"
    assert figure(board, "Breaches").raw == 1
    assert drill(figure(board, "Breaches").href) == ["Late"]
    by_agent = {r[0].text: r for r in board.table("by-agent").rows}
    assert (by_agent["Ann"][2].value, by_agent["Ann"][3].value) == (0, 1)
    assert (by_agent["Bob"][2].value, by_agent["Bob"][3].value) == (1, 0)
    assert drill(by_agent["Ann"][3].href) == ["Late"]
    assert drill(by_agent["Bob"][2].href) == ["Quick"]
    policy = board.table("by-policy").rows
    assert [(r[0].text, r[1].text) for r in policy] == [("Standard", "50.0 %")]
    breaches = board.table("breaches").rows
    assert len(breaches) == 1
    case, clock, when, policy_name, reason = (c.text for c in breaches[0])
    assert case.endswith("Late") and clock == "First response" and policy_name == "Standard"
    assert when == "9 Nov 2026 13:00"  # in Rome
    assert "was due" in reason
    reasons = board.table("breaches-by-reason").rows
    assert [(r[0].text, r[2].value) for r in reasons] == [("First response", 1)]
    assert drill(reasons[0][2].href) == ["Late"]


def test_risk_and_time_to_breach_now(clocks, office):
    board = sla_dashboard.build(NOVEMBER)
    assert figure(board, "At risk now").raw == 1
    assert drill(figure(board, "At risk now").href) == ["Risky"]
    assert figure(board, "Overdue now").raw == 1
    assert drill(figure(board, "Overdue now").href) == ["Late"]
    chart = board.table("time-to-breach")
    # Quick waits for the customer: its clocks are paused, so it has no deadline now.
    assert dict(zip(chart.labels, chart.series[0].values)) == {"Overdue": 1, "< 1 h": 1, "1–4 h": 0, "4–24 h": 0, "> 24 h": 0}
    assert drill(chart.series[0].hrefs[1]) == ["Risky"]


def test_the_agent_filter_narrows_everything(clocks, office):
    only_bob = Filters(start=NOVEMBER.start, end=NOVEMBER.end, tz=ROME, agent_id=office.bob.id)
    board = sla_dashboard.build(only_bob)
    assert figure(board, "First response compliance").value == "100.0 %"
    assert (figure(board, "Breaches").raw, figure(board, "At risk now").raw, figure(board, "Overdue now").raw) == (0, 0, 0)
    assert board.table("breaches").rows == []
