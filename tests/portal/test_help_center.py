"""The help center: who reads which articles, search, feedback, and the confirmed contact form."""
from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.cases.models import Case, Channel
from helpdesk.extensions import db
from knowledge_base.models import ArticleFeedback
from tests.portal.conftest import link_in

HTMX = {"HX-Request": "true"}


def _articles(make_article):
    public = make_article(title="Resetting the router", body="Hold the reset button for ten seconds.")
    customers = make_article(title="Router firmware for customers", body="Download the router firmware here.",
                             visibility="customers")
    internal = make_article(title="Router internal escalation", body="Call the router vendor hotline.",
                            visibility="internal")
    db.session.commit()  # indexes them
    return public, customers, internal


def test_anonymous_visitors_read_public_articles_only(client, make_article):
    public, customers, internal = _articles(make_article)
    html = client.get("/help/?q=router").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", html)
    assert "Resetting the router" in text
    assert "firmware" not in text and "internal escalation" not in text
    assert client.get(f"/help/articles/{public.id}").status_code == 200
    for hidden in (customers, internal):
        response = client.get(f"/help/articles/{hidden.id}")
        assert response.status_code == 404 and hidden.title not in response.get_data(as_text=True)


def test_customers_also_read_customer_articles(make_article, make_customer, portal_login):
    public, customers, internal = _articles(make_article)
    client = portal_login(make_customer())
    text = re.sub(r"<[^>]+>", "", client.get("/help/?q=router").get_data(as_text=True))
    assert "Resetting the router" in text and "Router firmware for customers" in text
    assert "internal escalation" not in text
    assert client.get(f"/help/articles/{customers.id}").status_code == 200
    assert client.get(f"/help/articles/{internal.id}").status_code == 404


def test_search_as_htmx_returns_the_results_partial(client, make_article):
    _articles(make_article)
    html = client.get("/help/?q=router", headers=HTMX).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="help-results">') and "<html" not in html


def test_article_feedback(client, make_article):
    public, _, _ = _articles(make_article)
    response = client.post(f"/help/articles/{public.id}/feedback", data={"helpful": "0", "comment": "Too short"},
                           headers=HTMX)
    assert "Thank you for your feedback." in response.get_data(as_text=True)
    row = db.session.scalars(select(ArticleFeedback).where(ArticleFeedback.article_id == public.id)).one()
    assert (row.helpful, row.comment) == (False, "Too short")


def test_contact_form_opens_a_case_only_after_the_address_is_confirmed(client, outbox):
    before = db.session.scalar(select(db.func.count(Case.id)))
    page = client.post("/help/contact", data={"name": "Vera Visitor", "email": "vera@visitor.example",
                                              "subject": "Cannot log in", "body": "The app says my account is locked."})
    assert "Check your email" in page.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Case.id))) == before
    path = link_in(outbox()[-1].body_text, "/help/contact/confirm/")
    done = client.get(path)
    assert "is open" in done.get_data(as_text=True)
    case = db.session.scalars(select(Case).where(Case.subject == "Cannot log in")).one()
    assert case.channel == Channel.PORTAL and case.contact.email == "vera@visitor.example"
    assert case.contact.email_verified_at is not None
    client.get(path)  # twice: still one case
    assert db.session.scalar(select(db.func.count(Case.id)).where(Case.subject == "Cannot log in")) == 1


def test_contact_form_names_the_bad_fields(client):
    response = client.post("/help/contact", data={"name": "", "email": "nope", "subject": "", "body": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Enter your name.", "Enter an email address like name@example.com.", "A case needs a subject.",
                    "Describe the problem."):
        assert message in html


def test_browse_by_topic_shows_only_readable_articles(client, make_article):
    from knowledge_base import services as kb

    topic = kb.create_category(None, name="Networking", names={"it": "Reti"})
    make_article(title="Resetting the router", body="Hold the reset button.", category_id=topic.id)
    make_article(title="Router vendor hotline", body="Internal only.", category_id=topic.id, visibility="internal")
    topics = client.get("/help/topics").get_data(as_text=True)
    assert "Networking" in topics
    page = client.get(f"/help/topics/{topic.slug}").get_data(as_text=True)
    assert "Resetting the router" in page and "hotline" not in page
    italian = client.get(f"/help/topics/{topic.slug}", headers={"Accept-Language": "it"}).get_data(as_text=True)
    assert "Reti" in italian
    assert client.get("/help/topics/no-such-topic").status_code == 404
