"""State changes of the knowledge base. Each function does one change, flushes, records what
changed, and asks for re-indexing after the commit; the caller commits."""
from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable
from datetime import datetime

import nh3
from flask import current_app
from markdown_it import MarkdownIt
from sqlalchemy import func, select, update

from helpdesk import jobs as helpdesk_jobs
from helpdesk.cases.attachments import clean_filename, store_blob
from helpdesk.cases.models import Case, MessageKind
from helpdesk.cases.services import Upload, sanitize_html
from helpdesk.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from helpdesk.extensions import db
from helpdesk.people.models import Contact, User
from helpdesk.types import utcnow

from knowledge_base import jobs, policies
from knowledge_base.models import (
    FAQ,
    LANGUAGES,
    Article,
    ArticleAttachment,
    ArticleCaseLink,
    ArticleEvent,
    ArticleFeedback,
    ArticleStatus,
    ArticleVersion,
    Category,
    SearchLogEntry,
    SynonymSet,
    TranslationGroup,
    Visibility,
)
from knowledge_base.policies import Viewer

TITLE_MAX, SUMMARY_MAX, BODY_MAX = 300, 1000, 200_000
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(["table", "strikethrough"])


def render_markdown(text: str) -> tuple[str, str]:
    """Markdown to sanitized HTML (the app's one sanitizer) and to plain text for search."""
    rendered = sanitize_html(_markdown.render(text or ""))
    plain = html_lib.unescape(nh3.clean(re.sub(r"</(p|li|h\d|tr|pre|blockquote)>", r"\n</\1>", rendered), tags=set()))
    return rendered, re.sub(r"[ \t]+", " ", re.sub(r"\n\s*\n+", "\n\n", plain)).strip()


def slugify(text: str) -> str:
    slug = re.sub(r"[^\w]+", "-", (text or "").lower(), flags=re.UNICODE).strip("-_")
    return slug[:80].strip("-") or "article"


def _unique_slug(title: str, exclude_id: int | None = None) -> str:
    base = slugify(title)
    taken = set(db.session.scalars(select(Article.slug).where(Article.slug.like(f"{base}%"), Article.id != (exclude_id or 0))))
    slug, n = base, 2
    while slug in taken or slug.isdigit():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _log(article: Article, actor: User | None, action: str, field: str | None = None, old=None, new=None) -> None:
    db.session.add(ArticleEvent(
        article_id=article.id, actor_user_id=actor.id if isinstance(actor, User) else None, action=action,
        field=field, old=None if old is None else str(getattr(old, "label", old)),
        new=None if new is None else str(getattr(new, "label", new)),
    ))


_PENDING = "knowledge_base.pending_index"


def _queue_index(article_id: int | None = None, faq_id: int | None = None) -> None:
    """Index these after the commit: one job per transaction, however many saves it holds."""
    session = db.session()
    transaction = session.get_transaction()
    pending = session.info.get(_PENDING)
    if transaction is None or pending is None or pending[0] is not transaction:
        # The job's lists are read when it runs (after the commit), so later saves join them.
        article_ids, faq_ids = [], []
        if transaction is not None:
            session.info[_PENDING] = (transaction, article_ids, faq_ids)
        for target, value in ((article_ids, article_id), (faq_ids, faq_id)):
            if value is not None:
                target.append(value)
        helpdesk_jobs.enqueue(jobs.index_documents, article_ids, faq_ids)
        return
    _, article_ids, faq_ids = pending
    if article_id is not None and article_id not in article_ids:
        article_ids.append(article_id)
    if faq_id is not None and faq_id not in faq_ids:
        faq_ids.append(faq_id)


def _reindex(article: Article) -> None:
    _queue_index(article_id=article.id)


# --- articles ------------------------------------------------------------------------------


