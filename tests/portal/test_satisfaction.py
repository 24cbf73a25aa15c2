"""CSAT: the request on resolution, the one-click link, the portal page, low ratings."""
from __future__ import annotations

from sqlalchemy import select

from helpdesk.cases import services as cases
from helpdesk.cases.models import Activity, Status
from helpdesk.extensions import db
from helpdesk.satisfaction.models import Rating
from tests.portal.conftest import link_in


def _resolved_case(make_case, make_customer, make_user, make_group):
    contact, agent, group = make_customer(), make_user(name="Rita Resolver"), make_group(name="Printers")
    case = make_case(contact=contact, subject="Toner smudges")
    cases.assign_case(agent, case, assignee=agent, group=group)
    cases.change_status(agent, case, Status.RESOLVED)
    db.session.commit()  # the rating request is a job that runs after the commit
    return contact, agent, group, case


def test_resolution_emails_a_rating_request_once(make_case, make_customer, make_user, make_group, outbox):
    contact, agent, group, case = _resolved_case(make_case, make_customer, make_user, make_group)
    asks = [m for m in outbox() if "How did we do?" in m.subject]
    assert len(asks) == 1 and contact.email in asks[0].to_addrs
    assert asks[0].body_text.count("/portal/rate/") == 5
    from helpdesk.satisfaction.jobs import request_rating

    request_rating(case.id)  # run twice: still one email
    assert len([m for m in outbox() if "How did we do?" in m.subject]) == 1


def test_one_click_link_rates_without_sign_in(client, make_case, make_customer, make_user, make_group, outbox):
    contact, agent, group, case = _resolved_case(make_case, make_customer, make_user, make_group)
    ask = [m for m in outbox() if "How did we do?" in m.subject][-1]
    path = link_in(ask.body_text, "score=4")
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'value="4" checked' in html  # chosen, not yet saved
    assert db.session.scalar(select(Rating).where(Rating.case_id == case.id)) is None
    done = client.post(path.split("?")[0], data={"score": "4", "comment": "Quick and kind"})
    assert done.status_code == 200 and "Thank you for your rating" in done.get_data(as_text=True)
    rating = db.session.scalar(select(Rating).where(Rating.case_id == case.id))
    assert (rating.score, rating.comment, rating.agent_id, rating.group_id, rating.contact_id) == \
        (4, "Quick and kind", agent.id, group.id, contact.id)
    assert db.session.scalar(select(Activity).where(Activity.case_id == case.id, Activity.action == "rated")).new == "4"


def test_rating_in_the_portal_and_changing_it(make_case, make_customer, make_user, make_group, portal_login):
    contact, agent, group, case = _resolved_case(make_case, make_customer, make_user, make_group)
    client = portal_login(contact)
    assert "Rate this case" in client.get(f"/portal/cases/{case.id}").get_data(as_text=True)
    client.post(f"/portal/cases/{case.id}/rate", data={"score": "5"})
    client.post(f"/portal/cases/{case.id}/rate", data={"score": "3", "comment": "On second thought"})
    ratings = db.session.scalars(select(Rating).where(Rating.case_id == case.id)).all()
    assert [r.score for r in ratings] == [3]
    bad = client.post(f"/portal/cases/{case.id}/rate", data={"score": "9"})
    assert bad.status_code == 422 and "Choose a rating from 1 to 5." in bad.get_data(as_text=True)


def test_open_case_cannot_be_rated(make_customer, make_case, portal_login):
    contact = make_customer()
    case = make_case(contact=contact)
    assert portal_login(contact).get(f"/portal/cases/{case.id}/rate").status_code == 404


def test_low_rating_alerts_managers_by_default(make_case, make_customer, make_user, make_group, portal_login, outbox):
    manager = make_user(role="manager")
    contact, agent, group, case = _resolved_case(make_case, make_customer, make_user, make_group)
    portal_login(contact).post(f"/portal/cases/{case.id}/rate", data={"score": "1", "comment": "Nobody helped"})
    alert = [m for m in outbox() if "Low satisfaction rating" in m.subject][-1]
    assert manager.email in alert.to_addrs and "Nobody helped" in alert.body_text and "Rita Resolver" in alert.body_text
    db.session.refresh(case)
    assert case.status == Status.RESOLVED


def test_low_rating_can_reopen_the_case(app, make_case, make_customer, make_user, make_group, portal_login):
    app.config["CSAT_LOW_RATING_ACTION"] = "reopen"
    try:
        contact, agent, group, case = _resolved_case(make_case, make_customer, make_user, make_group)
        portal_login(contact).post(f"/portal/cases/{case.id}/rate", data={"score": "2"})
        db.session.refresh(case)
        assert case.status == Status.OPEN
    finally:
        app.config["CSAT_LOW_RATING_ACTION"] = "alert"


def test_agent_sees_the_rating_on_the_case_page(client, login, make_case, make_customer, make_user, make_group,
                                                portal_login):
    contact, agent, group, case = _resolved_case(make_case, make_customer, make_user, make_group)
    staff_page = lambda: login(agent).get(f"/cases/{case.id}").get_data(as_text=True)  # noqa: E731
    assert "Customer rating" not in staff_page()
    portal_login(contact).post(f"/portal/cases/{case.id}/rate", data={"score": "2", "comment": "Slow <b>reply</b>"})
    html = staff_page()
    assert "Customer rating" in html and "2 / 5 — not satisfied" in html
    assert "Slow &lt;b&gt;reply&lt;/b&gt;" in html and "for Rita Resolver" in html
