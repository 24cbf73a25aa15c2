"""Reads of the knowledge base, every one for a Viewer: the public API of the portal and the chat bot.

    from knowledge_base.queries import Viewer, search, article_for_viewer
    results = search("pasword reset", viewer=Viewer.customer(contact), language="en")
    for hit in results.hits: hit.title, hit.slug, hit.snippet_html, hit.url_slug
    results.suggestion          # "password reset" ("did you mean"), or None
    article = article_for_viewer(slug, Viewer.public(), "ru")   # NotFound unless the viewer may see it

Nothing here returns an article, FAQ, title or snippet the viewer may not see: the index filters
by audience and every hit is checked again against the database. Functions that record
something (search with log=True, record_view, record_feedback) flush; the caller commits.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from markupsafe import Markup, escape
from sqlalchemy import Select, func, or_, select

from helpdesk.cases.models import Case
from helpdesk.errors import NotFound
from helpdesk.extensions import db
from helpdesk.types import utcnow

from knowledge_base import search as index
from knowledge_base.models import (
    FAQ,
    LANGUAGES,
    Article,
    ArticleCaseLink,
    ArticleEvent,
    ArticleFeedback,
    ArticleStatus,
    ArticleVersion,
    Category,
    SearchLogEntry,
    SynonymSet,
)
from knowledge_base.policies import Viewer, can_see
from knowledge_base.services import log_search, record_feedback, record_view  # noqa: F401  (part of the API)

__all__ = [
    "Viewer", "Hit", "SearchResults", "search", "suggest", "article_for_viewer", "translations_for_viewer",
    "related_for_viewer", "categories_for_viewer", "articles_in_category", "faqs_for_viewer", "popular_articles",
    "record_feedback", "record_view", "default_language",
]


def default_language() -> str:
    return current_app.config["KB_DEFAULT_LANGUAGE"]


def _visible(viewer: Viewer, article: Article) -> bool:
    return can_see(viewer, article.status, article.visibility, article.publish_at, utcnow())


def _visible_faq(viewer: Viewer, faq: FAQ) -> bool:
    status = ArticleStatus.PUBLISHED if faq.published else ArticleStatus.DRAFT
    return can_see(viewer, status, faq.visibility, None, utcnow())


def _visible_clause(viewer: Viewer):
    """SQL for "the viewer may see this article"."""
    if viewer.is_staff:
        return True
    now = utcnow()
    return (Article.status == ArticleStatus.PUBLISHED) & or_(Article.publish_at.is_(None), Article.publish_at <= now) & \
        Article.visibility.in_(viewer.visibilities)


# --- search ---------------------------------------------------------------------------------


@dataclass
class Hit:
    kind: str  # "article" or "faq"
    id: int
    title: str
    title_html: Markup  # the title with the matched words in <mark>
    snippet_html: Markup  # the best passage with the matched words in <mark>; escaped
    summary: str
    language: str
    score: float
    slug: str | None = None  # articles: what article_for_viewer() takes
    category: Category | None = None
    article: Article | None = None
    faq: FAQ | None = None

    @property
    def url_slug(self) -> str | None:
        return self.slug


@dataclass
class SearchResults:
    query: str
    hits: list[Hit]
    total: int
    suggestion: str | None = None  # "did you mean"
    language: str | None = None
    relaxed: bool = False  # no result had every word; these have some

    def __bool__(self) -> bool:
        return bool(self.hits)


def _synonyms(languages: list[str]) -> dict[str, list[list[str]]]:
    from knowledge_base.analysis import normalize_word

    out: dict[str, list[list[str]]] = {}
    for row in db.session.scalars(select(SynonymSet).where(SynonymSet.language.in_(languages))):
        out.setdefault(row.language, []).append([normalize_word(row.language, w) for w in row.words])
    return out


def search(text: str, *, viewer: Viewer, language: str | None = None, category_id: int | None = None,
           limit: int = 10, kinds: tuple[str, ...] = ("article",), log: bool = True) -> SearchResults:
    """Articles (and with kinds=("article", "faq") FAQ entries) matching `text`, best first.

    With a language: that language, and the default language for articles not translated into it.
    Without: every language (the agents' search). `category_id` includes its sub-categories.
    log=True records the search for the analytics (flushes; the caller commits); pass False for
    suggestions while someone types.
    """
    text = (text or "").strip()[:300]
    default = default_language()
    languages = list(LANGUAGES) if language is None else list(dict.fromkeys([language, default]))
    if language is not None and language not in LANGUAGES:
        languages = [default]
    found = index.search_articles(text, languages=languages, audience=viewer.audience, category_id=category_id,
                                  kinds=kinds, limit=limit * 2 if len(languages) > 1 else limit + 2,
                                  synonyms=_synonyms(languages))
    hits = _load_hits(found, viewer, language, limit)
    results = SearchResults(text, hits, len(hits) if found.total < len(hits) else found.total,
                            found.suggestion, language, found.relaxed)
    if log and text:
        log_search(text, language, viewer, len(hits))
    return results


def _load_hits(found: index.IndexResults, viewer: Viewer, language: str | None, limit: int) -> list[Hit]:
    article_ids = [h.id for h in found.hits if h.kind == "article"]
    faq_ids = [h.id for h in found.hits if h.kind == "faq"]
    articles = {a.id: a for a in db.session.scalars(select(Article).where(Article.id.in_(article_ids)))} if article_ids else {}
    faqs = {f.id: f for f in db.session.scalars(select(FAQ).where(FAQ.id.in_(faq_ids)))} if faq_ids else {}
    # One hit per translation group: the viewer's language first, else the default language.
    preferred: dict[str, index.IndexHit] = {}
    for h in found.hits:
        key = f"{h.kind}:{h.group}"
        if key not in preferred or (language and h.language == language and preferred[key].language != language):
            preferred[key] = h
    hits = []
    for h in found.hits:
        if preferred[f"{h.kind}:{h.group}"] is not h:
            continue
        terms = found.terms.get(h.language, set())
        if h.kind == "article":
            a = articles.get(h.id)
            if a is None or not _visible(viewer, a):
                continue  # the index lags the database, never the other way round
            hits.append(Hit("article", a.id, a.title, _mark(a.title, terms, a.language),
                            _snippet(a.body_text, a.summary, terms, a.language), a.summary, a.language, h.score,
                            slug=a.slug, category=a.category, article=a))
        else:
            f = faqs.get(h.id)
            if f is None or not _visible_faq(viewer, f):
                continue
            text = index_text_of_faq(f)
            hits.append(Hit("faq", f.id, f.question, _mark(f.question, terms, f.language),
                            _snippet(text, "", terms, f.language), "", f.language, h.score, category=f.category, faq=f))
        if len(hits) >= limit:
            break
    return hits


def index_text_of_faq(faq: FAQ) -> str:
    from knowledge_base.services import render_markdown

    return render_markdown(faq.answer)[1]


def _mark(text: str, terms: set[str], language: str) -> Markup:
    return Markup(index.mark_all(text, terms, language) or escape(text))


def _snippet(body: str, summary: str, terms: set[str], language: str) -> Markup:
    found = index.snippet(body, terms, language) or index.mark_all(summary, terms, language)
    if found:
        return Markup(found)
    fallback = summary or body[:200]
    return Markup(escape(fallback + ("…" if not summary and len(body) > 200 else "")))


def suggest(text: str, *, viewer: Viewer, language: str | None = None, limit: int = 5) -> SearchResults:
    """Live suggestions while someone types: the same search, not logged."""
    return search(text, viewer=viewer, language=language, limit=limit, log=False)


# --- articles -------------------------------------------------------------------------------


def _find(slug_or_id) -> Article | None:
    key = str(slug_or_id).strip()
    if key.isdigit():
        return db.session.get(Article, int(key))
    return db.session.scalar(select(Article).where(Article.slug == key))


def article_for_viewer(slug_or_id, viewer: Viewer, language: str | None = None) -> Article:
    """The article by slug or id, in `language` when translated (else the default language, else
    as found). Raises NotFound for anything the viewer may not see, exactly as for a missing one."""
    article = _find(slug_or_id)
    if article is None:
        raise NotFound("No such article.")
    siblings = {a.language: a for a in article.translation_group.articles if _visible(viewer, a)}
    for lang in (language, article.language if language is None else None, default_language()):
        if lang and lang in siblings:
            return siblings[lang]
    if siblings and language is None:
        return next(iter(siblings.values()))
    raise NotFound("No such article.")


def translations_for_viewer(article: Article, viewer: Viewer) -> list[Article]:
    """The other languages of this article that the viewer may read (for a language switcher)."""
    return [a for a in article.translations if _visible(viewer, a)]


def related_for_viewer(article: Article, viewer: Viewer) -> list[Article]:
    return [a for a in article.related if _visible(viewer, a)]


def popular_articles(viewer: Viewer, language: str | None = None, limit: int = 10) -> list[Article]:
    stmt = select(Article).where(_visible_clause(viewer)).order_by(Article.view_count.desc(), Article.id).limit(limit)
    if language:
        stmt = stmt.where(Article.language == language)
    return list(db.session.scalars(stmt))


def _with_fallback(stmt: Select, language: str | None) -> list[Article]:
    """Rows in the language, plus default-language rows whose group has no such translation."""
    rows = list(db.session.scalars(stmt))
    if not language:
        return rows
    default = default_language()
    groups_in_language = {a.translation_group_id for a in rows if a.language == language}
    return [a for a in rows if a.language == language or (a.language == default and a.translation_group_id not in groups_in_language)]


def articles_in_category(category_id: int | None, viewer: Viewer, language: str | None = None, limit: int = 200) -> list[Article]:
    """The articles of one category (not its sub-categories) the viewer may see, by title."""
    stmt = select(Article).where(_visible_clause(viewer), Article.category_id == category_id).order_by(Article.title).limit(limit * 2)
    if language:
        stmt = stmt.where(Article.language.in_({language, default_language()}))
    return _with_fallback(stmt, language)[:limit]


@dataclass
class CategoryNode:
    category: Category
    name: str
    article_count: int  # visible articles here and below, in the language (with fallback)
    children: list[CategoryNode] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.category.id

    @property
    def slug(self) -> str:
        return self.category.slug


def categories_for_viewer(viewer: Viewer, language: str | None = None, *, include_empty: bool | None = None) -> list[CategoryNode]:
    """The category tree with names in `language` and counts of what the viewer may read.
    Empty categories are left out except for staff (or with include_empty=True)."""
    include_empty = viewer.is_staff if include_empty is None else include_empty
    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))
    stmt = select(Article).where(_visible_clause(viewer), Article.category_id.is_not(None))
    if language:
        stmt = stmt.where(Article.language.in_({language, default_language()}))
    direct: dict[int, int] = {}
    for a in _with_fallback(stmt, language):
        direct[a.category_id] = direct.get(a.category_id, 0) + 1
    nodes = {c.id: CategoryNode(c, c.name_in(language or default_language()), direct.get(c.id, 0)) for c in categories}
    roots = []
    for c in categories:
        (nodes[c.parent_id].children if c.parent_id in nodes else roots).append(nodes[c.id])

    def total(node: CategoryNode) -> int:
        node.article_count += sum(total(child) for child in node.children)
        if not include_empty:
            node.children = [child for child in node.children if child.article_count]
        return node.article_count

    for root in roots:
        total(root)
    return roots if include_empty else [r for r in roots if r.article_count]


def category_by_slug(slug_or_id) -> Category:
    key = str(slug_or_id)
    category = db.session.get(Category, int(key)) if key.isdigit() else db.session.scalar(select(Category).where(Category.slug == key))
    if category is None:
        raise NotFound("No such category.")
    return category


def faqs_for_viewer(viewer: Viewer, language: str | None = None, category_id: int | None = None) -> list[FAQ]:
    """Published FAQ entries the viewer may read, in order; the default language's when the
    language has none (in that category)."""
    stmt = select(FAQ).order_by(FAQ.category_id, FAQ.position, FAQ.id)
    if not viewer.is_staff:
        stmt = stmt.where(FAQ.published.is_(True), FAQ.visibility.in_(viewer.visibilities))
    if category_id is not None:
        stmt = stmt.where(FAQ.category_id == category_id)
    if language:
        rows = list(db.session.scalars(stmt.where(FAQ.language == language)))
        if rows or language == default_language():
            return rows
        return list(db.session.scalars(stmt.where(FAQ.language == default_language())))
    return list(db.session.scalars(stmt))


# --- staff pages ----------------------------------------------------------------------------


@dataclass
class ArticleFilter:
    status: str = ""
    language: str = ""
    category: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args) -> ArticleFilter:
        return cls(**{k: (args.get(k) or "").strip() for k in ("status", "language", "category", "q")})


def article_list(f: ArticleFilter, limit: int = 100) -> list[Article]:
    stmt = select(Article).order_by(Article.updated_at.desc(), Article.id.desc()).limit(limit)
    if f.status in {s.value for s in ArticleStatus}:
        stmt = stmt.where(Article.status == ArticleStatus(f.status))
    if f.language in LANGUAGES:
        stmt = stmt.where(Article.language == f.language)
    if f.category.isdigit():
        stmt = stmt.where(Article.category_id == int(f.category))
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(or_(Article.title.ilike(like), Article.slug.ilike(like)))
    return list(db.session.scalars(stmt))


def get_article(article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    if article is None:
        raise NotFound("No such article.")
    return article


def get_faq(faq_id: int) -> FAQ:
    faq = db.session.get(FAQ, faq_id)
    if faq is None:
        raise NotFound("No such FAQ entry.")
    return faq


def versions(article: Article) -> list[ArticleVersion]:
    return list(db.session.scalars(select(ArticleVersion).where(ArticleVersion.article_id == article.id)
                                   .order_by(ArticleVersion.number.desc())))


def get_version(article: Article, number: int) -> ArticleVersion:
    version = db.session.scalar(select(ArticleVersion).where(ArticleVersion.article_id == article.id, ArticleVersion.number == number))
    if version is None:
        raise NotFound(f"Version {number} does not exist.")
    return version


@dataclass
class DiffLine:
    kind: str  # "same", "added", "removed", "gap"
    text: str


def diff_versions(old: ArticleVersion, new: ArticleVersion, context: int = 3) -> list[DiffLine]:
    """A line diff of title, summary, tags and body between two versions."""
    def lines(v: ArticleVersion) -> list[str]:
        return [f"# {v.title}", f"Summary: {v.summary}", f"Tags: {', '.join(v.tags or [])}", ""] + v.body.splitlines()

    out = []
    for line in difflib.unified_diff(lines(old), lines(new), lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(DiffLine("gap", line))
        elif line.startswith("+"):
            out.append(DiffLine("added", line[1:]))
        elif line.startswith("-"):
            out.append(DiffLine("removed", line[1:]))
        else:
            out.append(DiffLine("same", line[1:]))
    return out


def events(article: Article, limit: int = 100) -> list[ArticleEvent]:
    return list(db.session.scalars(select(ArticleEvent).where(ArticleEvent.article_id == article.id)
                                   .order_by(ArticleEvent.created_at.desc(), ArticleEvent.id.desc()).limit(limit)))


def feedback(article: Article, limit: int = 50) -> list[ArticleFeedback]:
    return list(db.session.scalars(select(ArticleFeedback).where(ArticleFeedback.article_id == article.id)
                                   .order_by(ArticleFeedback.created_at.desc(), ArticleFeedback.id.desc()).limit(limit)))


def cases_of_article(article: Article, limit: int = 50) -> list[ArticleCaseLink]:
    """The cases this article was used in, newest first."""
    return list(db.session.scalars(select(ArticleCaseLink).where(ArticleCaseLink.article_id == article.id)
                                   .order_by(ArticleCaseLink.created_at.desc()).limit(limit)))


def articles_of_case(case: Case) -> list[ArticleCaseLink]:
    return list(db.session.scalars(select(ArticleCaseLink).where(ArticleCaseLink.case_id == case.id)
                                   .order_by(ArticleCaseLink.created_at)))


def categories_flat() -> list[tuple[Category, int]]:
    """Every category with its depth, in tree order (for pickers)."""
    categories = list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))
    children: dict[int | None, list[Category]] = {}
    for c in categories:
        children.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Category, int]] = []

    def walk(parent_id, depth):
        for c in children.get(parent_id, []):
            out.append((c, depth))
            walk(c.id, depth + 1)

    walk(None, 0)
    return out


def synonym_sets() -> list[SynonymSet]:
    return list(db.session.scalars(select(SynonymSet).order_by(SynonymSet.language, SynonymSet.id)))


@dataclass
class SearchReport:
    top: list[tuple[str, int, float]]  # query, searches, average results
    zero: list[tuple[str, int]]  # queries that found nothing, and how often
    total: int


def search_report(days: int = 30, limit: int = 20) -> SearchReport:
    since = utcnow() - timedelta(days=days)
    recent = SearchLogEntry.created_at >= since
    top = db.session.execute(
        select(SearchLogEntry.query, func.count(), func.avg(SearchLogEntry.results)).where(recent)
        .group_by(SearchLogEntry.query).order_by(func.count().desc(), SearchLogEntry.query).limit(limit)).all()
    zero = db.session.execute(
        select(SearchLogEntry.query, func.count()).where(recent, SearchLogEntry.results == 0)
        .group_by(SearchLogEntry.query).order_by(func.count().desc(), SearchLogEntry.query).limit(limit)).all()
    total = db.session.scalar(select(func.count(SearchLogEntry.id)).where(recent)) or 0
    return SearchReport([(q, n, float(avg or 0)) for q, n, avg in top], [(q, n) for q, n in zero], total)