def _clean_article(data: dict, errors: dict) -> dict:
    out = {}
    if "title" in data:
        title = " ".join((data.get("title") or "").split())
        if not title:
            errors["title"] = "An article needs a title."
        elif len(title) > TITLE_MAX:
            errors["title"] = f"At most {TITLE_MAX} characters."
        out["title"] = title
    if "summary" in data:
        summary = (data.get("summary") or "").strip()
        if len(summary) > SUMMARY_MAX:
            errors["summary"] = f"At most {SUMMARY_MAX} characters."
        out["summary"] = summary
    if "body" in data:
        body = (data.get("body") or "").replace("\r\n", "\n")
        if len(body) > BODY_MAX:
            errors["body"] = f"At most {BODY_MAX} characters."
        out["body"] = body
    if "tags" in data:
        raw = data.get("tags") or []
        if isinstance(raw, str):
            raw = raw.replace(";", ",").split(",")
        tags = []
        for t in raw:
            name = " ".join(str(t).strip().lower().split())
            if name and name not in tags:
                if len(name) > 60:
                    errors["tags"] = "A tag may be at most 60 characters."
                tags.append(name)
        out["tags"] = tags
    if "visibility" in data:
        try:
            out["visibility"] = Visibility(data.get("visibility"))
        except ValueError:
            errors["visibility"] = "Choose who may read it."
    if "category_id" in data:
        raw = data.get("category_id")
        if raw in (None, "", "none"):
            out["category_id"] = None
        elif not str(raw).isdigit() or db.session.get(Category, int(raw)) is None:
            errors["category_id"] = "No such category."
        else:
            out["category_id"] = int(raw)
    if "publish_at" in data:
        value = data.get("publish_at")
        if isinstance(value, str):
            value = value.strip()
            try:
                value = datetime.fromisoformat(value) if value else None
            except ValueError:
                errors["publish_at"] = "Give a date and time (YYYY-MM-DD HH:MM, UTC)."
                value = None
        if value is not None and value.tzinfo is None:
            from datetime import timezone

            value = value.replace(tzinfo=timezone.utc)
        out["publish_at"] = value
    return out


def parse_publish_at(raw: str | None) -> datetime | None:
    """A form's "publish at" (ISO date and time, UTC when no zone is given), or None for now."""
    errors: dict[str, str] = {}
    value = _clean_article({"publish_at": raw or ""}, errors).get("publish_at")
    if errors:
        raise ValidationFailed(errors)
    return value


def create_article(actor: User, *, title: str, body: str = "", summary: str = "", language: str | None = None,
                   category_id: int | None = None, tags: Iterable[str] | str = (), visibility: Visibility | str = Visibility.CUSTOMERS,
                   translation_of: Article | None = None, publish_at: datetime | None = None) -> Article:
    """A new draft (version 1), or a new translation when `translation_of` is given."""
    language = language or current_app.config["KB_DEFAULT_LANGUAGE"]
    errors: dict[str, str] = {}
    if language not in LANGUAGES:
        errors["language"] = f"Choose one of {', '.join(LANGUAGES)}."
    values = _clean_article(dict(title=title, body=body, summary=summary, tags=list(tags) if not isinstance(tags, str) else tags,
                                 visibility=getattr(visibility, "value", visibility), category_id=category_id,
                                 publish_at=publish_at), errors)
    group = translation_of.translation_group if translation_of is not None else None
    if group is not None and any(a.language == language for a in group.articles):
        errors["language"] = f"This article already has a {LANGUAGES.get(language, language)} translation."
    if errors:
        raise ValidationFailed(errors)
    if group is None:
        group = TranslationGroup()
        db.session.add(group)
    article = Article(translation_group=group, language=language, slug=_unique_slug(values["title"]),
                      status=ArticleStatus.DRAFT, author_id=actor.id if actor else None, **values)
    if translation_of is not None and not values.get("category_id"):
        article.category_id = translation_of.category_id
    article.body_html, article.body_text = render_markdown(article.body)
    db.session.add(article)
    db.session.flush()
    _new_version(article, actor, "created")
    _log(article, actor, "created" if translation_of is None else "translated", "language", None, language)
    _reindex(article)
    return article


def _new_version(article: Article, actor: User | None, note: str = "") -> ArticleVersion:
    article.version_number += 1
    version = ArticleVersion(article_id=article.id, number=article.version_number, title=article.title,
                             summary=article.summary, body=article.body, tags=list(article.tags or []),
                             author_id=actor.id if actor else None, note=note[:300])
    db.session.add(version)
    db.session.flush()
    return version


