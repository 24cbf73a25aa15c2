"""Internal, draft, archived and scheduled articles never reach customers or the public:
not in results, snippets, suggestions, category counts, FAQ lists or direct addresses."""
from __future__ import annotations

from datetime import timedelta

import pytest

from helpdesk.errors import NotFound
from helpdesk.types import utcnow
from knowledge_base import queries, services
from knowledge_base.queries import Viewer

SECRET = "zanzibarite"  # a word only the hidden articles contain


@pytest.fixture
def shelf(app, make_article, make_contact, editor, agent, commit):
    category = services.create_category(editor, name="Secrets")
    arts = {
        "public": make_article(title="Zanzibarite public guide", body=f"All about {SECRET}.", visibility="public", category_id=category.id),
        "customers": make_article(title="Zanzibarite customer guide", body=f"{SECRET} for customers.", visibility="customers", category_id=category.id),
        "internal": make_article(title="Zanzibarite internal runbook", body=f"{SECRET} internal escalation phone.", visibility="internal", category_id=category.id),
        "draft": make_article(title="Zanzibarite draft", body=f"Unfinished {SECRET}.", visibility="public", publish=False, category_id=category.id),
        "review": make_article(title="Zanzibarite in review", body=f"Reviewed {SECRET}.", visibility="public", publish=False, category_id=category.id),
        "archived": make_article(title="Zanzibarite archived", body=f"Old {SECRET}.", visibility="public", category_id=category.id),
        "scheduled": make_article(title="Zanzibarite launch", body=f"Coming {SECRET}.", visibility="public", publish=False, category_id=category.id),
    }
    services.change_status(agent, arts["review"], "in_review")
    services.change_status(editor, arts["archived"], "archived")
    services.change_status(editor, arts["scheduled"], "published", publish_at=utcnow() + timedelta(days=2))
    services.create_faq(editor, {"question": f"What is {SECRET}?", "answer": "A public answer.", "visibility": "public"})
    services.create_faq(editor, {"question": f"Internal {SECRET} trick?", "answer": "Staff only.", "visibility": "internal"})
    services.create_faq(editor, {"question": f"Hidden {SECRET} question?", "answer": "Not yet.", "published": "0"})
    commit()
    return arts, category, make_contact()


def _titles(results):
    return {h.title for h in results.hits}


def test_search_shows_each_viewer_only_what_they_may_read(shelf, agent):
    arts, _, contact = shelf
    public = queries.search(SECRET, viewer=Viewer.public(), language="en", kinds=("article", "faq"), log=False)
    customer = queries.search(SECRET, viewer=Viewer.customer(contact), language="en", kinds=("article", "faq"), log=False)
    staff = queries.search(SECRET, viewer=Viewer.staff(agent), language="en", kinds=("article", "faq"), log=False)
    assert _titles(public) == {"Zanzibarite public guide", f"What is {SECRET}?"}
    assert _titles(customer) == {"Zanzibarite public guide", "Zanzibarite customer guide", f"What is {SECRET}?"}
    assert len(staff.hits) == 10  # staff find everything, drafts and internal ones included


@pytest.mark.parametrize("kind", ["public", "customer"])
def test_nothing_hidden_leaks_through_snippets_or_suggestions(shelf, kind):
    arts, _, contact = shelf
    viewer = Viewer.public() if kind == "public" else Viewer.customer(contact)
    for text in (SECRET, "escalation phone", "runbook", "unfinished", "launch", "zanzibarit"):
        for results in (queries.search(text, viewer=viewer, language="en", log=False),
                        queries.suggest(text, viewer=viewer, language="en")):
            shown = " ".join(f"{h.title} {h.title_html} {h.snippet_html} {h.summary}" for h in results.hits)
            shown += results.suggestion or ""
            for word in ("internal", "runbook", "escalation", "draft", "Unfinished", "review", "archived", "launch", "Coming"):
                assert word.lower() not in shown.lower(), (text, word, shown)


@pytest.mark.parametrize("name", ["internal", "draft", "review", "archived", "scheduled"])
@pytest.mark.parametrize("kind", ["public", "customer"])
def test_direct_addresses_of_hidden_articles_are_not_found(shelf, name, kind):
    arts, _, contact = shelf
    viewer = Viewer.public() if kind == "public" else Viewer.customer(contact)
    for key in (arts[name].slug, arts[name].id, str(arts[name].id)):
        with pytest.raises(NotFound):
            queries.article_for_viewer(key, viewer, "en")


def test_customers_only_articles_are_not_public(shelf):
    arts, _, contact = shelf
    with pytest.raises(NotFound):
        queries.article_for_viewer(arts["customers"].slug, Viewer.public(), "en")
    assert queries.article_for_viewer(arts["customers"].slug, Viewer.customer(contact), "en") == arts["customers"]


def test_category_counts_and_listings_respect_the_viewer(shelf, agent):
    arts, category, contact = shelf
    [node] = queries.categories_for_viewer(Viewer.public(), "en")
    assert node.article_count == 1
    [node] = queries.categories_for_viewer(Viewer.customer(contact), "en")
    assert node.article_count == 2
    assert {a.title for a in queries.articles_in_category(category.id, Viewer.public(), "en")} == {"Zanzibarite public guide"}
    assert len(queries.articles_in_category(category.id, Viewer.staff(agent), "en")) == 7


def test_faq_lists_respect_the_viewer(shelf, agent):
    _, _, contact = shelf
    assert [f.question for f in queries.faqs_for_viewer(Viewer.public(), "en")] == [f"What is {SECRET}?"]
    assert [f.question for f in queries.faqs_for_viewer(Viewer.customer(contact), "en")] == [f"What is {SECRET}?"]
    assert len(queries.faqs_for_viewer(Viewer.staff(agent), "en")) == 3


def test_a_scheduled_article_appears_when_its_time_comes(shelf, commit):
    from knowledge_base.jobs import index_due_articles
    from helpdesk import types

    arts, _, _ = shelf
    assert "Zanzibarite launch" not in _titles(queries.search("launch", viewer=Viewer.public(), language="en", log=False))
    later = utcnow() + timedelta(days=3)
    original = types.clock
    types.clock = lambda: later
    try:
        index_due_articles()
        assert queries.article_for_viewer(arts["scheduled"].slug, Viewer.public(), "en") == arts["scheduled"]
        assert "Zanzibarite launch" in _titles(queries.search("launch", viewer=Viewer.public(), language="en", log=False))
    finally:
        types.clock = original


def test_an_unpublished_article_disappears_even_before_the_index_catches_up(shelf, editor, commit):
    arts, _, _ = shelf
    services.change_status(editor, arts["public"], "archived")
    # not committed: the index still lists it as public, the database check hides it
    assert queries.search(SECRET, viewer=Viewer.public(), language="en", log=False).hits == []


def test_missing_translation_falls_back_and_hidden_translation_is_skipped(app, make_article, commit):
    en = make_article(title="Change the language", body="Open your profile.", visibility="public")
    ru = make_article(title="Смена языка", body="Откройте профиль.", visibility="public", language="ru", translation_of=en)
    it = make_article(title="Cambiare la lingua", body="Apri il profilo.", visibility="public", language="it", translation_of=en, publish=False)
    commit()
    assert queries.article_for_viewer(en.slug, Viewer.public(), "ru") == ru
    assert queries.article_for_viewer(en.slug, Viewer.public(), "it") == en  # the draft translation is not shown
    assert queries.article_for_viewer(ru.slug, Viewer.public(), "bg") == en  # no Bulgarian: the default language
    assert queries.translations_for_viewer(en, Viewer.public()) == [ru]
