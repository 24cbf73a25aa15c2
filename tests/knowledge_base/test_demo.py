"""`flask demo seed` with the knowledge base installed: its articles, translations and FAQ."""
from sqlalchemy import func, select

from helpdesk.extensions import db
from knowledge_base import search
from knowledge_base.models import FAQ, Article, ArticleStatus, Category, Visibility


def _seed(runner, *args):
    result = runner.invoke(args=["demo", "seed", "--cases", "2", *args])
    assert result.exit_code == 0, result.output
    return result


def test_demo_seed_writes_published_articles_translations_and_faq(runner):
    _seed(runner)
    articles = db.session.scalars(select(Article)).all()
    english = [a for a in articles if a.language == "en"]
    assert len(english) == 10
    assert all(a.status == ArticleStatus.PUBLISHED and a.published_at and a.body_html for a in articles)
    assert {a.visibility for a in english} == set(Visibility)
    assert sum(a.visibility == Visibility.INTERNAL for a in english) == 2
    assert len({a.category_id for a in english}) == 4 and db.session.scalar(select(func.count(Category.id))) == 4
    translated = [a for a in english if len(a.translation_group.articles) > 1]
    assert len(translated) == 2
    for article in translated:
        assert sorted(a.language for a in article.translation_group.articles) == ["bg", "en", "fa", "it", "ru"]
    faqs = db.session.scalars(select(FAQ)).all()
    assert len(faqs) == 6 and all(f.published and f.answer_html for f in faqs)


def test_demo_articles_are_searchable_after_the_commit(runner):
    _seed(runner)
    reset = db.session.scalar(select(Article).where(Article.title == "How to reset your password"))
    hits = search.search_articles("password", languages=["en"], audience="public").hits
    assert reset.id in [h.id for h in hits if h.kind == "article"]
    russian = search.search_articles("пароль", languages=["ru"], audience="public").hits
    assert [h.language for h in russian] and {h.language for h in russian} == {"ru"}
    internal = db.session.scalar(select(Article).where(Article.visibility == Visibility.INTERNAL).limit(1))
    assert internal.id not in [h.id for h in search.search_articles("certificate", languages=["en"],
                                                                     audience="public").hits]


def test_demo_seed_adds_the_articles_once_and_the_same_way(runner):
    _seed(runner, "--seed", "5")
    first = db.session.execute(select(Article.slug, Article.language, Article.view_count, Article.author_id)
                               .order_by(Article.id)).all()
    _seed(runner, "--seed", "5")
    again = db.session.execute(select(Article.slug, Article.language, Article.view_count, Article.author_id)
                               .order_by(Article.id)).all()
    assert again == first
    assert db.session.scalar(select(func.count(FAQ.id))) == 6


def test_demo_seed_leaves_searches_and_deflection_steps_for_the_self_service_insights(runner):
    from datetime import timedelta

    from helpdesk.satisfaction.models import DeflectionEvent, FunnelStep
    from helpdesk.types import utcnow
    from knowledge_base.models import SearchLogEntry

    _seed(runner, "--cases", "20")
    now = utcnow()
    searches = db.session.scalars(select(SearchLogEntry)).all()
    assert len(searches) == 320 and any(s.results == 0 for s in searches) and any(s.results for s in searches)
    steps = db.session.scalars(select(DeflectionEvent)).all()
    assert {s.step for s in steps} == set(FunnelStep)
    assert all(now - timedelta(days=61) < s.created_at <= now for s in searches + steps)
    opened = [s for s in steps if s.step == FunnelStep.ARTICLE_OPENED]
    assert opened and all(db.session.get(Article, s.article_id) is not None for s in opened)