def update_article(actor: User, article: Article, data: dict, *, version: int | None = None, note: str = "") -> Article:
    """Edit content and settings; a content change makes a new version. A stale form is refused."""
    if not policies.can_write(actor):
        raise PermissionDenied("You may not edit articles.")
    if version is not None and int(version) != article.version_number:
        since = db.session.scalars(select(ArticleVersion).where(
            ArticleVersion.article_id == article.id, ArticleVersion.number > int(version)).order_by(ArticleVersion.number))
        raise Conflict("The article was changed by someone else while you were editing.",
                       changes=[f"Version {v.number} by {v.author.name if v.author else 'System'}: {v.note or 'edited'}" for v in since])
    errors: dict[str, str] = {}
    values = _clean_article(data, errors)
    if errors:
        raise ValidationFailed(errors)
    content_changed = False
    for key, value in values.items():
        old = getattr(article, key)
        if old == value:
            continue
        setattr(article, key, value)
        if key in ("title", "summary", "body", "tags"):
            content_changed = True
        if key not in ("body", "summary"):
            _log(article, actor, "changed", key, old, value)
    if "title" in values and content_changed:
        article.slug = article.slug if article.status == ArticleStatus.PUBLISHED else _unique_slug(article.title, article.id)
    if "body" in values:
        article.body_html, article.body_text = render_markdown(article.body)
    if content_changed:
        _new_version(article, actor, note or "edited")
        _log(article, actor, "edited", None, None, f"version {article.version_number}")
    article.updated_at = utcnow()
    db.session.flush()
    _reindex(article)
    return article


def change_status(actor: User, article: Article, status: ArticleStatus | str, *, publish_at: datetime | None = None) -> Article:
    """Submit for review, send back, publish (now or at `publish_at`), archive."""
    status = ArticleStatus(status)
    if status == article.status and publish_at is None:
        return article
    if status != article.status and not policies.can_move(actor, article.status, status):
        if (article.status, status) in policies.TRANSITIONS:
            raise PermissionDenied("Only a manager or an admin may publish or archive articles.")
        raise ValidationFailed({"status": f"An article cannot go from {article.status.label} to {status.label}."})
    if status == ArticleStatus.PUBLISHED:
        if not article.body.strip() and not article.summary.strip():
            raise ValidationFailed({"status": "Write the article before publishing it."})
        article.publish_at = publish_at
        article.published_at = article.published_at or max(utcnow(), publish_at or utcnow())
        article.reviewer_id = actor.id
    _log(article, actor, "changed", "status", article.status, status)
    if publish_at is not None:
        _log(article, actor, "scheduled", "publish_at", None, publish_at.isoformat())
    article.status = status
    article.updated_at = utcnow()
    db.session.flush()
    _reindex(article)
    return article


def restore_version(actor: User, article: Article, number: int) -> Article:
    """Bring back an old version's content as a new version (history is never rewritten)."""
    old = db.session.scalar(select(ArticleVersion).where(ArticleVersion.article_id == article.id, ArticleVersion.number == number))
    if old is None:
        raise NotFound(f"Version {number} does not exist.")
    update_article(actor, article, dict(title=old.title, summary=old.summary, body=old.body, tags=list(old.tags or [])),
                   note=f"restored version {number}")
    _log(article, actor, "restored", "version", None, number)
    return article


def set_related(actor: User, article: Article, ids: Iterable[int]) -> Article:
    wanted = [i for i in dict.fromkeys(int(i) for i in ids) if i != article.id]
    related = list(db.session.scalars(select(Article).where(Article.id.in_(wanted)))) if wanted else []
    if len(related) != len(wanted):
        raise ValidationFailed({"related": "One of the related articles does not exist."})
    old = sorted(a.id for a in article.related)
    if old != sorted(wanted):
        article.related = related
        _log(article, actor, "changed", "related", ", ".join(map(str, old)), ", ".join(map(str, sorted(wanted))))
        db.session.flush()
    return article


def add_attachment(actor: User, article: Article, upload: Upload) -> ArticleAttachment:
    """Store a file or image in the core attachment store and attach it to the article."""
    config = current_app.config
    name = clean_filename(upload.filename)
    blob = store_blob(config["ATTACHMENT_DIR"], upload.stream, config["MAX_ATTACHMENT_BYTES"], field="file")
    attachment = ArticleAttachment(article=article, blob=blob, filename=name)
    db.session.add(attachment)
    db.session.flush()
    _log(article, actor, "attached", "file", None, name)
    return attachment


def remove_attachment(actor: User, attachment: ArticleAttachment) -> None:
    _log(attachment.article, actor, "detached", "file", attachment.filename, None)
    db.session.delete(attachment)
    db.session.flush()


# --- categories, FAQ, synonyms ---------------------------------------------------------------


