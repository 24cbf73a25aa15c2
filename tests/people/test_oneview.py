"""The One View of a contact and of an organization: key figures and the paged, filtered timeline."""
from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk import types
from helpdesk.cases import services as cases
from helpdesk.extensions import db
from helpdesk.people import queries
from helpdesk.sla.models import SLAEvent


@pytest.fixture
def agent(make_user, login):
    user = make_user(role="agent", name="Ada Agent")
    login(user)
    return user


@pytest.fixture
def ticking(monkeypatch):
    """Each call to the clock is a second later, so events have a clear order."""
    now = {"t": types._system_clock() - timedelta(days=1)}

    def tick():
        now["t"] += timedelta(seconds=1)
        return now["t"]

    monkeypatch.setattr(types, "clock", tick)
    return now


@pytest.fixture
def customer(ticking, agent, make_organization, make_contact, make_case, make_asset, make_contract, make_rating,
             make_time_log, make_user):
    org = make_organization(name="Acme Corp")
    ann = make_contact(name="Ann Smith", organization=org)
    bob = make_contact(name="Bob Jones", organization=org)
    c1 = make_case(contact=ann, subject="Printer jammed")
    cases.reply_to_case(agent, c1, body="Have you tried turning it off?")
    cases.add_customer_message(ann, c1, body="Yes, twice.")
    c2 = make_case(contact=ann, subject="Invoice question")
    cases.change_status(agent, c2, "resolved")
    c3 = make_case(contact=bob, subject="Bob's laptop")
    make_asset(contact=ann, serial_number="SN-ANN-1")
    make_contract(contact=ann, name="Gold support", total_units=40, used_units=12.5)
    make_contract(organization=org, name="Org incidents", tracking_unit="incidents", total_units=10, used_units=3)
    make_time_log(c1, agent, minutes=95, note="Remote session")
    make_rating(c2, 5, "Great help")
    make_rating(c3, 2)
    db.session.add(SLAEvent(case_id=c1.id, kind="breached", clock="first_response"))
    db.session.flush()
    return dict(org=org, ann=ann, bob=bob, cases=(c1, c2, c3))


def test_key_figures_of_a_contact(customer):
    f = queries.key_figures(contact=customer["ann"])
    assert f.open_cases == 1  # c2 is resolved
    assert f.sla_breaches == 1
    assert f.remaining_units == [("hours", 27.5)]
    assert f.ratings == 1 and f.satisfaction == 5.0 and f.satisfied_percent == 100


def test_key_figures_of_an_organization(customer):
    f = queries.key_figures(organization=customer["org"])
    assert f.open_cases == 2
    assert f.remaining_units == [("incidents", 7.0)]  # the contact's own contract is not the organization's
    assert f.ratings == 2 and f.satisfaction == 3.5 and f.satisfied_percent == 50


def test_timeline_has_everything_newest_first(customer):
    page = queries.timeline(contact=customer["ann"], limit=100)
    kinds = [e.kind for e in page.events]
    for kind in ("case", "message", "activity", "history", "asset", "contract", "timelog", "rating"):
        assert kind in kinds, kind
    times = [(e.at, e.kind, e.id) for e in page.events]
    assert times == sorted(times, reverse=True)
    assert page.next_cursor is None
    subjects = {e.obj.subject for e in page.events if e.kind == "case"}
    assert subjects == {"Printer jammed", "Invoice question"}  # not Bob's
    # Repeating history (opened, replied) is not shown twice.
    assert all(e.obj.action not in ("opened", "replied", "customer_replied") for e in page.events if e.kind == "activity")


def test_timeline_filters(customer):
    page = queries.timeline(contact=customer["ann"], show=["messages"])
    assert {e.kind for e in page.events} == {"message"}
    assert len(page.events) == 4  # two opening messages, a reply and the customer's answer
    page = queries.timeline(contact=customer["ann"], show=["time", "ratings"])
    assert sorted(e.kind for e in page.events) == ["rating", "timelog"]


def test_timeline_keyset_pages_cover_everything_once(customer):
    everything = queries.timeline(organization=customer["org"], limit=500).events
    seen, cursor = [], None
    while True:
        page = queries.timeline(organization=customer["org"], limit=3, cursor=cursor)
        seen += [(e.kind, e.id) for e in page.events]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [(e.kind, e.id) for e in everything]
    assert len(seen) == len(set(seen)) > 10


