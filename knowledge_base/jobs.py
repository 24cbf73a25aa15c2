"""Jobs on the `search` queue: the only code that writes the Whoosh indexes."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from helpdesk.cases.models import Case, Message
from helpdesk.extensions import db
from helpdesk.jobs import job, periodic
from helpdesk.types import utcnow

from knowledge_base import policies, search
from knowledge_base.models import FAQ, Article, ArticleStatus, Category

CASE_TEXT_MAX = 20_000
_BATCH = 500


def _ancestors() -> dict[int, list[int]]:
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).all())
    chains = {}
    for cid in parents:
        chain, node = [], cid
        while node is not None and node not in chain:
            chain.append(node)
            node = parents.get(node)
        chains[cid] = chain
    return chains


def article_document(article: Article, chains: dict[int, list[int]], now) -> dict:
    lang = article.language
    status, visibility = article.status, article.visibility
    return {
        "id": f"a:{article.id}",
        "kind": "article",
        "group": str(article.translation_group_id),
        "language": lang,
        "category": " ".join(f"c{c}" for c in chains.get(article.category_id, [])),
        "access": " ".join(f"{a}|{lang}|article" for a in policies.audiences(status, visibility, article.publish_at, now)),
        "tags": ",".join(article.tags or []),
        f"title_{lang}": article.title,
        f"summary_{lang}": article.summary or "",
        f"body_{lang}": article.body_text or "",
        f"spell_{lang}": f"{article.title}\n{article.summary or ''}",
    }


def faq_document(faq: FAQ, chains: dict[int, list[int]]) -> dict:
    lang = faq.language
    status = ArticleStatus.PUBLISHED if faq.published else ArticleStatus.DRAFT
    return {
        "id": f"f:{faq.id}",
        "kind": "faq",
        "group": f"f{faq.id}",
        "language": lang,
        "category": " ".join(f"c{c}" for c in chains.get(faq.category_id, [])),
        "access": " ".join(f"{a}|{lang}|faq" for a in policies.audiences(status, faq.visibility, None, utcnow())),
        "tags": "",
        f"title_{lang}": faq.question,
        f"body_{lang}": faq.answer,
        f"spell_{lang}": faq.question,
    }


def case_document(case: Case, messages: list[str]) -> dict:
    text = "\n".join(messages)[:CASE_TEXT_MAX]
    return {"id": str(case.id), "number": (case.number or "").upper(), "subject": case.subject,
            "messages": text, "updated": int(case.updated_at.timestamp() * 1000)}


@job(queue="search")
def index_documents(article_ids: list[int], faq_ids: list[int]) -> None:
    """Bring these articles' and FAQ entries' index entries up to date, in one commit."""
    if not article_ids and not faq_ids:
        return
    chains, now = _ancestors(), utcnow()
    articles = {a.id: a for a in db.session.scalars(select(Article).where(Article.id.in_(article_ids)))} if article_ids else {}
    faqs = {f.id: f for f in db.session.scalars(select(FAQ).where(FAQ.id.in_(faq_ids)))} if faq_ids else {}
    with search.writer(search.ARTICLES) as w:
        for article_id in dict.fromkeys(article_ids):
            if article_id in articles:
                w.update_document(**article_document(articles[article_id], chains, now))
            else:
                w.delete_by_term("id", f"a:{article_id}")
        for faq_id in dict.fromkeys(faq_ids):
            if faq_id in faqs:
                w.update_document(**faq_document(faqs[faq_id], chains))
            else:
                w.delete_by_term("id", f"f:{faq_id}")


@job(queue="search")
def index_article(article_id: int) -> None:
    """Bring one article's index entry up to date (or remove it); safe to run twice."""
    article = db.session.get(Article, article_id)
    with search.writer(search.ARTICLES) as w:
        if article is None:
            w.delete_by_term("id", f"a:{article_id}")
        else:
            w.update_document(**article_document(article, _ancestors(), utcnow()))


@job(queue="search")
def index_faq(faq_id: int) -> None:
    faq = db.session.get(FAQ, faq_id)
    with search.writer(search.ARTICLES) as w:
        if faq is None:
            w.delete_by_term("id", f"f:{faq_id}")
        else:
            w.update_document(**faq_document(faq, _ancestors()))