def create_category(actor: User | None, *, name: str, parent_id: int | None = None, names: dict | None = None,
                    description: str = "", position: int = 0) -> Category:
    name = " ".join((name or "").split())
    errors = {}
    if not name:
        errors["name"] = "A category needs a name."
    parent = db.session.get(Category, int(parent_id)) if parent_id else None
    if parent_id and parent is None:
        errors["parent_id"] = "No such category."
    if errors:
        raise ValidationFailed(errors)
    base, slug, n = slugify(name), slugify(name), 2
    while db.session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    category = Category(name=name, parent=parent, names={k: v for k, v in (names or {}).items() if v and k in LANGUAGES},
                        slug=slug, description=description[:500], position=position)
    db.session.add(category)
    db.session.flush()
    return category


def update_category(actor: User | None, category: Category, *, name: str, parent_id: int | None = None,
                    names: dict | None = None, description: str = "", position: int = 0) -> Category:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationFailed({"name": "A category needs a name."})
    parent = db.session.get(Category, int(parent_id)) if parent_id else None
    node = parent
    while node is not None:
        if node.id == category.id:
            raise ValidationFailed({"parent_id": "A category cannot sit inside itself."})
        node = node.parent
    moved = parent != category.parent
    category.name, category.parent, category.description, category.position = name, parent, description[:500], position
    category.names = {k: v for k, v in (names or {}).items() if v and k in LANGUAGES}
    db.session.flush()
    if moved:  # the index keeps each article's category ancestors
        for article_id in db.session.scalars(select(Article.id).where(Article.category_id == category.id)):
            _queue_index(article_id=article_id)
    return category


def _clean_faq(data: dict) -> dict:
    errors = {}
    question = " ".join((data.get("question") or "").split())
    if not question:
        errors["question"] = "Write the question."
    elif len(question) > 500:
        errors["question"] = "At most 500 characters."
    answer = (data.get("answer") or "").strip()
    if not answer:
        errors["answer"] = "Write the answer."
    language = data.get("language") or current_app.config["KB_DEFAULT_LANGUAGE"]
    if language not in LANGUAGES:
        errors["language"] = "Choose a language."
    try:
        visibility = Visibility(data.get("visibility") or Visibility.PUBLIC.value)
    except ValueError:
        errors["visibility"] = "Choose who may read it."
        visibility = Visibility.PUBLIC
    category_id = data.get("category_id") or None
    if category_id and (not str(category_id).isdigit() or db.session.get(Category, int(category_id)) is None):
        errors["category_id"] = "No such category."
    try:
        position = int(data.get("position") or 0)
    except ValueError:
        errors["position"] = "Give a whole number."
        position = 0
    if errors:
        raise ValidationFailed(errors)
    return dict(question=question, answer=answer, language=language, visibility=visibility,
                category_id=int(category_id) if category_id else None, position=position,
                published=bool(data.get("published", True)) and data.get("published") not in ("0", "", "off"))


def create_faq(actor: User | None, data: dict) -> FAQ:
    values = _clean_faq(data)
    faq = FAQ(**values)
    faq.answer_html, _ = render_markdown(faq.answer)
    db.session.add(faq)
    db.session.flush()
    _queue_index(faq_id=faq.id)
    return faq


def update_faq(actor: User | None, faq: FAQ, data: dict) -> FAQ:
    for key, value in _clean_faq(data).items():
        setattr(faq, key, value)
    faq.answer_html, _ = render_markdown(faq.answer)
    faq.updated_at = utcnow()
    db.session.flush()
    _queue_index(faq_id=faq.id)
    return faq


def delete_faq(actor: User | None, faq: FAQ) -> None:
    faq_id = faq.id
    db.session.delete(faq)
    db.session.flush()
    _queue_index(faq_id=faq_id)


def save_synonyms(actor: User | None, language: str, terms: str) -> SynonymSet:
    words = [w.strip().lower() for w in (terms or "").split(",") if w.strip()]
    if language not in LANGUAGES:
        raise ValidationFailed({"language": "Choose a language."})
    if len(words) < 2:
        raise ValidationFailed({"terms": "Give at least two words, separated by commas."})
    row = SynonymSet(language=language, terms=", ".join(words)[:1000])
    db.session.add(row)
    db.session.flush()
    return row


def delete_synonyms(actor: User | None, row: SynonymSet) -> None:
    db.session.delete(row)
    db.session.flush()


# --- readers' traces: feedback, views, searches -------------------------------------------


