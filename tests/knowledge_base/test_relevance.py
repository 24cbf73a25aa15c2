"""Relevance: inflected forms, typos and synonyms find the intended article in each of the five languages."""
from __future__ import annotations

import pytest

from helpdesk.extensions import db
from knowledge_base import services
from knowledge_base.queries import Viewer, search
from tests.knowledge_base.corpus import ARTICLES, QUERIES, SYNONYMS


@pytest.fixture
def corpus(app, make_article, editor, commit):
    """Every topic in every language, published for the public, English first so the others are its translations."""
    ids = {}
    for lang in ("en", "ru", "it", "bg", "fa"):
        for topic, (title, summary, body) in ARTICLES[lang].items():
            source = db.session.get(services.Article, ids[("en", topic)]) if lang != "en" else None
            article = make_article(title=title, summary=summary, body=body, language=lang, visibility="public",
                                   translation_of=source)
            ids[(lang, topic)] = article.id
    for lang, terms in SYNONYMS.items():
        services.save_synonyms(editor, lang, terms)
    commit()
    return ids


@pytest.mark.parametrize("language", ["en", "ru", "it", "bg", "fa"])
def test_each_query_finds_its_article_first(corpus, language):
    misses = []
    for lang, text, topic in QUERIES:
        if lang != language:
            continue
        results = search(text, viewer=Viewer.public(), language=lang, log=False)
        first = results.hits[0] if results.hits else None
        if first is None or first.id != corpus[(lang, topic)]:
            misses.append(f"{text!r}: wanted {ARTICLES[lang][topic][0]!r}, got {first.title if first else None!r}")
    assert not misses, "\n".join(misses)


def test_a_typo_gets_a_did_you_mean(corpus):
    results = search("pasword resett", viewer=Viewer.public(), language="en", log=False)
    assert results.suggestion == "password reset"
    assert results.hits[0].id == corpus[("en", "password")]


def test_no_suggestion_when_every_word_is_known(corpus):
    assert search("printer paper", viewer=Viewer.public(), language="en", log=False).suggestion is None


def test_title_outranks_body(app, make_article, commit):
    in_body = make_article(title="Office equipment", body="Sometimes the scanner needs a restart.", visibility="public")
    in_title = make_article(title="Scanner troubleshooting", body="Unplug it and wait.", visibility="public")
    commit()
    hits = search("scanner", viewer=Viewer.public(), language="en", log=False).hits
    assert [h.id for h in hits] == [in_title.id, in_body.id]


def test_snippets_mark_the_matched_words(corpus):
    hit = search("paper jam", viewer=Viewer.public(), language="en", log=False).hits[0]
    assert "<mark" in hit.snippet_html and "jam</mark>" in hit.snippet_html
    hit = search("принтеры", viewer=Viewer.public(), language="ru", log=False).hits[0]
    assert "Принтер</mark>" in hit.title_html


def test_a_missing_translation_falls_back_to_the_default_language(app, make_article, commit):
    only_english = make_article(title="Keyboard shortcuts for agents", body="Press j and k to move.", visibility="public")
    commit()
    hits = search("keyboard shortcuts", viewer=Viewer.public(), language="ru", log=False).hits
    assert [h.id for h in hits] == [only_english.id]


def test_the_requested_language_wins_over_the_default(corpus):
    hits = search("vpn", viewer=Viewer.public(), language="it", log=False).hits
    assert hits[0].id == corpus[("it", "vpn")]
    assert corpus[("en", "vpn")] not in [h.id for h in hits]  # one hit per translation group


def test_category_filter_includes_subcategories(app, make_article, editor, commit):
    parent = services.create_category(editor, name="Hardware")
    child = services.create_category(editor, name="Printers", parent_id=parent.id)
    other = services.create_category(editor, name="Billing")
    inside = make_article(title="Toner replacement", body="Open the toner door.", visibility="public", category_id=child.id)
    make_article(title="Toner invoices", body="Toner is billed monthly.", visibility="public", category_id=other.id)
    commit()
    hits = search("toner", viewer=Viewer.public(), language="en", category_id=parent.id, log=False).hits
    assert [h.id for h in hits] == [inside.id]
