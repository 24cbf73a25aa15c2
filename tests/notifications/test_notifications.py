"""Follow, notify, the notification center, the unread badge and the daily digest."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk import types
from helpdesk.cases import services as cases
from helpdesk.extensions import db
from helpdesk.mail.models import OutboundEmail
from helpdesk.notifications import jobs, queries, services
from helpdesk.notifications.models import Digest, Notification


@pytest.fixture
def agent(make_user):
    return make_user(role="agent")


def _mine(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)))


# --- follow ------------------------------------------------------------------------------------


def test_follow_and_unfollow_a_contact(agent, make_contact, make_user):
    contact = make_contact()
    other = make_user()
    services.follow(agent, "contact", contact.id)
    services.follow(agent, "contact", contact.id)  # twice is once
    services.follow(other, "contact", contact.id)
    assert services.is_following(agent, "contact", contact.id)
    assert {u.id for u in services.followers("contact", contact.id)} == {agent.id, other.id}
    services.unfollow(agent, "contact", contact.id)
    assert not services.is_following(agent, "contact", contact.id)
    assert [u.id for u in services.followers("contact", contact.id)] == [other.id]


def test_case_followers_include_the_cases_own_followers(agent, make_user, make_case):
    opener = make_user()
    case = make_case(actor=opener)  # the opener follows the case
    services.follow(agent, "case", case.id)
    assert agent in case.followers  # shown in the case's side panel
    assert {u.id for u in services.followers("case", case.id)} == {opener.id, agent.id}
    assert services.is_following(opener, "case", case.id)
    services.unfollow(agent, "case", case.id)
    assert agent not in case.followers
    assert not services.is_following(agent, "case", case.id)


def test_an_unknown_target_type_is_refused(agent):
    from helpdesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as info:
        services.follow(agent, "planet", 1)
    assert "target_type" in info.value.errors


# --- notify --------------------------------------------------------------------------------------


def test_notify_skips_inactive_users_and_the_actor(make_user):
    a, b, gone = make_user(), make_user(), make_user()
    gone.active = False
    made = services.notify([a, b, gone], kind="contact.changed", title="Ann changed", url="/contacts/1",
                           target=("contact", 1), actor=b)
    assert [n.user_id for n in made] == [a.id]
    assert _mine(gone) == [] and _mine(b) == []


def test_the_same_unread_news_is_one_notification(make_user):
    a = make_user()
    services.notify([a], kind="case.customer_replied", title="first", url="/cases/7", target=("case", 7))
    services.notify([a], kind="case.customer_replied", title="second", url="/cases/7", target=("case", 7))
    rows = _mine(a)
    assert [n.title for n in rows] == ["second"]
    services.mark_read(a, rows[0])
    services.notify([a], kind="case.customer_replied", title="third", url="/cases/7", target=("case", 7))
    services.notify([a], kind="case.assigned", title="other kind", url="/cases/7", target=("case", 7))
    assert [n.title for n in _mine(a)] == ["second", "third", "other kind"]
    assert queries.unread_count(a) == 2


def test_a_customer_reply_notifies_the_followers(make_user, make_case, make_contact):
    follower, opener = make_user(), make_user()
    contact = make_contact(name="Ann Customer")
    case = make_case(actor=opener, contact=contact)
    services.follow(follower, "case", case.id)
    cases.add_customer_message(contact, case, body="Still broken, please help.")
    for user in (follower, opener):
        [n] = _mine(user)
        assert n.kind == "case.customer_replied"
        assert n.title.startswith(f"Ann Customer replied on {case.number}")
        assert n.url == f"/cases/{case.id}" and "Still broken" in n.body


def test_assignment_notifies_the_assignee_but_not_who_took_it(make_user, make_case):
    boss, worker = make_user(role="manager", name="Bea Boss"), make_user()
    case = make_case(actor=boss)
    cases.assign_case(boss, case, assignee=worker)
    [n] = _mine(worker)
    assert n.kind == "case.assigned" and n.title.startswith(f"Bea Boss assigned {case.number} to you")
    case2 = make_case(actor=boss)
    cases.assign_case(worker, case2, assignee=worker)
    assert len(_mine(worker)) == 1  # taking a case yourself is no news


def test_a_new_case_tells_the_customers_followers_and_its_assignee(make_user, make_contact, make_organization):
    org_fan, contact_fan, assignee, opener = make_user(), make_user(), make_user(), make_user(name="Olly Opener")
    acme = make_organization(name="Acme")
    ann = make_contact(name="Ann Customer", organization=acme)
    services.follow(org_fan, "organization", acme.id)
    services.follow(contact_fan, "contact", ann.id)
    services.follow(opener, "contact", ann.id)
    case = cases.open_case(opener, subject="Printer on fire", body="Smoke everywhere.", contact=ann, assignee=assignee)
    for fan in (org_fan, contact_fan):
        [n] = _mine(fan)
        assert n.kind == "case.opened" and n.title == f"New case {case.number} from Ann Customer: Printer on fire"
        assert n.url == f"/cases/{case.id}"
    [n] = _mine(assignee)
    assert n.kind == "case.assigned" and n.title.startswith(f"Olly Opener assigned {case.number} to you")
    assert _mine(opener) == []  # who opened it needs no news of it
    cases.open_case(opener, subject="Someone else's", body="Hello.", contact=make_contact(name="Bob Other"))
    assert len(_mine(contact_fan)) == 1


# --- the center and the badge ----------------------------------------------------------------------


def test_badge_counts_unread_and_caps(client, login, agent):
    login(agent)
    assert "none unread" in client.get("/notifications/badge").get_data(as_text=True)
    for i in range(3):
        services.notify([agent], kind="k", title=f"News {i}", url=f"/x/{i}")
    html = client.get("/notifications/badge", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'id="notification-badge"' in html and ">3<" in html
    page = client.get("/cases").get_data(as_text=True)  # the bell is in every page's top bar
    assert 'id="notification-badge"' in page and ">3<" in page
    for i in range(120):
        services.notify([agent], kind="k", title=f"More {i}", url=f"/y/{i}")
    assert ">99+<" in client.get("/notifications/badge").get_data(as_text=True)


def test_center_marks_one_and_all_read(client, login, agent, make_user):
    login(agent)
    other = make_user()
    first, second = (services.notify([agent], kind="k", title=t, url=f"/cases/{i}")[0]
                     for i, t in enumerate(["Alpha news", "Beta news"]))
    theirs = services.notify([other], kind="k", title="Not yours", url="/cases/9")[0]
    html = client.get("/notifications").get_data(as_text=True)
    assert "Alpha news" in html and "Beta news" in html and "Not yours" not in html
    response = client.post(f"/notifications/{first.id}/read", headers={"HX-Request": "true"})
    assert response.headers["HX-Trigger"] == "notifications-changed"
    assert 'id="notification-list"' in response.get_data(as_text=True)
    assert db.session.get(Notification, first.id).read_at is not None
    assert "Beta news" in client.get("/notifications?show=unread").get_data(as_text=True)
    assert "Alpha news" not in client.get("/notifications?show=unread").get_data(as_text=True)
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert client.post("/notifications/read-all").status_code == 302
    assert queries.unread_count(agent) == 0
    assert queries.unread_count(other) == 1


def test_opening_a_notification_marks_it_read_and_goes_there(client, login, agent):
    login(agent)
    n = services.notify([agent], kind="k", title="Go", url="/contacts")[0]
    response = client.get(f"/notifications/{n.id}")
    assert response.status_code == 302 and response.headers["Location"] == "/contacts"
    assert db.session.get(Notification, n.id).read_at is not None


def test_center_pages_by_keyset(client, login, agent):
    login(agent)
    for i in range(35):
        services.notify([agent], kind="k", title=f"Item {i:02d}", url=f"/i/{i}")
    html = client.get("/notifications").get_data(as_text=True)
    assert "Item 34" in html and "Item 05" in html and "Item 04" not in html and "Older" in html
    page = queries.notification_page(agent)
    html = client.get(f"/notifications?before={page.next_cursor}").get_data(as_text=True)
    assert "Item 04" in html and "Item 00" in html and "Item 05" not in html


def test_follow_button_for_a_contact(client, login, agent, make_contact):
    login(agent)
    contact = make_contact()
    response = client.post(f"/follow/contact/{contact.id}", headers={"HX-Request": "true"})
    assert "Unfollow" in response.get_data(as_text=True)
    assert services.is_following(agent, "contact", contact.id)
    response = client.post(f"/follow/contact/{contact.id}", data={"follow": "0"}, headers={"HX-Request": "true"})
    assert ">\n      Follow" in response.get_data(as_text=True) or "bi-bell\"" in response.get_data(as_text=True)
    assert not services.is_following(agent, "contact", contact.id)
    assert client.post("/follow/contact/999999").status_code == 404
    assert client.post("/follow/planet/1").status_code == 422


def test_notification_pages_need_a_login(client):
    for url in ("/notifications", "/notifications/badge", "/notifications/settings"):
        assert client.get(url).status_code == 302
    response = client.get("/notifications/badge", headers={"HX-Request": "true"})
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


# --- the digest --------------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    now = {"t": types._system_clock()}
    monkeypatch.setattr(types, "clock", lambda: now["t"])
    return now


def _digests(user) -> list[OutboundEmail]:
    return list(db.session.scalars(select(OutboundEmail).where(OutboundEmail.dedupe_key.like(f"digest:{user.id}:%"))))


def test_daily_digest_sends_one_email_of_unread_news(client, login, agent, make_user, clock):
    login(agent)
    assert client.post("/notifications/settings", data={"digest": "daily"}).status_code == 302
    assert queries.setting_for(agent).digest == Digest.DAILY
    quiet = make_user()  # no digest chosen
    services.notify([agent, quiet], kind="k", title="Printer case reopened", url="/cases/3", body="Customer wrote")
    read = services.notify([agent], kind="k2", title="Already seen", url="/cases/4")[0]
    services.mark_read(agent, read)
    db.session.commit()
    assert jobs.send_notification_digests() == 1
    [email] = _digests(agent)
    assert agent.email in email.to_addrs and "1 unread notification" in email.subject
    assert "Printer case reopened" in email.body_text and "/cases/3" in email.body_text
    assert "Already seen" not in email.body_text
    assert _digests(quiet) == []
    # Run again within the day: nothing more.
    clock["t"] += timedelta(minutes=1)
    services.notify([agent], kind="k3", title="Later news", url="/cases/5")
    db.session.commit()
    assert jobs.send_notification_digests() == 0
    # A day later, only what is new since the last digest.
    clock["t"] += timedelta(days=1)
    assert jobs.send_notification_digests() == 1
    emails = sorted(_digests(agent), key=lambda e: e.id)
    assert len(emails) == 2 and "Later news" in emails[1].body_text and "Printer" not in emails[1].body_text
    # Nothing new: no email at all.
    clock["t"] += timedelta(days=1, minutes=1)
    assert jobs.send_notification_digests() == 0


def test_digest_setting_rejects_nonsense(client, login, agent):
    login(agent)
    response = client.post("/notifications/settings", data={"digest": "hourly"})
    assert response.status_code == 422 and "Choose off or daily" in response.get_data(as_text=True)


def test_following_a_customer_hears_their_replies_and_merges(make_user, make_case, make_contact, make_organization):
    from helpdesk.people import services as people

    watcher, org_watcher, boss = make_user(), make_user(), make_user(role="manager")
    acme = make_organization(name="Acme")
    ann = make_contact(name="Ann", organization=acme)
    case = make_case(contact=ann)
    services.follow(watcher, "contact", ann.id)
    services.follow(org_watcher, "organization", acme.id)
    cases.add_customer_message(ann, case, body="Hello again")
    assert [n.kind for n in _mine(watcher)] == ["case.customer_replied"]
    assert [n.kind for n in _mine(org_watcher)] == ["case.customer_replied"]
    dupe = make_contact(name="Ann Dupe")
    people.merge_contacts(boss, dupe, ann)
    assert [n.title for n in _mine(watcher) if n.kind == "contact.merged"] == ["Ann Dupe was merged into Ann"]
