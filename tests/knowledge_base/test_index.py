"""The index: written by jobs on the `search` queue only, rebuilt identically, reached through the
real dispatchers (in-process after the commit, and an rq worker on Redis)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.extensions import db
from knowledge_base import jobs, queries, search, services
from knowledge_base.queries import Viewer
from tests.knowledge_base.corpus import ARTICLES

ROOT = Path(__file__).resolve().parents[2]


def fingerprint(name: str) -> tuple:
    """Everything a search can see: every stored document and every term with its postings."""
    s = search.searcher(name)
    reader = s.reader()
    docs = sorted(tuple(sorted(fields.items())) for fields in reader.all_stored_fields())
    terms = []
    for fieldname, text in reader.all_terms():
        postings = sorted(reader.stored_fields(docnum)["id"] for docnum in reader.postings(fieldname, text).all_ids())
        terms.append((fieldname, text, tuple(postings)))
    return docs, sorted(terms)


@pytest.fixture
def library(app, make_article, make_case, editor, commit):
    for lang in ("en", "ru", "fa"):
        for topic, (title, summary, body) in ARTICLES[lang].items():
            make_article(title=title, summary=summary, body=body, language=lang, visibility="public")
    make_article(title="Unfinished notes", body="A draft.", publish=False)
    services.create_faq(editor, {"question": "Do you work on Sundays?", "answer": "No."})
    make_case(subject="Toner cartridge leaks", body="Black powder everywhere on the printer.")
    commit()


def test_reindexing_twice_gives_the_same_index(library):
    jobs.reindex_all()
    first = fingerprint(search.ARTICLES), fingerprint(search.CASES)
    jobs.reindex_all()
    second = fingerprint(search.ARTICLES), fingerprint(search.CASES)
    assert first == second
    assert len(first[0][0]) == 17  # 16 articles and the FAQ entry


def test_a_rebuild_matches_what_the_jobs_wrote_one_save_at_a_time(library):
    incremental = fingerprint(search.ARTICLES)
    jobs.reindex_all()
    assert fingerprint(search.ARTICLES) == incremental


def test_the_reindex_command_draws_progress_and_rebuilds(library, runner):
    before = fingerprint(search.ARTICLES)
    result = runner.invoke(args=["kb", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Indexing articles" in result.output and "Indexed 16 articles and 1 cases" in result.output
    assert fingerprint(search.ARTICLES) == before
    folders = [p.name for p in Path(search.index_root()).iterdir() if p.name.startswith("articles-")]
    assert len(folders) == 1  # the old folder is gone after the swap


def test_every_index_writer_is_a_search_queue_job():
    for func in (jobs.index_documents, jobs.index_article, jobs.index_faq, jobs.reindex_all,
                 jobs.index_changed_cases, jobs.index_due_articles):
        assert func.job_queue == "search"


def test_a_deleted_article_leaves_the_index(app, make_article, commit):
    article = make_article(title="Temporary notice", visibility="public")
    commit()
    assert queries.search("temporary notice", viewer=Viewer.public(), language="en", log=False).hits
    db.session.delete(article)
    db.session.flush()
    jobs.index_article(article.id)
    assert search.searcher(search.ARTICLES).doc_count() == 0


def test_saving_makes_an_article_findable_through_the_in_process_dispatcher(make_app):
    """A real commit on a database of its own: the indexing job runs right after it, in-process."""
    from helpdesk.people.services import create_user

    app = make_app()
    with app.app_context():
        editor = create_user(None, email="ed@staff.example", name="Ed", password="correct-horse-battery", role="manager")
        article = services.create_article(editor, title="Replace the fuser unit", body="Switch off and wait.", visibility="public")
        services.change_status(editor, article, "published")
        db.session.commit()
    with app.app_context():
        hits = queries.search("fuser", viewer=Viewer.public(), language="en", log=False).hits
        assert [h.title for h in hits] == ["Replace the fuser unit"]
        assert Path(app.config["KB_SEARCH_INDEX_DIR"]).is_relative_to(app.instance_path)


def test_agent_search_finds_cases_by_number_subject_and_message(library, make_case):
    from helpdesk.cases.models import Case

    jobs.index_changed_cases()
    case = db.session.scalar(db.select(Case).where(Case.subject == "Toner cartridge leaks"))
    assert search.search_cases("toner") == [(case.id, pytest.approx(search.search_cases("toner")[0][1]))]
    assert [cid for cid, _ in search.search_cases("powder")] == [case.id]
    assert [cid for cid, _ in search.search_cases(case.number.lower())] == [case.id]


@pytest.mark.services
def test_an_rq_worker_on_the_search_queue_indexes_a_saved_article(make_app, tmp_path):
    from rq import Queue

    from helpdesk import jobs as helpdesk_jobs
    from helpdesk.people.services import create_user
    from tests.services import redis_server

    with redis_server(tmp_path / "redis") as url:
        app = make_app(REDIS_URL=url, JOB_RETRY_INTERVALS=[0])
        with app.app_context():
            editor = create_user(None, email="ed@staff.example", name="Ed", password="correct-horse-battery", role="manager")
            article = services.create_article(editor, title="Calibrate the scanner", body="Use the white sheet.", visibility="public")
            services.change_status(editor, article, "published")
            db.session.commit()
            queue = Queue("search", connection=helpdesk_jobs.redis_connection(app))
            assert queue.count == 1  # one job for the whole transaction
            assert queries.search("scanner", viewer=Viewer.public(), language="en", log=False).hits == []
        env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
        env.update(HELPDESK_ENV="testing", HELPDESK_SECRET_KEY="test-secret", HELPDESK_REDIS_URL=url,
                   HELPDESK_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], HELPDESK_INSTANCE_PATH=app.instance_path,
                   HELPDESK_SEARCH_INDEX_DIR=app.config["KB_SEARCH_INDEX_DIR"], HELPDESK_EDGE_PACKAGES="knowledge_base")
        rq = str(Path(sys.executable).parent / "rq")
        result = subprocess.run([rq, "worker", "--burst", "--worker-class", "helpdesk.jobs.Worker", "--url", url, "search"],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        with app.app_context():
            search._forget_searchers()
            hits = queries.search("scanner", viewer=Viewer.public(), language="en", log=False).hits
            assert [h.title for h in hits] == ["Calibrate the scanner"]