def test_a_broken_cursor_is_a_clear_error(client, agent, customer):
    response = client.get(f"/contacts/{customer['ann'].id}?cursor=nonsense")
    assert response.status_code == 422


def test_contact_one_view_page(client, agent, customer):
    ann = customer["ann"]
    page = client.get(f"/contacts/{ann.id}").get_data(as_text=True)
    assert "Ann Smith" in page and "Acme Corp" in page
    assert 'data-figure="open-cases">1<' in page and "27.5 hours" in page
    assert "Printer jammed" in page and "Have you tried turning it off?" in page
    assert "SN-ANN-1" in page and "Gold support" in page and "Remote session" in page and "Great help" in page
    assert "Bob&#39;s laptop" not in page
    assert 'id="follow-contact-' in page


def test_organization_one_view_page(client, agent, customer):
    page = client.get(f"/organizations/{customer['org'].id}").get_data(as_text=True)
    assert "Ann Smith" in page and "Bob Jones" in page
    assert "Printer jammed" in page and "Bob&#39;s laptop" in page and "Org incidents" in page
    assert 'data-figure="sla-breaches">' in page
    assert "created contact Ann Smith" in page and "created contact Bob Jones" in page


def test_timeline_partial_filters_and_pages_for_htmx(client, agent, customer):
    ann = customer["ann"]
    response = client.get(f"/contacts/{ann.id}/timeline?show=messages", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="timeline"') and "<html" not in html
    assert "Yes, twice." in html and "Printer jammed opened" not in html and "SN-ANN-1" not in html
    assert 'name="show" value="messages" id="show-messages" autocomplete="off" checked' in html
    first = queries.timeline(contact=ann, limit=30)
    assert first.next_cursor is None
    # Without htmx the timeline URL leads to the full page with the same filters.
    response = client.get(f"/contacts/{ann.id}/timeline?show=messages")
    assert response.status_code == 302 and response.headers["Location"] == f"/contacts/{ann.id}?show=messages"


def test_older_events_come_as_a_page_fragment(client, agent, ticking, make_contact, make_case):
    contact = make_contact(name="Busy Customer")
    for i in range(35):
        make_case(contact=contact, subject=f"Problem {i:02d}")
    page = client.get(f"/contacts/{contact.id}?show=cases").get_data(as_text=True)
    assert "Problem 34" in page and "Problem 05" in page and "Problem 04" not in page and 'id="timeline-more"' in page
    cursor = queries.timeline(contact=contact, show=["cases"]).next_cursor
    html = client.get(f"/contacts/{contact.id}/timeline?show=cases&cursor={cursor}",
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Problem 04" in html and "Problem 05" not in html and 'id="timeline"' not in html


def test_merged_and_deleted_records_are_left_out(client, agent, customer, make_user):
    from helpdesk.types import utcnow

    org = customer["org"]
    bob = customer["bob"]
    bob.deleted_at = utcnow()
    db.session.flush()
    assert client.get(f"/contacts/{bob.id}").status_code == 404
    assert "Bob Jones" not in client.get("/contacts").get_data(as_text=True)
    org.deleted_at = utcnow()
    db.session.flush()
    assert client.get(f"/organizations/{org.id}").status_code == 404
    assert "Acme Corp" not in client.get("/organizations").get_data(as_text=True)


def test_new_message_on_an_old_case_is_on_the_first_page(ticking, make_user, make_contact, make_case):
    agent = make_user()
    contact = make_contact()
    oldest = make_case(contact=contact, subject="Ancient problem")
    for i in range(40):
        make_case(contact=contact, subject=f"Newer {i}")
    cases.add_note(agent, oldest, body="Still looking into this one")
    page = queries.timeline(contact=contact, limit=10)
    assert page.events[0].kind in ("message", "activity")
    assert any(e.kind == "message" and e.obj.body_text == "Still looking into this one" for e in page.events)
    # And every page together is the whole timeline, in order.
    everything = queries.timeline(contact=contact, limit=1000).events
    seen, cursor = [], None
    while True:
        p = queries.timeline(contact=contact, limit=7, cursor=cursor)
        seen += [(e.kind, e.id) for e in p.events]
        if not (cursor := p.next_cursor):
            break
    assert seen == [(e.kind, e.id) for e in everything]