def record_feedback(article: Article, viewer: Viewer, *, helpful: bool, comment: str = "") -> ArticleFeedback:
    """A helpful / not helpful vote (with an optional comment) from whoever reads the article."""
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ValidationFailed({"comment": "At most 2000 characters."})
    row = ArticleFeedback(article_id=article.id, helpful=bool(helpful), comment=comment,
                          contact_id=viewer.contact.id if viewer.contact else None,
                          user_id=viewer.user.id if viewer.user else None)
    db.session.add(row)
    column = Article.helpful_count if helpful else Article.not_helpful_count
    db.session.execute(update(Article).where(Article.id == article.id).values({column: column + 1}))
    db.session.flush()
    db.session.expire(article, ["helpful_count", "not_helpful_count"])
    return row


def record_view(article: Article) -> None:
    """Count one reading (an atomic increment: no lost updates between web processes)."""
    db.session.execute(update(Article).where(Article.id == article.id).values(view_count=Article.view_count + 1))
    db.session.expire(article, ["view_count"])


def log_search(text: str, language: str | None, viewer: Viewer, results: int) -> None:
    query = " ".join((text or "").lower().split())[:200]
    if query:
        db.session.add(SearchLogEntry(query=query, language=language, audience=viewer.kind, results=results))
        db.session.flush()


# --- the loop with cases --------------------------------------------------------------------


def link_to_case(actor: User, article: Article, case: Case) -> ArticleCaseLink:
    """Note that the article was used in the case (idempotent)."""
    link = db.session.get(ArticleCaseLink, (article.id, case.id))
    if link is None:
        link = ArticleCaseLink(article_id=article.id, case_id=case.id, user_id=actor.id)
        db.session.add(link)
        _log(article, actor, "used_in_case", "case", None, case.number)
        db.session.flush()
    return link


def unlink_from_case(actor: User, article: Article, case: Case) -> None:
    link = db.session.get(ArticleCaseLink, (article.id, case.id))
    if link is not None:
        db.session.delete(link)
        _log(article, actor, "unlinked_case", "case", case.number, None)
        db.session.flush()


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\w)\+?\d[\d\s().\-/]{5,}\d(?!\w)")
_QUOTED = re.compile(r"^\s*>.*$", re.MULTILINE)
_SIGNATURE = re.compile(r"\n--\s*\n.*\Z", re.DOTALL)


def redact(text: str, names: Iterable[str]) -> str:
    """Take customers' personal data out of a text: e-mail addresses, phone numbers, names."""
    text = _SIGNATURE.sub("", text or "")
    text = _QUOTED.sub("", text)
    text = _EMAIL.sub("[email]", text)
    text = _PHONE.sub(lambda m: "[phone]" if sum(c.isdigit() for c in m.group(0)) >= 7 else m.group(0), text)
    parts = set()
    for name in names:
        name = (name or "").strip()
        if name:
            parts.add(name)
            parts.update(p for p in re.split(r"[\s,]+", name) if len(p) >= 3)
    for part in sorted(parts, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(part)}(?!\w)", "[name]", text, flags=re.IGNORECASE)
    text = re.sub(r"(\[name\][\s,]*){2,}", "[name] ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def draft_from_case(actor: User, case: Case, language: str | None = None) -> Article:
    """A draft article from a case's conversation: the customer's question and the public answers,
    with customers' e-mail addresses, phone numbers and names taken out. Internal notes stay out."""
    names = set()
    for message in case.messages:
        if message.author_contact is not None:
            names.add(message.author_contact.name)
    if case.contact is not None:
        names.add(case.contact.name)
    if case.organization is not None:
        names.add(case.organization.name)
    question = [m for m in case.messages if m.kind == MessageKind.CUSTOMER]
    answers = [m for m in case.messages if m.kind == MessageKind.REPLY]
    if not answers:
        raise ValidationFailed({"case": "The case has no public answer to turn into an article."})
    body = "## Problem\n\n" + (redact(question[0].body_text, names) if question else "") + "\n\n## Solution\n\n"
    body += "\n\n".join(redact(m.body_text, names) for m in answers)
    article = create_article(actor, title=redact(case.subject, names)[:TITLE_MAX] or "Untitled", body=body,
                             language=language, visibility=Visibility.CUSTOMERS,
                             tags=[t.name for t in case.tags])
    link_to_case(actor, article, case)
    _log(article, actor, "drafted_from_case", "case", None, case.number)
    return article


def article_counts() -> dict[str, int]:
    rows = db.session.execute(select(Article.status, func.count()).group_by(Article.status))
    return {status.value: n for status, n in rows}
