"""The knowledge base as the portal sees it, through knowledge_base.queries with a Viewer:
anonymous visitors read public articles, signed-in customers also those for customers,
internal articles never."""
from __future__ import annotations

from helpdesk.people.models import Contact
from knowledge_base import queries
from knowledge_base.queries import Viewer


def viewer(contact: Contact | None) -> Viewer:
    return Viewer.customer(contact) if contact is not None else Viewer.public()


def search(text: str, contact: Contact | None, language: str, limit: int = 10, *, log: bool = True):
    """Articles and FAQ entries for a search box (logged for the search analytics)."""
    return queries.search(text, viewer=viewer(contact), language=language, limit=limit,
                          kinds=("article", "faq"), log=log)


def suggest(text: str, contact: Contact | None, language: str, limit: int = 5):
    """Articles for the new-case form while the customer types (not logged)."""
    return queries.suggest(text, viewer=viewer(contact), language=language, limit=limit)


def article(slug_or_id, contact: Contact | None, language: str):
    return queries.article_for_viewer(slug_or_id, viewer(contact), language)


def related(item, contact: Contact | None):
    return queries.related_for_viewer(item, viewer(contact))


def translations(item, contact: Contact | None):
    return queries.translations_for_viewer(item, viewer(contact))


def popular(contact: Contact | None, language: str, limit: int = 8):
    return queries.popular_articles(viewer(contact), language, limit)


def categories(contact: Contact | None, language: str):
    return queries.categories_for_viewer(viewer(contact), language)


def category(slug_or_id):
    return queries.category_by_slug(slug_or_id)


def articles_in_category(category_id: int, contact: Contact | None, language: str):
    return queries.articles_in_category(category_id, viewer(contact), language)


def faqs(contact: Contact | None, language: str):
    return queries.faqs_for_viewer(viewer(contact), language)


def record_view(item) -> None:
    queries.record_view(item)


def record_feedback(item, contact: Contact | None, helpful: bool, comment: str):
    return queries.record_feedback(item, viewer(contact), helpful=helpful, comment=comment)
