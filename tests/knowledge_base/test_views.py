"""The agent pages: writing, review, history, FAQ, categories, reports, the one search box and the case loop."""
from __future__ import annotations

import io

import pytest

from helpdesk.extensions import db
from knowledge_base import jobs, queries, services
from knowledge_base.models import Article, ArticleStatus, ArticleVersion
from knowledge_base.queries import Viewer

PAGES = ["/kb/", "/kb/articles/new", "/kb/faq", "/kb/faq/new", "/kb/categories", "/kb/synonyms", "/kb/reports", "/kb/search?q=x"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_need_a_staff_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_render_for_an_agent(client, login, agent, url):
    login(agent)
    assert client.get(url).status_code == 200


def test_an_agent_writes_a_draft_and_a_manager_publishes_it(client, login, agent, editor, make_user):
    login(agent)
    response = client.post("/kb/articles/new", data={"title": "Printer offline", "summary": "When it says offline.",
                                                     "body": "1. Switch it **off**\n2. Switch it on\n\n<script>alert(1)</script>",
                                                     "language": "en", "visibility": "public", "tags": "printer, Offline"})
    assert response.status_code == 302
    article = db.session.scalar(db.select(Article).where(Article.title == "Printer offline"))
    assert article.status == ArticleStatus.DRAFT and article.tags == ["printer", "offline"]
    page = client.get(f"/kb/articles/{article.id}").get_data(as_text=True)
    assert "<strong>off</strong>" in page and "<script>alert(1)</script>" not in page
    assert client.post(f"/kb/articles/{article.id}/status", data={"status": "published"}).status_code == 403
    assert client.post(f"/kb/articles/{article.id}/status", data={"status": "in_review"}).status_code == 302
    assert "Printer offline" in client.get("/kb/?status=in_review").get_data(as_text=True)
    manager_client = client.application.test_client()
    login(editor, c=manager_client)
    assert manager_client.post(f"/kb/articles/{article.id}/status", data={"status": "published"}).status_code == 302
    db.session.refresh(article)
    assert article.status == ArticleStatus.PUBLISHED and article.reviewer_id == editor.id
    assert [h.id for h in queries.search("offline printer", viewer=Viewer.public(), language="en", log=False).hits] == [article.id]


def test_a_missing_title_is_refused_with_the_field_named(client, login, agent):
    login(agent)
    response = client.post("/kb/articles/new", data={"title": " ", "body": "x", "language": "en", "visibility": "public"})
    assert response.status_code == 422
    assert "An article needs a title." in response.get_data(as_text=True)


def test_editing_keeps_versions_with_a_diff_and_restore(client, login, agent, make_article):
    article = make_article(title="Wi-Fi password", body="The password is on the router.\nAsk reception.")
    login(agent)
    response = client.post(f"/kb/articles/{article.id}/edit", data={
        "title": "Wi-Fi password", "summary": "", "body": "The password is on the sticker.\nAsk reception.",
        "tags": "", "visibility": "customers", "category_id": "", "version": "1", "note": "new sticker"})
    assert response.status_code == 302
    history = client.get(f"/kb/articles/{article.id}/history").get_data(as_text=True)
    assert "new sticker" in history
    assert '<div class="removed"><span class="visually-hidden">Removed: </span>The password is on the router.</div>' in history
    assert '<div class="added"><span class="visually-hidden">Added: </span>The password is on the sticker.</div>' in history
    stale = client.post(f"/kb/articles/{article.id}/edit", data={"title": "Old form", "body": "x", "version": "1",
                                                                  "visibility": "customers"})
    assert stale.status_code == 409
    assert client.post(f"/kb/articles/{article.id}/restore/1").status_code == 302
    db.session.refresh(article)
    assert article.body == "The password is on the router.\nAsk reception." and article.version_number == 3
    assert [v.note for v in queries.versions(article)][0] == "restored version 1"


def test_a_translation_joins_the_group(client, login, agent, make_article):
    article = make_article(title="Opening hours", body="We are open 9 to 5.")
    login(agent)
    form = client.get(f"/kb/articles/new?translation_of={article.id}&language=bg").get_data(as_text=True)
    assert "Translate “Opening hours”" in form
    response = client.post("/kb/articles/new", data={"translation_of": article.id, "title": "Работно време",
                                                     "body": "Работим от 9 до 5.", "language": "bg", "visibility": "customers"})
    assert response.status_code == 302
    bg = db.session.scalar(db.select(Article).where(Article.language == "bg"))
    assert bg.translation_group_id == article.translation_group_id
    again = client.post("/kb/articles/new", data={"translation_of": article.id, "title": "Пак", "body": "x", "language": "bg"})
    assert again.status_code == 422


def test_faq_and_categories_through_the_forms(client, login, agent):
    login(agent)
    assert client.post("/kb/categories", data={"name": "Billing", "name_ru": "Оплата", "position": "1"}).status_code == 302
    category = queries.categories_flat()[0][0]
    assert category.name_in("ru") == "Оплата"
    response = client.post("/kb/faq/new", data={"question": "Can I pay by card?", "answer": "Yes, **all** cards.",
                                                 "language": "en", "visibility": "public", "category_id": category.id,
                                                 "position": "2", "published": "1"})
    assert response.status_code == 302
    [faq] = queries.faqs_for_viewer(Viewer.public(), "en")
    assert faq.answer_html == "<p>Yes, <strong>all</strong> cards.</p>\n"
    assert queries.faqs_for_viewer(Viewer.public(), "ru") == [faq]  # no Russian FAQ: the default language's
    assert "Can I pay by card?" in client.get("/kb/faq").get_data(as_text=True)


def test_the_one_search_box_finds_cases_people_and_articles(client, login, agent, make_case, make_contact,
                                                               make_organization, make_article, commit):
    org = make_organization(name="Rainier Logistics")
    contact = make_contact(name="Rainier Smith", email="rs@rainier.example")
    case = make_case(subject="Forklift scanner broken", body="The rainier warehouse scanner shows E-7.", contact=contact)
    make_article(title="Rainier warehouse scanners", body="Reset them.", visibility="internal")
    commit()
    jobs.index_changed_cases()
    login(agent)
    page = client.get("/kb/search?q=rainier").get_data(as_text=True)
    for expected in (case.number, "Rainier Logistics", "Rainier Smith", "Rainier</mark> warehouse scanners"):
        assert expected in page
    partial = client.get("/kb/search?q=forklift", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.strip().startswith('<div id="search-results"') and case.number in partial
    jump = client.get(f"/kb/search?q={case.number.lower()}")
    assert jump.status_code == 302 and jump.headers["Location"].endswith(f"/cases/{case.id}")
    assert org.id


def test_the_search_log_feeds_the_reports(client, login, agent, make_article, commit):
    make_article(title="Holiday calendar", visibility="public")
    commit()
    for text in ("holiday", "Holiday", "quantum teleport", "quantum teleport"):
        queries.search(text, viewer=Viewer.public(), language="en")
    commit()
    login(agent)
    page = client.get("/kb/reports").get_data(as_text=True)
    zero = page[page.index("Searches that found nothing"):page.index("Top searches")]
    assert "<td>quantum teleport</td><td>2</td>" in zero and "holiday" not in zero
    assert "<td>holiday</td><td>2</td><td>1.0</td>" in page


def test_feedback_and_views_are_counted(client, login, agent, make_article, make_contact, commit):
    article = make_article(title="Export contacts", visibility="public")
    contact = make_contact()
    queries.record_view(article)
    queries.record_view(article)
    queries.record_feedback(article, Viewer.customer(contact), helpful=False, comment="The button is gone")
    queries.record_feedback(article, Viewer.public(), helpful=True)
    commit()
    assert (article.view_count, article.helpful_count, article.not_helpful_count) == (2, 1, 1)
    login(agent)
    page = client.get(f"/kb/articles/{article.id}").get_data(as_text=True)
    assert "2 view(s)" in page and "The button is gone" in page


def test_the_case_page_inserts_links_and_records_them(client, login, agent, make_case, make_article, commit):
    article = make_article(title="Reset a forgotten PIN", body="Hold the reset key.", visibility="public")
    case = make_case(subject="Forgot my PIN")
    commit()
    login(agent)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Find an article" in page and "Draft an article from this case" in page
    picker = client.get(f"/kb/cases/{case.id}/picker?q=pin", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert picker.strip().startswith('<div id="kb-picker-results"') and "Insert link into reply" in picker
    assert f'data-kb-insert="Reset a forgotten PIN: http://localhost/kb/articles/{article.id}"' in picker
    linked = client.post(f"/kb/cases/{case.id}/link/{article.id}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert linked.strip().startswith('<ul id="kb-case-links"') and "Reset a forgotten PIN" in linked
    assert [link.case_id for link in queries.cases_of_article(article)] == [case.id]
    assert case.number in client.get(f"/kb/articles/{article.id}").get_data(as_text=True)


def test_a_draft_from_a_case_leaves_out_personal_data(client, login, agent, make_case, make_contact, make_organization):
    from helpdesk.cases.services import add_note, reply_to_case

    org = make_organization(name="Bluefin Bakery")
    contact = make_contact(name="Maria Gonzalez", email="maria.gonzalez@bluefin.example", organization=org)
    case = make_case(subject="Oven display shows F3", contact=contact,
                     body="Hi, this is Maria Gonzalez from Bluefin Bakery. Our oven shows F3. "
                          "Call me on +34 612 345 678 or mail maria.gonzalez@bluefin.example.\n--\nMaria\nBluefin Bakery")
    add_note(agent, case, body="Internal: customer is on the gold plan.")
    reply_to_case(agent, case, body="Dear Maria, F3 means the door sensor is dirty. Clean it with a dry cloth.")
    login(agent)
    response = client.post(f"/kb/cases/{case.id}/draft")
    assert response.status_code == 302
    article = db.session.scalar(db.select(Article).where(Article.title == "Oven display shows F3"))
    assert article.status == ArticleStatus.DRAFT
    assert "F3 means the door sensor is dirty" in article.body and "Our oven shows F3" in article.body
    for secret in ("Maria", "Gonzalez", "Bluefin", "612 345", "@bluefin", "gold plan"):
        assert secret not in article.body
    assert "[phone]" in article.body and "[email]" in article.body and "[name]" in article.body
    assert [link.case_id for link in queries.cases_of_article(article)] == [case.id]


def test_article_files_follow_the_article_visibility(client, login, agent, make_article, commit):
    public = make_article(title="Public with image", visibility="public")
    internal = make_article(title="Internal with image", visibility="internal")
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    login(agent)
    for article in (public, internal):
        assert client.post(f"/kb/articles/{article.id}/files", data={"file": (io.BytesIO(png), "shot.png")},
                           content_type="multipart/form-data").status_code == 302
    public_file, internal_file = public.attachments[0], internal.attachments[0]
    assert client.get(f"/kb/files/{internal_file.id}/shot.png").status_code == 200
    anonymous = client.application.test_client()
    response = anonymous.get(f"/kb/files/{public_file.id}/shot.png")
    assert response.status_code == 200 and response.data == png
    assert anonymous.get(f"/kb/files/{internal_file.id}/shot.png").status_code == 404


def test_synonyms_are_editors_only(client, login, agent, editor):
    login(agent)
    assert client.post("/kb/synonyms", data={"language": "en", "terms": "laptop, notebook"}).status_code == 403
    manager = client.application.test_client()
    login(editor, c=manager)
    assert manager.post("/kb/synonyms", data={"language": "en", "terms": "laptop"}).status_code == 422
    assert manager.post("/kb/synonyms", data={"language": "en", "terms": "laptop, notebook"}).status_code == 302
    assert [s.words for s in queries.synonym_sets()] == [["laptop", "notebook"]]


def test_versions_are_kept_for_every_content_change(app, make_article, agent):
    article = make_article(title="One", body="first")
    services.update_article(agent, article, {"body": "second"})
    services.update_article(agent, article, {"visibility": "public"})  # a setting: no new version
    numbers = db.session.scalars(db.select(ArticleVersion.number).where(ArticleVersion.article_id == article.id)).all()
    assert sorted(numbers) == [1, 2]


def test_a_manager_schedules_publishing(client, login, editor, make_article):
    article = make_article(title="New price list", publish=False, visibility="public")
    login(editor)
    assert client.post(f"/kb/articles/{article.id}/status", data={"status": "published", "publish_at": "2099-01-01T09:00"}).status_code == 302
    db.session.refresh(article)
    assert article.scheduled and article.publish_at.isoformat() == "2099-01-01T09:00:00+00:00"
    assert "scheduled 2099-01-01 09:00 UTC" in client.get("/kb/").get_data(as_text=True)
    bad = client.post(f"/kb/articles/{article.id}/status", data={"status": "published", "publish_at": "next tuesday"})
    assert bad.status_code == 422
