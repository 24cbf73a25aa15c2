"""Knowledge-base tables: articles with versions and translations, categories, FAQ, feedback and the search log."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.cases.models import Blob, Case
from helpdesk.extensions import db
from helpdesk.people.models import Contact, User
from helpdesk.types import UTCDateTime, string_enum, utcnow

LANGUAGES = {"en": "English", "ru": "Русский", "it": "Italiano", "bg": "Български", "fa": "فارسی"}
RTL_LANGUAGES = {"fa"}


class ArticleStatus(str, enum.Enum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    ARCHIVED = "archived"

    @property
    def label(self) -> str:
        return {"in_review": "In review"}.get(self.value, self.value.capitalize())


class Visibility(str, enum.Enum):
    INTERNAL = "internal"  # staff only
    CUSTOMERS = "customers"  # signed-in portal contacts and staff
    PUBLIC = "public"  # everyone, signed in or not

    @property
    def label(self) -> str:
        return {"internal": "Internal (staff)", "customers": "Customers", "public": "Public"}[self.value]


class Category(db.Model):
    """A node of the category tree; its name may be translated per language."""

    __tablename__ = "kb_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    names: Mapped[dict] = mapped_column(JSON, default=dict)  # {"ru": "Оплата", ...}
    slug: Mapped[str] = mapped_column(String(140), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Category | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.position, Category.name")

    def name_in(self, language: str) -> str:
        return (self.names or {}).get(language) or self.name

    def __str__(self) -> str:
        return self.name


class TranslationGroup(db.Model):
    """Ties the translations of one article together: at most one article per language."""

    __tablename__ = "kb_translation_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    articles: Mapped[list[Article]] = relationship(back_populates="translation_group", order_by="Article.language")


kb_related_articles = Table(
    "kb_related_articles",
    db.metadata,
    Column("article_id", ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True),
    Column("related_id", ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Article(db.Model):
    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("translation_group_id", "language"),
        Index("ix_kb_articles_status_updated", "status", "updated_at"),
        Index("ix_kb_articles_category_status", "category_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    translation_group_id: Mapped[int] = mapped_column(ForeignKey("kb_translation_groups.id"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown as written
    body_html: Mapped[str] = mapped_column(Text, default="")  # rendered and sanitized
    body_text: Mapped[str] = mapped_column(Text, default="")  # plain text: indexed, and the source of snippets
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id"))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[ArticleStatus] = mapped_column(string_enum(ArticleStatus), default=ArticleStatus.DRAFT)
    visibility: Mapped[Visibility] = mapped_column(string_enum(Visibility), default=Visibility.CUSTOMERS)
    # A published article with publish_at in the future is scheduled: nobody outside staff sees it yet.
    publish_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version_number: Mapped[int] = mapped_column(default=0)
    view_count: Mapped[int] = mapped_column(default=0)
    helpful_count: Mapped[int] = mapped_column(default=0)
    not_helpful_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    translation_group: Mapped[TranslationGroup] = relationship(back_populates="articles")
    category: Mapped[Category | None] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    related: Mapped[list[Article]] = relationship(
        secondary=kb_related_articles,
        primaryjoin=lambda: Article.id == kb_related_articles.c.article_id,
        secondaryjoin=lambda: Article.id == kb_related_articles.c.related_id,
        order_by="Article.title",
    )
    attachments: Mapped[list[ArticleAttachment]] = relationship(back_populates="article", order_by="ArticleAttachment.id")

    @property
    def translations(self) -> list[Article]:
        return [a for a in self.translation_group.articles if a.id != self.id]

    @property
    def language_name(self) -> str:
        return LANGUAGES.get(self.language, self.language)

    @property
    def scheduled(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED and self.publish_at is not None and self.publish_at > utcnow()

    def __str__(self) -> str:
        return self.title


class ArticleVersion(db.Model):
    """The content of an article as one save left it; restoring copies it into a new version."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(String(1000), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(JSON, default=list)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User | None] = relationship()