@job(queue="search", retry=1)
def reindex_all(progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Rebuild both indexes from the database into fresh folders, then swap them in.

    `progress(what, done, total)` is told how far it got (the CLI draws a bar with it).
    """
    started = utcnow()
    counts = {"articles": _rebuild_articles(progress), "cases": _rebuild_cases(progress)}
    # Saves that landed during the rebuild may have been read before they committed.
    for article_id in db.session.scalars(select(Article.id).where(Article.updated_at >= started)):
        index_article(article_id)
    return counts


def _rebuild_articles(progress) -> int:
    chains = _ancestors()
    now = utcnow()
    total = db.session.scalar(select(db.func.count(Article.id))) or 0
    rebuild = search.Rebuild(search.ARTICLES)
    done = 0
    try:
        last_id = 0
        while True:
            batch = db.session.scalars(select(Article).where(Article.id > last_id).order_by(Article.id).limit(_BATCH)).all()
            if not batch:
                break
            for article in batch:
                rebuild.add(article_document(article, chains, now))
            done += len(batch)
            last_id = batch[-1].id
            if progress:
                progress("articles", done, total)
        for faq in db.session.scalars(select(FAQ).order_by(FAQ.id)):
            rebuild.add(faq_document(faq, chains))
        rebuild.commit()
    except BaseException:
        rebuild.cancel()
        raise
    return done


def _rebuild_cases(progress) -> int:
    total = db.session.scalar(select(db.func.count(Case.id)).where(Case.deleted_at.is_(None))) or 0
    rebuild = search.Rebuild(search.CASES)
    done, newest = 0, 0.0
    try:
        last_id = 0
        while True:
            batch = db.session.scalars(
                select(Case).where(Case.id > last_id, Case.deleted_at.is_(None)).order_by(Case.id).limit(_BATCH)
            ).all()
            if not batch:
                break
            texts = _case_texts([c.id for c in batch])
            for case in batch:
                rebuild.add(case_document(case, texts.get(case.id, [])))
                newest = max(newest, case.updated_at.timestamp())
            done += len(batch)
            last_id = batch[-1].id
            if progress:
                progress("cases", done, total)
        rebuild.commit()
    except BaseException:
        rebuild.cancel()
        raise
    search.write_watermark(search.CASES, newest)
    return done


def _case_texts(case_ids: list[int]) -> dict[int, list[str]]:
    texts: dict[int, list[str]] = {}
    rows = db.session.execute(
        select(Message.case_id, Message.body_text).where(Message.case_id.in_(case_ids)).order_by(Message.case_id, Message.id)
    )
    for case_id, text in rows:
        texts.setdefault(case_id, []).append(text or "")
    return texts


@periodic(every=timedelta(minutes=1), queue="search")
def index_changed_cases(limit: int = 5000) -> int:
    """Bring cases changed since the last run into the case index (a new message changes its case)."""
    from datetime import datetime, timezone

    mark = search.read_watermark(search.CASES)
    since = datetime.fromtimestamp(mark, timezone.utc)
    cases = db.session.scalars(
        select(Case).where(Case.updated_at >= since).order_by(Case.updated_at, Case.id).limit(limit)
    ).all()
    if not cases:
        return 0
    texts = _case_texts([c.id for c in cases])
    with search.writer(search.CASES) as w:
        for case in cases:
            if case.deleted_at is not None:
                w.delete_by_term("id", str(case.id))
            else:
                w.update_document(**case_document(case, texts.get(case.id, [])))
    search.write_watermark(search.CASES, max(c.updated_at.timestamp() for c in cases))
    return len(cases)


@periodic(every=timedelta(minutes=1), queue="search")
def index_due_articles() -> int:
    """Articles whose scheduled publishing time has come become findable by customers."""
    from datetime import datetime, timezone

    mark = search.read_watermark("scheduled")
    now = utcnow()
    since = datetime.fromtimestamp(mark, timezone.utc)
    due = list(db.session.scalars(select(Article.id).where(
        Article.status == ArticleStatus.PUBLISHED, Article.publish_at > since, Article.publish_at <= now)))
    for article_id in due:
        index_article(article_id)
    search.index_root().mkdir(parents=True, exist_ok=True)
    search.write_watermark("scheduled", now.timestamp())
    return len(due)