class ArticleEvent(db.Model):
    """Append-only history of an article: who changed what (the articles' Activity)."""

    __tablename__ = "kb_article_events"
    __table_args__ = (Index("ix_kb_article_events_article_created", "article_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(60))
    old: Mapped[str | None] = mapped_column(Text)
    new: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor_user: Mapped[User | None] = relationship()


class ArticleAttachment(db.Model):
    """A file or image of an article, its content in the core attachment store."""

    __tablename__ = "kb_article_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"))
    filename: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    article: Mapped[Article] = relationship(back_populates="attachments")
    blob: Mapped[Blob] = relationship()


class FAQ(db.Model):
    """A question and its short answer, ordered within a category."""

    __tablename__ = "kb_faqs"
    __table_args__ = (Index("ix_kb_faqs_language_category_position", "language", "category_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(5), default="en")
    question: Mapped[str] = mapped_column(String(500))
    answer: Mapped[str] = mapped_column(Text, default="")  # Markdown
    answer_html: Mapped[str] = mapped_column(Text, default="")
    category_id: Mapped[int | None] = mapped_column(ForeignKey("kb_categories.id"))
    position: Mapped[int] = mapped_column(default=0)
    visibility: Mapped[Visibility] = mapped_column(string_enum(Visibility), default=Visibility.PUBLIC)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category | None] = relationship()


class ArticleFeedback(db.Model):
    """A helpful / not helpful vote, with an optional comment."""

    __tablename__ = "kb_feedback"
    __table_args__ = (Index("ix_kb_feedback_article_created", "article_id", "created_at"),
                      Index("ix_kb_feedback_created", "created_at"))  # insights read votes by date

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"))
    helpful: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact | None] = relationship()
    user: Mapped[User | None] = relationship()


class SearchLogEntry(db.Model):
    """One search somebody ran: what, in which language, how many results."""

    __tablename__ = "kb_search_log"
    __table_args__ = (Index("ix_kb_search_log_created", "created_at"), Index("ix_kb_search_log_query", "query"))

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))  # normalized: lower case, single spaces
    language: Mapped[str | None] = mapped_column(String(5))
    audience: Mapped[str] = mapped_column(String(20))  # public, customer or staff
    results: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleCaseLink(db.Model):
    """An article used in a case (inserted into a reply, or linked by hand)."""

    __tablename__ = "kb_article_cases"

    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    article: Mapped[Article] = relationship()
    case: Mapped[Case] = relationship()
    user: Mapped[User | None] = relationship()


class SynonymSet(db.Model):
    """Words that mean the same in one language ("printer, printing device"); expanded at query time."""

    __tablename__ = "kb_synonym_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    language: Mapped[str] = mapped_column(String(5))
    terms: Mapped[str] = mapped_column(String(1000))  # comma-separated
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def words(self) -> list[str]:
        return [t.strip() for t in self.terms.split(",") if t.strip()]


# Customers' and visitors' searches per local day of the reporting time zone, and per day and
# query, kept up to date by knowledge_base.insights (the self-service dashboard reads them).
kb_search_days = Table(
    "kb_search_days", db.Model.metadata,
    Column("day", Date, primary_key=True),
    Column("searches", Integer, nullable=False, default=0), Column("zero", Integer, nullable=False, default=0),
)
kb_search_queries = Table(
    "kb_search_queries", db.Model.metadata,
    Column("day", Date, primary_key=True), Column("query", String(200), primary_key=True),
    Column("searches", Integer, nullable=False, default=0), Column("results_sum", BigInteger, nullable=False, default=0),
    Column("zero", Integer, nullable=False, default=0),
    sqlite_with_rowid=False,
)
# kb_search_queries summed per calendar month (month: its 1st day), for long ranges.
kb_search_query_months = Table(
    "kb_search_query_months", db.Model.metadata,
    Column("month", Date, primary_key=True), Column("query", String(200), primary_key=True),
    Column("searches", Integer, nullable=False, default=0), Column("results_sum", BigInteger, nullable=False, default=0),
    Column("zero", Integer, nullable=False, default=0),
    sqlite_with_rowid=False,
)
